//! [`CrossAccountPool`]: one source identity, many target roles (accounts), each assumed lazily
//! and refreshed on its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_async::rt::sleep::{default_async_sleep, AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;

use crate::credentials::{role_option_setters, RoleOptions, MAX_SLEEP};
use crate::{AssumedRoleCredentials, AssumedRoleCredentialsBuilder, Error, RefreshPolicy};

/// A role to assume through a [`CrossAccountPool`], with the per-role options of
/// [`AssumedRoleCredentialsBuilder`]. Two specs that differ in any option are two pool entries.
///
/// ```
/// use std::time::Duration;
/// use cross_account_dynamodb::RoleSpec;
///
/// let spec = RoleSpec::new("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
///     .external_id("7d1c-shared-with-account-a")
///     .session_name("orders-api")
///     .duration(Duration::from_secs(3600));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct RoleSpec(RoleOptions);

impl fmt::Debug for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RoleSpec").field(&self.0).finish()
    }
}

impl RoleSpec {
    /// A role ARN with no other options.
    pub fn new(role_arn: impl Into<String>) -> Self {
        RoleSpec(RoleOptions {
            role_arn: role_arn.into(),
            ..RoleOptions::default()
        })
    }

    role_option_setters!(0);

    /// The role ARN.
    pub fn role_arn(&self) -> &str {
        &self.0.role_arn
    }

    fn credentials_builder(&self) -> AssumedRoleCredentialsBuilder {
        AssumedRoleCredentialsBuilder::from_options(self.0.clone())
    }
}

/// Builds a [`CrossAccountPool`]. Made by [`CrossAccountPool::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CrossAccountPoolBuilder {
    source: Option<SdkConfig>,
    max_roles: usize,
    idle_timeout: Duration,
    refresh_policy: RefreshPolicy,
}

impl CrossAccountPoolBuilder {
    /// The source (account B) configuration every role is assumed from; see
    /// [`AssumedRoleCredentialsBuilder::configure`].
    pub fn configure(mut self, config: &SdkConfig) -> Self {
        self.source = Some(config.clone());
        self
    }

    /// At most this many roles are kept (default 64). At the bound, asking for a new role drops
    /// the least recently used one from the pool: clients already handed out for it keep
    /// working and refreshing; asking for that role again assumes it anew. Zero is an error,
    /// returned by every call that asks the pool for a role.
    pub fn max_roles(mut self, max_roles: usize) -> Self {
        self.max_roles = max_roles;
        self
    }

    /// A role not asked for in this long is dropped from the pool (default 15 minutes), so it
    /// stops refreshing unless a client still holds it. Zero is an error, returned by every
    /// call that asks the pool for a role.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// The refresh policy of every role in the pool. A meaningless setting in it is an error,
    /// returned by every call that asks the pool for a role.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh_policy = policy;
        self
    }

    /// The pool. No I/O: roles are assumed when first asked for. A bad setting is reported by
    /// the calls that ask for a role ([`CrossAccountPool::credentials`] and the others).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
    ///
    /// let pool = CrossAccountPool::builder().max_roles(0).build();
    /// let err = pool
    ///     .credentials(RoleSpec::new("arn:aws:iam::111111111111:role/Reader"))
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("invalid CrossAccountPoolBuilder::max_roles: "));
    /// # }
    /// ```
    pub fn build(self) -> CrossAccountPool {
        let config_error = self.validate().err();
        let source = self.source.unwrap_or_else(|| SdkConfig::builder().build());
        let time = source.time_source().unwrap_or_default();
        let sleep = source.sleep_impl().or_else(default_async_sleep);
        CrossAccountPool {
            shared: Arc::new(PoolShared {
                source,
                time,
                sleep,
                max_roles: self.max_roles,
                idle_timeout: self.idle_timeout,
                refresh_policy: self.refresh_policy,
                config_error,
                roles: Mutex::new(PooledRoles::default()),
            }),
        }
    }

    /// The first meaningless setting, as an error that names its setter.
    fn validate(&self) -> Result<(), Error> {
        if self.max_roles == 0 {
            return Err(Error::invalid_input(
                "CrossAccountPoolBuilder::max_roles",
                "it is zero, so the pool could hold no role; give how many roles to keep \
                 (default 64)",
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(Error::invalid_input(
                "CrossAccountPoolBuilder::idle_timeout",
                "it is zero, so every role would be dropped, and assumed anew, at each call; \
                 give how long an unused role is kept (default 15 minutes)",
            ));
        }
        self.refresh_policy.validate()
    }
}

/// Credentials and clients for many target roles from one source identity: each role assumed
/// lazily (once, however many callers ask at the same time), refreshed independently, bounded
/// by [`max_roles`](CrossAccountPoolBuilder::max_roles) and dropped after
/// [`idle_timeout`](CrossAccountPoolBuilder::idle_timeout). Cheap to clone.
///
/// ```no_run
/// use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
///
/// # async fn f(tenant_role_arn: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let source = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let pool = CrossAccountPool::builder().configure(&source).max_roles(100).build();
/// let dynamodb = pool.dynamodb(RoleSpec::new(tenant_role_arn).external_id("7d1c")).await?;
/// dynamodb.list_tables().send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CrossAccountPool {
    shared: Arc<PoolShared>,
}

