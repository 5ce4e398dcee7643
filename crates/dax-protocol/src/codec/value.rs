//! `AttributeValue` ⇄ DAX CBOR (docs/dax-protocol.md §5.2).
//!
//! S text, B bytes, N number (see `number`), BOOL/NULL simple values, L array, M map (keys
//! written in byte order, as the Python client does, so output is deterministic), SS/NS/BS
//! tags 3321/3322/3323 around an array.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::Blob;
use minicbor::data::Type;

use super::cbor::{Reader, Writer, MAX_DEPTH};
use super::error::CodecError;
use super::number::{read_number, read_number_of, write_number};

pub(crate) const TAG_SS: u64 = 3321;
pub(crate) const TAG_NS: u64 = 3322;
pub(crate) const TAG_BS: u64 = 3323;

/// An item or key: attribute name → value, as the SDK models it.
pub type Item = HashMap<String, AttributeValue>;

/// Appends the DAX CBOR encoding of one `AttributeValue`.
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::codec::encode_attribute_value;
///
/// let mut out = Vec::new();
/// encode_attribute_value(&AttributeValue::N("1.50".into()), &mut out)?;
/// assert_eq!(out, [0xc4, 0x82, 0x21, 0x18, 0x96]); // 4([-2, 150])
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn encode_attribute_value(av: &AttributeValue, out: &mut Vec<u8>) -> Result<(), CodecError> {
    write_value(&mut Writer::new(out), av, 0)
}

/// Decodes one `AttributeValue` from exactly `bytes`.
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::codec::decode_attribute_value;
///
/// // Node's float64 form of "2.5" decodes to the same number.
/// let av = decode_attribute_value(&[0xfb, 0x40, 0x04, 0, 0, 0, 0, 0, 0])?;
/// assert_eq!(av, AttributeValue::N("2.5".into()));
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn decode_attribute_value(bytes: &[u8]) -> Result<AttributeValue, CodecError> {
    let mut r = Reader::new(bytes);
    let av = read_value(&mut r)?;
    r.finish()?;
    Ok(av)
}

pub(crate) fn write_value(
    w: &mut Writer<'_>,
    av: &AttributeValue,
    depth: usize,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::invalid("attribute value", "nested too deeply"));
    }
    match av {
        AttributeValue::S(s) => {
            w.str(s);
        }
        AttributeValue::N(n) => write_number(w, n)?,
        AttributeValue::B(b) => {
            w.bytes(b.as_ref());
        }
        AttributeValue::Bool(b) => {
            w.bool(*b);
        }
        AttributeValue::Null(_) => {
            w.null();
        }
        AttributeValue::L(l) => {
            w.array(l.len());
            for v in l {
                write_value(w, v, depth + 1)?;
            }
        }
        AttributeValue::M(m) => write_map(w, m, depth + 1)?,
        AttributeValue::Ss(ss) => {
            w.tag(TAG_SS).array(ss.len());
            for s in ss {
                w.str(s);
            }
        }
        AttributeValue::Ns(ns) => {
            w.tag(TAG_NS).array(ns.len());
            for n in ns {
                write_number(w, n)?;
            }
        }
        AttributeValue::Bs(bs) => {
            w.tag(TAG_BS).array(bs.len());
            for b in bs {
                w.bytes(b.as_ref());
            }
        }
        _ => {
            return Err(CodecError::invalid(
                "attribute value",
                "unknown AttributeValue variant",
            ))
        }
    }
    Ok(())
}

/// A map of attribute values, keys in byte order.
pub(crate) fn write_map(w: &mut Writer<'_>, m: &Item, depth: usize) -> Result<(), CodecError> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable();
    w.map(keys.len());
    for k in keys {
        w.str(k);
        write_value(w, &m[k], depth)?;
    }
    Ok(())
}

