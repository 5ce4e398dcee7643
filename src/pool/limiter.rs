//! The pool-wide AssumeRole budget: a token bucket on the injected clock, with waiters served
//! in priority order.
//!
//! Written here rather than taken from a rate-limiting crate (`governor`, say) because the
//! order in which waiters get tokens is the point: the crates hand tokens to whoever polls
//! first, and they read the system clock where ours must follow the injected one.
//!
//! Order when tokens are short:
//! 1. refreshes whose credentials are near the end of their validity (past their urgent point),
//!    earliest first;
//! 2. fetches for roles with nothing valid (first fetches, with callers waiting), first come
//!    first served;
//! 3. other refreshes, by urgent point (which follows expiry).
//!
//! A `Throttling` answer halves the rate (not below a floor); the rate then climbs back
//! linearly to the configured one over [`RECOVERY`]. The bucket holds at most [`BURST`] tokens
//! (fewer when the rate is lower: at most one second of them), and a sliding window caps every
//! second at the rate itself: the bucket spreads calls, the window makes the budget a hard
//! bound (at most `floor(rate)` calls in any window of `floor(rate) / rate` seconds: 100 calls
//! in any second at 100 per second).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;

use crate::credentials::add_sat;

/// How long the rate takes to climb back from its floor to the configured rate.
pub(crate) const RECOVERY: Duration = Duration::from_secs(30);

/// What an AssumeRole call waits for a token as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// The role has nothing valid to serve: callers are (or will be) waiting.
    Waiting,
    /// A refresh of valid credentials; urgent from this time on.
    Refresh { urgent_from: SystemTime },
}

/// The token bucket and its queue of waiters.
pub(crate) struct RateLimiter {
    state: Mutex<Bucket>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.lock();
        f.debug_struct("RateLimiter")
            .field("max_rate", &b.max_rate)
            .field("rate", &b.rate)
            .field("tokens", &b.tokens)
            .field("waiting", &(b.refreshes.len() + b.waiting.len()))
            .finish()
    }
}

struct Bucket {
    max_rate: f64,
    rate: f64,
    tokens: f64,
    updated: Option<SystemTime>,
    seq: u64,
    refreshes: BinaryHeap<Reverse<RefreshWaiter>>,
    waiting: VecDeque<oneshot::Sender<()>>,
    /// When the latest calls were let through (at most the window's call count at the
    /// configured rate).
    recent: VecDeque<SystemTime>,
}

struct RefreshWaiter {
    urgent_from: SystemTime,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for RefreshWaiter {
    fn eq(&self, other: &Self) -> bool {
        (self.urgent_from, self.seq) == (other.urgent_from, other.seq)
    }
}
impl Eq for RefreshWaiter {}
impl PartialOrd for RefreshWaiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RefreshWaiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.urgent_from, self.seq).cmp(&(other.urgent_from, other.seq))
    }
}

/// The outcome of asking for a token.
pub(crate) enum Acquire {
    /// A token, at once.
    Now,
    /// Wait on this for a token (the scheduler hands it out). An error means the pool is gone:
    /// go ahead without one.
    Wait(oneshot::Receiver<()>),
}

