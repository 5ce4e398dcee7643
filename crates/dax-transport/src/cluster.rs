//! Cluster membership, health and routing (docs/dax-protocol.md §3): seed endpoints, the periodic
//! `endpoints` refresh, health checks, writes to the leader, reads spread over healthy nodes, nodes
//! leaving and joining, and a different node for the retry of a failed attempt.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use aws_smithy_async::rt::sleep::AsyncSleep;

use super::connection::Connection;
use super::error::{DaxError, Kind};
use super::pool::NodePool;
use super::{timeout, Shared};
use xacct_dax_protocol::codec::{
    decode_endpoints_response, encode_endpoints_request, Endpoint, Method, ROLE_LEADER,
};

/// One node of the cluster.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) addr: SocketAddr,
    leader: AtomicBool,
    healthy: AtomicBool,
    pub(crate) pool: NodePool,
}

impl Node {
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// An I/O failure: route around the node until a health check or refresh says otherwise,
    /// and close its idle connections (they lead to the same failure).
    pub(crate) fn mark_down(&self) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::debug!(node = %self.addr, "DAX node marked unhealthy");
        }
        self.pool.clear();
    }

    fn mark_up(&self) {
        if !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::debug!(node = %self.addr, "DAX node healthy again");
        }
    }
}

/// What routing looks at: a pure view of the node list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeView {
    pub(crate) addr: SocketAddr,
    pub(crate) leader: bool,
    pub(crate) healthy: bool,
}

/// Picks a node: healthy ones (all, if none is), not `avoid` if another will do, the leader
/// for writes when one is among them; `turn` spreads the choice.
pub(crate) fn choose(
    nodes: &[NodeView],
    write: bool,
    avoid: Option<SocketAddr>,
    turn: usize,
) -> Option<usize> {
    let mut candidates: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].healthy).collect();
    if candidates.is_empty() {
        candidates = (0..nodes.len()).collect();
    }
    if let Some(avoid) = avoid {
        let others: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| nodes[i].addr != avoid)
            .collect();
        if !others.is_empty() {
            candidates = others;
        }
    }
    if write {
        let leaders: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| nodes[i].leader)
            .collect();
        if !leaders.is_empty() {
            candidates = leaders;
        }
    }
    (!candidates.is_empty()).then(|| candidates[turn % candidates.len()])
}

/// The node set and its background upkeep.
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    nodes: RwLock<Arc<Vec<Arc<Node>>>>,
    turn: AtomicUsize,
    refresh: tokio::sync::Mutex<()>,
    /// Successful `endpoints` refreshes (for tests and Debug).
    pub(crate) refreshes: AtomicU64,
    /// An upkeep task is running (or being started).
    task_started: AtomicBool,
}

