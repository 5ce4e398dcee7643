//! The `xacct` binary, run as a user would: default credentials chain from the environment,
//! `AWS_ENDPOINT_URL` for the local stack, exit codes, JSON and human forms.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{closed_port, xacct, Stack};

/// A clean environment: nothing of the developer's AWS setup leaks in.
fn clean(stack: &Stack) -> Command {
    let mut cmd = xacct();
    let home = std::env::temp_dir().join(format!("xacct-doctor-home-{}", std::process::id()));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/xacct-doctor/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/xacct-doctor/credentials",
        )
        .env("AWS_ENDPOINT_URL", stack.endpoint())
        .env("AWS_REGION", stack.region());
    cmd
}

fn as_b(stack: &Stack) -> Command {
    let mut cmd = clean(stack);
    cmd.env("AWS_ACCESS_KEY_ID", stack.var("B_ACCESS_KEY_ID"))
        .env("AWS_SECRET_ACCESS_KEY", stack.var("B_SECRET_ACCESS_KEY"));
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_secrets(stack: &Stack, out: &Output) {
    let all = text(out);
    for s in [
        stack.var("B_SECRET_ACCESS_KEY"),
        stack.external_id(),
        stack.var("A_SECRET_ACCESS_KEY"),
    ] {
        assert!(!all.contains(&s), "a secret was printed:\n{all}");
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", text(out)))
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

#[test]
fn healthy_json() {
    let stack = Stack::shared();
    let out = as_b(&stack)
        .args(["doctor", "--role-arn", &stack.role_arn(), "--external-id"])
        .arg(stack.external_id())
        .args(["--table", &stack.table(), "--json"])
        .output()
        .expect("run xacct");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_no_secrets(&stack, &out);
    let report = json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "source_identity",
            "assume_role",
            "external_id",
            "table",
            "dax_dns",
            "dax_connect",
            "dax_tls",
            "dax_auth",
            "dax_nodes",
            "dax_request"
        ]
    );
    for c in report["checks"].as_array().unwrap() {
        let expected = if c["id"].as_str().unwrap().starts_with("dax_") {
            "skip"
        } else {
            "pass"
        };
        assert_eq!(c["status"], expected, "{c}");
        assert!(c["cause"].is_null() && c["fix"].is_null(), "{c}");
        assert!(c["detail"].is_string());
    }
}

#[test]
fn broken_human_form() {
    let stack = Stack::shared();
    let out = as_b(&stack)
        .args(["doctor", "--role-arn", &stack.role_arn()])
        .args(["--external-id", "not-the-external-id", "--table", "orders"])
        .output()
        .expect("run xacct");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pass  source_identity"), "{stdout}");
    assert!(stdout.contains("fail  assume_role"), "{stdout}");
    assert!(stdout.contains("skip  table"), "{stdout}");
    assert!(
        stdout.contains("FAILED assume_role: assume_role_denied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  fix:   in account A (111111111111)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-external-id"),
        "the ExternalId was printed"
    );
    assert_no_secrets(&stack, &out);
}

#[test]
fn no_credentials_in_the_default_chain() {
    let stack = Stack::shared();
    let out = clean(&stack)
        .args(["doctor", "--role-arn", &stack.role_arn(), "--json"])
        .output()
        .expect("run xacct");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["ok"], false);
    let c = check(&report, "source_identity");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["cause"], "source_credentials_missing");
    assert!(c["fix"].as_str().unwrap().contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn rejected_key_from_the_environment() {
    let stack = Stack::shared();
    let out = clean(&stack)
        .env("AWS_ACCESS_KEY_ID", stack.var("B_ACCESS_KEY_ID"))
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-for-the-test")
        .args(["doctor", "--role-arn", &stack.role_arn(), "--json"])
        .output()
        .expect("run xacct");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = check(&json(&out), "source_identity").clone();
    assert_eq!(c["cause"], "source_credentials_rejected", "{c}");
    assert!(!text(&out).contains("wrong-secret-for-the-test"));
}

#[test]
fn dead_endpoints_are_bounded() {
    let stack = Stack::shared();
    let started = Instant::now();
    let out = as_b(&stack)
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args([
            "doctor",
            "--role-arn",
            &stack.role_arn(),
            "--table",
            "orders",
        ])
        .args([
            "--dax",
            &format!("dax://127.0.0.1:{}", closed_port()),
            "--json",
        ])
        .output()
        .expect("run xacct");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        check(&report, "source_identity")["cause"],
        "sts_unreachable"
    );
    assert_eq!(
        check(&report, "dax_connect")["cause"],
        "dax_connection_refused"
    );
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        vec![],
        vec!["doctor"],
        vec!["doctor", "--role-arn"],
        vec![
            "doctor",
            "--role-arn",
            "arn:aws:iam::1:role/R",
            "--duration",
            "an-hour",
        ],
        vec!["doctor", "--role-arn", "arn:aws:iam::1:role/R", "--bogus"],
        vec!["frobnicate"],
        vec!["doctor", "--role-arn", "not-an-arn"],
        vec![
            "doctor",
            "--role-arn",
            "arn:aws:iam::1:role/R",
            "--dax",
            "https://x:8111",
        ],
    ] {
        let out = xacct()
            .args(&args)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run xacct");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: xacct doctor"));
    }
    let out = xacct().arg("--help").output().expect("run xacct");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--role-arn ARN"));
}
