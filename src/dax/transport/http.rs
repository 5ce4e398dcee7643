//! The `HttpClient` the DAX client config carries, the interceptor of the typed side channel,
//! and the forwarding of operations DAX does not serve.

use std::sync::{Arc, Mutex};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::error::{error_body, DaxError, Kind};
use super::execute::{execute, Limits};
use super::ops::{is_dax_operation, prepare, DaxInput, DaxOutput, Failure};
use super::Shared;

const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// The typed input, from the interceptor to the connector (request extension).
#[derive(Debug, Clone)]
struct TypedInput(Arc<DaxInput>);

impl Storable for TypedInput {
    type Storer = StoreReplace<Self>;
}

/// The typed output, from the connector back to the interceptor (response extension).
#[derive(Debug, Clone)]
struct TypedOutput(Arc<Mutex<Option<DaxOutput>>>);

/// Carries typed inputs and outputs around the SDK's JSON (de)serializers.
#[derive(Debug, Default)]
pub(crate) struct DaxInterceptor;

impl Intercept for DaxInterceptor {
    fn name(&self) -> &'static str {
        "DaxTypedSideChannel"
    }

    // After `modify_before_serialization`, so the SDK's idempotency token is already in a
    // TransactWriteItems input.
    fn read_before_serialization(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut input) = DaxInput::from_erased(ctx.input()) {
            if let DaxInput::TransactWriteItems(t) = &mut input {
                if t.client_request_token.is_none() {
                    t.client_request_token = Some(request_token());
                }
            }
            cfg.interceptor_state()
                .store_put(TypedInput(Arc::new(input)));
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(t) = cfg.load::<TypedInput>() {
            ctx.request_mut().add_extension(t.clone());
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let typed = ctx
            .response()
            .and_then(|r| r.extension::<TypedOutput>())
            .and_then(|t| t.0.lock().ok()?.take());
        if let (Some(out), Some(slot)) = (typed, ctx.output_or_error_mut()) {
            if slot.is_ok() {
                *slot = Ok(out.erase());
            }
        }
        Ok(())
    }
}

/// A random version-4 UUID, as SDKs generate ClientRequestTokens.
fn request_token() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Where and how operations DAX does not serve are sent.
#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    /// `https://dynamodb.<region>.amazonaws.com` or the configured endpoint.
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) client: Option<SharedHttpClient>,
    pub(crate) creds: SharedCredentialsProvider,
}

impl Forwarder {
    async fn forward(
        &self,
        shared: &Shared,
        target: String,
        request: HttpRequest,
        settings: HttpConnectorSettings,
        components: RuntimeComponents,
    ) -> Result<HttpResponse, ConnectorError> {
        let Some(client) = &self.client else {
            return Err(ConnectorError::user(
                DaxError::new(
                    Kind::Unsupported,
                    format!(
                        "{target} is not a DAX operation and no HTTP client is configured to forward it to DynamoDB \
                         (enable the default-https-client feature or set an http_client on the SdkConfig)"
                    ),
                )
                .into(),
            ));
        };
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let uri = format!("{}/", self.endpoint.trim_end_matches('/'));
        let creds = self
            .creds
            .provide_credentials()
            .await
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let identity: Identity = creds.into();
        let headers = [
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("x-amz-target", format!("{TARGET_PREFIX}{target}")),
        ];
        let signable = SignableRequest::new(
            "POST",
            &uri,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| ConnectorError::user(e.into()))?;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(shared.time.now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ConnectorError::user(e.into()))?
            .into();
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| ConnectorError::user(e.into()))?
            .into_parts();
        let mut out = HttpRequest::new(SdkBody::from(body));
        out.set_method("POST")
            .map_err(|e| ConnectorError::user(e.into()))?;
        out.set_uri(uri.as_str())
            .map_err(|e| ConnectorError::user(e.into()))?;
        for (k, v) in &headers {
            out.headers_mut().insert(*k, v.clone());
        }
        let (signed, _) = instructions.into_parts();
        for h in signed {
            out.headers_mut().insert(h.name(), h.value().to_owned());
        }
        client
            .http_connector(&settings, &components)
            .call(out)
            .await
    }
}

/// The DAX client's `HttpClient`: cheap to clone, one connection pool per node inside.
#[derive(Debug, Clone)]
pub(crate) struct DaxHttpClient {
    pub(crate) shared: Arc<Shared>,
    pub(crate) forward: Forwarder,
}

impl HttpClient for DaxHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(DaxConnector {
            client: self.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }
}

#[derive(Debug)]
struct DaxConnector {
    client: DaxHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for DaxConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or_default()
            .to_owned();
        let shared = self.client.shared.clone();
        if !is_dax_operation(&target) {
            let forward = self.client.forward.clone();
            let (settings, components) = (self.settings.clone(), self.components.clone());
            return HttpConnectorFuture::new(async move {
                forward
                    .forward(&shared, target, request, settings, components)
                    .await
            });
        }
        let Some(TypedInput(input)) = request.extension::<TypedInput>().cloned() else {
            return HttpConnectorFuture::ready(Err(ConnectorError::user(
                DaxError::new(
                    Kind::Unsupported,
                    format!(
                        "{target} reached the DAX transport without its typed input: build DAX clients with \
                         AssumedRoleCredentials::dax / dax_config, which install the interceptor that carries it"
                    ),
                )
                .into(),
            )));
        };
        if input.name() != target {
            return HttpConnectorFuture::ready(Err(ConnectorError::user(
                DaxError::new(
                    Kind::Unsupported,
                    format!(
                        "the typed input is a {} but the request is a {target}",
                        input.name()
                    ),
                )
                .into(),
            )));
        }
        let invocation = request
            .headers()
            .get("amz-sdk-invocation-id")
            .map(str::to_owned);
        let limits = Limits {
            connect: self
                .settings
                .connect_timeout()
                .unwrap_or(shared.settings.connect_timeout),
            request: self
                .settings
                .read_timeout()
                .unwrap_or(shared.settings.request_timeout),
        };
        HttpConnectorFuture::new(async move {
            let result = match prepare((*input).clone()) {
                Ok(op) => execute(&shared, &op, invocation, limits).await,
                Err(f) => Err(f),
            };
            respond(result)
        })
    }
}

fn response(status: u16, body: Vec<u8>) -> HttpResponse {
    // `status` is 200 or an error status from `error_body` (400..=599): always valid.
    let status = StatusCode::try_from(status)
        .or_else(|_| StatusCode::try_from(500u16))
        .expect("500 is a valid status code");
    let mut resp = HttpResponse::new(status, SdkBody::from(body));
    resp.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    resp.headers_mut()
        .insert("x-amzn-requestid", request_token());
    resp
}

fn respond(result: Result<DaxOutput, Failure>) -> Result<HttpResponse, ConnectorError> {
    match result {
        Ok(out) => {
            let mut resp = response(200, b"{}".to_vec());
            resp.add_extension(TypedOutput(Arc::new(Mutex::new(Some(out)))));
            Ok(resp)
        }
        Err(Failure::Service {
            name,
            message,
            status,
            reasons,
        }) => {
            let (status, body) = error_body(&name, &message, status, reasons.as_deref());
            Ok(response(status, body))
        }
        Err(Failure::Transport { error, retry_safe }) => {
            Err(error.into_connector_error(retry_safe))
        }
    }
}
