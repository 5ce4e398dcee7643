//! Listeners and the connection loop: preamble, framing with `request_frame_len`, one request
//! at a time, reply written whole (or broken by a fault switch).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::auth::{Auth, ConnAuth};
use super::faults::Faults;
use super::forward::{Backend, Ctx, Handled};
use super::log::{AuthRecord, InFlight, Listener, Logs, Outcome, RejectReason, RequestRecord};
use xacct_dax_protocol::codec::{
    self, decode_preamble, request_frame_len, AuthRequest, Endpoint, Method, ServiceError,
    MAX_FRAME_LEN, ROLE_LEADER, ROLE_REPLICA,
};

/// Per-node state the connection tasks read (the task handles live in the gateway handle).
#[derive(Debug)]
pub(crate) struct NodeInfo {
    pub(crate) port: u16,
    pub(crate) listening: AtomicBool,
    /// Bumped by every kill: connections of an older generation are dead.
    pub(crate) generation: watch::Sender<u64>,
}

impl NodeInfo {
    pub(crate) fn new(port: u16) -> Self {
        NodeInfo {
            port,
            listening: AtomicBool::new(false),
            generation: watch::Sender::new(0),
        }
    }
}

/// The TLS acceptor and the name clients use.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) name: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Everything the listeners and connection tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) backend: Backend,
    pub(crate) auth: Arc<Auth>,
    pub(crate) logs: Logs,
    pub(crate) faults: Faults,
    pub(crate) time: SharedTimeSource,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) tls: Option<Tls>,
    pub(crate) bind_ip: IpAddr,
    pub(crate) advertise: IpAddr,
    pub(crate) nodes: Vec<NodeInfo>,
    pub(crate) leader: Mutex<Option<usize>>,
    pub(crate) leader_epoch: AtomicI64,
    pub(crate) availability_zone: String,
    pub(crate) connections: AtomicU64,
    /// Open connections allowed per listener.
    pub(crate) connection_cap: usize,
    /// Connections closed at once because their listener was at its cap.
    pub(crate) refused_connections: AtomicU64,
    /// `true` once the gateway shuts down: every connection task ends.
    pub(crate) shutdown: watch::Sender<bool>,
    /// Every connection task (reaped as they end; awaited by `shutdown`).
    pub(crate) tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    /// Marks node `i` up or down and re-elects: the current leader keeps leading while it
    /// lives; otherwise the lowest live node leads.
    pub(crate) fn set_listening(&self, i: usize, up: bool) {
        self.nodes[i].listening.store(up, Ordering::SeqCst);
        let mut leader = self.leader.lock().unwrap_or_else(PoisonError::into_inner);
        let alive = |n: usize| self.nodes[n].listening.load(Ordering::SeqCst);
        if leader.is_some_and(alive) {
            return;
        }
        let next = (0..self.nodes.len()).find(|&n| alive(n));
        if next != *leader {
            *leader = next;
            self.leader_epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The nodes whose item caches a write through the gateway updates: the leader, then every
    /// other live node (replication to the replicas happens before the reply; a dead node
    /// misses it, and its caches were emptied when it was killed).
    pub(crate) fn write_nodes(&self) -> Vec<usize> {
        let leader = self.leader();
        let mut nodes: Vec<usize> = leader.into_iter().collect();
        nodes.extend(
            (0..self.nodes.len())
                .filter(|&i| Some(i) != leader && self.nodes[i].listening.load(Ordering::SeqCst)),
        );
        nodes
    }

    /// The current leader's index.
    pub(crate) fn leader(&self) -> Option<usize> {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `endpoints` reply: live nodes only, the leader with role 1.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        let leader = self.leader();
        let hostname = match &self.tls {
            Some(tls) => tls.name.clone(),
            None => self.advertise.to_string(),
        };
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.listening.load(Ordering::SeqCst))
            .map(|(i, n)| Endpoint {
                node_id: i as i64,
                hostname: Some(hostname.clone()),
                address: self.advertise,
                port: n.port,
                role: if Some(i) == leader {
                    ROLE_LEADER
                } else {
                    ROLE_REPLICA
                },
                availability_zone: Some(self.availability_zone.clone()),
                leader_session_id: Some(self.leader_epoch.load(Ordering::SeqCst)),
            })
            .collect()
    }
}

