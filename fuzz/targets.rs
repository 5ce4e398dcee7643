//! The decoder entry points under fuzzing, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and by the main crate's corpus replay test
//! (`tests/dax_fuzz_corpus.rs`), so that CI replays exactly what the fuzzer ran.
//!
//! Every target must return normally on any input: an `Err` is fine, a panic, an abort or an
//! unbounded allocation is a bug. Context the client-side decoders need (key schemas, attribute
//! lists, the request being answered, projection paths) is a fixed catalog that matches the
//! golden fixtures, so the seed corpus decodes all the way through.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{
    AttributeValue, Get, KeysAndAttributes, ReturnValue, ScalarAttributeType as T, TransactGetItem,
};
use cross_account_dynamodb::dax::codec::*;

/// A catalog like the recording responder's: every fixture table, lists 100.. and 1000.
pub fn catalog() -> &'static MemoryCatalog {
    static CATALOG: OnceLock<MemoryCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let c = MemoryCatalog::default();
        let types = [("S", T::S), ("N", T::N), ("B", T::B)];
        for (h, ht) in &types {
            c.insert_key_schema(
                format!("t_h{h}"),
                KeySchema::hash_only(KeyAttribute::new("pk", ht.clone())),
            );
            for (r, rt) in &types {
                c.insert_key_schema(
                    format!("t_h{h}_r{r}"),
                    KeySchema::composite(
                        KeyAttribute::new("pk", ht.clone()),
                        KeyAttribute::new("sk", rt.clone()),
                    ),
                );
            }
        }
        c.insert_key_schema(
            "hashonly",
            KeySchema::hash_only(KeyAttribute::new("pk", T::S)),
        );
        c.insert_key_schema(
            "composite",
            KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N)),
        );
        let rich = [
            "bin", "bool", "bs", "list", "map", "ns", "nul", "num", "ss", "str",
        ];
        c.insert_attribute_list(1000, rich.iter().map(|s| (*s).to_owned()).collect());
        for (i, names) in [
            vec!["a", "b", "z"],
            vec!["a"],
            vec!["a", "b"],
            vec!["m"],
            vec!["a", "tags"],
        ]
        .into_iter()
        .enumerate()
        {
            c.insert_attribute_list(
                100 + i as i64,
                names.into_iter().map(str::to_owned).collect(),
            );
        }
        c
    })
}

const TABLE: &str = "t_hS_rN";

fn key() -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S("k1".into())),
        ("sk".to_owned(), AttributeValue::N("3.14".into())),
    ])
}

fn projection() -> ProjectionPaths {
    let n = |s: &str| PathElement::Name(s.into());
    ProjectionPaths::new(vec![
        vec![n("a")],
        vec![n("b"), n("c")],
        vec![n("d"), PathElement::Index(2)],
        vec![n("e"), PathElement::Index(0), n("f")],
    ])
}

macro_rules! ignore {
    ($e:expr) => {{
        let _ = $e;
    }};
}

fn request(data: &[u8]) {
    let c = catalog();
    // The framer and the decoder the frame's method names.
    let Ok(Some((method, len))) = request_frame_len(data) else {
        return;
    };
    let f = &data[..len];
    match method {
        Method::AuthorizeConnection => ignore!(AuthRequest::decode(f)),
        Method::Endpoints => ignore!(decode_endpoints_request(f)),
        Method::DefineKeySchema => ignore!(decode_define_key_schema_request(f)),
        Method::DefineAttributeListId => ignore!(decode_define_attribute_list_id_request(f)),
        Method::DefineAttributeList => ignore!(decode_define_attribute_list_request(f)),
        Method::GetItem => ignore!(decode_get_item_request(f, c)),
        Method::PutItem => ignore!(decode_put_item_request(f, c)),
        Method::DeleteItem => ignore!(decode_delete_item_request(f, c)),
        Method::UpdateItem => ignore!(decode_update_item_request(f, c)),
        Method::Query => ignore!(decode_query_request(f, c)),
        Method::Scan => ignore!(decode_scan_request(f, c)),
        Method::BatchGetItem => ignore!(decode_batch_get_item_request(f, c)),
        Method::BatchWriteItem => ignore!(decode_batch_write_item_request(f, c)),
        Method::TransactGetItems => ignore!(decode_transact_get_items_request(f, c)),
        Method::TransactWriteItems => ignore!(decode_transact_write_items_request(f, c)),
        _ => {}
    }
}

