//! What the provider reports about itself: [`CredentialsStatus`], [`Rotation`], [`RefreshEvent`].
//! None of these carry a secret.

use std::time::{Duration, SystemTime};

use crate::Error;

/// A snapshot of an [`AssumedRoleCredentials`](crate::AssumedRoleCredentials) provider's state.
/// It holds no secrets: the access key id is an identifier, not a credential.
///
/// ```no_run
/// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) {
/// let status = creds.status();
/// if status.consecutive_failures > 0 {
///     eprintln!(
///         "STS failing ({}x) for {}: {:?}; credentials valid until {:?}",
///         status.consecutive_failures, status.role_arn, status.last_error, status.valid_until
///     );
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CredentialsStatus {
    /// The role these credentials are for.
    pub role_arn: String,
    /// The access key id of the credentials served now, if any.
    pub access_key_id: Option<String>,
    /// When the cached credentials expire (STS's `Expiration`).
    pub expiry: Option<SystemTime>,
    /// When they stop being served (expiry minus the safety margin).
    pub valid_until: Option<SystemTime>,
    /// When the next refresh is due (proactive, or the next retry after a failure).
    pub next_refresh: Option<SystemTime>,
    /// When the last successful fetch happened.
    pub last_refresh: Option<SystemTime>,
    /// Successful fetches after the first one (rotations).
    pub refresh_count: u64,
    /// Successful fetches in all; the generation of the credentials served now.
    pub generation: u64,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
    /// The most recent failure (kept after a later success), and when it happened.
    pub last_error: Option<(SystemTime, Error)>,
    /// The cached credentials were rejected by a service ([`invalidate`]) and are being replaced.
    ///
    /// [`invalidate`]: crate::AssumedRoleCredentials::invalidate
    pub invalidated: bool,
    /// Whether the background refresh task is running.
    pub background_task_running: bool,
}

impl CredentialsStatus {
    /// Credentials are cached and may be served at `now`.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        !self.invalidated && self.valid_until.is_some_and(|v| now < v)
    }
}

/// A new set of credentials, as seen by [`subscribe`](crate::AssumedRoleCredentials::subscribe).
///
/// Generation 0 means nothing was fetched yet (a provider from `build_deferred`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// Counts successful fetches; the first fetch is generation 1.
    pub generation: u64,
    /// The new credentials' access key id (not a secret).
    pub access_key_id: String,
    /// When the new credentials expire.
    pub expiry: SystemTime,
}

impl Rotation {
    pub(crate) fn none() -> Self {
        Rotation {
            generation: 0,
            access_key_id: String::new(),
            expiry: SystemTime::UNIX_EPOCH,
        }
    }
}

/// What [`on_refresh`](crate::AssumedRoleCredentialsBuilder::on_refresh) callbacks are told.
///
/// ```
/// use cross_account_dynamodb::RefreshEvent;
///
/// fn log(event: &RefreshEvent) {
///     match event {
///         RefreshEvent::Refreshed { rotation, latency, .. } => {
///             println!("rotated to {} in {latency:?}", rotation.access_key_id)
///         }
///         RefreshEvent::Failed { error, consecutive_failures, .. } => {
///             println!("refresh failed ({consecutive_failures}x): {error}")
///         }
///         _ => {}
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RefreshEvent {
    /// A fetch succeeded.
    #[non_exhaustive]
    Refreshed {
        /// The new credentials.
        rotation: Rotation,
        /// How long the AssumeRole call took (by the injected clock).
        latency: Duration,
    },
    /// A fetch failed.
    #[non_exhaustive]
    Failed {
        /// What went wrong.
        error: Error,
        /// Failures since the last success, this one included.
        consecutive_failures: u32,
        /// When the background task tries again.
        next_attempt: SystemTime,
        /// Whether valid credentials are still being served meanwhile.
        serving_cached: bool,
    },
}