/// What every clone of a pool shares: its settings and its roles.
struct PoolShared {
    source: SdkConfig,
    time: SharedTimeSource,
    sleep: Option<SharedAsyncSleep>,
    max_roles: usize,
    idle_timeout: Duration,
    refresh_policy: RefreshPolicy,
    /// A meaningless builder setting: every call that asks for a role returns it.
    config_error: Option<Error>,
    roles: Mutex<PooledRoles>,
}

#[derive(Default)]
struct PooledRoles {
    by_spec: HashMap<RoleSpec, PooledRole>,
    sweeper_running: bool,
}

struct PooledRole {
    credentials: AssumedRoleCredentials,
    last_used: SystemTime,
}

impl fmt::Debug for CrossAccountPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossAccountPool")
            .field("roles", &self.len())
            .field("max_roles", &self.shared.max_roles)
            .field("idle_timeout", &self.shared.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl CrossAccountPool {
    /// Starts a builder.
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().max_roles(8).build();
    /// assert!(pool.is_empty());
    /// ```
    pub fn builder() -> CrossAccountPoolBuilder {
        CrossAccountPoolBuilder {
            source: None,
            max_roles: 64,
            idle_timeout: Duration::from_secs(15 * 60),
            refresh_policy: RefreshPolicy::default(),
        }
    }

    /// The role's credentials, assumed on first use (every concurrent caller waits on the one
    /// AssumeRole) and refreshed in the background from then on.
    ///
    /// ```no_run
    /// # async fn f(pool: cross_account_dynamodb::CrossAccountPool) -> Result<(), cross_account_dynamodb::Error> {
    /// use cross_account_dynamodb::RoleSpec;
    /// let creds = pool.credentials(RoleSpec::new("arn:aws:iam::111111111111:role/Reader")).await?;
    /// println!("{:?}", creds.status());
    /// # Ok(()) }
    /// ```
    pub async fn credentials(&self, spec: RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        let creds = self.provider_for(spec)?;
        self.start_sweeper();
        creds.credentials().await?;
        Ok(creds)
    }

    /// A DynamoDB client for the role (see [`AssumedRoleCredentials::dynamodb`]).
    ///
    /// ```no_run
    /// # async fn f(pool: cross_account_dynamodb::CrossAccountPool) -> Result<(), Box<dyn std::error::Error>> {
    /// use cross_account_dynamodb::RoleSpec;
    /// let ddb = pool.dynamodb(RoleSpec::new("arn:aws:iam::111111111111:role/Reader")).await?;
    /// ddb.list_tables().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn dynamodb(&self, spec: RoleSpec) -> Result<aws_sdk_dynamodb::Client, Error> {
        Ok(self.credentials(spec).await?.dynamodb())
    }

    /// An `SdkConfig` for the role (see [`AssumedRoleCredentials::sdk_config`]).
    ///
    /// ```no_run
    /// # async fn f(pool: cross_account_dynamodb::CrossAccountPool) -> Result<(), cross_account_dynamodb::Error> {
    /// use cross_account_dynamodb::RoleSpec;
    /// let config = pool.sdk_config(RoleSpec::new("arn:aws:iam::111111111111:role/Reader")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn sdk_config(&self, spec: RoleSpec) -> Result<SdkConfig, Error> {
        Ok(self.credentials(spec).await?.sdk_config())
    }

    /// How many roles the pool holds now.
    pub fn len(&self) -> usize {
        self.lock_roles().by_spec.len()
    }

    /// Whether the pool holds no role.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock_roles(&self) -> std::sync::MutexGuard<'_, PooledRoles> {
        self.shared.roles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pooled provider for `spec`, made (without I/O) if missing. Drops idle roles and
    /// enforces the bound on the way.
    fn provider_for(&self, spec: RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        if let Some(e) = &self.shared.config_error {
            return Err(e.clone());
        }
        let now = self.shared.time.now();
        let mut roles = self.lock_roles();
        drop_idle(&mut roles, now, self.shared.idle_timeout);
        if let Some(pooled) = roles.by_spec.get_mut(&spec) {
            pooled.last_used = now;
            return Ok(pooled.credentials.clone());
        }
        let credentials = spec
            .credentials_builder()
            .configure(&self.shared.source)
            .refresh_policy(self.shared.refresh_policy.clone())
            .build_deferred()?;
        while roles.by_spec.len() >= self.shared.max_roles {
            let lru = roles
                .by_spec
                .iter()
                .min_by_key(|(_, pooled)| pooled.last_used)
                .map(|(k, _)| k.clone());
            match lru {
                Some(k) => {
                    tracing::debug!(role_arn = %k.0.role_arn, "pool full: dropping the least recently used role");
                    roles.by_spec.remove(&k);
                }
                None => break,
            }
        }
        roles.by_spec.insert(
            spec,
            PooledRole {
                credentials: credentials.clone(),
                last_used: now,
            },
        );
        Ok(credentials)
    }

    /// Drops idle roles even when nobody calls the pool (so idle roles stop refreshing).
    fn start_sweeper(&self) {
        let Some(sleep) = self.shared.sleep.clone() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut roles = self.lock_roles();
            if roles.sweeper_running {
                return;
            }
            roles.sweeper_running = true;
        }
        let weak = Arc::downgrade(&self.shared);
        // Idle roles are also dropped whenever the pool is asked for a role; this task only
        // bounds how long an unused pool keeps refreshing them.
        let every = (self.shared.idle_timeout / 2)
            .max(Duration::from_secs(1))
            .min(MAX_SLEEP);
        handle.spawn(sweeper(weak, sleep, every));
    }
}

