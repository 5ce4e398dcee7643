//! Single-item replies: GetItem (`null` | `{0: ITEM, 1: CC}`) and Put/Delete/UpdateItem
//! (`null` | `{2: Attributes, 1: CC, 3: ICM}`).

use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ItemCollectionMetrics, ReturnValue};
use minicbor::data::Type;

use super::capacity::{read_cc, read_icm, write_cc, write_icm};
use super::{read_reply, write_reply, Reply};
use crate::codec::attribute_list::{
    decode_values, read_item_with_key, write_updated_values, write_values,
};
use crate::codec::catalog::Catalog;
use crate::codec::cbor::{Reader, Writer};
use crate::codec::error::CodecError;
use crate::codec::key::KeySchema;
use crate::codec::projection::ProjectionPaths;
use crate::codec::request::{required, schema_for};
use crate::codec::value::Item;

const ITEM: u64 = 0;
const CONSUMED_CAPACITY: u64 = 1;
const ATTRIBUTES: u64 = 2;
const ITEM_COLLECTION_METRICS: u64 = 3;

/// Reads an item that is either VALUES bytes (key re-inserted) or a projection map.
pub(crate) fn read_item(
    r: &mut Reader<'_>,
    key: &Item,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Item, CodecError> {
    match r.datatype()? {
        Type::Map | Type::MapIndef => {
            let empty = ProjectionPaths::default();
            projection.unwrap_or(&empty).read_item(r)
        }
        _ => read_item_with_key(r, key, catalog),
    }
}

/// Writes an item as a projection map (with a projection) or VALUES bytes (without).
pub(crate) fn write_item(
    w: &mut Writer<'_>,
    item: &Item,
    schema: &KeySchema,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    match projection {
        Some(p) => p.write_item(w, item),
        None => write_values(w, item, Some(schema), catalog),
    }
}

/// Reads a GetItem reply. `projection` = the paths of the request's projection, if any.
///
/// ```
/// use aws_sdk_dynamodb::operation::get_item::GetItemInput;
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::codec::*;
///
/// let input = GetItemInput::builder().table_name("t")
///     .key("pk", AttributeValue::S("k1".into())).build()?;
/// let catalog = MemoryCatalog::default();
/// catalog.insert_attribute_list(100, vec!["a".into()]);
/// // {0: h'<100, "x">'}: VALUES without the key, which the decoder adds back.
/// let frame = [0x80, 0xa1, 0x00, 0x44, 0x18, 0x64, 0x61, b'x'];
/// let out = decode_get_item_response(&frame, &input, None, &catalog)?.unwrap();
/// assert_eq!(out.item().unwrap()["pk"], AttributeValue::S("k1".into()));
/// assert_eq!(out.item().unwrap()["a"], AttributeValue::S("x".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_get_item_response(
    frame: &[u8],
    input: &GetItemInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Reply<GetItemOutput>, CodecError> {
    read_reply(frame, |r| {
        let mut out = GetItemOutput::builder();
        if let Some(mut seq) = r.map_or_null()? {
            let empty = Item::new();
            let key = input.key().unwrap_or(&empty);
            while r.next(&mut seq)? {
                match r.u64()? {
                    ITEM => {
                        if !r.null_or()? {
                            out = out.set_item(Some(read_item(r, key, projection, catalog)?));
                        }
                    }
                    CONSUMED_CAPACITY => out = out.set_consumed_capacity(read_cc(r)?),
                    _ => r.skip()?,
                }
            }
        }
        Ok(out.build())
    })
}

/// Appends a GetItem reply (server side). Without an item and capacity it is `null`.
pub fn encode_get_item_response(
    output: &GetItemOutput,
    input: &GetItemInput,
    projection: Option<&ProjectionPaths>,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let schema = schema_for(catalog, table)?;
    write_reply(out, |w| {
        let n = usize::from(output.item().is_some())
            + usize::from(output.consumed_capacity().is_some());
        if n == 0 {
            w.null();
            return Ok(());
        }
        w.map(n);
        if let Some(item) = output.item() {
            w.u64(ITEM);
            write_item(w, item, &schema, projection, catalog)?;
        }
        if let Some(cc) = output.consumed_capacity() {
            w.u64(CONSUMED_CAPACITY);
            write_cc(w, cc);
        }
        Ok(())
    })
}

/// What Put/Delete/Update replies carry.
struct WriteResult {
    attributes: Option<Item>,
    consumed_capacity: Option<ConsumedCapacity>,
    item_collection_metrics: Option<ItemCollectionMetrics>,
}

fn full_item_returned(rv: Option<&ReturnValue>) -> bool {
    matches!(rv, Some(ReturnValue::AllOld | ReturnValue::AllNew))
}

fn read_write_result(
    r: &mut Reader<'_>,
    key: &Item,
    rv: Option<&ReturnValue>,
    schema: &KeySchema,
    catalog: &dyn Catalog,
) -> Result<WriteResult, CodecError> {
    let mut res = WriteResult {
        attributes: None,
        consumed_capacity: None,
        item_collection_metrics: None,
    };
    if let Some(mut seq) = r.map_or_null()? {
        while r.next(&mut seq)? {
            match r.u64()? {
                ATTRIBUTES => {
                    if !r.null_or()? {
                        let content = r.bytes()?;
                        let mut attrs = decode_values(&content, catalog)?;
                        if full_item_returned(rv) {
                            attrs.extend(key.iter().map(|(k, v)| (k.clone(), v.clone())));
                        }
                        res.attributes = Some(attrs);
                    }
                }
                CONSUMED_CAPACITY => res.consumed_capacity = read_cc(r)?,
                ITEM_COLLECTION_METRICS => {
                    res.item_collection_metrics = read_icm(r, &schema.hash.name)?
                }
                _ => r.skip()?,
            }
        }
    }
    Ok(res)
}

fn write_write_result(
    w: &mut Writer<'_>,
    attributes: Option<&Item>,
    cc: Option<&ConsumedCapacity>,
    icm: Option<&ItemCollectionMetrics>,
    rv: Option<&ReturnValue>,
    schema: &KeySchema,
    catalog: &dyn Catalog,
) -> Result<(), CodecError> {
    let n =
        usize::from(attributes.is_some()) + usize::from(cc.is_some()) + usize::from(icm.is_some());
    if n == 0 {
        w.null();
        return Ok(());
    }
    w.map(n);
    if let Some(attrs) = attributes {
        w.u64(ATTRIBUTES);
        if full_item_returned(rv) {
            write_values(w, attrs, Some(schema), catalog)?;
        } else {
            write_updated_values(w, attrs, catalog)?;
        }
    }
    if let Some(cc) = cc {
        w.u64(CONSUMED_CAPACITY);
        write_cc(w, cc);
    }
    if let Some(icm) = icm {
        w.u64(ITEM_COLLECTION_METRICS);
        write_icm(w, icm)?;
    }
    Ok(())
}

/// The reply codec of one single-item write (PutItem, DeleteItem, UpdateItem): the three differ
/// only in their SDK types and in where the request's key comes from (`key_of`).
macro_rules! single_write_reply_codec {
    (
        operation: $doc:literal,
        module: $module:ident,
        input: $input:ident,
        output: $output:ty,
        decode: $decode:ident,
        encode: $encode:ident,
        key_of: $key:expr $(,)?
    ) => {
        #[doc = concat!("Reads a ", $doc, " reply; ALL_OLD/ALL_NEW attributes get the request key back.")]
        ///
        /// ```
        /// # use xacct_dax_protocol::codec::*;
        /// # use aws_sdk_dynamodb::types::ScalarAttributeType as T;
        /// let catalog = MemoryCatalog::default();
        /// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
        #[doc = concat!("let input = aws_sdk_dynamodb::operation::", stringify!($module), "::", stringify!($input), "::builder().table_name(\"t\").build()?;")]
        #[doc = concat!("let out = ", stringify!($decode), "(&[0x80, 0xf6], &input, &catalog)?.unwrap();")]
        /// assert!(out.attributes().is_none());
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn $decode(
            frame: &[u8],
            input: &$input,
            catalog: &dyn Catalog,
        ) -> Result<Reply<$output>, CodecError> {
            let table = required(input.table_name(), "TableName")?;
            let schema = schema_for(catalog, table)?;
            #[allow(clippy::redundant_closure_call)]
            let key = ($key)(input, &schema);
            read_reply(frame, |r| {
                let res = read_write_result(r, &key, input.return_values(), &schema, catalog)?;
                Ok(<$output>::builder()
                    .set_attributes(res.attributes)
                    .set_consumed_capacity(res.consumed_capacity)
                    .set_item_collection_metrics(res.item_collection_metrics)
                    .build())
            })
        }

        #[doc = concat!("Appends a ", $doc, " reply (server side): ALL_* attributes as VALUES, UPDATED_* as the index-map form.")]
        pub fn $encode(
            output: &$output,
            input: &$input,
            catalog: &dyn Catalog,
            out: &mut Vec<u8>,
        ) -> Result<(), CodecError> {
            let table = required(input.table_name(), "TableName")?;
            let schema = schema_for(catalog, table)?;
            write_reply(out, |w| {
                write_write_result(
                    w,
                    output.attributes(),
                    output.consumed_capacity(),
                    output.item_collection_metrics(),
                    input.return_values(),
                    &schema,
                    catalog,
                )
            })
        }
    };
}

single_write_reply_codec! {
    operation: "PutItem",
    module: put_item,
    input: PutItemInput,
    output: PutItemOutput,
    decode: decode_put_item_response,
    encode: encode_put_item_response,
    key_of: |i: &PutItemInput, s: &KeySchema| s.key_of(i.item().unwrap_or(&Item::new())),
}
single_write_reply_codec! {
    operation: "DeleteItem",
    module: delete_item,
    input: DeleteItemInput,
    output: DeleteItemOutput,
    decode: decode_delete_item_response,
    encode: encode_delete_item_response,
    key_of: |i: &DeleteItemInput, _: &KeySchema| i.key().cloned().unwrap_or_default(),
}
single_write_reply_codec! {
    operation: "UpdateItem",
    module: update_item,
    input: UpdateItemInput,
    output: UpdateItemOutput,
    decode: decode_update_item_response,
    encode: encode_update_item_response,
    key_of: |i: &UpdateItemInput, _: &KeySchema| i.key().cloned().unwrap_or_default(),
}
