//! Query and Scan requests.

use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use bytes::Bytes;

use super::{
    build_err, frame, kw, read_frame, required, return_consumed_capacity_from_wire,
    return_consumed_capacity_to_wire, schema_for, select_from_wire, select_to_wire, Kwargs,
    KwargsWriter,
};
use crate::codec::catalog::Catalog;
use crate::codec::error::CodecError;
use crate::codec::key::{decode_compound_key, encode_compound_key, KeySchema};
use crate::codec::method::Method;
use crate::codec::value::Item;
use crate::expr::CompiledExpressions;

/// ExclusiveStartKey: table key bytes without an index, compound key with one.
fn write_start_key(
    k: &mut KwargsWriter<'_, '_>,
    key: Option<&Item>,
    index: Option<&str>,
    schema: &KeySchema,
) -> Result<(), CodecError> {
    let Some(key) = key else { return Ok(()) };
    let w = k.key(kw::EXCLUSIVE_START_KEY);
    w.bytes_with(|w| match index {
        Some(_) => encode_compound_key(key, w.out()),
        None => schema.encode_key(key, w.out()),
    })
}

fn read_start_key(
    k: &Kwargs<'_>,
    index: Option<&str>,
    schema: &KeySchema,
) -> Result<Option<Item>, CodecError> {
    let Some(b) = k.bytes(kw::EXCLUSIVE_START_KEY)? else {
        return Ok(None);
    };
    Ok(Some(match index {
        Some(_) => decode_compound_key(&b)?,
        None => schema.decode_key(&b)?,
    }))
}

/// The kwargs Query and Scan share, in ascending key order.
#[allow(clippy::too_many_arguments)]
fn write_read_options(
    k: &mut KwargsWriter<'_, '_>,
    exprs: &CompiledExpressions,
    consistent_read: Option<bool>,
    return_consumed_capacity: Option<i64>,
    start_key: Option<&Item>,
    index: Option<&str>,
    schema: &KeySchema,
) -> Result<(), CodecError> {
    k.opt_bytes(kw::PROJECTION, exprs.projection.as_ref());
    // Query/Scan take ConsistentRead as an int (GetItem: bool).
    k.opt_int(kw::CONSISTENT_READ, consistent_read.map(i64::from));
    k.opt_int(kw::RETURN_CONSUMED_CAPACITY, return_consumed_capacity);
    write_start_key(k, start_key, index, schema)?;
    k.opt_bytes(kw::FILTER, exprs.filter.as_ref());
    if let Some(index) = index {
        k.key(kw::INDEX_NAME).bytes(index.as_bytes());
    }
    Ok(())
}

/// Appends a Query request. The key condition (`exprs.key_condition`) is positional; the
/// projection and filter go into the kwargs.
///
/// ```
/// use aws_sdk_dynamodb::operation::query::QueryInput;
/// use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
/// use xacct_dax_protocol::expr::ExpressionKind;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = QueryInput::builder().table_name("t").limit(10).build()?;
/// let exprs = CompiledExpressions::new().with(ExpressionKind::KeyCondition, vec![0x83, 0x01, 0x80, 0x80]);
/// let mut frame = Vec::new();
/// encode_query_request(&input, &exprs, &catalog, &mut frame)?;
/// let (back, e) = decode_query_request(&frame, &catalog)?;
/// assert_eq!((back.limit(), e.key_condition), (Some(10), exprs.key_condition));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_query_request(
    input: &QueryInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::Query, |w| {
        w.bytes(table.as_bytes());
        match &exprs.key_condition {
            Some(kc) => w.bytes(kc),
            None => w.null(),
        };
        let mut k = KwargsWriter::begin(w);
        write_read_options(
            &mut k,
            exprs,
            input.consistent_read(),
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
            input.exclusive_start_key(),
            input.index_name(),
            &schema,
        )?;
        k.opt_int(kw::LIMIT, input.limit().map(i64::from));
        k.opt_int(
            kw::SCAN_INDEX_FORWARD,
            input.scan_index_forward().map(i64::from),
        );
        k.opt_int(kw::SELECT, select_to_wire(input.select()));
        k.end();
        Ok(())
    })
}

