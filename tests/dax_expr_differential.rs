//! Differential test of `dax::expr::compile` against the official Python DAX client's compiler
//! (amazon-dax-client 2.1.0 through `scripts/dax/oracle.py`), over generated requests.
//!
//! Outcome classes, each with a minimum count:
//! * (a) both compile: the tree bytes of every expression are identical;
//! * (b) the client rejects: we reject with the same rule (and, for syntax errors, the same
//!   token and position; for unused/undefined placeholders, the same keys);
//! * (c) the client compiles, DynamoDB would reject: we reject naming the rule the case was
//!   generated to break.
//!
//! Needs the oracle's venv: `bash scripts/dax/setup.sh` (installs into `$XACCT_TOOLS_HOME`,
//! default `<repo>/.tools`). Run with `--nocapture` to see the per-class and per-rule counts.

#[path = "../crates/dax-protocol/tests/expr_gen/mod.rs"]
mod dax_expr_gen;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;
use cross_account_dynamodb::dax::expr::{compile, ExprError, ExpressionKind, Expressions};
use dax_expr_gen::{Gen, Intent};
use serde_json::{json, Value};

const SEED: u64 = 0x7e57_da8e;
const CASES: usize = 12_000;
const MIN_TOTAL: usize = 10_000;
const MIN_PER_CLASS: usize = 500;

fn oracle_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tools =
        std::env::var_os("XACCT_TOOLS_HOME").map_or_else(|| root.join(".tools"), PathBuf::from);
    let python = tools.join("dax/venv/bin/python");
    assert!(
        python.exists(),
        "the DAX oracle (official Python client) is not installed: {} is missing.\n\
         Install it with `bash scripts/dax/setup.sh` (or point XACCT_TOOLS_HOME at a tools \
         directory that has dax/venv).",
        python.display()
    );
    python
}

fn av_json(av: &AttributeValue) -> Value {
    use aws_smithy_types::base64::encode;
    match av {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(v) => json!({ "L": v.iter().map(av_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            let sorted: BTreeMap<_, _> = m.iter().map(|(k, v)| (k.clone(), av_json(v))).collect();
            json!({ "M": sorted })
        }
        other => panic!("unsupported {other:?}"),
    }
}

fn request(id: usize, e: &Expressions) -> String {
    // Sorted maps: the client reports the first invalid key in map order, we report the least.
    let names: BTreeMap<_, _> = e.expression_attribute_names.iter().collect();
    let values: BTreeMap<_, _> = e
        .expression_attribute_values
        .iter()
        .map(|(k, v)| (k.clone(), av_json(v)))
        .collect();
    json!({
        "op": "expr", "id": id,
        "condition": e.condition, "key_condition": e.key_condition, "filter": e.filter,
        "update": e.update, "projection": e.projection,
        "names": names, "values": values,
    })
    .to_string()
}

/// Runs the oracle once over all requests.
fn run_oracle(lines: Vec<String>) -> Vec<Value> {
    let mut child = Command::new(oracle_python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/dax/oracle.py"))
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the oracle");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for line in lines {
            writeln!(stdin, "{line}").expect("write to the oracle");
        }
    });
    let out: Vec<Value> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read the oracle")).expect("oracle JSON"))
        .collect();
    writer.join().expect("writer");
    assert!(
        child.wait().expect("oracle exit").success(),
        "the oracle failed"
    );
    out
}

/// The rule (our naming) of an error message from the official client.
fn client_rule(msg: &str, error_type: &str) -> &'static str {
    let has = |s: &str| msg.contains(s);
    if has("Syntax error") {
        "syntax"
    } else if has("RedundantParenthesesException") {
        "redundant-parentheses"
    } else if has("Substitution value not provided") {
        "undefined-name"
    } else if has("An expression attribute value used in expression is not defined") {
        "undefined-value"
    } else if has("ExpressionAttributeNames unused") {
        "unused-name"
    } else if has("ExpressionAttributeValues unused") {
        "unused-value"
    } else if has("contains invalid key") {
        "placeholder-key"
    } else if has("is not allowed in a") {
        "function-not-allowed"
    } else if has("is not allowed to be used this way") {
        "function-misused"
    } else if has("function can be nested") {
        "nested-function"
    } else if has("Invalid function name") {
        "unknown-function"
    } else if has("Supplied AttributeValue is empty")
        || error_type == "ValueError"
        || msg.contains("decimal.")
    {
        "invalid-value"
    } else {
        "unclassified"
    }
}

/// What both sides must agree on beyond the rule: the client's message minus its SDK prefix,
/// reduced to the details we reproduce.
fn details(err: &ExprError) -> Option<String> {
    match err {
        ExprError::Syntax { .. } => Some(err.to_string()),
        ExprError::UndefinedName { name, .. } | ExprError::UndefinedValue { name, .. } => {
            Some(name.clone())
        }
        ExprError::Unused { keys, .. } => Some(keys.join(", ")),
        ExprError::FunctionNotAllowed { function, .. }
        | ExprError::FunctionMisused { function, .. }
        | ExprError::NestedFunction { function, .. }
        | ExprError::UnknownFunction { function, .. } => Some(function.clone()),
        _ => None,
    }
}

