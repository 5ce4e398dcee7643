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
use xacct_dax_protocol::codec::*;
use xacct_dax_protocol::expr::{self, ExpressionKind, Expressions};

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

// ------------------------------------------------------------------ the server's request path

/// The compiled expressions a decoded request carries, whatever their shape per operation.
trait EachCompiled {
    fn each(&self, f: &mut dyn FnMut(&CompiledExpressions));
}

impl EachCompiled for CompiledExpressions {
    fn each(&self, f: &mut dyn FnMut(&CompiledExpressions)) {
        f(self)
    }
}

impl EachCompiled for HashMap<String, CompiledExpressions> {
    fn each(&self, f: &mut dyn FnMut(&CompiledExpressions)) {
        let mut tables: Vec<_> = self.iter().collect();
        tables.sort_by(|a, b| a.0.cmp(b.0));
        tables.into_iter().for_each(|(_, e)| f(e))
    }
}

impl EachCompiled for Vec<CompiledExpressions> {
    fn each(&self, f: &mut dyn FnMut(&CompiledExpressions)) {
        self.iter().for_each(f)
    }
}

impl EachCompiled for () {
    fn each(&self, _: &mut dyn FnMut(&CompiledExpressions)) {}
}

/// What a DAX server does with a decoded request's expressions: the projection's paths, and
/// every expression decompiled to text (as the local server forwards them, and the other form).
/// Returns a short description of the outcome (for the stable fuzzer's novelty check).
fn serve_expressions(e: &CompiledExpressions) -> String {
    let mut outcome = String::new();
    if let Some(p) = &e.projection {
        outcome += ok_or_kind(&ProjectionPaths::from_compiled(p).map(drop));
    }
    match expr::decompile_bare(e) {
        Ok(text) => {
            outcome += "decompiled";
            // The text is what gets forwarded: it must parse again (it may still break one of
            // DynamoDB's rules, e.g. a tree no client would send).
            if let Err(err) = expr::compile(&text) {
                outcome += "/";
                outcome += err.rule();
            }
        }
        Err(err) => outcome += err.rule(),
    }
    ignore!(expr::decompile(e));
    outcome
}

fn ok_or_kind<T>(r: &Result<T, CodecError>) -> &'static str {
    if r.is_ok() {
        "ok "
    } else {
        "err "
    }
}

/// One data operation as a server handles it: decode, then the expressions.
fn serve<O: Operation>(frame: &[u8], c: &MemoryCatalog) -> String
where
    O::Expressions: EachCompiled,
{
    match O::decode_request(frame, c) {
        Ok((_, exprs)) => {
            let mut outcome = format!("{}:", O::NAME);
            ignore!(O::projection(&exprs));
            exprs.each(&mut |e| {
                outcome += &serve_expressions(e);
                outcome.push(';');
            });
            outcome
        }
        Err(e) => format!("{}:{}", O::NAME, error_shape(&e.to_string())),
    }
}

/// An error message as a novelty class: numbers blanked, quoted parts (names, values taken
/// from the input) dropped, the first 40 characters.
fn error_shape(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in msg.chars() {
        match (quoted, c) {
            (None, '"' | '`') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (Some(_), _) => {}
            (None, c) if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#')
                }
            }
            (None, c) => out.push(c),
        }
        if out.len() >= 40 {
            break;
        }
    }
    out
}

/// The server's request path: the framer, then the decoder for the frame's method, then the
/// expressions (decompiled as the local server does).
fn server_request_outcome(data: &[u8]) -> String {
    let c = catalog();
    let len = match request_frame_len(data) {
        Ok(Some((_, len))) => len,
        Ok(None) => return "incomplete".into(),
        Err(e) => return error_shape(&e.to_string()),
    };
    let Ok(Some((method, _))) = request_frame_len(data) else {
        unreachable!("framed above")
    };
    let f = &data[..len];
    macro_rules! dispatch {
        ($($op:ident),*) => {
            match method {
                $(m if m == <op::$op as Operation>::METHOD => serve::<op::$op>(f, c),)*
                Method::AuthorizeConnection => ok_or_kind(&AuthRequest::decode(f)).into(),
                other => format!("{other:?}"),
            }
        };
    }
    xacct_dax_protocol::for_each_operation!(dispatch)
}

fn server_request(data: &[u8]) {
    let _ = server_request_outcome(data);
}

/// Every data operation's server decoder on the raw input (no framer), then the expressions.
fn server_decoders_outcome(data: &[u8]) -> String {
    let c = catalog();
    macro_rules! all {
        ($($op:ident),*) => {
            [$(serve::<op::$op>(data, c)),*].join(" ")
        };
    }
    xacct_dax_protocol::for_each_operation!(all)
}