/// Each request decoder directly on the raw input too (no framer in front).
fn request_decoders(data: &[u8]) {
    let c = catalog();
    ignore!(AuthRequest::decode(data));
    ignore!(decode_endpoints_request(data));
    ignore!(decode_define_key_schema_request(data));
    ignore!(decode_define_attribute_list_id_request(data));
    ignore!(decode_define_attribute_list_request(data));
    ignore!(decode_get_item_request(data, c));
    ignore!(decode_put_item_request(data, c));
    ignore!(decode_delete_item_request(data, c));
    ignore!(decode_update_item_request(data, c));
    ignore!(decode_query_request(data, c));
    ignore!(decode_scan_request(data, c));
    ignore!(decode_batch_get_item_request(data, c));
    ignore!(decode_batch_write_item_request(data, c));
    ignore!(decode_transact_get_items_request(data, c));
    ignore!(decode_transact_write_items_request(data, c));
}

fn response(data: &[u8]) {
    let c = catalog();
    let p = projection();
    let k = key();
    for m in Method::ALL {
        let _ = response_frame_len(m, data);
    }
    ignore!(decode_endpoints_response(data));
    ignore!(decode_define_key_schema_response(data));
    ignore!(decode_define_attribute_list_id_response(data));
    ignore!(decode_define_attribute_list_response(data));
    let get = GetItemInput::builder()
        .table_name(TABLE)
        .set_key(Some(k.clone()))
        .build()
        .unwrap();
    ignore!(decode_get_item_response(data, &get, None, c));
    ignore!(decode_get_item_response(data, &get, Some(&p), c));
    for rv in [ReturnValue::AllOld, ReturnValue::UpdatedNew] {
        let put = PutItemInput::builder()
            .table_name(TABLE)
            .set_item(Some(k.clone()))
            .return_values(rv.clone())
            .build()
            .unwrap();
        ignore!(decode_put_item_response(data, &put, c));
        let del = DeleteItemInput::builder()
            .table_name(TABLE)
            .set_key(Some(k.clone()))
            .return_values(rv.clone())
            .build()
            .unwrap();
        ignore!(decode_delete_item_response(data, &del, c));
        let upd = UpdateItemInput::builder()
            .table_name(TABLE)
            .set_key(Some(k.clone()))
            .return_values(rv)
            .build()
            .unwrap();
        ignore!(decode_update_item_response(data, &upd, c));
    }
    for index in [None, Some("gsi1")] {
        let q = QueryInput::builder()
            .table_name(TABLE)
            .set_index_name(index.map(Into::into))
            .build()
            .unwrap();
        ignore!(decode_query_response(data, &q, None, c));
        ignore!(decode_query_response(data, &q, Some(&p), c));
        let s = ScanInput::builder()
            .table_name(TABLE)
            .set_index_name(index.map(Into::into))
            .build()
            .unwrap();
        ignore!(decode_scan_response(data, &s, Some(&p), c));
    }
    let ka = KeysAndAttributes::builder()
        .keys(k.clone())
        .build()
        .unwrap();
    let bg = BatchGetItemInput::builder()
        .request_items(TABLE, ka)
        .build()
        .unwrap();
    ignore!(decode_batch_get_item_response(
        data,
        &bg,
        &HashMap::new(),
        c
    ));
    ignore!(decode_batch_get_item_response(
        data,
        &bg,
        &HashMap::from([(TABLE.to_owned(), p.clone())]),
        c
    ));
    let bw = BatchWriteItemInput::builder().build().unwrap();
    ignore!(decode_batch_write_item_response(data, &bw, c));
    let get = Get::builder()
        .table_name(TABLE)
        .set_key(Some(k.clone()))
        .build()
        .unwrap();
    let tg = TransactGetItemsInput::builder()
        .transact_items(TransactGetItem::builder().get(get).build())
        .build()
        .unwrap();
    ignore!(decode_transact_get_items_response(data, &tg, &[None], c));
    ignore!(decode_transact_get_items_response(data, &tg, &[Some(p)], c));
    let tw = TransactWriteItemsInput::builder().build().unwrap();
    if let Ok(Err(e)) = decode_transact_write_items_response(data, &tw, c) {
        ignore!(e.sdk_cancellation_reasons(&[k], c));
        let _ = (e.exception_name(), e.is_retryable(), e.to_string());
    }
}

fn preamble(data: &[u8]) {
    ignore!(decode_preamble(data));
}

fn values(data: &[u8]) {
    let c = catalog();
    ignore!(decode_attribute_value(data));
    ignore!(decode_compound_key(data));
    ignore!(lex::decode(data));
    ignore!(ProjectionPaths::from_compiled(data));
    for table in [
        "t_hS", "t_hN", "t_hB", "t_hS_rN", "t_hN_rN", "t_hB_rS", "t_hN_rB",
    ] {
        ignore!(c.key_schema(table).unwrap().decode_key(data));
    }
}

/// A fuzz target: any input, must return.
pub type Target = fn(&[u8]);

/// Every target by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("request", request),
    ("request_decoders", request_decoders),
    ("response", response),
    ("preamble", preamble),
    ("values", values),
];

/// Runs one target.
pub fn run(target: &str, data: &[u8]) {
    let f = TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .expect("known target")
        .1;
    f(data);
}
