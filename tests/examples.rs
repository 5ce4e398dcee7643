//! Every example, run against the local stack as a user would run it (the binaries `cargo test`
//! builds), with the stack's variables in its environment and nothing of real AWS.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::Stack;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: examples are built by `cargo test` / `cargo nextest run`",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> String {
    let stack = Stack::shared();
    let mut cmd = Command::new(example(name));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(stack.vars());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn quickstart() {
    let out = run("quickstart", &[]);
    assert!(
        out.contains("source identity (account B): account 222222222222"),
        "{out}"
    );
    assert!(
        out.contains("assumed identity (account A): account 111111111111"),
        "{out}"
    );
    assert!(
        out.contains("note = Some(S(\"written from account B\"))"),
        "{out}"
    );
    assert!(out.contains("[refresh] generation 1"), "{out}");
}

#[test]
fn kms_decrypt() {
    let out = run("kms_decrypt", &[]);
    assert!(
        out.contains("with account A's key arn:aws:kms:us-east-1:111111111111:key/"),
        "{out}"
    );
    assert!(out.contains("pipeline secret from the keystore"), "{out}");
}

#[test]
fn secrets_manager() {
    let out = run("secrets_manager", &[]);
    assert!(
        out.contains("read secret xacct/db-credentials from account A"),
        "{out}"
    );
    assert!(
        !out.contains("local-stack-password"),
        "the example must not print the secret"
    );
}

#[test]
fn multi_account_pool() {
    let out = run("multi_account_pool", &[]);
    assert!(out.contains("3 roles pooled, 10 requests each"), "{out}");
    assert_eq!(out.matches("generation 1,").count(), 3, "{out}");
}

#[test]
fn examples_refuse_to_run_without_a_target() {
    let out = Command::new(example("quickstart"))
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("XACCT_STACK_") && err.contains("XACCT_ROLE_ARN"),
        "{err}"
    );
}

#[test]
fn ecs_profile() {
    let out = run("ecs_profile", &[]);
    assert!(
        out.contains("caller identity: account 111111111111"),
        "{out}"
    );
    assert!(
        out.contains("table orders in account A: Some(Active)"),
        "{out}"
    );
}

#[test]
fn otel_stdout() {
    let out = run("otel_stdout", &[]);
    assert!(out.contains("refreshed to generation 2"), "{out}");
    // Our scope and instruments, exported by OpenTelemetry's SDK next to the SDK's own.
    for line in [
        "Name         : cross-account-dynamodb",
        "Name         : xacct.credentials.refreshes",
        "Name         : xacct.credentials.sts.duration",
        "Name         : xacct.credentials.time_to_expiry",
        "Name         : xacct.credentials.consecutive_failures",
        "Name         : smithy.client.call.duration",
        "reason: forced",
        "reason: initial",
        "role: arn:aws:iam::111111111111:role/CrossAccountDynamoRole",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
}
