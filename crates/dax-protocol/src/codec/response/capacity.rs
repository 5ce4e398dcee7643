//! Consumed capacity and item collection metrics (docs/dax-protocol.md §8.1, §8.2).
//!
//! Single-table operations: CC is a byte string holding the sequence `tableName,
//! capacityUnits, tableCapacityUnits | null, {gsi: units} | null, {lsi: units} | null`.
//! Transactions: an array of maps with small-int keys (1 CapacityUnits, 2 Read, 3 Write,
//! 4 TableName, 5 Table, 6 GSIs, 7 LSIs). ICM: a byte string holding `hashKeyValue, low, high`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Capacity, ConsumedCapacity, ItemCollectionMetrics};

use crate::codec::cbor::{Reader, Writer};
use crate::codec::error::CodecError;
use crate::codec::number::read_number;
use crate::codec::value::{read_value, write_value};

/// Any numeric form as f64 (ints, floats, decimals).
pub(crate) fn read_f64(r: &mut Reader<'_>) -> Result<f64, CodecError> {
    let at = r.position();
    read_number(r)?
        .parse::<f64>()
        .map_err(|_| CodecError::malformed("capacity is not a number", at))
}

fn opt_f64(r: &mut Reader<'_>) -> Result<Option<f64>, CodecError> {
    if r.null_or()? {
        Ok(None)
    } else {
        read_f64(r).map(Some)
    }
}

fn units(c: f64) -> Capacity {
    Capacity::builder().capacity_units(c).build()
}

fn read_units_map(r: &mut Reader<'_>) -> Result<Option<HashMap<String, Capacity>>, CodecError> {
    let Some(mut seq) = r.map_or_null()? else {
        return Ok(None);
    };
    let mut m = HashMap::new();
    while r.next(&mut seq)? {
        let name = r.str()?.into_owned();
        m.insert(name, units(read_f64(r)?));
    }
    Ok(Some(m))
}

/// Reads a single-table CC (byte string) or `null`.
pub(crate) fn read_cc(r: &mut Reader<'_>) -> Result<Option<ConsumedCapacity>, CodecError> {
    if r.null_or()? {
        return Ok(None);
    }
    let content = r.bytes()?;
    let mut r = Reader::new(&content);
    let table = r.str()?.into_owned();
    let mut cc = ConsumedCapacity::builder()
        .table_name(table)
        .capacity_units(read_f64(&mut r)?);
    // The optional parts may be missing altogether (trailing items omitted).
    if !r.is_empty() {
        if let Some(t) = opt_f64(&mut r)? {
            cc = cc.table(units(t));
        }
    }
    if !r.is_empty() {
        cc = cc.set_global_secondary_indexes(read_units_map(&mut r)?);
    }
    if !r.is_empty() {
        cc = cc.set_local_secondary_indexes(read_units_map(&mut r)?);
    }
    r.finish()?;
    Ok(Some(cc.build()))
}

fn write_units_map(w: &mut Writer<'_>, m: Option<&HashMap<String, Capacity>>) {
    match m {
        None => {
            w.null();
        }
        Some(m) => {
            let mut names: Vec<&String> = m.keys().collect();
            names.sort_unstable();
            w.map(names.len());
            for n in names {
                w.str(n).f64(m[n].capacity_units().unwrap_or(0.0));
            }
        }
    }
}

/// Writes a single-table CC byte string.
pub(crate) fn write_cc(w: &mut Writer<'_>, cc: &ConsumedCapacity) {
    w.bytes_with(|w| {
        w.str(cc.table_name().unwrap_or_default())
            .f64(cc.capacity_units().unwrap_or(0.0));
        match cc.table().and_then(Capacity::capacity_units) {
            Some(t) => w.f64(t),
            None => w.null(),
        };
        write_units_map(w, cc.global_secondary_indexes());
        write_units_map(w, cc.local_secondary_indexes());
    });
}

/// Reads an array of single-table CCs (or `null`).
pub(crate) fn read_cc_list(
    r: &mut Reader<'_>,
) -> Result<Option<Vec<ConsumedCapacity>>, CodecError> {
    let Some(mut seq) = r.array_or_null()? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    while r.next(&mut seq)? {
        if let Some(cc) = read_cc(r)? {
            out.push(cc);
        }
    }
    Ok(Some(out))
}

pub(crate) fn write_cc_list(w: &mut Writer<'_>, ccs: &[ConsumedCapacity]) {
    w.array(ccs.len());
    for cc in ccs {
        write_cc(w, cc);
    }
}

fn read_capacity_map(r: &mut Reader<'_>) -> Result<Capacity, CodecError> {
    let mut seq = r.map()?;
    let mut c = Capacity::builder();
    while r.next(&mut seq)? {
        match r.u64()? {
            1 => c = c.capacity_units(read_f64(r)?),
            2 => c = c.read_capacity_units(read_f64(r)?),
            3 => c = c.write_capacity_units(read_f64(r)?),
            _ => r.skip()?,
        }
    }
    Ok(c.build())
}

fn write_capacity_map(w: &mut Writer<'_>, c: &Capacity) {
    let fields = [
        (1u64, c.capacity_units()),
        (2, c.read_capacity_units()),
        (3, c.write_capacity_units()),
    ];
    w.map(fields.iter().filter(|f| f.1.is_some()).count());
    for (k, v) in fields {
        if let Some(v) = v {
            w.u64(k).f64(v);
        }
    }
}

