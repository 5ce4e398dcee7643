//! TransactGetItems and TransactWriteItems requests: parallel arrays, one entry per item.

use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Get, Put, TransactGetItem, TransactWriteItem, Update,
};
use bytes::Bytes;

use super::{
    build_err, frame, kw, read_frame, read_key, required, return_consumed_capacity_from_wire,
    return_consumed_capacity_to_wire, return_item_collection_metrics_from_wire,
    return_item_collection_metrics_to_wire, return_values_on_condition_check_failure_from_wire,
    return_values_on_condition_check_failure_to_wire, schema_for, write_key, Kwargs, KwargsWriter,
};
use crate::codec::attribute_list::{decode_values, write_values};
use crate::codec::catalog::Catalog;
use crate::codec::cbor::{Reader, Seq};
use crate::codec::error::CodecError;
use crate::codec::method::Method;
use crate::codec::value::Item;
use crate::expr::{CompiledExpressions, ExpressionKind};

const OP_PUT: i64 = 2;
const OP_DELETE: i64 = 7;
const OP_UPDATE: i64 = 9;
const OP_CHECK: i64 = 12;

/// Item `i`'s compiled expression of one kind (absent when `exprs` is shorter).
fn expr_at(exprs: &[CompiledExpressions], i: usize, kind: ExpressionKind) -> Option<&Bytes> {
    exprs.get(i).and_then(|e| e.get(kind))
}

/// Appends a TransactGetItems request; `exprs[i]` holds item `i`'s projection.
/// `3: ReturnConsumedCapacity` is always sent, as both official clients do.
///
/// ```
/// use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, Get, ScalarAttributeType as T, TransactGetItem};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let get = Get::builder().table_name("t").key("pk", AttributeValue::S("k2".into())).build()?;
/// let input = TransactGetItemsInput::builder()
///     .transact_items(TransactGetItem::builder().get(get).build()).build()?;
/// let mut frame = Vec::new();
/// encode_transact_get_items_request(&input, &[], &catalog, &mut frame)?;
/// assert_eq!(decode_transact_get_items_request(&frame, &catalog)?.0.transact_items(), input.transact_items());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_transact_get_items_request(
    input: &TransactGetItemsInput,
    exprs: &[CompiledExpressions],
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let items = input.transact_items();
    let gets: Vec<&Get> = items
        .iter()
        .map(|t| required(t.get(), "TransactGetItem.Get"))
        .collect::<Result<_, _>>()?;
    frame(out, Method::TransactGetItems, |w| {
        w.array(gets.len());
        for g in &gets {
            w.bytes(g.table_name().as_bytes());
        }
        w.array(gets.len());
        for g in &gets {
            let schema = schema_for(catalog, g.table_name())?;
            write_key(w, &schema, g.key())?;
        }
        w.array(gets.len());
        for i in 0..gets.len() {
            match expr_at(exprs, i, ExpressionKind::Projection) {
                Some(p) => w.bytes(p),
                None => w.null(),
            };
        }
        let mut k = KwargsWriter::begin(w);
        k.key(kw::RETURN_CONSUMED_CAPACITY)
            .i64(return_consumed_capacity_to_wire(input.return_consumed_capacity()).unwrap_or(0));
        k.end();
        Ok(())
    })
}