impl RateLimiter {
    /// A bucket of `rate` tokens per second (validated by the pool builder: finite, > 0).
    pub(crate) fn new(rate: f64) -> Self {
        RateLimiter {
            state: Mutex::new(Bucket {
                max_rate: rate,
                rate,
                tokens: capacity(rate),
                updated: None,
                seq: 0,
                refreshes: BinaryHeap::new(),
                waiting: VecDeque::new(),
                recent: VecDeque::with_capacity(window(rate).0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A token now if one is free and nobody waits ahead; else a place in the queue.
    pub(crate) fn acquire(&self, priority: Priority, now: SystemTime) -> Acquire {
        let mut b = self.lock();
        b.refill(now);
        if b.refreshes.is_empty() && b.waiting.is_empty() && b.ready_at(now).is_none() {
            b.take(now);
            return Acquire::Now;
        }
        let (tx, rx) = oneshot::channel();
        match priority {
            Priority::Waiting => b.waiting.push_back(tx),
            Priority::Refresh { urgent_from } => {
                b.seq += 1;
                let seq = b.seq;
                b.refreshes.push(Reverse(RefreshWaiter {
                    urgent_from,
                    seq,
                    tx,
                }));
            }
        }
        Acquire::Wait(rx)
    }

    /// Hands the tokens available at `now` to waiters, in priority order. Returns how long
    /// until the next token if waiters remain.
    pub(crate) fn dispense(&self, now: SystemTime) -> Option<Duration> {
        let mut b = self.lock();
        b.refill(now);
        while b.ready_at(now).is_none() {
            let tx = b.next_waiter(now)?;
            // A waiter that gave up (its flight was dropped) does not use the token.
            if tx.send(()).is_ok() {
                b.take(now);
            }
        }
        if b.refreshes.is_empty() && b.waiting.is_empty() {
            return None;
        }
        let next = b.ready_at(now).map_or(Duration::ZERO, |at| {
            at.duration_since(now).unwrap_or_default()
        });
        Some(next.max(Duration::from_millis(1)))
    }

    /// STS answered `Throttling`: halve the rate (not below the floor) and drop saved tokens.
    pub(crate) fn throttled(&self, now: SystemTime) {
        let mut b = self.lock();
        b.refill(now);
        b.rate = (b.rate / 2.0).max(floor(b.max_rate));
        b.tokens = b.tokens.min(0.0);
        tracing::debug!(
            rate = b.rate,
            "STS throttled AssumeRole: slowing the pool's rate"
        );
    }

    /// The rate at `now` (tokens per second), below the configured one after throttling.
    pub(crate) fn rate(&self, now: SystemTime) -> f64 {
        let mut b = self.lock();
        b.refill(now);
        b.rate
    }
}

impl Bucket {
    /// `None` if a call may go at `now`; else the earliest time one may (a token accrued and
    /// the window's oldest call a window ago).
    fn ready_at(&self, now: SystemTime) -> Option<SystemTime> {
        let token_in = if self.tokens >= 1.0 - EPSILON {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((1.0 - self.tokens) / self.rate).max(0.0))
        };
        let (calls, span) = window(self.rate);
        let window_at = (self.recent.len() >= calls)
            .then(|| self.recent[self.recent.len() - calls] + span)
            .filter(|at| *at > now);
        match (token_in.is_zero(), window_at) {
            (true, None) => None,
            (true, Some(at)) => Some(at),
            (false, at) => Some(add_sat(now, token_in).max(at.unwrap_or(now))),
        }
    }

    /// Lets one call through at `now`.
    fn take(&mut self, now: SystemTime) {
        self.tokens = (self.tokens - 1.0).max(0.0);
        self.recent.push_back(now);
        while self.recent.len() > window(self.max_rate).0 {
            self.recent.pop_front();
        }
    }

    fn refill(&mut self, now: SystemTime) {
        let elapsed = match self.updated {
            // A clock that went back adds nothing.
            Some(then) => now.duration_since(then).unwrap_or_default().as_secs_f64(),
            None => 0.0,
        };
        if self.updated.is_none_or(|then| now > then) {
            self.updated = Some(now);
        }
        if elapsed <= 0.0 {
            return;
        }
        self.tokens = (self.tokens + elapsed * self.rate).min(capacity(self.rate));
        if self.rate < self.max_rate {
            let climb = self.max_rate * elapsed / RECOVERY.as_secs_f64();
            self.rate = (self.rate + climb).min(self.max_rate);
        }
    }

    fn next_waiter(&mut self, now: SystemTime) -> Option<oneshot::Sender<()>> {
        let urgent = self
            .refreshes
            .peek()
            .is_some_and(|Reverse(w)| w.urgent_from <= now);
        if urgent || self.waiting.is_empty() {
            return self.refreshes.pop().map(|Reverse(w)| w.tx);
        }
        self.waiting.pop_front()
    }
}

/// The most calls a sliding window counts (a rate above this is windowed per fraction of a
/// second, so memory stays bounded).
const MAX_WINDOW_CALLS: usize = 100_000;

/// The sliding window at `rate`: at most `calls` calls in any `span`.
fn window(rate: f64) -> (usize, Duration) {
    let calls = rate.floor().clamp(1.0, MAX_WINDOW_CALLS as f64);
    (calls as usize, Duration::from_secs_f64(calls / rate))
}

/// Token counts within this of a whole token count as whole (float sums of `elapsed * rate`).
const EPSILON: f64 = 1e-9;

/// The most tokens the bucket holds.
pub(crate) const BURST: f64 = 10.0;

/// [`BURST`] tokens, or one second of them when the rate is lower (at least one): a one-second
/// window holds hardly more than the rate, a dispenser on a millisecond timer keeps up with
/// thousands of calls per second, and a handful of roles can be assumed at once (also on a
/// test's clock that does not move).
fn capacity(rate: f64) -> f64 {
    rate.clamp(1.0, BURST)
}

/// Throttling never takes the rate below this.
fn floor(max_rate: f64) -> f64 {
    max_rate / 32.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;

    fn at(ms: u64) -> SystemTime {
        T0 + Duration::from_millis(ms)
    }

    fn wait(a: Acquire) -> oneshot::Receiver<()> {
        match a {
            Acquire::Now => panic!("expected to wait"),
            Acquire::Wait(rx) => rx,
        }
    }

    #[test]
    fn the_bucket_starts_with_a_burst_of_ten_tokens_then_refills_at_the_rate() {
        let l = RateLimiter::new(1000.0);
        let now = at(1000);
        let mut waiting = Vec::new();
        let mut granted = 0;
        for _ in 0..50 {
            match l.acquire(Priority::Waiting, now) {
                Acquire::Now => granted += 1,
                Acquire::Wait(rx) => waiting.push(rx),
            }
        }
        assert_eq!(granted, 10);
        // 40 waiting: the scheduler dispenses as time passes, one token per millisecond.
        let mut served = 0;
        let mut t = 1000;
        while served < 40 {
            t += 1;
            l.dispense(at(t));
            served = 40 - l.lock().waiting.len();
        }
        assert_eq!(t, 1040, "40 tokens at 1000/s take 40 ms");
        let slow = RateLimiter::new(2.0);
        let now = at(0);
        assert!(matches!(slow.acquire(Priority::Waiting, now), Acquire::Now));
        assert!(matches!(slow.acquire(Priority::Waiting, now), Acquire::Now));
        assert!(
            matches!(slow.acquire(Priority::Waiting, now), Acquire::Wait(_)),
            "one second of tokens at most"
        );
        assert!(waiting.iter_mut().all(|rx| rx.try_recv().is_ok()));
    }

    #[test]
    fn urgent_refreshes_go_first_then_waiting_callers_then_other_refreshes() {
        let l = RateLimiter::new(1.0);
        let now = at(10_000);
        assert!(matches!(l.acquire(Priority::Waiting, now), Acquire::Now));
        let mut later = wait(l.acquire(
            Priority::Refresh {
                urgent_from: at(50_000),
            },
            now,
        ));
        let mut caller = wait(l.acquire(Priority::Waiting, now));
        let mut urgent = wait(l.acquire(
            Priority::Refresh {
                urgent_from: at(5_000),
            },
            now,
        ));
        l.dispense(at(11_000));
        assert!(urgent.try_recv().is_ok());
        assert!(caller.try_recv().is_err());
        l.dispense(at(12_000));
        assert!(caller.try_recv().is_ok());
        assert!(later.try_recv().is_err());
        l.dispense(at(13_000));
        assert!(later.try_recv().is_ok());
    }

    #[test]
    fn a_waiter_that_gave_up_does_not_use_a_token() {
        let l = RateLimiter::new(1.0);
        let now = at(0);
        assert!(matches!(l.acquire(Priority::Waiting, now), Acquire::Now));
        drop(wait(l.acquire(Priority::Waiting, now)));
        let mut second = wait(l.acquire(Priority::Waiting, now));
        assert_eq!(l.dispense(at(1_000)), None);
        assert!(second.try_recv().is_ok());
    }

    #[test]
    fn throttling_halves_the_rate_which_then_recovers() {
        let l = RateLimiter::new(100.0);
        l.throttled(at(0));
        assert_eq!(l.rate(at(0)), 50.0);
        l.throttled(at(0));
        assert_eq!(l.rate(at(0)), 25.0);
        assert!((l.rate(at(15_000)) - 75.0).abs() < 1e-9);
        assert_eq!(l.rate(at(60_000)), 100.0);
        for _ in 0..20 {
            l.throttled(at(60_000));
        }
        assert_eq!(l.rate(at(60_000)), 100.0 / 32.0, "the floor holds");
    }

    #[test]
    fn no_window_of_a_second_sees_more_calls_than_the_rate() {
        let l = RateLimiter::new(20.0);
        let mut rxs = Vec::new();
        let mut granted = Vec::new();
        // Idle long enough to fill the bucket, then a crowd, dispensed every 10 ms for 3 s.
        for _ in 0..100 {
            match l.acquire(Priority::Waiting, at(5_000)) {
                Acquire::Now => granted.push(5_000),
                Acquire::Wait(rx) => rxs.push(rx),
            }
        }
        for t in (5_010..8_000).step_by(10) {
            l.dispense(at(t));
            for rx in &mut rxs {
                if rx.try_recv().is_ok() {
                    granted.push(t);
                }
            }
        }
        assert!(granted.len() >= 55, "{}", granted.len());
        for &start in &granted {
            let in_window = granted
                .iter()
                .filter(|&&t| t >= start && t < start + 1_000)
                .count();
            assert!(
                in_window <= 20,
                "{in_window} calls in the second from {start}"
            );
        }
    }

    #[test]
    fn a_fractional_rate_is_a_window_of_more_than_a_second() {
        assert_eq!(window(0.5), (1, Duration::from_secs(2)));
        assert_eq!(window(100.0), (100, Duration::from_secs(1)));
        let (calls, span) = window(2.5);
        assert_eq!(calls, 2);
        assert!((span.as_secs_f64() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn a_clock_that_goes_back_adds_no_tokens() {
        let l = RateLimiter::new(1.0);
        let now = at(100_000);
        assert!(matches!(l.acquire(Priority::Waiting, now), Acquire::Now));
        let mut rx = wait(l.acquire(Priority::Waiting, now));
        l.dispense(at(50_000));
        assert!(rx.try_recv().is_err());
        l.dispense(at(101_000));
        assert!(rx.try_recv().is_ok());
    }
}
