//! CBOR plumbing: hard limits, the incremental item scanner, and thin reader/writer wrappers
//! over `minicbor`.
//!
//! `minicbor` does the byte-level work (headers, floats, UTF-8 checks, borrowed slices). What
//! it does not do is bound nesting depth (its `skip` grows an unbounded stack) or tell a
//! streaming reader "this buffer holds only part of the item", so [`item_end`] is ours: an
//! iterative scanner with a fixed depth limit that never recurses and never allocates more
//! than `MAX_DEPTH` stack slots.

use std::borrow::Cow;
use std::convert::Infallible;

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use super::error::CodecError;

/// Deepest container nesting accepted anywhere in a frame. DynamoDB documents nest at most 32
/// levels; the frame envelope (kwargs map, VALUES wrapper, tags) adds a few.
pub(crate) const MAX_DEPTH: usize = 48;

/// Largest frame (and so largest string, count or buffer) the codec accepts: DAX replies are
/// bounded by DynamoDB's 16 MB BatchGetItem limit; this leaves room for CBOR overhead.
pub const MAX_FRAME_LEN: usize = 64 << 20;

const BREAK: u8 = 0xff;

#[derive(Clone, Copy)]
enum Pending {
    /// A definite container with this many items still to come.
    Items(u64),
    /// An indefinite array or map, ended by a break.
    Indefinite,
    /// An indefinite byte or text string: definite chunks of this major type, then a break.
    Chunks(u8),
}

/// Where the CBOR item that starts at `pos` ends: `Ok(Some(end))` when `buf` holds all of it,
/// `Ok(None)` when more bytes are needed, an error when the bytes cannot be valid CBOR or break
/// a limit. Never reads past `buf`, never recurses.
pub(crate) fn item_end(buf: &[u8], pos: usize) -> Result<Option<usize>, CodecError> {
    ItemScanner::new(pos).resume(buf)
}

/// A resumable [`item_end`]: when the buffer ends inside the item, the scanner keeps its place
/// (the containers still open and the position of the first incomplete header), so a caller
/// that appends bytes and calls [`resume`](Self::resume) again scans only the new bytes. The
/// buffer's prefix must not change between calls.
#[derive(Clone, Copy)]
pub(crate) struct ItemScanner {
    stack: [Pending; MAX_DEPTH + 1],
    depth: usize,
    pos: usize,
}

impl std::fmt::Debug for ItemScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemScanner")
            .field("depth", &self.depth)
            .field("pos", &self.pos)
            .finish()
    }
}

impl ItemScanner {
    /// A scanner for the item that starts at `pos`.
    pub(crate) fn new(pos: usize) -> Self {
        let mut stack = [Pending::Items(0); MAX_DEPTH + 1];
        stack[0] = Pending::Items(1);
        ItemScanner {
            stack,
            depth: 1,
            pos,
        }
    }

    /// Scans on from where the last call stopped: the item's end, `None` while `buf` ends
    /// first, or an error.
    pub(crate) fn resume(&mut self, buf: &[u8]) -> Result<Option<usize>, CodecError> {
        loop {
            // Close every container whose items are all there.
            while self.depth > 0 && matches!(self.stack[self.depth - 1], Pending::Items(0)) {
                self.depth -= 1;
            }
            if self.depth == 0 {
                return Ok(Some(self.pos));
            }
            let p = self.pos;
            let Some(&ib) = buf.get(p) else {
                return Ok(None);
            };
            if ib == BREAK {
                match self.stack[self.depth - 1] {
                    Pending::Indefinite | Pending::Chunks(_) => {
                        self.depth -= 1;
                        self.pos += 1;
                        continue;
                    }
                    Pending::Items(_) => return Err(CodecError::malformed("unexpected break", p)),
                }
            }
            let major = ib >> 5;
            let info = ib & 0x1f;
            if let Pending::Chunks(m) = self.stack[self.depth - 1] {
                if major != m || info == 31 {
                    return Err(CodecError::malformed("bad chunk in indefinite string", p));
                }
            }
            let arg_len = match info {
                0..=23 => 0,
                24 => 1,
                25 => 2,
                26 => 4,
                27 => 8,
                31 => 0,
                _ => return Err(CodecError::malformed("reserved additional info", p)),
            };
            // Nothing changes until the whole header (and a string's payload) is there, so
            // that `None` leaves the scanner where it can resume.
            let Some(arg_bytes) = buf.get(p + 1..p + 1 + arg_len) else {
                return Ok(None);
            };
            let arg = if info < 24 {
                u64::from(info)
            } else {
                arg_bytes
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            };
            let mut next = p + 1 + arg_len;
            let indefinite = info == 31;
            let push = match major {
                0 | 1 if indefinite => return Err(CodecError::malformed("indefinite integer", p)),
                0 | 1 => None,
                2 | 3 if indefinite => Some(Pending::Chunks(major)),
                2 | 3 => {
                    let len = checked_len(arg)?;
                    if buf.len() - next < len {
                        return Ok(None);
                    }
                    next += len;
                    None
                }
                4 if indefinite => Some(Pending::Indefinite),
                4 => Some(Pending::Items(checked_len(arg)? as u64)),
                5 if indefinite => Some(Pending::Indefinite),
                5 => Some(Pending::Items(checked_len(arg)? as u64 * 2)),
                6 if indefinite => return Err(CodecError::malformed("indefinite tag", p)),
                6 => None,
                // major 7: simple values and floats; 31 (break) was handled above.
                _ if indefinite => return Err(CodecError::malformed("unexpected break", p)),
                _ => None,
            };
            if push.is_some() && self.depth > MAX_DEPTH {
                return Err(CodecError::LimitExceeded {
                    what: "nesting depth",
                });
            }
            // Commit: this header takes one slot of its container (a tag's item takes the
            // tag's slot, so a tag takes none), then opens its own container if it has one.
            if let Pending::Items(n) = &mut self.stack[self.depth - 1] {
                if major != 6 {
                    *n -= 1;
                }
            }
            if let Some(entry) = push {
                self.stack[self.depth] = entry;
                self.depth += 1;
            }
            self.pos = next;
        }
    }
}

