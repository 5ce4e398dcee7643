//! Tells "the role may not perform this data action" apart from "AssumeRole was denied".
//!
//! An AssumeRole denial never reaches DynamoDB: it fails identity resolution, and the request's
//! error carries this crate's [`Error`](crate::Error) (with the causes to check) in its source
//! chain. A DynamoDB `AccessDeniedException`, by contrast, means the credentials were issued and
//! the role in account A lacks the action. Its message from AWS does not always name the table
//! (and never says that trust and ExternalId are fine), so [`ExplainAccessDenied`] appends that,
//! naming the action and the table, before the SDK deserializes the error: the error keeps its
//! type and code; only its message says more. The body is still a stream at that point (the SDK
//! reads it inside deserialization), so the rewrite happens in a small buffering body that
//! edits the message when the stream ends; error bodies are small, and one larger than
//! [`MAX_ERROR_BODY`] passes through untouched.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use bytes::Bytes;

use super::wire::json_type;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Error bodies larger than this are passed through unchanged.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The data call of the current request: `dynamodb:GetItem` on `orders`.
#[derive(Debug, Clone)]
struct DataCall {
    action: String,
    table: Option<String>,
}

impl Storable for DataCall {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone)]
pub(crate) struct ExplainAccessDenied {
    role_arn: String,
}

impl ExplainAccessDenied {
    pub(crate) fn new(role_arn: &str) -> Self {
        ExplainAccessDenied {
            role_arn: role_arn.to_owned(),
        }
    }
}

impl Intercept for ExplainAccessDenied {
    fn name(&self) -> &'static str {
        "ExplainAccessDenied"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        // x-amz-target: DynamoDB_20120810.GetItem
        if let Some(op) = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
        {
            let table = request
                .body()
                .bytes()
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(table_name);
            cfg.interceptor_state().store_put(DataCall {
                action: format!("dynamodb:{op}"),
                table,
            });
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let status = response.status().as_u16();
        let header_says_denied = response
            .headers()
            .get("x-amzn-errortype")
            .is_some_and(|t| t.starts_with("AccessDeniedException"));
        // DynamoDB answers a denial with HTTP 400; only those bodies are worth a look.
        if status != 400 && !header_says_denied {
            return Ok(());
        }
        let Some(call) = cfg.load::<DataCall>() else {
            return Ok(());
        };
        let on = call
            .table
            .as_deref()
            .map(|t| format!(" on table {t}"))
            .unwrap_or_default();
        let explanation = format!(
            " [the role {} may not perform {}{on}: AssumeRole succeeded, so the trust policy and \
             external id are fine; grant {} in the role's permission policy]",
            self.role_arn, call.action, call.action
        );
        let inner = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(Explained {
            inner,
            buf: Vec::new(),
            explanation,
            done: false,
        });
        Ok(())
    }
}

/// Buffers a (small) error body and, at its end, appends the explanation to the message of an
/// `AccessDeniedException`; any other body comes out as it went in.
struct Explained {
    inner: SdkBody,
    buf: Vec<u8>,
    explanation: String,
    done: bool,
}

impl Explained {
    fn finish(&mut self) -> Bytes {
        let buf = std::mem::take(&mut self.buf);
        let rewritten = std::str::from_utf8(&buf).ok().and_then(|body| {
            let code = json_type(body)?;
            (code == "AccessDeniedException")
                .then(|| append_to_message(body, &self.explanation))
                .flatten()
        });
        rewritten
            .map(Bytes::from)
            .unwrap_or_else(|| Bytes::from(buf))
    }
}

impl Body for Explained {
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
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                        if this.buf.len() > MAX_ERROR_BODY {
                            // Too large for an error: give it back as it came.
                            this.explanation.clear();
                        }
                    }
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let out = if this.explanation.is_empty() {
                        Bytes::from(std::mem::take(&mut this.buf))
                    } else {
                        this.finish()
                    };
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
            }
        }
    }
}

/// The first `"TableName":"..."` of a JSON request, or the first key of `RequestItems`.
fn table_name(body: &str) -> Option<String> {
    let value_after = |key: &str| -> Option<String> {
        let rest = &body[body.find(key)? + key.len()..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        let rest = match key {
            "\"RequestItems\"" => rest.strip_prefix('{')?.trim_start(),
            _ => rest,
        };
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    };
    value_after("\"TableName\"").or_else(|| value_after("\"RequestItems\""))
}

/// Appends already-safe text to the JSON error's `message` (or `Message`) string.
fn append_to_message(body: &str, text: &str) -> Option<String> {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => vec![' '],
            c => vec![c],
        })
        .collect();
    let key = ["\"message\"", "\"Message\""]
        .into_iter()
        .find(|k| body.contains(k))?;
    let after_key = body.find(key)? + key.len();
    let open = after_key + body[after_key..].find('"')? + 1;
    // the closing quote: the first '"' not escaped by a backslash
    let bytes = body.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    if i >= bytes.len() {
        return None;
    }
    Some(format!("{}{escaped}{}", &body[..i], &body[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_table() {
        let get = r#"{"TableName":"orders","Key":{"pk":{"S":"a"}}}"#;
        assert_eq!(table_name(get).as_deref(), Some("orders"));
        let batch = r#"{"RequestItems": {"orders": {"Keys": []}}}"#;
        assert_eq!(table_name(batch).as_deref(), Some("orders"));
        assert_eq!(table_name("{}"), None);
    }

    #[test]
    fn appends_to_the_message_keeping_valid_json() {
        let body = r#"{"__type":"x#AccessDeniedException","message":"not \"authorized\""}"#;
        let out = append_to_message(body, " [role \"R\"]").unwrap();
        assert_eq!(
            out,
            r#"{"__type":"x#AccessDeniedException","message":"not \"authorized\" [role \"R\"]"}"#
        );
        let upper = r#"{"__type":"AccessDeniedException","Message":"no"}"#;
        assert!(append_to_message(upper, " x")
            .unwrap()
            .contains(r#""Message":"no x""#));
        assert_eq!(append_to_message(r#"{"__type":"x"}"#, "y"), None);
    }
}
