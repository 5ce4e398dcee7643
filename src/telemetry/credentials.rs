//! The credentials' instruments and spans: refreshes by outcome and reason, STS latency,
//! seconds until expiry and consecutive failures per role, and requests served past the
//! refresh point.
//!
//! Per-role gauges read a registry of `Weak<Refresher>` (8 bytes a role, in registration
//! order; entries of dropped providers are pruned as the registry grows and at every
//! collection). The first [`ROLE_SERIES_CAP`] live roles each get their own series (attribute
//! `role` = the role ARN); the others share one series, `role = "_other"`, carrying the
//! minimum seconds until expiry and the maximum consecutive failures among them. When a role
//! with its own series is dropped, the next one in registration order takes its place.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use aws_smithy_observability::instruments::{AsyncMeasure, Histogram, MonotonicCounter};
use aws_smithy_observability::meter::Meter;
use aws_smithy_observability::{AttributeValue, Attributes};

use super::{attrs, Lazy};
use crate::credentials::{CachedCredentials, Refresher};
use crate::Error;

/// Roles with a series of their own in the per-role gauges; the rest share `role="_other"`.
pub(crate) const ROLE_SERIES_CAP: usize = 1000;

/// The `role` attribute value of the series that carries the roles past the cap.
pub(crate) const OTHER_ROLES: &str = "_other";

pub(crate) struct Instruments {
    refreshes: Arc<dyn MonotonicCounter>,
    sts_duration: Arc<dyn Histogram>,
    served_past_refresh: Arc<dyn MonotonicCounter>,
    time_to_expiry: Arc<dyn AsyncMeasure<Value = f64>>,
    consecutive_failures: Arc<dyn AsyncMeasure<Value = f64>>,
}

static INSTRUMENTS: Lazy<Instruments> = Lazy::new(build, stop);

fn build(meter: &Meter) -> Instruments {
    Instruments {
        refreshes: meter
            .create_monotonic_counter("xacct.credentials.refreshes")
            .set_units("{refresh}")
            .set_description("AssumeRole refreshes, by outcome and reason")
            .build(),
        sts_duration: meter
            .create_histogram("xacct.credentials.sts.duration")
            .set_units("s")
            .set_description("Duration of AssumeRole calls, by outcome")
            .build(),
        served_past_refresh: meter
            .create_monotonic_counter("xacct.credentials.served_past_refresh")
            .set_units("{request}")
            .set_description(
                "Credentials served after their refresh point (a refresh is late or failing)",
            )
            .build(),
        time_to_expiry: meter
            .create_gauge("xacct.credentials.time_to_expiry", |m| {
                observe(m, Gauge::TimeToExpiry)
            })
            .set_units("s")
            .set_description("Seconds until the served credentials expire, per role")
            .build(),
        consecutive_failures: meter
            .create_gauge("xacct.credentials.consecutive_failures", |m| {
                observe(m, Gauge::ConsecutiveFailures)
            })
            .set_units("{failure}")
            .set_description("Refresh failures since the last success, per role")
            .build(),
    }
}

fn stop(i: &Instruments) {
    i.time_to_expiry.stop();
    i.consecutive_failures.stop();
}

/// Why a refresh ran (the `reason` attribute and span field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshReason {
    /// No credentials fetched yet.
    Initial,
    /// The background schedule (ahead of expiry, or a retry after a failure).
    Scheduled,
    /// `refresh_now`.
    Forced,
    /// The served credentials were rejected by a service (`invalidate`).
    Invalidated,
    /// A caller found nothing valid (expired after failures, or after a suspend).
    Expired,
}

impl RefreshReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefreshReason::Initial => "initial",
            RefreshReason::Scheduled => "scheduled",
            RefreshReason::Forced => "forced",
            RefreshReason::Invalidated => "invalidated",
            RefreshReason::Expired => "expired",
        }
    }
}

/// The span of one AssumeRole flight. A background refresh is a root span (`parent: None`);
/// one a caller starts nests under the caller's span (the SDK's request span). Never carries
/// a secret: role ARN, reason, flight number, then generation, outcome and STS latency.
pub(crate) fn refresh_span(
    role_arn: &str,
    reason: RefreshReason,
    flight: u64,
    background: bool,
) -> tracing::Span {
    if background {
        tracing::info_span!(
            parent: None,
            "assume_role",
            role_arn = %role_arn,
            reason = reason.as_str(),
            flight,
            generation = tracing::field::Empty,
            outcome = tracing::field::Empty,
            error.kind = tracing::field::Empty,
            sts_latency_s = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            "assume_role",
            role_arn = %role_arn,
            reason = reason.as_str(),
            flight,
            generation = tracing::field::Empty,
            outcome = tracing::field::Empty,
            error.kind = tracing::field::Empty,
            sts_latency_s = tracing::field::Empty,
        )
    }
}

