//! Query and Scan replies: `null` | `{7: Items, 8: Count, 10: ScannedCount, 9:
//! LastEvaluatedKey, 1: CC}`. Items are `[KEY, VALUES]` pairs (table key schema, also on
//! index queries) or projection maps; LastEvaluatedKey is table-key bytes, or compound-key
//! bytes when the request named an index.

use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use minicbor::data::Type;

use super::capacity::{read_cc, write_cc};
use super::{read_reply, write_reply, Reply};
use crate::codec::attribute_list::{decode_values, write_values};
use crate::codec::catalog::Catalog;
use crate::codec::cbor::{Reader, Writer};
use crate::codec::error::CodecError;
use crate::codec::key::{decode_compound_key, encode_compound_key, KeySchema};
use crate::codec::projection::ProjectionPaths;
use crate::codec::request::{required, schema_for, write_key};
use crate::codec::value::Item;

const CONSUMED_CAPACITY: u64 = 1;
const ITEMS: u64 = 7;
const COUNT: u64 = 8;
const LAST_EVALUATED_KEY: u64 = 9;
const SCANNED_COUNT: u64 = 10;

/// The fields Query and Scan replies share.
#[derive(Default)]
struct Page {
    items: Option<Vec<Item>>,
    count: Option<i32>,
    scanned_count: Option<i32>,
    last_evaluated_key: Option<Item>,
    consumed_capacity: Option<ConsumedCapacity>,
}