fn checked_len(arg: u64) -> Result<usize, CodecError> {
    match usize::try_from(arg) {
        Ok(n) if n <= MAX_FRAME_LEN => Ok(n),
        _ => Err(CodecError::LimitExceeded { what: "length" }),
    }
}

/// Ends of `count` consecutive items starting at `pos`, or `None` if `buf` ends first.
pub(crate) fn items_end(buf: &[u8], pos: usize, count: usize) -> Result<Option<usize>, CodecError> {
    let mut p = pos;
    for _ in 0..count {
        match item_end(buf, p)? {
            Some(end) => p = end,
            None => return Ok(None),
        }
    }
    Ok(Some(p))
}

/// The number of items of a container still to be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seq {
    remaining: Option<u64>,
    done: bool,
}

impl Seq {
    /// How many items a definite container still holds, capped (a count is checked against
    /// the bytes left, but each item may grow to ~100 bytes in memory): what to reserve.
    pub(crate) fn capacity_hint(&self) -> usize {
        const CAP: u64 = 256;
        self.remaining.map_or(0, |n| n.min(CAP) as usize)
    }
}

/// A cursor over one complete frame (already delimited by [`item_end`]), with depth tracking.
#[derive(Debug)]
pub(crate) struct Reader<'b> {
    d: Decoder<'b>,
    depth: usize,
}

impl<'b> Reader<'b> {
    pub(crate) fn new(buf: &'b [u8]) -> Self {
        Reader {
            d: Decoder::new(buf),
            depth: 0,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.d.position()
    }

    pub(crate) fn input(&self) -> &'b [u8] {
        self.d.input()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.d.position() >= self.d.input().len()
    }

    fn err(&self, e: minicbor::decode::Error) -> CodecError {
        CodecError::from_cbor(e, self.d.position())
    }

    pub(crate) fn malformed(&self, what: impl Into<String>) -> CodecError {
        CodecError::malformed(what, self.d.position())
    }

    /// The next byte (an item's initial byte), if any.
    fn peek_byte(&self) -> Option<u8> {
        self.d.input().get(self.d.position()).copied()
    }

    pub(crate) fn datatype(&self) -> Result<Type, CodecError> {
        self.d.datatype().map_err(|e| self.err(e))
    }

    /// The next item is `null` (consumed) or not (left in place).
    pub(crate) fn null_or(&mut self) -> Result<bool, CodecError> {
        if self.datatype()? == Type::Null {
            self.d.null().map_err(|e| self.err(e))?;
            return Ok(true);
        }
        Ok(false)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        self.d.u64().map_err(|e| self.err(e))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        self.d.i64().map_err(|e| self.err(e))
    }

    pub(crate) fn int(&mut self) -> Result<minicbor::data::Int, CodecError> {
        self.d.int().map_err(|e| self.err(e))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, CodecError> {
        self.d.bool().map_err(|e| self.err(e))
    }

    /// A bool, or an int used as one (DAX sends ConsistentRead both ways).
    pub(crate) fn flag(&mut self) -> Result<bool, CodecError> {
        match self.datatype()? {
            Type::Bool => self.bool(),
            _ => Ok(self.i64()? != 0),
        }
    }

    pub(crate) fn f64(&mut self) -> Result<f64, CodecError> {
        self.d.f64().map_err(|e| self.err(e))
    }

    pub(crate) fn tag(&mut self) -> Result<u64, CodecError> {
        self.d.tag().map(u64::from).map_err(|e| self.err(e))
    }

    /// A byte string, definite or indefinite.
    pub(crate) fn bytes(&mut self) -> Result<Cow<'b, [u8]>, CodecError> {
        if self.peek_byte() == Some(0x5f) {
            let mut out = Vec::new();
            let iter = self
                .d
                .bytes_iter()
                .map_err(|e| CodecError::from_cbor(e, 0))?;
            for chunk in iter {
                out.extend_from_slice(chunk.map_err(|e| CodecError::from_cbor(e, 0))?);
            }
            return Ok(Cow::Owned(out));
        }
        self.d.bytes().map(Cow::Borrowed).map_err(|e| self.err(e))
    }

