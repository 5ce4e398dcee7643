//! The DAX conformance matrix (`tests/fixtures/dax-conformance/matrix.json`) proved before any DAX is
//! involved: the Rust SDK (side `sdk`), botocore and the JS SDK, each straight to the local stack,
//! meet every row's declared outcome and agree. Plus the judge itself, on synthetic results: it
//! must reject what the contract says it rejects.
//!
//! Needs the local stack and the tools of `scripts/dax/setup.sh` (`scripts/test.sh` provides both).
#![allow(clippy::disallowed_methods)]

mod support;

use serde_json::{json, Value};
use support::matrix::{self, judge, run_script, Matrix, RowResult, ScriptArgs};
use support::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_holds_straight_to_the_stack_on_sdk_botocore_and_js_sdk() {
    let stack = Stack::shared();
    // The script sides run as child processes while the Rust side runs here; each on its own tables.
    let scripts: Vec<_> = ["botocore", "js-sdk"]
        .into_iter()
        .map(|side| {
            let m = Matrix::fresh(side);
            let args = ScriptArgs::for_stack(stack, stack.endpoint());
            tokio::task::spawn_blocking(move || {
                let t = std::time::Instant::now();
                let r = run_script(side, &m, &args);
                (side, r, t.elapsed())
            })
        })
        .collect();

    let t = std::time::Instant::now();
    let (m, sdk) = matrix::run_sdk_side(stack).await;
    let mut times = vec![("sdk", t.elapsed())];
    let mut sides = vec![("sdk", sdk)];
    for s in scripts {
        let (side, r, took) = s.await.expect("runner task");
        times.push((side, took));
        sides.push((side, r));
    }
    match judge(&m, &sides) {
        Ok(summary) => {
            println!("{summary}; times {times:?}");
            assert_eq!(summary.rows, m.rows.len());
            assert_eq!(summary.sides.len(), 3);
            assert!(summary.known_differences >= 1 && summary.checks > summary.rows);
        }
        Err(report) => panic!("{report}"),
    }
}

/// The DAX paths of the runners (python-dax, node-dax) turn the official clients' results and
/// errors (incl. cancellation reasons with items, which amazondax leaves undecoded) into the same
/// result format: checked against the scripted responder, as no gateway exists in this test.
#[test]
fn the_dax_runner_paths_read_the_official_clients_alike() {
    let python = matrix::tools_home().join("dax/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash scripts/dax/setup.sh`",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg(support::repo_root().join("scripts/dax/conformance/selftest_dax.py"))
        .env("XACCT_TOOLS_HOME", matrix::tools_home())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run selftest_dax.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "selftest_dax.py failed:\n{stderr}");
    assert!(stderr.contains("0 problems"), "{stderr}");
}

#[test]
fn script_args_debug_leaves_the_secret_out() {
    let mut args = ScriptArgs {
        endpoint: "dax://127.0.0.1:1".into(),
        admin_endpoint: "http://127.0.0.1:2".into(),
        region: "us-east-1".into(),
        credentials: (
            "AKIDVISIBLE".into(),
            "SECRET-abc".into(),
            Some("TOKEN-xyz".into()),
        ),
        ca_file: None,
        timeout: std::time::Duration::from_secs(1),
    };
    let dbg = format!("{args:?}");
    assert!(
        dbg.contains("AKIDVISIBLE") && dbg.contains("redacted"),
        "{dbg}"
    );
    assert!(
        !dbg.contains("SECRET-abc") && !dbg.contains("TOKEN-xyz"),
        "{dbg}"
    );
    args.credentials.2 = None;
    assert!(!format!("{args:?}").contains("SECRET-abc"));
}

