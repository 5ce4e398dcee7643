//! DAX codec micro-benchmarks, each beside the same work done in DynamoDB's JSON shape.
//!
//! The anchor: the SDK's own JSON (de)serialisers (`aws_sdk_dynamodb::protocol_serde`) are
//! private, so the stand-in is serde_json over the same AttributeValue maps in DynamoDB's JSON
//! shape (`{"S": …}`, numbers as strings, binary as base64), including the conversion between
//! `AttributeValue` and the JSON tree, which the SDK also does. Also: minicbor (what the codec
//! uses) against ciborium on CBOR ⇄ AttributeValue for the same 4 KB item.
//!
//! `cargo bench --bench dax_codec`; results in BENCHMARKS.md ("DAX codec").

use std::collections::HashMap;
use std::hint::black_box;

use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
use aws_smithy_types::Blob;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use xacct_dax_protocol::codec::*;

#[path = "support/items.rs"]
mod items;
use items::{n, s, small_item, Item};

/// About 4 KB of attributes (CBOR), a realistic mix.
fn item_4k() -> Item {
    let mut item = small_item("user#0001", "1700000000");
    for i in 0..24 {
        item.insert(
            format!("attr_{i:02}"),
            s(&"lorem ipsum dolor sit amet ".repeat(4)),
        );
        item.insert(format!("count_{i:02}"), n(&format!("{}", 1_000_003 * i)));
    }
    item.insert("blob".into(), AttributeValue::B(Blob::new(vec![0xab; 256])));
    item.insert(
        "history".into(),
        AttributeValue::L(
            (0..20)
                .map(|i| {
                    AttributeValue::M(HashMap::from([
                        ("at".into(), n(&format!("17000000{i:02}.125"))),
                        ("what".into(), s("login")),
                    ]))
                })
                .collect(),
        ),
    );
    item
}

// ---- DynamoDB JSON stand-in ----

fn av_to_json(av: &AttributeValue) -> Value {
    match av {
        AttributeValue::S(v) => json!({ "S": v }),
        AttributeValue::N(v) => json!({ "N": v }),
        AttributeValue::B(b) => json!({ "B": aws_smithy_types::base64::encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| aws_smithy_types::base64::encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(l) => json!({ "L": l.iter().map(av_to_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_to_json(m) }),
        _ => Value::Null,
    }
}

fn item_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), av_to_json(v)))
            .collect(),
    )
}

fn json_to_av(v: &Value) -> AttributeValue {
    let (t, x) = v.as_object().unwrap().iter().next().unwrap();
    let strs = |x: &Value| {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    match t.as_str() {
        "S" => AttributeValue::S(x.as_str().unwrap().to_owned()),
        "N" => AttributeValue::N(x.as_str().unwrap().to_owned()),
        "B" => AttributeValue::B(Blob::new(
            aws_smithy_types::base64::decode(x.as_str().unwrap()).unwrap(),
        )),
        "BOOL" => AttributeValue::Bool(x.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strs(x)),
        "NS" => AttributeValue::Ns(strs(x)),
        "L" => AttributeValue::L(x.as_array().unwrap().iter().map(json_to_av).collect()),
        "M" => AttributeValue::M(json_to_item(x)),
        _ => AttributeValue::Null(true),
    }
}

fn json_to_item(v: &Value) -> Item {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json_to_av(v)))
        .collect()
}

// ---- ciborium, for the CBOR library comparison ----

fn av_to_cib(av: &AttributeValue) -> ciborium::Value {
    use ciborium::Value as V;
    match av {
        AttributeValue::S(v) => V::Text(v.clone()),
        AttributeValue::N(v) => V::Text(v.clone()), // (numbers simplified: same bytes order of magnitude)
        AttributeValue::B(b) => V::Bytes(b.as_ref().to_vec()),
        AttributeValue::Bool(b) => V::Bool(*b),
        AttributeValue::Null(_) => V::Null,
        AttributeValue::Ss(v) => V::Tag(
            3321,
            Box::new(V::Array(v.iter().map(|s| V::Text(s.clone())).collect())),
        ),
        AttributeValue::Ns(v) => V::Tag(
            3322,
            Box::new(V::Array(v.iter().map(|s| V::Text(s.clone())).collect())),
        ),
        AttributeValue::L(l) => V::Array(l.iter().map(av_to_cib).collect()),
        AttributeValue::M(m) => V::Map(
            m.iter()
                .map(|(k, v)| (V::Text(k.clone()), av_to_cib(v)))
                .collect(),
        ),
        _ => V::Null,
    }
}

