//! Control-call replies: `endpoints`, `defineKeySchema`, `defineAttributeListId`,
//! `defineAttributeList`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aws_sdk_dynamodb::types::ScalarAttributeType;

use super::{read_reply, write_reply, Reply};
use crate::codec::cbor::Reader;
use crate::codec::error::CodecError;
use crate::codec::key::{KeyAttribute, KeySchema};
use crate::codec::request::{read_names, write_names};

/// Node role: leader (primary).
pub const ROLE_LEADER: i64 = 1;
/// Node role: replica.
pub const ROLE_REPLICA: i64 = 2;

/// One cluster node from an `endpoints` reply (docs/dax-protocol.md §3.1).
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use xacct_dax_protocol::codec::{decode_endpoints_response, encode_endpoints_response, Endpoint, ROLE_LEADER};
///
/// let node = Endpoint { node_id: 1, hostname: Some("localhost".into()),
///     address: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 18111, role: ROLE_LEADER,
///     availability_zone: Some("us-east-1a".into()), leader_session_id: Some(12345) };
/// let mut frame = Vec::new();
/// encode_endpoints_response(&[node.clone()], &mut frame);
/// assert_eq!(decode_endpoints_response(&frame)?.unwrap(), vec![node]);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Node id (key 0).
    pub node_id: i64,
    /// Hostname (key 1), may be absent.
    pub hostname: Option<String>,
    /// Raw IPv4/IPv6 address to connect to (key 2).
    pub address: IpAddr,
    /// Port (key 3).
    pub port: u16,
    /// [`ROLE_LEADER`] or [`ROLE_REPLICA`] (key 4).
    pub role: i64,
    /// Availability zone (key 5).
    pub availability_zone: Option<String>,
    /// Leader session id (key 6).
    pub leader_session_id: Option<i64>,
}

/// Appends an `endpoints` reply (keys 0–6 only: Python rejects keys above 7).
pub fn encode_endpoints_response(nodes: &[Endpoint], out: &mut Vec<u8>) {
    let _ = write_reply(out, |w| {
        w.array(nodes.len());
        for n in nodes {
            let entries = 4
                + usize::from(n.hostname.is_some())
                + usize::from(n.availability_zone.is_some())
                + usize::from(n.leader_session_id.is_some());
            w.map(entries);
            w.u64(0).i64(n.node_id);
            if let Some(h) = &n.hostname {
                w.u64(1).str(h);
            }
            match n.address {
                IpAddr::V4(a) => w.u64(2).bytes(&a.octets()),
                IpAddr::V6(a) => w.u64(2).bytes(&a.octets()),
            };
            w.u64(3).u64(u64::from(n.port));
            w.u64(4).i64(n.role);
            if let Some(z) = &n.availability_zone {
                w.u64(5).str(z);
            }
            if let Some(s) = n.leader_session_id {
                w.u64(6).i64(s);
            }
        }
        Ok(())
    });
}

/// Reads an `endpoints` reply. Unknown keys are ignored; the address must be 4 or 16 bytes.
pub fn decode_endpoints_response(frame: &[u8]) -> Result<Reply<Vec<Endpoint>>, CodecError> {
    read_reply(frame, |r| {
        let mut nodes = Vec::new();
        let mut seq = r.array()?;
        while r.next(&mut seq)? {
            nodes.push(read_endpoint(r)?);
        }
        Ok(nodes)
    })
}

fn read_endpoint(r: &mut Reader<'_>) -> Result<Endpoint, CodecError> {
    let at = r.position();
    let mut seq = r.map()?;
    let (mut node_id, mut hostname, mut address, mut port, mut role, mut az, mut leader) =
        (None, None, None, None, None, None, None);
    while r.next(&mut seq)? {
        match r.u64()? {
            0 => node_id = Some(r.i64()?),
            1 => {
                hostname = (!r.null_or()?)
                    .then(|| r.str().map(|s| s.into_owned()))
                    .transpose()?
            }
            2 => {
                let b = r.bytes()?;
                address = Some(match b.len() {
                    4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(&b);
                        IpAddr::V6(Ipv6Addr::from(a))
                    }
                    _ => {
                        return Err(CodecError::malformed(
                            "endpoint address must be 4 or 16 bytes",
                            at,
                        ))
                    }
                });
            }
            3 => {
                port = Some(
                    u16::try_from(r.u64()?)
                        .map_err(|_| CodecError::malformed("endpoint port out of range", at))?,
                )
            }
            4 => role = Some(r.i64()?),
            5 => {
                az = (!r.null_or()?)
                    .then(|| r.str().map(|s| s.into_owned()))
                    .transpose()?
            }
            6 => leader = Some(r.i64()?),
            _ => r.skip()?,
        }
    }
    match (address, port) {
        (Some(address), Some(port)) => Ok(Endpoint {
            node_id: node_id.unwrap_or(0),
            hostname,
            address,
            port,
            role: role.unwrap_or(ROLE_REPLICA),
            availability_zone: az,
            leader_session_id: leader,
        }),
        _ => Err(CodecError::malformed(
            "endpoint without address or port",
            at,
        )),
    }
}

