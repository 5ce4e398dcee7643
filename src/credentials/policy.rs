//! When to refresh, how long credentials count as valid, how to back off: [`RefreshPolicy`].
//!
//! The arithmetic here is pure (times in, times out); the background task in `refresh.rs` acts on
//! it. The default advisory window is 5 / 15 / 60 minutes for lifetimes up to 20 min / up to
//! 90 min / longer (the AWS SDKs' numbers), and:
//!
//! * the window is never more than half the lifetime, so short sessions are refreshed once per
//!   lifetime, at about their half, instead of continuously;
//! * credentials stop being served at expiry minus a safety margin (at most 60 s, at most a sixth
//!   of the lifetime) that absorbs clock skew between this host and AWS.
//!
//! A policy is checked (`validate`) where a provider or a pool takes it; the setters store what
//! they are given.

use std::time::{Duration, SystemTime};

use crate::Error;

/// The longest single wait handed to the injected sleep: longer waits are re-evaluated after
/// this (a test sleep computes `now + duration`, which must not overflow).
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(365 * 24 * 3600);

/// `t + d`, saturating at the latest representable time instead of panicking.
pub(crate) fn add_sat(t: SystemTime, d: Duration) -> SystemTime {
    if let Some(r) = t.checked_add(d) {
        return r;
    }
    // Creep up to the largest representable time: halve the step whenever it does not fit.
    let (mut r, mut step) = (t, d);
    while !step.is_zero() {
        match r.checked_add(step) {
            Some(n) => r = n,
            None => step /= 2,
        }
    }
    r
}

/// `t - d`, saturating at the earliest representable time instead of panicking.
pub(crate) fn sub_sat(t: SystemTime, d: Duration) -> SystemTime {
    if let Some(r) = t.checked_sub(d) {
        return r;
    }
    let (mut r, mut step) = (t, d);
    while !step.is_zero() {
        match r.checked_sub(step) {
            Some(n) => r = n,
            None => step /= 2,
        }
    }
    r
}

/// `d * f` for `f` in [0, 1] (clamped; NaN counts as 0), never more than `d` and never
/// panicking (`Duration::mul_f64` panics on `Duration::MAX * 1.0` after rounding).
pub(crate) fn mul_fraction(d: Duration, f: f64) -> Duration {
    let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
    Duration::try_from_secs_f64(d.as_secs_f64() * f)
        .unwrap_or(d)
        .min(d)
}

