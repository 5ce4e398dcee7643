//! Attribute-list compression: VALUES byte strings (docs/dax-protocol.md §5.5).
//!
//! An item's non-key attributes travel as a byte string holding the CBOR sequence
//! `attrListId v1 v2 …`: the id names the sorted list of attribute names (byte order, as the
//! Go client; identical to Python's and Node's order for BMP text), the values follow in that
//! order with no array head. UPDATED_OLD / UPDATED_NEW replies use the variant
//! `attrListId {index: value, …}` (a subset of the list).

use std::collections::HashMap;

use super::catalog::{Catalog, EMPTY_ATTRIBUTE_LIST_ID};
use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::key::KeySchema;
use super::value::{read_value, write_value, Item};

fn list_id(catalog: &dyn Catalog, names: &[&str]) -> Result<i64, CodecError> {
    if names.is_empty() {
        return Ok(EMPTY_ATTRIBUTE_LIST_ID);
    }
    catalog
        .attribute_list_id(names)
        .ok_or_else(|| CodecError::MissingAttributeListId {
            names: names.iter().map(|s| (*s).to_owned()).collect(),
        })
}

/// The sorted non-key attribute names of `item`.
pub(crate) fn value_names<'a>(item: &'a Item, schema: Option<&KeySchema>) -> Vec<&'a str> {
    let mut names: Vec<&str> = item
        .keys()
        .map(String::as_str)
        .filter(|n| !schema.is_some_and(|s| s.is_key(n)))
        .collect();
    names.sort_unstable();
    names
}

/// Writes the VALUES byte string (head included) for the non-key attributes of `item`.
pub(crate) fn write_values(
    w: &mut Writer<'_>,
    item: &Item,
    schema: Option<&KeySchema>,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    w.bytes_with(|w| write_values_content(w, item, schema, catalog))
}

/// Writes the content of a VALUES byte string (no head): the attribute-list id of the non-key
/// attributes of `item`, then their values in name order.
pub(crate) fn write_values_content(
    w: &mut Writer<'_>,
    item: &Item,
    schema: Option<&KeySchema>,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    let names = value_names(item, schema);
    w.i64(list_id(catalog, &names)?);
    for n in &names {
        write_value(w, &item[*n], 1)?;
    }
    Ok(())
}

/// Writes the UPDATED_* form: `attrListId {index: value}` over the sorted names of `attrs`.
pub(crate) fn write_updated_values(
    w: &mut Writer<'_>,
    attrs: &Item,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    let names = value_names(attrs, None);
    let id = list_id(catalog, &names)?;
    w.bytes_with(|w| {
        w.i64(id);
        w.map(names.len());
        for (i, n) in names.iter().enumerate() {
            w.u64(i as u64);
            write_value(w, &attrs[*n], 1)?;
        }
        Ok(())
    })
}

/// Encodes the content of a VALUES byte string (docs/dax-protocol.md §5.5): the attribute-list id
/// of the attributes of `item` that are not in `key_schema` (all of them with `None`), then their
/// values. What a server puts in a cancellation reason's item (`Some(schema)`: the client adds
/// the key back) or wherever a whole item travels (`None`).
///
/// ```
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::assigning(100);
/// let schema = KeySchema::hash_only(KeyAttribute::new("pk", T::S));
/// let item: Item = [("pk".into(), AttributeValue::S("k".into())), ("a".into(), AttributeValue::N("1".into()))].into();
/// let values = encode_values(&item, Some(&schema), &catalog)?;
/// assert_eq!(values, [0x18, 0x64, 0x01]); // list 100 = ["a"], then 1
/// assert_eq!(decode_values(&values, &catalog)?, [("a".into(), AttributeValue::N("1".into()))].into());
/// # Ok::<(), CodecError>(())
/// ```
pub fn encode_values(
    item: &Item,
    key_schema: Option<&KeySchema>,
    catalog: &dyn Catalog,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    write_values_content(&mut Writer::new(&mut out), item, key_schema, catalog)?;
    Ok(out)
}

/// Decodes the content of a VALUES byte string (full form or the UPDATED_* index-map form)
/// into attributes, looking the attribute-list id up in `catalog`.
///
/// ```
/// use xacct_dax_protocol::codec::{decode_values, MemoryCatalog};
///
/// // attribute list 1 is the empty list
/// assert!(decode_values(&[0x01], &MemoryCatalog::default())?.is_empty());
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
pub fn decode_values(content: &[u8], catalog: &dyn Catalog) -> Result<Item, CodecError> {
    let mut r = Reader::new(content);
    let id = r.i64()?;
    let names = if id == EMPTY_ATTRIBUTE_LIST_ID {
        None
    } else {
        Some(
            catalog
                .attribute_names(id)
                .ok_or(CodecError::UnknownAttributeList { id })?,
        )
    };
    let names: &[String] = names.as_deref().unwrap_or(&[]);
    let mut item: Item = HashMap::with_capacity(names.len() + 2);
    use minicbor::data::Type;
    if matches!(r.datatype(), Ok(Type::Map | Type::MapIndef)) {
        let mut seq = r.map()?;
        while r.next(&mut seq)? {
            let at = r.position();
            let i = r.u64()?;
            let name = usize::try_from(i)
                .ok()
                .and_then(|i| names.get(i))
                .ok_or_else(|| CodecError::malformed("attribute index out of its list", at))?;
            item.insert(name.clone(), read_value(&mut r)?);
        }
    } else {
        for name in names {
            if r.is_empty() {
                return Err(CodecError::malformed(
                    format!("VALUES holds fewer values than list {id} has names"),
                    r.position(),
                ));
            }
            item.insert(name.clone(), read_value(&mut r)?);
        }
    }
    r.finish()?;
    Ok(item)
}

/// Reads a VALUES byte string and adds the key attributes back.
pub(crate) fn read_item_with_key(
    r: &mut Reader<'_>,
    key: &Item,
    catalog: &dyn Catalog,
) -> Result<Item, CodecError> {
    let content = r.bytes()?;
    let mut item = decode_values(&content, catalog)?;
    item.extend(key.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(item)
}
