//! [`CrossAccountPool`]: one source identity, many target roles (accounts), each assumed lazily
//! and refreshed ahead of expiry, at SaaS scale (10,000 roles in one process).
//!
//! One module per concern: `roles` (the sharded map, eviction, re-adoption), `dispatch` (the one
//! scheduler task: refresh queue, token dispenser, idle sweep), `limiter` (the AssumeRole token
//! bucket and its priority order), `stats` (what the pool reports).

pub(crate) mod dispatch;
pub(crate) mod limiter;
mod roles;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_smithy_async::rt::sleep::{default_async_sleep, AsyncSleep, SharedAsyncSleep, Sleep};

use self::dispatch::{Dispatch, Sweep};
use self::roles::{millis, Roles};
pub use self::stats::PoolStats;
use crate::credentials::{
    no_region, no_sleep, no_source, role_option_setters, services_config, sts_client, Driver,
    RefreshEnv, Refresher, RoleOptions, SharedOptions, StsCaller, StsClientSettings, MAX_SLEEP,
};
use crate::{
    AssumedRoleCredentials, AssumedRoleCredentialsBuilder, CredentialsStatus, Error, RefreshPolicy,
};

/// A role to assume through a [`CrossAccountPool`], with the per-role options of
/// [`AssumedRoleCredentialsBuilder`] (the same setters, with the same meaning: `region` is the
/// Region whose STS issues the credentials). Two specs that differ in any option are two pool
/// entries.
///
/// ```
/// use std::time::Duration;
/// use cross_account_dynamodb::RoleSpec;
///
/// let spec = RoleSpec::new("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
///     .external_id("7d1c-shared-with-account-a")
///     .session_name("orders-api")
///     .region("eu-south-1")
///     .duration(Duration::from_secs(3600));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct RoleSpec(SharedOptions);

impl fmt::Debug for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RoleSpec").field(&self.0).finish()
    }
}

impl RoleSpec {
    /// A role ARN with no other options.
    pub fn new(role_arn: impl Into<String>) -> Self {
        RoleSpec(SharedOptions::new(RoleOptions {
            role_arn: role_arn.into(),
            ..RoleOptions::default()
        }))
    }

    role_option_setters!(0);

    /// The role ARN.
    pub fn role_arn(&self) -> &str {
        &self.0.role_arn
    }

    fn credentials_builder(&self) -> AssumedRoleCredentialsBuilder {
        AssumedRoleCredentialsBuilder::from_options(self.0.clone())
    }

    /// The Region whose STS issues this role's credentials, if the spec names one.
    fn sts_region(&self) -> Option<&Region> {
        self.0.region.as_ref()
    }
}

/// The default bound on roles held.
const DEFAULT_MAX_ROLES: usize = 10_000;

/// The default AssumeRole budget, calls per second for the whole pool: a sixth of STS's
/// documented 600 per second per account and Region, which every caller in the account shares.
const DEFAULT_STS_RATE_LIMIT: f64 = 100.0;

/// Builds a [`CrossAccountPool`]. Made by [`CrossAccountPool::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CrossAccountPoolBuilder {
    source: Option<SdkConfig>,
    max_roles: usize,
    idle_timeout: Duration,
    refresh_policy: RefreshPolicy,
    sts_rate_limit: f64,
    sts_endpoint_url: Option<String>,
}

impl CrossAccountPoolBuilder {
    /// The source (account B) configuration every role is assumed from; see
    /// [`AssumedRoleCredentialsBuilder::configure`]. Its Region is the STS Region of roles whose
    /// [`RoleSpec`] names none, and the Region of every client the pool hands out.
    ///
    /// ```no_run
    /// # async fn f() {
    /// let source = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().configure(&source).build();
    /// # }
    /// ```
    pub fn configure(mut self, config: &SdkConfig) -> Self {
        self.source = Some(config.clone());
        self
    }

    /// At most this many roles are kept (default 10,000; a role costs about 3 KiB). At the
    /// bound, asking for a new role drops the least recently used one from the pool: clients
    /// already handed out for it keep working and refreshing, and asking for that role again
    /// re-adopts the same provider while a client holds it. Zero is an error, returned by every
    /// call that asks the pool for a role.
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().max_roles(20_000).build();
    /// ```
    pub fn max_roles(mut self, max_roles: usize) -> Self {
        self.max_roles = max_roles;
        self
    }

