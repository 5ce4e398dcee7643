//! [`CrossAccountPool`]: one source identity, many target roles (accounts), each assumed lazily
//! and refreshed on its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_async::rt::sleep::{default_async_sleep, AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;

use crate::credentials::{role_option_setters, RoleOptions};
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

    fn builder(&self) -> AssumedRoleCredentialsBuilder {
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

    /// At most this many roles are kept (default 64, at least 1). At the bound, asking for a
    /// new role drops the least recently used one from the pool: clients already handed out
    /// for it keep working and refreshing; asking for that role again assumes it anew.
    pub fn max_roles(mut self, max_roles: usize) -> Self {
        self.max_roles = max_roles.max(1);
        self
    }

    /// A role not asked for in this long is dropped from the pool (default 15 minutes), so it
    /// stops refreshing unless a client still holds it.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// The refresh policy of every role in the pool.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh_policy = policy;
        self
    }

    /// The pool. No I/O: roles are assumed when first asked for.
    pub fn build(self) -> CrossAccountPool {
        let source = self.source.unwrap_or_else(|| SdkConfig::builder().build());
        let time = source.time_source().unwrap_or_default();
        let sleep = source.sleep_impl().or_else(default_async_sleep);
        CrossAccountPool {
            inner: Arc::new(PoolInner {
                source,
                time,
                sleep,
                max_roles: self.max_roles,
                idle_timeout: self.idle_timeout,
                refresh_policy: self.refresh_policy,
                entries: Mutex::new(Entries::default()),
            }),
        }
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
    inner: Arc<PoolInner>,
}

struct PoolInner {
    source: SdkConfig,
    time: SharedTimeSource,
    sleep: Option<SharedAsyncSleep>,
    max_roles: usize,
    idle_timeout: Duration,
    refresh_policy: RefreshPolicy,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    roles: HashMap<RoleSpec, Entry>,
    sweeper_running: bool,
}

struct Entry {
    creds: AssumedRoleCredentials,
    last_used: SystemTime,
}

impl fmt::Debug for CrossAccountPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossAccountPool")
            .field("roles", &self.len())
            .field("max_roles", &self.inner.max_roles)
            .field("idle_timeout", &self.inner.idle_timeout)
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
        let creds = self.entry(spec)?;
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
        self.lock().roles.len()
    }

    /// Whether the pool holds no role.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pooled provider for `spec`, made (without I/O) if missing. Sweeps idle entries and
    /// enforces the bound on the way.
    fn entry(&self, spec: RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        let now = self.inner.time.now();
        let mut entries = self.lock();
        sweep(&mut entries, now, self.inner.idle_timeout);
        if let Some(entry) = entries.roles.get_mut(&spec) {
            entry.last_used = now;
            return Ok(entry.creds.clone());
        }
        let creds = spec
            .builder()
            .configure(&self.inner.source)
            .refresh_policy(self.inner.refresh_policy.clone())
            .build_deferred()?;
        while entries.roles.len() >= self.inner.max_roles {
            let lru = entries
                .roles
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            match lru {
                Some(k) => {
                    tracing::debug!(role_arn = %k.0.role_arn, "pool full: dropping the least recently used role");
                    entries.roles.remove(&k);
                }
                None => break,
            }
        }
        entries.roles.insert(
            spec,
            Entry {
                creds: creds.clone(),
                last_used: now,
            },
        );
        Ok(creds)
    }

    /// Drops idle entries even when nobody calls the pool (so idle roles stop refreshing).
    fn start_sweeper(&self) {
        let Some(sleep) = self.inner.sleep.clone() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut entries = self.lock();
            if entries.sweeper_running {
                return;
            }
            entries.sweeper_running = true;
        }
        let weak = Arc::downgrade(&self.inner);
        let every = (self.inner.idle_timeout / 2).max(Duration::from_secs(1));
        handle.spawn(sweeper(weak, sleep, every));
    }
}

fn sweep(entries: &mut Entries, now: SystemTime, idle_timeout: Duration) {
    entries.roles.retain(|spec, e| {
        let keep = now
            .duration_since(e.last_used)
            .map_or(true, |idle| idle <= idle_timeout);
        if !keep {
            tracing::debug!(role_arn = %spec.0.role_arn, "dropping idle role from the pool");
        }
        keep
    });
}

/// Clears `sweeper_running` when the sweeper ends, including when its runtime drops it, so
/// the next use of the pool starts another.
struct SweeperGuard(Weak<PoolInner>);

impl Drop for SweeperGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner
                .entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .sweeper_running = false;
        }
    }
}

/// Ends at most `every` after the pool is dropped (it holds only a `Weak`).
async fn sweeper(weak: Weak<PoolInner>, sleep: SharedAsyncSleep, every: Duration) {
    let _guard = SweeperGuard(weak.clone());
    loop {
        sleep.sleep(every).await;
        let Some(inner) = weak.upgrade() else { return };
        let now = inner.time.now();
        let mut entries = inner.entries.lock().unwrap_or_else(|e| e.into_inner());
        sweep(&mut entries, now, inner.idle_timeout);
    }
}
