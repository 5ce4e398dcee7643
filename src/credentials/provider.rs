//! [`AssumedRoleCredentials`]: the cheap-to-clone handle, and its `ProvideCredentials` hot path.

use std::fmt;
use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use tokio::sync::watch;

use aws_smithy_runtime_api::client::identity::Identity;

use super::builder::AssumedRoleCredentialsBuilder;
use super::profile::ProfileCredentialsBuilder;
use super::refresh::{CachedCredentials, Refresher, Trigger};
use super::status::{CredentialsStatus, Rotation};
use crate::Error;

/// Account-A credentials from STS AssumeRole, cached and refreshed in the background.
///
/// * **Never waits while valid:** [`provide_credentials`](ProvideCredentials::provide_credentials)
///   returns a ready future from an `ArcSwap` load: no lock, no await, no allocation of ours.
///   Callers wait only when nothing valid is cached, and then all on one AssumeRole call,
///   bounded by the load timeout of the [`RefreshPolicy`](crate::RefreshPolicy).
/// * **Refreshes ahead of expiry** in a background task, independent of traffic (see
///   [`RefreshPolicy`](crate::RefreshPolicy) for when).
/// * **Survives STS outages:** while the cached credentials are valid, failures are retried
///   with exponential backoff and jitter and the cached credentials keep being served. Expired
///   credentials are never served.
/// * **One AssumeRole in flight** per provider, and its outcome (success or failure) is shared
///   by every caller that waited.
/// * **Reports its state:** [`status`](Self::status), [`subscribe`](Self::subscribe),
///   `on_refresh` callbacks and `tracing` events. Nothing secret is ever logged or printed.
///
/// Cloning is cheap (one `Arc`); clones share the cache and the background task, which stops
/// when the last clone drops. `Send + Sync + 'static`.
///
/// ```no_run
/// use aws_config::BehaviorVersion;
/// use cross_account_dynamodb::AssumedRoleCredentials;
///
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let source = aws_config::defaults(BehaviorVersion::latest()).load().await; // account B
/// let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
///     .session_name("orders-api")
///     .external_id("7d1c-shared-with-account-a")
///     .configure(&source)
///     .build()
///     .await?;
/// println!("{:?}", creds.status());
/// let mut rotations = creds.subscribe();
/// tokio::spawn(async move {
///     while rotations.changed().await.is_ok() {
///         println!("rotated: {:?}", *rotations.borrow());
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AssumedRoleCredentials {
    refresher: Arc<Refresher>,
}

impl fmt::Debug for AssumedRoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.refresher.current.load();
        f.debug_struct("AssumedRoleCredentials")
            .field("role_arn", &self.refresher.role_arn())
            .field("sts", &self.refresher.sts)
            .field(
                "access_key_id",
                &current.as_ref().map(|c| c.credentials.access_key_id()),
            )
            .field("generation", &current.as_ref().map(|c| c.generation))
            .field("policy", self.refresher.policy())
            .finish_non_exhaustive()
    }
}

impl AssumedRoleCredentials {
    /// Starts a builder for the role to assume (`arn:<partition>:iam::<account>:role/<name>`).
    ///
    /// ```
    /// use cross_account_dynamodb::AssumedRoleCredentials;
    ///
    /// let builder = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
    ///     .session_name("orders-api");
    /// ```
    pub fn builder(role_arn: impl Into<String>) -> AssumedRoleCredentialsBuilder {
        AssumedRoleCredentialsBuilder::new(role_arn.into())
    }

