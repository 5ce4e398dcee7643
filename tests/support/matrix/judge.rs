//! The judge: every row meets its declared outcome on every side, the sides agree, and known
//! differences are exactly as declared.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{is_dax_side, Matrix, Row, RowResult};

/// What a passing judgement covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    pub sides: Vec<String>,
    /// Rows declared to succeed / to fail with a named error.
    pub ok_rows: usize,
    pub error_rows: usize,
    pub known_differences: usize,
    /// `check` fields compared, over all sides.
    pub checks: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows ({} ok, {} errors, {} known differences) agree on {} sides [{}]; {} checks held",
            self.rows,
            self.ok_rows,
            self.error_rows,
            self.known_differences,
            self.sides.len(),
            self.sides.join(", "),
            self.checks
        )
    }
}

/// Canonical form for comparison: numbers (`{"N": ..}`, `{"NS": [..]}`) in plain decimal form
/// without leading/trailing zeros, sets sorted. (Empty top-level fields are dropped by the runners.)
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, x) = m.iter().next().expect("one entry");
            let val = match (k.as_str(), x) {
                ("N", Value::String(n)) => Value::String(canonical_number(n)),
                ("NS", Value::Array(a)) => sorted_strings(a, true),
                ("SS" | "BS", Value::Array(a)) => sorted_strings(a, false),
                _ => canonical(x),
            };
            let mut out = Map::new();
            out.insert(k.clone(), val);
            Value::Object(out)
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), canonical(x))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn sorted_strings(a: &[Value], numbers: bool) -> Value {
    if !a.iter().all(Value::is_string) {
        return Value::Array(a.iter().map(canonical).collect());
    }
    let mut v: Vec<String> = a
        .iter()
        .map(|s| {
            let s = s.as_str().expect("string");
            if numbers {
                canonical_number(s)
            } else {
                s.to_owned()
            }
        })
        .collect();
    v.sort();
    Value::Array(v.into_iter().map(Value::String).collect())
}