fn read_parallel<T>(
    r: &mut Reader<'_>,
    mut one: impl FnMut(&mut Reader<'_>, usize) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let mut seq: Seq = r.array()?;
    let mut out = Vec::new();
    while r.next(&mut seq)? {
        out.push(one(r, out.len())?);
    }
    Ok(out)
}

fn opt_bytes(r: &mut Reader<'_>) -> Result<Option<Bytes>, CodecError> {
    if r.null_or()? {
        Ok(None)
    } else {
        Ok(Some(Bytes::from(r.bytes()?.into_owned())))
    }
}

fn check_len(n: usize, arrays: &[usize]) -> Result<(), CodecError> {
    if arrays.iter().any(|&m| m != n) {
        return Err(CodecError::malformed(
            "transaction arrays differ in length",
            0,
        ));
    }
    Ok(())
}

/// Reads a TransactGetItems request (server side); projections come back per item.
pub fn decode_transact_get_items_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(TransactGetItemsInput, Vec<CompiledExpressions>), CodecError> {
    read_frame(frame_bytes, Method::TransactGetItems, |r| {
        let tables = read_parallel(r, |r, _| r.text_or_bytes())?;
        let keys = read_parallel(r, |r, i| {
            let table = tables
                .get(i)
                .ok_or_else(|| r.malformed("more keys than tables"))?;
            read_key(r, &*schema_for(catalog, table)?)
        })?;
        let projections = read_parallel(r, |r, _| opt_bytes(r))?;
        check_len(tables.len(), &[keys.len(), projections.len()])?;
        let k = Kwargs::read(r)?;
        let mut items = Vec::with_capacity(tables.len());
        for (table, key) in tables.into_iter().zip(keys) {
            let get = Get::builder()
                .table_name(table)
                .set_key(Some(key))
                .build()
                .map_err(build_err)?;
            items.push(TransactGetItem::builder().get(get).build());
        }
        let exprs = projections
            .into_iter()
            .map(|projection| {
                let mut e = CompiledExpressions::new();
                e.projection = projection;
                e
            })
            .collect();
        let input = TransactGetItemsInput::builder()
            .set_transact_items(Some(items))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// One transaction write item, flattened.
struct WriteOp<'a> {
    op: i64,
    table: &'a str,
    key_source: &'a Item,
    put_item: Option<&'a Item>,
    /// ReturnValuesOnConditionCheckFailure, as on the wire.
    on_condition_check_failure: i64,
}

fn flatten(t: &TransactWriteItem) -> Result<WriteOp<'_>, CodecError> {
    Ok(if let Some(p) = t.put() {
        WriteOp {
            op: OP_PUT,
            table: p.table_name(),
            key_source: p.item(),
            put_item: Some(p.item()),
            on_condition_check_failure: return_values_on_condition_check_failure_to_wire(
                p.return_values_on_condition_check_failure(),
            ),
        }
    } else if let Some(d) = t.delete() {
        WriteOp {
            op: OP_DELETE,
            table: d.table_name(),
            key_source: d.key(),
            put_item: None,
            on_condition_check_failure: return_values_on_condition_check_failure_to_wire(
                d.return_values_on_condition_check_failure(),
            ),
        }
    } else if let Some(u) = t.update() {
        WriteOp {
            op: OP_UPDATE,
            table: u.table_name(),
            key_source: u.key(),
            put_item: None,
            on_condition_check_failure: return_values_on_condition_check_failure_to_wire(
                u.return_values_on_condition_check_failure(),
            ),
        }
    } else if let Some(c) = t.condition_check() {
        WriteOp {
            op: OP_CHECK,
            table: c.table_name(),
            key_source: c.key(),
            put_item: None,
            on_condition_check_failure: return_values_on_condition_check_failure_to_wire(
                c.return_values_on_condition_check_failure(),
            ),
        }
    } else {
        return Err(CodecError::invalid(
            "TransactWriteItem",
            "needs one of Put, Delete, Update, ConditionCheck",
        ));
    })
}

/// Appends a TransactWriteItems request; `exprs[i]` holds item `i`'s condition and update.
///
/// ```
/// use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, Delete, ScalarAttributeType as T, TransactWriteItem};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let del = Delete::builder().table_name("t").key("pk", AttributeValue::S("k".into())).build()?;
/// let input = TransactWriteItemsInput::builder()
///     .transact_items(TransactWriteItem::builder().delete(del).build())
///     .client_request_token("tok-1").build()?;
/// let mut frame = Vec::new();
/// encode_transact_write_items_request(&input, &[], &catalog, &mut frame)?;
/// let (back, _) = decode_transact_write_items_request(&frame, &catalog)?;
/// assert_eq!(back.client_request_token(), Some("tok-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_transact_write_items_request(
    input: &TransactWriteItemsInput,
    exprs: &[CompiledExpressions],
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let ops: Vec<WriteOp<'_>> = input
        .transact_items()
        .iter()
        .map(flatten)
        .collect::<Result<_, _>>()?;
    let n = ops.len();
    frame(out, Method::TransactWriteItems, |w| {
        w.array(n);
        for o in &ops {
            w.i64(o.op);
        }
        w.array(n);
        for o in &ops {
            w.bytes(o.table.as_bytes());
        }
        w.array(n);
        let mut schemas = Vec::with_capacity(n);
        for o in &ops {
            let schema = schema_for(catalog, o.table)?;
            write_key(w, &schema, o.key_source)?;
            schemas.push(schema);
        }
        w.array(n);
        for (o, schema) in ops.iter().zip(&schemas) {
            match o.put_item {
                Some(item) => write_values(w, item, Some(schema), catalog)?,
                None => {
                    w.null();
                }
            }
        }
        w.null(); // returnValues: always null
        w.array(n);
        for o in &ops {
            w.i64(o.on_condition_check_failure);
        }
        w.array(n);
        for i in 0..n {
            match expr_at(exprs, i, ExpressionKind::Condition) {
                Some(c) => w.bytes(c),
                None => w.null(),
            };
        }
        w.array(n);
        for i in 0..n {
            match expr_at(exprs, i, ExpressionKind::Update) {
                Some(u) => w.bytes(u),
                None => w.null(),
            };
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
        if let Some(t) = input.client_request_token() {
            k.key(kw::CLIENT_REQUEST_TOKEN).str(t);
        }
        k.end();
        Ok(())
    })
}

/// Reads a TransactWriteItems request (server side). Update and ConditionCheck items carry an
/// empty expression string (the SDK type requires one); the compiled expressions are in the
/// returned [`CompiledExpressions`], one per item.
pub fn decode_transact_write_items_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(TransactWriteItemsInput, Vec<CompiledExpressions>), CodecError> {
    read_frame(frame_bytes, Method::TransactWriteItems, |r| {
        let ops = read_parallel(r, |r, _| r.i64())?;
        let tables = read_parallel(r, |r, _| r.text_or_bytes())?;
        let keys = read_parallel(r, |r, i| {
            let table = tables
                .get(i)
                .ok_or_else(|| r.malformed("more keys than tables"))?;
            read_key(r, &*schema_for(catalog, table)?)
        })?;
        let values = read_parallel(r, |r, _| opt_bytes(r))?;
        r.skip()?; // returnValues (always null)
        let on_condition_check_failure =
            read_parallel(r, |r, _| if r.null_or()? { Ok(1) } else { r.i64() })?;
        let mut conditions = read_parallel(r, |r, _| opt_bytes(r))?;
        let mut updates = read_parallel(r, |r, _| opt_bytes(r))?;
        let n = ops.len();
        check_len(
            n,
            &[
                tables.len(),
                keys.len(),
                values.len(),
                on_condition_check_failure.len(),
                conditions.len(),
                updates.len(),
            ],
        )?;
        let k = Kwargs::read(r)?;
        let mut items = Vec::with_capacity(n);
        let mut exprs = Vec::with_capacity(n);
        for i in 0..n {
            let table = tables[i].clone();
            let key = keys[i].clone();
            let rv =
                return_values_on_condition_check_failure_from_wire(on_condition_check_failure[i]);
            let item = match ops[i] {
                OP_PUT => {
                    let mut item = key;
                    if let Some(v) = &values[i] {
                        item.extend(decode_values(v, catalog)?);
                    }
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(table)
                                .set_item(Some(item))
                                .set_return_values_on_condition_check_failure(rv)
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                OP_DELETE => TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(table)
                            .set_key(Some(key))
                            .set_return_values_on_condition_check_failure(rv)
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                OP_UPDATE => TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(table)
                            .set_key(Some(key))
                            .update_expression("")
                            .set_return_values_on_condition_check_failure(rv)
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                OP_CHECK => TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(table)
                            .set_key(Some(key))
                            .condition_expression("")
                            .set_return_values_on_condition_check_failure(rv)
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                other => {
                    return Err(CodecError::malformed(
                        format!("unknown transaction operation {other}"),
                        0,
                    ))
                }
            };
            items.push(item);
            let mut e = CompiledExpressions::new();
            e.condition = conditions[i].take();
            e.update = updates[i].take();
            exprs.push(e);
        }
        let input = TransactWriteItemsInput::builder()
            .set_transact_items(Some(items))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_return_item_collection_metrics(return_item_collection_metrics_from_wire(
                k.int(kw::RETURN_ITEM_COLLECTION_METRICS)?,
            ))
            .set_client_request_token(k.text(kw::CLIENT_REQUEST_TOKEN)?)
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// The key of each transaction write item, in order (to complete cancellation-reason items).
///
/// ```
/// use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
/// use xacct_dax_protocol::codec::*;
///
/// let input = TransactWriteItemsInput::builder().build()?;
/// assert!(transact_write_keys(&input, &MemoryCatalog::default())?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn transact_write_keys(
    input: &TransactWriteItemsInput,
    catalog: &dyn Catalog,
) -> Result<Vec<Item>, CodecError> {
    input
        .transact_items()
        .iter()
        .map(|t| {
            let o = flatten(t)?;
            Ok(schema_for(catalog, o.table)?.key_of(o.key_source))
        })
        .collect()
}
