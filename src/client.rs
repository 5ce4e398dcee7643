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

mod access_denied_message;
#[cfg(feature = "dax")]
mod dax;
mod error_code;
mod identity_cache;
mod invalidating_http_client;
mod retry_expired_token;

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::identity::{IdentityCachePartition, ResolveIdentity};

use identity_cache::PassThroughCache;
use invalidating_http_client::InvalidatingHttpClient;

pub use retry_expired_token::RetryOnExpiredToken;

use crate::AssumedRoleCredentials;

impl AssumedRoleCredentials {
    /// The DynamoDB client config builder, preconfigured: these credentials (shared, so every
    /// client built from them makes one STS call per rotation), the SDK's lazy identity cache
    /// replaced by a pass-through to this provider (a rotation is used by the very next request,
    /// and resolving the identity costs an `Arc` clone), the region and settings of the `SdkConfig`
    /// given to the builder, and self-healing on `ExpiredToken`: its HTTP client (the
    /// `SdkConfig`'s, wrapped) tells this provider which key a service rejected, and
    /// [`RetryOnExpiredToken`] retries the request, which then waits for fresh credentials. If
    /// you replace the HTTP client on this builder, the invalidation half is lost: set custom
    /// clients on the `SdkConfig` given to the provider instead.
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
        let (shared, cache) = self.shared_with_cache();
        let mut builder = aws_sdk_dynamodb::config::Builder::from(self.inner().services());
        builder.set_credentials_provider(Some(shared));
        builder
            .identity_cache(cache)
            .http_client(self.invalidating_http_client())
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

    /// An `SdkConfig` with these refreshing credentials, the pass-through identity cache, the
    /// region and settings of the `SdkConfig` given to the builder, and its HTTP client wrapped
    /// so that a response rejecting the credentials (`ExpiredToken`) makes the provider refresh
    /// before the next request: for KMS, Secrets Manager or any other service in account A.
    ///
    /// What it cannot carry: an `SdkConfig` holds no retry classifiers, so the request that
    /// hit the rejection fails (the next one succeeds) unless the client adds
    /// [`RetryOnExpiredToken`], as below.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// use cross_account_dynamodb::RetryOnExpiredToken;
    ///
    /// let config = creds.sdk_config();
    /// // e.g. aws_sdk_kms::Client::new(&config), or, retrying the rejected request too:
    /// let sts = aws_sdk_sts::Client::from_conf(
    ///     aws_sdk_sts::config::Builder::from(&config)
    ///         .retry_classifier(RetryOnExpiredToken::new())
    ///         .build(),
    /// );
    /// # }
    /// ```
    pub fn sdk_config(&self) -> SdkConfig {
        let (shared, cache) = self.shared_with_cache();
        self.inner()
            .services()
            .to_builder()
            .credentials_provider(shared)
            .identity_cache(cache)
            .http_client(self.invalidating_http_client())
            .build()
    }

    /// The `SdkConfig`'s HTTP client (or the SDK's default), wrapped so that a response
    /// rejecting these credentials invalidates them and a DynamoDB denial is explained.
    fn invalidating_http_client(&self) -> InvalidatingHttpClient {
        InvalidatingHttpClient::new(self.inner().services().http_client(), self.clone())
    }

    /// The provider as the SDK takes it, and the pass-through identity cache that serves it
    /// (in place of the SDK's caches: see `identity_cache.rs`).
    fn shared_with_cache(&self) -> (SharedCredentialsProvider, PassThroughCache) {
        let shared = SharedCredentialsProvider::new(self.clone());
        let partition = shared
            .cache_partition()
            .unwrap_or_else(IdentityCachePartition::new);
        let cache = PassThroughCache::new(self.clone(), partition);
        (shared, cache)
    }
}
