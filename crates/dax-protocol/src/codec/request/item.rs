//! Single-item requests: GetItem, PutItem, DeleteItem, UpdateItem.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;

use super::{
    build_err, frame, kw, read_frame, read_key, required, return_consumed_capacity_from_wire,
    return_consumed_capacity_to_wire, return_item_collection_metrics_from_wire,
    return_item_collection_metrics_to_wire, return_values_from_wire, return_values_to_wire,
    schema_for, write_key, Kwargs, KwargsWriter,
};
use crate::codec::attribute_list::{decode_values, write_values};
use crate::codec::catalog::Catalog;
use crate::codec::error::CodecError;
use crate::codec::method::Method;
use crate::expr::CompiledExpressions;

/// Appends a GetItem request. Uses `exprs.projection`.
///
/// ```
/// use aws_sdk_dynamodb::operation::get_item::GetItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = GetItemInput::builder().table_name("t")
///     .key("pk", AttributeValue::S("k".into())).consistent_read(true).build()?;
/// let mut frame = Vec::new();
/// encode_get_item_request(&input, &CompiledExpressions::new(), &catalog, &mut frame)?;
/// assert!(frame.ends_with(&[0xbf, 0x02, 0xf5, 0xff])); // {_ 2: true}
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_get_item_request(
    input: &GetItemInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let key = required(input.key(), "Key")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::GetItem, |w| {
        w.bytes(table.as_bytes());
        write_key(w, &schema, key)?;
        let mut k = KwargsWriter::begin(w);
        k.opt_bytes(kw::PROJECTION, exprs.projection.as_ref());
        if let Some(cr) = input.consistent_read() {
            k.key(kw::CONSISTENT_READ).bool(cr);
        }
        k.opt_int(
            kw::RETURN_CONSUMED_CAPACITY,
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
        );
        k.end();
        Ok(())
    })
}

/// Reads a GetItem request (server side). The projection comes back in the [`CompiledExpressions`].
///
/// ```
/// # use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("hashonly", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// // Python's frame from docs/dax-protocol.md §9.4: getItem hashonly {pk:"k1"}, kwargs {3: 0}.
/// let frame = [0x01, 0x1a, 0x0f, 0xb0, 0xcc, 0x6a, 0x48, b'h', b'a', b's', b'h', b'o', b'n',
///              b'l', b'y', 0x42, b'k', b'1', 0xbf, 0x03, 0x00, 0xff];
/// let (input, _) = decode_get_item_request(&frame, &catalog)?;
/// assert_eq!(input.table_name(), Some("hashonly"));
/// # Ok::<(), CodecError>(())
/// ```
pub fn decode_get_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(GetItemInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::GetItem, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let key = read_key(r, &schema)?;
        let k = Kwargs::read(r)?;
        let mut exprs = CompiledExpressions::new();
        exprs.projection = k.bytes(kw::PROJECTION)?;
        let input = GetItemInput::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_consistent_read(k.flag(kw::CONSISTENT_READ)?)
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// The write-options kwargs shared by Put/Delete/Update: 4 condition, 6, 7, 8 update, 3.
fn write_options(
    k: &mut KwargsWriter<'_, '_>,
    exprs: &CompiledExpressions,
    return_consumed_capacity: Option<i64>,
    return_item_collection_metrics: Option<i64>,
    return_values: Option<i64>,
) {
    k.opt_int(kw::RETURN_CONSUMED_CAPACITY, return_consumed_capacity);
    k.opt_bytes(kw::CONDITION, exprs.condition.as_ref());
    k.opt_int(
        kw::RETURN_ITEM_COLLECTION_METRICS,
        return_item_collection_metrics,
    );
    k.opt_int(kw::RETURN_VALUES, return_values);
    k.opt_bytes(kw::UPDATE, exprs.update.as_ref());
}

/// Appends a PutItem request: KEY taken from the item, VALUES = the other attributes under
/// their attribute-list id (from `catalog`). Uses `exprs.condition`.
///
/// ```
/// use aws_sdk_dynamodb::operation::put_item::PutItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = PutItemInput::builder().table_name("t")
///     .item("pk", AttributeValue::S("k".into()))
///     .item("a", AttributeValue::S("x".into())).build()?;
/// let err = encode_put_item_request(&input, &CompiledExpressions::new(), &catalog, &mut Vec::new())
///     .unwrap_err();
/// assert!(err.is_missing_metadata()); // defineAttributeListId(["a"]) first
/// catalog.insert_attribute_list(100, vec!["a".into()]);
/// encode_put_item_request(&input, &CompiledExpressions::new(), &catalog, &mut Vec::new())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_put_item_request(
    input: &PutItemInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let item = required(input.item(), "Item")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::PutItem, |w| {
        w.bytes(table.as_bytes());
        write_key(w, &schema, item)?;
        write_values(w, item, Some(&schema), catalog)?;
        let mut k = KwargsWriter::begin(w);
        write_options(
            &mut k,
            exprs,
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
            return_item_collection_metrics_to_wire(input.return_item_collection_metrics()),
            return_values_to_wire(input.return_values()),
        );
        k.end();
        Ok(())
    })
}

