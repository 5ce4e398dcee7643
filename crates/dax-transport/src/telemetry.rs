//! Metrics through the AWS SDK's global telemetry provider (`aws-smithy-observability`), in
//! this crate's own meter scope (`xacct-dax-transport`, version as a meter attribute), and the
//! names of the `tracing` spans. The instruments are listed in the workspace's
//! `docs/observability.md`, with the aws-dax-go-v2 name each corresponds to.
//!
//! The instruments are built once per provider, on first use, and rebuilt when the SDK's global
//! provider changes (an `Arc` pointer comparison per recording). With the SDK's no-op provider
//! nothing is built and nothing is recorded: no attribute map, no allocation.

use std::collections::BTreeMap;
use std::ops::Add;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_observability::global::get_telemetry_provider;
use aws_smithy_observability::instruments::{AsyncMeasure, Histogram, MonotonicCounter};
use aws_smithy_observability::meter::Meter;
use aws_smithy_observability::{AttributeValue, Attributes, TelemetryProvider};

use super::Shared;

/// The meter scope of this crate's instruments.
pub(crate) const SCOPE: &str = env!("CARGO_PKG_NAME");

pub(crate) struct Instruments {
    op_duration: Arc<dyn Histogram>,
    op_errors: Arc<dyn MonotonicCounter>,
    created: Arc<dyn MonotonicCounter>,
    closed: Arc<dyn MonotonicCounter>,
    authorizations: Arc<dyn MonotonicCounter>,
    discoveries: Arc<dyn MonotonicCounter>,
    open: Arc<dyn AsyncMeasure<Value = f64>>,
    idle: Arc<dyn AsyncMeasure<Value = f64>>,
    healthy: Arc<dyn AsyncMeasure<Value = f64>>,
}

fn build(meter: &Meter) -> Instruments {
    Instruments {
        op_duration: meter
            .create_histogram("xacct.dax.op.duration")
            .set_units("s")
            .set_description("Duration of one attempt of a DAX operation, by operation and outcome")
            .build(),
        op_errors: meter
            .create_monotonic_counter("xacct.dax.op.errors")
            .set_units("{error}")
            .set_description("Failed DAX operation attempts, by operation and error type")
            .build(),
        created: meter
            .create_monotonic_counter("xacct.dax.connections.created")
            .set_units("{connection}")
            .set_description("Pooled connections opened")
            .build(),
        closed: meter
            .create_monotonic_counter("xacct.dax.connections.closed")
            .set_units("{connection}")
            .set_description("Pooled connections closed, by reason")
            .build(),
        authorizations: meter
            .create_monotonic_counter("xacct.dax.connections.authorizations")
            .set_units("{authorization}")
            .set_description(
                "authorizeConnection frames sent, by reason (any reason but `new` is a re-authorization)",
            )
            .build(),
        discoveries: meter
            .create_monotonic_counter("xacct.dax.discovery.refreshes")
            .set_units("{refresh}")
            .set_description("Cluster endpoints refreshes, by outcome")
            .build(),
        open: meter
            .create_gauge("xacct.dax.connections.open", |m| {
                observe(m, f64::add, |s| {
                    s.cluster.nodes().iter().map(|n| n.pool.open()).sum::<usize>() as f64
                })
            })
            .set_units("{connection}")
            .set_description("Pooled connections open, per cluster")
            .build(),
        idle: meter
            .create_gauge("xacct.dax.connections.idle", |m| {
                observe(m, f64::add, |s| {
                    s.cluster.nodes().iter().map(|n| n.pool.idle_count()).sum::<usize>() as f64
                })
            })
            .set_units("{connection}")
            .set_description("Idle pooled connections, per cluster")
            .build(),
        healthy: meter
            .create_gauge("xacct.dax.nodes.healthy", |m| {
                observe(m, f64::max, |s| {
                    s.cluster.nodes().iter().filter(|n| n.is_healthy()).count() as f64
                })
            })
            .set_units("{node}")
            .set_description("Nodes considered healthy, per cluster")
            .build(),
    }
}

struct Resolved {
    provider: Arc<TelemetryProvider>,
    instruments: Option<Arc<Instruments>>,
}

static CURRENT: RwLock<Option<Resolved>> = RwLock::new(None);
static BUILDING: Mutex<()> = Mutex::new(());

/// The instruments on the SDK's global provider, `None` for the no-op provider.
#[inline]
fn instruments() -> Option<Arc<Instruments>> {
    let provider = get_telemetry_provider().ok()?;
    if let Ok(current) = CURRENT.read() {
        if let Some(r) = current.as_ref() {
            if Arc::ptr_eq(&r.provider, &provider) {
                return r.instruments.clone();
            }
        }
    }
    resolve(provider)
}

