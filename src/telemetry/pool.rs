//! The pool's instruments, for `CrossAccountPool` to call (see `docs/observability.md`):
//!
//! | function | when the pool calls it | instrument |
//! | --- | --- | --- |
//! | [`role_added`] | a role's provider enters the pool | `xacct.pool.roles` +1 |
//! | [`role_removed`] | a role's provider leaves the pool (evicted, removed) | `xacct.pool.roles` −1 |
//! | [`assume_role_pending`] | an AssumeRole is about to wait for a token or start; keep the guard until the call ends | `xacct.pool.assume_role.pending` +1, −1 on drop |
//! | [`token_waited`] | an AssumeRole had to wait for a rate-limit token | `xacct.pool.token_waits` +1 |
//! | [`sts_throttled`] | STS answered `Throttling` / `ThrottlingException` | `xacct.pool.sts.throttled` +1 |
//!
//! Each costs one comparison of the global provider when none is set.

use std::sync::Arc;

use aws_smithy_observability::instruments::{MonotonicCounter, UpDownCounter};
use aws_smithy_observability::meter::Meter;

use super::Lazy;

pub(crate) struct Instruments {
    roles: Arc<dyn UpDownCounter>,
    pending: Arc<dyn UpDownCounter>,
    token_waits: Arc<dyn MonotonicCounter>,
    throttled: Arc<dyn MonotonicCounter>,
}

static INSTRUMENTS: Lazy<Instruments> = Lazy::new(build, |_| {});

fn build(meter: &Meter) -> Instruments {
    Instruments {
        roles: meter
            .create_up_down_counter("xacct.pool.roles")
            .set_units("{role}")
            .set_description("Roles held by the pool")
            .build(),
        pending: meter
            .create_up_down_counter("xacct.pool.assume_role.pending")
            .set_units("{call}")
            .set_description("AssumeRole calls waiting for a rate-limit token or in flight")
            .build(),
        token_waits: meter
            .create_monotonic_counter("xacct.pool.token_waits")
            .set_units("{call}")
            .set_description("AssumeRole calls that had to wait for a rate-limit token")
            .build(),
        throttled: meter
            .create_monotonic_counter("xacct.pool.sts.throttled")
            .set_units("{response}")
            .set_description("Throttling answers from STS")
            .build(),
    }
}

/// A role entered the pool.
pub(crate) fn role_added() {
    if let Some(i) = INSTRUMENTS.get() {
        i.roles.add(1, None, None);
    }
}

/// A role left the pool.
pub(crate) fn role_removed() {
    if let Some(i) = INSTRUMENTS.get() {
        i.roles.add(-1, None, None);
    }
}

/// Counts one AssumeRole as pending until the guard drops. The decrement goes to the
/// instrument that was incremented, even if the global provider changes meanwhile.
#[must_use = "the call counts as pending until the guard drops"]
pub(crate) fn assume_role_pending() -> PendingAssumeRole {
    let instruments = INSTRUMENTS.get();
    if let Some(i) = &instruments {
        i.pending.add(1, None, None);
    }
    PendingAssumeRole(instruments)
}

/// See [`assume_role_pending`].
#[derive(Default)]
pub(crate) struct PendingAssumeRole(Option<Arc<Instruments>>);

impl std::fmt::Debug for PendingAssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAssumeRole").finish_non_exhaustive()
    }
}

impl Drop for PendingAssumeRole {
    fn drop(&mut self) {
        if let Some(i) = &self.0 {
            i.pending.add(-1, None, None);
        }
    }
}

/// An AssumeRole had to wait for a rate-limit token.
pub(crate) fn token_waited() {
    if let Some(i) = INSTRUMENTS.get() {
        i.token_waits.add(1, None, None);
    }
}

