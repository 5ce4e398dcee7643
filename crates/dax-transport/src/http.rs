//! The `HttpClient` the DAX client config carries and its connector: DAX operations run over
//! DAX (typed side channel), others are forwarded to DynamoDB.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::error::{error_body, DaxError, Kind};
use super::execute::{execute, Limits};
use super::ops::{is_dax_operation, prepare, DaxOutput, Failure};
use super::side_channel::{request_token, AttemptNumber, TypedInput, TypedOutput};
use super::{telemetry, Shared};

pub(crate) use super::side_channel::DaxInterceptor;

pub(crate) const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// The DAX client's `HttpClient`: cheap to clone, one connection pool per node inside.
#[derive(Debug, Clone)]
pub(crate) struct DaxHttpClient {
    pub(crate) shared: Arc<Shared>,
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
            let (settings, components) = (self.settings.clone(), self.components.clone());
            return HttpConnectorFuture::new(async move {
                shared
                    .forward
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
        let operation = input.name();
        // Created here, inside the SDK's attempt span, so that it nests under it.
        let span = tracing::debug_span!(
            "dax.request",
            operation,
            node = tracing::field::Empty,
            attempt = request.extension::<AttemptNumber>().map_or(0, |a| a.0),
        );
        let fut = async move {
            let timer = telemetry::OpTimer::start(&shared.time, operation);
            let result = match prepare((*input).clone()) {
                Ok(op) => execute(&shared, &op, invocation, limits).await,
                Err(f) => Err(f),
            };
            timer.finish(result.as_ref().err().map(Failure::error_type));
            respond(result)
        };
        HttpConnectorFuture::new(tracing::Instrument::instrument(fut, span))
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
