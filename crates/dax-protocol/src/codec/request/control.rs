//! Control-call requests: `endpoints`, `defineKeySchema`, `defineAttributeListId`,
//! `defineAttributeList`. (`authorizeConnection` lives in `auth`.)

use super::{frame, read_frame};
use crate::codec::cbor::{Reader, Writer};
use crate::codec::error::CodecError;
use crate::codec::method::Method;

/// Appends an `endpoints` request (no arguments).
///
/// ```
/// let mut out = Vec::new();
/// xacct_dax_protocol::codec::encode_endpoints_request(&mut out);
/// assert_eq!(out, [0x01, 0x1a, 0x1b, 0x2b, 0xcf, 0x02]);
/// ```
pub fn encode_endpoints_request(out: &mut Vec<u8>) {
    let _ = frame(out, Method::Endpoints, |_| Ok(()));
}

/// Checks an `endpoints` request frame.
///
/// ```
/// xacct_dax_protocol::codec::decode_endpoints_request(&[0x01, 0x1a, 0x1b, 0x2b, 0xcf, 0x02])?;
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn decode_endpoints_request(frame_bytes: &[u8]) -> Result<(), CodecError> {
    read_frame(frame_bytes, Method::Endpoints, |_| Ok(()))
}

/// Appends `defineKeySchema(table)` (the table name as a byte string).
///
/// ```
/// use xacct_dax_protocol::codec::{decode_define_key_schema_request, encode_define_key_schema_request};
///
/// let mut out = Vec::new();
/// encode_define_key_schema_request("hashonly", &mut out);
/// assert_eq!(out[..6], [0x01, 0x3a, 0x2c, 0x43, 0xe2, 0x7e]);
/// assert_eq!(decode_define_key_schema_request(&out)?, "hashonly");
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn encode_define_key_schema_request(table: &str, out: &mut Vec<u8>) {
    let _ = frame(out, Method::DefineKeySchema, |w| {
        w.bytes(table.as_bytes());
        Ok(())
    });
}

/// Reads `defineKeySchema(table)`.
pub fn decode_define_key_schema_request(frame_bytes: &[u8]) -> Result<String, CodecError> {
    read_frame(frame_bytes, Method::DefineKeySchema, Reader::text_or_bytes)
}

/// Appends `defineAttributeListId(names)`; `names` must be the sorted non-empty list.
///
/// ```
/// use xacct_dax_protocol::codec::{decode_define_attribute_list_id_request, encode_define_attribute_list_id_request};
///
/// let mut out = Vec::new();
/// encode_define_attribute_list_id_request(&["a", "b", "z"], &mut out);
/// assert_eq!(out, [0x01, 0x3a, 0x49, 0x59, 0x27, 0xbb, 0x83, 0x61, b'a', 0x61, b'b', 0x61, b'z']);
/// assert_eq!(decode_define_attribute_list_id_request(&out)?, ["a", "b", "z"]);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn encode_define_attribute_list_id_request<S: AsRef<str>>(names: &[S], out: &mut Vec<u8>) {
    let _ = frame(out, Method::DefineAttributeListId, |w| {
        write_names(w, names);
        Ok(())
    });
}

/// Reads `defineAttributeListId(names)`.
pub fn decode_define_attribute_list_id_request(
    frame_bytes: &[u8],
) -> Result<Vec<String>, CodecError> {
    read_frame(frame_bytes, Method::DefineAttributeListId, read_names)
}

/// Appends `defineAttributeList(id)`.
///
/// ```
/// use xacct_dax_protocol::codec::{decode_define_attribute_list_request, encode_define_attribute_list_request};
///
/// let mut out = Vec::new();
/// encode_define_attribute_list_request(100, &mut out);
/// assert_eq!(out, [0x01, 0x1a, 0x27, 0xf9, 0xbd, 0x71, 0x18, 0x64]);
/// assert_eq!(decode_define_attribute_list_request(&out)?, 100);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn encode_define_attribute_list_request(id: i64, out: &mut Vec<u8>) {
    let _ = frame(out, Method::DefineAttributeList, |w| {
        w.i64(id);
        Ok(())
    });
}

/// Reads `defineAttributeList(id)`.
pub fn decode_define_attribute_list_request(frame_bytes: &[u8]) -> Result<i64, CodecError> {
    read_frame(frame_bytes, Method::DefineAttributeList, Reader::i64)
}

pub(crate) fn write_names<S: AsRef<str>>(w: &mut Writer<'_>, names: &[S]) {
    w.array(names.len());
    for n in names {
        w.str(n.as_ref());
    }
}

pub(crate) fn read_names(r: &mut Reader<'_>) -> Result<Vec<String>, CodecError> {
    let mut seq = r.array()?;
    let mut names = Vec::new();
    while r.next(&mut seq)? {
        names.push(r.str()?.into_owned());
    }
    Ok(names)
}
