//! The gateway's two logs: one record per `authorizeConnection` ([`AuthRecord`]) and one per
//! request ([`RequestRecord`]). Both are bounded (oldest records dropped first) and read as
//! snapshots.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use xacct_dax_protocol::codec::{Item, Method};

/// Records kept per log; older records are dropped first.
pub(crate) const LOG_CAPACITY: usize = 100_000;

/// Which listener a connection came in on.
///
/// ```
/// use xacct_dax_local::Listener;
///
/// assert_eq!(Listener::Node(1).to_string(), "node 1");
/// assert_eq!(Listener::Discovery.node(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Listener {
    /// The cluster (discovery) endpoint, what [`DaxGateway::endpoint`](super::DaxGateway::endpoint)
    /// names.
    Discovery,
    /// Node `i` (0 is the first node).
    Node(usize),
}

impl Listener {
    /// The node index, `None` for the discovery listener.
    pub fn node(self) -> Option<usize> {
        match self {
            Listener::Discovery => None,
            Listener::Node(i) => Some(i),
        }
    }
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listener::Discovery => f.write_str("discovery"),
            Listener::Node(i) => write!(f, "node {i}"),
        }
    }
}

/// Why an `authorizeConnection` or a request was refused.
///
/// ```
/// use xacct_dax_local::RejectReason;
///
/// assert_eq!(RejectReason::KeyExpired.to_string(), "key expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The connection never authorized (or its authorization was refused).
    NotAuthorized,
    /// The access key id is not known to the verifier.
    UnknownKey,
    /// The signature does not match the key's secret.
    BadSignature,
    /// The signing date is more than 15 minutes away from the gateway's clock.
    SigningDateSkewed,
    /// The signature's scope names another region than the gateway's (its backend's).
    WrongRegion,
    /// The key's session has expired.
    KeyExpired,
    /// The `reject auth` fault switch was on.
    FaultInjected,
    /// The verifier could not look the key up (e.g. the local stack did not answer).
    LookupFailed(String),
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::NotAuthorized => f.write_str("connection not authorized"),
            RejectReason::UnknownKey => f.write_str("unknown access key id"),
            RejectReason::BadSignature => f.write_str("signature does not match"),
            RejectReason::SigningDateSkewed => f.write_str("signing date outside 15 minutes"),
            RejectReason::WrongRegion => f.write_str("signed for another region"),
            RejectReason::KeyExpired => f.write_str("key expired"),
            RejectReason::FaultInjected => f.write_str("rejected by fault switch"),
            RejectReason::LookupFailed(why) => write!(f, "key lookup failed: {why}"),
        }
    }
}

/// One `authorizeConnection` the gateway received. Holds no secret: the session token and the
/// signature are not kept.
///
/// ```
/// # async fn demo(gw: &xacct_dax_local::DaxGateway) {
/// for rec in gw.auth_log() {
///     println!("{} conn {} key {} accepted: {}", rec.listener, rec.connection, rec.access_key_id, rec.accepted());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthRecord {
    /// Listener of the connection.
    pub listener: Listener,
    /// Connection id (unique per gateway).
    pub connection: u64,
    /// The access key id the client sent.
    pub access_key_id: String,
    /// When the gateway received it (injected time source).
    pub at: SystemTime,
    /// `None` when accepted, else why not.
    pub rejected: Option<RejectReason>,
}

impl AuthRecord {
    /// Whether the authorization was accepted.
    pub fn accepted(&self) -> bool {
        self.rejected.is_none()
    }
}

/// A fault switch that fired.
///
/// ```
/// use xacct_dax_local::FaultKind;
///
/// assert_eq!(FaultKind::Throttle.to_string(), "throttle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answered ProvisionedThroughputExceededException without forwarding.
    Throttle,
    /// Answered a batch with every item unprocessed, without forwarding.
    Unprocessed,
    /// Reply delayed.
    Slow,
    /// Half the reply written, then the connection closed.
    DropMidReply,
    /// `authorizeConnection` refused.
    RejectAuth,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Unprocessed => "unprocessed items",
            FaultKind::Slow => "slow reply",
            FaultKind::DropMidReply => "dropped mid-reply",
            FaultKind::RejectAuth => "reject auth",
        })
    }
}

