//! `dax-local`: a DAX server on loopback that serves every request by forwarding it to a
//! DynamoDB endpoint (the local stack, DynamoDB Local, or real DynamoDB), so that code written
//! for DAX, in any language, runs on a laptop or in CI. This crate is the library; the
//! `dax-local` binary runs the same server on its own (`dax-local --help`).
//!
//! By default it is a **pass-through**: there is no item cache and no query cache, every read
//! goes to the backend, so reads are as consistent as the backend's. With
//! [`cache`](DaxGatewayBuilder::cache) each node keeps DAX's item and query caches (TTLs, LRU
//! eviction, write-through, negative entries, replication of writes to every node; see
//! [`CacheConfig`] and `docs/dax-local-cache.md`), so eventually consistent reads can be stale
//! as on a real cluster. The backend decides the semantics: expressions
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
//! [`request_log`](DaxGateway::request_log), has fault switches (`Faults`, feature `faults`)
//! for what the backend cannot produce on demand, and nodes can be [killed](DaxGateway::kill_node) and
//! [restarted](DaxGateway::restart_node).
//!
//! ```
//! use xacct_dax_local::{AuthVerifier, DaxGateway};
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

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod cache;
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

pub use auth::{AuthVerifier, BoxError, KeyLookup, KeySecret, KeyStore};
pub use cache::{CacheConfig, CacheStats, DEFAULT_CACHE_SIZE_BYTES, DEFAULT_CACHE_TTL};
#[cfg(feature = "faults")]
#[cfg_attr(docsrs, doc(cfg(feature = "faults")))]
pub use faults::Faults;
#[cfg(not(feature = "faults"))]
use faults::Faults;
pub use log::{AuthRecord, FaultKind, Listener, Outcome, RejectReason, RequestRecord};
pub use tls::TlsConfig;

use forward::Backend;
use node::{accept_loop, advertised, bind, NodeInfo, Shared};

/// Why a gateway did not start, or a node index was wrong.
///
/// ```
/// use xacct_dax_local::DaxGateway;
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
    /// `allow_remote(true)` with a verifier that authenticates nobody
    /// ([`AuthVerifier::AcceptAll`]): anyone on the network could use the backend's identity.
    #[error(
        "allow_remote(true) needs an authenticating verifier: with AuthVerifier::AcceptAll anyone \
         who can reach the port acts with the backend's identity; give .auth(StaticSecrets or \
         KeyStore) (dax-local: --auth-file)"
    )]
    RemoteWithoutAuth,
    /// `max_connections_per_node(0)`.
    #[error("invalid max_connections_per_node: 0 would refuse every connection; give 1 or more")]
    BadConnectionCap,
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
                | GatewayError::RemoteWithoutAuth
                | GatewayError::BadConnectionCap
                | GatewayError::NoSuchNode { .. }
        )
    }
}

/// Settings of a [`DaxGateway`]; see [`DaxGateway::builder`].
///
/// ```
/// use xacct_dax_local::{AuthVerifier, DaxGateway, TlsConfig};
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
    max_connections_per_node: usize,
    cache: Option<CacheConfig>,
}

/// The default cap on open connections per listener (each node, and the discovery listener).
pub const DEFAULT_MAX_CONNECTIONS_PER_NODE: usize = 1024;

