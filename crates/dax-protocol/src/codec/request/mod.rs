//! Requests: client-side encoders and server-side decoders for every method
//! (docs/dax-protocol.md §4).
//!
//! Encoding choices where the official clients differ (the fixture tests normalise each one,
//! see `tests/dax_codec_fixtures.rs` and `scripts/dax/README.md` N1–N14):
//!
//! * kwargs: an indefinite map, keys ascending; defaults are omitted (`3: NONE`, `6: NONE`,
//!   `7: NONE`) as Node and Go do, except that `3` is always sent for BatchGetItem and
//!   TransactGetItems, as both Python and Node do. No redundant keys 1/5, no raw-text key 4.
//! * numbers: the Python form (int / bignum beyond 64 bits / tag-4 decimal), never floats.
//! * map attributes and compound keys: names in byte order (deterministic output).
//! * ClientRequestToken: sent only when the caller gave one (generating one needs entropy;
//!   the transport does it).
//!
//! Expressions are opaque here: the caller hands over compiled bytes in
//! [`CompiledExpressions`](crate::expr::CompiledExpressions); the
//! expression text fields of the SDK inputs are ignored by encoders and left unset (or empty
//! where the SDK type requires them) by decoders.

mod batch;
mod control;
mod item;
mod query;
mod transact;

use std::collections::BTreeMap;

use bytes::Bytes;

use aws_sdk_dynamodb::types::{
    ReturnConsumedCapacity, ReturnItemCollectionMetrics, ReturnValue,
    ReturnValuesOnConditionCheckFailure, Select,
};

pub use batch::*;
pub use control::*;
pub use item::*;
pub use query::*;
pub use transact::*;

use super::catalog::Catalog;
use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::framing::{read_request_head, write_request_head};
use super::key::KeySchema;
use super::method::Method;
use std::sync::Arc;

/// kwargs map keys (docs/dax-protocol.md §4.2).
pub(crate) mod kw {
    pub(crate) const PROJECTION: u64 = 0;
    pub(crate) const CONSISTENT_READ: u64 = 2;
    pub(crate) const RETURN_CONSUMED_CAPACITY: u64 = 3;
    pub(crate) const CONDITION: u64 = 4;
    pub(crate) const RETURN_ITEM_COLLECTION_METRICS: u64 = 6;
    pub(crate) const RETURN_VALUES: u64 = 7;
    pub(crate) const UPDATE: u64 = 8;
    pub(crate) const EXCLUSIVE_START_KEY: u64 = 9;
    pub(crate) const FILTER: u64 = 10;
    pub(crate) const INDEX_NAME: u64 = 11;
    pub(crate) const LIMIT: u64 = 13;
    pub(crate) const SCAN_INDEX_FORWARD: u64 = 14;
    pub(crate) const SELECT: u64 = 15;
    pub(crate) const SEGMENT: u64 = 16;
    pub(crate) const TOTAL_SEGMENTS: u64 = 17;
    pub(crate) const CLIENT_REQUEST_TOKEN: u64 = 19;
}

/// Builds a request frame; on error `out` is left as it was.
pub(crate) fn frame(
    out: &mut Vec<u8>,
    method: Method,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let start = out.len();
    let mut w = Writer::new(out);
    write_request_head(&mut w, method);
    let r = body(&mut w);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Reads a request frame: head check, body, and nothing left over.
pub(crate) fn read_frame<'b, T>(
    buf: &'b [u8],
    method: Method,
    body: impl FnOnce(&mut Reader<'b>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let mut r = Reader::new(buf);
    read_request_head(&mut r, method)?;
    let t = body(&mut r)?;
    r.finish()?;
    Ok(t)
}

pub(crate) fn schema_for(catalog: &dyn Catalog, table: &str) -> Result<Arc<KeySchema>, CodecError> {
    catalog
        .key_schema(table)
        .ok_or_else(|| CodecError::MissingKeySchema {
            table: table.to_owned(),
        })
}

pub(crate) fn required<'a, T>(v: Option<&'a T>, what: &'static str) -> Result<&'a T, CodecError>
where
    T: ?Sized,
{
    v.ok_or_else(|| CodecError::invalid(what, "is required"))
}

pub(crate) fn build_err(e: aws_smithy_types::error::operation::BuildError) -> CodecError {
    CodecError::Malformed {
        what: "request does not make a valid SDK input".to_owned(),
        at: 0,
        source: Some(Box::new(e)),
    }
}

/// Writes the KEY byte string.
pub(crate) fn write_key(
    w: &mut Writer<'_>,
    schema: &KeySchema,
    key: &super::value::Item,
) -> Result<(), CodecError> {
    w.bytes_with(|w| schema.encode_key(key, w.out()))
}

pub(crate) fn read_key(
    r: &mut Reader<'_>,
    schema: &KeySchema,
) -> Result<super::value::Item, CodecError> {
    let b = r.bytes()?;
    schema.decode_key(&b)
}

/// An indefinite kwargs map under construction (keys must be written in the order given).
pub(crate) struct KwargsWriter<'w, 'a> {
    w: &'w mut Writer<'a>,
}

impl<'w, 'a> KwargsWriter<'w, 'a> {
    pub(crate) fn begin(w: &'w mut Writer<'a>) -> Self {
        w.begin_map();
        KwargsWriter { w }
    }

    pub(crate) fn key(&mut self, k: u64) -> &mut Writer<'a> {
        self.w.u64(k)
    }

    pub(crate) fn opt_bytes(&mut self, k: u64, v: Option<&Bytes>) {
        if let Some(v) = v {
            self.key(k).bytes(v);
        }
    }

    pub(crate) fn opt_int(&mut self, k: u64, v: Option<i64>) {
        if let Some(v) = v {
            self.key(k).i64(v);
        }
    }

    pub(crate) fn end(self) {
        self.w.end();
    }
}