fn client_details(rule: &str, msg: &str) -> Option<String> {
    let after = |marker: &str| msg.rsplit(marker).next().unwrap_or("").trim().to_owned();
    match rule {
        "syntax" => Some(after("operation: ")),
        "undefined-name" => Some(after("provided for ")),
        "undefined-value" => Some(after("is not defined: ")),
        "unused-name" | "unused-value" => {
            let inner = after("keys: {");
            let mut keys: Vec<&str> = inner.trim_end_matches('}').split(", ").collect();
            keys.sort_unstable();
            Some(keys.join(", "))
        }
        "function-not-allowed" | "function-misused" => {
            Some(msg.split('\'').nth(1).unwrap_or("").to_owned())
        }
        "nested-function" => Some(after("(got ").trim_end_matches(')').to_owned()),
        "unknown-function" => Some(after("function: ")),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn compiler_matches_the_official_python_client() {
    let mut gen = Gen::new(SEED);
    let cases: Vec<_> = (0..CASES).map(|_| gen.case()).collect();
    let responses = run_oracle(
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| request(i, &c.exprs))
            .collect(),
    );
    assert_eq!(responses.len(), cases.len());

    let mut class_a: BTreeMap<&str, usize> = BTreeMap::new();
    let mut class_b: BTreeMap<&str, usize> = BTreeMap::new();
    let mut class_c: BTreeMap<&str, usize> = BTreeMap::new();
    let mut requests_a = 0;
    let mut mismatches = Vec::new();
    for (i, (case, py)) in cases.iter().zip(&responses).enumerate() {
        assert_eq!(py["id"], i);
        let ours = compile(&case.exprs);
        let py_error = py.get("error").and_then(Value::as_str);
        let mut fail = |what: String| {
            mismatches.push(format!(
                "case {i} ({:?}): {what}\n  {:?}",
                case.intent, case.exprs
            ))
        };
        match (py_error, &ours) {
            (None, Ok(compiled)) => {
                requests_a += 1;
                for (kind, field) in kinds() {
                    let theirs = py[field].as_str();
                    let mine = compiled.get(kind).map(|b| hex(b));
                    if theirs != mine.as_deref() {
                        fail(format!("{kind}: client {theirs:?}, ours {mine:?}"));
                    }
                    if mine.is_some() {
                        *class_a.entry(kind.parameter_name()).or_default() += 1;
                    }
                }
            }
            (Some(msg), Err(err)) => {
                let rule = client_rule(msg, py["error_type"].as_str().unwrap_or(""));
                if rule != err.rule() {
                    fail(format!(
                        "client {rule} ({msg}), ours {} ({err})",
                        err.rule()
                    ));
                } else if details(err) != client_details(rule, msg) {
                    fail(format!(
                        "same rule {rule}, different details: client {msg:?}, ours {err}"
                    ));
                } else {
                    *class_b.entry(err.rule()).or_default() += 1;
                }
            }
            (None, Err(err)) => match case.intent {
                Intent::Dynamo(rule) if err.rule() == rule && err.is_dynamodb_rule() => {
                    *class_c.entry(rule).or_default() += 1;
                }
                _ => fail(format!(
                    "client compiles, ours rejects: {err} [{}]",
                    err.rule()
                )),
            },
            (Some(msg), Ok(_)) => fail(format!("client rejects ({msg}), ours compiles")),
        }
    }

    let total = |m: &BTreeMap<&str, usize>| m.values().sum::<usize>();
    println!("cases: {} (seed {SEED:#x})", cases.len());
    println!(
        "(a) both compile, identical bytes: {requests_a} requests, {} expressions {class_a:?}",
        total(&class_a)
    );
    println!(
        "(b) client rejects, we reject with its rule: {} {class_b:?}",
        total(&class_b)
    );
    println!(
        "(c) client compiles, DynamoDB rule rejects: {} {class_c:?}",
        total(&class_c)
    );
    println!("mismatches: {}", mismatches.len());
    for m in mismatches.iter().take(30) {
        println!("{m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches (first shown above)",
        mismatches.len()
    );
    assert!(cases.len() >= MIN_TOTAL);
    assert!(
        requests_a >= MIN_PER_CLASS,
        "class (a): {requests_a} requests"
    );
    assert!(
        total(&class_b) >= MIN_PER_CLASS,
        "class (b): {}",
        total(&class_b)
    );
    assert!(
        total(&class_c) >= MIN_PER_CLASS,
        "class (c): {}",
        total(&class_c)
    );
}

fn kinds() -> [(ExpressionKind, &'static str); 5] {
    [
        (ExpressionKind::Condition, "condition"),
        (ExpressionKind::KeyCondition, "key_condition"),
        (ExpressionKind::Filter, "filter"),
        (ExpressionKind::Update, "update"),
        (ExpressionKind::Projection, "projection"),
    ]
}
