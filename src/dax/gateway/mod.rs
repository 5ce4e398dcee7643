//! A local DAX gateway: a server that speaks the DAX protocol on loopback and serves every
//! request by forwarding it to a DynamoDB endpoint (the local stack, DynamoDB Local, or real
//! DynamoDB), so that code written for DAX runs on a laptop or in CI.
//!
//! It is a **pass-through**: there is no item cache and no query cache, every read goes to the
//! backend, so reads are as consistent as the backend's (a real DAX cluster can serve stale
//! items; cache emulation may come later). The backend decides the semantics: expressions
//! are decompiled from the DAX trees back into text (names written bare where DynamoDB allows
//! it, generated placeholders for the rest) and sent with the backend's own identity, as a
//! DAX cluster uses its service role.
//!
//! What it serves: the connection preamble, `authorizeConnection` (checked by an
//! [`AuthVerifier`]), `endpoints` (one entry per live node, the leader with role 1),
//! `defineKeySchema` (from DescribeTable, cached per table), `defineAttributeListId` /
//! `defineAttributeList` (one registry shared by all nodes, ids from 100 up) and the ten data
//! methods, with DynamoDB's errors turned into DAX error replies (TransactionCanceled with its
//! reasons and old items).
//!
//! For tests it keeps an [`auth_log`](DaxGateway::auth_log) and a
//! [`request_log`](DaxGateway::request_log), has [fault switches](Faults) for what the
//! backend cannot produce on demand, and nodes can be [killed](DaxGateway::kill_node) and
//! [restarted](DaxGateway::restart_node).
//!
//! ```
//! use cross_account_dynamodb::{AuthVerifier, DaxGateway};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let backend = aws_config::SdkConfig::builder()
//!     .region(aws_config::Region::new("us-east-1"))
//!     .endpoint_url("http://127.0.0.1:8000")
//!     .behavior_version(aws_config::BehaviorVersion::latest())
//!     .build();
//! let gw = DaxGateway::builder()
//!     .backend(&backend)
//!     .nodes(2)
//!     .auth(AuthVerifier::AcceptAll)
//!     .start()
//!     .await?;
//! assert!(gw.endpoint().starts_with("dax://127.0.0.1:"));
//! assert_eq!(gw.leader(), Some(0));
//! gw.kill_node(0)?;
//! assert_eq!(gw.leader(), Some(1));
//! gw.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod errors;
mod faults;
mod forward;
mod log;
mod node;
mod schema;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_async::rt::sleep::{default_async_sleep, AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_types::SdkConfig;
use tokio::task::JoinHandle;

pub use auth::AuthVerifier;
pub use faults::Faults;
pub use log::{AuthRecord, FaultKind, Listener, Outcome, RejectReason, RequestRecord};
pub use tls::TlsConfig;

use forward::Backend;
use node::{accept_loop, advertised, bind, NodeInfo, Shared};

/// Why a gateway did not start, or a node index was wrong.
///
/// ```
/// use cross_account_dynamodb::DaxGateway;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = DaxGateway::builder().start().await.unwrap_err();
/// assert!(err.is_config());
/// assert_eq!(err.to_string(), "the DAX gateway needs a backend: call .backend(&sdk_config)");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// No backend `SdkConfig` was given.
    #[error("the DAX gateway needs a backend: call .backend(&sdk_config)")]
    MissingBackend,
    /// The backend `SdkConfig` has no region.
    #[error("the backend SdkConfig has no region: set one (the backend client signs with it)")]
    MissingRegion,
    /// `nodes(0)` or more than 64 nodes.
    #[error("a DAX gateway has 1 to 64 nodes, not {0}")]
    BadNodeCount(usize),
    /// The listen address is not loopback and remote access was not allowed.
    #[error(
        "refusing to listen on {0}: not a loopback address (use allow_remote(true) to override)"
    )]
    NotLoopback(IpAddr),
    /// `start` was called outside a tokio runtime.
    #[error("the DAX gateway must be started inside a tokio runtime")]
    NoRuntime,
    /// A listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS settings could not be turned into a server configuration.
    #[error("TLS setup failed: {what}")]
    Tls {
        /// What was being done.
        what: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `kill_node` / `restart_node` with an index the gateway does not have.
    #[error("the gateway has {nodes} nodes; there is no node {index}")]
    NoSuchNode {
        /// The index asked for.
        index: usize,
        /// How many nodes there are.
        nodes: usize,
    },
}

