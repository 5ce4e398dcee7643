//! [`AssumedRoleCredentialsBuilder`]: every AssumeRole option, where the source credentials,
//! region, STS endpoint, HTTP client, clock and sleep come from, and the refresh policy.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::IdentityCache;
use aws_smithy_async::rt::sleep::{default_async_sleep, AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use aws_smithy_types::retry::RetryConfig;

use super::options::{default_session_name, role_option_setters, RoleOptions, SharedOptions};
use super::policy::{RefreshPolicy, MAX_SLEEP};
use super::provider::AssumedRoleCredentials;
use super::refresh::{Driver, RefreshCallback, RefreshEnv, Refresher, Trigger};
use super::status::RefreshEvent;
use super::sts::{AssumeRoleParams, MfaTokenFn, StsCaller, CHAINED_MAX_SECONDS};
use super::validate;
use crate::Error;

/// Builds an [`AssumedRoleCredentials`] provider. Made by [`AssumedRoleCredentials::builder`].
///
/// The STS client is made from the [`SdkConfig`] given to [`configure`](Self::configure): its
/// credentials are the source (account B), and its region, endpoint, HTTP client, retry and
/// timeout settings, time source and sleep are used for AssumeRole. Settings made on this builder
/// win over the `SdkConfig`'s. The STS client always has timeouts: a 3 s connect timeout when
/// the `SdkConfig` sets none, and attempts bounded by the
/// [load timeout](RefreshPolicy::load_timeout).
///
/// ```no_run
/// use std::time::Duration;
/// use aws_config::BehaviorVersion;
/// use cross_account_dynamodb::{AssumedRoleCredentials, RefreshPolicy};
///
/// # async fn f() -> Result<(), cross_account_dynamodb::Error> {
/// let source = aws_config::defaults(BehaviorVersion::latest()).load().await;
/// let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
///     .session_name("orders-api")
///     .external_id("7d1c-shared-with-account-a")
///     .duration(Duration::from_secs(3600))
///     .tags([("team", "orders")])
///     .refresh_policy(RefreshPolicy::default().jitter(0.2))
///     .on_refresh(|event| println!("{event:?}"))
///     .configure(&source)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` or `build_deferred` is called"]
pub struct AssumedRoleCredentialsBuilder {
    pub(super) options: SharedOptions,
    mfa: Option<(String, MfaTokenFn)>,
    pub(super) refresh_policy: RefreshPolicy,
    pub(super) sdk_config: Option<SdkConfig>,
    source: Option<SharedCredentialsProvider>,
    source_is_assumed_role: bool,
    sts_endpoint_url: Option<String>,
    time: Option<SharedTimeSource>,
    sleep: Option<SharedAsyncSleep>,
    callbacks: Vec<RefreshCallback>,
}

impl fmt::Debug for AssumedRoleCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumedRoleCredentialsBuilder")
            .field("options", &self.options)
            .field("mfa_serial", &self.mfa.as_ref().map(|(s, _)| s))
            .field("refresh_policy", &self.refresh_policy)
            .field("configured", &self.sdk_config.is_some())
            .field("source", &self.source.is_some())
            .field("on_refresh_callbacks", &self.callbacks.len())
            .finish()
    }
}

impl AssumedRoleCredentialsBuilder {
    pub(crate) fn new(role_arn: String) -> Self {
        Self::from_options(SharedOptions::new(RoleOptions {
            role_arn,
            ..RoleOptions::default()
        }))
    }

    pub(crate) fn from_options(options: SharedOptions) -> Self {
        AssumedRoleCredentialsBuilder {
            options,
            mfa: None,
            refresh_policy: RefreshPolicy::default(),
            sdk_config: None,
            source: None,
            source_is_assumed_role: false,
            sts_endpoint_url: None,
            time: None,
            sleep: None,
            callbacks: Vec::new(),
        }
    }

    /// The source a profile names (never an `AssumedRoleCredentials` of ours).
    pub(super) fn set_source(&mut self, provider: SharedCredentialsProvider) {
        self.source = Some(provider);
        self.source_is_assumed_role = false;
    }

    role_option_setters!(options);

    /// MFA: the device's serial number (or ARN), and a function that returns a current token
    /// code. It is called at every refresh, so it must produce a fresh code each time.
    pub fn mfa(
        mut self,
        serial_number: impl Into<String>,
        token_code: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.mfa = Some((serial_number.into(), Arc::new(token_code)));
        self
    }