/// STS answered with throttling.
pub(crate) fn sts_throttled() {
    if let Some(i) = INSTRUMENTS.get() {
        i.throttled.add(1, None, None);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_smithy_observability::instruments::{
        AsyncInstrumentBuilder, AsyncMeasure, Histogram, InstrumentBuilder, ProvideInstrument,
    };
    use aws_smithy_observability::meter::ProvideMeter;
    use aws_smithy_observability::{Attributes, Context, TelemetryProvider};

    use super::*;

    /// Sums per instrument name (counters only: what the pool records).
    #[derive(Debug, Default)]
    struct Sums(Mutex<Vec<(String, i64)>>);

    #[derive(Debug)]
    struct Counter(Arc<Sums>, String);

    impl UpDownCounter for Counter {
        fn add(&self, v: i64, _: Option<&Attributes>, _: Option<&dyn Context>) {
            self.0 .0.lock().unwrap().push((self.1.clone(), v));
        }
    }
    impl MonotonicCounter for Counter {
        fn add(&self, v: u64, _: Option<&Attributes>, _: Option<&dyn Context>) {
            self.0 .0.lock().unwrap().push((self.1.clone(), v as i64));
        }
    }
    impl Histogram for Counter {
        fn record(&self, _: f64, _: Option<&Attributes>, _: Option<&dyn Context>) {}
    }
    #[derive(Debug)]
    struct Nothing<V>(std::marker::PhantomData<V>);
    impl<V: Send + Sync + std::fmt::Debug> AsyncMeasure for Nothing<V> {
        type Value = V;
        fn record(&self, _: V, _: Option<&Attributes>, _: Option<&dyn Context>) {}
        fn stop(&self) {}
    }

    #[derive(Debug, Clone)]
    struct Provider(Arc<Sums>);

    impl ProvideMeter for Provider {
        fn get_meter(&self, _: &'static str, _: Option<&Attributes>) -> Meter {
            Meter::new(Arc::new(self.clone()))
        }
        fn provider_name(&self) -> &'static str {
            "pool-test"
        }
    }

    impl ProvideInstrument for Provider {
        fn create_gauge(
            &self,
            _: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = f64>>, f64>,
        ) -> Arc<dyn AsyncMeasure<Value = f64>> {
            Arc::new(Nothing(std::marker::PhantomData))
        }
        fn create_up_down_counter(
            &self,
            b: InstrumentBuilder<'_, Arc<dyn UpDownCounter>>,
        ) -> Arc<dyn UpDownCounter> {
            Arc::new(Counter(self.0.clone(), b.get_name().to_string()))
        }
        fn create_async_up_down_counter(
            &self,
            _: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = i64>>, i64>,
        ) -> Arc<dyn AsyncMeasure<Value = i64>> {
            Arc::new(Nothing(std::marker::PhantomData))
        }
        fn create_monotonic_counter(
            &self,
            b: InstrumentBuilder<'_, Arc<dyn MonotonicCounter>>,
        ) -> Arc<dyn MonotonicCounter> {
            Arc::new(Counter(self.0.clone(), b.get_name().to_string()))
        }
        fn create_async_monotonic_counter(
            &self,
            _: AsyncInstrumentBuilder<'_, Arc<dyn AsyncMeasure<Value = u64>>, u64>,
        ) -> Arc<dyn AsyncMeasure<Value = u64>> {
            Arc::new(Nothing(std::marker::PhantomData))
        }
        fn create_histogram(
            &self,
            b: InstrumentBuilder<'_, Arc<dyn Histogram>>,
        ) -> Arc<dyn Histogram> {
            Arc::new(Counter(self.0.clone(), b.get_name().to_string()))
        }
    }

    /// The pool's hooks move the documented instruments. (Sets the SDK's global provider; no
    /// other unit test looks at metrics.)
    #[test]
    fn the_pool_hooks_move_their_instruments() {
        let sums = Arc::new(Sums::default());
        aws_smithy_observability::global::set_telemetry_provider(
            TelemetryProvider::builder()
                .meter_provider(Arc::new(Provider(sums.clone())))
                .build(),
        )
        .unwrap();
        let total = |name: &str| -> i64 {
            sums.0
                .lock()
                .unwrap()
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .sum()
        };
        role_added();
        role_added();
        role_removed();
        assert_eq!(total("xacct.pool.roles"), 1);
        let pending = assume_role_pending();
        let second = assume_role_pending();
        assert_eq!(total("xacct.pool.assume_role.pending"), 2);
        drop(pending);
        assert_eq!(total("xacct.pool.assume_role.pending"), 1);
        drop(second);
        assert_eq!(total("xacct.pool.assume_role.pending"), 0);
        token_waited();
        sts_throttled();
        sts_throttled();
        assert_eq!(total("xacct.pool.token_waits"), 1);
        assert_eq!(total("xacct.pool.sts.throttled"), 2);
    }
}