impl Cluster {
    pub(crate) fn nodes(&self) -> Arc<Vec<Arc<Node>>> {
        self.nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Picks a node for a request (discovering the cluster first if needed).
    pub(crate) async fn pick(
        &self,
        shared: &Arc<Shared>,
        write: bool,
        avoid: Option<SocketAddr>,
    ) -> Result<Arc<Node>, DaxError> {
        self.start_upkeep(shared);
        let mut nodes = self.nodes();
        if nodes.is_empty() {
            self.discover(shared).await?;
            nodes = self.nodes();
        }
        let views: Vec<NodeView> = nodes
            .iter()
            .map(|n| NodeView {
                addr: n.addr,
                leader: n.is_leader(),
                healthy: n.is_healthy(),
            })
            .collect();
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        choose(&views, write, avoid, turn)
            .map(|i| nodes[i].clone())
            .ok_or_else(|| DaxError::new(Kind::Connect, "the DAX cluster reported no nodes"))
    }

    /// The first discovery: concurrent first requests wait for one `endpoints` call.
    async fn discover(&self, shared: &Shared) -> Result<(), DaxError> {
        let _one_at_a_time = self.refresh.lock().await;
        if self.nodes().is_empty() {
            self.refresh_locked(shared).await
        } else {
            Ok(())
        }
    }

    /// Asks the seeds (then the known nodes) for the node list and applies the first answer.
    pub(crate) async fn refresh(&self, shared: &Shared) -> Result<(), DaxError> {
        let _one_at_a_time = self.refresh.lock().await;
        self.refresh_locked(shared).await
    }

    async fn refresh_locked(&self, shared: &Shared) -> Result<(), DaxError> {
        let mut last = None;
        let mut addrs = shared.seed_addresses().await.unwrap_or_else(|e| {
            last = Some(e);
            Vec::new()
        });
        addrs.extend(self.nodes().iter().map(|n| n.addr));
        addrs.dedup();
        for addr in addrs {
            match endpoints_from(shared, addr).await {
                Ok(endpoints) if !endpoints.is_empty() => {
                    self.apply(shared, &endpoints);
                    self.refreshes.fetch_add(1, Ordering::Relaxed);
                    super::telemetry::discovery(true);
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) => last = Some(e),
            }
        }
        super::telemetry::discovery(false);
        Err(last.unwrap_or_else(|| {
            DaxError::new(
                Kind::Connect,
                "no DAX seed endpoint answered the endpoints call",
            )
        }))
    }

    /// Replaces the node set: known nodes keep their pools, new ones get one, gone ones close.
    fn apply(&self, shared: &Shared, endpoints: &[Endpoint]) {
        let old = self.nodes();
        let mut next = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let addr = SocketAddr::new(e.address, e.port);
            if next.iter().any(|n: &Arc<Node>| n.addr == addr) {
                continue;
            }
            let node = old
                .iter()
                .find(|n| n.addr == addr)
                .cloned()
                .unwrap_or_else(|| {
                    Arc::new(Node {
                        addr,
                        leader: AtomicBool::new(false),
                        healthy: AtomicBool::new(true),
                        pool: NodePool::new(
                            addr,
                            shared.settings.max_connections_per_node,
                            shared.settings.max_pending_connects,
                        ),
                    })
                });
            node.leader.store(e.role == ROLE_LEADER, Ordering::Relaxed);
            next.push(node);
        }
        *self
            .nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
    }

    /// `endpoints` on every node, on a connection of its own (a busy pool must not make a
    /// node look dead): answers mark it healthy, failures down. Idle connections are reaped.
    pub(crate) async fn health_check(&self, shared: &Shared) {
        for node in self.nodes().iter() {
            match endpoints_from(shared, node.addr).await {
                Ok(_) => node.mark_up(),
                Err(e) => {
                    tracing::debug!(node = %node.addr, error = %e, "DAX health check failed");
                    node.mark_down()
                }
            }
            node.pool
                .reap(shared.time.now(), shared.settings.idle_timeout);
        }
    }

    /// Starts the refresh / health / reaping task unless it runs: once, and again after the
    /// runtime it ran on shut down (the task's [`UpkeepRunning`] guard is dropped with it). It
    /// ends when the transport is dropped.
    fn start_upkeep(&self, shared: &Arc<Shared>) {
        if self.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.task_started.store(false, Ordering::Release);
            return;
        };
        let running = UpkeepRunning(Arc::downgrade(shared));
        handle.spawn(upkeep(Arc::downgrade(shared), running));
    }
}

/// Held by the upkeep task: dropping it (the task ended, or its runtime shut down and dropped
/// it) lets the next request start a new one.
struct UpkeepRunning(Weak<Shared>);

impl Drop for UpkeepRunning {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            shared.cluster.task_started.store(false, Ordering::Release);
        }
    }
}