    /// When to refresh and how to back off; see [`RefreshPolicy`].
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh_policy = policy;
        self
    }

    /// Takes the source credentials, region, STS endpoint, HTTP client, retry and timeout
    /// settings, time source and sleep from an `SdkConfig` (usually account B's
    /// `aws_config::load_defaults`).
    pub fn configure(mut self, config: &SdkConfig) -> Self {
        self.sdk_config = Some(config.clone());
        self
    }

    /// The source credentials (account B), overriding the `SdkConfig`'s. Any provider works;
    /// another `AssumedRoleCredentials` makes a role chain in which each hop caches and
    /// refreshes on its own.
    pub fn source(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.source_is_assumed_role = (&provider as &dyn Any).is::<AssumedRoleCredentials>();
        self.source = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// The STS endpoint (an STS interface VPC endpoint, say), for AssumeRole only: it does not
    /// reach the DynamoDB or other service clients built from this provider.
    pub fn sts_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint_url = Some(url.into());
        self
    }

    /// The clock, overriding the `SdkConfig`'s (for tests).
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> Self {
        self.time = Some(SharedTimeSource::new(time));
        self
    }

    /// The sleep, overriding the `SdkConfig`'s (for tests).
    pub fn sleep_impl(mut self, sleep: impl AsyncSleep + 'static) -> Self {
        self.sleep = Some(SharedAsyncSleep::new(sleep));
        self
    }

    /// Called after every fetch, successful or not, outside any lock. Keep it quick: it runs
    /// on the refresh path. May be called more than once to add callbacks.
    pub fn on_refresh(mut self, callback: impl Fn(&RefreshEvent) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(callback));
        self
    }

    /// Validates, calls AssumeRole once, and starts the background refresh. A wrong role,
    /// trust policy or external id fails here, with an error that says what to check.
    pub async fn build(self) -> Result<AssumedRoleCredentials, Error> {
        let creds = self.build_deferred()?;
        creds.inner().ensure_task();
        creds.inner().load(Trigger::Forced).await?;
        Ok(creds)
    }

    /// Validates and returns at once, without calling STS: for services that must start while
    /// STS is unreachable. The first use waits for the first AssumeRole (bounded by the load
    /// timeout); the background task starts then, or now if a tokio runtime is running.
    pub fn build_deferred(self) -> Result<AssumedRoleCredentials, Error> {
        let params = self.params()?;
        let time = self
            .time
            .or_else(|| self.sdk_config.as_ref().and_then(SdkConfig::time_source))
            .unwrap_or_default();
        let sleep = self
            .sleep
            .or_else(|| self.sdk_config.as_ref().and_then(SdkConfig::sleep_impl))
            .or_else(default_async_sleep)
            .ok_or_else(no_sleep)?;
        let sdk = self
            .sdk_config
            .unwrap_or_else(|| SdkConfig::builder().build());
        let region = params
            .options
            .region
            .clone()
            .or_else(|| sdk.region().cloned())
            .ok_or_else(no_region)?;
        let source = self
            .source
            .or_else(|| sdk.credentials_provider())
            .ok_or_else(no_source)?;
        let services = services_config(&sdk, &time, &sleep, Some(&region));
        let client = sts_client(StsClientSettings {
            services: &services,
            source,
            region,
            endpoint_url: self.sts_endpoint_url.as_deref(),
            load_timeout: self.refresh_policy.load_timeout_value(),
            retries: true,
        });
        let env = RefreshEnv {
            services,
            policy: self.refresh_policy,
            sleep,
            callbacks: self.callbacks,
        };
        let refresher = Refresher::new(
            StsCaller::new(client, params),
            Arc::new(env),
            time,
            Driver::task(),
        );
        let creds = AssumedRoleCredentials::from_refresher(refresher);
        creds.inner().ensure_task();
        Ok(creds)
    }

    /// Every AssumeRole parameter, validated, with the default session name filled in. No
    /// STS client, clock or I/O: a pool calls this for each role it adds.
    pub(crate) fn params(&self) -> Result<AssumeRoleParams, Error> {
        validate::role_arn(&self.options.role_arn)?;
        self.refresh_policy.validate()?;
        let session_name = match &self.options.session_name {
            Some(name) => name.clone(),
            None => default_session_name(&self.options.role_arn),
        };
        validate::session_name(&session_name)?;
        if let Some(id) = &self.options.external_id {
            validate::external_id(id)?;
        }
        let mut duration_seconds = self.options.duration.map(validate::duration).transpose()?;
        if self.source_is_assumed_role {
            if let Some(d) = duration_seconds.filter(|d| *d > CHAINED_MAX_SECONDS) {
                tracing::warn!(
                    role_arn = %self.options.role_arn,
                    requested = d,
                    "the source is an assumed role, so this is role chaining, which STS caps at \
                     one hour: using 3600 s"
                );
                duration_seconds = Some(CHAINED_MAX_SECONDS);
            }
        }
        if let Some(p) = &self.options.policy {
            validate::policy(p)?;
        }
        validate::policy_arns(&self.options.policy_arns)?;
        validate::tags(&self.options.tags, &self.options.transitive_tag_keys)?;
        if let Some(id) = &self.options.source_identity {
            validate::source_identity(id)?;
        }
        if let Some((serial, _)) = &self.mfa {
            validate::mfa_serial(serial)?;
        }
        Ok(AssumeRoleParams {
            options: self.options.clone(),
            session_name,
            duration_seconds,
            mfa: self.mfa.clone(),
        })
    }
}