impl GatewayError {
    /// A listener could not be bound (port taken, address not local ...).
    pub fn is_bind(&self) -> bool {
        matches!(self, GatewayError::Bind { .. })
    }

    /// The TLS settings were unusable.
    pub fn is_tls(&self) -> bool {
        matches!(self, GatewayError::Tls { .. })
    }

    /// The builder's settings (or a node index) were wrong.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            GatewayError::MissingBackend
                | GatewayError::MissingRegion
                | GatewayError::BadNodeCount(_)
                | GatewayError::NotLoopback(_)
                | GatewayError::NoSuchNode { .. }
        )
    }
}

/// Settings of a [`DaxGateway`]; see [`DaxGateway::builder`].
///
/// ```
/// use cross_account_dynamodb::{AuthVerifier, DaxGateway, TlsConfig};
///
/// let builder = DaxGateway::builder()
///     .nodes(3)
///     .auth(AuthVerifier::AcceptAll)
///     .tls(TlsConfig::self_signed("localhost"))
///     .listen("127.0.0.1:0".parse().unwrap());
/// # let _ = builder;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct DaxGatewayBuilder {
    backend: Option<SdkConfig>,
    nodes: usize,
    auth: AuthVerifier,
    tls: Option<TlsConfig>,
    listen: SocketAddr,
    allow_remote: bool,
}

impl Default for DaxGatewayBuilder {
    fn default() -> Self {
        DaxGatewayBuilder {
            backend: None,
            nodes: 1,
            auth: AuthVerifier::AcceptAll,
            tls: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            allow_remote: false,
        }
    }
}

impl DaxGatewayBuilder {
    /// The DynamoDB endpoint, region, identity, time source and sleep to forward with
    /// (required). Requests go out with this identity, whoever authorized the DAX connection.
    pub fn backend(mut self, config: &SdkConfig) -> Self {
        self.backend = Some(config.clone());
        self
    }

    /// Number of nodes (default 1), each on its own listener; node 0 leads at start.
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Who may connect (default [`AuthVerifier::AcceptAll`]).
    pub fn auth(mut self, verifier: AuthVerifier) -> Self {
        self.auth = verifier;
        self
    }

