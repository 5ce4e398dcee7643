//! TransactGetItems (`[[ITEM | null …], [CC-map …]]`) and TransactWriteItems
//! (`[[], [CC-map …], {table: [ICM …]}]`) replies. Cancellation reasons travel in the error
//! reply (see [`ServiceError::sdk_cancellation_reasons`](crate::codec::ServiceError::sdk_cancellation_reasons)).

use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::ItemResponse;

use super::capacity::{read_cc_maps, read_icm_map, write_cc_maps, write_icm_map};
use super::item::{read_item, write_item};
use super::{read_reply, write_reply, Reply};
use crate::codec::catalog::Catalog;
use crate::codec::error::CodecError;
use crate::codec::projection::ProjectionPaths;
use crate::codec::request::schema_for;
use crate::codec::value::Item;

/// Reads a TransactGetItems reply; `projections[i]` = item `i`'s projection paths.
///
/// ```
/// use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
/// use xacct_dax_protocol::codec::*;
///
/// let input = TransactGetItemsInput::builder().build()?;
/// let out = decode_transact_get_items_response(&[0x80, 0x82, 0x80, 0x80], &input, &[], &MemoryCatalog::default())?;
/// assert!(out.unwrap().responses().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_transact_get_items_response(
    frame: &[u8],
    input: &TransactGetItemsInput,
    projections: &[Option<ProjectionPaths>],
    catalog: &dyn Catalog,
) -> Result<Reply<TransactGetItemsOutput>, CodecError> {
    read_reply(frame, |r| {
        let mut out = TransactGetItemsOutput::builder();
        let mut outer = r.array()?;
        let mut field = 0;
        while r.next(&mut outer)? {
            match field {
                0 => {
                    let mut items = Vec::new();
                    if let Some(mut seq) = r.array_or_null()? {
                        while r.next(&mut seq)? {
                            let i = items.len();
                            let item = if r.null_or()? {
                                None
                            } else {
                                let empty = Item::new();
                                let key = input
                                    .transact_items()
                                    .get(i)
                                    .and_then(|t| t.get())
                                    .map_or(&empty, |g| g.key());
                                let projection = projections.get(i).and_then(Option::as_ref);
                                Some(read_item(r, key, projection, catalog)?)
                            };
                            items.push(ItemResponse::builder().set_item(item).build());
                        }
                    }
                    out = out.set_responses(Some(items));
                }
                1 => out = out.set_consumed_capacity(read_cc_maps(r)?),
                _ => r.skip()?,
            }
            field += 1;
        }
        Ok(out.build())
    })
}

/// Appends a TransactGetItems reply (server side).
pub fn encode_transact_get_items_response(
    output: &TransactGetItemsOutput,
    input: &TransactGetItemsInput,
    projections: &[Option<ProjectionPaths>],
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    write_reply(out, |w| {
        w.array(2).array(output.responses().len());
        for (i, resp) in output.responses().iter().enumerate() {
            match resp.item() {
                None => {
                    w.null();
                }
                Some(item) => {
                    let get = input
                        .transact_items()
                        .get(i)
                        .and_then(|t| t.get())
                        .ok_or_else(|| {
                            CodecError::invalid("TransactGetItems", "more responses than items")
                        })?;
                    let schema = schema_for(catalog, get.table_name())?;
                    let projection = projections.get(i).and_then(Option::as_ref);
                    write_item(w, item, &schema, projection, catalog)?;
                }
            }
        }
        write_cc_maps(w, output.consumed_capacity());
        Ok(())
    })
}

/// Reads a TransactWriteItems reply.
///
/// ```
/// use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
/// use xacct_dax_protocol::codec::*;
///
/// let input = TransactWriteItemsInput::builder().build()?;
/// let frame = [0x80, 0x83, 0x80, 0x80, 0xa0];
/// assert!(decode_transact_write_items_response(&frame, &input, &MemoryCatalog::default())?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_transact_write_items_response(
    frame: &[u8],
    input: &TransactWriteItemsInput,
    catalog: &dyn Catalog,
) -> Result<Reply<TransactWriteItemsOutput>, CodecError> {
    let _ = input;
    read_reply(frame, |r| {
        let mut out = TransactWriteItemsOutput::builder();
        let Some(mut outer) = r.array_or_null()? else {
            return Ok(out.build());
        };
        let mut field = 0;
        while r.next(&mut outer)? {
            match field {
                1 => out = out.set_consumed_capacity(read_cc_maps(r)?),
                2 => {
                    out = out.set_item_collection_metrics(read_icm_map(r, |t| {
                        Ok(schema_for(catalog, t)?.hash.name.clone())
                    })?)
                }
                _ => r.skip()?,
            }
            field += 1;
        }
        Ok(out.build())
    })
}

/// Appends a TransactWriteItems reply (server side).
pub fn encode_transact_write_items_response(
    output: &TransactWriteItemsOutput,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    write_reply(out, |w| {
        w.array(3).array(0);
        write_cc_maps(w, output.consumed_capacity());
        write_icm_map(w, output.item_collection_metrics())
    })
}