/// How [`AssumedRoleCredentials`](crate::AssumedRoleCredentials) schedules refreshes and retries.
///
/// Every setting has a default that suits real STS sessions; change them for tests or unusual
/// fleets. The setters take any value; a meaningless one (a zero window, backoff or load
/// timeout, a jitter outside 0.0 to 1.0) is an [`ErrorKind::InvalidInput`] error, naming the
/// setter, from the `build` or pool call that uses the policy.
///
/// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
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
    /// at half the session's lifetime. Zero is an error.
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
    /// `jitter` (0.0 to 1.0) of the window. Default 0.1. A value outside 0.0 to 1.0 (or NaN)
    /// is an error.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Backoff after a failed refresh: starts at `initial`, doubles per consecutive failure up to
    /// `max`, with jitter (each delay is uniform in its upper half). Defaults 1 s and 5 min.
    /// While valid credentials are cached, a retry is never scheduled later than halfway to the
    /// end of their validity, so attempts get denser as expiry nears. A zero `initial`, or a
    /// `max` below `initial`, is an error.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
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

    /// How long a caller with nothing valid cached waits for a refresh. Default 20 s. Zero is
    /// an error. It also bounds each AssumeRole call: one still unanswered after this long is
    /// abandoned (a retryable [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) failure) and
    /// the next caller or the background task starts a new one; and the STS client's attempts
    /// are given at most this long.
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

    /// The first meaningless setting, as an error that names its setter.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.advisory_window == Some(Duration::ZERO) {
            return Err(Error::invalid_input(
                "RefreshPolicy::advisory_window",
                "it is zero, so credentials would be refreshed only once they stop being served; \
                 give how long before expiry to refresh, or leave the default",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(Error::invalid_input(
                "RefreshPolicy::jitter",
                format!(
                    "{} is not a fraction of the window; give 0.0 (no jitter) to 1.0",
                    self.jitter
                ),
            ));
        }
        if self.initial_backoff.is_zero() {
            return Err(Error::invalid_input(
                "RefreshPolicy::backoff",
                "the initial backoff is zero, so failed refreshes would be retried without \
                 pause; give at least a millisecond (default 1 s)",
            ));
        }
        if self.max_backoff < self.initial_backoff {
            return Err(Error::invalid_input(
                "RefreshPolicy::backoff",
                format!(
                    "the maximum backoff ({:?}) is less than the initial backoff ({:?}); give a \
                     maximum at least as large",
                    self.max_backoff, self.initial_backoff
                ),
            ));
        }
        if self.load_timeout.is_zero() {
            return Err(Error::invalid_input(
                "RefreshPolicy::load_timeout",
                "it is zero, so a caller with nothing cached could never get credentials; give \
                 how long such a caller may wait (default 20 s)",
            ));
        }
        Ok(())
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
        let valid_until = sub_sat(expiry, self.safety_margin_for(lifetime));
        let window = self.window_for(lifetime);
        let early = mul_fraction(window, self.jitter * unit.clamp(0.0, 1.0));
        let refresh_at = sub_sat(sub_sat(expiry, window), early)
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
            (capped / 2).saturating_add(mul_fraction(capped / 2, unit))
        } else {
            // Retrying cannot fix these; try again slowly (someone may fix the policy).
            self.max_backoff
        };
        let delay = match valid_until.and_then(|v| v.duration_since(now).ok()) {
            // Keep at least two more attempts before the credentials stop being served.
            Some(left) => delay.min(left / 2).max(self.initial_backoff.min(left)),
            None => delay,
        };
        add_sat(now, delay)
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

    fn invalid_setter(policy: RefreshPolicy) -> String {
        let err = policy.validate().unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
        err.to_string()
    }

    #[test]
    fn the_defaults_and_edge_values_are_valid() {
        RefreshPolicy::default().validate().unwrap();
        RefreshPolicy::default()
            .jitter(0.0)
            .jitter(1.0)
            .backoff(Duration::from_millis(1), Duration::from_millis(1))
            .error_ttl(Duration::ZERO, Duration::ZERO)
            .max_safety_margin(Duration::ZERO)
            .validate()
            .unwrap();
    }

    #[test]
    fn a_jitter_outside_0_to_1_is_an_error() {
        for bad in [-0.1, 1.5, 7.0, f64::NAN, f64::INFINITY] {
            let msg = invalid_setter(RefreshPolicy::default().jitter(bad));
            assert!(
                msg.starts_with("invalid RefreshPolicy::jitter: "),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn a_zero_or_inverted_backoff_is_an_error() {
        let msg = invalid_setter(RefreshPolicy::default().backoff(Duration::ZERO, s(60)));
        assert!(
            msg.starts_with("invalid RefreshPolicy::backoff: the initial backoff is zero"),
            "{msg}"
        );
        let msg = invalid_setter(RefreshPolicy::default().backoff(s(10), s(5)));
        assert!(
            msg.starts_with("invalid RefreshPolicy::backoff: the maximum backoff"),
            "{msg}"
        );
    }

    #[test]
    fn a_zero_window_or_load_timeout_is_an_error() {
        let msg = invalid_setter(RefreshPolicy::default().advisory_window(Duration::ZERO));
        assert!(
            msg.starts_with("invalid RefreshPolicy::advisory_window: "),
            "{msg}"
        );
        let msg = invalid_setter(RefreshPolicy::default().load_timeout(Duration::ZERO));
        assert!(
            msg.starts_with("invalid RefreshPolicy::load_timeout: "),
            "{msg}"
        );
    }

    /// Extreme durations, and random ones of every magnitude.
    fn some_duration(rng: &mut fastrand::Rng) -> Duration {
        const EXTREMES: [Duration; 10] = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1),
            Duration::from_secs(1),
            Duration::from_secs(60),
            Duration::from_secs(3600),
            Duration::from_secs(u32::MAX as u64),
            Duration::from_secs(i64::MAX as u64),
            Duration::from_secs(u64::MAX / 2),
            Duration::MAX,
        ];
        if rng.bool() {
            EXTREMES[rng.usize(..EXTREMES.len())]
        } else {
            let bits = rng.u32(0..64);
            Duration::new(
                rng.u64(..=(u64::MAX >> (63 - bits))),
                rng.u32(..1_000_000_000),
            )
        }
    }

    fn some_time(rng: &mut fastrand::Rng) -> SystemTime {
        match rng.u8(..5) {
            0 => T0,
            1 => add_sat(T0, Duration::MAX),
            2 => sub_sat(T0, Duration::MAX),
            3 => T0 + s(1_780_000_000),
            _ => {
                let d = some_duration(rng);
                if rng.bool() {
                    add_sat(T0, d)
                } else {
                    sub_sat(T0, d)
                }
            }
        }
    }

    fn some_unit(rng: &mut fastrand::Rng) -> f64 {
        match rng.u8(..6) {
            0 => 0.0,
            1 => 1.0,
            2 => f64::NAN,
            3 => -1.0,
            4 => 2.0,
            _ => rng.f64(),
        }
    }

    #[test]
    fn saturating_time_arithmetic_never_panics() {
        let latest = add_sat(T0, Duration::MAX);
        assert!(latest > T0 + s(u32::MAX as u64));
        assert_eq!(add_sat(latest, s(1)), latest);
        assert_eq!(add_sat(latest, Duration::MAX), latest);
        let earliest = sub_sat(T0, Duration::MAX);
        assert!(earliest < T0);
        assert_eq!(sub_sat(earliest, Duration::MAX), earliest);
        assert_eq!(add_sat(T0, s(5)), T0 + s(5));
        assert_eq!(sub_sat(T0 + s(5), s(2)), T0 + s(3));
        assert_eq!(mul_fraction(Duration::MAX, 1.0), Duration::MAX);
        assert_eq!(mul_fraction(Duration::MAX, f64::NAN), Duration::ZERO);
        assert_eq!(mul_fraction(s(10), 0.5), s(5));
        assert_eq!(mul_fraction(s(10), 7.0), s(10));
    }

    /// A property test over extreme and random policies, times and random draws: no panic, and
    /// the schedule's invariants hold.
    #[test]
    fn extreme_policy_values_never_panic_and_keep_the_invariants() {
        let mut rng = fastrand::Rng::with_seed(0x5eed_c0ff_eeee);
        let mut checked = 0;
        for _ in 0..20_000 {
            let mut p = RefreshPolicy::default()
                .max_safety_margin(some_duration(&mut rng))
                .backoff(some_duration(&mut rng), some_duration(&mut rng))
                .error_ttl(some_duration(&mut rng), some_duration(&mut rng))
                .load_timeout(some_duration(&mut rng))
                .jitter(some_unit(&mut rng));
            if rng.bool() {
                p = p.advisory_window(some_duration(&mut rng));
            }
            if p.validate().is_err() {
                continue;
            }
            checked += 1;
            let fetched = some_time(&mut rng);
            let expiry = if rng.bool() {
                add_sat(fetched, some_duration(&mut rng))
            } else {
                some_time(&mut rng)
            };
            let sched = p.schedule(fetched, expiry, some_unit(&mut rng));
            assert!(sched.refresh_at <= sched.valid_until, "{p:?} {sched:?}");
            assert!(sched.valid_until <= expiry, "{p:?} {sched:?}");
            if expiry >= fetched {
                assert!(sched.valid_until >= fetched, "{p:?} {sched:?}");
                assert!(sched.refresh_at >= fetched, "{p:?} {sched:?}");
            }
            let now = some_time(&mut rng);
            let valid_until = rng.bool().then(|| some_time(&mut rng));
            let failures = match rng.u8(..3) {
                0 => u32::MAX,
                1 => rng.u32(..64),
                _ => rng.u32(..),
            };
            let retryable = rng.bool();
            let at = p.retry_at(now, failures, retryable, valid_until, some_unit(&mut rng));
            assert!(at >= now, "{p:?}");
            if let Some(v) = valid_until.filter(|v| *v > now) {
                assert!(
                    at <= v,
                    "{p:?}: retry at {at:?} after validity ends at {v:?}"
                );
            }
            let _ = add_sat(now, p.error_ttl_for(retryable));
            let _ = p.window_for(some_duration(&mut rng));
            let _ = p.safety_margin_for(some_duration(&mut rng));
        }
        assert!(checked > 1000, "only {checked} valid policies generated");
    }
}
