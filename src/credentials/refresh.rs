//! The refresh engine: cached credentials behind an `ArcSwap`, one AssumeRole in flight at a
//! time (its result, success or failure, shared by every waiter), and the background task that
//! refreshes ahead of expiry.
//!
//! Locking: the read path takes no lock. `state` is a `std` mutex held only for bookkeeping,
//! never across an `.await`. A flight (one AssumeRole call, bounded by the load timeout, and the
//! installation of its outcome) is a `futures::Shared` future that any waiter may drive, so each
//! waiter gets the outcome of the flight it joined. It captures the STS caller and only a `Weak`
//! of `Refresher`, and the background task holds no strong reference while it waits on it, so a
//! hung call cannot keep the provider alive. A flight older than the load timeout is abandoned:
//! the next waiter starts a new one.
//!
//! Two drivers: a standalone provider has its own background task (`Driver::Task`); a pooled
//! role is driven by its pool's one scheduler (`Driver::Pool`), which queues it by its next
//! wake-up time, and its AssumeRole calls wait for a token of the pool's budget first (that
//! wait is not bounded by the load timeout, which bounds each STS call).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_runtime_api::client::identity::Identity;
use futures_util::future::{self, BoxFuture, Either, FutureExt, Shared};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use super::policy::{add_sat, RefreshPolicy, Schedule, MAX_SLEEP};
use super::status::{CredentialsStatus, RefreshEvent, Rotation};
use super::sts::{Attempt, StsCaller, StsCredentials};
use crate::error::{fmt_time, Error, ErrorKind};
use crate::pool::dispatch::{Dispatch, Pending};
use crate::pool::limiter::Priority;
use crate::telemetry::credentials as telemetry;

/// Never schedule two proactive refreshes closer than this, whatever STS returns.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(1);

/// A pooled role's STS attempts per flight when STS answers `Throttling` (the pool's STS clients
/// do not retry: every attempt goes through the pool's budget).
const MAX_THROTTLED_ATTEMPTS: u32 = 8;

/// A pooled role's STS attempts per flight for other transient failures (the SDK's standard
/// retry mode makes three).
const MAX_TRANSIENT_ATTEMPTS: u32 = 3;

/// The longest backoff between a pooled role's attempts within one flight.
const MAX_ATTEMPT_BACKOFF: Duration = Duration::from_secs(20);

pub(crate) type RefreshCallback = Arc<dyn Fn(&RefreshEvent) + Send + Sync>;

/// One AssumeRole call and the installation of its outcome, shared by every waiter.
type AssumeRoleFlight = Shared<BoxFuture<'static, Result<Arc<CachedCredentials>, Error>>>;

/// What `join` hands a waiter.
enum Joined {
    /// An answer without waiting (only for `Trigger::Caller`).
    Ready(Result<Arc<CachedCredentials>, Error>),
    /// The flight to wait on.
    Flight(AssumeRoleFlight),
}

/// The credentials being served.
pub(crate) struct CachedCredentials {
    pub(crate) credentials: Credentials,
    /// The same credentials as the SDK's `Identity`, built once per generation so that a
    /// request's identity resolution is an `Arc` clone.
    pub(crate) identity: Identity,
    pub(crate) expiry: SystemTime,
    pub(crate) schedule: Schedule,
    pub(crate) generation: u64,
    /// A service rejected these credentials (`invalidate`): never serve them again.
    pub(crate) rejected: AtomicBool,
}

impl CachedCredentials {
    /// Whether these may be served at `now` (the injected wall clock). There is deliberately no
    /// clock-free shortcut: a flag kept by a task on a monotonic timer outlives validity when
    /// the monotonic clock stops while the wall clock moves (suspend, a frozen Lambda).
    #[inline]
    pub(crate) fn servable_at(&self, now: SystemTime) -> bool {
        now < self.schedule.valid_until && !self.rejected.load(Ordering::Acquire)
    }
}

/// Why a refresh is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A caller has nothing valid: honour a recent failure instead of calling STS again.
    Caller,
    /// `refresh_now` (or the first fetch): call STS (or join the call in flight).
    Forced,
    /// The background schedule: as `Forced`, but its span is a root span.
    Scheduled,
}

