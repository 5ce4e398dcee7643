//! The retry half of self-healing on rejected credentials. The other half, telling the
//! provider which key was rejected, happens in the HTTP client our configs carry (`invalidating_http_client.rs`),
//! because the SDK's default classifiers do not retry `ExpiredToken` and its interceptor hooks
//! are synchronous: the rejected response invalidates the key as its body is read, this
//! classifier makes the request retryable, and the retry's identity resolution waits on the
//! provider's single-flight refresh.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::retry::ErrorKind;

use super::error_code::{error_code, is_rejection};

/// A retry classifier that makes responses rejecting the credentials (`ExpiredToken`,
/// `ExpiredTokenException`, `InvalidToken`) retryable, which the SDK's defaults do not.
///
/// [`dynamodb_config`](crate::AssumedRoleCredentials::dynamodb_config) installs it. An
/// `SdkConfig` cannot carry a retry classifier, so add it to clients built from
/// [`sdk_config`](crate::AssumedRoleCredentials::sdk_config) to have the failed request itself
/// retried (the next request heals either way):
///
/// ```
/// use cross_account_dynamodb::RetryOnExpiredToken;
///
/// let config = aws_sdk_sts::config::Builder::new()
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
            Some(r)
                if (400..500).contains(&r.status().as_u16())
                    && error_code(r).is_some_and(is_rejection) =>
            {
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