/// Appends a `defineKeySchema` reply: an ordered map, hash key first.
///
/// ```
/// use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
///
/// let schema = KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N));
/// let mut frame = Vec::new();
/// encode_define_key_schema_response(&schema, &mut frame);
/// assert_eq!(frame, [0x80, 0xa2, 0x62, b'p', b'k', 0x61, b'S', 0x62, b's', b'k', 0x61, b'N']);
/// assert_eq!(decode_define_key_schema_response(&frame)?.unwrap(), schema);
/// # Ok::<(), CodecError>(())
/// ```
pub fn encode_define_key_schema_response(schema: &KeySchema, out: &mut Vec<u8>) {
    let _ = write_reply(out, |w| {
        w.map(1 + usize::from(schema.range.is_some()));
        for a in schema.attributes() {
            w.str(&a.name).str(a.key_type.as_str());
        }
        Ok(())
    });
}

/// Reads a `defineKeySchema` reply (map order is key order).
pub fn decode_define_key_schema_response(frame: &[u8]) -> Result<Reply<KeySchema>, CodecError> {
    read_reply(frame, |r| {
        let at = r.position();
        let mut seq = r.map()?;
        let mut attrs = Vec::with_capacity(2);
        while r.next(&mut seq)? {
            let name = r.str()?.into_owned();
            let t = match r.str()?.as_ref() {
                "S" => ScalarAttributeType::S,
                "N" => ScalarAttributeType::N,
                "B" => ScalarAttributeType::B,
                other => {
                    return Err(CodecError::malformed(
                        format!("unknown key type {other:?}"),
                        at,
                    ))
                }
            };
            attrs.push(KeyAttribute::new(name, t));
        }
        let mut it = attrs.into_iter();
        match (it.next(), it.next(), it.next()) {
            (Some(hash), range, None) => Ok(KeySchema { hash, range }),
            _ => Err(CodecError::malformed(
                "key schema must have 1 or 2 attributes",
                at,
            )),
        }
    })
}

/// Appends a `defineAttributeListId` reply.
///
/// ```
/// use xacct_dax_protocol::codec::*;
///
/// let mut frame = Vec::new();
/// encode_define_attribute_list_id_response(100, &mut frame);
/// assert_eq!(frame, [0x80, 0x18, 0x64]);
/// assert_eq!(decode_define_attribute_list_id_response(&frame)?.unwrap(), 100);
/// # Ok::<(), CodecError>(())
/// ```
pub fn encode_define_attribute_list_id_response(id: i64, out: &mut Vec<u8>) {
    let _ = write_reply(out, |w| {
        w.i64(id);
        Ok(())
    });
}

/// Reads a `defineAttributeListId` reply.
pub fn decode_define_attribute_list_id_response(frame: &[u8]) -> Result<Reply<i64>, CodecError> {
    read_reply(frame, Reader::i64)
}

/// Appends a `defineAttributeList` reply.
///
/// ```
/// use xacct_dax_protocol::codec::*;
///
/// let mut frame = Vec::new();
/// encode_define_attribute_list_response(&["a", "b", "z"], &mut frame);
/// assert_eq!(frame, [0x80, 0x83, 0x61, b'a', 0x61, b'b', 0x61, b'z']);
/// assert_eq!(decode_define_attribute_list_response(&frame)?.unwrap(), ["a", "b", "z"]);
/// # Ok::<(), CodecError>(())
/// ```
pub fn encode_define_attribute_list_response<S: AsRef<str>>(names: &[S], out: &mut Vec<u8>) {
    let _ = write_reply(out, |w| {
        write_names(w, names);
        Ok(())
    });
}

/// Reads a `defineAttributeList` reply.
pub fn decode_define_attribute_list_response(
    frame: &[u8],
) -> Result<Reply<Vec<String>>, CodecError> {
    read_reply(frame, read_names)
}