    /// A text string, definite or indefinite.
    pub(crate) fn str(&mut self) -> Result<Cow<'b, str>, CodecError> {
        if self.peek_byte() == Some(0x7f) {
            let mut out = String::new();
            let iter = self.d.str_iter().map_err(|e| CodecError::from_cbor(e, 0))?;
            for chunk in iter {
                out.push_str(chunk.map_err(|e| CodecError::from_cbor(e, 0))?);
            }
            return Ok(Cow::Owned(out));
        }
        self.d.str().map(Cow::Borrowed).map_err(|e| self.err(e))
    }

    /// Text, or bytes holding UTF-8 (table and index names travel both ways).
    pub(crate) fn text_or_bytes(&mut self) -> Result<String, CodecError> {
        match self.datatype()? {
            Type::Bytes | Type::BytesIndef => {
                let at = self.position();
                let b = self.bytes()?;
                String::from_utf8(b.into_owned())
                    .map_err(|_| CodecError::malformed("name is not UTF-8", at))
            }
            _ => Ok(self.str()?.into_owned()),
        }
    }

    fn enter(&mut self) -> Result<(), CodecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CodecError::LimitExceeded {
                what: "nesting depth",
            });
        }
        Ok(())
    }

    fn check_count(&self, n: u64, per_item: u64) -> Result<(), CodecError> {
        // Every item takes at least one byte: a count the input cannot hold is a lie.
        let left = (self.d.input().len() - self.d.position()) as u64;
        if n.saturating_mul(per_item) > left {
            return Err(CodecError::Truncated);
        }
        Ok(())
    }

    /// Starts an array; iterate with [`Reader::next`]. Each `array`/`map` must be drained.
    pub(crate) fn array(&mut self) -> Result<Seq, CodecError> {
        let n = self.d.array().map_err(|e| self.err(e))?;
        if let Some(n) = n {
            self.check_count(n, 1)?;
        }
        self.enter()?;
        Ok(Seq {
            remaining: n,
            done: false,
        })
    }

    /// Starts a map; each step of [`Reader::next`] is one key/value pair.
    pub(crate) fn map(&mut self) -> Result<Seq, CodecError> {
        let n = self.d.map().map_err(|e| self.err(e))?;
        if let Some(n) = n {
            self.check_count(n, 2)?;
        }
        self.enter()?;
        Ok(Seq {
            remaining: n,
            done: false,
        })
    }

    /// An array, or `null` (`None`).
    pub(crate) fn array_or_null(&mut self) -> Result<Option<Seq>, CodecError> {
        if self.null_or()? {
            return Ok(None);
        }
        self.array().map(Some)
    }

    /// A map, or `null` (`None`). An empty array counts as "no map" too (lenient).
    pub(crate) fn map_or_null(&mut self) -> Result<Option<Seq>, CodecError> {
        match self.datatype()? {
            Type::Null => {
                self.null_or()?;
                Ok(None)
            }
            Type::Array | Type::ArrayIndef => {
                let mut seq = self.array()?;
                if self.next(&mut seq)? {
                    return Err(self.malformed("expected a map, found a non-empty array"));
                }
                Ok(None)
            }
            _ => self.map().map(Some),
        }
    }

    /// Whether the container has another item (consuming the break of an indefinite one).
    pub(crate) fn next(&mut self, seq: &mut Seq) -> Result<bool, CodecError> {
        if seq.done {
            return Ok(false);
        }
        let more = match &mut seq.remaining {
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
            None => {
                let p = self.d.position();
                match self.d.input().get(p) {
                    Some(&BREAK) => {
                        self.d.set_position(p + 1);
                        false
                    }
                    Some(_) => true,
                    None => return Err(CodecError::Truncated),
                }
            }
        };
        if !more {
            self.depth -= 1;
            seq.done = true;
        }
        Ok(more)
    }

    /// Skips the rest of a container.
    pub(crate) fn drain(&mut self, seq: &mut Seq, per_item: usize) -> Result<(), CodecError> {
        while self.next(seq)? {
            for _ in 0..per_item {
                self.skip()?;
            }
        }
        Ok(())
    }

    /// Skips one item of any shape (bounded by the scanner's limits).
    pub(crate) fn skip(&mut self) -> Result<(), CodecError> {
        let p = self.d.position();
        match item_end(self.d.input(), p)? {
            Some(end) => {
                self.d.set_position(end);
                Ok(())
            }
            None => Err(CodecError::Truncated),
        }
    }

    /// The raw bytes of the next item, skipped.
    pub(crate) fn raw_item(&mut self) -> Result<&'b [u8], CodecError> {
        let p = self.d.position();
        self.skip()?;
        Ok(&self.d.input()[p..self.d.position()])
    }

    /// Fails unless the whole input was consumed.
    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes after the last item"))
        }
    }
}