fn read_named_capacities(
    r: &mut Reader<'_>,
) -> Result<Option<HashMap<String, Capacity>>, CodecError> {
    let Some(mut seq) = r.map_or_null()? else {
        return Ok(None);
    };
    let mut m = HashMap::new();
    while r.next(&mut seq)? {
        let name = r.str()?.into_owned();
        m.insert(name, read_capacity_map(r)?);
    }
    Ok(Some(m))
}

/// Reads the transaction form: an array of CC maps (or `null`).
pub(crate) fn read_cc_maps(
    r: &mut Reader<'_>,
) -> Result<Option<Vec<ConsumedCapacity>>, CodecError> {
    let Some(mut seq) = r.array_or_null()? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    while r.next(&mut seq)? {
        let mut m = r.map()?;
        let mut cc = ConsumedCapacity::builder();
        while r.next(&mut m)? {
            match r.u64()? {
                1 => cc = cc.capacity_units(read_f64(r)?),
                2 => cc = cc.read_capacity_units(read_f64(r)?),
                3 => cc = cc.write_capacity_units(read_f64(r)?),
                4 => cc = cc.table_name(r.str()?.into_owned()),
                5 => cc = cc.table(read_capacity_map(r)?),
                6 => cc = cc.set_global_secondary_indexes(read_named_capacities(r)?),
                7 => cc = cc.set_local_secondary_indexes(read_named_capacities(r)?),
                _ => r.skip()?,
            }
        }
        out.push(cc.build());
    }
    Ok(Some(out))
}

fn write_named_capacities(w: &mut Writer<'_>, k: u64, m: Option<&HashMap<String, Capacity>>) {
    if let Some(m) = m {
        let mut names: Vec<&String> = m.keys().collect();
        names.sort_unstable();
        w.u64(k).map(names.len());
        for n in names {
            w.str(n);
            write_capacity_map(w, &m[n]);
        }
    }
}

pub(crate) fn write_cc_maps(w: &mut Writer<'_>, ccs: &[ConsumedCapacity]) {
    w.array(ccs.len());
    for cc in ccs {
        let n = [
            cc.capacity_units().is_some(),
            cc.read_capacity_units().is_some(),
            cc.write_capacity_units().is_some(),
            cc.table_name().is_some(),
            cc.table().is_some(),
            cc.global_secondary_indexes().is_some(),
            cc.local_secondary_indexes().is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        w.map(n);
        for (k, v) in [
            (1u64, cc.capacity_units()),
            (2, cc.read_capacity_units()),
            (3, cc.write_capacity_units()),
        ] {
            if let Some(v) = v {
                w.u64(k).f64(v);
            }
        }
        if let Some(t) = cc.table_name() {
            w.u64(4).str(t);
        }
        if let Some(t) = cc.table() {
            w.u64(5);
            write_capacity_map(w, t);
        }
        write_named_capacities(w, 6, cc.global_secondary_indexes());
        write_named_capacities(w, 7, cc.local_secondary_indexes());
    }
}

/// Reads an ICM byte string (or `null`); the key is named with the table's hash-key name.
pub(crate) fn read_icm(
    r: &mut Reader<'_>,
    hash_key_name: &str,
) -> Result<Option<ItemCollectionMetrics>, CodecError> {
    if r.null_or()? {
        return Ok(None);
    }
    let content = r.bytes()?;
    let mut r = Reader::new(&content);
    let key = read_value(&mut r)?;
    let mut range = Vec::with_capacity(2);
    while !r.is_empty() {
        range.push(read_f64(&mut r)?);
    }
    Ok(Some(
        ItemCollectionMetrics::builder()
            .item_collection_key(hash_key_name, key)
            .set_size_estimate_range_gb(Some(range))
            .build(),
    ))
}

/// Writes an ICM byte string: the (single) item-collection key value and the size range.
pub(crate) fn write_icm(w: &mut Writer<'_>, icm: &ItemCollectionMetrics) -> Result<(), CodecError> {
    let key = icm
        .item_collection_key()
        .and_then(|k| k.values().next())
        .cloned()
        .unwrap_or(AttributeValue::Null(true));
    w.bytes_with(|w| {
        write_value(w, &key, 1)?;
        for v in icm.size_estimate_range_gb() {
            w.f64(*v);
        }
        Ok(())
    })
}

/// Reads `{table: [ICM…]}` (or `null`); `hash_key` names each table's hash key.
pub(crate) fn read_icm_map(
    r: &mut Reader<'_>,
    mut hash_key: impl FnMut(&str) -> Result<String, CodecError>,
) -> Result<Option<HashMap<String, Vec<ItemCollectionMetrics>>>, CodecError> {
    let Some(mut seq) = r.map_or_null()? else {
        return Ok(None);
    };
    let mut out = HashMap::new();
    while r.next(&mut seq)? {
        let table = r.str()?.into_owned();
        let name = hash_key(&table)?;
        let mut list = r.array()?;
        let mut v = Vec::new();
        while r.next(&mut list)? {
            if let Some(icm) = read_icm(r, &name)? {
                v.push(icm);
            }
        }
        out.insert(table, v);
    }
    Ok(Some(out))
}

pub(crate) fn write_icm_map(
    w: &mut Writer<'_>,
    m: Option<&HashMap<String, Vec<ItemCollectionMetrics>>>,
) -> Result<(), CodecError> {
    let Some(m) = m else {
        w.map(0);
        return Ok(());
    };
    let mut tables: Vec<&String> = m.keys().collect();
    tables.sort_unstable();
    w.map(tables.len());
    for t in tables {
        w.str(t).array(m[t].len());
        for icm in &m[t] {
            write_icm(w, icm)?;
        }
    }
    Ok(())
}
