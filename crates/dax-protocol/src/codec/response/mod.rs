//! Responses: server-side encoders and client-side decoders for every method
//! (docs/dax-protocol.md §4.4).
//!
//! A client decoder takes the complete frame (see
//! [`response_frame_len`](super::response_frame_len)) and the request it answers (items come
//! back without their key attributes, which the client re-inserts from the request) and returns
//! `Ok(Ok(output))`, `Ok(Err(ServiceError))` for a DAX error reply, or a [`CodecError`].
//! Decoders are lenient where real servers differ: definite or indefinite containers, and
//! `null`, an empty map or an empty array for "no result fields".

mod batch;
mod capacity;
mod control;
mod item;
mod query;
mod transact;

pub use batch::*;
pub use control::*;
pub use item::*;
pub use query::*;
pub use transact::*;

use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::framing::{read_response_head, write_success_head};
use super::service_error::ServiceError;

/// What a client decoder returns: the output, or the DAX error the server replied with (boxed:
/// error replies are rare and the error is large).
pub type Reply<T> = Result<T, Box<ServiceError>>;

/// Reads a whole response frame: error reply, or success header then `body`.
pub(crate) fn read_reply<'b, T>(
    buf: &'b [u8],
    body: impl FnOnce(&mut Reader<'b>) -> Result<T, CodecError>,
) -> Result<Reply<T>, CodecError> {
    let mut r = Reader::new(buf);
    let reply = match read_response_head(&mut r)? {
        Err(e) => Err(e),
        Ok(()) => Ok(body(&mut r)?),
    };
    r.finish()?;
    Ok(reply)
}

/// Writes a success reply; on error `out` is left as it was.
pub(crate) fn write_reply(
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let start = out.len();
    // Integral numbers as CBOR integers, as a DAX node sends DynamoDB's canonical strings.
    let mut w = Writer::server(out);
    write_success_head(&mut w);
    let r = body(&mut w);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Appends an error reply frame (server side).
///
/// ```
/// use xacct_dax_protocol::codec::{decode_get_item_response, encode_error_response, ServiceError};
/// # use xacct_dax_protocol::codec::MemoryCatalog;
/// # use aws_sdk_dynamodb::operation::get_item::GetItemInput;
///
/// let mut frame = Vec::new();
/// encode_error_response(&ServiceError::from_exception("ValidationException", "bad"), &mut frame);
/// let input = GetItemInput::builder().table_name("t").build()?;
/// let reply = decode_get_item_response(&frame, &input, None, &MemoryCatalog::default())?;
/// assert_eq!(reply.unwrap_err().exception_name(), Some("ValidationException"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_error_response(err: &ServiceError, out: &mut Vec<u8>) {
    err.encode(out);
}