pub(crate) fn read_value(r: &mut Reader<'_>) -> Result<AttributeValue, CodecError> {
    let at = r.position();
    let ty = r.datatype()?;
    Ok(match ty {
        Type::String | Type::StringIndef => AttributeValue::S(r.str()?.into_owned()),
        Type::Bytes | Type::BytesIndef => AttributeValue::B(Blob::new(r.bytes()?.into_owned())),
        Type::Bool => AttributeValue::Bool(r.bool()?),
        Type::Null => {
            r.null_or()?;
            AttributeValue::Null(true)
        }
        Type::Array | Type::ArrayIndef => {
            let mut seq = r.array()?;
            let mut l = Vec::with_capacity(seq.capacity_hint());
            while r.next(&mut seq)? {
                l.push(read_value(r)?);
            }
            AttributeValue::L(l)
        }
        Type::Map | Type::MapIndef => AttributeValue::M(read_map(r)?),
        Type::Tag => {
            let mut probe = Reader::new(&r.input()[at..]);
            match probe.tag()? {
                TAG_SS => {
                    r.tag()?;
                    AttributeValue::Ss(read_set(r, |r| Ok(r.str()?.into_owned()))?)
                }
                TAG_NS => {
                    r.tag()?;
                    AttributeValue::Ns(read_set(r, read_number)?)
                }
                TAG_BS => {
                    r.tag()?;
                    AttributeValue::Bs(read_set(r, |r| Ok(Blob::new(r.bytes()?.into_owned())))?)
                }
                2..=4 => AttributeValue::N(read_number_of(r, Type::Tag)?),
                t => return Err(CodecError::malformed(format!("unexpected tag {t}"), at)),
            }
        }
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int
        | Type::F16
        | Type::F32
        | Type::F64 => AttributeValue::N(read_number_of(r, ty)?),
        t => {
            return Err(CodecError::malformed(
                format!("{t} is not an attribute value"),
                at,
            ))
        }
    })
}

fn read_set<T>(
    r: &mut Reader<'_>,
    mut one: impl FnMut(&mut Reader<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let mut seq = r.array()?;
    let mut out = Vec::with_capacity(seq.capacity_hint());
    while r.next(&mut seq)? {
        out.push(one(r)?);
    }
    Ok(out)
}

/// A map text → AttributeValue (definite or indefinite).
pub(crate) fn read_map(r: &mut Reader<'_>) -> Result<Item, CodecError> {
    let mut seq = r.map()?;
    let mut m = HashMap::with_capacity(seq.capacity_hint());
    while r.next(&mut seq)? {
        let k = r.str()?.into_owned();
        let v = read_value(r)?;
        m.insert(k, v);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(av: &AttributeValue) -> String {
        let mut out = Vec::new();
        encode_attribute_value(av, &mut out).unwrap();
        hex::encode(out)
    }

    #[test]
    fn doc_examples() {
        let m = AttributeValue::M(HashMap::from([
            ("b".to_owned(), AttributeValue::N("1".into())),
            ("a".to_owned(), AttributeValue::Bool(true)),
        ]));
        assert_eq!(enc(&m), "a26161f5616201");
        let ns = AttributeValue::Ns(vec!["1".into(), "2.5".into()]);
        // 2.5 is tag 4 [-1, 25], as the official encoder writes it (docs/dax-protocol.md §5.2).
        assert_eq!(enc(&ns), "d90cfa8201c482201819");
        let bs = AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![])]);
        assert_eq!(enc(&bs), "d90cfb82410140");
        for av in [m, ns, bs] {
            let b = hex::decode(enc(&av)).unwrap();
            assert_eq!(decode_attribute_value(&b).unwrap(), av);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut b = vec![0x81; 100_000];
        b.push(0x01);
        assert!(matches!(
            decode_attribute_value(&b),
            Err(CodecError::LimitExceeded { .. })
        ));
        let mut av = AttributeValue::Null(true);
        for _ in 0..200 {
            av = AttributeValue::L(vec![av]);
        }
        assert!(encode_attribute_value(&av, &mut Vec::new()).is_err());
    }

    #[test]
    fn lying_lengths_do_not_allocate() {
        // An array claiming 2^32 elements in 6 bytes.
        let b = hex::decode("9b0000000100000000").unwrap();
        assert!(decode_attribute_value(&b).is_err());
    }
}
