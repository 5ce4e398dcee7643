//! BatchGetItem and BatchWriteItem replies, with their framing quirks
//! (docs/dax-protocol.md §1.5, §4.4):
//!
//! * BatchGetItem: the server writes an `array(2)` head, then **three** values: responses
//!   `{table: […]}`, unprocessed keys `{table: [KEY…]}`, and the consumed-capacity array,
//!   which is therefore a separate top-level item (2 result items in all).
//! * BatchWriteItem: three top-level items: unprocessed `{table: [KEY, VALUES | null, …]}`,
//!   `[CC…]`, `{table: [ICM…]}`.
//!
//! Decoders tolerate a missing trailing item (reported by a community port against a live
//! cluster, unverified).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use minicbor::data::Type;

use super::capacity::{read_cc_list, read_icm_map, write_cc_list, write_icm_map};
use super::{read_reply, write_reply, Reply};
use crate::codec::attribute_list::{decode_values, write_values};
use crate::codec::catalog::Catalog;
use crate::codec::error::CodecError;
use crate::codec::projection::ProjectionPaths;
use crate::codec::request::{build_err, read_key, read_write_requests, schema_for, write_key};
use crate::codec::value::Item;

fn sorted<V>(m: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

/// Reads a BatchGetItem reply. `projections` holds the paths of each table's projection.
/// Unprocessed keys come back with the table's request options (consistency, projection,
/// names) copied from `input`, ready to resend.
///
/// ```
/// use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
/// use xacct_dax_protocol::codec::*;
/// use std::collections::HashMap;
///
/// let input = BatchGetItemInput::builder().build()?;
/// // Python-accepted empty reply: 80, array(2)[{}, {}], [].
/// let frame = [0x80, 0x82, 0xa0, 0xa0, 0x80];
/// let out = decode_batch_get_item_response(&frame, &input, &HashMap::new(), &MemoryCatalog::default())?;
/// assert!(out.unwrap().responses().unwrap().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_batch_get_item_response(
    frame: &[u8],
    input: &BatchGetItemInput,
    projections: &HashMap<String, ProjectionPaths>,
    catalog: &dyn Catalog,
) -> Result<Reply<BatchGetItemOutput>, CodecError> {
    read_reply(frame, |r| {
        let mut head = r.array()?;
        let mut responses = HashMap::new();
        let mut unprocessed = HashMap::new();
        let mut field = 0;
        while r.next(&mut head)? {
            let Some(mut tables) = r.map_or_null()? else {
                field += 1;
                continue;
            };
            while r.next(&mut tables)? {
                let table = r.text_or_bytes()?;
                let schema = schema_for(catalog, &table)?;
                let mut list = r.array()?;
                if field == 0 {
                    let projection = projections.get(&table);
                    let mut items: Vec<Item> = Vec::new();
                    while r.next(&mut list)? {
                        match r.datatype()? {
                            Type::Map | Type::MapIndef => {
                                let empty = ProjectionPaths::default();
                                items.push(projection.unwrap_or(&empty).read_item(r)?);
                            }
                            _ => {
                                let mut item = read_key(r, &schema)?;
                                if !r.next(&mut list)? {
                                    return Err(r.malformed("KEY without VALUES"));
                                }
                                if r.null_or()? {
                                    continue; // not found
                                }
                                let values = r.bytes()?;
                                item.extend(decode_values(&values, catalog)?);
                                items.push(item);
                            }
                        }
                    }
                    responses.insert(table, items);
                } else {
                    let mut keys = Vec::new();
                    while r.next(&mut list)? {
                        keys.push(read_key(r, &schema)?);
                    }
                    let request = input.request_items().and_then(|m| m.get(&table));
                    let ka = KeysAndAttributes::builder()
                        .set_keys(Some(keys))
                        .set_consistent_read(request.and_then(KeysAndAttributes::consistent_read))
                        .set_projection_expression(
                            request.and_then(|k| k.projection_expression().map(str::to_owned)),
                        )
                        .set_expression_attribute_names(
                            request.and_then(|k| k.expression_attribute_names().cloned()),
                        )
                        .build()
                        .map_err(build_err)?;
                    unprocessed.insert(table, ka);
                }
            }
            field += 1;
        }
        let consumed = if r.is_empty() { None } else { read_cc_list(r)? };
        Ok(BatchGetItemOutput::builder()
            .set_responses(Some(responses))
            .set_unprocessed_keys(Some(unprocessed))
            .set_consumed_capacity(consumed)
            .build())
    })
}

