//! Listeners and the connection loop: preamble, framing with `request_frame_len`, one request
//! at a time, reply written whole (or broken by a fault switch).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::auth::{Auth, ConnAuth};
use super::faults::Faults;
use super::forward::{Backend, Handled};
use super::log::{AuthRecord, InFlight, Listener, Logs, Outcome, RejectReason, RequestRecord};
use crate::dax::codec::{
    self, decode_preamble, request_frame_len, AuthRequest, Endpoint, Method, ServiceError,
    MAX_FRAME_LEN, ROLE_LEADER, ROLE_REPLICA,
};

/// Per-node state the connection tasks read (the task handles live in the gateway handle).
#[derive(Debug)]
pub(crate) struct NodeInfo {
    pub(crate) port: u16,
    pub(crate) listening: AtomicBool,
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

/// Accepts connections until aborted; aborting drops the listener and (through the
/// `JoinSet`) every connection task at once.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: Listener, tcp: TcpListener) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = tcp.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let id = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
                let shared = shared.clone();
                conns.spawn(async move {
                    match shared.tls.clone() {
                        Some(tls) => {
                            if let Ok(tls) = tls.acceptor.accept(stream).await {
                                serve(shared, listener, id, tls).await;
                            }
                        }
                        None => serve(shared, listener, id, stream).await,
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
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
async fn serve<S>(shared: Arc<Shared>, listener: Listener, conn: u64, mut s: S)
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
                if !fill(&mut s, &mut buf).await {
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
                    if !fill(&mut s, &mut buf).await {
                        return;
                    }
                }
                Err(_) => return,
            }
        };
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
        let Some(handled) = request(&shared, listener, conn, &auth, method, &frame).await else {
            return;
        };
        let (mut handled, guard) = handled;
        if method_is_data(method) {
            if let Some(delay) = shared.faults.slow() {
                shared.sleep.sleep(delay).await;
            }
        }
        let drop_it = method_is_data(method) && shared.faults.drop_mid_reply();
        if drop_it {
            let half = handled.reply.len() / 2;
            let _ = s.write_all(&handled.reply[..half.max(1)]).await;
            let _ = s.flush().await;
            handled.outcome = Outcome::Fault(super::log::FaultKind::DropMidReply);
            shared.logs.finish(guard.seq, handled.outcome, false);
            return;
        }
        if s.write_all(&handled.reply).await.is_err() || s.flush().await.is_err() {
            return;
        }
        shared.logs.finish(guard.seq, handled.outcome, false);
    }
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
            shared
                .backend
                .serve(method, frame, &note, &shared.faults)
                .await
                .ok()?
        }
    };
    Some((handled, guard))
}