fn cib_to_av(v: &ciborium::Value) -> AttributeValue {
    use ciborium::Value as V;
    match v {
        V::Text(t) => AttributeValue::S(t.clone()),
        V::Bytes(b) => AttributeValue::B(Blob::new(b.clone())),
        V::Bool(b) => AttributeValue::Bool(*b),
        V::Null => AttributeValue::Null(true),
        V::Integer(i) => AttributeValue::N(i128::from(*i).to_string()),
        V::Float(f) => AttributeValue::N(f.to_string()),
        V::Tag(3321, a) | V::Tag(3322, a) => match a.as_ref() {
            V::Array(a) => AttributeValue::Ss(
                a.iter()
                    .filter_map(|x| x.as_text().map(str::to_owned))
                    .collect(),
            ),
            _ => AttributeValue::Null(true),
        },
        V::Tag(_, inner) => cib_to_av(inner),
        V::Array(a) => AttributeValue::L(a.iter().map(cib_to_av).collect()),
        V::Map(m) => AttributeValue::M(
            m.iter()
                .filter_map(|(k, v)| Some((k.as_text()?.to_owned(), cib_to_av(v))))
                .collect(),
        ),
        _ => AttributeValue::Null(true),
    }
}

fn setup() -> MemoryCatalog {
    let c = MemoryCatalog::assigning(100);
    c.insert_key_schema(
        "t",
        KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N)),
    );
    c
}