/// What became of a request.
///
/// ```
/// use xacct_dax_local::{Outcome, RejectReason};
///
/// let o = Outcome::Rejected(RejectReason::KeyExpired);
/// assert!(!o.is_ok());
/// assert_eq!(o.to_string(), "rejected: key expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Still being served.
    InFlight,
    /// Answered with a success reply.
    Ok,
    /// Answered with a DAX error reply carrying this DynamoDB exception name (from the
    /// backend, or the gateway's own: ValidationException, ResourceNotFoundException ...).
    ServiceError(String),
    /// Refused before forwarding (authentication).
    Rejected(RejectReason),
    /// A fault switch answered (throttle, unprocessed items) or broke the reply (drop).
    Fault(FaultKind),
    /// The connection closed before the reply was written (client gone, node killed).
    Dropped,
}

impl Outcome {
    /// A success reply was written.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::InFlight => f.write_str("in flight"),
            Outcome::Ok => f.write_str("ok"),
            Outcome::ServiceError(name) => write!(f, "error {name}"),
            Outcome::Rejected(why) => write!(f, "rejected: {why}"),
            Outcome::Fault(kind) => write!(f, "fault: {kind}"),
            Outcome::Dropped => f.write_str("dropped"),
        }
    }
}

/// One request the gateway received (control calls included, `authorizeConnection` not: see
/// [`AuthRecord`]).
///
/// ```
/// # async fn demo(gw: &xacct_dax_local::DaxGateway) {
/// use xacct_dax_protocol::codec::Method;
///
/// let retried_puts = gw.request_log().iter()
///     .filter(|r| r.method == Method::PutItem && r.attempt > 1)
///     .count();
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Sequence number (unique per gateway, in arrival order).
    pub seq: u64,
    /// Listener of the connection.
    pub listener: Listener,
    /// Connection id.
    pub connection: u64,
    /// Access key id the connection authorized with, if any.
    pub access_key_id: Option<String>,
    /// The method.
    pub method: Method,
    /// Tables named by the request (one for item operations, Query and Scan).
    pub tables: Vec<String>,
    /// Item keys: the one key of an item operation; every key of a batch or transaction.
    pub keys: Vec<Item>,
    /// 1 + the number of earlier requests in the log with identical bytes (a client's retry
    /// is 2, 3 ...).
    pub attempt: u32,
    /// When it arrived (injected time source).
    pub at: SystemTime,
    /// What became of it.
    pub outcome: Outcome,
}

impl RequestRecord {
    /// The node that served it (`None` for the discovery listener).
    pub fn node(&self) -> Option<usize> {
        self.listener.node()
    }
}

#[derive(Debug, Default)]
struct Inner {
    auth: VecDeque<AuthRecord>,
    /// Records with their request fingerprint, oldest first; `seq` numbers are consecutive.
    requests: VecDeque<(u64, RequestRecord)>,
    /// How many records in `requests` have each fingerprint (entries leave with their records,
    /// so a long-running gateway does not grow).
    fingerprints: HashMap<u64, u32>,
    next_seq: u64,
}

impl Inner {
    /// The record with sequence number `seq`, if it is still in the log.
    fn request_mut(&mut self, seq: u64) -> Option<&mut RequestRecord> {
        let first = self.requests.front()?.1.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.requests.get_mut(index).map(|(_, r)| r)
    }
}

/// Both logs, shared by every listener.
#[derive(Debug, Default, Clone)]
pub(crate) struct Logs {
    inner: Arc<Mutex<Inner>>,
}