/// The address nodes advertise: the bind address, or 127.0.0.1 for an unspecified one.
pub(crate) fn advertised(ip: IpAddr) -> IpAddr {
    if ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

/// Accepts connections until aborted (aborting drops the listener). Connection tasks are not
/// children of this task: they watch their node's generation and the shutdown flag.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: Listener, tcp: TcpListener) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let stream = match tcp.accept().await {
            Ok((stream, _peer)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                stream
            }
            Err(e) => {
                // Out of file descriptors, or a network error: retrying at once would spin.
                tracing::warn!(error = %e, ?listener, "accept failed; backing off {backoff:?}");
                shared.sleep.sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        if open.load(Ordering::Acquire) >= shared.connection_cap {
            shared.refused_connections.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        }
        let slot = OpenSlot::take(&open);
        let _ = stream.set_nodelay(true);
        let id = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let generation = listener.node().map(|i| {
            let rx = shared.nodes[i].generation.subscribe();
            let born = *rx.borrow();
            (rx, born)
        });
        let task_shared = shared.clone();
        let task = async move {
            let _slot = slot;
            let shared = task_shared;
            let life = Life {
                shutdown: shared.shutdown.subscribe(),
                generation,
            };
            match shared.tls.clone() {
                Some(tls) => {
                    let mut life2 = life.clone();
                    tokio::select! {
                        accepted = tls.acceptor.accept(stream) => {
                            if let Ok(tls) = accepted {
                                serve(shared, listener, id, tls, life).await;
                            }
                        }
                        _ = life2.ended() => {}
                    }
                }
                None => serve(shared, listener, id, stream, life).await,
            }
        };
        let mut tasks = shared.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }
}

/// The first wait after a failed `accept`; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// One open connection of a listener, released when the connection task ends.
#[derive(Debug)]
struct OpenSlot(Arc<AtomicUsize>);

impl OpenSlot {
    fn take(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        OpenSlot(open.clone())
    }
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What ends a connection: the gateway's shutdown (always), and for a node connection a kill
/// of its node (a newer generation).
#[derive(Debug, Clone)]
struct Life {
    shutdown: watch::Receiver<bool>,
    generation: Option<(watch::Receiver<u64>, u64)>,
}

impl Life {
    /// The node was killed since the connection was accepted.
    fn killed(&self) -> bool {
        self.generation
            .as_ref()
            .is_some_and(|(rx, born)| *rx.borrow() != *born)
    }

    /// Resolves when the gateway shuts down.
    async fn shut_down(&mut self) {
        let _ = self.shutdown.wait_for(|s| *s).await;
        // a closed channel (gateway dropped) ends the connection too
    }

    /// Resolves when the gateway shuts down or the node is killed.
    async fn ended(&mut self) {
        let Life {
            shutdown,
            generation,
        } = self;
        let kill = async {
            match generation {
                Some((rx, born)) => {
                    let born = *born;
                    let _ = rx.wait_for(|g| *g != born).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => {}
            _ = kill => {}
        }
    }
}

/// Binds a listener on the shared IP (port 0: any free port).
pub(crate) async fn bind(ip: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, port)).await
}

/// Reads more bytes into `buf`; `false` at end of stream or on an error.
async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> bool {
    if buf.len() > MAX_FRAME_LEN {
        return false;
    }
    buf.reserve(8192);
    matches!(s.read_buf(buf).await, Ok(n) if n > 0)
}

/// Serves one connection until the client closes it, a frame does not decode, or a fault
/// switch breaks it.
///
/// A kill of the node ends a request in flight at once (the socket is dropped, no reply); an
/// idle connection of a killed node is closed when its next request arrives, not at the kill:
/// `@amazon-dax-sdk/client-dax` 3.1.0 reuses pooled connections the server has already closed
/// (its pool ignores `tube._closed`) and a write to such a socket fails silently, so the
/// request would wait forever. Closing on use gives it the "Connection is closed by server"
/// it handles. New connections to a killed node are refused (its listener is gone).
async fn serve<S>(shared: Arc<Shared>, listener: Listener, conn: u64, mut s: S, mut life: Life)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = Vec::with_capacity(8192);
    loop {
        // The magic is the first item ("J7yne5G", header byte 0x67): give up on anything else
        // at once instead of waiting for five items that never come.
        if buf.first().is_some_and(|b| *b != 0x67) {
            return;
        }
        match decode_preamble(&buf) {
            Ok(Some((_, n))) => {
                buf.drain(..n);
                break;
            }
            Ok(None) => {
                if !read_more(&mut s, &mut buf, &mut life).await {
                    return;
                }
            }
            Err(_) => return,
        }
    }
    let mut auth = ConnAuth::default();
    loop {
        let (method, len) = loop {
            match request_frame_len(&buf) {
                Ok(Some(found)) => break found,
                Ok(None) => {
                    if !read_more(&mut s, &mut buf, &mut life).await {
                        return;
                    }
                }
                Err(_) => return,
            }
        };
        if life.killed() {
            return; // the node died while this connection was idle
        }
        let frame: Vec<u8> = buf.drain(..len).collect();
        if method == Method::AuthorizeConnection {
            let Ok(req) = AuthRequest::decode(&frame) else {
                return;
            };
            let now = shared.time.now();
            let verdict = if shared.faults.reject_auth() {
                Err(RejectReason::FaultInjected)
            } else {
                shared.auth.authorize(&req, now).await
            };
            auth.set(&req.access_key_id, &verdict);
            shared.logs.auth(AuthRecord {
                listener,
                connection: conn,
                access_key_id: req.access_key_id,
                at: now,
                rejected: verdict.err(),
            });
            continue;
        }
        let work = respond(&shared, listener, conn, &auth, method, &frame, &mut s);
        let mut watcher = life.clone();
        let keep_going = tokio::select! {
            keep = work => keep,
            _ = watcher.ended() => false, // killed or shut down mid-request: drop it
        };
        if !keep_going {
            return;
        }
    }
}