/// The matrix covers what issue 8 lists; cheap, no stack.
#[test]
fn the_matrix_covers_the_issue_list() {
    let m = Matrix::load("shape-");
    let ops: std::collections::BTreeSet<&str> = m.rows.iter().map(|r| r.op.as_str()).collect();
    assert_eq!(ops.len(), 10, "every DAX data operation has a row: {ops:?}");
    let text = |r: &matrix::Row| r.params.to_string();
    let has = |what: &str, f: &dyn Fn(&matrix::Row) -> bool| {
        assert!(m.rows.iter().any(f), "no row with {what}");
    };
    for rv in ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] {
        has(rv, &|r| {
            text(r).contains(&format!("\"ReturnValues\":\"{rv}\""))
        });
    }
    has("a condition failing", &|r| {
        r.expect_error.as_deref() == Some("ConditionalCheckFailedException")
    });
    has("a paginated Query", &|r| r.paginate && r.op == "Query");
    has("a paginated Scan", &|r| r.paginate && r.op == "Scan");
    has("a GSI query", &|r| {
        r.op == "Query" && text(r).contains("IndexName")
    });
    has("a filter + projection + descending query", &|r| {
        let t = text(r);
        t.contains("FilterExpression")
            && t.contains("ProjectionExpression")
            && t.contains("\"ScanIndexForward\":false")
    });
    has("Scan segments", &|r| text(r).contains("TotalSegments"));
    has("a cancelled transaction with an item", &|r| {
        r.expect_error.as_deref() == Some("TransactionCanceledException")
            && Value::Object(r.check.clone())
                .to_string()
                .contains("\"Item\"")
    });
    has("an idempotency token", &|r| {
        text(r).contains("ClientRequestToken")
    });
    has("a missing table", &|r| {
        r.expect_error.as_deref() == Some("ResourceNotFoundException")
    });
    let validation = m
        .rows
        .iter()
        .filter(|r| r.expect_error.as_deref() == Some("ValidationException"))
        .count();
    assert!(validation >= 5, "only {validation} validation rows");
    let kd: Vec<_> = m
        .rows
        .iter()
        .filter(|r| r.known_difference.is_some())
        .collect();
    assert!(!kd.is_empty());
    for r in kd {
        assert!(
            text(r).contains("ReturnValuesOnConditionCheckFailure") && r.expect_error.is_some(),
            "{}: known differences are the single-item ReturnValuesOnConditionCheckFailure rows",
            r.id
        );
    }
    for t in &m.tables {
        assert!(
            t.name.starts_with("shape-"),
            "table {} is not prefixed",
            t.name
        );
    }
}

// ------------------------------------------------------------------ the judge, on synthetic results

const SMALL: &str = r#"{
 "tables": [{"name": "${p}t", "params": {}}],
 "rows": [
  {"id": "get", "op": "GetItem", "params": {}, "expect": {"outcome": "ok"},
   "check": {"Item": {"pk": {"S": "a"}, "n": {"N": "1.50"}}}},
  {"id": "cond", "op": "PutItem", "params": {}, "expect": {"outcome": "error", "error": "ConditionalCheckFailedException"}},
  {"id": "rvoccf", "op": "PutItem", "params": {}, "expect": {"outcome": "error", "error": "ConditionalCheckFailedException"},
   "known_difference": "DAX drops the item", "differs": {"field": "Item", "direct": {"pk": {"S": "a"}}, "dax": null}},
  {"id": "batch", "op": "BatchGetItem", "params": {}, "expect": {"outcome": "ok"},
   "check": {"Responses": {"${p}t": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]}}}
 ]}"#;

fn small(prefix: &str) -> Matrix {
    Matrix::parse(SMALL, prefix, "small.json".into()).expect("the small matrix parses")
}

/// A side's results as a runner with table prefix `prefix` would print them.
fn results(prefix: &str, edit: impl FnOnce(&mut Vec<Value>)) -> Vec<RowResult> {
    let mut v = vec![
        json!({"id": "get", "outcome": "ok", "output": {"Item": {"n": {"N": "1.5"}, "pk": {"S": "a"}}}}),
        json!({"id": "cond", "outcome": "error", "error": "ConditionalCheckFailedException", "message": "m", "native": "X"}),
        json!({"id": "rvoccf", "outcome": "error", "error": "ConditionalCheckFailedException", "message": "m", "native": "X",
               "details": {"Item": {"pk": {"S": "a"}}}}),
        json!({"id": "batch", "outcome": "ok",
               "output": {"Responses": {format!("{prefix}t"): [{"pk": {"S": "b"}}, {"pk": {"S": "a"}}]}}}),
    ];
    edit(&mut v);
    v.iter()
        .map(|r| RowResult::from_json(r, prefix).expect("well-formed result"))
        .collect()
}

fn dax_results(prefix: &str) -> Vec<RowResult> {
    results(prefix, |v| {
        v[2]["details"] = json!({});
    })
}

#[test]
fn judge_passes_agreeing_sides_across_prefixes_number_forms_and_batch_order() {
    let m = small("j1-");
    let s = judge(
        &m,
        &[
            ("sdk", results("j1-", |_| {})),
            (
                "botocore",
                results("other-", |v| {
                    v[3]["output"]["Responses"]["other-empty"] = json!([]);
                    v[1]["details"] = json!({"UnprocessedKeys": {}});
                }),
            ),
            ("python-dax", dax_results("p3-")),
        ],
    )
    .expect("agreeing sides pass");
    assert_eq!(
        (s.rows, s.sides.len(), s.known_differences, s.error_rows),
        (4, 3, 1, 2)
    );
}