    /// A role not asked for in this long is dropped from the pool (default 15 minutes), so it
    /// stops refreshing unless a client still holds it. The pool's scheduler sweeps every half
    /// of this (at least every second). Zero is an error, returned by every call that asks the
    /// pool for a role.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder()
    ///     .idle_timeout(Duration::from_secs(3600))
    ///     .build();
    /// ```
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// The refresh policy of every role in the pool. A meaningless setting in it is an error,
    /// returned by every call that asks for a role.
    ///
    /// ```
    /// use cross_account_dynamodb::{CrossAccountPool, RefreshPolicy};
    /// let pool = CrossAccountPool::builder().refresh_policy(RefreshPolicy::default().jitter(0.5)).build();
    /// ```
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh_policy = policy;
        self
    }

    /// AssumeRole calls per second for the whole pool, all Regions together (default 100, a
    /// sixth of STS's 600 per second per account and Region, which every caller in the account
    /// shares): a hard bound, no one-second window sees more (a token bucket with a burst of at
    /// most 10 calls, under a sliding window). Every STS request takes a token, retries
    /// included (the pool's STS clients do not retry on their own; the pool does). When tokens are short, refreshes near the end of their credentials' validity
    /// go first, then first fetches with callers waiting, then other refreshes, earliest expiry
    /// first; a refresh that waits keeps serving its valid credentials. Waiting for a token
    /// does not count toward the load timeout, which bounds each STS call. A `Throttling`
    /// answer halves the rate (it climbs back over 30 s) and retries with jitter. Not finite or
    /// not above zero is an error, returned by every call that asks for a role.
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().sts_rate_limit(200.0).build();
    /// ```
    pub fn sts_rate_limit(mut self, calls_per_second: f64) -> Self {
        self.sts_rate_limit = calls_per_second;
        self
    }

    /// The STS endpoint for every role (an STS interface VPC endpoint, say), winning over the
    /// roles' Regions; see [`AssumedRoleCredentialsBuilder::sts_endpoint_url`]. An
    /// `AWS_ENDPOINT_URL_STS` in the source `SdkConfig` wins the same way.
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder()
    ///     .sts_endpoint_url("https://vpce-0123.sts.eu-west-1.vpce.amazonaws.com")
    ///     .build();
    /// ```
    pub fn sts_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint_url = Some(url.into());
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
        let mut config_error = self.validate().err();
        let source = self.source.unwrap_or_else(|| SdkConfig::builder().build());
        let time = source.time_source().unwrap_or_default();
        let sleep = match source.sleep_impl().or_else(default_async_sleep) {
            Some(sleep) => sleep,
            None => {
                config_error = config_error.or_else(|| Some(no_sleep()));
                SharedAsyncSleep::new(NeverSleep)
            }
        };
        let sweep_every = (self.idle_timeout / 2)
            .max(Duration::from_secs(1))
            .min(MAX_SLEEP);
        let rate = if config_error.is_none() {
            self.sts_rate_limit
        } else {
            DEFAULT_STS_RATE_LIMIT
        };
        let dispatch = Arc::new(Dispatch::new(
            time.clone(),
            sleep.clone(),
            rate,
            sweep_every,
        ));
        let env = Arc::new(RefreshEnv {
            services: services_config(&source, &time, &sleep, None),
            policy: self.refresh_policy,
            sleep,
            callbacks: Vec::new(),
        });
        let shared = Arc::new(PoolShared {
            source,
            env,
            dispatch,
            roles: Roles::new(),
            sts_clients: Mutex::new(HashMap::new()),
            sts_endpoint_url: self.sts_endpoint_url,
            max_roles: self.max_roles,
            idle_timeout: self.idle_timeout,
            config_error,
        });
        let sweeper: Weak<dyn Sweep> = Arc::downgrade(&shared) as Weak<PoolShared>;
        shared.dispatch.set_sweeper(sweeper);
        CrossAccountPool { shared }
    }

    /// The first meaningless setting, as an error that names its setter.
    fn validate(&self) -> Result<(), Error> {
        if self.max_roles == 0 {
            return Err(Error::invalid_input(
                "CrossAccountPoolBuilder::max_roles",
                "it is zero, so the pool could hold no role; give how many roles to keep \
                 (default 10,000)",
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(Error::invalid_input(
                "CrossAccountPoolBuilder::idle_timeout",
                "it is zero, so every role would be dropped, and assumed anew, at each call; \
                 give how long an unused role is kept (default 15 minutes)",
            ));
        }
        if !(self.sts_rate_limit.is_finite() && self.sts_rate_limit > 0.0) {
            return Err(Error::invalid_input(
                "CrossAccountPoolBuilder::sts_rate_limit",
                format!(
                    "it is {}, which allows no AssumeRole call; give calls per second above \
                     zero (default 100, STS allows about 600 per account and Region)",
                    self.sts_rate_limit
                ),
            ));
        }
        self.refresh_policy.validate()
    }
}

/// Stands in for the sleep when none is available; never used, since the pool then reports
/// that as an error from every call.
#[derive(Debug)]
struct NeverSleep;

impl AsyncSleep for NeverSleep {
    fn sleep(&self, _duration: Duration) -> Sleep {
        Sleep::new(std::future::pending())
    }
}

/// Credentials and clients for many target roles from one source identity, at SaaS scale:
/// each role assumed lazily (once, however many callers ask at the same time) and refreshed
/// ahead of expiry by one scheduler for the whole pool, every AssumeRole call within the
/// pool's [budget](CrossAccountPoolBuilder::sts_rate_limit), one STS client per Region shared
/// by all roles, bounded by [`max_roles`](CrossAccountPoolBuilder::max_roles) and dropped after
/// [`idle_timeout`](CrossAccountPoolBuilder::idle_timeout). A role costs its credentials and a
/// small fixed record (no task, STS client or config copy of its own). One account's denial or
/// outage never delays another's. Cheap to clone.
///
/// ```no_run
/// use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
///
/// # async fn f(tenant_role_arn: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let source = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let pool = CrossAccountPool::builder()
///     .configure(&source)
///     .max_roles(20_000)
///     .sts_rate_limit(200.0)
///     .build();
/// let dynamodb = pool.dynamodb(RoleSpec::new(tenant_role_arn).external_id("7d1c")).await?;
/// dynamodb.list_tables().send().await?;
/// println!("{:?}", pool.stats());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CrossAccountPool {
    shared: Arc<PoolShared>,
}

