//! [`PoolStats`]: what a [`CrossAccountPool`](crate::CrossAccountPool) reports about itself.

use std::sync::atomic::Ordering;

use super::dispatch::Counters;

/// A snapshot of a pool's counters, from [`CrossAccountPool::stats`](crate::CrossAccountPool::stats).
/// Counts are since the pool was built.
///
/// ```
/// let pool = cross_account_dynamodb::CrossAccountPool::builder().sts_rate_limit(50.0).build();
/// let stats = pool.stats();
/// assert_eq!(stats.pending_assume_roles, 0);
/// assert_eq!(stats.sts_rate, 50.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Roles the pool holds.
    pub roles: usize,
    /// AssumeRole calls waiting for a token or in flight.
    pub pending_assume_roles: usize,
    /// AssumeRole requests that had to wait for a token of the budget.
    pub tokens_waited: u64,
    /// AssumeRole requests sent to STS, retries included.
    pub sts_calls: u64,
    /// `Throttling` answers from STS.
    pub throttled: u64,
    /// The AssumeRole rate now, calls per second: the configured
    /// [`sts_rate_limit`](crate::CrossAccountPoolBuilder::sts_rate_limit), or less while
    /// recovering from throttling.
    pub sts_rate: f64,
}

impl PoolStats {
    pub(super) fn read(roles: usize, c: &Counters, sts_rate: f64) -> Self {
        PoolStats {
            roles,
            pending_assume_roles: c.pending.load(Ordering::Relaxed),
            tokens_waited: c.tokens_waited.load(Ordering::Relaxed),
            sts_calls: c.sts_calls.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            sts_rate,
        }
    }
}