#[cold]
#[inline(never)]
fn resolve(provider: Arc<TelemetryProvider>) -> Option<Arc<Instruments>> {
    let _one = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Ok(current) = CURRENT.read() {
        if let Some(r) = current.as_ref() {
            if Arc::ptr_eq(&r.provider, &provider) {
                return r.instruments.clone();
            }
        }
    }
    let mp = provider.meter_provider();
    let instruments = if mp.provider_name() == "noop" {
        None
    } else {
        let mut scope = Attributes::new();
        scope.set(
            "version",
            AttributeValue::String(env!("CARGO_PKG_VERSION").into()),
        );
        Some(Arc::new(build(&mp.get_meter(SCOPE, Some(&scope)))))
    };
    let old = CURRENT
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(Resolved {
            provider,
            instruments: instruments.clone(),
        });
    if let Some(old) = old.and_then(|o| o.instruments) {
        old.open.stop();
        old.idle.stop();
        old.healthy.stop();
    }
    instruments
}

/// Transports the gauges report on (`Weak`: the registry keeps none alive).
static TRANSPORTS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Adds a transport to the gauges (pruning dropped ones).
pub(crate) fn register(shared: &Arc<Shared>) {
    {
        let mut t = TRANSPORTS.lock().unwrap_or_else(PoisonError::into_inner);
        t.retain(|w| w.strong_count() > 0);
        t.push(Arc::downgrade(shared));
    }
    let _ = instruments();
}

/// A per-cluster gauge: one series per cluster endpoint (`cluster` = `host:port`); several
/// transports to the same endpoint are combined with `combine` (connections add up, healthy
/// nodes do not).
fn observe(
    m: &dyn AsyncMeasure<Value = f64>,
    combine: fn(f64, f64) -> f64,
    value: impl Fn(&Shared) -> f64,
) {
    let live: Vec<Arc<Shared>> = {
        let mut t = TRANSPORTS.lock().unwrap_or_else(PoisonError::into_inner);
        t.retain(|w| w.strong_count() > 0);
        t.iter().filter_map(Weak::upgrade).collect()
    };
    let mut clusters: BTreeMap<String, f64> = BTreeMap::new();
    for s in live {
        let key = format!("{}:{}", s.settings.url.host, s.settings.url.port);
        let v = value(&s);
        clusters
            .entry(key)
            .and_modify(|c| *c = combine(*c, v))
            .or_insert(v);
    }
    for (cluster, v) in clusters {
        let mut a = Attributes::new();
        a.set("cluster", AttributeValue::String(cluster));
        m.record(v, Some(&a), None);
    }
}

/// Times one attempt of a DAX operation, on the injected clock, for [`op_finished`].
pub(crate) struct OpTimer<'a> {
    time: &'a SharedTimeSource,
    operation: &'static str,
    started: SystemTime,
}

impl<'a> OpTimer<'a> {
    pub(crate) fn start(time: &'a SharedTimeSource, operation: &'static str) -> Self {
        OpTimer {
            time,
            operation,
            started: time.now(),
        }
    }

    /// The attempt ended (`error`: its error type, `None` on success).
    pub(crate) fn finish(self, error: Option<&str>) {
        let took = self
            .time
            .now()
            .duration_since(self.started)
            .unwrap_or_default();
        op_finished(self.operation, took, error);
    }
}

/// One attempt of a DAX operation ended (`error`: its error type, `None` on success).
fn op_finished(operation: &'static str, duration: Duration, error: Option<&str>) {
    let Some(i) = instruments() else { return };
    let mut a = Attributes::new();
    a.set("operation", AttributeValue::String(operation.into()));
    if let Some(e) = error {
        a.set("error.type", AttributeValue::String(e.to_owned()));
        i.op_errors.add(1, Some(&a), None);
        a.set("outcome", AttributeValue::String("failure".into()));
    } else {
        a.set("outcome", AttributeValue::String("success".into()));
    }
    i.op_duration.record(duration.as_secs_f64(), Some(&a), None);
}

/// A pooled connection was opened.
pub(crate) fn connection_created() {
    if let Some(i) = instruments() {
        i.created.add(1, None, None);
    }
}

/// A pooled connection was closed.
pub(crate) fn connection_closed(reason: &'static str) {
    if let Some(i) = instruments() {
        let mut a = Attributes::new();
        a.set("reason", AttributeValue::String(reason.into()));
        i.closed.add(1, Some(&a), None);
    }
}

/// A connection sent an `authorizeConnection` frame that the node accepted.
pub(crate) fn authorized(reason: &'static str) {
    if let Some(i) = instruments() {
        let mut a = Attributes::new();
        a.set("reason", AttributeValue::String(reason.into()));
        i.authorizations.add(1, Some(&a), None);
    }
}

/// An `endpoints` refresh ended.
pub(crate) fn discovery(ok: bool) {
    if let Some(i) = instruments() {
        let mut a = Attributes::new();
        a.set(
            "outcome",
            AttributeValue::String(if ok { "success" } else { "failure" }.into()),
        );
        i.discoveries.add(1, Some(&a), None);
    }
}
