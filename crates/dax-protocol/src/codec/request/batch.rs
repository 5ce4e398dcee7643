//! BatchGetItem and BatchWriteItem requests (table names are *text* map keys here).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use bytes::Bytes;

use super::{
    build_err, frame, kw, read_frame, read_key, required, return_consumed_capacity_from_wire,
    return_consumed_capacity_to_wire, return_item_collection_metrics_from_wire,
    return_item_collection_metrics_to_wire, schema_for, write_key, Kwargs, KwargsWriter,
};
use crate::codec::attribute_list::{decode_values, write_values};
use crate::codec::catalog::Catalog;
use crate::codec::error::CodecError;
use crate::codec::method::Method;
use crate::expr::{CompiledExpressions, ExpressionKind};

fn sorted<V>(m: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

/// Appends a BatchGetItem request; `exprs` holds each table's compiled projection (by table
/// name). `3: ReturnConsumedCapacity` is always sent, as both official clients do.
///
/// ```
/// use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
/// use std::collections::HashMap;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let keys = KeysAndAttributes::builder()
///     .keys(HashMap::from([("pk".to_owned(), AttributeValue::S("k1".into()))]))
///     .build()?;
/// let input = BatchGetItemInput::builder().request_items("t", keys).build()?;
/// let mut frame = Vec::new();
/// encode_batch_get_item_request(&input, &HashMap::new(), &catalog, &mut frame)?;
/// let (back, _) = decode_batch_get_item_request(&frame, &catalog)?;
/// let t = &back.request_items().unwrap()["t"];
/// assert_eq!(t.keys(), input.request_items().unwrap()["t"].keys());
/// assert_eq!(t.consistent_read(), Some(false)); // always on the wire
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_batch_get_item_request(
    input: &BatchGetItemInput,
    exprs: &HashMap<String, CompiledExpressions>,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let items = required(input.request_items(), "RequestItems")?;
    frame(out, Method::BatchGetItem, |w| {
        w.map(items.len());
        for (table, ka) in sorted(items) {
            let schema = schema_for(catalog, table)?;
            w.str(table).array(3);
            w.bool(ka.consistent_read().unwrap_or(false));
            match exprs.get(table).and_then(|e| e.projection.as_ref()) {
                Some(p) => w.bytes(p),
                None => w.null(),
            };
            w.array(ka.keys().len());
            for key in ka.keys() {
                write_key(w, &schema, key)?;
            }
        }
        let mut k = KwargsWriter::begin(w);
        k.key(kw::RETURN_CONSUMED_CAPACITY)
            .i64(return_consumed_capacity_to_wire(input.return_consumed_capacity()).unwrap_or(0));
        k.end();
        Ok(())
    })
}

/// Reads a BatchGetItem request (server side); projections come back per table.
pub fn decode_batch_get_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(BatchGetItemInput, HashMap<String, CompiledExpressions>), CodecError> {
    read_frame(frame_bytes, Method::BatchGetItem, |r| {
        let mut tables = r.map()?;
        let mut request_items = HashMap::new();
        let mut exprs = HashMap::new();
        while r.next(&mut tables)? {
            let table = r.text_or_bytes()?;
            let schema = schema_for(catalog, &table)?;
            let mut spec = r.array()?;
            let mut field = 0;
            let mut consistent_read = None;
            let mut keys = Vec::new();
            while r.next(&mut spec)? {
                match field {
                    0 => consistent_read = Some(r.flag()?),
                    1 => {
                        if !r.null_or()? {
                            let projection = Bytes::from(r.bytes()?.into_owned());
                            exprs.insert(
                                table.clone(),
                                CompiledExpressions::new()
                                    .with(ExpressionKind::Projection, projection),
                            );
                        }
                    }
                    2 => {
                        let mut ks = r.array()?;
                        while r.next(&mut ks)? {
                            keys.push(read_key(r, &schema)?);
                        }
                    }
                    _ => r.skip()?,
                }
                field += 1;
            }
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .set_consistent_read(consistent_read)
                .build()
                .map_err(build_err)?;
            request_items.insert(table, ka);
        }
        let k = Kwargs::read(r)?;
        let input = BatchGetItemInput::builder()
            .set_request_items(Some(request_items))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// Appends a BatchWriteItem request: per table a flat `[KEY, VALUES | null, …]` (null =
/// delete).
///
/// ```
/// use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ScalarAttributeType as T, WriteRequest};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let del = DeleteRequest::builder().key("pk", AttributeValue::S("k9".into())).build()?;
/// let input = BatchWriteItemInput::builder()
///     .request_items("t", vec![WriteRequest::builder().delete_request(del).build()])
///     .build()?;
/// let mut frame = Vec::new();
/// encode_batch_write_item_request(&input, &catalog, &mut frame)?;
/// assert_eq!(decode_batch_write_item_request(&frame, &catalog)?.request_items(), input.request_items());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_batch_write_item_request(
    input: &BatchWriteItemInput,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let items = required(input.request_items(), "RequestItems")?;
    frame(out, Method::BatchWriteItem, |w| {
        w.map(items.len());
        for (table, requests) in sorted(items) {
            let schema = schema_for(catalog, table)?;
            w.str(table).array(requests.len() * 2);
            for req in requests {
                if let Some(put) = req.put_request() {
                    write_key(w, &schema, put.item())?;
                    write_values(w, put.item(), Some(&schema), catalog)?;
                } else if let Some(del) = req.delete_request() {
                    write_key(w, &schema, del.key())?;
                    w.null();
                } else {
                    return Err(CodecError::invalid(
                        "WriteRequest",
                        "needs a PutRequest or a DeleteRequest",
                    ));
                }
            }
        }
        let mut k = KwargsWriter::begin(w);
        k.opt_int(
            kw::RETURN_CONSUMED_CAPACITY,
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
        );
        k.opt_int(
            kw::RETURN_ITEM_COLLECTION_METRICS,
            return_item_collection_metrics_to_wire(input.return_item_collection_metrics()),
        );
        k.end();
        Ok(())
    })
}

/// Reads a BatchWriteItem request (server side).
pub fn decode_batch_write_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<BatchWriteItemInput, CodecError> {
    read_frame(frame_bytes, Method::BatchWriteItem, |r| {
        let mut tables = r.map()?;
        let mut request_items = HashMap::new();
        while r.next(&mut tables)? {
            let table = r.text_or_bytes()?;
            let schema = schema_for(catalog, &table)?;
            let requests = read_write_requests(r, &schema, catalog)?;
            request_items.insert(table, requests);
        }
        let k = Kwargs::read(r)?;
        BatchWriteItemInput::builder()
            .set_request_items(Some(request_items))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_return_item_collection_metrics(return_item_collection_metrics_from_wire(
                k.int(kw::RETURN_ITEM_COLLECTION_METRICS)?,
            ))
            .build()
            .map_err(build_err)
    })
}

/// A flat `[KEY, VALUES | null, …]` array as write requests (also the unprocessed-items
/// reply shape).
pub(crate) fn read_write_requests(
    r: &mut crate::codec::cbor::Reader<'_>,
    schema: &crate::codec::key::KeySchema,
    catalog: &dyn Catalog,
) -> Result<Vec<WriteRequest>, CodecError> {
    let mut seq = r.array()?;
    let mut out = Vec::new();
    while r.next(&mut seq)? {
        let key = read_key(r, schema)?;
        if !r.next(&mut seq)? {
            return Err(r.malformed("write requests must be KEY, VALUES pairs"));
        }
        let req = if r.null_or()? {
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map_err(build_err)?,
                )
                .build()
        } else {
            let values = r.bytes()?;
            // VALUES may repeat the key attributes (a server's unprocessed puts carry whole
            // items); the KEY's form of them wins.
            let mut item = decode_values(&values, catalog)?;
            item.extend(key);
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(build_err)?,
                )
                .build()
        };
        out.push(req);
    }
    Ok(out)
}
