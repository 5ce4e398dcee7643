//! One connection to one node (a "tube"): connect, TLS, the preamble, then one request at a
//! time. There is no framing on the wire (docs §1.4–1.6), so the reply is complete when the
//! codec says so, and any doubt (an I/O error, bytes left over, a frame that does not decode)
//! ends the connection: the methods here consume nothing on error, the caller drops the
//! connection. A connection checked out by a request whose future is dropped is dropped
//! with it, never returned to a pool.

use std::net::SocketAddr;
use std::time::SystemTime;

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::auth::AuthStamp;
use super::error::{DaxError, Kind};
use super::tls::Tls;
use crate::dax::codec::{encode_preamble, response_frame_len, Method, Preamble, SessionId};

/// A byte stream to a node: TCP or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

/// An open, preambled connection.
pub(crate) struct Connection {
    io: Box<dyn Stream>,
    buf: Vec<u8>,
    pub(crate) addr: SocketAddr,
    /// What this connection last authorized with (`None`: not yet).
    pub(crate) auth: Option<AuthStamp>,
    /// An auth error reply arrived: authorize again before the next request.
    pub(crate) auth_marked: bool,
    /// When it was last returned to its pool.
    pub(crate) last_used: SystemTime,
    /// The node pool's connection slot (released on drop).
    _slot: Option<OwnedSemaphorePermit>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("auth", &self.auth)
            .field("auth_marked", &self.auth_marked)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects, runs the TLS handshake if `tls`, and writes the preamble.
    pub(crate) async fn open(
        addr: SocketAddr,
        tls: Option<&Tls>,
        session: &[u8],
        user_agent: &str,
        now: SystemTime,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Self, DaxError> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| {
            DaxError::new(Kind::Connect, format!("cannot connect to DAX node {addr}"))
                .with_source(e)
        })?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Stream> = match tls {
            Some(tls) => Box::new(tls.handshake(tcp).await?),
            None => Box::new(tcp),
        };
        let mut conn = Connection {
            io,
            buf: Vec::with_capacity(512),
            addr,
            auth: None,
            auth_marked: false,
            last_used: now,
            _slot: slot,
        };
        let mut preamble = Vec::with_capacity(64);
        encode_preamble(
            &Preamble {
                session_id: SessionId::Bytes(session.to_vec()),
                user_agent: Some(user_agent.to_owned()),
            },
            &mut preamble,
        );
        conn.io.write_all(&preamble).await.map_err(|e| {
            DaxError::new(
                Kind::Connect,
                format!("cannot write the preamble to DAX node {addr}"),
            )
            .with_source(e)
        })?;
        Ok(conn)
    }

    /// Whether an idle connection still looks usable: the node has not closed it and has sent
    /// nothing unasked (a zero-wait read).
    pub(crate) fn is_reusable(&mut self) -> bool {
        let mut probe = [0u8; 1];
        // Pending: nothing to read, still open. Ready: EOF, an error, or unsolicited bytes.
        self.io.read(&mut probe).now_or_never().is_none()
    }

    /// Writes `bytes` (auth frame and/or request) and, if `method` has a reply, reads exactly
    /// one reply frame. `Err` means the connection must be dropped.
    pub(crate) async fn call(
        &mut self,
        bytes: &[u8],
        method: Method,
    ) -> Result<Vec<u8>, CallError> {
        self.io
            .write_all(bytes)
            .await
            .map_err(|e| CallError::Write(io_error(self.addr, "write to", e)))?;
        self.io
            .flush()
            .await
            .map_err(|e| CallError::Write(io_error(self.addr, "write to", e)))?;
        if !method.has_response() {
            return Ok(Vec::new());
        }
        self.buf.clear();
        loop {
            match response_frame_len(method, &self.buf) {
                Ok(Some(n)) if n == self.buf.len() => return Ok(std::mem::take(&mut self.buf)),
                Ok(Some(_)) => {
                    return Err(CallError::Read(DaxError::new(
                        Kind::Protocol,
                        format!("DAX node {} sent more than one reply", self.addr),
                    )))
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(CallError::Read(
                        DaxError::new(
                            Kind::Protocol,
                            format!("DAX node {} sent a reply that does not decode", self.addr),
                        )
                        .with_source(e),
                    ))
                }
            }
            // Reads grow with the reply, so a large reply is rescanned O(log n) times, not O(n).
            let start = self.buf.len();
            self.buf.resize(start + start.clamp(8192, 1 << 20), 0);
            let n = self.io.read(&mut self.buf[start..]).await;
            match n {
                Ok(0) => {
                    self.buf.truncate(start);
                    return Err(CallError::Read(DaxError::new(
                        Kind::Io,
                        format!(
                            "DAX node {} closed the connection before replying",
                            self.addr
                        ),
                    )));
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(CallError::Read(io_error(self.addr, "read from", e)));
                }
            }
        }
    }
}

fn io_error(addr: SocketAddr, what: &str, e: std::io::Error) -> DaxError {
    DaxError::new(Kind::Io, format!("cannot {what} DAX node {addr}")).with_source(e)
}

/// Why [`Connection::call`] failed: while writing (the node may have received part or all of
/// the request) or while reading the reply (it received all of it).
#[derive(Debug)]
pub(crate) enum CallError {
    /// Nothing was written (credentials could not be loaded).
    Before(DaxError),
    Write(DaxError),
    Read(DaxError),
}

impl CallError {
    pub(crate) fn into_inner(self) -> DaxError {
        match self {
            CallError::Before(e) | CallError::Write(e) | CallError::Read(e) => e,
        }
    }
}