async fn upkeep(weak: Weak<Shared>, _running: UpkeepRunning) {
    let (sleep, refresh_every, health_every) = match weak.upgrade() {
        Some(s) => (
            s.sleep.clone(),
            s.settings.refresh_interval,
            s.settings.health_interval,
        ),
        None => return,
    };
    let tick = refresh_every
        .min(health_every)
        .max(Duration::from_millis(50));
    let (mut since_refresh, mut since_health) = (Duration::ZERO, Duration::ZERO);
    loop {
        sleep.sleep(tick).await;
        let Some(shared) = weak.upgrade() else { return };
        since_refresh += tick;
        since_health += tick;
        if since_refresh >= refresh_every {
            since_refresh = Duration::ZERO;
            if let Err(e) = shared.cluster.refresh(&shared).await {
                tracing::debug!(error = %e, "DAX endpoints refresh failed");
            }
        }
        if since_health >= health_every {
            since_health = Duration::ZERO;
            shared.cluster.health_check(&shared).await;
        }
    }
}

/// One `endpoints` call on a fresh connection (seeds and health checks are not pooled).
async fn endpoints_from(shared: &Shared, addr: SocketAddr) -> Result<Vec<Endpoint>, DaxError> {
    let call = async {
        let mut conn = Connection::open(
            addr,
            shared.tls.as_ref(),
            &[0u8; 16],
            &shared.settings.user_agent,
            shared.time.now(),
            None,
        )
        .await?;
        let mut frame = Vec::new();
        encode_endpoints_request(&mut frame);
        let reply = shared
            .send(&mut conn, &frame, Method::Endpoints)
            .await
            .map_err(|e| e.into_inner())?;
        match decode_endpoints_response(&reply) {
            Ok(Ok(endpoints)) => Ok(endpoints),
            Ok(Err(service)) if service.is_auth_error() => {
                shared.key_rejected(&conn);
                Err(DaxError::new(
                    Kind::Auth,
                    format!("DAX node {addr} refused the connection's authorization"),
                )
                .with_source(*service))
            }
            Ok(Err(service)) => Err(DaxError::new(
                if service.is_auth_error() {
                    Kind::Auth
                } else {
                    Kind::Protocol
                },
                format!("DAX node {addr} refused the endpoints call"),
            )
            .with_source(*service)),
            Err(e) => Err(DaxError::new(
                Kind::Protocol,
                format!("bad endpoints reply from {addr}"),
            )
            .with_source(e)),
        }
    };
    match timeout(&shared.sleep, shared.settings.connect_timeout, call).await {
        Ok(r) => r,
        Err(()) => Err(DaxError::new(
            Kind::Timeout,
            format!("DAX seed {addr} did not answer the endpoints call in time"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(port: u16, leader: bool, healthy: bool) -> NodeView {
        NodeView {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            leader,
            healthy,
        }
    }

    #[test]
    fn writes_go_to_the_leader_reads_spread() {
        let nodes = [v(1, false, true), v(2, true, true), v(3, false, true)];
        for turn in 0..6 {
            assert_eq!(choose(&nodes, true, None, turn), Some(1));
        }
        let reads: std::collections::HashSet<_> = (0..6)
            .map(|t| choose(&nodes, false, None, t).unwrap())
            .collect();
        assert_eq!(reads.len(), 3);
    }

    #[test]
    fn unhealthy_nodes_are_skipped_unless_all_are() {
        let nodes = [v(1, true, false), v(2, false, true)];
        // The leader is down: writes go to a healthy replica.
        assert_eq!(choose(&nodes, true, None, 0), Some(1));
        assert_eq!(choose(&nodes, false, None, 7), Some(1));
        let all_down = [v(1, true, false), v(2, false, false)];
        assert_eq!(choose(&all_down, true, None, 0), Some(0));
        assert!(choose(&[], false, None, 0).is_none());
    }

    #[test]
    fn a_retry_avoids_the_node_that_failed_if_it_can() {
        let nodes = [v(1, true, true), v(2, false, true)];
        let leader = nodes[0].addr;
        assert_eq!(choose(&nodes, true, Some(leader), 0), Some(1));
        let single = [v(1, true, true)];
        assert_eq!(choose(&single, true, Some(leader), 0), Some(0));
    }
}