/// Appends a BatchGetItem reply (server side), quirk included.
pub fn encode_batch_get_item_response(
    output: &BatchGetItemOutput,
    projections: &HashMap<String, ProjectionPaths>,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    write_reply(out, |w| {
        w.array(2);
        let responses = output.responses().cloned().unwrap_or_default();
        w.map(responses.len());
        for (table, items) in sorted(&responses) {
            let schema = schema_for(catalog, table)?;
            w.str(table);
            match projections.get(table) {
                Some(p) => {
                    w.array(items.len());
                    for item in items {
                        p.write_item(w, item)?;
                    }
                }
                None => {
                    w.array(items.len() * 2);
                    for item in items {
                        write_key(w, &schema, item)?;
                        write_values(w, item, Some(&schema), catalog)?;
                    }
                }
            }
        }
        let unprocessed = output.unprocessed_keys().cloned().unwrap_or_default();
        w.map(unprocessed.len());
        for (table, ka) in sorted(&unprocessed) {
            let schema = schema_for(catalog, table)?;
            w.str(table).array(ka.keys().len());
            for key in ka.keys() {
                write_key(w, &schema, key)?;
            }
        }
        write_cc_list(w, output.consumed_capacity());
        Ok(())
    })
}

/// Reads a BatchWriteItem reply (three top-level items).
///
/// ```
/// use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
/// use xacct_dax_protocol::codec::*;
///
/// let input = BatchWriteItemInput::builder().build()?;
/// let out = decode_batch_write_item_response(&[0x80, 0xa0, 0x80, 0xa0], &input, &MemoryCatalog::default())?;
/// assert!(out.unwrap().unprocessed_items().unwrap().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_batch_write_item_response(
    frame: &[u8],
    input: &BatchWriteItemInput,
    catalog: &dyn Catalog,
) -> Result<Reply<BatchWriteItemOutput>, CodecError> {
    let _ = input;
    read_reply(frame, |r| {
        let mut unprocessed = HashMap::new();
        if let Some(mut tables) = r.map_or_null()? {
            while r.next(&mut tables)? {
                let table = r.text_or_bytes()?;
                let schema = schema_for(catalog, &table)?;
                unprocessed.insert(table, read_write_requests(r, &schema, catalog)?);
            }
        }
        let consumed = if r.is_empty() { None } else { read_cc_list(r)? };
        let metrics = if r.is_empty() {
            None
        } else {
            read_icm_map(r, |t| Ok(schema_for(catalog, t)?.hash.name.clone()))?
        };
        Ok(BatchWriteItemOutput::builder()
            .set_unprocessed_items(Some(unprocessed))
            .set_consumed_capacity(consumed)
            .set_item_collection_metrics(metrics)
            .build())
    })
}

/// Appends a BatchWriteItem reply (server side).
///
/// An unprocessed put's VALUES carry the **whole** item, key attributes included: the official
/// Python client builds the unprocessed PutRequest's item from VALUES alone (it does not merge
/// the KEY back), so without them it would hand its caller an item that cannot be re-sent.
/// Decoders that merge KEY and VALUES (Node, Go, ours) read this form too.
pub fn encode_batch_write_item_response(
    output: &BatchWriteItemOutput,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    write_reply(out, |w| {
        let unprocessed = output.unprocessed_items().cloned().unwrap_or_default();
        w.map(unprocessed.len());
        for (table, requests) in sorted(&unprocessed) {
            let schema = schema_for(catalog, table)?;
            w.str(table).array(requests.len() * 2);
            for req in requests {
                if let Some(put) = req.put_request() {
                    write_key(w, &schema, put.item())?;
                    write_values(w, put.item(), None, catalog)?;
                } else if let Some(del) = req.delete_request() {
                    write_key(w, &schema, del.key())?;
                    w.null();
                }
            }
        }
        write_cc_list(w, output.consumed_capacity());
        write_icm_map(w, output.item_collection_metrics())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Item, KeyAttribute, KeySchema, MemoryCatalog};
    use aws_sdk_dynamodb::types::{
        AttributeValue, DeleteRequest, PutRequest, ScalarAttributeType, WriteRequest,
    };

    #[test]
    fn unprocessed_puts_carry_their_key_in_values_and_decode_back() {
        let catalog = MemoryCatalog::assigning(100);
        catalog.insert_key_schema(
            "t",
            KeySchema::hash_only(KeyAttribute::new("pk", ScalarAttributeType::S)),
        );
        let item: Item = [
            ("pk".to_owned(), AttributeValue::S("k".into())),
            ("a".to_owned(), AttributeValue::N("1".into())),
        ]
        .into();
        let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
        let delete = DeleteRequest::builder()
            .key("pk", AttributeValue::S("d".into()))
            .build()
            .unwrap();
        let requests = vec![
            WriteRequest::builder().put_request(put).build(),
            WriteRequest::builder().delete_request(delete).build(),
        ];
        let output = BatchWriteItemOutput::builder()
            .unprocessed_items("t", requests.clone())
            .build();
        let mut frame = Vec::new();
        encode_batch_write_item_response(&output, &catalog, &mut frame).unwrap();
        // list 100 = ["a", "pk"]: the key is inside VALUES, for the Python client
        assert_eq!(catalog.attribute_names(100).unwrap().to_vec(), ["a", "pk"]);
        let input = BatchWriteItemInput::builder()
            .request_items("t", requests.clone())
            .build()
            .unwrap();
        let back = decode_batch_write_item_response(&frame, &input, &catalog)
            .unwrap()
            .unwrap();
        assert_eq!(back.unprocessed_items().unwrap()["t"], requests);
    }
}