/// Drops the roles not asked for in more than `idle_timeout`.
fn drop_idle(roles: &mut PooledRoles, now: SystemTime, idle_timeout: Duration) {
    roles.by_spec.retain(|spec, pooled| {
        let keep = now
            .duration_since(pooled.last_used)
            .map_or(true, |idle| idle <= idle_timeout);
        if !keep {
            tracing::debug!(role_arn = %spec.0.role_arn, "dropping idle role from the pool");
        }
        keep
    });
}

/// Clears `sweeper_running` when the sweeper ends, including when its runtime drops it, so
/// the next use of the pool starts another.
struct SweeperGuard(Weak<PoolShared>);

impl Drop for SweeperGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            shared
                .roles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .sweeper_running = false;
        }
    }
}

/// Ends at most `every` after the pool is dropped (it holds only a `Weak`).
async fn sweeper(weak: Weak<PoolShared>, sleep: SharedAsyncSleep, every: Duration) {
    let _guard = SweeperGuard(weak.clone());
    loop {
        sleep.sleep(every).await;
        let Some(shared) = weak.upgrade() else { return };
        let now = shared.time.now();
        let mut roles = shared.roles.lock().unwrap_or_else(|e| e.into_inner());
        drop_idle(&mut roles, now, shared.idle_timeout);
    }
}