fn server_decoders(data: &[u8]) {
    let _ = server_decoders_outcome(data);
}

// ------------------------------------------------------------------ expressions

/// The expression kind a fuzz input's first byte picks.
fn kind_of(b: u8) -> ExpressionKind {
    ExpressionKind::ALL[usize::from(b) % ExpressionKind::ALL.len()]
}

/// `compile` of arbitrary text: the first byte picks the expression kind, the rest is the text
/// (lossy UTF-8). Every `#name` / `:value` in the text is defined (so the compiler gets past
/// the placeholder checks); what compiles must decompile and compile back to the same bytes.
fn expr_compile_outcome(data: &[u8]) -> String {
    let Some((&first, rest)) = data.split_first() else {
        return "empty".into();
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let kind = kind_of(first);
    let mut exprs = Expressions::new();
    for (i, placeholder) in placeholders(&text).into_iter().enumerate() {
        exprs = if placeholder.starts_with('#') {
            let name = ["a", "status", "b.c", "x y", "1"][i % 5];
            exprs.name(placeholder, name)
        } else {
            let value = match i % 6 {
                0 => AttributeValue::N("1.5".into()),
                1 => AttributeValue::S("s".into()),
                2 => AttributeValue::L(vec![AttributeValue::N("-12E3".into())]),
                3 => AttributeValue::Ns(vec!["1".into(), "0.0000001".into()]),
                4 => AttributeValue::M(HashMap::from([("k".into(), AttributeValue::Null(true))])),
                _ => AttributeValue::Ss(vec!["a".into()]),
            };
            exprs.value(placeholder, value)
        };
    }
    match kind {
        ExpressionKind::Condition => exprs.condition = Some(text),
        ExpressionKind::KeyCondition => exprs.key_condition = Some(text),
        ExpressionKind::Filter => exprs.filter = Some(text),
        ExpressionKind::Update => exprs.update = Some(text),
        _ => exprs.projection = Some(text),
    }
    match expr::compile(&exprs) {
        Ok(compiled) => {
            for bare in [false, true] {
                let text = if bare {
                    expr::decompile_bare(&compiled)
                } else {
                    expr::decompile(&compiled)
                };
                let text = text.unwrap_or_else(|e| panic!("compiled, so decompiles: {e}"));
                match expr::compile(&text) {
                    Ok(again) => assert_eq!(again, compiled, "round trip of {text:?}"),
                    // Placeholders can make the text longer than 4 KB.
                    Err(e) if e.rule() == "expression-length" => {}
                    Err(e) => panic!("decompiled text {text:?} does not compile: {e}"),
                }
            }
            format!("{kind:?} ok")
        }
        Err(e) => format!("{kind:?} {}", e.rule()),
    }
}

/// The distinct `#name` / `:value` placeholders of `text`, in order.
fn placeholders(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'#' || b[i] == b':' {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let p = &text[start..i];
            if i > start + 1 && !out.iter().any(|o| o == p) {
                out.push(p.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

fn expr_compile(data: &[u8]) {
    let _ = expr_compile_outcome(data);
}

/// `decompile` of arbitrary bytes as one compiled expression (the first byte picks the kind),
/// and of the same bytes as every kind; what decompiles must parse again.
fn expr_decompile_outcome(data: &[u8]) -> String {
    let Some((&first, rest)) = data.split_first() else {
        return "empty".into();
    };
    let kind = kind_of(first);
    let one = CompiledExpressions::new().with(kind, rest.to_vec());
    let mut outcome = format!("{kind:?} {}", serve_expressions(&one));
    let all = ExpressionKind::ALL
        .into_iter()
        .fold(CompiledExpressions::new(), |e, k| e.with(k, rest.to_vec()));
    outcome += match expr::decompile_bare(&all) {
        Ok(_) => " all-ok",
        Err(_) => " all-err",
    };
    outcome
}

fn expr_decompile(data: &[u8]) {
    let _ = expr_decompile_outcome(data);
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
    ("server_request", server_request),
    ("server_decoders", server_decoders),
    ("expr_compile", expr_compile),
    ("expr_decompile", expr_decompile),
];

/// A target's outcome class (for the stable fuzzer: an input with an outcome not seen before
/// is new behaviour, kept for further mutation). Only the targets that have one.
pub type Outcome = fn(&[u8]) -> String;

/// The outcome functions by target name.
pub const OUTCOMES: &[(&str, Outcome)] = &[
    ("server_request", server_request_outcome),
    ("server_decoders", server_decoders_outcome),
    ("expr_compile", expr_compile_outcome),
    ("expr_decompile", expr_decompile_outcome),
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
