//! The DAX wire codec: no sockets, no runtime, no clock.
//!
//! This is the low-level layer under the DAX transport. Every function here turns SDK values
//! into bytes or bytes into SDK values; nothing reads a socket, spawns a task or looks at the
//! time (the signer takes the time as an input). A client uses the `encode_*_request` /
//! `decode_*_response` pairs, a server (gateway, test server) the `decode_*_request` /
//! `encode_*_response` pairs; both share [`Catalog`] for key schemas and attribute lists.
//!
//! ```
//! use aws_sdk_dynamodb::operation::get_item::GetItemInput;
//! use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
//! use xacct_dax_protocol::codec::*;
//!
//! let catalog = MemoryCatalog::default();
//! catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
//! let input = GetItemInput::builder()
//!     .table_name("t")
//!     .key("pk", AttributeValue::S("k1".into()))
//!     .build()?;
//! let mut frame = Vec::new();
//! encode_get_item_request(&input, &CompiledExpressions::new(), &catalog, &mut frame)?;
//! assert_eq!(frame, [0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a, 0x41, b't', 0x42, b'k', b'1', 0xbf, 0xff]);
//!
//! // The server side reads it back.
//! let (decoded, _exprs) = decode_get_item_request(&frame, &catalog)?;
//! assert_eq!(decoded.key(), input.key());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! | module | concern |
//! | --- | --- |
//! | `cbor` | limits, the incremental item scanner, reader/writer over `minicbor` |
//! | `decimal` | the one parser of `N` strings (also used by the expression compiler) |
//! | `number`, `lexdecimal` | `N` strings ⇄ CBOR numbers; the order-preserving range-key encoding |
//! | `value`, `key`, `attribute_list`, `projection` | AttributeValue, KEY layouts, VALUES, projected items |
//! | `framing`, `method` | preamble, request/response framing, method ids and arities |
//! | `request::*`, `response::*` | per-method encoders and decoders, both directions |
//! | `operation` | [`Operation`], one marker type per data operation ([`op`]), their list |
//! | `service_error` | error replies, DynamoDB exception names, retryability |
//! | `auth` | `authorizeConnection` and its SigV4 signature |
//!
//! # CBOR library
//!
//! CBOR goes through [`minicbor`]. Compared with `ciborium` (the other well-kept choice):
//! minicbor decodes from a borrowed slice without allocating (strings and byte strings are
//! borrowed), exposes the item header stream (tags, definite **and** indefinite containers,
//! float16/32/64) as typed calls, and reports end-of-input as a distinct error; ciborium is
//! serde-first (its `Value` tree allocates every node, and tags/indefinite lengths are only
//! reachable through its low-level `ciborium-ll`), and it reads from `std::io::Read`, where
//! "need more bytes" is an I/O error. On this protocol's shapes minicbor was several times
//! faster (numbers in `BENCHMARKS.md`, "DAX codec"). Neither bounds nesting depth in a skip
//! or tells a streaming reader where an item ends, so the scanner in `cbor` is ours.
//!
//! # Limits
//!
//! Nesting depth is capped at 48, lengths and counts at [`MAX_FRAME_LEN`], bignums at 128
//! bytes; a container count larger than the bytes left is rejected before anything is
//! allocated. Hostile input yields a [`CodecError`], never a panic.

mod attribute_list;
mod auth;
mod catalog;
mod cbor;
pub(crate) mod decimal;
mod error;
mod framing;
mod key;
mod lexdecimal;
mod method;
pub(crate) mod number;
mod operation;
mod projection;
mod request;
mod response;
mod service_error;
mod value;

pub use attribute_list::{decode_values, encode_values};
pub use auth::{sign_authorization, verify_authorization, AuthRequest, SigningInputs, DAX_HOST};
pub use catalog::{Catalog, MemoryCatalog, EMPTY_ATTRIBUTE_LIST_ID};
pub use cbor::MAX_FRAME_LEN;
pub use error::CodecError;
pub use framing::{
    decode_preamble, encode_preamble, request_frame_len, response_frame_len, Preamble,
    ResponseFramer, SessionId,
};
pub use key::{decode_compound_key, encode_compound_key, KeyAttribute, KeySchema};
pub use method::Method;
pub use operation::{op, Operation};
pub use projection::{PathElement, ProjectionPaths};
pub use request::*;
pub use response::*;
pub use service_error::{CancellationReasonRaw, ServiceError};
pub use value::{decode_attribute_value, encode_attribute_value, Item};

/// The compiled expressions the request encoders take and the request decoders return (the
/// expression compiler's type, re-exported for codec users).
#[doc(no_inline)]
pub use crate::expr::CompiledExpressions;

/// Lexicographic-decimal helpers (numeric range keys), exposed for tools and differential
/// tests.
pub mod lex {
    /// Encodes a DynamoDB number string in the order-preserving range-key form.
    ///
    /// ```
    /// assert_eq!(xacct_dax_protocol::codec::lex::encode("3.14")?, [0xc1, 0x51, 0x80, 0x20]);
    /// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
    /// ```
    pub fn encode(n: &str) -> Result<Vec<u8>, super::CodecError> {
        let mut out = Vec::new();
        super::lexdecimal::encode(n, &mut out)?;
        Ok(out)
    }

    /// Decodes a lexdecimal back into a number string with the same digits.
    ///
    /// ```
    /// assert_eq!(xacct_dax_protocol::codec::lex::decode(&[0xc1, 0x28, 0x80, 0x20])?, "1.50");
    /// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
    /// ```
    pub fn decode(b: &[u8]) -> Result<String, super::CodecError> {
        super::lexdecimal::decode(b)
    }
}
