//! Connection preamble and request/response framing (docs/dax-protocol.md §1.3–1.5).
//!
//! There is no length prefix and no request id: a request is the CBOR sequence
//! `1, methodId, arg…` (fixed arity per method), a response `errorHeader, result…` where an
//! empty error header means success. A streaming reader learns where a frame ends only by
//! scanning CBOR items; [`request_frame_len`] and [`response_frame_len`] do that and answer
//! `None` ("need more bytes") until the buffer holds the whole frame.

use minicbor::data::Type;

use super::cbor::{items_end, ItemScanner, Reader, Writer};
use super::error::CodecError;
use super::method::{Method, SERVICE_ID};
use super::service_error::ServiceError;

const MAGIC: &str = "J7yne5G";

/// The per-pool session id sent in the preamble: opaque to the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionId {
    /// `null`.
    None,
    /// A byte string (Python and Node: random bytes).
    Bytes(Vec<u8>),
    /// A text string (Go: a decimal counter).
    Text(String),
}

/// The five-item preamble a client writes once per connection (no reply).
///
/// ```
/// use xacct_dax_protocol::codec::{decode_preamble, encode_preamble, Preamble, SessionId};
///
/// let p = Preamble { session_id: SessionId::Bytes(vec![7; 16]), user_agent: Some("ua".into()) };
/// let mut out = Vec::new();
/// encode_preamble(&p, &mut out);
/// assert_eq!(&out[..8], b"gJ7yne5G");
/// assert_eq!(decode_preamble(&out)?, Some((p, out.len())));
/// assert_eq!(decode_preamble(&out[..10])?, None); // need more bytes
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preamble {
    /// Session id.
    pub session_id: SessionId,
    /// The client's user agent (`{"UserAgent": …}`), if sent.
    pub user_agent: Option<String>,
}

/// Appends the connection preamble.
pub fn encode_preamble(p: &Preamble, out: &mut Vec<u8>) {
    let mut w = Writer::new(out);
    w.str(MAGIC).u64(0);
    match &p.session_id {
        SessionId::None => w.null(),
        SessionId::Bytes(b) => w.bytes(b),
        SessionId::Text(s) => w.str(s),
    };
    match &p.user_agent {
        Some(ua) => w.map(1).str("UserAgent").str(ua),
        None => w.map(0),
    };
    w.u64(0);
}

/// Reads a preamble from the start of `buf`: `None` until all five items are there, else the
/// preamble and the number of bytes it took.
pub fn decode_preamble(buf: &[u8]) -> Result<Option<(Preamble, usize)>, CodecError> {
    let Some(end) = items_end(buf, 0, 5)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..end]);
    if r.str()? != MAGIC {
        return Err(CodecError::malformed("not a DAX connection (bad magic)", 0));
    }
    r.skip()?; // layering: 0
    let session_id = match r.datatype()? {
        Type::Null => {
            r.null_or()?;
            SessionId::None
        }
        Type::Bytes | Type::BytesIndef => SessionId::Bytes(r.bytes()?.into_owned()),
        _ => SessionId::Text(r.str()?.into_owned()),
    };
    let mut user_agent = None;
    if let Some(mut seq) = r.map_or_null()? {
        while r.next(&mut seq)? {
            let k = r.str()?;
            if k == "UserAgent" && matches!(r.datatype()?, Type::String | Type::StringIndef) {
                user_agent = Some(r.str()?.into_owned());
            } else {
                r.skip()?;
            }
        }
    }
    r.skip()?; // client mode: 0
    Ok(Some((
        Preamble {
            session_id,
            user_agent,
        },
        end,
    )))
}

/// Length of the complete request frame at the start of `buf` (`None`: need more bytes) and its
/// method. Fails on an unknown service or method id: the stream cannot be resynchronised.
///
/// ```
/// use xacct_dax_protocol::codec::{request_frame_len, Method};
///
/// let endpoints = [0x01, 0x1a, 0x1b, 0x2b, 0xcf, 0x02];
/// assert_eq!(request_frame_len(&endpoints)?, Some((Method::Endpoints, 6)));
/// assert_eq!(request_frame_len(&endpoints[..3])?, None);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn request_frame_len(buf: &[u8]) -> Result<Option<(Method, usize)>, CodecError> {
    let Some(head_end) = items_end(buf, 0, 2)? else {
        return Ok(None);
    };
    let mut r = Reader::new(&buf[..head_end]);
    let method = read_service_and_method(&mut r)?;
    Ok(items_end(buf, head_end, method.arity())?.map(|end| (method, end)))
}

/// Length of the complete response frame at the start of `buf` for a request to `method`
/// (`None`: need more bytes). Error replies are always three items.
///
/// ```
/// use xacct_dax_protocol::codec::{response_frame_len, Method};
///
/// assert_eq!(response_frame_len(Method::GetItem, &[0x80, 0xf6])?, Some(2));
/// assert_eq!(response_frame_len(Method::BatchWriteItem, &[0x80, 0xa0, 0x80])?, None);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn response_frame_len(method: Method, buf: &[u8]) -> Result<Option<usize>, CodecError> {
    ResponseFramer::new(method).frame_len(buf)
}

