//! Shared helpers for the DAX codec tests: the fixture manifest, DynamoDB JSON ⇄ SDK values,
//! the per-client catalog rebuilt from the recorded control exchanges, and a CBOR normaliser
//! that implements the comparison rules of `scripts/dax/README.md` (N1–N14).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::Blob;
use serde_json::{json, Value};
use xacct_dax_protocol::codec::*;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn manifest() -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join("manifest.json"))
        .expect("tests/fixtures/manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

pub fn fixtures(m: &Value) -> &Vec<Value> {
    m["fixtures"].as_array().expect("fixtures[]")
}

pub fn read_fixture(f: &Value) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(f["file"].as_str().unwrap())).unwrap()
}

// ---------- DynamoDB JSON ⇄ AttributeValue ----------

fn b64(v: &Value) -> Vec<u8> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o["$base64"].as_str().unwrap(),
        other => panic!("not base64: {other}"),
    };
    aws_smithy_types::base64::decode(s).unwrap()
}

pub fn av_from_json(v: &Value) -> AttributeValue {
    let (t, x) = v.as_object().unwrap().iter().next().unwrap();
    match t.as_str() {
        "S" => AttributeValue::S(x.as_str().unwrap().to_owned()),
        "N" => AttributeValue::N(x.as_str().unwrap().to_owned()),
        "B" => AttributeValue::B(Blob::new(b64(x))),
        "BOOL" => AttributeValue::Bool(x.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(
            x.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect(),
        ),
        "NS" => AttributeValue::Ns(
            x.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect(),
        ),
        "BS" => AttributeValue::Bs(
            x.as_array()
                .unwrap()
                .iter()
                .map(|s| Blob::new(b64(s)))
                .collect(),
        ),
        "L" => AttributeValue::L(x.as_array().unwrap().iter().map(av_from_json).collect()),
        "M" => AttributeValue::M(item_from_json(x)),
        other => panic!("unknown AttributeValue type {other}"),
    }
}

pub fn item_from_json(v: &Value) -> Item {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), av_from_json(v)))
        .collect()
}

thread_local! {
    /// Compare N strings as spelled, not by value (see [`exact_numbers`]).
    static EXACT_NUMBERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with [`canonical_number`] keeping N strings as spelled: for comparing our decoded
/// numbers with the official Python client's spelling (`str(Decimal)`).
pub fn exact_numbers<T>(f: impl FnOnce() -> T) -> T {
    EXACT_NUMBERS.with(|e| e.set(true));
    let r = f();
    EXACT_NUMBERS.with(|e| e.set(false));
    r
}

/// A canonical form of an N string: sign, significant digits without trailing zeros, exponent
/// (or the string as it is, inside [`exact_numbers`]).
pub fn canonical_number(n: &str) -> String {
    if EXACT_NUMBERS.with(|e| e.get()) {
        return n.to_owned();
    }
    let s = n.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i64>().unwrap()),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits = format!("{int}{frac}");
    let mut exp = exp - frac.len() as i64;
    let lead = digits.bytes().take_while(|&c| c == b'0').count();
    digits.drain(..lead);
    while digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    if digits.is_empty() {
        return "0".into();
    }
    format!("{}{digits}e{exp}", if neg { "-" } else { "" })
}

pub fn av_to_json(av: &AttributeValue) -> Value {
    match av {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": canonical_number(n)}),
        AttributeValue::B(b) => {
            json!({"B": {"$base64": aws_smithy_types::base64::encode(b.as_ref())}})
        }
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => {
            json!({"NS": v.iter().map(|n| canonical_number(n)).collect::<Vec<_>>()})
        }
        AttributeValue::Bs(v) => {
            json!({"BS": v.iter().map(|b| json!({"$base64": aws_smithy_types::base64::encode(b.as_ref())})).collect::<Vec<_>>()})
        }
        AttributeValue::L(l) => json!({"L": l.iter().map(av_to_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": item_to_json(m)}),
        _ => panic!("unknown variant"),
    }
}

pub fn item_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), av_to_json(v)))
            .collect(),
    )
}

/// Re-shapes a client_result / our JSON so both compare equal when they mean the same:
/// N strings canonical, binary as {"$base64"}, floats as f64.
pub fn normalise_json(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("N") && o["N"].is_string() => {
            json!({"N": canonical_number(o["N"].as_str().unwrap())})
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("NS") => json!({"NS": o["NS"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| canonical_number(n.as_str().unwrap()))
            .collect::<Vec<_>>()}),
        Value::Object(o) if o.len() == 1 && o.contains_key("B") && o["B"].is_string() => {
            json!({"B": {"$base64": o["B"]}})
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), normalise_json(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalise_json).collect()),
        Value::Number(n) => json!(n.as_f64().unwrap()),
        other => other.clone(),
    }
}

// ---------- catalog from the recorded control exchanges ----------

