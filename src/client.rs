//! Ready clients from an [`AssumedRoleCredentials`]: a DynamoDB client (or its config builder,
//! to customise with the SDK's own methods) and an `SdkConfig` for any other service.
//!
//! # Endpoints
//!
//! Assumed-role credentials carry account A's id, and DynamoDB's endpoint rules use it: with
//! `AccountIdEndpointMode::Preferred` (the SDK's default, kept here) requests go to the
//! account-based endpoint `https://<account A>.ddb.<region>.amazonaws.com`, AWS's recommended
//! endpoint for the table's own account. An explicit `endpoint_url` (an interface VPC endpoint,
//! a FIPS or local endpoint) always wins. If egress is filtered by host name and allows only
//! `dynamodb.<region>.amazonaws.com`, set
//! `.account_id_endpoint_mode(AccountIdEndpointMode::Disabled)` on
//! [`dynamodb_config`](AssumedRoleCredentials::dynamodb_config); gateway VPC endpoints route
//! both names.
//!
//! Settings aimed at STS stay with STS: the provider builder's `region()` and
//! `sts_endpoint_url()`, and `AWS_ENDPOINT_URL_STS`, apply to AssumeRole only.

mod explain;
mod self_heal;
mod wire;

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::IdentityCache;

pub use self_heal::{InvalidateOnExpiredToken, RetryOnExpiredToken};

use crate::AssumedRoleCredentials;

impl AssumedRoleCredentials {
    /// The DynamoDB client config builder, preconfigured: these credentials (shared, so every
    /// client built from them makes one STS call per rotation), the SDK's identity cache off (a
    /// rotation is used by the very next request), the region and settings of the `SdkConfig`
    /// given to the builder, and self-healing on `ExpiredToken` (the
    /// [`InvalidateOnExpiredToken`] interceptor and the [`RetryOnExpiredToken`] classifier).
    ///
    /// An `AccessDeniedException` from DynamoDB gets its message extended to name the role, the
    /// action and the table, and to say that AssumeRole itself succeeded; an AssumeRole denial
    /// shows instead as this crate's [`Error`](crate::Error) in the failed request's source
    /// chain. Customise the builder with the SDK's own methods.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// use std::time::Duration;
    /// use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    ///
    /// let config = creds
    ///     .dynamodb_config()
    ///     .endpoint_url("https://vpce-0abc-dynamodb.us-east-1.vpce.amazonaws.com")
    ///     .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(2)).build())
    ///     .build();
    /// let dynamodb = aws_sdk_dynamodb::Client::from_conf(config);
    /// # }
    /// ```
    pub fn dynamodb_config(&self) -> aws_sdk_dynamodb::config::Builder {
        let mut builder = aws_sdk_dynamodb::config::Builder::from(&self.inner().services);
        builder.set_credentials_provider(Some(self.shared()));
        builder
            .identity_cache(IdentityCache::no_cache())
            .interceptor(self.invalidate_on_expired_token())
            .interceptor(explain::ExplainAccessDenied::new(self.role_arn()))
            .retry_classifier(RetryOnExpiredToken::new())
    }

    /// A DynamoDB client with [`dynamodb_config`](Self::dynamodb_config)'s defaults.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), aws_sdk_dynamodb::Error> {
    /// let tables = creds.dynamodb().list_tables().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(self.dynamodb_config().build())
    }

    /// An `SdkConfig` with these refreshing credentials, the SDK identity cache off, and the
    /// region and settings of the `SdkConfig` given to the builder: for KMS, Secrets Manager or
    /// any other service in account A.
    ///
    /// An `SdkConfig` cannot carry interceptors or retry classifiers, so clients built from it
    /// alone do not heal on `ExpiredToken`: add [`invalidate_on_expired_token`] and
    /// [`RetryOnExpiredToken`] to the service's config builder, as below.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// use cross_account_dynamodb::RetryOnExpiredToken;
    ///
    /// let config = creds.sdk_config();
    /// // e.g. aws_sdk_kms::Client::new(&config), or, with self-healing:
    /// let sts = aws_sdk_sts::Client::from_conf(
    ///     aws_sdk_sts::config::Builder::from(&config)
    ///         .interceptor(creds.invalidate_on_expired_token())
    ///         .retry_classifier(RetryOnExpiredToken::new())
    ///         .build(),
    /// );
    /// # }
    /// ```
    ///
    /// [`invalidate_on_expired_token`]: Self::invalidate_on_expired_token
    pub fn sdk_config(&self) -> SdkConfig {
        self.inner()
            .services
            .to_builder()
            .credentials_provider(self.shared())
            .identity_cache(IdentityCache::no_cache())
            .build()
    }

    /// The interceptor that invalidates these credentials when a service rejects them; see
    /// [`InvalidateOnExpiredToken`].
    pub fn invalidate_on_expired_token(&self) -> InvalidateOnExpiredToken {
        InvalidateOnExpiredToken::new(self.clone())
    }

    fn shared(&self) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(self.clone())
    }
}
