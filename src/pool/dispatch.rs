//! The pool's one scheduler: a delay queue of role refreshes, the AssumeRole token bucket's
//! dispenser, and idle eviction, all in one task (not a task per role).
//!
//! Ownership: every pooled role's `Refresher` and the pool itself hold the `Dispatch`; the
//! queue and the task hold only `Weak`s, so nothing here keeps a role or the pool alive. The
//! task ends once the last role and the pool are gone (`Drop` wakes it to see that). An
//! AssumeRole in flight runs in a short-lived task of its own (see `Refresher::join`), so a slow
//! or failing STS call for one account never delays another's.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use futures_util::future;
use tokio::sync::Notify;

use super::limiter::{Acquire, Priority, RateLimiter};
use crate::credentials::{add_sat, Refresher, MAX_SLEEP};
use crate::telemetry::pool::{self as telemetry, PendingAssumeRole};

/// Something the scheduler sweeps now and then (the pool's role map: idle eviction).
pub(crate) trait Sweep: Send + Sync {
    fn sweep(&self, now: SystemTime);
}

/// A refresh due at `at` for the role behind `role`.
struct Entry {
    at: SystemTime,
    seq: u64,
    role: Weak<Refresher>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Pool counters (see [`PoolStats`](crate::PoolStats)).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pending: AtomicUsize,
    pub(crate) tokens_waited: AtomicU64,
    pub(crate) sts_calls: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

/// Counts an AssumeRole flight as pending (waiting for a token or calling STS) while it lives,
/// in the pool's counters and its telemetry.
pub(crate) struct Pending<'a> {
    counters: &'a Counters,
    /// Counts down the telemetry's gauge when dropped.
    _telemetry: PendingAssumeRole,
}