/// A CBOR writer into a `Vec<u8>`: shortest-form heads, as every DAX client writes them.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    e: Encoder<&'a mut Vec<u8>>,
    /// Server side: integral numbers go out as CBOR integers whatever their spelling (as a DAX
    /// node writes DynamoDB's canonical strings), see [`super::number::write_decimal`].
    pub(crate) integral_as_int: bool,
}

/// Writing to a `Vec` cannot fail; minicbor's primitive writers only fail on the sink.
#[inline]
fn ok<T>(r: Result<T, minicbor::encode::Error<Infallible>>) {
    debug_assert!(r.is_ok());
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Writer {
            e: Encoder::new(out),
            integral_as_int: false,
        }
    }

    /// A writer for server replies (see [`Writer::integral_as_int`]).
    pub(crate) fn server(out: &'a mut Vec<u8>) -> Self {
        Writer {
            e: Encoder::new(out),
            integral_as_int: true,
        }
    }

    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        self.e.writer_mut()
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        ok(self.e.u64(v));
        self
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        ok(self.e.i64(v));
        self
    }

    /// A negative integer `-1 - n` (covers down to -2^64).
    pub(crate) fn neg(&mut self, n: u64) -> &mut Self {
        // -1 - n for any u64 n is inside CBOR's negative range.
        if let Ok(i) = minicbor::data::Int::try_from(-1i128 - i128::from(n)) {
            ok(self.e.int(i));
        }
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        ok(self.e.bool(v));
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        ok(self.e.null());
        self
    }

    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        ok(self.e.f64(v));
        self
    }

    pub(crate) fn str(&mut self, v: &str) -> &mut Self {
        ok(self.e.str(v));
        self
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        ok(self.e.bytes(v));
        self
    }

    pub(crate) fn tag(&mut self, t: u64) -> &mut Self {
        ok(self.e.tag(Tag::new(t)));
        self
    }

    pub(crate) fn array(&mut self, n: usize) -> &mut Self {
        ok(self.e.array(n as u64));
        self
    }

    pub(crate) fn map(&mut self, n: usize) -> &mut Self {
        ok(self.e.map(n as u64));
        self
    }

    pub(crate) fn begin_map(&mut self) -> &mut Self {
        ok(self.e.begin_map());
        self
    }

    pub(crate) fn end(&mut self) -> &mut Self {
        ok(self.e.end());
        self
    }

    /// Appends already-encoded CBOR.
    pub(crate) fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out().extend_from_slice(b);
        self
    }

    /// Writes a byte string whose content is produced by `f` (written in place, then the
    /// head is fixed up: no second buffer for KEY / VALUES / expression envelopes).
    pub(crate) fn bytes_with<R>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> R) -> R {
        let integral_as_int = self.integral_as_int;
        let out = self.out();
        let head_at = out.len();
        // Reserve the largest head we might need for small contents; fix up below.
        out.push(0x40);
        let start = out.len();
        let r = f(&mut Writer {
            e: Encoder::new(out),
            integral_as_int,
        });
        let len = out.len() - start;
        // The byte-string head (major type 2) for `len`, on the stack.
        let mut head = [0u8; 9];
        let head_len = match len {
            0..=23 => {
                head[0] = 0x40 | len as u8;
                1
            }
            24..=0xff => {
                head[..2].copy_from_slice(&[0x58, len as u8]);
                2
            }
            0x100..=0xffff => {
                head[0] = 0x59;
                head[1..3].copy_from_slice(&(len as u16).to_be_bytes());
                3
            }
            _ => match u32::try_from(len) {
                Ok(l) => {
                    head[0] = 0x5a;
                    head[1..5].copy_from_slice(&l.to_be_bytes());
                    5
                }
                Err(_) => {
                    head[0] = 0x5b;
                    head[1..9].copy_from_slice(&(len as u64).to_be_bytes());
                    9
                }
            },
        };
        if head_len == 1 {
            out[head_at] = head[0];
        } else {
            out.splice(head_at..head_at + 1, head[..head_len].iter().copied());
        }
        r
    }
}
