//! The connections to one node: LIFO reuse of idle connections, idle reaping, a cap on
//! connections per node, and a bound on connects in progress (Go's defaults,
//! docs/dax-protocol.md §1.6).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, Semaphore};

use super::connection::Connection;
use super::error::{DaxError, Kind};
use super::{timeout, Shared};

/// One node's connection pool.
#[derive(Debug)]
pub(crate) struct NodePool {
    pub(crate) addr: SocketAddr,
    idle: Mutex<Vec<Connection>>,
    /// One permit per open connection (the cap per node).
    slots: Arc<Semaphore>,
    /// One permit per connect in progress.
    pending: Arc<Semaphore>,
    /// Signalled when a connection is returned (wakes a request waiting at the cap).
    returned: Notify,
    /// The preamble's session id (one per pool, as the official clients do).
    session: [u8; 16],
    max_connections: usize,
}

impl NodePool {
    pub(crate) fn new(addr: SocketAddr, max_connections: usize, max_pending: usize) -> Self {
        let mut session = [0u8; 16];
        fastrand::fill(&mut session);
        NodePool {
            addr,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(max_connections.max(1))),
            pending: Arc::new(Semaphore::new(max_pending.max(1))),
            returned: Notify::new(),
            session,
            max_connections: max_connections.max(1),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle connection that is still usable, else a new one (bounded by
    /// the cap: at the cap, waits for a connection to come back or to close).
    /// `connect_timeout` bounds the whole wait, the connect included.
    pub(crate) async fn checkout(
        &self,
        shared: &Shared,
        connect_timeout: Duration,
    ) -> Result<Connection, DaxError> {
        let wait = async {
            loop {
                // Registered before looking, so a checkin in between is not missed.
                let returned = self.returned.notified();
                if let Some(conn) = self.pop_idle(shared) {
                    return Ok(conn);
                }
                let slot = match self.slots.clone().try_acquire_owned() {
                    Ok(slot) => slot,
                    Err(_) => {
                        let freed = self.slots.clone().acquire_owned();
                        match futures_util::future::select(
                            std::pin::pin!(returned),
                            std::pin::pin!(freed),
                        )
                        .await
                        {
                            futures_util::future::Either::Left(_) => continue,
                            futures_util::future::Either::Right((Ok(slot), _)) => slot,
                            futures_util::future::Either::Right((Err(_), _)) => {
                                return Err(DaxError::new(Kind::Unsupported, "node pool closed"))
                            }
                        }
                    }
                };
                let _pending = self
                    .pending
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| DaxError::new(Kind::Unsupported, "node pool closed"))?;
                let span = tracing::debug_span!(
                    "dax.connect",
                    node = %self.addr,
                    tls = shared.tls.is_some()
                );
                let conn = tracing::Instrument::instrument(
                    Connection::open(
                        self.addr,
                        shared.tls.as_ref(),
                        &self.session,
                        &shared.settings.user_agent,
                        shared.time.now(),
                        Some(slot),
                    ),
                    span,
                )
                .await?;
                super::telemetry::connection_created();
                return Ok(conn);
            }
        };
        match timeout(&shared.sleep, connect_timeout, wait).await {
            Ok(r) => r,
            Err(()) => Err(DaxError::new(
                Kind::Timeout,
                format!(
                    "no connection to DAX node {} within {connect_timeout:?} (connect timeout: \
                     the node did not accept, or all its connections stayed busy)",
                    self.addr
                ),
            )),
        }
    }

    fn pop_idle(&self, shared: &Shared) -> Option<Connection> {
        let now = shared.time.now();
        loop {
            let mut conn = self.idle().pop()?;
            let idle_for = now.duration_since(conn.last_used).unwrap_or(Duration::ZERO);
            if idle_for >= shared.settings.idle_timeout {
                conn.close_reason = "idle";
            } else if conn.is_reusable() {
                return Some(conn);
            } else {
                conn.close_reason = "closed_by_peer";
            }
        }
    }

    /// Returns a healthy connection for reuse.
    pub(crate) fn checkin(&self, mut conn: Connection, now: SystemTime) {
        conn.last_used = now;
        self.idle().push(conn);
        self.returned.notify_one();
    }

    /// Closes idle connections unused for `idle_timeout`.
    pub(crate) fn reap(&self, now: SystemTime, idle_timeout: Duration) {
        let mut closed = Vec::new();
        {
            let mut idle = self.idle();
            let mut i = 0;
            while i < idle.len() {
                if now
                    .duration_since(idle[i].last_used)
                    .unwrap_or(Duration::ZERO)
                    < idle_timeout
                {
                    i += 1;
                } else {
                    let mut c = idle.remove(i);
                    c.close_reason = "idle";
                    closed.push(c);
                }
            }
        }
        // Closed outside the lock (a close is recorded in the metrics).
        drop(closed);
    }

    /// Closes every idle connection (the node failed).
    pub(crate) fn clear(&self) {
        let mut closed: Vec<Connection> = std::mem::take(&mut *self.idle());
        for c in closed.iter_mut() {
            c.close_reason = "node_down";
        }
        drop(closed);
    }

    /// Connections open (checked out or idle).
    pub(crate) fn open(&self) -> usize {
        self.max_connections - self.slots.available_permits()
    }

    /// Idle connections.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }
}