impl Default for DaxGatewayBuilder {
    fn default() -> Self {
        DaxGatewayBuilder {
            backend: None,
            nodes: 1,
            auth: AuthVerifier::AcceptAll,
            tls: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            allow_remote: false,
            max_connections_per_node: DEFAULT_MAX_CONNECTIONS_PER_NODE,
            cache: None,
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

    /// Allow a non-loopback listen address (default false). Needs an authenticating
    /// [`auth`](Self::auth) verifier: `start` refuses `AcceptAll` with remote access
    /// ([`GatewayError::RemoteWithoutAuth`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use xacct_dax_local::DaxGateway;
    /// let backend = aws_types::SdkConfig::builder()
    ///     .region(aws_types::region::Region::new("us-east-1"))
    ///     .build();
    /// let err = DaxGateway::builder().backend(&backend).allow_remote(true).start().await.unwrap_err();
    /// assert!(err.is_config(), "{err}");
    /// # }
    /// ```
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// At most `n` open connections per listener, each node's and the discovery listener's
    /// (default [`DEFAULT_MAX_CONNECTIONS_PER_NODE`], 1,024). Past the cap a new connection is
    /// closed at once and counted ([`DaxGateway::refused_connections`]). 0 is an error.
    ///
    /// ```
    /// let builder = xacct_dax_local::DaxGateway::builder().max_connections_per_node(64);
    /// ```
    pub fn max_connections_per_node(mut self, n: usize) -> Self {
        self.max_connections_per_node = n;
        self
    }

    /// Turns each node's DAX caches on (default off: a pure pass-through): an item cache for
    /// eventually consistent GetItem / BatchGetItem, written through by PutItem, UpdateItem,
    /// DeleteItem, BatchWriteItem and TransactWriteItems, and a query cache for eventually
    /// consistent Query / Scan, with the TTLs and size limit of `config`. TTLs run on the
    /// backend `SdkConfig`'s time source. See `docs/dax-local-cache.md` for the rules, and
    /// [`DaxGateway::cache_stats`] for the counters.
    ///
    /// ```
    /// use std::time::Duration;
    /// use xacct_dax_local::{CacheConfig, DaxGateway};
    ///
    /// let builder = DaxGateway::builder().nodes(3).cache(
    ///     CacheConfig::default()
    ///         .item_ttl(Duration::from_secs(60))
    ///         .query_ttl(Duration::from_secs(10))
    ///         .size_bytes(64 << 20),
    /// );
    /// # let _ = builder;
    /// ```
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
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
        if self.allow_remote && !self.auth.authenticates() {
            return Err(GatewayError::RemoteWithoutAuth);
        }
        if self.max_connections_per_node == 0 {
            return Err(GatewayError::BadConnectionCap);
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
            backend: Backend::new(
                client,
                cache::Caches::new(self.cache, time.clone(), self.nodes),
            ),
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
            connection_cap: self.max_connections_per_node,
            refused_connections: AtomicU64::new(0),
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
/// use xacct_dax_local::{DaxGateway, TlsConfig};
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

    /// How many connections were closed at once because their listener was at its cap
    /// ([`DaxGatewayBuilder::max_connections_per_node`]).
    ///
    /// ```no_run
    /// # fn f(gw: &xacct_dax_local::DaxGateway) {
    /// assert_eq!(gw.refused_connections(), 0);
    /// # }
    /// ```
    pub fn refused_connections(&self) -> u64 {
        self.shared
            .refused_connections
            .load(std::sync::atomic::Ordering::Relaxed)
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

    /// Request and cache counters summed over every node (hits, misses, evictions, and the
    /// entries and bytes held now). `requests` counts data requests with the cache off too.
    ///
    /// ```no_run
    /// # async fn f(gw: xacct_dax_local::DaxGateway) {
    /// let before = gw.cache_stats();
    /// // ... a GetItem through the gateway, twice ...
    /// let after = gw.cache_stats();
    /// assert_eq!(after.item_hits - before.item_hits, 1);
    /// # }
    /// ```
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.backend.caches.stats()
    }

    /// Node `index`'s counters (each node has its own caches); `None` for a node the gateway
    /// does not have.
    ///
    /// ```no_run
    /// # fn f(gw: xacct_dax_local::DaxGateway) {
    /// for i in 0..3 {
    ///     println!("node {i}: {:?}", gw.node_cache_stats(i));
    /// }
    /// # }
    /// ```
    pub fn node_cache_stats(&self, index: usize) -> Option<CacheStats> {
        self.shared.backend.caches.node_stats(index)
    }

    /// The fault switches (a cheap handle).
    #[cfg(feature = "faults")]
    #[cfg_attr(docsrs, doc(cfg(feature = "faults")))]
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
            // a killed node loses its memory: it comes back with empty caches
            self.shared.backend.caches.clear_node(index);
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
#[allow(clippy::disallowed_methods)] // tests bound their waits with tokio's real-time timeout
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<DaxGateway>();
        assert_send_sync::<DaxGatewayBuilder>();
        assert_send_sync::<Faults>();
        assert_send_sync::<AuthVerifier>();
        assert_send_sync::<KeySecret>();
        assert_send_sync::<TlsConfig>();
        assert_send_sync::<GatewayError>();
        assert_send_sync::<RequestRecord>();
        assert_send_sync::<AuthRecord>();
        assert_send_sync::<CacheConfig>();
        assert_send_sync::<CacheStats>();
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
    async fn remote_access_needs_an_authenticating_verifier() {
        for listen in ["127.0.0.1:0", "0.0.0.0:0"] {
            let e = DaxGateway::builder()
                .backend(&config())
                .listen(listen.parse().unwrap())
                .allow_remote(true)
                .start()
                .await
                .unwrap_err();
            assert!(
                matches!(e, GatewayError::RemoteWithoutAuth),
                "{listen}: {e}"
            );
            assert!(
                e.is_config() && e.to_string().contains("--auth-file"),
                "{e}"
            );
        }
        let e = DaxGateway::builder()
            .backend(&config())
            .max_connections_per_node(0)
            .start()
            .await
            .unwrap_err();
        assert!(matches!(e, GatewayError::BadConnectionCap), "{e}");
    }

    #[tokio::test]
    async fn connections_past_the_cap_are_closed_at_once_and_counted() {
        use tokio::io::AsyncReadExt;

        let gw = DaxGateway::builder()
            .backend(&config())
            .max_connections_per_node(2)
            .start()
            .await
            .unwrap();
        let addr = gw.node_addr(0).unwrap();
        let first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let second = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
            .await
            .expect("the refused connection is closed, not left waiting");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert_eq!(gw.refused_connections(), 1);
        // A slot frees when a connection ends.
        drop(first);
        let mut admitted = None;
        for _ in 0..50 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let r = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await;
            if r.is_err() {
                admitted = Some(s); // still open after 100 ms: it was served
                break;
            }
        }
        assert!(admitted.is_some(), "a freed slot admits a new connection");
        drop(second);
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
        assert_eq!(eps[0].role, xacct_dax_protocol::codec::ROLE_LEADER);
        assert_eq!(eps[1].role, xacct_dax_protocol::codec::ROLE_REPLICA);
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
