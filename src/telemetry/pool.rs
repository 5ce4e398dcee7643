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
#![allow(dead_code)] // called by the pool (being rewritten in another tree)

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