/// What every clone of a pool shares: its settings, its roles, its scheduler.
struct PoolShared {
    source: SdkConfig,
    /// Shared by every role: the services config, policy and sleep.
    env: Arc<RefreshEnv>,
    dispatch: Arc<Dispatch>,
    roles: Roles,
    /// One STS client per Region, shared by every role that uses the Region.
    sts_clients: Mutex<HashMap<Region, aws_sdk_sts::Client>>,
    sts_endpoint_url: Option<String>,
    max_roles: usize,
    idle_timeout: Duration,
    /// A meaningless builder setting: every call that asks for a role returns it.
    config_error: Option<Error>,
}

impl Sweep for PoolShared {
    fn sweep(&self, now: SystemTime) {
        self.roles.sweep(now, self.idle_timeout);
    }
}

impl PoolShared {
    /// A new pooled role: validated parameters, the Region's shared STS client, the pool's
    /// environment and scheduler.
    fn new_role(&self, spec: &RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        let params = spec.credentials_builder().params()?;
        let client = self.sts_client(spec.sts_region())?;
        let refresher = Refresher::new(
            StsCaller::new(client, params),
            self.env.clone(),
            self.dispatch.time.clone(),
            Driver::Pool(self.dispatch.clone()),
        );
        Ok(AssumedRoleCredentials::from_refresher(refresher))
    }

    /// The STS client for a role's Region (the source's when the role names none).
    fn sts_client(&self, region: Option<&Region>) -> Result<aws_sdk_sts::Client, Error> {
        let region = region
            .or_else(|| self.source.region())
            .cloned()
            .ok_or_else(no_region)?;
        let mut clients = self.sts_clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&region) {
            return Ok(client.clone());
        }
        let source = self.source.credentials_provider().ok_or_else(no_source)?;
        let client = sts_client(StsClientSettings {
            services: &self.env.services,
            source,
            region: region.clone(),
            endpoint_url: self.sts_endpoint_url.as_deref(),
            load_timeout: self.env.policy.load_timeout_value(),
            retries: false,
        });
        clients.insert(region, client.clone());
        Ok(client)
    }
}