struct RefreshState {
    flight: Option<(u64, AssumeRoleFlight, SystemTime)>,
    next_flight_id: u64,
    /// When the background task should next call STS (`None`: nothing fetched yet).
    next_attempt: Option<SystemTime>,
    generation: u64,
    last_refresh: Option<SystemTime>,
    consecutive_failures: u32,
    last_error: Option<(SystemTime, Error)>,
    /// Callers with nothing valid get `last_error` at once until then.
    error_until: Option<SystemTime>,
    /// Pooled roles: the earliest time this role is queued at in the pool's scheduler.
    queued: Option<SystemTime>,
    rng: fastrand::Rng,
}

/// What a provider's roles share: a standalone provider has its own, every role of a pool
/// shares the pool's (no per-role config copy).
pub(crate) struct RefreshEnv {
    /// What service clients are built from: the source `SdkConfig`'s region and settings
    /// (not STS-only overrides), with the provider's clock and sleep.
    pub(crate) services: SdkConfig,
    pub(crate) policy: RefreshPolicy,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) callbacks: Vec<RefreshCallback>,
}

/// What refreshes a role ahead of expiry.
pub(crate) enum Driver {
    /// Its own background task.
    Task {
        /// Wakes the task: a new schedule, an invalidation, or the `Refresher` dropping.
        wake: Arc<Notify>,
        running: Arc<AtomicBool>,
    },
    /// Its pool's scheduler, which also rations its AssumeRole calls.
    Pool(Arc<Dispatch>),
}

impl Driver {
    /// A driver of its own (a standalone provider).
    pub(crate) fn task() -> Self {
        Driver::Task {
            wake: Arc::new(Notify::new()),
            running: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What every clone of an `AssumedRoleCredentials` shares: the credentials being served, the STS
/// caller, the refresh bookkeeping, and what drives its refreshes.
pub(crate) struct Refresher {
    pub(crate) sts: Arc<StsCaller>,
    env: Arc<RefreshEnv>,
    pub(crate) time: SharedTimeSource,
    pub(crate) current: ArcSwapOption<CachedCredentials>,
    state: Mutex<RefreshState>,
    driver: Driver,
    /// This `Refresher`, for the pool's queue and the flights (never a strong reference).
    me: Weak<Refresher>,
    /// Made on the first `subscribe` (most pooled roles never have a subscriber).
    rotations: OnceLock<watch::Sender<Rotation>>,
    /// In the per-role gauges' registry (`telemetry::register`, at the first flight).
    telemetry_registered: AtomicBool,
}

impl Drop for Refresher {
    fn drop(&mut self) {
        // The task holds only a `Weak`; wake it so it sees the provider is gone and exits. (A
        // pool's queue holds `Weak`s too, which it skips once they are gone.)
        if let Driver::Task { wake, .. } = &self.driver {
            wake.notify_one();
        }
    }
}

impl Refresher {
    pub(crate) fn new(
        sts: StsCaller,
        env: Arc<RefreshEnv>,
        time: SharedTimeSource,
        driver: Driver,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Refresher {
            sts: Arc::new(sts),
            env,
            time,
            current: ArcSwapOption::empty(),
            state: Mutex::new(RefreshState {
                flight: None,
                next_flight_id: 0,
                next_attempt: None,
                generation: 0,
                last_refresh: None,
                consecutive_failures: 0,
                last_error: None,
                error_until: None,
                queued: None,
                rng: fastrand::Rng::new(),
            }),
            driver,
            me: me.clone(),
            rotations: OnceLock::new(),
            telemetry_registered: AtomicBool::new(false),
        })
    }

    /// The `SdkConfig` service clients are built from.
    pub(crate) fn services(&self) -> &SdkConfig {
        &self.env.services
    }

    pub(crate) fn policy(&self) -> &RefreshPolicy {
        &self.env.policy
    }

    fn is_pooled(&self) -> bool {
        matches!(self.driver, Driver::Pool(_))
    }

    fn state(&self) -> MutexGuard<'_, RefreshState> {
        // A panic while holding this lock can only come from a user callback, which runs
        // outside it; recover the data rather than poisoning every later caller.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn role_arn(&self) -> &str {
        self.sts.role_arn()
    }

    /// Fresh credentials, waiting (bounded by the load timeout) on the shared refresh when
    /// nothing valid is cached. Callers that already checked the cache call this.
    pub(crate) async fn load(
        self: &Arc<Self>,
        trigger: Trigger,
    ) -> Result<Arc<CachedCredentials>, Error> {
        let timeout = self.policy().load_timeout_value();
        let outcome = if self.is_pooled() {
            // The flight bounds each STS attempt; waiting for the pool's token is not bounded.
            self.refresh(trigger).await
        } else {
            let refresh = std::pin::pin!(self.refresh(trigger));
            let expired = std::pin::pin!(self.env.sleep.sleep(timeout.min(MAX_SLEEP)));
            match future::select(refresh, expired).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right(((), _)) => Err(Error::timed_out(self.role_arn(), timeout)),
            }
        };
        match outcome {
            Err(e) if trigger == Trigger::Caller => Err(self.unavailable(e)),
            outcome => outcome,
        }
    }