/// Reads a PutItem request (server side): key and values merged back into the item.
pub fn decode_put_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(PutItemInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::PutItem, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let mut item = read_key(r, &schema)?;
        let values = r.bytes()?;
        item.extend(decode_values(&values, catalog)?);
        let k = Kwargs::read(r)?;
        let mut exprs = CompiledExpressions::new();
        exprs.condition = k.bytes(kw::CONDITION)?;
        let input = PutItemInput::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_return_values(return_values_from_wire(k.int(kw::RETURN_VALUES)?))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_return_item_collection_metrics(return_item_collection_metrics_from_wire(
                k.int(kw::RETURN_ITEM_COLLECTION_METRICS)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// Appends a DeleteItem request. Uses `exprs.condition`.
///
/// ```
/// use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = DeleteItemInput::builder().table_name("t")
///     .key("pk", AttributeValue::S("k".into())).return_values(ReturnValue::AllOld).build()?;
/// let mut frame = Vec::new();
/// encode_delete_item_request(&input, &CompiledExpressions::new(), &catalog, &mut frame)?;
/// let (back, _) = decode_delete_item_request(&frame, &catalog)?;
/// assert_eq!(back.return_values(), Some(&ReturnValue::AllOld));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_delete_item_request(
    input: &DeleteItemInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let key = required(input.key(), "Key")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::DeleteItem, |w| {
        w.bytes(table.as_bytes());
        write_key(w, &schema, key)?;
        let mut k = KwargsWriter::begin(w);
        write_options(
            &mut k,
            exprs,
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
            return_item_collection_metrics_to_wire(input.return_item_collection_metrics()),
            return_values_to_wire(input.return_values()),
        );
        k.end();
        Ok(())
    })
}

/// Reads a DeleteItem request (server side).
pub fn decode_delete_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(DeleteItemInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::DeleteItem, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let key = read_key(r, &schema)?;
        let k = Kwargs::read(r)?;
        let mut exprs = CompiledExpressions::new();
        exprs.condition = k.bytes(kw::CONDITION)?;
        let input = DeleteItemInput::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_return_values(return_values_from_wire(k.int(kw::RETURN_VALUES)?))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_return_item_collection_metrics(return_item_collection_metrics_from_wire(
                k.int(kw::RETURN_ITEM_COLLECTION_METRICS)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

/// Appends an UpdateItem request. Uses `exprs.update` and `exprs.condition`.
///
/// ```
/// use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::*;
/// use xacct_dax_protocol::expr::ExpressionKind;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = UpdateItemInput::builder().table_name("t")
///     .key("pk", AttributeValue::S("k".into())).build()?;
/// let exprs = CompiledExpressions::new().with(ExpressionKind::Update, vec![0x83, 0x01, 0x80, 0x80]);
/// let mut frame = Vec::new();
/// encode_update_item_request(&input, &exprs, &catalog, &mut frame)?;
/// assert_eq!(decode_update_item_request(&frame, &catalog)?.1, exprs);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_update_item_request(
    input: &UpdateItemInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let key = required(input.key(), "Key")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::UpdateItem, |w| {
        w.bytes(table.as_bytes());
        write_key(w, &schema, key)?;
        let mut k = KwargsWriter::begin(w);
        write_options(
            &mut k,
            exprs,
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
            return_item_collection_metrics_to_wire(input.return_item_collection_metrics()),
            return_values_to_wire(input.return_values()),
        );
        k.end();
        Ok(())
    })
}

/// Reads an UpdateItem request (server side).
pub fn decode_update_item_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(UpdateItemInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::UpdateItem, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let key = read_key(r, &schema)?;
        let k = Kwargs::read(r)?;
        let mut exprs = CompiledExpressions::new();
        exprs.condition = k.bytes(kw::CONDITION)?;
        exprs.update = k.bytes(kw::UPDATE)?;
        let input = UpdateItemInput::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_return_values(return_values_from_wire(k.int(kw::RETURN_VALUES)?))
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_return_item_collection_metrics(return_item_collection_metrics_from_wire(
                k.int(kw::RETURN_ITEM_COLLECTION_METRICS)?,
            ))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}
