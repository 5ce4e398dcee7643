//! The DAX conformance matrix (`tests/fixtures/dax-conformance/matrix.json`): loading it, running it with the
//! Rust SDK (`sdk::run_rust`) or with a script runner (`script::run_script`), and judging the
//! sides' results (`judge::judge`). Format and rules: `scripts/dax/conformance/README.md`.
#![allow(dead_code, unused_imports, unreachable_pub, clippy::disallowed_methods)]

mod judge;
mod script;
mod sdk;

pub use judge::{canonical, judge, Summary};
pub use script::{run_script, tools_home, ScriptArgs};
pub use sdk::{
    av_from_json, av_to_json, create_tables, delete_tables, run_rust, run_sdk_side, stack_client,
};

use std::path::PathBuf;

use serde_json::{json, Map, Value};

/// What replaces `${p}` in the matrix text; results are compared with it put back.
pub const PREFIX_MARK: &str = "${p}";

/// The matrix file.
pub fn matrix_path() -> PathBuf {
    super::repo_root().join("tests/fixtures/dax-conformance/matrix.json")
}

/// The matrix with `${p}` replaced by one run's prefix.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The prefix of this run's tables.
    pub prefix: String,
    /// The file it came from.
    pub path: PathBuf,
    pub tables: Vec<Table>,
    pub rows: Vec<Row>,
}

/// A table the rows use: created before the rows run, deleted after.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// The CreateTable request in DynamoDB JSON.
    pub params: Value,
}

/// One operation and its declared outcome.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub op: String,
    pub params: Value,
    /// `None`: success is declared; `Some(name)`: that error.
    pub expect_error: Option<String>,
    /// Fields the output (success) or the error details (error) must hold exactly; null = absent.
    pub check: Map<String, Value>,
    pub paginate: bool,
    pub known_difference: Option<KnownDifference>,
}

/// A documented difference between the DAX sides and the straight-to-DynamoDB sides: one field
/// of the error details, present (equal to `direct`) on direct sides and absent on DAX sides.
#[derive(Debug, Clone)]
pub struct KnownDifference {
    pub reason: String,
    pub field: String,
    pub direct: Value,
}

/// A side's name says which kind it is: `*-dax` sides go through DAX.
pub fn is_dax_side(side: &str) -> bool {
    side.ends_with("-dax")
}

impl Matrix {
    /// Loads the matrix file for a run with this table-name prefix (e.g. `unique_name("sdk") + "-"`).
    pub fn load(prefix: &str) -> Matrix {
        Matrix::load_from(&matrix_path(), prefix)
    }

    /// The matrix with a fresh prefix for one side's run (`mx-<side>-<pid>-<n>-`).
    pub fn fresh(side: &str) -> Matrix {
        Matrix::load(&format!("{}-", super::unique_name(&format!("mx-{side}"))))
    }

    /// Loads another matrix file (tests of the judge use small ones).
    pub fn load_from(path: &std::path::Path, prefix: &str) -> Matrix {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read the matrix {}: {e}", path.display()));
        Matrix::parse(&text, prefix, path.to_owned())
            .unwrap_or_else(|e| panic!("the matrix {} is malformed: {e}", path.display()))
    }