    /// A builder filled from a profile that has `role_arn` (and optionally `external_id`,
    /// `role_session_name`, `duration_seconds`, `region`), whose `source_profile` or
    /// `credential_source` (`EcsContainer`, `Ec2InstanceMetadata`, `Environment`) becomes the
    /// source through aws-config. This is the ECS recipe (`credential_source = EcsContainer` in
    /// a profile baked into the container) with refresh. Settings made on the builder win over
    /// the profile's. The files are read by `build().await`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), cross_account_dynamodb::Error> {
    /// use aws_config::BehaviorVersion;
    /// use cross_account_dynamodb::AssumedRoleCredentials;
    ///
    /// // ~/.aws/config:
    /// //   [profile crossAccount]
    /// //   role_arn = arn:aws:iam::111111111111:role/CrossAccountDynamoRole
    /// //   credential_source = EcsContainer
    /// let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
    /// let creds = AssumedRoleCredentials::from_profile("crossAccount")
    ///     .configure(&base)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn from_profile(profile_name: impl Into<String>) -> ProfileCredentialsBuilder {
        ProfileCredentialsBuilder::new(profile_name.into())
    }

    pub(crate) fn from_refresher(refresher: Arc<Refresher>) -> Self {
        AssumedRoleCredentials { refresher }
    }

    /// The `Refresher` (cache, STS caller, background task) that every clone shares.
    pub(crate) fn inner(&self) -> &Arc<Refresher> {
        &self.refresher
    }

    /// The role these credentials are for.
    pub fn role_arn(&self) -> &str {
        self.refresher.role_arn()
    }

    /// The credentials, with this crate's typed [`Error`] (what `provide_credentials` returns
    /// wrapped in the SDK's `CredentialsError`).
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// match creds.credentials().await {
    ///     Ok(c) => println!("using {}", c.access_key_id()),
    ///     Err(e) if e.is_access_denied() => eprintln!("fix IAM: {e}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        if let Some(c) = self.cached_now() {
            return Ok(c);
        }
        self.refresher.ensure_task();
        let cached = self.refresher.load(Trigger::Caller).await?;
        Ok(cached.credentials.clone())
    }

    /// Valid cached credentials, if any.
    #[inline]
    fn cached_now(&self) -> Option<Credentials> {
        self.with_servable(|c| c.credentials.clone())
    }

    /// The same, as the SDK's `Identity` (built once per generation).
    #[inline]
    pub(crate) fn cached_identity(&self) -> Option<Identity> {
        self.with_servable(|c| c.identity.clone())
    }

    /// Applies `f` to the cached credentials if they may be served now: the injected wall clock
    /// decides, every time (a flag kept by the background task would outlive validity when the
    /// monotonic clock stops while the wall clock moves: suspend, a frozen Lambda). The task is
    /// restarted here if a refresh is due and it is gone (its runtime was dropped).
    #[inline]
    fn with_servable<T>(&self, f: impl FnOnce(&CachedCredentials) -> T) -> Option<T> {
        let current = self.refresher.current.load();
        let cached = current.as_ref()?;
        let now = self.refresher.time.now();
        if !cached.servable_at(now) {
            return None;
        }
        if now >= cached.schedule.refresh_at {
            crate::telemetry::credentials::served_past_refresh();
            if !self.refresher.task_running() {
                self.restart_task();
            }
        }
        Some(f(cached))
    }

    #[cold]
    fn restart_task(&self) {
        if !self.refresher.ensure_task() {
            tracing::warn!(
                role_arn = %self.role_arn(),
                "the background refresh task is gone and no tokio runtime is running here; the \
                 credentials will be refreshed inline when they stop being valid"
            );
        }
    }

    /// A snapshot of the provider's state: expiry, last refresh, counts, last error, current
    /// access key id. No secrets.
    ///
    /// ```no_run
    /// # fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// let s = creds.status();
    /// println!("generation {} expires {:?}, {} failures", s.generation, s.expiry, s.consecutive_failures);
    /// # }
    /// ```
    pub fn status(&self) -> CredentialsStatus {
        self.refresher.status()
    }

    /// Refreshes now, bypassing the backoff; joins the AssumeRole already in flight, if any.
    /// Waits at most the load timeout.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), cross_account_dynamodb::Error> {
    /// let rotation = creds.refresh_now().await?;
    /// println!("now generation {}", rotation.generation);
    /// # Ok(()) }
    /// ```
    pub async fn refresh_now(&self) -> Result<Rotation, Error> {
        self.refresher.ensure_task();
        let cached = self.refresher.load(Trigger::Forced).await?;
        Ok(Rotation {
            generation: cached.generation,
            access_key_id: cached.credentials.access_key_id().to_owned(),
            expiry: cached.expiry,
        })
    }

    /// A service rejected the credentials with this access key id (`ExpiredToken`,
    /// `InvalidToken`): stop serving them and refresh now. Callers then wait on that refresh.
    /// Returns whether they were the current credentials (an old key id is ignored, so a burst
    /// of rejections causes one refresh).
    ///
    /// ```no_run
    /// # fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// let rejected_key = "ASIAEXAMPLE"; // from the failed request's credentials
    /// creds.invalidate(rejected_key);
    /// # }
    /// ```
    pub fn invalidate(&self, access_key_id: &str) -> bool {
        self.refresher.invalidate(access_key_id)
    }

    /// A receiver that sees every new set of credentials (generation, access key id, expiry).
    /// Holds the latest [`Rotation`] (generation 0 before the first fetch).
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
    /// let mut rotations = creds.subscribe();
    /// while rotations.changed().await.is_ok() {
    ///     let r = rotations.borrow_and_update().clone();
    ///     println!("generation {} ({}), expires {:?}", r.generation, r.access_key_id, r.expiry);
    /// }
    /// # }
    /// ```
    pub fn subscribe(&self) -> watch::Receiver<Rotation> {
        self.refresher.subscribe()
    }
}

impl ProvideCredentials for AssumedRoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        match self.cached_now() {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => future::ProvideCredentials::new(async move {
                self.credentials().await.map_err(into_credentials_error)
            }),
        }
    }

    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        self.cached_now()
    }
}

fn into_credentials_error(e: Error) -> CredentialsError {
    if e.is_invalid_input() {
        CredentialsError::invalid_configuration(e)
    } else {
        CredentialsError::provider_error(e)
    }
}
