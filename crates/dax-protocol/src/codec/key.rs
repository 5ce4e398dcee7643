//! Table key schemas and the KEY byte-string layouts (docs/dax-protocol.md §5.4).
//!
//! | schema | content |
//! | --- | --- |
//! | hash S / B | the raw UTF-8 / bytes, no CBOR head |
//! | hash N | the CBOR number |
//! | hash + range | the hash value as a CBOR item, then the raw range value: S UTF-8, B bytes, N lexdecimal |
//!
//! Compound keys (index ExclusiveStartKey / LastEvaluatedKey) are an *indefinite* CBOR map of
//! every key attribute (the Go client rejects any other form).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_smithy_types::Blob;
use minicbor::data::Type;

use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::lexdecimal;
use super::number::{read_number, write_number};
use super::value::{read_value, write_value, Item};

/// One key attribute: name and scalar type.
///
/// ```
/// use aws_sdk_dynamodb::types::ScalarAttributeType;
/// use xacct_dax_protocol::codec::KeyAttribute;
///
/// let pk = KeyAttribute::new("pk", ScalarAttributeType::S);
/// assert_eq!(pk.name, "pk");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    pub key_type: ScalarAttributeType,
}

impl KeyAttribute {
    /// A key attribute.
    pub fn new(name: impl Into<String>, key_type: ScalarAttributeType) -> Self {
        KeyAttribute {
            name: name.into(),
            key_type,
        }
    }
}

/// A table's primary key: hash attribute and optional range attribute, as `defineKeySchema`
/// returns it.
///
/// ```
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::{KeyAttribute, KeySchema};
/// use std::collections::HashMap;
///
/// let schema = KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N));
/// let key = HashMap::from([
///     ("pk".to_owned(), AttributeValue::S("h".into())),
///     ("sk".to_owned(), AttributeValue::N("3.14".into())),
/// ]);
/// let mut bytes = Vec::new();
/// schema.encode_key(&key, &mut bytes)?;
/// assert_eq!(bytes, [0x61, b'h', 0xc1, 0x51, 0x80, 0x20]); // "h" then lexdecimal(3.14)
/// assert_eq!(schema.decode_key(&bytes)?, key);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    /// The partition (hash) key.
    pub hash: KeyAttribute,
    /// The sort (range) key, if the table has one.
    pub range: Option<KeyAttribute>,
}

impl KeySchema {
    /// A hash-only schema.
    pub fn hash_only(hash: KeyAttribute) -> Self {
        KeySchema { hash, range: None }
    }

    /// A hash + range schema.
    pub fn composite(hash: KeyAttribute, range: KeyAttribute) -> Self {
        KeySchema {
            hash,
            range: Some(range),
        }
    }

    /// Whether `name` is one of the key attributes.
    pub fn is_key(&self, name: &str) -> bool {
        self.hash.name == name || self.range.as_ref().is_some_and(|r| r.name == name)
    }

    /// The key attributes (hash first).
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash).chain(self.range.as_ref())
    }

    /// Only the key attributes of `item`.
    pub fn key_of(&self, item: &Item) -> Item {
        self.attributes()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }

    /// Appends the KEY content (without the byte-string head) for `key`.
    pub fn encode_key(&self, key: &Item, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let hash = key_value(&self.hash, key)?;
        let mut w = Writer::new(out);
        match &self.range {
            None => match hash {
                Scalar::S(s) => w.raw(s.as_bytes()),
                Scalar::B(b) => w.raw(b),
                Scalar::N(n) => {
                    write_number(&mut w, n)?;
                    &mut w
                }
            },
            Some(range_attr) => {
                let range = key_value(range_attr, key)?;
                match hash {
                    Scalar::S(s) => w.str(s),
                    Scalar::B(b) => w.bytes(b),
                    Scalar::N(n) => {
                        write_number(&mut w, n)?;
                        &mut w
                    }
                };
                match range {
                    Scalar::S(s) => w.raw(s.as_bytes()),
                    Scalar::B(b) => w.raw(b),
                    Scalar::N(n) => {
                        lexdecimal::encode(n, w.out())?;
                        &mut w
                    }
                }
            }
        };
        Ok(())
    }

    /// Decodes KEY content back into the key attributes.
    pub fn decode_key(&self, bytes: &[u8]) -> Result<Item, CodecError> {
        let mut key = HashMap::with_capacity(2);
        match &self.range {
            None => {
                let v = raw_scalar(&self.hash.key_type, bytes, true)?;
                key.insert(self.hash.name.clone(), v);
            }
            Some(range) => {
                let mut r = Reader::new(bytes);
                let hash = match (&self.hash.key_type, r.datatype()?) {
                    (ScalarAttributeType::S, Type::String | Type::StringIndef) => {
                        AttributeValue::S(r.str()?.into_owned())
                    }
                    (ScalarAttributeType::B, Type::Bytes | Type::BytesIndef) => {
                        AttributeValue::B(Blob::new(r.bytes()?.into_owned()))
                    }
                    (ScalarAttributeType::N, _) => AttributeValue::N(read_number(&mut r)?),
                    _ => return Err(r.malformed("hash key does not match the key schema")),
                };
                let rest = &bytes[r.position()..];
                key.insert(self.hash.name.clone(), hash);
                key.insert(
                    range.name.clone(),
                    raw_scalar(&range.key_type, rest, false)?,
                );
            }
        }
        Ok(key)
    }
}

