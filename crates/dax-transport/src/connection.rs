//! One connection to one node (a "tube"): connect, TLS, the preamble, then one request at a
//! time. There is no framing on the wire (docs/dax-protocol.md §1.4–1.6), so the reply is complete
//! when the codec says so, and any doubt (an I/O error, bytes left over, a frame that does not
//! decode) ends the connection: the methods here consume nothing on error, the caller drops the
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
use xacct_dax_protocol::codec::{
    encode_preamble, Method, Preamble, ResponseFramer, SessionId, MAX_FRAME_LEN,
};

/// The largest reply a connection buffers (the codec's frame limit): a node that sends more
/// without ending its reply is broken or hostile, and the connection is closed.
const MAX_REPLY_LEN: usize = MAX_FRAME_LEN;

/// Replies up to this size are copied out of the connection's read buffer, which is kept.
const KEEP_READ_BUFFER: usize = 64 << 10;

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
    /// Why it is closed when dropped (pooled connections only are counted): `error` unless
    /// the pool said otherwise.
    pub(crate) close_reason: &'static str,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self._slot.is_some() {
            tracing::debug_span!("dax.connection.close", node = %self.addr, reason = self.close_reason)
                .in_scope(|| {});
            super::telemetry::connection_closed(self.close_reason);
        }
    }
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
            close_reason: "error",
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
        read_reply(&mut self.io, &mut self.buf, method, MAX_REPLY_LEN)
            .await
            .map_err(|e| CallError::Read(e.at(self.addr)))?;
        // A small reply is copied out and the read buffer stays with the connection (no
        // allocation of a read buffer per request); a large one is handed over as is, so an
        // idle pooled connection never pins a large buffer.
        if self.buf.len() <= KEEP_READ_BUFFER {
            Ok(self.buf.as_slice().to_vec())
        } else {
            Ok(std::mem::take(&mut self.buf))
        }
    }
}

/// Why [`read_reply`] failed, before the node's address is known.
#[derive(Debug)]
enum ReplyError {
    Io(std::io::Error),
    Closed,
    TooLong(usize),
    MoreThanOne,
    Malformed(xacct_dax_protocol::codec::CodecError),
}

impl ReplyError {
    fn at(self, addr: SocketAddr) -> DaxError {
        match self {
            ReplyError::Io(e) => io_error(addr, "read from", e),
            ReplyError::Closed => DaxError::new(
                Kind::Io,
                format!("DAX node {addr} closed the connection before replying"),
            ),
            ReplyError::TooLong(cap) => DaxError::new(
                Kind::Protocol,
                format!("DAX node {addr} sent a reply longer than {cap} bytes without ending it"),
            ),
            ReplyError::MoreThanOne => DaxError::new(
                Kind::Protocol,
                format!("DAX node {addr} sent more than one reply"),
            ),
            ReplyError::Malformed(e) => DaxError::new(
                Kind::Protocol,
                format!("DAX node {addr} sent a reply that does not decode"),
            )
            .with_source(e),
        }
    }
}

/// Reads exactly one reply frame to `method` into `buf` (empty on entry). The framer resumes
/// where it stopped, so each byte is scanned once however the reply is split into reads; the
/// buffer never grows past `cap`.
async fn read_reply<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut Vec<u8>,
    method: Method,
    cap: usize,
) -> Result<(), ReplyError> {
    let mut framer = ResponseFramer::new(method);
    loop {
        match framer.frame_len(buf) {
            Ok(Some(n)) if n == buf.len() => return Ok(()),
            Ok(Some(_)) => return Err(ReplyError::MoreThanOne),
            Ok(None) => {}
            Err(e) => return Err(ReplyError::Malformed(e)),
        }
        if buf.len() >= cap {
            return Err(ReplyError::TooLong(cap));
        }
        // Reads grow with the reply (fewer, larger reads for a large one), up to the cap.
        let start = buf.len();
        let room = start.clamp(8192, 1 << 20).min(cap - start);
        // Read into spare capacity (no zero-filling of the read space on every request).
        buf.reserve(room);
        let n = io
            .read_buf(&mut bytes::BufMut::limit(&mut *buf, room))
            .await;
        match n {
            Ok(0) => return Err(ReplyError::Closed),
            Ok(_) => {}
            Err(e) => return Err(ReplyError::Io(e)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::ReadBuf;

    /// A peer that sends `data` in reads of at most `chunk` bytes, then (if `forever`) zeros
    /// without end.
    struct Peer {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        forever: bool,
        reads: usize,
    }

    impl AsyncRead for Peer {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            self.reads += 1;
            let n = out.remaining().min(self.chunk);
            if self.at < self.data.len() {
                let n = n.min(self.data.len() - self.at);
                let at = self.at;
                out.put_slice(&self.data[at..at + n]);
                self.at += n;
            } else if self.forever {
                out.put_slice(&vec![0u8; n]);
            }
            Poll::Ready(Ok(()))
        }
    }

    /// A GetItem success reply whose item is one byte string of `len` bytes.
    fn reply(len: usize) -> Vec<u8> {
        let mut r = vec![0x80, 0x5a];
        r.extend_from_slice(&(len as u32).to_be_bytes());
        r.extend(std::iter::repeat_n(7u8, len));
        r
    }

    #[tokio::test]
    async fn a_large_reply_in_tls_record_sized_reads_is_read_whole() {
        let frame = reply(4 << 20);
        let mut peer = Peer {
            data: frame.clone(),
            at: 0,
            chunk: 16 * 1024,
            forever: false,
            reads: 0,
        };
        let mut buf = Vec::new();
        read_reply(&mut peer, &mut buf, Method::GetItem, MAX_REPLY_LEN)
            .await
            .unwrap();
        assert_eq!(buf, frame);
        assert!(
            peer.reads <= frame.len().div_ceil(16 * 1024) + 1,
            "{} reads",
            peer.reads
        );
    }

    #[tokio::test]
    async fn a_peer_that_never_ends_its_reply_hits_the_cap() {
        // An array header promising more items than will ever come, then zeros (CBOR 0).
        let mut peer = Peer {
            data: vec![0x80, 0x9f],
            at: 0,
            chunk: 64 * 1024,
            forever: true,
            reads: 0,
        };
        let mut buf = Vec::new();
        let cap = 1 << 20;
        let e = read_reply(&mut peer, &mut buf, Method::GetItem, cap)
            .await
            .unwrap_err();
        assert!(matches!(e, ReplyError::TooLong(c) if c == cap), "{e:?}");
        assert!(buf.len() <= cap, "the buffer stays within the cap");
        let e = e.at("127.0.0.1:8111".parse().unwrap());
        assert!(e.to_string().contains("longer than"), "{e}");
    }

    #[tokio::test]
    async fn two_replies_for_one_request_are_a_protocol_error() {
        let mut data = reply(3);
        data.extend(reply(3));
        let mut peer = Peer {
            data,
            at: 0,
            chunk: 1 << 20,
            forever: false,
            reads: 0,
        };
        let mut buf = Vec::new();
        let e = read_reply(&mut peer, &mut buf, Method::GetItem, MAX_REPLY_LEN)
            .await
            .unwrap_err();
        assert!(matches!(e, ReplyError::MoreThanOne), "{e:?}");
    }
}
