//! Fault switches: what the backend cannot produce on demand. Public with the `faults`
//! feature; without it the switches exist but nothing can turn them on.
#![cfg_attr(not(feature = "faults"), allow(dead_code, unreachable_pub))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::log::FaultKind;

/// How many requests a switch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Budget {
    #[default]
    Off,
    Next(u64),
    Always,
}

impl Budget {
    /// Whether the switch fires for this request (and consumes one use).
    fn take(&mut self) -> bool {
        match self {
            Budget::Off => false,
            Budget::Always => true,
            Budget::Next(n) => {
                *n -= 1;
                if *n == 0 {
                    *self = Budget::Off;
                }
                true
            }
        }
    }

    fn set(n: Option<u64>) -> Budget {
        match n {
            None => Budget::Always,
            Some(0) => Budget::Off,
            Some(n) => Budget::Next(n),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    throttle: Budget,
    unprocessed: Budget,
    drop_mid_reply: Budget,
    reject_auth: Budget,
    slow: Option<Duration>,
    fired: HashMap<FaultKind, u64>,
}

/// The gateway's fault switches; a cheap handle (clones share the switches), from
/// [`DaxGateway::faults`](super::DaxGateway::faults). Every switch is off until set, applies
/// to all nodes, and counts how often it fired.
///
/// * `throttle`: data requests are answered `ProvisionedThroughputExceededException`
///   (`[4,37,38,39,40]`, retryable) without being forwarded.
/// * `unprocessed`: BatchWriteItem answers every request item as `UnprocessedItems`,
///   BatchGetItem every key as `UnprocessedKeys`, without forwarding (other methods are
///   served normally and do not consume the switch).
/// * `drop_mid_reply`: the reply is produced (the backend did the work), half of its bytes are
///   written, then the connection is closed.
/// * `reject_auth`: `authorizeConnection` is refused, so the next request on that connection
///   gets `AuthenticationRequiredException` (`[4,23,31,33]`).
/// * `slow`: every data reply waits this long, on the injected sleep (control calls and
///   `endpoints` stay fast, so clients still start and see the node healthy).
///
/// ```
/// # async fn demo(gw: &xacct_dax_local::DaxGateway) {
/// use std::time::Duration;
/// use xacct_dax_local::FaultKind;
///
/// let faults = gw.faults();
/// faults.throttle_next(3);
/// faults.set_slow(Some(Duration::from_millis(200)));
/// // ... run a client ...
/// assert!(faults.fired(FaultKind::Throttle) <= 3);
/// faults.reset();
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Throttles the next `n` data requests (0 turns it off).
    pub fn throttle_next(&self, n: u64) {
        self.lock().throttle = Budget::set(Some(n));
    }

    /// Throttles every data request until turned off.
    pub fn throttle_always(&self, on: bool) {
        self.lock().throttle = if on { Budget::Always } else { Budget::Off };
    }

    /// Answers the next `n` batch requests with everything unprocessed (0 turns it off).
    pub fn unprocessed_next(&self, n: u64) {
        self.lock().unprocessed = Budget::set(Some(n));
    }

    /// Answers every batch request with everything unprocessed until turned off.
    pub fn unprocessed_always(&self, on: bool) {
        self.lock().unprocessed = if on { Budget::Always } else { Budget::Off };
    }

    /// Breaks the next `n` data replies halfway (0 turns it off).
    pub fn drop_next(&self, n: u64) {
        self.lock().drop_mid_reply = Budget::set(Some(n));
    }

    /// Refuses the next `n` `authorizeConnection` calls (0 turns it off).
    pub fn reject_auth_next(&self, n: u64) {
        self.lock().reject_auth = Budget::set(Some(n));
    }

    /// Refuses every `authorizeConnection` until turned off.
    pub fn reject_auth_always(&self, on: bool) {
        self.lock().reject_auth = if on { Budget::Always } else { Budget::Off };
    }

    /// Delays every reply by `delay` (`None` turns it off).
    pub fn set_slow(&self, delay: Option<Duration>) {
        self.lock().slow = delay;
    }

    /// How often a switch fired since the gateway started (or the last [`reset`](Self::reset)).
    pub fn fired(&self, kind: FaultKind) -> u64 {
        self.lock().fired.get(&kind).copied().unwrap_or(0)
    }

    /// Turns every switch off and zeroes the counters.
    pub fn reset(&self) {
        *self.lock() = State::default();
    }

    fn take(&self, kind: FaultKind) -> bool {
        let mut g = self.lock();
        let fire = match kind {
            FaultKind::Throttle => g.throttle.take(),
            FaultKind::Unprocessed => g.unprocessed.take(),
            FaultKind::DropMidReply => g.drop_mid_reply.take(),
            FaultKind::RejectAuth => g.reject_auth.take(),
            FaultKind::Slow => g.slow.is_some(),
        };
        if fire {
            *g.fired.entry(kind).or_insert(0) += 1;
        }
        fire
    }

    pub(crate) fn throttle(&self) -> bool {
        self.take(FaultKind::Throttle)
    }

    pub(crate) fn unprocessed(&self) -> bool {
        self.take(FaultKind::Unprocessed)
    }

    pub(crate) fn drop_mid_reply(&self) -> bool {
        self.take(FaultKind::DropMidReply)
    }

    pub(crate) fn reject_auth(&self) -> bool {
        self.take(FaultKind::RejectAuth)
    }

    /// The delay to apply to this reply, counted as fired when set.
    pub(crate) fn slow(&self) -> Option<Duration> {
        let d = self.lock().slow;
        if d.is_some() {
            self.take(FaultKind::Slow);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_count_down_and_count_fires() {
        let f = Faults::default();
        assert!(!f.throttle());
        f.throttle_next(2);
        assert!(f.throttle());
        assert!(f.clone().throttle());
        assert!(!f.throttle());
        assert_eq!(f.fired(FaultKind::Throttle), 2);
        f.reject_auth_always(true);
        for _ in 0..5 {
            assert!(f.reject_auth());
        }
        f.reject_auth_always(false);
        assert!(!f.reject_auth());
        assert_eq!(f.fired(FaultKind::RejectAuth), 5);
        f.set_slow(Some(Duration::from_millis(5)));
        assert_eq!(f.slow(), Some(Duration::from_millis(5)));
        f.reset();
        assert_eq!(f.slow(), None);
        assert_eq!(f.fired(FaultKind::Throttle), 0);
    }
}