    /// Parses matrix text (with `${p}` marks).
    pub fn parse(text: &str, prefix: &str, path: PathBuf) -> Result<Matrix, String> {
        assert!(
            !prefix.is_empty()
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "a table-name prefix is [A-Za-z0-9_.-]+, not {prefix:?}"
        );
        // `${p}` also makes the ClientRequestToken (at most 36 characters)
        assert!(
            prefix.len() <= 32,
            "a table-name prefix has at most 32 characters, not {prefix:?}"
        );
        let doc: Value = serde_json::from_str(&text.replace(PREFIX_MARK, prefix))
            .map_err(|e| format!("not JSON: {e}"))?;
        let tables = doc["tables"]
            .as_array()
            .ok_or("no \"tables\" list")?
            .iter()
            .map(|t| {
                Ok(Table {
                    name: t["name"].as_str().ok_or("a table has no name")?.to_owned(),
                    params: t["params"].clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut rows = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in doc["rows"].as_array().ok_or("no \"rows\" list")? {
            let row = parse_row(r)?;
            if !seen.insert(row.id.clone()) {
                return Err(format!("row id {:?} appears twice", row.id));
            }
            rows.push(row);
        }
        Ok(Matrix {
            prefix: prefix.to_owned(),
            path,
            tables,
            rows,
        })
    }

    /// Replaces this run's prefix at the start of object keys (table names of batch outputs) by
    /// `${p}`, so results of runs with different prefixes compare.
    pub fn unprefix(&self, v: &Value) -> Value {
        unprefix(v, &self.prefix)
    }
}

const OPS: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

fn parse_row(r: &Value) -> Result<Row, String> {
    let id = r["id"].as_str().ok_or("a row has no id")?.to_owned();
    let op = r["op"].as_str().ok_or(format!("row {id}: no op"))?;
    if !OPS.contains(&op) {
        return Err(format!(
            "row {id}: op {op:?} is not one of the 10 DAX data operations"
        ));
    }
    let expect_error = match r["expect"]["outcome"].as_str() {
        Some("ok") => None,
        Some("error") => Some(
            r["expect"]["error"]
                .as_str()
                .ok_or(format!("row {id}: outcome error without an error name"))?
                .to_owned(),
        ),
        other => {
            return Err(format!(
                "row {id}: expect.outcome is {other:?}, not ok/error"
            ))
        }
    };
    let paginate = r["paginate"].as_bool().unwrap_or(false);
    if paginate && op != "Query" && op != "Scan" {
        return Err(format!("row {id}: paginate on {op}"));
    }
    let known_difference = match (&r["known_difference"], &r["differs"]) {
        (Value::Null, Value::Null) => None,
        (Value::String(reason), d) if d.is_object() => Some(KnownDifference {
            reason: reason.clone(),
            field: d["field"]
                .as_str()
                .ok_or(format!("row {id}: differs.field"))?
                .to_owned(),
            direct: d["direct"].clone(),
        }),
        _ => {
            return Err(format!(
                "row {id}: known_difference (text) and differs ({{field, direct, dax: null}}) go together"
            ))
        }
    };
    Ok(Row {
        id,
        op: op.to_owned(),
        params: r["params"].clone(),
        expect_error,
        check: r["check"].as_object().cloned().unwrap_or_default(),
        paginate,
        known_difference,
    })
}

fn unprefix(v: &Value, prefix: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let k = match k.strip_prefix(prefix) {
                        Some(rest) => format!("{PREFIX_MARK}{rest}"),
                        None => k.clone(),
                    };
                    (k, unprefix(x, prefix))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| unprefix(x, prefix)).collect()),
        other => other.clone(),
    }
}

/// One row's result on one side (the runners' JSON format).
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub id: String,
    /// `"ok"` or `"error"`.
    pub outcome: String,
    /// The DynamoDB error name.
    pub error: Option<String>,
    pub message: Option<String>,
    /// The client's own error type.
    pub native: Option<String>,
    /// Normalised output (success); `{}` on error.
    pub output: Value,
    /// `Item` / `CancellationReasons` of an error; `{}` if none.
    pub details: Value,
}

impl RowResult {
    pub fn ok(id: &str, output: Value) -> RowResult {
        RowResult {
            id: id.to_owned(),
            outcome: "ok".into(),
            error: None,
            message: None,
            native: None,
            output,
            details: json!({}),
        }
    }

    pub fn err(
        id: &str,
        error: &str,
        message: String,
        native: String,
        details: Value,
    ) -> RowResult {
        RowResult {
            id: id.to_owned(),
            outcome: "error".into(),
            error: Some(error.to_owned()),
            message: Some(message),
            native: Some(native),
            output: json!({}),
            details,
        }
    }

    /// Reads one entry of a runner's output list; table names lose `prefix` (see [`Matrix::unprefix`]).
    pub fn from_json(v: &Value, prefix: &str) -> Result<RowResult, String> {
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        let outcome = s("outcome").ok_or_else(|| format!("result without outcome: {v}"))?;
        if outcome != "ok" && outcome != "error" {
            return Err(format!("outcome {outcome:?}: {v}"));
        }
        Ok(RowResult {
            id: s("id").ok_or_else(|| format!("result without id: {v}"))?,
            outcome,
            error: s("error"),
            message: s("message"),
            native: s("native"),
            output: unprefix(&non_null(&v["output"]), prefix),
            details: unprefix(&non_null(&v["details"]), prefix),
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("outcome".into(), json!(self.outcome));
        if self.outcome == "ok" {
            m.insert("output".into(), self.output.clone());
        } else {
            m.insert("error".into(), json!(self.error));
            m.insert("message".into(), json!(self.message));
            m.insert("native".into(), json!(self.native));
            if self.details.as_object().is_some_and(|d| !d.is_empty()) {
                m.insert("details".into(), self.details.clone());
            }
        }
        Value::Object(m)
    }
}

fn non_null(v: &Value) -> Value {
    if v.is_null() {
        json!({})
    } else {
        v.clone()
    }
}