impl fmt::Debug for CrossAccountPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossAccountPool")
            .field("roles", &self.len())
            .field("max_roles", &self.shared.max_roles)
            .field("idle_timeout", &self.shared.idle_timeout)
            .field("sts_rate_limit", &self.shared.dispatch.rate())
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
            max_roles: DEFAULT_MAX_ROLES,
            idle_timeout: Duration::from_secs(15 * 60),
            refresh_policy: RefreshPolicy::default(),
            sts_rate_limit: DEFAULT_STS_RATE_LIMIT,
            sts_endpoint_url: None,
        }
    }

    /// The role's credentials, assumed on first use (every concurrent caller waits on the one
    /// AssumeRole, which waits for the pool's budget first) and refreshed ahead of expiry from
    /// then on. Once assumed, a get is a shard read lock and a cache load.
    ///
    /// ```no_run
    /// # async fn f(pool: cross_account_dynamodb::CrossAccountPool) -> Result<(), cross_account_dynamodb::Error> {
    /// use cross_account_dynamodb::RoleSpec;
    /// let creds = pool
    ///     .credentials(RoleSpec::new("arn:aws:iam::111111111111:role/Reader").region("eu-south-1"))
    ///     .await?;
    /// println!("{:?}", creds.status());
    /// # Ok(()) }
    /// ```
    pub async fn credentials(&self, spec: RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        let creds = self.provider_for(spec)?;
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

    /// How many roles the pool holds now (roles dropped from it that clients still hold are
    /// not counted).
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().build();
    /// assert_eq!(pool.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.roles.len()
    }

    /// Whether the pool holds no role.
    ///
    /// ```
    /// assert!(cross_account_dynamodb::CrossAccountPool::builder().build().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The role's status (expiry, failures, last error, next refresh), without touching STS;
    /// `None` when the pool has no provider for it (never asked for, or dropped and no client
    /// holds it).
    ///
    /// ```no_run
    /// # fn f(pool: cross_account_dynamodb::CrossAccountPool) {
    /// use cross_account_dynamodb::RoleSpec;
    /// if let Some(s) = pool.status(&RoleSpec::new("arn:aws:iam::111111111111:role/Reader")) {
    ///     println!("expires {:?}, {} failures, last error {:?}", s.expiry, s.consecutive_failures, s.last_error);
    /// }
    /// # }
    /// ```
    pub fn status(&self, spec: &RoleSpec) -> Option<CredentialsStatus> {
        self.shared.roles.status(spec)
    }

    /// The status of every role the pool holds, without touching STS.
    ///
    /// ```no_run
    /// # fn f(pool: cross_account_dynamodb::CrossAccountPool) {
    /// let failing = pool.statuses().into_iter().filter(|s| s.consecutive_failures > 0).count();
    /// println!("{failing} roles failing to refresh");
    /// # }
    /// ```
    pub fn statuses(&self) -> Vec<CredentialsStatus> {
        self.shared.roles.statuses()
    }

    /// The pool's counters: roles held, AssumeRole calls pending, calls that waited for a
    /// token, STS requests, Throttling answers, the rate now.
    ///
    /// ```
    /// let pool = cross_account_dynamodb::CrossAccountPool::builder().build();
    /// let stats = pool.stats();
    /// assert_eq!((stats.roles, stats.sts_calls), (0, 0));
    /// ```
    pub fn stats(&self) -> PoolStats {
        let d = &self.shared.dispatch;
        PoolStats::read(self.len(), &d.counters, d.rate())
    }

    /// The pooled provider for `spec`, made (without I/O) if missing.
    fn provider_for(&self, spec: RoleSpec) -> Result<AssumedRoleCredentials, Error> {
        if let Some(e) = &self.shared.config_error {
            return Err(e.clone());
        }
        let shared = &self.shared;
        let now = millis(shared.dispatch.time.now());
        if let Some(creds) = shared.roles.get(&spec, now) {
            return Ok(creds);
        }
        let creds = shared
            .roles
            .get_or_insert(spec, now, shared.max_roles, |spec| shared.new_role(spec))?;
        shared.dispatch.ensure_running();
        Ok(creds)
    }
}