    /// Serve `daxs://` with these TLS settings (default: plain `dax://`).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The discovery listener's address (default `127.0.0.1:0`, port 0 = any free port). Nodes
    /// listen on the same IP, on ports of their own.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Allow a non-loopback listen address (default false: the gateway has no real security).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Binds every listener and starts serving.
    pub async fn start(self) -> Result<DaxGateway, GatewayError> {
        let backend = self.backend.ok_or(GatewayError::MissingBackend)?;
        let region = backend.region().ok_or(GatewayError::MissingRegion)?.clone();
        if !(1..=64).contains(&self.nodes) {
            return Err(GatewayError::BadNodeCount(self.nodes));
        }
        let ip = self.listen.ip();
        if !ip.is_loopback() && !self.allow_remote {
            return Err(GatewayError::NotLoopback(ip));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| GatewayError::NoRuntime)?;
        let time = backend
            .time_source()
            .unwrap_or_else(|| SharedTimeSource::new(SystemTimeSource::new()));
        let sleep = backend
            .sleep_impl()
            .or_else(default_async_sleep)
            .ok_or(GatewayError::NoRuntime)?;
        let tls = self.tls.as_ref().map(TlsConfig::build).transpose()?;

        let bind_err = |addr: SocketAddr| move |source| GatewayError::Bind { addr, source };
        let discovery = bind(ip, self.listen.port())
            .await
            .map_err(bind_err(self.listen))?;
        let discovery_port = discovery
            .local_addr()
            .map_err(bind_err(self.listen))?
            .port();
        let mut node_listeners = Vec::with_capacity(self.nodes);
        let mut infos = Vec::with_capacity(self.nodes);
        for _ in 0..self.nodes {
            let addr = SocketAddr::new(ip, 0);
            let l = bind(ip, 0).await.map_err(bind_err(addr))?;
            let port = l.local_addr().map_err(bind_err(addr))?.port();
            infos.push(NodeInfo::new(port));
            node_listeners.push(l);
        }

        let client = aws_sdk_dynamodb::Client::new(&backend);
        let (acceptor, pem) = match tls {
            Some(t) => (
                Some(node::Tls {
                    acceptor: t.acceptor,
                    name: t.name,
                }),
                t.files,
            ),
            None => (None, None),
        };
        let scheme_host = match &acceptor {
            Some(tls) => format!("daxs://{}", tls.name),
            None => format!("dax://{}", advertised(ip)),
        };
        let shared = Arc::new(Shared {
            backend: Backend::new(client),
            auth: auth::Auth::new(self.auth, sleep.clone(), region.as_ref()),
            logs: log::Logs::default(),
            faults: Faults::default(),
            time,
            sleep: sleep.clone(),
            tls: acceptor,
            bind_ip: ip,
            advertise: advertised(ip),
            nodes: infos,
            leader: Mutex::new(None),
            leader_epoch: AtomicI64::new(1000),
            availability_zone: format!("{}a", region.as_ref()),
            connections: AtomicU64::new(0),
            shutdown: tokio::sync::watch::Sender::new(false),
            tasks: Mutex::new(tokio::task::JoinSet::new()),
        });
        let mut nodes = Vec::with_capacity(self.nodes);
        for (i, l) in node_listeners.into_iter().enumerate() {
            shared.set_listening(i, true);
            let task = runtime.spawn(accept_loop(shared.clone(), Listener::Node(i), l));
            nodes.push(Mutex::new(NodeTask {
                handle: Some(task),
                up: true,
            }));
        }
        let discovery_task =
            runtime.spawn(accept_loop(shared.clone(), Listener::Discovery, discovery));
        Ok(DaxGateway {
            shared: shared.clone(),
            control: Arc::new(Control {
                shared: shared.clone(),
                runtime,
                sleep,
                discovery: Mutex::new(Some(discovery_task)),
                nodes,
                pem,
                endpoint: format!("{scheme_host}:{discovery_port}"),
                discovery_port,
            }),
        })
    }
}

#[derive(Debug)]
struct NodeTask {
    handle: Option<JoinHandle<()>>,
    up: bool,
}

/// Task handles and files; dropping the last gateway handle aborts every task.
#[derive(Debug)]
struct Control {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    sleep: SharedAsyncSleep,
    discovery: Mutex<Option<JoinHandle<()>>>,
    nodes: Vec<Mutex<NodeTask>>,
    pem: Option<tls::PemFiles>,
    endpoint: String,
    discovery_port: u16,
}

impl Control {
    fn node(&self, index: usize) -> Result<std::sync::MutexGuard<'_, NodeTask>, GatewayError> {
        self.nodes
            .get(index)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
            .ok_or(GatewayError::NoSuchNode {
                index,
                nodes: self.nodes.len(),
            })
    }

    /// Stops every listener (aborted) and tells every connection to end.
    fn abort_all(&self) -> Vec<JoinHandle<()>> {
        self.shared.shutdown.send_replace(true);
        let mut handles = Vec::new();
        if let Some(h) = self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            h.abort();
            handles.push(h);
        }
        for n in &self.nodes {
            let mut g = n.lock().unwrap_or_else(PoisonError::into_inner);
            g.up = false;
            if let Some(h) = g.handle.take() {
                h.abort();
                handles.push(h);
            }
        }
        handles
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// A running local DAX gateway; a cheap handle (clones share the gateway). Dropping the last
/// handle stops every listener and connection (use [`shutdown`](Self::shutdown) to wait for
/// that). See the [module docs](self) for what it serves.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cross_account_dynamodb::{DaxGateway, TlsConfig};
///
/// let backend = aws_config::SdkConfig::builder()
///     .region(aws_config::Region::new("us-east-1"))
///     .behavior_version(aws_config::BehaviorVersion::latest())
///     .build();
/// let gw = DaxGateway::builder()
///     .backend(&backend)
///     .tls(TlsConfig::self_signed("localhost"))
///     .start()
///     .await?;
/// assert!(gw.endpoint().starts_with("daxs://localhost:"));
/// assert!(gw.ca_pem_path().unwrap().exists());
/// assert!(gw.request_log().is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DaxGateway {
    shared: Arc<Shared>,
    control: Arc<Control>,
}