/// `"-012.50e1"` -> `"-125"`; text that is not a number is returned unchanged.
/// (By hand: no decimal crate is a dependency, and this is only a comparison key.)
fn canonical_number(s: &str) -> String {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => match t[i + 1..].parse::<i64>() {
            Ok(e) => (&t[..i], e),
            Err(_) => return s.to_owned(),
        },
        None => (t, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return s.to_owned();
    }
    // value = 0.D x 10^pos
    let mut digits: String = format!("{int}{frac}");
    let mut pos = int.len() as i64 + exp;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    pos -= lead as i64;
    let trimmed = digits.trim_end_matches('0').len();
    digits.truncate(trimmed);
    if digits.is_empty() {
        return "0".into();
    }
    let n = digits.len() as i64;
    let body = if pos <= 0 {
        format!("0.{}{digits}", "0".repeat((-pos) as usize))
    } else if pos >= n {
        format!("{digits}{}", "0".repeat((pos - n) as usize))
    } else {
        format!("{}.{}", &digits[..pos as usize], &digits[pos as usize..])
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// JSON text with object keys sorted (a stable sort key whatever serde_json's map order).
fn key_text(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<_, _> = m.iter().collect();
            let inner: Vec<String> = sorted
                .into_iter()
                .map(|(k, x)| format!("{}:{}", Value::String(k.clone()), key_text(x)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(key_text).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// An output or details object in comparable form: canonical values, empty fields dropped,
/// BatchGetItem `Responses` sorted per table.
fn comparable(v: &Value) -> Value {
    let Some(m) = v.as_object() else {
        return canonical(v);
    };
    let mut out = Map::new();
    for (k, x) in m {
        let empty = match x {
            Value::Null => true,
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let mut x = canonical(x);
        if let Value::Object(tables) = &mut x {
            if ["Responses", "UnprocessedItems", "UnprocessedKeys"].contains(&k.as_str()) {
                // a table with nothing in it and an absent table are the same
                tables.retain(|_, v| {
                    !(v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(Map::is_empty))
                });
            }
            if tables.is_empty() {
                continue;
            }
        }
        if k == "Responses" {
            if let Value::Object(tables) = &mut x {
                for items in tables.values_mut() {
                    if let Value::Array(a) = items {
                        a.sort_by_key(key_text);
                    }
                }
            }
        }
        out.insert(k.clone(), x);
    }
    Value::Object(out)
}

fn short(v: &Value) -> String {
    let s = key_text(v);
    if s.len() > 600 {
        format!("{}… ({} chars)", &s[..s.floor_char_boundary(600)], s.len())
    } else {
        s
    }
}

fn describe(r: &RowResult) -> String {
    if r.outcome == "ok" {
        format!("ok {}", short(&comparable(&r.output)))
    } else {
        format!(
            "error {} ({}: {:?}){}",
            r.error.as_deref().unwrap_or("?"),
            r.native.as_deref().unwrap_or("?"),
            r.message.as_deref().unwrap_or(""),
            if r.details.as_object().is_some_and(|d| !d.is_empty()) {
                format!(" details {}", short(&comparable(&r.details)))
            } else {
                String::new()
            }
        )
    }
}

/// Judges the sides' results against the matrix. `Err` is a readable per-row report of every
/// mismatch (declared outcome not met, a check field differs, sides disagree, a known difference
/// not as declared, a missing or extra result).
pub fn judge(m: &Matrix, sides: &[(&str, Vec<RowResult>)]) -> Result<Summary, String> {
    assert!(!sides.is_empty(), "judge needs at least one side");
    let mut report = String::new();
    let mut bad_rows = 0;
    let mut checks = 0;
    for (i, row) in m.rows.iter().enumerate() {
        let mut problems = Vec::new();
        let mut compared: Vec<(&str, String)> = Vec::new();
        for (side, results) in sides {
            let Some(r) = results.get(i) else {
                problems.push(format!(
                    "{side}: no result (only {} results)",
                    results.len()
                ));
                continue;
            };
            if r.id != row.id {
                problems.push(format!("{side}: result {i} is for row {:?}", r.id));
                continue;
            }
            checks += check_row(m, row, side, r, &mut problems);
            compared.push((side, agreement_key(row, r)));
        }
        let distinct: std::collections::BTreeSet<&String> =
            compared.iter().map(|(_, k)| k).collect();
        if distinct.len() > 1 {
            problems.push("the sides disagree:".into());
            for (side, results) in sides {
                if let Some(r) = results.get(i) {
                    problems.push(format!("  {side}: {}", describe(r)));
                }
            }
        }
        if !problems.is_empty() {
            bad_rows += 1;
            let _ = writeln!(report, "row {:?} ({}):", row.id, row.op);
            for p in problems {
                let _ = writeln!(report, "  {p}");
            }
        }
    }
    for (side, results) in sides {
        if results.len() > m.rows.len() {
            bad_rows += 1;
            let _ = writeln!(
                report,
                "{side}: {} results for {} rows",
                results.len(),
                m.rows.len()
            );
        }
    }
    if bad_rows > 0 {
        return Err(format!(
            "{bad_rows} of {} rows do not pass ({} sides: {}):\n{report}",
            m.rows.len(),
            sides.len(),
            sides.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ")
        ));
    }
    let error_rows = m.rows.iter().filter(|r| r.expect_error.is_some()).count();
    Ok(Summary {
        rows: m.rows.len(),
        sides: sides.iter().map(|(s, _)| (*s).to_owned()).collect(),
        ok_rows: m.rows.len() - error_rows,
        error_rows,
        known_differences: m
            .rows
            .iter()
            .filter(|r| r.known_difference.is_some())
            .count(),
        checks,
    })
}

/// Declared outcome, check fields and the known difference on one side; returns checks made.
fn check_row(
    m: &Matrix,
    row: &Row,
    side: &str,
    r: &RowResult,
    problems: &mut Vec<String>,
) -> usize {
    match (&row.expect_error, r.outcome.as_str()) {
        (None, "ok") => {}
        (Some(want), "error") if r.error.as_deref() == Some(want.as_str()) => {}
        (None, _) => {
            problems.push(format!("{side}: declared ok, got {}", describe(r)));
            return 0;
        }
        (Some(want), _) => {
            problems.push(format!(
                "{side}: declared error {want}, got {}",
                describe(r)
            ));
            return 0;
        }
    }
    let target = comparable(if r.outcome == "ok" {
        &r.output
    } else {
        &r.details
    });
    let mut n = 0;
    for (k, want) in &row.check {
        n += 1;
        let want = comparable(&serde_json::json!({ k: m.unprefix(want) }));
        let want = want.get(k).unwrap_or(&Value::Null);
        let got = target.get(k).unwrap_or(&Value::Null);
        if got != want {
            problems.push(format!(
                "{side}: check {k}: got {}, declared {}",
                short(got),
                short(want)
            ));
        }
    }
    if let Some(kd) = &row.known_difference {
        n += 1;
        let got = target.get(&kd.field).unwrap_or(&Value::Null);
        if is_dax_side(side) {
            if !got.is_null() {
                problems.push(format!(
                    "{side}: known difference ({}) says a DAX side has no {}, but it has {}",
                    kd.reason,
                    kd.field,
                    short(got)
                ));
            }
        } else {
            let want = comparable(&serde_json::json!({ "x": m.unprefix(&kd.direct) }));
            let want = want.get("x").unwrap_or(&Value::Null);
            if got != want {
                problems.push(format!(
                    "{side}: known difference ({}): a direct side's {} should be {}, got {}",
                    kd.reason,
                    kd.field,
                    short(want),
                    short(got)
                ));
            }
        }
    }
    n
}

/// What must be equal across sides: outcome, error name, normalised output and details (minus a
/// known difference's field).
fn agreement_key(row: &Row, r: &RowResult) -> String {
    let mut details = comparable(&r.details);
    if let (Some(kd), Value::Object(d)) = (&row.known_difference, &mut details) {
        d.remove(&kd.field);
    }
    key_text(&serde_json::json!({
        "outcome": r.outcome,
        "error": r.error,
        "output": comparable(&r.output),
        "details": details,
    }))
}
