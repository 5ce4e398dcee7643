//! An in-memory `ProvideMeter` for the telemetry tests: every measurement with its scope,
//! instrument name and attributes; gauges are observed on demand by [`MemoryMeter::collect`].
//! Install it as the SDK's global provider with [`MemoryMeter::install`] (tests that do run
//! in a process of their own: one test per binary).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_observability::instruments::{
    AsyncInstrumentBuilder, AsyncMeasure, Histogram, InstrumentBuilder, MonotonicCounter,
    ProvideInstrument, UpDownCounter,
};
use aws_smithy_observability::meter::{Meter, ProvideMeter};
use aws_smithy_observability::{AttributeValue, Attributes, Context, TelemetryProvider};

/// One measurement.
#[derive(Debug, Clone)]
pub struct Record {
    pub scope: String,
    pub name: String,
    pub value: f64,
    pub attrs: BTreeMap<String, String>,
}

type Callback = Arc<dyn Fn(&dyn AsyncMeasure<Value = f64>) + Send + Sync>;

struct GaugeReg {
    scope: String,
    name: String,
    callback: Callback,
    stopped: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    records: Mutex<Vec<Record>>,
    gauges: Mutex<Vec<GaugeReg>>,
    /// Scopes of every meter asked for, with the meter's attributes.
    meters: Mutex<Vec<(String, BTreeMap<String, String>)>>,
}

/// The in-memory provider (cheap to clone; clones share the records).
#[derive(Clone, Default)]
pub struct MemoryMeter(Arc<Inner>);

impl std::fmt::Debug for MemoryMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryMeter")
    }
}

fn to_map(attrs: Option<&Attributes>) -> BTreeMap<String, String> {
    attrs
        .map(|a| {
            a.attributes()
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        AttributeValue::String(s) => s.clone(),
                        AttributeValue::I64(i) => i.to_string(),
                        AttributeValue::F64(f) => f.to_string(),
                        AttributeValue::Bool(b) => b.to_string(),
                        other => format!("{other:?}"),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

impl MemoryMeter {
    /// A new provider, set as the SDK's global telemetry provider.
    pub fn install() -> MemoryMeter {
        let m = MemoryMeter::default();
        aws_smithy_observability::global::set_telemetry_provider(
            TelemetryProvider::builder()
                .meter_provider(Arc::new(m.clone()))
                .build(),
        )
        .expect("set the global telemetry provider");
        m
    }

    fn push(&self, scope: &str, name: &str, value: f64, attrs: Option<&Attributes>) {
        self.0.records.lock().unwrap().push(Record {
            scope: scope.to_owned(),
            name: name.to_owned(),
            value,
            attrs: to_map(attrs),
        });
    }

    /// Every counter and histogram measurement so far.
    pub fn records(&self) -> Vec<Record> {
        self.0.records.lock().unwrap().clone()
    }

    /// Runs every live gauge callback: the gauge observations now.
    pub fn collect(&self) -> Vec<Record> {
        let gauges: Vec<(String, String, Callback)> = self
            .0
            .gauges
            .lock()
            .unwrap()
            .iter()
            .filter(|g| !g.stopped.load(Ordering::Relaxed))
            .map(|g| (g.scope.clone(), g.name.clone(), g.callback.clone()))
            .collect();
        let out = Arc::new(Mutex::new(Vec::new()));
        for (scope, name, callback) in gauges {
            let m = Observer {
                scope,
                name,
                out: out.clone(),
            };
            callback(&m);
        }
        let v = out.lock().unwrap().clone();
        v
    }

    /// Scopes of the meters asked for.
    pub fn scopes(&self) -> Vec<String> {
        self.0
            .meters
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// The attributes a meter of `scope` was asked for with.
    pub fn scope_attributes(&self, scope: &str) -> Option<BTreeMap<String, String>> {
        self.0
            .meters
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _)| s == scope)
            .map(|(_, a)| a.clone())
    }

    /// Sum of the measurements of `name` whose attributes include all of `with`.
    pub fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.matching(name, with).iter().map(|r| r.value).sum()
    }

    /// Number of measurements of `name` whose attributes include all of `with`.
    pub fn count(&self, name: &str, with: &[(&str, &str)]) -> usize {
        self.matching(name, with).len()
    }

    pub fn matching(&self, name: &str, with: &[(&str, &str)]) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| r.name == name && matches(r, with))
            .collect()
    }

    /// Every attribute key and value recorded so far (records, gauges now, meters).
    pub fn all_attribute_text(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.records().into_iter().chain(self.collect()) {
            for (k, v) in r.attrs {
                out.push(k);
                out.push(v);
            }
        }
        for (_, a) in self.0.meters.lock().unwrap().iter() {
            for (k, v) in a {
                out.push(k.clone());
                out.push(v.clone());
            }
        }
        out
    }
}