    /// Joins the AssumeRole in flight or starts one, then returns its outcome.
    async fn refresh(self: &Arc<Self>, trigger: Trigger) -> Result<Arc<CachedCredentials>, Error> {
        match self.join(trigger) {
            Joined::Ready(outcome) => outcome,
            Joined::Flight(flight) => flight.await,
        }
    }

    /// The flight to wait on: the one in progress, or a new one if there is none or the one
    /// in progress is older than the load timeout (a hung STS call: abandoned). A `Caller`
    /// may instead get a result at once (credentials installed meanwhile, or a remembered
    /// failure).
    fn join(self: &Arc<Self>, trigger: Trigger) -> Joined {
        let now = self.time.now();
        let timeout = self.policy().load_timeout_value();
        let mut st = self.state();
        if let Some((id, flight, started)) = &st.flight {
            // A pooled flight always ends: each of its STS attempts is bounded, and its wait
            // for a token is not a hang.
            let stale = !self.is_pooled()
                && now
                    .duration_since(*started)
                    .is_ok_and(|elapsed| elapsed >= timeout);
            if !stale {
                return Joined::Flight(flight.clone());
            }
            tracing::warn!(
                role_arn = %self.role_arn(),
                flight = *id,
                started = %fmt_time(*started),
                ?timeout,
                "abandoning an AssumeRole call older than the load timeout"
            );
            st.flight = None;
        }
        if trigger == Trigger::Caller {
            // Another waiter may have installed credentials since our caller looked.
            if let Some(cached) = self.current.load_full() {
                if cached.servable_at(now) {
                    return Joined::Ready(Ok(cached));
                }
            }
            if let (Some((_, err)), Some(until)) = (&st.last_error, st.error_until) {
                if now < until {
                    return Joined::Ready(Err(err.clone()));
                }
            }
        }
        st.next_flight_id += 1;
        let id = st.next_flight_id;
        if !self.telemetry_registered.swap(true, Ordering::Relaxed) {
            telemetry::register(self);
        }
        let reason = match self.current.load().as_deref() {
            None => telemetry::RefreshReason::Initial,
            Some(c) if c.rejected.load(Ordering::Relaxed) => telemetry::RefreshReason::Invalidated,
            Some(_) => match trigger {
                Trigger::Caller => telemetry::RefreshReason::Expired,
                Trigger::Forced => telemetry::RefreshReason::Forced,
                Trigger::Scheduled => telemetry::RefreshReason::Scheduled,
            },
        };
        let span =
            telemetry::refresh_span(self.role_arn(), reason, id, trigger == Trigger::Scheduled);
        let sts = self.sts.clone();
        // Only a `Weak`: an abandoned flight must not keep the provider alive.
        let weak = self.me.clone();
        let flight = match &self.driver {
            Driver::Task { .. } => {
                let sleep = self.env.sleep.clone();
                async move {
                    let fetched = match timed(sts.fetch(), &sleep, timeout, sts.role_arn()).await {
                        Ok(fetched) => fetched,
                        Err(timed_out) => Err(timed_out),
                    };
                    finish(&weak, id, now, fetched, reason)
                }
                .instrument(span.clone())
                .boxed()
            }
            Driver::Pool(dispatch) => {
                let dispatch = dispatch.clone();
                async move {
                    let (fetched, started) = pooled_fetch(&dispatch, &sts, &weak, timeout).await;
                    finish(&weak, id, started, fetched, reason)
                }
                .instrument(span)
                .boxed()
            }
        }
        .shared();
        st.flight = Some((id, flight.clone(), now));
        drop(st);
        if self.is_pooled() {
            // Runs to its end whoever waits on it, so a caller that gives up does not stall the
            // role; the task lives as long as the AssumeRole call, not as long as the role.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(flight.clone().map(drop));
            }
        }
        tracing::debug!(role_arn = %self.role_arn(), ?trigger, flight = id, "refreshing credentials");
        Joined::Flight(flight)
    }

    /// The place a pooled role's AssumeRole takes in the queue for the pool's tokens.
    fn priority(&self, now: SystemTime) -> Priority {
        match self.current.load().as_ref().filter(|c| c.servable_at(now)) {
            // Urgent past the midpoint between the planned refresh and the end of validity.
            Some(c) => {
                let s = c.schedule;
                let half = s
                    .valid_until
                    .duration_since(s.refresh_at)
                    .unwrap_or_default()
                    / 2;
                Priority::Refresh {
                    urgent_from: add_sat(s.refresh_at, half),
                }
            }
            None => Priority::Waiting,
        }
    }

    /// Installs a finished flight's outcome. Runs once per flight, inside the shared future, so
    /// every waiter of that flight gets exactly this outcome.
    fn complete(
        &self,
        id: u64,
        started: SystemTime,
        fetched: Result<StsCredentials, Error>,
    ) -> Result<Arc<CachedCredentials>, Error> {
        let now = self.time.now();
        let mut st = self.state();
        let current = matches!(&st.flight, Some((fid, _, _)) if *fid == id);
        if current {
            st.flight = None;
        } else if let Err(error) = fetched {
            // Superseded (abandoned as hung): its waiters get its failure, but the newer
            // flight's outcome decides the schedule.
            tracing::debug!(
                role_arn = %self.role_arn(),
                flight = id,
                error = %error,
                "an abandoned AssumeRole call failed"
            );
            return Err(error);
        }
        let latency = now.duration_since(started).unwrap_or_default();
        let fetched = fetched.and_then(|f| {
            if f.expiry > now {
                Ok(f)
            } else {
                Err(Error::sts(
                    ErrorKind::StsRejected,
                    format!(
                        "STS returned credentials for role {} that expired at {}, before they \
                         arrived; check this host's clock",
                        self.role_arn(),
                        fmt_time(f.expiry)
                    ),
                    true,
                    "credentials already expired on arrival",
                ))
            }
        });
        let (outcome, event) = match fetched {
            Ok(f) => {
                let unit = st.rng.f64();
                let schedule = self.policy().schedule(now, f.expiry, unit);
                st.generation += 1;
                st.last_refresh = Some(now);
                st.consecutive_failures = 0;
                st.error_until = None;
                st.next_attempt = Some(schedule.refresh_at.max(add_sat(now, MIN_REFRESH_GAP)));
                let cached = Arc::new(CachedCredentials {
                    identity: Identity::from(f.credentials.clone()),
                    credentials: f.credentials,
                    expiry: f.expiry,
                    schedule,
                    generation: st.generation,
                    rejected: AtomicBool::new(false),
                });
                self.current.store(Some(cached.clone()));
                let rotation = Rotation {
                    generation: cached.generation,
                    access_key_id: cached.credentials.access_key_id().to_owned(),
                    expiry: cached.expiry,
                };
                tracing::info!(
                    role_arn = %self.role_arn(),
                    generation = rotation.generation,
                    access_key_id = %rotation.access_key_id,
                    expiry = %fmt_time(rotation.expiry),
                    refresh_at = %fmt_time(schedule.refresh_at),
                    latency_ms = latency.as_millis() as u64,
                    "refreshed credentials"
                );
                (Ok(cached), RefreshEvent::Refreshed { rotation, latency })
            }
            Err(error) => {
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                st.last_error = Some((now, error.clone()));
                let retryable = error.is_retryable();
                st.error_until = Some(add_sat(now, self.policy().error_ttl_for(retryable)));
                let valid = self.current.load_full().filter(|c| c.servable_at(now));
                let valid_until = valid.as_ref().map(|c| c.schedule.valid_until);
                let unit = st.rng.f64();
                let next_attempt = self.policy().retry_at(
                    now,
                    st.consecutive_failures,
                    retryable,
                    valid_until,
                    unit,
                );
                st.next_attempt = Some(next_attempt);
                tracing::warn!(
                    role_arn = %self.role_arn(),
                    error = %error,
                    cause = ?std::error::Error::source(&error).map(ToString::to_string),
                    consecutive_failures = st.consecutive_failures,
                    next_attempt = %fmt_time(next_attempt),
                    serving_cached = valid.is_some(),
                    "credential refresh failed"
                );
                let event = RefreshEvent::Failed {
                    error: error.clone(),
                    consecutive_failures: st.consecutive_failures,
                    next_attempt,
                    serving_cached: valid.is_some(),
                };
                (Err(error), event)
            }
        };
        drop(st);
        if let RefreshEvent::Refreshed { rotation, .. } = &event {
            if let Some(rotations) = self.rotations.get() {
                rotations.send_replace(rotation.clone());
            }
        }
        for callback in &self.env.callbacks {
            callback(&event);
        }
        self.reschedule();
        outcome
    }

    /// Tells the driver the schedule changed: wakes the task, or queues the role in its pool's
    /// scheduler at its next wake-up (unless it is queued that early already).
    fn reschedule(&self) {
        match &self.driver {
            Driver::Task { wake, .. } => wake.notify_one(),
            Driver::Pool(dispatch) => {
                let Some(at) = self.next_wake(self.time.now()) else {
                    return;
                };
                {
                    let mut st = self.state();
                    if st.queued.is_some_and(|queued| queued <= at) {
                        return;
                    }
                    st.queued = Some(at);
                }
                dispatch.schedule(at, self.me.clone());
            }
        }
    }

    /// The pool's scheduler reached this role's entry for `at`.
    pub(crate) fn on_scheduled(self: &Arc<Self>, at: SystemTime, now: SystemTime) {
        {
            let mut st = self.state();
            if st.queued != Some(at) {
                // Superseded by an earlier entry, which was handled.
                return;
            }
            st.queued = None;
        }
        if self.attempt_due(now) {
            // Starts the flight (or finds it running; it runs in a task of its own): its end
            // reschedules the role.
            drop(self.join(Trigger::Scheduled));
        } else {
            self.reschedule();
        }
    }

    /// The error a caller with nothing valid sees: the STS error itself before any credentials
    /// were served, or "expired" with the STS error as its source after.
    fn unavailable(&self, last: Error) -> Error {
        let now = self.time.now();
        match self.current.load_full() {
            Some(c) if now >= c.schedule.valid_until && !c.rejected.load(Ordering::Relaxed) => {
                Error::expired(self.role_arn(), c.expiry, Some(last))
            }
            _ => last,
        }
    }

    /// Marks the credentials with this access key id as rejected and schedules a refresh now.
    pub(crate) fn invalidate(&self, access_key_id: &str) -> bool {
        let Some(cached) = self.current.load_full() else {
            return false;
        };
        if cached.credentials.access_key_id() != access_key_id
            || cached.rejected.swap(true, Ordering::AcqRel)
        {
            return false;
        }
        tracing::info!(
            role_arn = %self.role_arn(),
            access_key_id,
            generation = cached.generation,
            "credentials rejected by a service; refreshing before serving again"
        );
        {
            // New information: an earlier failure no longer answers for the next attempt.
            let mut st = self.state();
            st.next_attempt = Some(self.time.now());
            st.error_until = None;
        }
        self.reschedule();
        true
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Rotation> {
        let rotations = self
            .rotations
            .get_or_init(|| watch::channel(Rotation::none()).0);
        // Credentials installed before the channel existed (or while it was being made) are
        // not sent by `complete`: bring the channel up to date here.
        rotations.send_if_modified(|latest| match self.current.load_full() {
            Some(c) if c.generation > latest.generation => {
                *latest = Rotation {
                    generation: c.generation,
                    access_key_id: c.credentials.access_key_id().to_owned(),
                    expiry: c.expiry,
                };
                true
            }
            _ => false,
        });
        rotations.subscribe()
    }

    pub(crate) fn status(&self) -> CredentialsStatus {
        let cached = self.current.load_full();
        let st = self.state();
        CredentialsStatus {
            role_arn: self.role_arn().to_owned(),
            access_key_id: cached
                .as_ref()
                .map(|c| c.credentials.access_key_id().to_owned()),
            expiry: cached.as_ref().map(|c| c.expiry),
            valid_until: cached.as_ref().map(|c| c.schedule.valid_until),
            next_refresh: st.next_attempt,
            last_refresh: st.last_refresh,
            refresh_count: st.generation.saturating_sub(1),
            generation: st.generation,
            consecutive_failures: st.consecutive_failures,
            last_error: st.last_error.clone(),
            invalidated: cached
                .as_ref()
                .is_some_and(|c| c.rejected.load(Ordering::Relaxed)),
            background_task_running: self.task_running(),
        }
    }

    /// Refresh failures since the last success (for the per-role gauge).
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.state().consecutive_failures
    }

    #[inline]
    pub(crate) fn task_running(&self) -> bool {
        match &self.driver {
            Driver::Task { running, .. } => running.load(Ordering::Acquire),
            Driver::Pool(dispatch) => dispatch.is_running(),
        }
    }

    /// Starts the background task (a pooled role: its pool's scheduler) on the current tokio
    /// runtime, unless it runs. Returns whether it runs afterwards.
    pub(crate) fn ensure_task(self: &Arc<Self>) -> bool {
        let (wake, running) = match &self.driver {
            Driver::Task { wake, running } => (wake, running),
            Driver::Pool(dispatch) => return dispatch.ensure_running(),
        };
        if running.load(Ordering::Acquire) {
            return true;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true;
        }
        let guard = TaskGuard(running.clone());
        handle.spawn(background_refresh(self.me.clone(), wake.clone(), guard));
        tracing::debug!(role_arn = %self.role_arn(), "background refresh task started");
        true
    }

    /// When the background task should act next: the next STS attempt, or the end of the
    /// current credentials' validity, whichever comes first.
    fn next_wake(&self, now: SystemTime) -> Option<SystemTime> {
        let next_attempt = self.state().next_attempt;
        let valid_until = self
            .current
            .load_full()
            .filter(|c| c.servable_at(now))
            .map(|c| c.schedule.valid_until);
        match (next_attempt, valid_until) {
            (Some(a), Some(v)) => Some(a.min(v)),
            (a, v) => a.or(v),
        }
    }

    fn attempt_due(&self, now: SystemTime) -> bool {
        self.state().next_attempt.is_some_and(|at| at <= now)
    }
}