impl Logs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn auth(&self, rec: AuthRecord) {
        let mut g = self.lock();
        if g.auth.len() >= LOG_CAPACITY {
            g.auth.pop_front();
        }
        g.auth.push_back(rec);
    }

    /// Opens an in-flight record; returns its sequence number.
    pub(crate) fn begin(&self, frame: &[u8], mut rec: RequestRecord) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        frame.hash(&mut hasher);
        let fp = hasher.finish();
        let mut g = self.lock();
        let n = g.fingerprints.entry(fp).or_insert(0);
        *n += 1;
        rec.attempt = *n;
        rec.seq = g.next_seq;
        g.next_seq += 1;
        if g.requests.len() >= LOG_CAPACITY {
            if let Some((old, _)) = g.requests.pop_front() {
                if let Some(count) = g.fingerprints.get_mut(&old) {
                    *count -= 1;
                    if *count == 0 {
                        g.fingerprints.remove(&old);
                    }
                }
            }
        }
        let seq = rec.seq;
        g.requests.push_back((fp, rec));
        seq
    }

    /// Sets the outcome of record `seq` (if still in the log); `only_in_flight` leaves a
    /// final outcome alone.
    pub(crate) fn finish(&self, seq: u64, outcome: Outcome, only_in_flight: bool) {
        let mut g = self.lock();
        if let Some(r) = g.request_mut(seq) {
            if !only_in_flight || r.outcome == Outcome::InFlight {
                r.outcome = outcome;
            }
        }
    }

    /// Fills in the tables and keys of record `seq` once the request is decoded.
    pub(crate) fn annotate(&self, seq: u64, tables: Vec<String>, keys: Vec<Item>) {
        let mut g = self.lock();
        if let Some(r) = g.request_mut(seq) {
            r.tables = tables;
            r.keys = keys;
        }
    }

    pub(crate) fn auth_snapshot(&self) -> Vec<AuthRecord> {
        self.lock().auth.iter().cloned().collect()
    }

    pub(crate) fn request_snapshot(&self) -> Vec<RequestRecord> {
        self.lock()
            .requests
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.auth.clear();
        g.requests.clear();
        g.fingerprints.clear();
    }
}

/// Marks a request record `Dropped` unless it was finished (the connection task ended or was
/// aborted mid-request).
pub(crate) struct InFlight {
    pub(crate) logs: Logs,
    pub(crate) seq: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.logs.finish(self.seq, Outcome::Dropped, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> RequestRecord {
        RequestRecord {
            seq: 0,
            listener: Listener::Node(0),
            connection: 1,
            access_key_id: None,
            method: Method::PutItem,
            tables: vec![],
            keys: vec![],
            attempt: 0,
            at: SystemTime::UNIX_EPOCH,
            outcome: Outcome::InFlight,
        }
    }

    #[test]
    fn attempts_count_identical_frames_and_drop_guard_marks_dropped() {
        let logs = Logs::default();
        let a = logs.begin(b"frame-a", rec());
        let b = logs.begin(b"frame-a", rec());
        let c = logs.begin(b"frame-b", rec());
        logs.finish(a, Outcome::Ok, true);
        drop(InFlight {
            logs: logs.clone(),
            seq: a,
        });
        drop(InFlight {
            logs: logs.clone(),
            seq: b,
        });
        let snap = logs.request_snapshot();
        assert_eq!(
            snap.iter().map(|r| r.attempt).collect::<Vec<_>>(),
            [1, 2, 1]
        );
        assert_eq!(snap[0].outcome, Outcome::Ok);
        assert_eq!(snap[1].outcome, Outcome::Dropped);
        assert_eq!(snap[2].seq, c);
        logs.clear();
        assert!(logs.request_snapshot().is_empty());
        let again = logs.begin(b"frame-a", rec());
        assert_eq!(logs.request_snapshot()[0].attempt, 1, "{again}");
    }

    #[test]
    fn the_log_is_bounded_and_its_fingerprints_leave_with_its_records() {
        let logs = Logs::default();
        for i in 0..LOG_CAPACITY + 10 {
            logs.begin(&i.to_le_bytes(), rec());
        }
        let g = logs.lock();
        assert_eq!(g.requests.len(), LOG_CAPACITY);
        assert_eq!(g.fingerprints.len(), LOG_CAPACITY);
        drop(g);
        // The oldest record left, and an in-log record is still found by its sequence number.
        let last = (LOG_CAPACITY + 9) as u64;
        logs.finish(last, Outcome::Ok, true);
        logs.finish(0, Outcome::Ok, true); // evicted: nothing to do
        let snap = logs.request_snapshot();
        assert_eq!(snap[0].seq, 10);
        assert_eq!(snap.last().map(|r| r.outcome.clone()), Some(Outcome::Ok));
    }
}