/// Reads more bytes unless the gateway shuts down first; `false` ends the connection.
async fn read_more<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>, life: &mut Life) -> bool {
    tokio::select! {
        more = fill(s, buf) => more,
        _ = life.shut_down() => false,
    }
}

/// Serves one request and writes its reply (whole, or broken by the drop switch); `false`
/// ends the connection.
async fn respond<S>(
    shared: &Arc<Shared>,
    listener: Listener,
    conn: u64,
    auth: &ConnAuth,
    method: Method,
    frame: &[u8],
    s: &mut S,
) -> bool
where
    S: AsyncWrite + Unpin + Send,
{
    let Some((mut handled, guard)) = request(shared, listener, conn, auth, method, frame).await
    else {
        return false;
    };
    if method_is_data(method) {
        if let Some(delay) = shared.faults.slow() {
            shared.sleep.sleep(delay).await;
        }
    }
    if method_is_data(method) && shared.faults.drop_mid_reply() {
        let half = handled.reply.len() / 2;
        let _ = s.write_all(&handled.reply[..half.max(1)]).await;
        let _ = s.flush().await;
        handled.outcome = Outcome::Fault(super::log::FaultKind::DropMidReply);
        shared.logs.finish(guard.seq, handled.outcome, false);
        return false;
    }
    if s.write_all(&handled.reply).await.is_err() || s.flush().await.is_err() {
        return false;
    }
    shared.logs.finish(guard.seq, handled.outcome, false);
    true
}

fn method_is_data(m: Method) -> bool {
    !matches!(
        m,
        Method::AuthorizeConnection
            | Method::Endpoints
            | Method::DefineKeySchema
            | Method::DefineAttributeListId
            | Method::DefineAttributeList
    )
}

/// Serves one request frame: `None` closes the connection (the frame does not decode).
async fn request(
    shared: &Arc<Shared>,
    listener: Listener,
    conn: u64,
    auth: &ConnAuth,
    method: Method,
    frame: &[u8],
) -> Option<(Handled, InFlight)> {
    let now = shared.time.now();
    let seq = shared.logs.begin(
        frame,
        RequestRecord {
            seq: 0,
            listener,
            connection: conn,
            access_key_id: auth.key.clone(),
            method,
            tables: vec![],
            keys: vec![],
            attempt: 0,
            at: now,
            outcome: Outcome::InFlight,
        },
    );
    let guard = InFlight {
        logs: shared.logs.clone(),
        seq,
    };
    if let Err(reason) = shared.auth.check(auth, now).await {
        let mut h = shared.backend.error(ServiceError::from_exception(
            "AuthenticationRequiredException",
            "Connection requires authentication",
        ));
        h.outcome = Outcome::Rejected(reason);
        return Some((h, guard));
    }
    let handled = match method {
        Method::Endpoints => {
            codec::decode_endpoints_request(frame).ok()?;
            let mut reply = Vec::new();
            codec::encode_endpoints_response(&shared.endpoints(), &mut reply);
            Handled {
                reply,
                outcome: Outcome::Ok,
            }
        }
        _ => {
            let logs = shared.logs.clone();
            let note = move |tables, keys| logs.annotate(seq, tables, keys);
            let ctx = Ctx {
                faults: &shared.faults,
                node: listener.node(),
                write_nodes: shared.write_nodes(),
            };
            shared
                .backend
                .serve(method, frame, &note, &ctx)
                .await
                .ok()?
        }
    };
    Some((handled, guard))
}
