//! When to refresh, how long credentials count as valid, how to back off: [`RefreshPolicy`].
//!
//! The arithmetic here is pure (times in, times out); the background task in `refresh.rs` acts on
//! it. Defaults follow the 2026 cross-SDK numbers (advisory window 5 / 15 / 60 minutes for
//! lifetimes up to 20 min / up to 90 min / longer), with two changes of ours:
//!
//! * the window is never more than half the lifetime, so short sessions are refreshed once per
//!   lifetime, at about their half, instead of continuously;
//! * credentials stop being served at expiry minus a safety margin (at most 60 s, at most a sixth
//!   of the lifetime) that absorbs clock skew between this host and AWS.

use std::time::{Duration, SystemTime};

/// How [`AssumedRoleCredentials`](crate::AssumedRoleCredentials) schedules refreshes and retries.
///
/// Every setting has a default that suits real STS sessions; change them for tests or unusual
/// fleets.
///
/// ```
/// use std::time::Duration;
/// use cross_account_dynamodb::RefreshPolicy;
///
/// let policy = RefreshPolicy::default()
///     .advisory_window(Duration::from_secs(10 * 60)) // refresh 10 min before expiry
///     .jitter(0.2)                                    // ..or up to 2 min earlier
///     .load_timeout(Duration::from_secs(5));
/// assert_eq!(policy.window_for(Duration::from_secs(3600)), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct RefreshPolicy {
    advisory_window: Option<Duration>,
    max_safety_margin: Duration,
    jitter: f64,
    initial_backoff: Duration,
    max_backoff: Duration,
    retryable_error_ttl: Duration,
    non_retryable_error_ttl: Duration,
    load_timeout: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            advisory_window: None,
            max_safety_margin: Duration::from_secs(60),
            jitter: 0.1,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            retryable_error_ttl: Duration::from_secs(1),
            non_retryable_error_ttl: Duration::from_secs(5),
            load_timeout: Duration::from_secs(20),
        }
    }
}

impl RefreshPolicy {
    /// Refresh this long before expiry (default: 5, 15 or 60 minutes by lifetime). Always capped
    /// at half the session's lifetime.
    pub fn advisory_window(mut self, window: Duration) -> Self {
        self.advisory_window = Some(window);
        self
    }

    /// The largest safety margin: credentials are served until expiry minus
    /// `min(max_safety_margin, lifetime / 6)`. Default 60 s.
    pub fn max_safety_margin(mut self, margin: Duration) -> Self {
        self.max_safety_margin = margin;
        self
    }

    /// Spread refreshes of a fleet: each refresh moves earlier by a random fraction, up to
    /// `jitter` (0.0 to 1.0) of the window. Default 0.1. Values outside [0, 1] are clamped.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Backoff after a failed refresh: starts at `initial`, doubles per consecutive failure up to
    /// `max`, with jitter (each delay is uniform in its upper half). Defaults 1 s and 5 min.
    /// While valid credentials are cached, a retry is never scheduled later than halfway to the
    /// end of their validity, so attempts get denser as expiry nears.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial.max(Duration::from_millis(1));
        self.max_backoff = max.max(self.initial_backoff);
        self
    }

    /// How long a failed refresh is remembered for callers that have nothing valid to fall back
    /// on: they get the same error at once instead of calling STS again. Defaults: 1 s for
    /// errors that may pass, 5 s for errors retrying cannot fix (access denied, bad input).
    pub fn error_ttl(mut self, retryable: Duration, non_retryable: Duration) -> Self {
        self.retryable_error_ttl = retryable;
        self.non_retryable_error_ttl = non_retryable;
        self
    }

    /// How long a caller with nothing valid cached waits for a refresh. Default 20 s.
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// The advisory window this policy uses for a session of `lifetime`.
    pub fn window_for(&self, lifetime: Duration) -> Duration {
        let window = self.advisory_window.unwrap_or_else(|| {
            const MIN: u64 = 60;
            match lifetime.as_secs() {
                s if s <= 20 * MIN => Duration::from_secs(5 * MIN),
                s if s <= 90 * MIN => Duration::from_secs(15 * MIN),
                _ => Duration::from_secs(60 * MIN),
            }
        });
        window.min(lifetime / 2)
    }

    /// The safety margin for a session of `lifetime`.
    pub fn safety_margin_for(&self, lifetime: Duration) -> Duration {
        self.max_safety_margin.min(lifetime / 6)
    }

    pub(crate) fn load_timeout_value(&self) -> Duration {
        self.load_timeout
    }

    /// Schedules a freshly fetched session. `unit` is a uniform random number in [0, 1).
    pub(crate) fn schedule(
        &self,
        fetched_at: SystemTime,
        expiry: SystemTime,
        unit: f64,
    ) -> Schedule {
        let lifetime = expiry.duration_since(fetched_at).unwrap_or_default();
        let valid_until = expiry - self.safety_margin_for(lifetime);
        let window = self.window_for(lifetime);
        let early = window.mul_f64(self.jitter * unit.clamp(0.0, 1.0));
        let refresh_at = (expiry - window)
            .checked_sub(early)
            .unwrap_or(fetched_at)
            .max(fetched_at)
            .min(valid_until);
        Schedule {
            valid_until,
            refresh_at,
        }
    }

    /// When to try again after `failures` consecutive failed refreshes.
    pub(crate) fn retry_at(
        &self,
        now: SystemTime,
        failures: u32,
        retryable: bool,
        valid_until: Option<SystemTime>,
        unit: f64,
    ) -> SystemTime {
        let delay = if retryable {
            let exp = self
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(30)));
            let capped = exp.min(self.max_backoff);
            // "equal jitter": uniform in [capped / 2, capped]
            capped / 2 + (capped / 2).mul_f64(unit.clamp(0.0, 1.0))
        } else {
            // Retrying cannot fix these; try again slowly (someone may fix the policy).
            self.max_backoff
        };
        let delay = match valid_until.and_then(|v| v.duration_since(now).ok()) {
            // Keep at least two more attempts before the credentials stop being served.
            Some(left) => delay.min(left / 2).max(self.initial_backoff.min(left)),
            None => delay,
        };
        now + delay
    }

    /// How long a failure is handed out to callers without a new STS call.
    pub(crate) fn error_ttl_for(&self, retryable: bool) -> Duration {
        if retryable {
            self.retryable_error_ttl
        } else {
            self.non_retryable_error_ttl
        }
    }
}