/// Clears `task_running` when the task ends, including when its runtime drops it.
struct TaskGuard(Arc<AtomicBool>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What the background task does next, decided while it holds a strong reference.
enum Step {
    /// Wait for this flight (holding no strong reference meanwhile).
    Flight(AssumeRoleFlight),
    /// Sleep this long (`None`: until woken).
    Sleep(SharedAsyncSleep, Option<Duration>),
}

/// Refreshes ahead of expiry and retries failures on the backoff schedule, independent of
/// traffic. Holds only a `Weak`, also while it waits on STS, so it ends when the last provider
/// handle drops (`Refresher::drop` wakes it), even with an AssumeRole call hanging.
async fn background_refresh(weak: Weak<Refresher>, wake: Arc<Notify>, _guard: TaskGuard) {
    loop {
        // Register for wake-ups before reading the schedule, so none is missed in between.
        let notified = wake.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let step = {
            let Some(inner) = weak.upgrade() else { return };
            let now = inner.time.now();
            if inner.attempt_due(now) {
                match inner.join(Trigger::Scheduled) {
                    Joined::Flight(flight) => Step::Flight(flight),
                    Joined::Ready(_) => continue,
                }
            } else {
                let wake = inner.next_wake(now);
                Step::Sleep(
                    inner.env.sleep.clone(),
                    wake.map(|at| at.duration_since(now).unwrap_or_default().min(MAX_SLEEP)),
                )
            }
        };
        match step {
            // Woken first (a new schedule, an invalidation, the provider dropping): look again;
            // the same flight is joined again unless the provider is gone or it went stale.
            Step::Flight(flight) => {
                future::select(flight, notified).await;
            }
            Step::Sleep(sleep, Some(d)) => {
                let timer = std::pin::pin!(sleep.sleep(d));
                future::select(timer, notified).await;
            }
            Step::Sleep(_, None) => notified.await,
        }
    }
}

/// Hands a finished flight's outcome to its `Refresher`, if it is still there, and records it.
/// `started`: when the (last) STS call started.
fn finish(
    weak: &Weak<Refresher>,
    id: u64,
    started: SystemTime,
    fetched: Result<StsCredentials, Error>,
    reason: telemetry::RefreshReason,
) -> Result<Arc<CachedCredentials>, Error> {
    match weak.upgrade() {
        Some(refresher) => {
            let outcome = refresher.complete(id, started, fetched);
            let latency = refresher
                .time
                .now()
                .duration_since(started)
                .unwrap_or_default();
            telemetry::refresh_finished(reason, latency, &outcome);
            outcome
        }
        None => Err(provider_dropped()),
    }
}

fn provider_dropped() -> Error {
    Error::other(
        "the provider was dropped while its refresh was in flight",
        None,
    )
}

/// `call`, or a timeout error once `timeout` passed on the injected sleep: the load timeout
/// bounds each STS call, so a hung call ends here as a retryable failure.
async fn timed<T>(
    call: impl std::future::Future<Output = T>,
    sleep: &SharedAsyncSleep,
    timeout: Duration,
    role_arn: &str,
) -> Result<T, Error> {
    let call = std::pin::pin!(call);
    let expired = std::pin::pin!(sleep.sleep(timeout.min(MAX_SLEEP)));
    match future::select(call, expired).await {
        Either::Left((out, _)) => Ok(out),
        Either::Right(((), _)) => Err(Error::timed_out(role_arn, timeout)),
    }
}

/// A pooled role's AssumeRole: each attempt waits for a token of the pool's budget (the SDK
/// client does not retry, so every request counts), is bounded by the load timeout, and is
/// retried here: `Throttling` slows the whole pool and retries with jitter; other transient
/// failures retry as the SDK's standard mode would. Returns the outcome and when the last
/// attempt started (the STS latency is measured from there, not from the wait for a token).
async fn pooled_fetch(
    dispatch: &Arc<Dispatch>,
    sts: &StsCaller,
    weak: &Weak<Refresher>,
    timeout: Duration,
) -> (Result<StsCredentials, Error>, SystemTime) {
    let _pending = Pending::new(&dispatch.counters);
    let (mut throttled, mut failed) = (0u32, 0u32);
    loop {
        let priority = match weak.upgrade() {
            Some(refresher) => refresher.priority(dispatch.time.now()),
            None => return (Err(provider_dropped()), dispatch.time.now()),
        };
        dispatch.token(priority).await;
        let started = dispatch.time.now();
        dispatch.count_sts_call();
        let error = match timed(
            sts.fetch_attempt(),
            &dispatch.sleep,
            timeout,
            sts.role_arn(),
        )
        .await
        {
            Ok(Ok(fetched)) => return (Ok(fetched), started),
            // The duration was capped to the chained-session hour: ask again at once.
            Ok(Err(Attempt::ChainCapped)) => continue,
            Ok(Err(Attempt::Failed(e))) | Err(e) => e,
        };
        let attempt = if error.is_throttling() {
            dispatch.throttled();
            throttled += 1;
            (throttled < MAX_THROTTLED_ATTEMPTS).then_some(throttled)
        } else if error.is_retryable()
            && matches!(
                error.kind(),
                ErrorKind::StsUnavailable | ErrorKind::TimedOut
            )
        {
            failed += 1;
            (failed < MAX_TRANSIENT_ATTEMPTS).then_some(failed)
        } else {
            None
        };
        let Some(attempt) = attempt else {
            return (Err(error), started);
        };
        tracing::debug!(
            role_arn = %sts.role_arn(),
            error = %error,
            attempt,
            "AssumeRole attempt failed; retrying"
        );
        dispatch.sleep.sleep(attempt_backoff(attempt)).await;
    }
}

/// "Equal jitter" backoff before attempt `n + 1`: uniform in [b/2, b], b = 1 s × 2^(n-1), at
/// most [`MAX_ATTEMPT_BACKOFF`].
fn attempt_backoff(n: u32) -> Duration {
    let b = Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1).min(16)))
        .min(MAX_ATTEMPT_BACKOFF);
    b / 2 + b.mul_f64(fastrand::f64() / 2.0)
}