/// The catalog a client had: key schemas (defineKeySchema replies) and attribute lists
/// (defineAttributeListId / defineAttributeList exchanges), decoded with our own decoders.
pub fn catalog_for(m: &Value, client: &str) -> MemoryCatalog {
    let cat = MemoryCatalog::default();
    let mut by_file: HashMap<String, &Value> = HashMap::new();
    for f in fixtures(m) {
        by_file.insert(f["file"].as_str().unwrap().to_owned(), f);
    }
    for f in fixtures(m) {
        if f["client"] != client || f["direction"] != "response" {
            continue;
        }
        let bytes = read_fixture(f);
        let params = &f["call"]["params"];
        match f["dax_method"].as_str().unwrap() {
            "defineKeySchema" => {
                if let Ok(Ok(schema)) = decode_define_key_schema_response(&bytes) {
                    cat.insert_key_schema(params["table"].as_str().unwrap(), schema);
                }
            }
            "defineAttributeListId" => {
                let id = decode_define_attribute_list_id_response(&bytes)
                    .unwrap()
                    .unwrap();
                let names = params["attribute_names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect();
                cat.insert_attribute_list(id, names);
            }
            "defineAttributeList" => {
                let names = decode_define_attribute_list_response(&bytes)
                    .unwrap()
                    .unwrap();
                cat.insert_attribute_list(params["attribute_list_id"].as_i64().unwrap(), names);
            }
            _ => {}
        }
    }
    cat
}

// ---------- CBOR normaliser ----------

/// A canonical text form of CBOR data: maps sorted, definite = indefinite, numbers as
/// canonical decimals (ints, bignums, tag-4 decimals and floats alike: N6, N7), byte strings
/// parsed as far as they hold CBOR (KEY/VALUES/compound keys/expressions), the rest raw.
pub fn norm_value(v: &ciborium::Value) -> String {
    use ciborium::Value as V;
    match v {
        V::Integer(i) => format!("n:{}", canonical_number(&i128::from(*i).to_string())),
        V::Float(f) => format!("n:{}", canonical_number(&format!("{f:e}"))),
        V::Tag(2, b) | V::Tag(3, b) => {
            let V::Bytes(bytes) = b.as_ref() else {
                return format!("tag?{v:?}");
            };
            let mut mag: u128 = 0;
            for x in bytes {
                mag = mag
                    .checked_mul(256)
                    .and_then(|m| m.checked_add(u128::from(*x)))
                    .unwrap_or(u128::MAX);
            }
            let neg = matches!(v, V::Tag(3, _));
            let s = if neg {
                format!("-{}", mag + 1)
            } else {
                mag.to_string()
            };
            format!("n:{}", canonical_number(&s))
        }
        V::Tag(4, inner) => {
            let V::Array(a) = inner.as_ref() else {
                return format!("tag4?{v:?}");
            };
            let exp = match &a[0] {
                V::Integer(i) => i128::from(*i),
                _ => 0,
            };
            let m = norm_value(&a[1]);
            let m = m.trim_start_matches("n:");
            // canonical(m) is "<digits>e<e>"; shift its exponent by the decimal's.
            if m == "0" {
                return "n:0".into();
            }
            let (d, e) = m.split_once('e').unwrap();
            let e: i128 = e.parse().unwrap();
            format!("n:{d}e{}", e + exp)
        }
        V::Tag(t, inner) => format!("tag{t}({})", norm_value(inner)),
        V::Bytes(b) => norm_bytes(b),
        V::Text(s) => format!("{s:?}"),
        V::Bool(b) => b.to_string(),
        V::Null => "null".into(),
        V::Array(a) => format!(
            "[{}]",
            a.iter().map(norm_value).collect::<Vec<_>>().join(",")
        ),
        V::Map(m) => {
            let mut entries: BTreeMap<String, String> = BTreeMap::new();
            for (k, v) in m {
                entries.insert(norm_value(k), norm_value(v));
            }
            format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => format!("{other:?}"),
    }
}

/// Parses as many leading CBOR items as the bytes hold; the rest stays raw.
pub fn norm_bytes(b: &[u8]) -> String {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let mut cur = std::io::Cursor::new(&b[pos..]);
        match ciborium::from_reader::<ciborium::Value, _>(&mut cur) {
            Ok(v) => {
                items.push(norm_value(&v));
                pos += cur.position() as usize;
            }
            Err(_) => break,
        }
    }
    format!("b<{}|{}>", items.join(","), hex(&b[pos..]))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Splits a frame into its top-level items.
pub fn split_items(frame: &[u8]) -> Vec<ciborium::Value> {
    let mut out = Vec::new();
    let mut cur = std::io::Cursor::new(frame);
    while (cur.position() as usize) < frame.len() {
        out.push(ciborium::from_reader(&mut cur).expect("valid CBOR sequence"));
    }
    out
}

/// Normalises a data-method request frame: the last item is the kwargs map (N1–N5, N11, N13).
pub fn norm_request(frame: &[u8], had_token: bool) -> Vec<String> {
    use ciborium::Value as V;
    let mut items = split_items(frame);
    let kwargs = items.pop().unwrap();
    let mut out: Vec<String> = items.iter().map(norm_value).collect();
    let mut kw: BTreeMap<i128, String> = BTreeMap::new();
    if let V::Map(m) = kwargs {
        for (k, v) in m {
            let V::Integer(k) = k else {
                panic!("kwargs key")
            };
            kw.insert(i128::from(k), norm_value(&v)); // last one wins (N3)
        }
    }
    kw.remove(&1); // N2
    kw.remove(&5); // N2
    for (k, default) in [(3, "n:0"), (6, "n:0"), (7, "n:1e0")] {
        if kw.get(&k).map(String::as_str) == Some(default) {
            kw.remove(&k); // N4
        }
    }
    if !had_token {
        kw.remove(&19); // N11
    }
    out.push(format!("{kw:?}"));
    out
}

/// Normalises any frame item by item.
pub fn norm_frame(frame: &[u8]) -> Vec<String> {
    split_items(frame).iter().map(norm_value).collect()
}
