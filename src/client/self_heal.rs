//! Self-healing on rejected credentials, from three pieces (interceptor hooks are synchronous
//! and the SDK's default classifiers do not retry `ExpiredToken`):
//!
//! 1. [`InvalidateOnExpiredToken`] remembers which access key signed each attempt and, when the
//!    response says the token expired or is invalid, calls
//!    [`AssumedRoleCredentials::invalidate`] with that key;
//! 2. [`RetryOnExpiredToken`] marks those responses retryable;
//! 3. the retry resolves the identity again, and the provider, which no longer serves the
//!    rejected key, makes it wait on the single-flight refresh.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::ErrorKind;

use super::wire::error_code;
use crate::AssumedRoleCredentials;

/// Error codes meaning "these credentials are no longer accepted", across protocols.
const REJECTED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "InvalidTokenException",
];

/// An interceptor that tells an [`AssumedRoleCredentials`] when a service rejected its
/// credentials (`ExpiredToken`, `ExpiredTokenException`, `InvalidToken`), so it stops serving
/// them and refreshes. Pair it with [`RetryOnExpiredToken`] so the failed request is retried.
///
/// [`dynamodb_config`](AssumedRoleCredentials::dynamodb_config) installs both. For other
/// services, add them to the service's config builder:
///
/// ```no_run
/// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
/// use cross_account_dynamodb::RetryOnExpiredToken;
///
/// let sts = aws_sdk_sts::Client::from_conf(
///     aws_sdk_sts::config::Builder::from(&creds.sdk_config())
///         .interceptor(creds.invalidate_on_expired_token())
///         .retry_classifier(RetryOnExpiredToken::new())
///         .build(),
/// );
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InvalidateOnExpiredToken {
    creds: AssumedRoleCredentials,
}

impl InvalidateOnExpiredToken {
    pub(crate) fn new(creds: AssumedRoleCredentials) -> Self {
        InvalidateOnExpiredToken { creds }
    }
}

/// The access key id that signed the current attempt.
#[derive(Debug, Clone)]
struct SignedWith(String);

impl Storable for SignedWith {
    type Storer = StoreReplace<Self>;
}

impl Intercept for InvalidateOnExpiredToken {
    fn name(&self) -> &'static str {
        "InvalidateOnExpiredToken"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = context
            .request()
            .headers()
            .get("authorization")
            .and_then(signing_key);
        if let Some(key) = key {
            cfg.interceptor_state()
                .store_put(SignedWith(key.to_owned()));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.response().is_some_and(credentials_rejected) {
            if let Some(SignedWith(key)) = cfg.load::<SignedWith>() {
                self.creds.invalidate(key);
            }
        }
        Ok(())
    }
}

/// A retry classifier that makes responses rejecting the credentials (`ExpiredToken`,
/// `ExpiredTokenException`, `InvalidToken`) retryable, which the SDK's defaults do not. Use it
/// with [`InvalidateOnExpiredToken`], which makes the retry wait for fresh credentials.
///
/// ```
/// use cross_account_dynamodb::RetryOnExpiredToken;
///
/// let config = aws_sdk_dynamodb::config::Builder::new()
///     .retry_classifier(RetryOnExpiredToken::new());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RetryOnExpiredToken;

impl RetryOnExpiredToken {
    /// The classifier.
    pub fn new() -> Self {
        RetryOnExpiredToken
    }
}

impl ClassifyRetry for RetryOnExpiredToken {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(response) if credentials_rejected(response) => {
                RetryAction::retryable_error(ErrorKind::TransientError)
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "RetryOnExpiredToken"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...` -> `AKID`.
fn signing_key(authorization: &str) -> Option<&str> {
    let rest = &authorization[authorization.find("Credential=")? + "Credential=".len()..];
    rest.split('/').next().filter(|k| !k.is_empty())
}

/// Whether a response rejects the credentials that signed it.
fn credentials_rejected(response: &HttpResponse) -> bool {
    let status = response.status().as_u16();
    if !(400..500).contains(&status) {
        return false;
    }
    error_code(response).is_some_and(|code| REJECTED.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    #[test]
    fn finds_the_code_in_every_protocol() {
        let json = r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"x"}"#;
        assert_eq!(
            error_code(&response(400, json)),
            Some("ExpiredTokenException")
        );
        let json11 = r#"{"__type": "InvalidTokenException"}"#;
        assert_eq!(
            error_code(&response(400, json11)),
            Some("InvalidTokenException")
        );
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code></Error></ErrorResponse>";
        assert_eq!(error_code(&response(403, xml)), Some("ExpiredToken"));
        let mut with_header = response(400, "{}");
        with_header
            .headers_mut()
            .insert("x-amzn-ErrorType", "ExpiredTokenException:http://internal");
        assert_eq!(error_code(&with_header), Some("ExpiredTokenException"));
    }

    #[test]
    fn only_credential_rejections_count() {
        assert!(credentials_rejected(&response(
            400,
            r#"{"__type":"x#ExpiredTokenException"}"#
        )));
        assert!(credentials_rejected(&response(
            403,
            "<Code>ExpiredToken</Code>"
        )));
        assert!(!credentials_rejected(&response(
            400,
            r#"{"__type":"x#AccessDeniedException"}"#
        )));
        assert!(!credentials_rejected(&response(
            400,
            r#"{"__type":"x#ValidationException"}"#
        )));
        // An item that merely contains the words, in a successful response.
        assert!(!credentials_rejected(&response(
            200,
            r#"{"Item":{"__type":{"S":"ExpiredToken"}}}"#
        )));
        assert!(!credentials_rejected(&response(
            500,
            "<Code>ExpiredToken</Code>"
        )));
    }

    #[test]
    fn signing_keys_are_read_from_the_authorization_header() {
        let auth = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261121/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signing_key(auth), Some("ASIAEXAMPLE"));
        assert_eq!(signing_key("Bearer x"), None);
    }
}
