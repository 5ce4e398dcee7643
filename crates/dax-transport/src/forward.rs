//! Operations DAX does not serve (DescribeTable, CreateTable, PartiQL, TTL, ...): the SDK's
//! request body, re-signed with aws-sigv4 (service `dynamodb`) and the transport's credentials,
//! sent to the DynamoDB endpoint through the `SdkConfig`'s HTTP client (or the default one).

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorSettings, SharedHttpClient,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::error::{DaxError, Kind};
use super::http::TARGET_PREFIX;
use super::Shared;

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
    pub(crate) async fn forward(
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