/// A flight finished (called inside its span): span fields, refresh counter, STS latency.
pub(crate) fn refresh_finished(
    reason: RefreshReason,
    latency: Duration,
    outcome: &Result<Arc<CachedCredentials>, Error>,
) {
    let span = tracing::Span::current();
    span.record("sts_latency_s", latency.as_secs_f64());
    let kind = match outcome {
        Ok(cached) => {
            span.record("outcome", "success");
            span.record("generation", cached.generation);
            None
        }
        Err(e) => {
            span.record("outcome", "failure");
            let kind = error_kind(e);
            span.record("error.kind", kind);
            Some(kind)
        }
    };
    let Some(i) = INSTRUMENTS.get() else { return };
    let outcome = if kind.is_some() { "failure" } else { "success" };
    let mut a = attrs(&[("outcome", outcome), ("reason", reason.as_str())]);
    if let Some(kind) = kind {
        a.set("error.type", AttributeValue::String(kind.to_owned()));
    }
    i.refreshes.add(1, Some(&a), None);
    let mut a = attrs(&[("outcome", outcome)]);
    if let Some(kind) = kind {
        a.set("error.type", AttributeValue::String(kind.to_owned()));
    }
    i.sts_duration.record(latency.as_secs_f64(), Some(&a), None);
}

fn error_kind(e: &Error) -> &'static str {
    use crate::ErrorKind::*;
    match e.kind() {
        InvalidInput => "invalid_input",
        AccessDenied => "access_denied",
        Expired => "expired",
        SourceCredentials => "source_credentials",
        StsUnavailable => "sts_unavailable",
        StsRejected => "sts_rejected",
        TimedOut => "timed_out",
        _ => "other",
    }
}

/// Credentials were served at or after their refresh point. Called on the read path only in
/// that case (the comparison is already made there), so a healthy provider pays nothing.
#[cold]
#[inline(never)]
pub(crate) fn served_past_refresh() {
    if let Some(i) = INSTRUMENTS.get() {
        i.served_past_refresh.add(1, None, None);
    }
}

/// The registry behind the per-role gauges.
struct Registry {
    roles: Vec<Weak<Refresher>>,
    /// Live entries after the last prune: the next prune happens at twice as many.
    live_at_prune: usize,
}

static ROLES: Mutex<Registry> = Mutex::new(Registry {
    roles: Vec::new(),
    live_at_prune: 0,
});

fn roles() -> std::sync::MutexGuard<'static, Registry> {
    ROLES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds a role to the per-role gauges (once per refresh engine, at its first AssumeRole). Holds
/// only a `Weak`: the registry never keeps a provider alive.
pub(crate) fn register(refresher: &Arc<Refresher>) {
    {
        let mut r = roles();
        if r.roles.len() >= (2 * r.live_at_prune).max(64) {
            r.roles.retain(|w| w.strong_count() > 0);
            r.live_at_prune = r.roles.len();
        }
        r.roles.push(Arc::downgrade(refresher));
    }
    // The instruments (and so the gauges) are built by the next recording, not here: this runs
    // under the refresher's state lock, which a gauge callback takes.
}

#[derive(Clone, Copy)]
enum Gauge {
    TimeToExpiry,
    ConsecutiveFailures,
}

/// A gauge callback: one series per role up to the cap, then `_other`.
fn observe(m: &dyn AsyncMeasure<Value = f64>, gauge: Gauge) {
    let live: Vec<Arc<Refresher>> = {
        let mut r = roles();
        r.roles.retain(|w| w.strong_count() > 0);
        r.live_at_prune = r.roles.len();
        r.roles.iter().filter_map(Weak::upgrade).collect()
    };
    let values = live.iter().filter_map(|refresher| {
        let value = match gauge {
            Gauge::TimeToExpiry => {
                let cached = refresher.current.load_full()?;
                let now = refresher.time.now();
                match cached.expiry.duration_since(now) {
                    Ok(left) => left.as_secs_f64(),
                    Err(past) => -past.duration().as_secs_f64(),
                }
            }
            Gauge::ConsecutiveFailures => f64::from(refresher.consecutive_failures()),
        };
        Some((refresher.role_arn(), value))
    });
    let fold: fn(f64, f64) -> f64 = match gauge {
        Gauge::TimeToExpiry => f64::min,
        Gauge::ConsecutiveFailures => f64::max,
    };
    for (role, value) in capped_series(values, ROLE_SERIES_CAP, fold) {
        let mut a = Attributes::new();
        a.set("role", AttributeValue::String(role.to_owned()));
        m.record(value, Some(&a), None);
    }
}

/// The first `cap` values as their own series, the rest folded into one `_other` series.
fn capped_series<'a>(
    values: impl Iterator<Item = (&'a str, f64)>,
    cap: usize,
    fold: fn(f64, f64) -> f64,
) -> Vec<(&'a str, f64)> {
    let mut out = Vec::new();
    let mut other: Option<f64> = None;
    for (i, (role, value)) in values.enumerate() {
        if i < cap {
            out.push((role, value));
        } else {
            other = Some(other.map_or(value, |o| fold(o, value)));
        }
    }
    if let Some(v) = other {
        out.push((OTHER_ROLES, v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_past_the_cap_share_one_series_with_the_worst_value() {
        let values = [("a", 30.0), ("b", 20.0), ("c", 50.0), ("d", 10.0)];
        let s = capped_series(values.into_iter(), 2, f64::min);
        assert_eq!(s, vec![("a", 30.0), ("b", 20.0), (OTHER_ROLES, 10.0)]);
        let s = capped_series(values.into_iter(), 2, f64::max);
        assert_eq!(s, vec![("a", 30.0), ("b", 20.0), (OTHER_ROLES, 50.0)]);
        let s = capped_series(values.into_iter(), 10, f64::min);
        assert_eq!(s.len(), 4, "no _other series under the cap");
    }

    #[test]
    fn a_registry_entry_is_one_weak_pointer() {
        assert_eq!(std::mem::size_of::<Weak<Refresher>>(), 8);
    }
}