impl DaxGateway {
    /// A builder with the defaults: 1 node, [`AuthVerifier::AcceptAll`], no TLS, `127.0.0.1:0`.
    pub fn builder() -> DaxGatewayBuilder {
        DaxGatewayBuilder::default()
    }

    /// The cluster (discovery) endpoint: `dax://127.0.0.1:PORT`, or `daxs://NAME:PORT` with
    /// TLS (NAME = the certificate's name).
    pub fn endpoint(&self) -> &str {
        &self.control.endpoint
    }

    /// The discovery listener's port.
    pub fn port(&self) -> u16 {
        self.control.discovery_port
    }

    /// Node `index`'s address (it keeps its port across restarts).
    pub fn node_addr(&self, index: usize) -> Option<SocketAddr> {
        self.shared
            .nodes
            .get(index)
            .map(|n| SocketAddr::new(self.shared.advertise, n.port))
    }

    /// The indexes of the nodes that are listening now.
    pub fn live_nodes(&self) -> Vec<usize> {
        (0..self.shared.nodes.len())
            .filter(|&i| {
                self.shared.nodes[i]
                    .listening
                    .load(std::sync::atomic::Ordering::SeqCst)
            })
            .collect()
    }

    /// The node the `endpoints` reply names as leader.
    pub fn leader(&self) -> Option<usize> {
        self.shared.leader()
    }

    /// Per `authorizeConnection`: listener, connection, access key id, time, accepted or why
    /// not. A snapshot.
    pub fn auth_log(&self) -> Vec<AuthRecord> {
        self.shared.logs.auth_snapshot()
    }