enum Scalar<'a> {
    S(&'a str),
    N(&'a str),
    B(&'a [u8]),
}

fn key_value<'a>(attr: &KeyAttribute, key: &'a Item) -> Result<Scalar<'a>, CodecError> {
    let missing = || {
        CodecError::invalid(
            "key",
            format!("key attribute {:?} is missing or empty", attr.name),
        )
    };
    let v = key.get(&attr.name).ok_or_else(missing)?;
    let s = match (&attr.key_type, v) {
        (ScalarAttributeType::S, AttributeValue::S(s)) if !s.is_empty() => Scalar::S(s),
        (ScalarAttributeType::N, AttributeValue::N(n)) => Scalar::N(n),
        (ScalarAttributeType::B, AttributeValue::B(b)) if !b.as_ref().is_empty() => {
            Scalar::B(b.as_ref())
        }
        (
            ScalarAttributeType::S | ScalarAttributeType::B,
            AttributeValue::S(_) | AttributeValue::B(_),
        ) => return Err(missing()),
        _ => {
            return Err(CodecError::invalid(
                "key",
                format!(
                    "key attribute {:?} does not have type {}",
                    attr.name, attr.key_type
                ),
            ))
        }
    };
    Ok(s)
}

fn raw_scalar(
    t: &ScalarAttributeType,
    b: &[u8],
    hash_only: bool,
) -> Result<AttributeValue, CodecError> {
    Ok(match t {
        ScalarAttributeType::S => AttributeValue::S(
            std::str::from_utf8(b)
                .map_err(|_| CodecError::malformed("string key is not UTF-8", 0))?
                .to_owned(),
        ),
        ScalarAttributeType::B => AttributeValue::B(Blob::new(b.to_vec())),
        ScalarAttributeType::N if hash_only => {
            let mut r = Reader::new(b);
            let n = read_number(&mut r)?;
            r.finish()?;
            AttributeValue::N(n)
        }
        ScalarAttributeType::N => AttributeValue::N(lexdecimal::decode(b)?),
        other => {
            return Err(CodecError::invalid(
                "key schema",
                format!("unsupported key type {other}"),
            ))
        }
    })
}

/// Appends a compound key (indefinite map of every given key attribute, names in byte order).
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::codec::{decode_compound_key, encode_compound_key};
/// use std::collections::HashMap;
///
/// let key = HashMap::from([("pk".to_owned(), AttributeValue::S("h".into()))]);
/// let mut out = Vec::new();
/// encode_compound_key(&key, &mut out)?;
/// assert_eq!(out, [0xbf, 0x62, b'p', b'k', 0x61, b'h', 0xff]);
/// assert_eq!(decode_compound_key(&out)?, key);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn encode_compound_key(key: &Item, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let mut w = Writer::new(out);
    let mut names: Vec<&String> = key.keys().collect();
    names.sort_unstable();
    w.begin_map();
    for n in names {
        w.str(n);
        write_value(&mut w, &key[n], 1)?;
    }
    w.end();
    Ok(())
}

/// Decodes a compound key (definite or indefinite map).
///
/// ```
/// use xacct_dax_protocol::codec::decode_compound_key;
///
/// assert!(decode_compound_key(&[0xbf, 0xff])?.is_empty());
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn decode_compound_key(bytes: &[u8]) -> Result<Item, CodecError> {
    let mut r = Reader::new(bytes);
    let mut seq = r.map()?;
    let mut key = HashMap::new();
    while r.next(&mut seq)? {
        let k = r.str()?.into_owned();
        key.insert(k, read_value(&mut r)?);
    }
    r.finish()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarAttributeType as T;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }
    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }
    fn b(v: &[u8]) -> AttributeValue {
        AttributeValue::B(Blob::new(v.to_vec()))
    }

    fn check(schema: &KeySchema, key: &[(&str, AttributeValue)], want_hex: &str) {
        let key: Item = key
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut out = Vec::new();
        schema.encode_key(&key, &mut out).unwrap();
        assert_eq!(hex::encode(&out), want_hex);
        assert_eq!(schema.decode_key(&out).unwrap(), key);
    }

    #[test]
    fn doc_examples() {
        let hs = KeySchema::hash_only(KeyAttribute::new("pk", T::S));
        check(&hs, &[("pk", s("k1"))], "6b31");
        let hn = KeySchema::hash_only(KeyAttribute::new("pk", T::N));
        check(&hn, &[("pk", n("42"))], "182a");
        check(&hn, &[("pk", n("1.5"))], "c482200f");
        let sn = KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N));
        check(&sn, &[("pk", s("h")), ("sk", n("3.14"))], "6168c1518020");
        let bs = KeySchema::composite(KeyAttribute::new("pk", T::B), KeyAttribute::new("sk", T::S));
        check(&bs, &[("pk", b(&[0, 1])), ("sk", s("x"))], "42000178");
        let nn = KeySchema::composite(KeyAttribute::new("pk", T::N), KeyAttribute::new("sk", T::N));
        check(&nn, &[("pk", n("-7")), ("sk", n("0"))], "2680");
    }

    #[test]
    fn bad_keys_are_errors() {
        let sn = KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N));
        let key: Item = [("pk".to_owned(), n("1"))].into();
        assert!(sn.encode_key(&key, &mut Vec::new()).is_err());
        let key: Item = [("pk".to_owned(), s(""))].into();
        assert!(sn.encode_key(&key, &mut Vec::new()).is_err());
        assert!(sn.decode_key(&[0x01, 0xc1]).is_err());
        assert!(sn.decode_key(&[0x62, 0x61]).is_err());
    }
}