#[test]
fn judge_rejects_a_row_meant_to_succeed_that_failed_alike_on_every_side() {
    let m = small("j2-");
    let failed = |p: &str| {
        results(p, |v| {
            v[0] = json!({"id": "get", "outcome": "error", "error": "ResourceNotFoundException", "message": "m", "native": "X"});
        })
    };
    let err = judge(&m, &[("sdk", failed("a-")), ("js-sdk", failed("b-"))]).unwrap_err();
    assert!(
        err.contains("row \"get\"") && err.contains("declared ok"),
        "{err}"
    );
    assert!(err.starts_with("1 of 4 rows"), "{err}");
}

#[test]
fn judge_rejects_the_wrong_error_name_a_failed_check_and_disagreement() {
    let m = small("j3-");
    let wrong_error = results("a-", |v| v[1]["error"] = json!("ValidationException"));
    let err = judge(&m, &[("sdk", wrong_error)]).unwrap_err();
    assert!(
        err.contains("declared error ConditionalCheckFailedException"),
        "{err}"
    );

    let bad_check = |p: &str| results(p, |v| v[0]["output"]["Item"]["n"] = json!({"N": "2"}));
    let err = judge(
        &m,
        &[("sdk", bad_check("a-")), ("botocore", bad_check("b-"))],
    )
    .unwrap_err();
    assert!(err.contains("check Item"), "{err}");

    let extra_field = results("b-", |v| v[3]["output"]["Count"] = json!(2));
    let err = judge(
        &m,
        &[("sdk", results("a-", |_| {})), ("botocore", extra_field)],
    )
    .unwrap_err();
    assert!(
        err.contains("row \"batch\"") && err.contains("disagree"),
        "{err}"
    );
}

#[test]
fn judge_holds_known_differences_to_what_they_declare() {
    let m = small("j4-");
    // a DAX side that does carry the item: not the declared difference
    let err = judge(
        &m,
        &[
            ("sdk", results("a-", |_| {})),
            ("node-dax", results("b-", |_| {})),
        ],
    )
    .unwrap_err();
    assert!(err.contains("node-dax: known difference"), "{err}");
    // a direct side without the item
    let err = judge(
        &m,
        &[("sdk", dax_results("a-")), ("node-dax", dax_results("b-"))],
    )
    .unwrap_err();
    assert!(err.contains("sdk: known difference"), "{err}");
}

#[test]
fn judge_rejects_missing_and_misordered_results() {
    let m = small("j5-");
    let short = results("a-", |v| {
        v.pop();
    });
    let err = judge(&m, &[("sdk", short)]).unwrap_err();
    assert!(err.contains("no result"), "{err}");
    let swapped = results("a-", |v| v.swap(0, 1));
    let err = judge(&m, &[("sdk", swapped)]).unwrap_err();
    assert!(err.contains("is for row"), "{err}");
}

#[test]
fn canonical_numbers_and_sets() {
    for (a, b) in [
        ("42", "42"),
        ("-12.50", "-12.5"),
        ("0.000", "0"),
        ("-0", "0"),
        ("1E+3", "1000"),
        ("1.5e-3", "0.0015"),
        ("007.10", "7.1"),
        ("1000.001", "1000.001"),
        ("abc", "abc"),
    ] {
        assert_eq!(
            matrix::canonical(&json!({ "N": a })),
            json!({ "N": b }),
            "{a}"
        );
    }
    assert_eq!(
        matrix::canonical(&json!({"M": {"s": {"SS": ["b", "a"]}, "n": {"NS": ["2.0", "10"]}}})),
        json!({"M": {"s": {"SS": ["a", "b"]}, "n": {"NS": ["10", "2"]}}})
    );
}

#[test]
fn attribute_values_round_trip_through_json() {
    let v = json!({"M": {"b": {"B": "AP8="}, "bs": {"BS": ["AQ==", "AA=="]}, "l": {"L": [{"NULL": true}, {"BOOL": false}]},
                         "ns": {"NS": ["1", "-2.5"]}, "s": {"S": "h\u{e9}"}}});
    let av = matrix::av_from_json(&v).unwrap();
    assert_eq!(matrix::av_to_json(&av), matrix::canonical(&v));
    for bad in [
        json!({"S": 1}),
        json!({"B": "***"}),
        json!({"X": "1"}),
        json!({"S": "a", "N": "1"}),
    ] {
        assert!(matrix::av_from_json(&bad).is_err(), "{bad} accepted");
    }
}