/// Finds where a response frame ends while it arrives in pieces, scanning each byte once:
/// [`response_frame_len`] for a buffer that grows. Give [`frame_len`](Self::frame_len) the
/// same buffer each time, with bytes appended (never changed or removed); it resumes where the
/// last call stopped, so a 16 MB reply read in 16 KB TLS records costs one scan, not a thousand.
///
/// ```
/// use xacct_dax_protocol::codec::{Method, ResponseFramer};
///
/// let reply = [0x80, 0x82, 0x01, 0x02]; // success, then one result item: [1, 2]
/// let mut framer = ResponseFramer::new(Method::GetItem);
/// let mut buf = Vec::new();
/// for byte in reply {
///     assert_eq!(framer.frame_len(&buf)?, None);
///     buf.push(byte);
/// }
/// assert_eq!(framer.frame_len(&buf)?, Some(4));
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResponseFramer {
    method: Method,
    /// Items still to end after the current one (`None` until the head item has ended).
    after_current: Option<usize>,
    scanner: ItemScanner,
}

impl ResponseFramer {
    /// A framer for the reply to a request to `method`.
    ///
    /// ```
    /// let framer = xacct_dax_protocol::codec::ResponseFramer::new(xacct_dax_protocol::codec::Method::GetItem);
    /// ```
    pub fn new(method: Method) -> Self {
        ResponseFramer {
            method,
            after_current: None,
            scanner: ItemScanner::new(0),
        }
    }

    /// The length of the complete frame at the start of `buf`, or `None` while more bytes are
    /// needed. `buf` must extend the buffer of the previous call.
    ///
    /// ```
    /// use xacct_dax_protocol::codec::{Method, ResponseFramer};
    /// let mut framer = ResponseFramer::new(Method::GetItem);
    /// assert_eq!(framer.frame_len(&[0x80])?, None);
    /// assert_eq!(framer.frame_len(&[0x80, 0xf6])?, Some(2));
    /// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
    /// ```
    pub fn frame_len(&mut self, buf: &[u8]) -> Result<Option<usize>, CodecError> {
        if !self.method.has_response() {
            return Ok(Some(0));
        }
        loop {
            let Some(end) = self.scanner.resume(buf)? else {
                return Ok(None);
            };
            let left = match self.after_current {
                None => {
                    let success = is_empty_array(&buf[..end]);
                    if success {
                        self.method.result_items()
                    } else {
                        2
                    }
                }
                Some(left) => left,
            };
            if left == 0 {
                return Ok(Some(end));
            }
            self.after_current = Some(left - 1);
            self.scanner = ItemScanner::new(end);
        }
    }
}

fn is_empty_array(item: &[u8]) -> bool {
    item == [0x80] || item == [0x9f, 0xff]
}

pub(crate) fn read_service_and_method(r: &mut Reader<'_>) -> Result<Method, CodecError> {
    let at = r.position();
    if r.u64()? != SERVICE_ID {
        return Err(CodecError::malformed("unknown DAX service id", at));
    }
    let at = r.position();
    let id = r.i64()?;
    Method::from_id(id).ok_or_else(|| CodecError::malformed(format!("unknown method id {id}"), at))
}

/// Writes `1, methodId`.
pub(crate) fn write_request_head(w: &mut Writer<'_>, method: Method) {
    w.u64(SERVICE_ID).i64(i64::from(method.id()));
}

/// Reads `1, methodId` and checks the method.
pub(crate) fn read_request_head(r: &mut Reader<'_>, expected: Method) -> Result<(), CodecError> {
    let at = r.position();
    let m = read_service_and_method(r)?;
    if m != expected {
        return Err(CodecError::malformed(
            format!("expected a {} request, found {}", expected.name(), m.name()),
            at,
        ));
    }
    Ok(())
}

/// Reads the error header: `Ok(Ok(()))` on success (the result items follow), `Ok(Err(e))` for
/// a DAX error reply (the whole frame consumed).
pub(crate) fn read_response_head(
    r: &mut Reader<'_>,
) -> Result<Result<(), Box<ServiceError>>, CodecError> {
    let mut seq = r.array()?;
    let mut codes = Vec::new();
    while r.next(&mut seq)? {
        codes.push(r.i64()?);
    }
    if codes.is_empty() {
        return Ok(Ok(()));
    }
    ServiceError::read_body(r, codes).map(|e| Err(Box::new(e)))
}

/// Writes the success header.
pub(crate) fn write_success_head(w: &mut Writer<'_>) {
    w.array(0);
}

#[cfg(test)]
mod framer_tests {
    use super::*;

    /// Feeding a frame in pieces of every size gives the same answer as scanning it whole, and
    /// a framer never needs to look at a byte twice to get there.
    #[test]
    fn a_frame_fed_in_pieces_ends_where_it_ends_whole() {
        // An error reply ([4, 23, 31, 33] codes, message, nested details) and a success reply.
        let error = [
            0x84, 0x04, 0x17, 0x18, 0x1f, 0x18, 0x21, 0x63, b'b', b'a', b'd', 0x9f, 0x82, 0x01,
            0x5f, 0x41, 0x00, 0x41, 0x01, 0xff, 0xff,
        ];
        let success = [0x80, 0xa1, 0x61, b'k', 0xc2, 0x43, 0x01, 0x02, 0x03];
        for (method, frame) in [
            (Method::GetItem, &error[..]),
            (Method::GetItem, &success[..]),
        ] {
            let whole = response_frame_len(method, frame).unwrap();
            assert_eq!(whole, Some(frame.len()));
            for piece in 1..=frame.len() {
                let mut framer = ResponseFramer::new(method);
                let mut end = None;
                for take in (piece..=frame.len()).step_by(piece).chain([frame.len()]) {
                    end = framer.frame_len(&frame[..take]).unwrap();
                    if end.is_some() {
                        break;
                    }
                }
                assert_eq!(end, whole, "pieces of {piece}");
            }
        }
    }
}