/// When a session stops being served and when it is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) valid_until: SystemTime,
    pub(crate) refresh_at: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;
    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }
    fn at(secs: f64) -> SystemTime {
        T0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn default_windows_follow_the_lifetime() {
        let p = RefreshPolicy::default();
        assert_eq!(p.window_for(s(15 * 60)), s(5 * 60));
        assert_eq!(p.window_for(s(3600)), s(15 * 60));
        assert_eq!(p.window_for(s(12 * 3600)), s(3600));
        // never more than half the lifetime
        assert_eq!(p.window_for(s(20)), s(10));
        assert_eq!(p.window_for(s(8 * 60)), s(4 * 60));
    }

    #[test]
    fn safety_margin_is_at_most_60s_and_a_sixth() {
        let p = RefreshPolicy::default();
        assert_eq!(p.safety_margin_for(s(3600)), s(60));
        assert_eq!(p.safety_margin_for(s(60)), s(10));
    }

    #[test]
    fn a_20_second_session_refreshes_at_about_its_half() {
        let p = RefreshPolicy::default();
        let late = p.schedule(T0, at(20.0), 0.0);
        assert_eq!(late.refresh_at, at(10.0));
        let early = p.schedule(T0, at(20.0), 0.999_999);
        assert!(early.refresh_at >= at(8.999) && early.refresh_at < at(10.0));
        assert_eq!(
            late.valid_until,
            T0 + Duration::from_secs(20) - Duration::from_secs(20) / 6
        );
    }

    #[test]
    fn one_hour_session_refreshes_in_the_window_before_valid_until() {
        let p = RefreshPolicy::default();
        let sched = p.schedule(T0, at(3600.0), 0.5);
        assert_eq!(sched.valid_until, at(3540.0));
        assert_eq!(sched.refresh_at, at(2700.0 - 45.0));
    }

    #[test]
    fn an_explicit_window_larger_than_the_lifetime_is_capped() {
        let p = RefreshPolicy::default()
            .advisory_window(s(7200))
            .jitter(0.0);
        assert_eq!(p.schedule(T0, at(900.0), 0.3).refresh_at, at(450.0));
    }

    #[test]
    fn already_expired_sessions_schedule_an_immediate_refresh() {
        let p = RefreshPolicy::default();
        let sched = p.schedule(at(100.0), at(50.0), 0.5);
        assert_eq!(sched.refresh_at, at(50.0));
        assert!(sched.valid_until <= at(100.0));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_before_validity_ends() {
        let p = RefreshPolicy::default().backoff(s(2), s(60));
        let now = at(1000.0);
        assert_eq!(p.retry_at(now, 1, true, None, 0.0), at(1001.0));
        assert_eq!(p.retry_at(now, 1, true, None, 1.0), at(1002.0));
        assert_eq!(p.retry_at(now, 3, true, None, 1.0), at(1008.0));
        assert_eq!(p.retry_at(now, 30, true, None, 1.0), at(1060.0));
        // 40 s of validity left: never later than half of it
        assert_eq!(p.retry_at(now, 30, true, Some(at(1040.0)), 1.0), at(1020.0));
        // non-retryable errors wait the maximum, still capped by validity
        assert_eq!(p.retry_at(now, 1, false, None, 0.5), at(1060.0));
        assert_eq!(p.retry_at(now, 1, false, Some(at(1010.0)), 0.5), at(1005.0));
    }

    #[test]
    fn jitter_is_clamped() {
        assert_eq!(RefreshPolicy::default().jitter(7.0).jitter, 1.0);
        assert_eq!(RefreshPolicy::default().jitter(f64::NAN).jitter, 0.0);
    }
}