// ------------------------------------------------------------------ load drivers

/// The failover test's load drivers, straight to the stack (an http endpoint selects the plain SDK):
/// one JSON line per operation, every one ok, gets checked against the values put, and a summary
/// at the end, whether the time runs out or SIGTERM stops them.
#[test]
fn load_drivers_report_every_operation_and_a_summary() {
    let stack = Stack::shared();
    let dir = support::repo_root().join("scripts/dax/conformance");
    let runs: Vec<_> = [
        ("python", false),
        ("python", true),
        ("node", false),
        ("node", true),
    ]
    .into_iter()
    .map(|(lang, sigterm)| {
        let mut cmd = if lang == "python" {
            let mut c =
                std::process::Command::new(matrix::tools_home().join("dax/venv/bin/python"));
            c.arg(dir.join("load_python.py"));
            c
        } else {
            let mut c = std::process::Command::new("node");
            c.arg(dir.join("load_node.js"));
            c
        };
        let prefix = support::unique_name(&format!("load-{lang}"));
        cmd.args(["--endpoint", stack.endpoint(), "--region", stack.region()])
            .args([
                "--table",
                stack.table(),
                "--range-key",
                "sk",
                "--prefix",
                &prefix,
            ])
            .args(["--seconds", if sigterm { "60" } else { "1" }])
            .env("AWS_ACCESS_KEY_ID", stack.var("A_ACCESS_KEY_ID"))
            .env("AWS_SECRET_ACCESS_KEY", stack.var("A_SECRET_ACCESS_KEY"))
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("XACCT_TOOLS_HOME", matrix::tools_home())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        std::thread::spawn(move || {
            let child = cmd.spawn().expect("start a load driver");
            let out = KillOnDrop(child).wait_with_output(sigterm);
            (lang, sigterm, out)
        })
    })
    .collect();
    for r in runs {
        let (lang, sigterm, (status, stdout, stderr)) = r.join().expect("driver thread");
        let what = format!("{lang} (sigterm {sigterm})");
        assert!(status.success(), "{what}: {status}\n{stderr}");
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {l:?}: {e}")))
            .collect();
        let (summary, ops) = lines.split_last().expect("some output");
        let s = &summary["summary"];
        assert!(ops.len() >= 3, "{what}: only {} operations", ops.len());
        let mut last_t = 0.0;
        for op in ops {
            assert_eq!(op["ok"], json!(true), "{what}: {op}");
            assert!(
                op["error"].is_null() && op["key"].is_string(),
                "{what}: {op}"
            );
            assert!(
                ["put", "get"].contains(&op["op"].as_str().unwrap_or("")),
                "{what}: {op}"
            );
            let t = op["t_ms"].as_f64().expect("t_ms");
            assert!(t >= last_t, "{what}: t_ms goes back: {op}");
            last_t = t;
        }
        let puts = ops.iter().filter(|o| o["op"] == "put").count() as u64;
        assert_eq!(s["puts"].as_u64(), Some(puts), "{what}: {s}");
        assert_eq!(s["puts_ok"], s["puts"], "{what}: {s}");
        assert_eq!(
            s["gets"].as_u64(),
            Some(ops.len() as u64 - puts),
            "{what}: {s}"
        );
        assert_eq!(s["gets_ok"], s["gets"], "{what}: {s}");
        assert_eq!(s["errors"], json!({}), "{what}: {s}");
        assert_eq!(s["stopped_by_signal"], json!(sigterm), "{what}: {s}");
        if sigterm {
            assert!(
                s["seconds"].as_f64().unwrap() < 30.0,
                "{what}: SIGTERM did not stop it: {s}"
            );
        }
    }
}

/// Kills and reaps a child when dropped.
struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    /// Waits, draining stdout and stderr; with `sigterm`, sends SIGTERM once the first operation
    /// line is out (the driver's handler is installed before its first operation).
    fn wait_with_output(mut self, sigterm: bool) -> (std::process::ExitStatus, String, String) {
        use std::io::{BufRead, Read};
        let out = self.0.stdout.take().expect("piped");
        let mut err = self.0.stderr.take().expect("piped");
        let t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut out = std::io::BufReader::new(out);
        let mut stdout = String::new();
        let _ = out.read_line(&mut stdout);
        if sigterm {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let st = std::process::Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status()
                .expect("kill -TERM");
            assert!(st.success());
        }
        let _ = out.read_to_string(&mut stdout);
        let status = self.0.wait().expect("wait");
        (status, stdout, t.join().unwrap_or_default())
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}