/// A decoded kwargs map: key → raw CBOR item (duplicates: the last one wins, as DAX does).
#[derive(Debug, Default)]
pub(crate) struct Kwargs<'b> {
    raw: BTreeMap<u64, &'b [u8]>,
}

impl<'b> Kwargs<'b> {
    /// Reads `null` or a kwargs map.
    pub(crate) fn read(r: &mut Reader<'b>) -> Result<Self, CodecError> {
        let mut raw = BTreeMap::new();
        if let Some(mut seq) = r.map_or_null()? {
            while r.next(&mut seq)? {
                let k = r.u64()?;
                raw.insert(k, r.raw_item()?);
            }
        }
        Ok(Kwargs { raw })
    }

    /// The value under `k`, unless absent or `null`.
    fn reader(&self, k: u64) -> Result<Option<Reader<'b>>, CodecError> {
        let Some(b) = self.raw.get(&k) else {
            return Ok(None);
        };
        let mut r = Reader::new(b);
        Ok(if r.null_or()? { None } else { Some(r) })
    }

    pub(crate) fn bytes(&self, k: u64) -> Result<Option<Bytes>, CodecError> {
        self.reader(k)?
            .map(|mut r| Ok(Bytes::from(r.bytes()?.into_owned())))
            .transpose()
    }

    pub(crate) fn text(&self, k: u64) -> Result<Option<String>, CodecError> {
        self.reader(k)?.map(|mut r| r.text_or_bytes()).transpose()
    }

    pub(crate) fn int(&self, k: u64) -> Result<Option<i64>, CodecError> {
        self.reader(k)?.map(|mut r| r.i64()).transpose()
    }

    pub(crate) fn flag(&self, k: u64) -> Result<Option<bool>, CodecError> {
        self.reader(k)?.map(|mut r| r.flag()).transpose()
    }
}

// Enum ⇄ wire numbers (docs/dax-protocol.md §4.2).

pub(crate) fn return_consumed_capacity_to_wire(v: Option<&ReturnConsumedCapacity>) -> Option<i64> {
    match v? {
        ReturnConsumedCapacity::Total => Some(1),
        ReturnConsumedCapacity::Indexes => Some(2),
        _ => None,
    }
}

pub(crate) fn return_consumed_capacity_from_wire(v: Option<i64>) -> Option<ReturnConsumedCapacity> {
    match v? {
        1 => Some(ReturnConsumedCapacity::Total),
        2 => Some(ReturnConsumedCapacity::Indexes),
        _ => None,
    }
}

pub(crate) fn return_item_collection_metrics_to_wire(
    v: Option<&ReturnItemCollectionMetrics>,
) -> Option<i64> {
    match v? {
        ReturnItemCollectionMetrics::Size => Some(1),
        _ => None,
    }
}

pub(crate) fn return_item_collection_metrics_from_wire(
    v: Option<i64>,
) -> Option<ReturnItemCollectionMetrics> {
    match v? {
        1 => Some(ReturnItemCollectionMetrics::Size),
        _ => None,
    }
}

pub(crate) fn return_values_to_wire(v: Option<&ReturnValue>) -> Option<i64> {
    match v? {
        ReturnValue::AllOld => Some(2),
        ReturnValue::UpdatedOld => Some(3),
        ReturnValue::AllNew => Some(4),
        ReturnValue::UpdatedNew => Some(5),
        _ => None,
    }
}

pub(crate) fn return_values_from_wire(v: Option<i64>) -> Option<ReturnValue> {
    match v? {
        2 => Some(ReturnValue::AllOld),
        3 => Some(ReturnValue::UpdatedOld),
        4 => Some(ReturnValue::AllNew),
        5 => Some(ReturnValue::UpdatedNew),
        _ => None,
    }
}

pub(crate) fn select_to_wire(v: Option<&Select>) -> Option<i64> {
    match v? {
        Select::AllAttributes => Some(1),
        Select::AllProjectedAttributes => Some(2),
        Select::Count => Some(3),
        Select::SpecificAttributes => Some(4),
        _ => None,
    }
}

pub(crate) fn select_from_wire(v: Option<i64>) -> Option<Select> {
    match v? {
        1 => Some(Select::AllAttributes),
        2 => Some(Select::AllProjectedAttributes),
        3 => Some(Select::Count),
        4 => Some(Select::SpecificAttributes),
        _ => None,
    }
}

pub(crate) fn return_values_on_condition_check_failure_to_wire(
    v: Option<&ReturnValuesOnConditionCheckFailure>,
) -> i64 {
    match v {
        Some(ReturnValuesOnConditionCheckFailure::AllOld) => 2,
        _ => 1,
    }
}

pub(crate) fn return_values_on_condition_check_failure_from_wire(
    v: i64,
) -> Option<ReturnValuesOnConditionCheckFailure> {
    match v {
        2 => Some(ReturnValuesOnConditionCheckFailure::AllOld),
        _ => None,
    }
}