/// Reads a Query request (server side).
pub fn decode_query_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(QueryInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::Query, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let key_condition = if r.null_or()? {
            None
        } else {
            Some(Bytes::from(r.bytes()?.into_owned()))
        };
        let k = Kwargs::read(r)?;
        let index = k.text(kw::INDEX_NAME)?;
        let mut exprs = CompiledExpressions::new();
        exprs.key_condition = key_condition;
        exprs.projection = k.bytes(kw::PROJECTION)?;
        exprs.filter = k.bytes(kw::FILTER)?;
        let input = QueryInput::builder()
            .table_name(table)
            .set_exclusive_start_key(read_start_key(&k, index.as_deref(), &schema)?)
            .set_index_name(index)
            .set_consistent_read(k.flag(kw::CONSISTENT_READ)?)
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_limit(int32(k.int(kw::LIMIT)?)?)
            .set_scan_index_forward(k.flag(kw::SCAN_INDEX_FORWARD)?)
            .set_select(select_from_wire(k.int(kw::SELECT)?))
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}

fn int32(v: Option<i64>) -> Result<Option<i32>, CodecError> {
    v.map(|v| i32::try_from(v).map_err(|_| CodecError::malformed("integer option out of range", 0)))
        .transpose()
}

/// Appends a Scan request. Uses `exprs.projection` and `exprs.filter`.
///
/// ```
/// use aws_sdk_dynamodb::operation::scan::ScanInput;
/// use aws_sdk_dynamodb::types::ScalarAttributeType as T;
/// use xacct_dax_protocol::codec::*;
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = ScanInput::builder().table_name("t").segment(0).total_segments(2).build()?;
/// let mut frame = Vec::new();
/// encode_scan_request(&input, &CompiledExpressions::new(), &catalog, &mut frame)?;
/// assert_eq!(decode_scan_request(&frame, &catalog)?.0.total_segments(), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_scan_request(
    input: &ScanInput,
    exprs: &CompiledExpressions,
    catalog: &dyn Catalog,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = required(input.table_name(), "TableName")?;
    let schema = schema_for(catalog, table)?;
    frame(out, Method::Scan, |w| {
        w.bytes(table.as_bytes());
        let mut k = KwargsWriter::begin(w);
        write_read_options(
            &mut k,
            exprs,
            input.consistent_read(),
            return_consumed_capacity_to_wire(input.return_consumed_capacity()),
            input.exclusive_start_key(),
            input.index_name(),
            &schema,
        )?;
        k.opt_int(kw::LIMIT, input.limit().map(i64::from));
        k.opt_int(kw::SELECT, select_to_wire(input.select()));
        k.opt_int(kw::SEGMENT, input.segment().map(i64::from));
        k.opt_int(kw::TOTAL_SEGMENTS, input.total_segments().map(i64::from));
        k.end();
        Ok(())
    })
}

/// Reads a Scan request (server side).
pub fn decode_scan_request(
    frame_bytes: &[u8],
    catalog: &dyn Catalog,
) -> Result<(ScanInput, CompiledExpressions), CodecError> {
    read_frame(frame_bytes, Method::Scan, |r| {
        let table = r.text_or_bytes()?;
        let schema = schema_for(catalog, &table)?;
        let k = Kwargs::read(r)?;
        let index = k.text(kw::INDEX_NAME)?;
        let mut exprs = CompiledExpressions::new();
        exprs.projection = k.bytes(kw::PROJECTION)?;
        exprs.filter = k.bytes(kw::FILTER)?;
        let input = ScanInput::builder()
            .table_name(table)
            .set_exclusive_start_key(read_start_key(&k, index.as_deref(), &schema)?)
            .set_index_name(index)
            .set_consistent_read(k.flag(kw::CONSISTENT_READ)?)
            .set_return_consumed_capacity(return_consumed_capacity_from_wire(
                k.int(kw::RETURN_CONSUMED_CAPACITY)?,
            ))
            .set_limit(int32(k.int(kw::LIMIT)?)?)
            .set_select(select_from_wire(k.int(kw::SELECT)?))
            .set_segment(int32(k.int(kw::SEGMENT)?)?)
            .set_total_segments(int32(k.int(kw::TOTAL_SEGMENTS)?)?)
            .build()
            .map_err(build_err)?;
        Ok((input, exprs))
    })
}