/// One `[KEY, VALUES]` pair or projection map.
pub(crate) fn read_scanned_item(
    r: &mut Reader<'_>,
    schema: &KeySchema,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Item, CodecError> {
    match r.datatype()? {
        Type::Map | Type::MapIndef => {
            let empty = ProjectionPaths::default();
            projection.unwrap_or(&empty).read_item(r)
        }
        _ => {
            let mut pair = r.array()?;
            if !r.next(&mut pair)? {
                return Err(r.malformed("item pair without KEY"));
            }
            let key = r.bytes()?;
            let mut item = schema.decode_key(&key)?;
            if r.next(&mut pair)? && !r.null_or()? {
                let values = r.bytes()?;
                item.extend(decode_values(&values, catalog)?);
            }
            r.drain(&mut pair, 1)?;
            Ok(item)
        }
    }
}

fn int32(r: &mut Reader<'_>) -> Result<i32, CodecError> {
    let at = r.position();
    i32::try_from(r.i64()?).map_err(|_| CodecError::malformed("count out of range", at))
}

fn read_page(
    r: &mut Reader<'_>,
    schema: &KeySchema,
    index: Option<&str>,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Page, CodecError> {
    let mut page = Page::default();
    let Some(mut seq) = r.map_or_null()? else {
        return Ok(page);
    };
    while r.next(&mut seq)? {
        match r.u64()? {
            ITEMS => {
                if let Some(mut items) = r.array_or_null()? {
                    let mut v = Vec::new();
                    while r.next(&mut items)? {
                        v.push(read_scanned_item(r, schema, projection, catalog)?);
                    }
                    page.items = Some(v);
                }
            }
            COUNT => page.count = Some(int32(r)?),
            SCANNED_COUNT => page.scanned_count = Some(int32(r)?),
            LAST_EVALUATED_KEY => {
                if !r.null_or()? {
                    let b = r.bytes()?;
                    page.last_evaluated_key = Some(match index {
                        Some(_) => decode_compound_key(&b)?,
                        None => schema.decode_key(&b)?,
                    });
                }
            }
            CONSUMED_CAPACITY => page.consumed_capacity = read_cc(r)?,
            _ => r.skip()?,
        }
    }
    Ok(page)
}

#[allow(clippy::too_many_arguments)]
fn write_page(
    w: &mut Writer<'_>,
    items: Option<&[Item]>,
    count: i32,
    scanned_count: i32,
    lek: Option<&Item>,
    cc: Option<&ConsumedCapacity>,
    schema: &KeySchema,
    index: Option<&str>,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    let n =
        2 + usize::from(items.is_some()) + usize::from(lek.is_some()) + usize::from(cc.is_some());
    w.map(n);
    if let Some(items) = items {
        w.u64(ITEMS).array(items.len());
        for item in items {
            match projection {
                Some(p) => p.write_item(w, item)?,
                None => {
                    w.array(2);
                    write_key(w, schema, item)?;
                    write_values(w, item, Some(schema), catalog)?;
                }
            }
        }
    }
    w.u64(COUNT).i64(i64::from(count));
    w.u64(SCANNED_COUNT).i64(i64::from(scanned_count));
    if let Some(lek) = lek {
        w.u64(LAST_EVALUATED_KEY);
        w.bytes_with(|w| match index {
            Some(_) => encode_compound_key(lek, w.out()),
            None => schema.encode_key(lek, w.out()),
        })?;
    }
    if let Some(cc) = cc {
        w.u64(CONSUMED_CAPACITY);
        write_cc(w, cc);
    }
    Ok(())
}

/// Reads a Query reply.
///
/// ```
/// use aws_sdk_dynamodb::operation::query::QueryInput;
/// use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = QueryInput::builder().table_name("t").build()?;
/// // {7: [[h'k1', h'<1>']], 8: 1, 10: 1}: one item with no non-key attributes.
/// let frame = [0x80, 0xa3, 0x07, 0x81, 0x82, 0x42, b'k', b'1', 0x41, 0x01, 0x08, 0x01, 0x0a, 0x01];
/// let page = decode_query_response(&frame, &input, None, &catalog)?.unwrap();
/// assert_eq!((page.count(), page.items().len()), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_query_response(
    frame: &[u8],
    input: &QueryInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Reply<QueryOutput>, CodecError> {
    let schema = schema_for(catalog, required(input.table_name(), "TableName")?)?;
    read_reply(frame, |r| {
        let p = read_page(r, &schema, input.index_name(), projection, catalog)?;
        Ok(QueryOutput::builder()
            .set_items(p.items)
            .count(p.count.unwrap_or(0))
            .scanned_count(p.scanned_count.unwrap_or(0))
            .set_last_evaluated_key(p.last_evaluated_key)
            .set_consumed_capacity(p.consumed_capacity)
            .build())
    })
}

/// Appends a Query reply (server side).
pub fn encode_query_response(
    output: &QueryOutput,
    input: &QueryInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let schema = schema_for(catalog, required(input.table_name(), "TableName")?)?;
    write_reply(out, |w| {
        write_page(
            w,
            (!output.items().is_empty()
                || input.select() != Some(&aws_sdk_dynamodb::types::Select::Count))
            .then_some(output.items()),
            output.count(),
            output.scanned_count(),
            output.last_evaluated_key(),
            output.consumed_capacity(),
            &schema,
            input.index_name(),
            projection,
            catalog,
        )
    })
}

/// Reads a Scan reply.
///
/// ```
/// use aws_sdk_dynamodb::operation::scan::ScanInput;
/// use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = ScanInput::builder().table_name("t").build()?;
/// let page = decode_scan_response(&[0x80, 0xf6], &input, None, &catalog)?.unwrap();
/// assert!(page.items().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_scan_response(
    frame: &[u8],
    input: &ScanInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Reply<ScanOutput>, CodecError> {
    let schema = schema_for(catalog, required(input.table_name(), "TableName")?)?;
    read_reply(frame, |r| {
        let p = read_page(r, &schema, input.index_name(), projection, catalog)?;
        Ok(ScanOutput::builder()
            .set_items(p.items)
            .count(p.count.unwrap_or(0))
            .scanned_count(p.scanned_count.unwrap_or(0))
            .set_last_evaluated_key(p.last_evaluated_key)
            .set_consumed_capacity(p.consumed_capacity)
            .build())
    })
}

/// Appends a Scan reply (server side).
pub fn encode_scan_response(
    output: &ScanOutput,
    input: &ScanInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let schema = schema_for(catalog, required(input.table_name(), "TableName")?)?;
    write_reply(out, |w| {
        write_page(
            w,
            (!output.items().is_empty()
                || input.select() != Some(&aws_sdk_dynamodb::types::Select::Count))
            .then_some(output.items()),
            output.count(),
            output.scanned_count(),
            output.last_evaluated_key(),
            output.consumed_capacity(),
            &schema,
            input.index_name(),
            projection,
            catalog,
        )
    })
}