pub fn matches(r: &Record, with: &[(&str, &str)]) -> bool {
    with.iter()
        .all(|(k, v)| r.attrs.get(*k).map(String::as_str) == Some(*v))
}

impl ProvideMeter for MemoryMeter {
    fn get_meter(&self, scope: &'static str, attributes: Option<&Attributes>) -> Meter {
        self.0
            .meters
            .lock()
            .unwrap()
            .push((scope.to_owned(), to_map(attributes)));
        Meter::new(Arc::new(Scoped {
            meter: self.clone(),
            scope,
        }))
    }

    fn provider_name(&self) -> &'static str {
        "tests::MemoryMeter"
    }
}

#[derive(Debug)]
struct Scoped {
    meter: MemoryMeter,
    scope: &'static str,
}

#[derive(Debug)]
struct Instrument {
    meter: MemoryMeter,
    scope: &'static str,
    name: String,
}

impl Histogram for Instrument {
    fn record(&self, value: f64, attributes: Option<&Attributes>, _: Option<&dyn Context>) {
        self.meter.push(self.scope, &self.name, value, attributes);
    }
}

impl MonotonicCounter for Instrument {
    fn add(&self, value: u64, attributes: Option<&Attributes>, _: Option<&dyn Context>) {
        self.meter
            .push(self.scope, &self.name, value as f64, attributes);
    }
}

impl UpDownCounter for Instrument {
    fn add(&self, value: i64, attributes: Option<&Attributes>, _: Option<&dyn Context>) {
        self.meter
            .push(self.scope, &self.name, value as f64, attributes);
    }
}

#[derive(Debug)]
struct Gauge(Arc<AtomicBool>);

impl AsyncMeasure for Gauge {
    type Value = f64;
    fn record(&self, _: f64, _: Option<&Attributes>, _: Option<&dyn Context>) {}
    fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Async instruments of other value types: recorded nowhere (our crates use f64 gauges only).
#[derive(Debug)]
struct Nothing<V>(std::marker::PhantomData<V>);

impl<V: Send + Sync + std::fmt::Debug> AsyncMeasure for Nothing<V> {
    type Value = V;
    fn record(&self, _: V, _: Option<&Attributes>, _: Option<&dyn Context>) {}
    fn stop(&self) {}
}

/// What a gauge callback records into during [`MemoryMeter::collect`].
#[derive(Debug)]
struct Observer {
    scope: String,
    name: String,
    out: Arc<Mutex<Vec<Record>>>,
}

impl AsyncMeasure for Observer {
    type Value = f64;
    fn record(&self, value: f64, attributes: Option<&Attributes>, _: Option<&dyn Context>) {
        self.out.lock().unwrap().push(Record {
            scope: self.scope.clone(),
            name: self.name.clone(),
            value,
            attrs: to_map(attributes),
        });
    }
    fn stop(&self) {}
}

impl ProvideInstrument for Scoped {
    fn create_gauge(
        &self,
        builder: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = f64>>, f64>,
    ) -> Arc<dyn AsyncMeasure<Value = f64>> {
        let stopped = Arc::new(AtomicBool::new(false));
        self.meter.0.gauges.lock().unwrap().push(GaugeReg {
            scope: self.scope.to_owned(),
            name: builder.get_name().to_string(),
            callback: builder.get_callback(),
            stopped: stopped.clone(),
        });
        Arc::new(Gauge(stopped))
    }

    fn create_up_down_counter(
        &self,
        builder: InstrumentBuilder<'_, Arc<dyn UpDownCounter>>,
    ) -> Arc<dyn UpDownCounter> {
        Arc::new(self.instrument(builder.get_name()))
    }

    fn create_async_up_down_counter(
        &self,
        _: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = i64>>, i64>,
    ) -> Arc<dyn AsyncMeasure<Value = i64>> {
        Arc::new(Nothing(std::marker::PhantomData))
    }

    fn create_monotonic_counter(
        &self,
        builder: InstrumentBuilder<'_, Arc<dyn MonotonicCounter>>,
    ) -> Arc<dyn MonotonicCounter> {
        Arc::new(self.instrument(builder.get_name()))
    }

    fn create_async_monotonic_counter(
        &self,
        _: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = u64>>, u64>,
    ) -> Arc<dyn AsyncMeasure<Value = u64>> {
        Arc::new(Nothing(std::marker::PhantomData))
    }

    fn create_histogram(
        &self,
        builder: InstrumentBuilder<'_, Arc<dyn Histogram>>,
    ) -> Arc<dyn Histogram> {
        Arc::new(self.instrument(builder.get_name()))
    }
}

impl Scoped {
    fn instrument(&self, name: &str) -> Instrument {
        Instrument {
            meter: self.meter.clone(),
            scope: self.scope,
            name: name.to_owned(),
        }
    }
}