fn bench(c: &mut Criterion) {
    let catalog = setup();
    let small = small_item("k1", "3.14");
    let big = item_4k();
    let key: Item = [("pk".to_owned(), s("k1")), ("sk".to_owned(), n("3.14"))].into();
    let get = GetItemInput::builder()
        .table_name("t")
        .set_key(Some(key.clone()))
        .build()
        .unwrap();
    let exprs = CompiledExpressions::default();

    // ---- GetItem: request encode, response decode (small item) ----
    let mut g = c.benchmark_group("get_item");
    g.bench_function("dax/request_encode", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            encode_get_item_request(black_box(&get), &exprs, &catalog, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.bench_function("json/request_encode", |b| {
        b.iter(|| {
            let v =
                json!({ "TableName": get.table_name(), "Key": item_to_json(get.key().unwrap()) });
            black_box(serde_json::to_vec(&v).unwrap())
        })
    });
    let out_small = GetItemOutput::builder()
        .set_item(Some(small.clone()))
        .build();
    let mut resp_small = Vec::new();
    encode_get_item_response(&out_small, &get, None, &catalog, &mut resp_small).unwrap();
    let json_small = serde_json::to_vec(&json!({ "Item": item_to_json(&small) })).unwrap();
    g.bench_function("dax/response_decode", |b| {
        b.iter(|| {
            black_box(
                decode_get_item_response(black_box(&resp_small), &get, None, &catalog).unwrap(),
            )
        })
    });
    g.bench_function("json/response_decode", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&json_small)).unwrap();
            black_box(json_to_item(&v["Item"]))
        })
    });
    g.finish();

    // ---- a 4 KB item: PutItem request encode, GetItem response decode ----
    let put = PutItemInput::builder()
        .table_name("t")
        .set_item(Some(big.clone()))
        .build()
        .unwrap();
    let mut put_frame = Vec::new();
    encode_put_item_request(&put, &exprs, &catalog, &mut put_frame).unwrap();
    let mut g = c.benchmark_group("item_4k");
    g.throughput(Throughput::Bytes(put_frame.len() as u64));
    g.bench_function("dax/put_request_encode", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            encode_put_item_request(black_box(&put), &exprs, &catalog, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.bench_function("json/put_request_encode", |b| {
        b.iter(|| {
            let v = json!({ "TableName": "t", "Item": item_to_json(put.item().unwrap()) });
            black_box(serde_json::to_vec(&v).unwrap())
        })
    });
    let mut resp_big = Vec::new();
    encode_get_item_response(
        &GetItemOutput::builder().set_item(Some(big.clone())).build(),
        &get,
        None,
        &catalog,
        &mut resp_big,
    )
    .unwrap();
    let json_big = serde_json::to_vec(&json!({ "Item": item_to_json(&big) })).unwrap();
    g.bench_function("dax/get_response_decode", |b| {
        b.iter(|| {
            black_box(decode_get_item_response(black_box(&resp_big), &get, None, &catalog).unwrap())
        })
    });
    g.bench_function("json/get_response_decode", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&json_big)).unwrap();
            black_box(json_to_item(&v["Item"]))
        })
    });
    g.finish();
    eprintln!(
        "sizes: GetItem request {} B; small item reply {} B (JSON {} B); 4 KB item PutItem {} B, reply {} B (JSON {} B)",
        {
            let mut o = Vec::new();
            encode_get_item_request(&get, &exprs, &catalog, &mut o).unwrap();
            o.len()
        },
        resp_small.len(),
        json_small.len(),
        put_frame.len(),
        resp_big.len(),
        json_big.len()
    );

    // ---- a 100-item Query page ----
    let items: Vec<Item> = (0..100)
        .map(|i| small_item(&format!("k{i}"), &format!("{i}.5")))
        .collect();
    let query = QueryInput::builder().table_name("t").build().unwrap();
    let page = QueryOutput::builder()
        .set_items(Some(items.clone()))
        .count(100)
        .scanned_count(100)
        .build();
    let mut page_frame = Vec::new();
    encode_query_response(&page, &query, None, &catalog, &mut page_frame).unwrap();
    let page_json = serde_json::to_vec(&json!({
        "Items": items.iter().map(item_to_json).collect::<Vec<_>>(), "Count": 100, "ScannedCount": 100
    }))
    .unwrap();
    eprintln!(
        "sizes: 100-item Query page {} B (JSON {} B)",
        page_frame.len(),
        page_json.len()
    );
    let mut g = c.benchmark_group("query_page_100");
    g.throughput(Throughput::Elements(100));
    g.bench_function("dax/response_decode", |b| {
        b.iter(|| {
            black_box(
                decode_query_response(black_box(&page_frame), &query, None, &catalog).unwrap(),
            )
        })
    });
    g.bench_function("json/response_decode", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&page_json)).unwrap();
            black_box(
                v["Items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(json_to_item)
                    .collect::<Vec<_>>(),
            )
        })
    });
    g.bench_function("dax/response_encode", |b| {
        let mut out = Vec::with_capacity(page_frame.len());
        b.iter(|| {
            out.clear();
            encode_query_response(black_box(&page), &query, None, &catalog, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.finish();

    // ---- CBOR library: minicbor (ours) vs ciborium, CBOR <-> AttributeValue, 4 KB map ----
    let big_av = AttributeValue::M(big.clone());
    let mut ours = Vec::new();
    encode_attribute_value(&big_av, &mut ours).unwrap();
    let mut cib = Vec::new();
    ciborium::into_writer(&av_to_cib(&big_av), &mut cib).unwrap();
    let mut g = c.benchmark_group("cbor_crate_4k");
    g.bench_function("minicbor/decode_to_attribute_value", |b| {
        b.iter(|| black_box(decode_attribute_value(black_box(&ours)).unwrap()))
    });
    g.bench_function("ciborium/decode_to_attribute_value", |b| {
        b.iter(|| {
            let v: ciborium::Value = ciborium::from_reader(black_box(&cib[..])).unwrap();
            black_box(cib_to_av(&v))
        })
    });
    g.bench_function("minicbor/encode_from_attribute_value", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            encode_attribute_value(black_box(&big_av), &mut out).unwrap();
            black_box(&out);
        })
    });
    g.bench_function("ciborium/encode_from_attribute_value", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            ciborium::into_writer(&av_to_cib(black_box(&big_av)), &mut out).unwrap();
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