impl<'a> Pending<'a> {
    pub(crate) fn new(counters: &'a Counters) -> Self {
        counters.pending.fetch_add(1, Ordering::Relaxed);
        Pending {
            counters,
            _telemetry: telemetry::assume_role_pending(),
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.counters.pending.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What every pooled role and the pool share: the clock, the STS budget, the refresh queue.
pub(crate) struct Dispatch {
    pub(crate) time: SharedTimeSource,
    pub(crate) sleep: SharedAsyncSleep,
    limiter: RateLimiter,
    /// The budget's clock never runs behind the time the scheduler has slept (nanoseconds
    /// since the Unix epoch; 0 until the first sleep). See [`Dispatch::budget_now`].
    slept_until: AtomicU64,
    queue: Mutex<Queue>,
    wake: Arc<Notify>,
    running: Arc<AtomicBool>,
    pub(crate) counters: Counters,
    sweeper: OnceLock<Weak<dyn Sweep>>,
    sweep_every: Duration,
}

#[derive(Default)]
struct Queue {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    next_sweep: Option<SystemTime>,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("limiter", &self.limiter)
            .field("queued", &self.lock().entries.len())
            .field("running", &self.running.load(Ordering::Relaxed))
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Drop for Dispatch {
    fn drop(&mut self) {
        // The task holds only a `Weak`: wake it so it sees it is no longer needed.
        self.wake.notify_one();
    }
}

impl Dispatch {
    pub(crate) fn new(
        time: SharedTimeSource,
        sleep: SharedAsyncSleep,
        rate: f64,
        sweep_every: Duration,
    ) -> Self {
        Dispatch {
            time,
            sleep,
            limiter: RateLimiter::new(rate),
            slept_until: AtomicU64::new(0),
            queue: Mutex::new(Queue::default()),
            wake: Arc::new(Notify::new()),
            running: Arc::new(AtomicBool::new(false)),
            counters: Counters::default(),
            sweeper: OnceLock::new(),
            sweep_every,
        }
    }

    /// What the scheduler sweeps every `sweep_every` (set once, by the pool).
    pub(crate) fn set_sweeper(&self, sweeper: Weak<dyn Sweep>) {
        let _ = self.sweeper.set(sweeper);
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a look at `role` at `at`, waking the task if that is sooner than it planned.
    pub(crate) fn schedule(&self, at: SystemTime, role: Weak<Refresher>) {
        let sooner = {
            let mut q = self.lock();
            q.seq += 1;
            let seq = q.seq;
            let sooner = q.entries.peek().is_none_or(|Reverse(e)| at < e.at);
            q.entries.push(Reverse(Entry { at, seq, role }));
            sooner
        };
        if sooner {
            self.wake.notify_one();
        }
    }

    /// Whether the scheduler task runs (after starting it on the current runtime if needed).
    pub(crate) fn ensure_running(self: &Arc<Self>) -> bool {
        if self.running.load(Ordering::Acquire) {
            return true;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if self
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return true;
        }
        let guard = RunningGuard(self.running.clone());
        handle.spawn(run(Arc::downgrade(self), self.wake.clone(), guard));
        tracing::debug!("pool scheduler started");
        true
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The token bucket's clock: the injected time, but never behind the end of the
    /// scheduler's latest completed sleep. With a clock that does not move while sleeps do (a
    /// test's `StaticTimeSource` beside the real sleep) the bucket would otherwise never refill
    /// after its first burst, and every caller beyond it would wait forever; with a wall clock
    /// stepped backwards it would stall until the clock caught up. With a clock and a sleep
    /// that agree (the real ones; a test's tick-advance pair) this is the clock itself: a
    /// sleep ends at or after its deadline.
    fn budget_now(&self) -> SystemTime {
        let now = self.time.now();
        match self.slept_until.load(Ordering::Relaxed) {
            0 => now,
            nanos => now.max(UNIX_EPOCH + Duration::from_nanos(nanos)),
        }
    }

    /// A sleep of the scheduler's that started at budget time `from` ran its full `length`.
    fn slept(&self, from: SystemTime, length: Duration) {
        let end = add_sat(from, length);
        if let Ok(since_epoch) = end.duration_since(UNIX_EPOCH) {
            let nanos = u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX);
            self.slept_until.fetch_max(nanos, Ordering::Relaxed);
        }
    }

    /// Waits for an AssumeRole token (the wait is not bounded by the load timeout: that bounds
    /// the STS call only).
    pub(crate) async fn token(self: &Arc<Self>, priority: Priority) {
        let rx = match self.limiter.acquire(priority, self.budget_now()) {
            Acquire::Now => return,
            Acquire::Wait(rx) => rx,
        };
        self.counters.tokens_waited.fetch_add(1, Ordering::Relaxed);
        telemetry::token_waited();
        if !self.ensure_running() {
            // No runtime to run the dispenser on: go ahead rather than wait forever.
            tracing::debug!("no tokio runtime for the pool scheduler: AssumeRole not rate-limited");
            return;
        }
        self.wake.notify_one();
        // An error means the bucket is gone with the pool: nothing left to wait for.
        let _ = rx.await;
    }

    /// One AssumeRole request is about to go out.
    pub(crate) fn count_sts_call(&self) {
        self.counters.sts_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// STS answered `Throttling`: slow the whole pool down.
    pub(crate) fn throttled(&self) {
        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
        telemetry::sts_throttled();
        self.limiter.throttled(self.budget_now());
    }

    /// The AssumeRole rate now (below the configured one after throttling).
    pub(crate) fn rate(&self) -> f64 {
        self.limiter.rate(self.budget_now())
    }

    /// The entries due at `now` (their time passed), removed from the queue.
    fn pop_due(&self, now: SystemTime) -> Vec<(SystemTime, Weak<Refresher>)> {
        let mut q = self.lock();
        let mut due = Vec::new();
        while q.entries.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = q.entries.pop() {
                due.push((e.at, e.role));
            }
        }
        due
    }

    /// One round of the task's work at `now`; returns how long it may sleep.
    fn tick(&self, now: SystemTime) -> Duration {
        let token_wait = self.limiter.dispense(self.budget_now());
        for (at, role) in self.pop_due(now) {
            if let Some(role) = role.upgrade() {
                role.on_scheduled(at, now);
            }
        }
        let (sweep_due, next_sweep) = {
            let mut q = self.lock();
            let at = *q
                .next_sweep
                .get_or_insert_with(|| add_sat(now, self.sweep_every));
            if at <= now {
                let next = add_sat(now, self.sweep_every);
                q.next_sweep = Some(next);
                (true, next)
            } else {
                (false, at)
            }
        };
        if sweep_due {
            if let Some(sweeper) = self.sweeper.get().and_then(Weak::upgrade) {
                sweeper.sweep(now);
            }
        }
        let next_entry = self.lock().entries.peek().map(|Reverse(e)| e.at);
        let until = |t: SystemTime| t.duration_since(now).unwrap_or_default();
        let mut wait = until(next_sweep);
        if let Some(at) = next_entry {
            wait = wait.min(until(at));
        }
        if let Some(t) = token_wait {
            wait = wait.min(t);
        }
        wait.min(MAX_SLEEP)
    }
}

/// Clears `running` when the task ends, including when its runtime drops it, so the next use
/// starts another.
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The scheduler task: due refreshes, tokens, idle eviction; sleeps until the next of them or
/// a wake-up.
async fn run(weak: Weak<Dispatch>, wake: Arc<Notify>, _guard: RunningGuard) {
    loop {
        // Register for wake-ups before looking, so none is missed in between.
        let notified = wake.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let (sleep, wait, from) = {
            let Some(dispatch) = weak.upgrade() else {
                tracing::debug!("pool scheduler stopped: the pool and its roles are gone");
                return;
            };
            let now = dispatch.time.now();
            let wait = dispatch.tick(now);
            (dispatch.sleep.clone(), wait, dispatch.budget_now())
        };
        if wait.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        let timer = std::pin::pin!(sleep.sleep(wait));
        if let future::Either::Left(_) = future::select(timer, notified).await {
            if let Some(dispatch) = weak.upgrade() {
                dispatch.slept(from, wait);
            }
        }
    }
}