    /// Per request: listener, connection, method, tables, keys, attempt, outcome. A snapshot.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.logs.request_snapshot()
    }

    /// Empties both logs (and restarts attempt counting).
    pub fn clear_logs(&self) {
        self.shared.logs.clear();
    }

    /// The fault switches (a cheap handle).
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// The generated test CA (PEM), with [`TlsConfig::self_signed`].
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.control.pem.as_ref().map(|p| p.ca.as_path())
    }

    /// The generated leaf certificate (PEM), with [`TlsConfig::self_signed`].
    pub fn cert_pem_path(&self) -> Option<&Path> {
        self.control.pem.as_ref().map(|p| p.cert.as_path())
    }

    /// The generated leaf's private key (PEM), with [`TlsConfig::self_signed`].
    pub fn key_pem_path(&self) -> Option<&Path> {
        self.control.pem.as_ref().map(|p| p.key.as_path())
    }

    /// Kills node `index`: its listener closes (new connections are refused) and every request
    /// in flight there dies at once (its connection is dropped without a reply); the node's
    /// idle connections are closed when their next request arrives (see below). The next
    /// `endpoints` reply leaves the node out and, if it led, names the lowest live node
    /// leader. Killing a dead node does nothing.
    ///
    /// Idle connections are not closed at the kill itself because the official Node client
    /// (`@amazon-dax-sdk/client-dax` 3.1.0) reuses pooled connections the server has closed
    /// and then waits forever on them; closing on use gives it the "connection closed by
    /// server" error it retries elsewhere. Clients cannot tell the difference otherwise.
    pub fn kill_node(&self, index: usize) -> Result<(), GatewayError> {
        let mut node = self.control.node(index)?;
        if node.up {
            node.up = false;
            self.shared.set_listening(index, false);
            if let Some(h) = &node.handle {
                h.abort();
            }
            self.shared.nodes[index].generation.send_modify(|g| *g += 1);
        }
        Ok(())
    }

    /// Brings node `index` back on its old port, as a replica if another node leads. It is
    /// listed again once its listener is bound (see [`live_nodes`](Self::live_nodes)).
    /// Restarting a live node does nothing.
    pub fn restart_node(&self, index: usize) -> Result<(), GatewayError> {
        let mut node = self.control.node(index)?;
        if node.up {
            return Ok(());
        }
        let old = node.handle.take();
        let shared = self.shared.clone();
        let sleep = self.control.sleep.clone();
        let port = shared.nodes[index].port;
        node.handle = Some(self.control.runtime.spawn(async move {
            if let Some(old) = old {
                let _ = old.await; // the old listener is dropped once this returns
            }
            let mut attempts = 0;
            let listener = loop {
                match bind(shared.bind_ip, port).await {
                    Ok(l) => break l,
                    Err(e) if attempts < 50 => {
                        attempts += 1;
                        tracing::debug!(node = index, error = %e, "re-bind failed, retrying");
                        sleep.sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => {
                        tracing::warn!(node = index, error = %e, "cannot re-bind the node's port");
                        return;
                    }
                }
            };
            shared.set_listening(index, true);
            accept_loop(shared, Listener::Node(index), listener).await;
        }));
        node.up = true;
        Ok(())
    }

    /// Stops every listener and connection and waits until they are gone.
    pub async fn shutdown(self) {
        for i in 0..self.shared.nodes.len() {
            self.shared.set_listening(i, false);
        }
        for h in self.control.abort_all() {
            let _ = h.await;
        }
        let mut tasks = std::mem::take(
            &mut *self
                .shared
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<DaxGateway>();
        assert_send_sync::<DaxGatewayBuilder>();
        assert_send_sync::<Faults>();
        assert_send_sync::<AuthVerifier>();
        assert_send_sync::<TlsConfig>();
        assert_send_sync::<GatewayError>();
        assert_send_sync::<RequestRecord>();
        assert_send_sync::<AuthRecord>();
    }

    fn config() -> SdkConfig {
        SdkConfig::builder()
            .region(aws_types::region::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }

    #[tokio::test]
    async fn bad_settings_are_typed_errors() {
        let e = DaxGateway::builder()
            .backend(&SdkConfig::builder().build())
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, GatewayError::MissingRegion), "{e}");
        let e = DaxGateway::builder()
            .backend(&config())
            .nodes(0)
            .start()
            .await
            .unwrap_err();
        assert!(e.is_config(), "{e}");
        let e = DaxGateway::builder()
            .backend(&config())
            .listen("0.0.0.0:0".parse().unwrap())
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, GatewayError::NotLoopback(_)), "{e}");
        let gw = DaxGateway::builder()
            .backend(&config())
            .start()
            .await
            .unwrap();
        let e = gw.kill_node(3).unwrap_err();
        assert_eq!(e.to_string(), "the gateway has 1 nodes; there is no node 3");
        let taken = gw.port();
        let e = DaxGateway::builder()
            .backend(&config())
            .listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), taken))
            .start()
            .await
            .unwrap_err();
        assert!(e.is_bind(), "{e}");
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn leadership_moves_on_kill_and_sticks_on_restart() {
        let gw = DaxGateway::builder()
            .backend(&config())
            .nodes(3)
            .start()
            .await
            .unwrap();
        assert_eq!(gw.leader(), Some(0));
        assert_eq!(gw.shared.endpoints().len(), 3);
        gw.kill_node(0).unwrap();
        assert_eq!(gw.leader(), Some(1));
        let eps = gw.shared.endpoints();
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].role, crate::dax::codec::ROLE_LEADER);
        assert_eq!(eps[1].role, crate::dax::codec::ROLE_REPLICA);
        gw.restart_node(0).unwrap();
        for _ in 0..200 {
            if gw.live_nodes().len() == 3 {
                break;
            }
            tokio::task::yield_now().await;
            gw.control.sleep.sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(gw.live_nodes(), [0, 1, 2]);
        assert_eq!(
            gw.leader(),
            Some(1),
            "the restarted node comes back as a replica"
        );
        gw.shutdown().await;
    }
}