pub(crate) fn no_sleep() -> Error {
    Error::invalid_input(
        "configuration",
        "no async sleep is available; enable the rt-tokio feature of aws-smithy-async or pass \
         one with sleep_impl()",
    )
}

pub(crate) fn no_region() -> Error {
    Error::invalid_input(
        "configuration",
        "no region for STS; set one on the SdkConfig (AWS_REGION, profile) or call .region()",
    )
}

pub(crate) fn no_source() -> Error {
    Error::invalid_input(
        "configuration",
        "no source credentials to call AssumeRole with; pass an SdkConfig that has a \
         credentials provider to .configure(), or call .source()",
    )
}

/// What service clients are built from: the `SdkConfig` as given (its region wins over the
/// STS-only override, which fills in only when it has none), with the provider's clock and
/// sleep.
pub(crate) fn services_config(
    sdk: &SdkConfig,
    time: &SharedTimeSource,
    sleep: &SharedAsyncSleep,
    sts_region: Option<&Region>,
) -> SdkConfig {
    let mut services = sdk
        .to_builder()
        .time_source(time.clone())
        .sleep_impl(sleep.clone());
    if sdk.region().is_none() {
        services.set_region(sts_region.cloned());
    }
    if sdk.behavior_version().is_none() {
        services.set_behavior_version(Some(BehaviorVersion::latest()));
    }
    services.build()
}

/// How to make an STS client for AssumeRole.
pub(crate) struct StsClientSettings<'a> {
    pub(crate) services: &'a SdkConfig,
    pub(crate) source: SharedCredentialsProvider,
    pub(crate) region: Region,
    pub(crate) endpoint_url: Option<&'a str>,
    pub(crate) load_timeout: Duration,
    /// Whether the SDK retries (a pool retries itself, so that every request is rationed).
    pub(crate) retries: bool,
}

/// The STS client: the source credentials, no identity cache of its own (we cache; a second
/// cache would only hide source rotations), timeouts bounded by the load timeout.
pub(crate) fn sts_client(settings: StsClientSettings<'_>) -> aws_sdk_sts::Client {
    let services = settings.services;
    let mut sts = aws_sdk_sts::config::Builder::from(services)
        .identity_cache(IdentityCache::no_cache())
        .timeout_config(sts_timeouts(
            services.timeout_config(),
            settings.load_timeout,
        ))
        .region(settings.region);
    sts.set_credentials_provider(Some(settings.source));
    if !settings.retries {
        sts = sts.retry_config(RetryConfig::disabled());
    }
    if let Some(url) = settings.endpoint_url {
        sts = sts.endpoint_url(url);
    }
    aws_sdk_sts::Client::from_conf(sts.build())
}

/// The connect timeout of the STS client when the `SdkConfig` sets none.
const STS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The STS client's timeouts: the `SdkConfig`'s, with a connect timeout of 3 s when it sets
/// none, and each attempt bounded by the load timeout (a call is abandoned after that anyway).
fn sts_timeouts(given: Option<&TimeoutConfig>, load_timeout: Duration) -> TimeoutConfig {
    let mut timeouts = given.map_or_else(TimeoutConfig::builder, TimeoutConfig::to_builder);
    let connect = given.and_then(TimeoutConfig::connect_timeout);
    timeouts.set_connect_timeout(Some(connect.unwrap_or(STS_CONNECT_TIMEOUT)));
    // Never longer than the longest sleep we hand out (the sleep adds it to the clock).
    let load_timeout = load_timeout.min(MAX_SLEEP);
    let attempt = given
        .and_then(TimeoutConfig::operation_attempt_timeout)
        .map_or(load_timeout, |a| a.min(load_timeout));
    timeouts.set_operation_attempt_timeout(Some(attempt));
    timeouts.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    fn sts_timeouts_of(config: &SdkConfig, policy: RefreshPolicy) -> TimeoutConfig {
        let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/R")
            .session_name("timeouts")
            .refresh_policy(policy)
            .configure(config)
            .build_deferred()
            .unwrap();
        creds
            .inner()
            .sts
            .client()
            .config()
            .timeout_config()
            .cloned()
            .expect("the STS client has a timeout config")
    }

    fn base() -> aws_types::sdk_config::Builder {
        SdkConfig::builder()
            .region(Region::from_static("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
    }

    #[test]
    fn the_sts_client_gets_timeouts_when_the_sdk_config_sets_none() {
        let policy = RefreshPolicy::default().load_timeout(Duration::from_secs(3));
        let t = sts_timeouts_of(&base().build(), policy);
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn the_sdk_config_timeouts_are_kept_and_attempts_bounded_by_the_load_timeout() {
        let given = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_secs(60))
            .operation_timeout(Duration::from_secs(90))
            .build();
        let config = base().timeout_config(given).build();
        let t = sts_timeouts_of(&config, RefreshPolicy::default());
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(20)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(90)));
    }
}
