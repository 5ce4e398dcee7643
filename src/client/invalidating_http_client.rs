//! The HTTP client our configs carry: the configured (or default) client, wrapped so that a
//! response rejecting the credentials invalidates the key that signed the request, and a
//! DynamoDB `AccessDeniedException` names the role, action and table (`access_denied_message.rs`).
//!
//! Why here and not in an interceptor: every interceptor costs the SDK a config-bag lookup per
//! hook per request (measured: about 10,000 instructions per GetItem each, 3 % of an in-process
//! request), while this wrapper costs one boxed future, and looks at bodies only of 4xx
//! responses. It sees the signed request, so it knows exactly which key was rejected.
//!
//! The body of a 4xx response is still a stream when it arrives (the SDK reads it inside
//! deserialization), so it is wrapped in [`Watched`], which buffers it (error bodies are
//! small) and acts when it ends, before the SDK parses it and before any retry. A body that
//! grows past [`MAX_ERROR_BODY`] is not an error body worth reading: what was buffered goes on
//! at once and the rest streams through unchanged, so memory stays bounded.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use http_body::{Body, Frame};

use super::access_denied_message::{append_to_message, explanation, table_name};
use super::error_code::{body_code, header_code, is_rejection, signing_key};
use crate::AssumedRoleCredentials;

/// Error bodies larger than this are passed through unchanged.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Wraps an `HttpClient` for one provider.
#[derive(Debug, Clone)]
pub(crate) struct InvalidatingHttpClient {
    inner: Option<SharedHttpClient>,
    creds: AssumedRoleCredentials,
}

impl InvalidatingHttpClient {
    /// `inner`: the `SdkConfig`'s client, or `None` for the SDK's default HTTPS client.
    pub(crate) fn new(inner: Option<SharedHttpClient>, creds: AssumedRoleCredentials) -> Self {
        let inner = inner.or_else(default_client);
        InvalidatingHttpClient { inner, creds }
    }
}

/// The client the SDK builds when an `SdkConfig` has none (hyper 1.x, rustls with aws-lc,
/// proxy settings from the environment), built the same way through aws-smithy-http-client's
/// public builder, since the SDK's own constructor is private.
#[cfg(feature = "default-https-client")]
fn default_client() -> Option<SharedHttpClient> {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{tls, Builder, ConnectorBuilder};
    Some(
        Builder::new().build_with_connector_fn(|settings, components| {
            let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
            conn.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                conn.set_sleep_impl(components.sleep_impl());
            }
            conn.set_proxy_config(Some(ProxyConfig::from_env()));
            conn.build()
        }),
    )
}

#[cfg(not(feature = "default-https-client"))]
fn default_client() -> Option<SharedHttpClient> {
    None
}

impl HttpClient for InvalidatingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let inner = self
            .inner
            .as_ref()
            .map(|c| c.http_connector(settings, components));
        SharedHttpConnector::new(InvalidatingConnector {
            inner,
            creds: self.creds.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match &self.inner {
            Some(inner) => inner.validate_base_client_config(components, cfg),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
struct InvalidatingConnector {
    inner: Option<SharedHttpConnector>,
    creds: AssumedRoleCredentials,
}

/// What a watched response needs to know about its request.
struct Sent {
    signed_with: Option<String>,
    /// `x-amz-target` and body, for DynamoDB requests only (to name the action and table). The
    /// bytes are copied, not the body cloned: a clone of the SDK's size-counting body wrapper
    /// would record a second (empty) request in the SDK's `smithy.client.call.request.size`.
    dynamodb: Option<(String, Bytes)>,
}

impl HttpConnector for InvalidatingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(inner) = &self.inner else {
            return HttpConnectorFuture::ready(Err(ConnectorError::other(
                "no HTTP client: enable the default-https-client feature or give the SdkConfig \
                 an http_client"
                    .into(),
                None,
            )));
        };
        let headers = request.headers();
        let sent = Sent {
            signed_with: headers
                .get("authorization")
                .and_then(signing_key)
                .map(str::to_owned),
            dynamodb: headers
                .get("x-amz-target")
                .filter(|t| t.starts_with("DynamoDB_"))
                .and_then(|t| {
                    Some((
                        t.to_owned(),
                        Bytes::copy_from_slice(request.body().bytes()?),
                    ))
                }),
        };
        let response = inner.call(request);
        let creds = self.creds.clone();
        HttpConnectorFuture::new(async move {
            let mut response = response.await?;
            if (400..500).contains(&response.status().as_u16()) {
                let header_code = header_code(&response).map(str::to_owned);
                let body = std::mem::replace(response.body_mut(), SdkBody::taken());
                *response.body_mut() = SdkBody::from_body_1_x(Watched {
                    inner: body,
                    buf: Vec::new(),
                    header_code,
                    sent: Some(sent),
                    creds,
                    done: false,
                });
            }
            Ok(response)
        })
    }
}

/// A 4xx body, buffered; at its end: invalidate a rejected key, explain a data-action denial.
/// Past [`MAX_ERROR_BODY`] it streams through unchanged.
struct Watched {
    inner: SdkBody,
    buf: Vec<u8>,
    header_code: Option<String>,
    /// `None` once too large to act on (the body then streams through).
    sent: Option<Sent>,
    creds: AssumedRoleCredentials,
    done: bool,
}

impl Watched {
    fn finish(&mut self) -> Bytes {
        let buf = std::mem::take(&mut self.buf);
        let Some(sent) = self.sent.take() else {
            return Bytes::from(buf);
        };
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Bytes::from(buf);
        };
        let Some(code) = self.header_code.as_deref().or_else(|| body_code(text)) else {
            return Bytes::from(buf);
        };
        if is_rejection(code) {
            if let Some(key) = &sent.signed_with {
                self.creds.invalidate(key);
            }
        } else if code == "AccessDeniedException" {
            if let Some((target, body)) = &sent.dynamodb {
                let action = format!("dynamodb:{}", target.rsplit('.').next().unwrap_or(target));
                let table = std::str::from_utf8(body).ok().and_then(table_name);
                let extra = explanation(self.creds.role_arn(), &action, table.as_deref());
                if let Some(out) = append_to_message(text, &extra) {
                    return Bytes::from(out);
                }
            }
        }
        Bytes::from(buf)
    }
}

