//! VALUES byte strings the codec only writes inside other replies: old items of transaction
//! cancellation reasons, and whole items of unprocessed BatchWriteItem puts.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::types::{Get, ItemResponse, ScalarAttributeType, TransactGetItem};
use minicbor::Encoder;

use crate::dax::codec::{
    encode_transact_get_items_response, Catalog, CodecError, Item, KeyAttribute, KeySchema,
};

/// The VALUES content of `item`: its non-key attributes (`with_key` false: what a
/// cancellation reason carries; the client adds the key back), or all of them.
///
/// The codec writes VALUES only inside replies, so this borrows the TransactGetItems reply
/// encoder (`80 82 81 <VALUES> …`) and takes the byte string back out with `minicbor`.
pub(crate) fn values_bytes(
    item: &Item,
    table: &str,
    catalog: &dyn Catalog,
    with_key: bool,
) -> Result<Vec<u8>, CodecError> {
    let keyless;
    let catalog: &dyn Catalog = if with_key {
        keyless = Keyless(catalog);
        &keyless
    } else {
        catalog
    };
    let get = Get::builder()
        .table_name(table)
        .set_key(Some(Item::new()))
        .build()
        .map_err(|e| CodecError::invalid("Get", e.to_string()))?;
    let input = TransactGetItemsInput::builder()
        .transact_items(TransactGetItem::builder().get(get).build())
        .build()
        .map_err(|e| CodecError::invalid("TransactGetItems", e.to_string()))?;
    let output = TransactGetItemsOutput::builder()
        .responses(ItemResponse::builder().set_item(Some(item.clone())).build())
        .build();
    let mut frame = Vec::new();
    encode_transact_get_items_response(&output, &input, &[None], catalog, &mut frame)?;
    let mut d = minicbor::Decoder::new(&frame);
    let bad = |e: minicbor::decode::Error| CodecError::invalid("VALUES", e.to_string());
    d.array().map_err(bad)?; // success header
    d.array().map_err(bad)?; // [responses, cc]
    d.array().map_err(bad)?; // responses
    Ok(d.bytes().map_err(bad)?.to_vec())
}

/// A catalog whose key schemas name no real attribute, so VALUES keep the key attributes.
struct Keyless<'a>(&'a dyn Catalog);

impl Catalog for Keyless<'_> {
    fn key_schema(&self, _table: &str) -> Option<Arc<KeySchema>> {
        Some(Arc::new(KeySchema::hash_only(KeyAttribute::new(
            "\u{0}no key",
            ScalarAttributeType::S,
        ))))
    }

    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        self.0.attribute_list_id(names)
    }

    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        self.0.attribute_names(id)
    }
}

/// A BatchWriteItem reply listing `unprocessed` (docs §4.4: map of table → [KEY, VALUES|null]
/// pairs, an empty consumed-capacity list, an empty item-collection-metrics map).
///
/// Unlike the codec's encoder, a put's VALUES carry the **whole** item, key included: the
/// official Python client builds an unprocessed PutRequest's Item from VALUES alone (it does
/// not merge the key back), so without the key attributes it would return an item that
/// cannot be re-sent. Our codec's decoder merges KEY and VALUES, so both read this form.
pub(crate) fn encode_unprocessed_writes(
    output: &BatchWriteItemOutput,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let unprocessed: HashMap<_, _> = output.unprocessed_items().cloned().unwrap_or_default();
    let mut tables: Vec<_> = unprocessed.keys().cloned().collect();
    tables.sort();
    let mut e = Encoder::new(Vec::new());
    let fail = |e: minicbor::encode::Error<std::convert::Infallible>| {
        CodecError::invalid("BatchWriteItem reply", e.to_string())
    };
    e.array(0).map_err(fail)?; // success
    e.map(tables.len() as u64).map_err(fail)?;
    for table in &tables {
        let schema = catalog
            .key_schema(table)
            .ok_or_else(|| CodecError::MissingKeySchema {
                table: table.clone(),
            })?;
        let requests = &unprocessed[table];
        e.str(table).map_err(fail)?;
        e.array(2 * requests.len() as u64).map_err(fail)?;
        for req in requests {
            let (key, values) = if let Some(put) = req.put_request() {
                (
                    schema.key_of(put.item()),
                    Some(values_bytes(put.item(), table, catalog, true)?),
                )
            } else if let Some(del) = req.delete_request() {
                (del.key().clone(), None)
            } else {
                return Err(CodecError::invalid(
                    "WriteRequest",
                    "neither put nor delete",
                ));
            };
            let mut key_bytes = Vec::new();
            schema.encode_key(&key, &mut key_bytes)?;
            e.bytes(&key_bytes).map_err(fail)?;
            match values {
                Some(v) => e.bytes(&v).map_err(fail)?,
                None => e.null().map_err(fail)?,
            };
        }
    }
    e.array(0).map_err(fail)?; // consumed capacity
    e.map(0).map_err(fail)?; // item collection metrics
    out.extend_from_slice(&e.into_writer());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dax::codec::{decode_batch_write_item_response, MemoryCatalog};
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
    use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

    #[test]
    fn unprocessed_puts_keep_their_key_and_decode_back() {
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
        let requests = vec![
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .unwrap(),
                )
                .build(),
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .key("pk", AttributeValue::S("d".into()))
                        .build()
                        .unwrap(),
                )
                .build(),
        ];
        let output = BatchWriteItemOutput::builder()
            .unprocessed_items("t", requests.clone())
            .build();
        let mut frame = Vec::new();
        encode_unprocessed_writes(&output, &catalog, &mut frame).unwrap();
        // list 100 = ["a", "pk"]: the key is inside VALUES
        assert_eq!(catalog.attribute_names(100).unwrap().to_vec(), ["a", "pk"]);
        let input = BatchWriteItemInput::builder()
            .request_items("t", requests.clone())
            .build()
            .unwrap();
        let back = decode_batch_write_item_response(&frame, &input, &catalog)
            .unwrap()
            .unwrap();
        assert_eq!(back.unprocessed_items().unwrap()["t"], requests);
        assert_eq!(
            values_bytes(&item, "t", &catalog, false).unwrap()[..2],
            [0x18, 0x65]
        );
    }
}
