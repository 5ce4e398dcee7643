//! Metrics through the AWS SDK's own telemetry provider (`aws-smithy-observability`), and the
//! `tracing` spans of a refresh. Every instrument is listed in `docs/observability.md`.
//!
//! * **Which provider:** the SDK's global one,
//!   `aws_smithy_observability::global::get_telemetry_provider()`, so a user who wired the SDK
//!   to OpenTelemetry (`aws-smithy-observability-otel`) gets ours with no extra work. Our
//!   instruments live in one meter scope, this crate's name (the smithy API takes a scope name
//!   only; the version goes in as a meter attribute, which providers may ignore).
//! * **Created once per provider:** the instruments are built on first use and kept with the
//!   provider they were built on. Every recording call compares the global provider with that
//!   one (an `Arc` pointer comparison after the SDK's own `RwLock` read), so a provider set
//!   after our first use is picked up by the next recording; the instruments of the old one
//!   are dropped (its gauges are stopped).
//! * **No provider set** (the SDK's no-op default, `provider_name() == "noop"`): nothing is
//!   built and recording calls return after that comparison: no attribute map is built, no
//!   allocation happens.
//! * **Per-role gauges** read a registry of `Weak` references to the roles' refresh engines
//!   (8 bytes per role; see [`credentials`]).

pub(crate) mod credentials;
pub(crate) mod pool;

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;
use aws_smithy_observability::global::get_telemetry_provider;
use aws_smithy_observability::meter::Meter;
use aws_smithy_observability::{AttributeValue, Attributes, TelemetryProvider};

/// The meter scope of every instrument of this crate.
pub(crate) const SCOPE: &str = env!("CARGO_PKG_NAME");

/// The value the smithy no-op meter provider reports as its name.
const NOOP_PROVIDER: &str = "noop";

/// The instruments built on one provider (`None`: the no-op provider, nothing to record).
struct Resolved<T> {
    provider: Arc<TelemetryProvider>,
    instruments: Option<Arc<T>>,
}

/// A set of instruments resolved lazily against the SDK's global telemetry provider, and
/// re-resolved when that provider changes.
pub(crate) struct Lazy<T> {
    current: ArcSwapOption<Resolved<T>>,
    /// Held while building, so that one provider gets one set of instruments (two sets would
    /// register every gauge callback twice).
    building: Mutex<()>,
    build: fn(&Meter) -> T,
    stop: fn(&T),
}

impl<T> Lazy<T> {
    pub(crate) const fn new(build: fn(&Meter) -> T, stop: fn(&T)) -> Self {
        Lazy {
            current: ArcSwapOption::const_empty(),
            building: Mutex::new(()),
            build,
            stop,
        }
    }

    /// The instruments for the global provider in use now, or `None` when it is the no-op one
    /// (or the global provider is being replaced at this very moment).
    #[inline]
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        let provider = get_telemetry_provider().ok()?;
        {
            let current = self.current.load();
            if let Some(resolved) = current.as_ref() {
                if Arc::ptr_eq(&resolved.provider, &provider) {
                    return resolved.instruments.clone();
                }
            }
        }
        self.resolve(provider)
    }

    #[cold]
    #[inline(never)]
    fn resolve(&self, provider: Arc<TelemetryProvider>) -> Option<Arc<T>> {
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        let old = self.current.load_full();
        if let Some(resolved) = old.as_ref() {
            if Arc::ptr_eq(&resolved.provider, &provider) {
                return resolved.instruments.clone();
            }
        }
        let meter_provider = provider.meter_provider();
        let instruments = if meter_provider.provider_name() == NOOP_PROVIDER {
            None
        } else {
            let meter = meter_provider.get_meter(SCOPE, Some(&scope_attributes()));
            Some(Arc::new((self.build)(&meter)))
        };
        self.current.store(Some(Arc::new(Resolved {
            provider,
            instruments: instruments.clone(),
        })));
        if let Some(old) = old.and_then(|o| o.instruments.clone()) {
            (self.stop)(&old);
        }
        instruments
    }
}

/// The meter's attributes: the crate version (the scope name is the crate name).
fn scope_attributes() -> Attributes {
    let mut attrs = Attributes::new();
    attrs.set(
        "version",
        AttributeValue::String(env!("CARGO_PKG_VERSION").into()),
    );
    attrs
}

/// Attributes from `(key, value)` pairs of static strings.
pub(crate) fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    let mut a = Attributes::new();
    for (k, v) in pairs {
        a.set(*k, AttributeValue::String((*v).to_owned()));
    }
    a
}