impl Body for Watched {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => frame,
                Poll::Ready(None) => {
                    this.done = true;
                    if this.sent.is_none() && this.buf.is_empty() {
                        return Poll::Ready(None);
                    }
                    let out = this.finish();
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
            };
            if this.sent.is_none() {
                return Poll::Ready(Some(Ok(frame))); // streaming through
            }
            match frame.into_data() {
                Ok(data) => {
                    this.buf.extend_from_slice(&data);
                    if this.buf.len() > MAX_ERROR_BODY {
                        // Too large for an error body: hand on what was read, stream the rest.
                        this.sent = None;
                        let head = Bytes::from(std::mem::take(&mut this.buf));
                        return Poll::Ready(Some(Ok(Frame::data(head))));
                    }
                }
                Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of `frames` data frames of `size` bytes each (byte `i` of the body is `i % 251`).
    struct Frames {
        next: usize,
        frames: usize,
        size: usize,
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = aws_smithy_types::body::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.next == self.frames {
                return Poll::Ready(None);
            }
            let start = self.next * self.size;
            self.next += 1;
            let data: Vec<u8> = (start..start + self.size)
                .map(|i| (i % 251) as u8)
                .collect();
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(data)))))
        }
    }

    fn creds() -> AssumedRoleCredentials {
        let sdk = aws_types::SdkConfig::builder()
            .region(aws_types::region::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("AKID", "secret", None, None, "test"),
                ),
            )
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/R")
            .configure(&sdk)
            .build_deferred()
            .unwrap()
    }

    #[test]
    fn a_large_4xx_body_streams_through_unchanged_with_bounded_buffering() {
        let (frames, size) = (64, 16 * 1024); // 1 MiB in TLS-record-sized frames
        let mut watched = Watched {
            inner: SdkBody::from_body_1_x(Frames {
                next: 0,
                frames,
                size,
            }),
            buf: Vec::new(),
            header_code: None,
            sent: Some(Sent {
                signed_with: None,
                dynamodb: None,
            }),
            creds: creds(),
            done: false,
        };
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        let mut largest = 0;
        while let Poll::Ready(Some(frame)) = Pin::new(&mut watched).poll_frame(&mut cx) {
            let data = frame.unwrap().into_data().unwrap();
            largest = largest.max(data.len());
            assert!(watched.buf.len() <= MAX_ERROR_BODY, "buffering is bounded");
            out.extend_from_slice(&data);
        }
        assert_eq!(out.len(), frames * size);
        assert!(
            out.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8),
            "unchanged"
        );
        assert!(
            largest <= MAX_ERROR_BODY + size,
            "streamed, not buffered whole: {largest}"
        );
    }

    #[test]
    fn a_small_4xx_body_is_buffered_and_handed_on_whole() {
        let mut watched = Watched {
            inner: SdkBody::from_body_1_x(Frames {
                next: 0,
                frames: 3,
                size: 100,
            }),
            buf: Vec::new(),
            header_code: None,
            sent: Some(Sent {
                signed_with: None,
                dynamodb: None,
            }),
            creds: creds(),
            done: false,
        };
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut watched).poll_frame(&mut cx) else {
            panic!("one frame");
        };
        assert_eq!(frame.into_data().unwrap().len(), 300);
        assert!(matches!(
            Pin::new(&mut watched).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}
