//! The fault matrix: each scenario, set up for real on the local AWS stack or a dax-local
//! gateway, must be classified with the right check id, status and cause.
//!
//! Needs the local stack (`XACCT_STACK_ENV_FILE`, see scripts/stack/README.md).
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use common::{check_shape, closed_port, discovery_stub, expect, fake_sts_region_disabled, Stack};
use xacct_dax_local::{AuthVerifier, DaxGateway, TlsConfig};
use xacct_doctor::{run, Cause, CheckId, Options, Report, Status};

const DAX_IDS: [CheckId; 6] = [
    CheckId::DaxDns,
    CheckId::DaxConnect,
    CheckId::DaxTls,
    CheckId::DaxAuth,
    CheckId::DaxNodes,
    CheckId::DaxRequest,
];

fn secrets(stack: &Stack) -> Vec<String> {
    vec![
        stack.var("B_SECRET_ACCESS_KEY"),
        stack.var("B_DYNAMO_SECRET_ACCESS_KEY"),
        stack.var("A_SECRET_ACCESS_KEY"),
        stack.external_id(),
    ]
}

async fn doctor(stack: &Stack, creds: Credentials, options: Options) -> Report {
    let mut secrets = secrets(stack);
    secrets.push(creds.secret_access_key().to_owned());
    if let Some(t) = creds.session_token() {
        secrets.push(t.to_owned());
    }
    if let Some(x) = &options.external_id {
        secrets.push(x.clone());
    }
    let options = options.source(stack.config(creds).await);
    let report = run(&options).await;
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    check_shape(&report, &refs);
    report
}

fn healthy_options(stack: &Stack) -> Options {
    Options::new(stack.role_arn())
        .external_id(stack.external_id())
        .session_name(format!("doctor-matrix-{}", std::process::id()))
        .table(stack.table())
}

fn expect_http_healthy(r: &Report) {
    expect(r, CheckId::SourceIdentity, Status::Pass, None);
    expect(r, CheckId::AssumeRole, Status::Pass, None);
    expect(r, CheckId::ExternalId, Status::Pass, None);
    expect(r, CheckId::Table, Status::Pass, None);
}

fn expect_dax_skipped(r: &Report) {
    for id in DAX_IDS {
        expect(r, id, Status::Skip, None);
    }
}

async fn gateway(
    stack: &Stack,
    backend: Credentials,
    auth: AuthVerifier,
    tls: Option<TlsConfig>,
) -> DaxGateway {
    let mut b = DaxGateway::builder()
        .backend(&stack.config(backend).await)
        .nodes(3)
        .auth(auth);
    if let Some(t) = tls {
        b = b.tls(t);
    }
    b.start().await.expect("start the DAX gateway")
}

// ---- HTTP side -------------------------------------------------------------------------------

#[tokio::test]
async fn healthy_over_http() {
    let stack = Stack::shared();
    let r = doctor(&stack, stack.b_credentials(), healthy_options(&stack)).await;
    expect_http_healthy(&r);
    expect_dax_skipped(&r);
    assert!(r.ok());
    assert_eq!(r.exit_code(), 0);
}

#[tokio::test]
async fn no_source_credentials() {
    let stack = Stack::shared();
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(stack.region()))
        .endpoint_url(stack.endpoint())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let r = run(healthy_options(&stack).source(sdk)).await;
    check_shape(&r, &[]);
    expect(
        &r,
        CheckId::SourceIdentity,
        Status::Fail,
        Some(Cause::SourceCredentialsMissing),
    );
    for id in &CheckId::ALL[1..] {
        expect(&r, *id, Status::Skip, None);
    }
    assert_eq!(r.exit_code(), 1);
}

#[tokio::test]
async fn rejected_source_key() {
    let stack = Stack::shared();
    let creds = Credentials::new(
        stack.var("B_ACCESS_KEY_ID"),
        "not-the-secret",
        None,
        None,
        "t",
    );
    let r = doctor(&stack, creds, healthy_options(&stack)).await;
    expect(
        &r,
        CheckId::SourceIdentity,
        Status::Fail,
        Some(Cause::SourceCredentialsRejected),
    );
    expect(&r, CheckId::AssumeRole, Status::Skip, None);
}

#[tokio::test]
async fn expired_source_credentials() {
    let stack = Stack::shared();
    let session = stack
        .assume(&stack.var("CHAIN_TARGET_ROLE_ARN"), None)
        .await;
    stack.expire_key(session.access_key_id());
    let r = doctor(&stack, session, healthy_options(&stack)).await;
    expect(
        &r,
        CheckId::SourceIdentity,
        Status::Fail,
        Some(Cause::SourceCredentialsRejected),
    );
    let detail = &r.check(CheckId::SourceIdentity).unwrap().detail;
    assert!(detail.contains("expired"), "{detail}");
}

#[tokio::test]
async fn sts_down() {
    let stack = Stack::shared();
    let port = closed_port();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(stack.region()))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(stack.b_credentials())
        .load()
        .await;
    let started = Instant::now();
    let r = run(healthy_options(&stack).source(sdk)).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    check_shape(&r, &[&stack.var("B_SECRET_ACCESS_KEY")]);
    expect(
        &r,
        CheckId::SourceIdentity,
        Status::Fail,
        Some(Cause::StsUnreachable),
    );
    expect(&r, CheckId::AssumeRole, Status::Skip, None);
}

#[tokio::test]
async fn region_disabled() {
    // The stack cannot disable a region: a fake STS answers AssumeRole as STS does for an
    // account that has not activated STS in the region.
    let stack = Stack::shared();
    let sts = fake_sts_region_disabled().await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("ap-southeast-3"))
        .endpoint_url(format!("http://{sts}"))
        .credentials_provider(stack.b_credentials())
        .load()
        .await;
    let r = run(healthy_options(&stack).source(sdk)).await;
    check_shape(
        &r,
        &[&stack.var("B_SECRET_ACCESS_KEY"), &stack.external_id()],
    );
    expect(&r, CheckId::SourceIdentity, Status::Pass, None);
    expect(
        &r,
        CheckId::AssumeRole,
        Status::Fail,
        Some(Cause::RegionDisabled),
    );
    let fix = r.check(CheckId::AssumeRole).unwrap().fix.clone().unwrap();
    assert!(fix.contains("ap-southeast-3"), "{fix}");
}

#[tokio::test]
async fn wrong_external_id() {
    let stack = Stack::shared();
    let options = healthy_options(&stack).external_id("not-the-external-id");
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::SourceIdentity, Status::Pass, None);
    expect(
        &r,
        CheckId::AssumeRole,
        Status::Fail,
        Some(Cause::AssumeRoleDenied),
    );
    let c = r.check(CheckId::AssumeRole).unwrap();
    let first = c.detail.lines().next().unwrap_or_default();
    assert!(
        first.contains("first: 1. the ExternalId"),
        "ExternalId first: {}",
        c.detail
    );
    let fix = c.fix.as_deref().unwrap();
    assert!(
        fix.contains("sts:ExternalId") && fix.contains("arn:aws:iam::222222222222:root"),
        "{fix}"
    );
    expect(&r, CheckId::ExternalId, Status::Skip, None);
    expect(&r, CheckId::Table, Status::Skip, None);
}

#[tokio::test]
async fn untrusted_account() {
    let stack = Stack::shared();
    let options = Options::new(stack.var("UNTRUSTED_ROLE_ARN")).table(stack.table());
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(
        &r,
        CheckId::AssumeRole,
        Status::Fail,
        Some(Cause::AssumeRoleDenied),
    );
    let detail = &r.check(CheckId::AssumeRole).unwrap().detail;
    assert!(
        detail
            .lines()
            .next()
            .unwrap()
            .contains("1. the trust policy"),
        "{detail}"
    );
    expect(&r, CheckId::ExternalId, Status::Skip, None);
}

#[tokio::test]
async fn source_without_sts_assume_role() {
    let stack = Stack::shared();
    let r = doctor(
        &stack,
        stack.b_dynamo_credentials(),
        healthy_options(&stack),
    )
    .await;
    expect(&r, CheckId::SourceIdentity, Status::Pass, None);
    expect(
        &r,
        CheckId::AssumeRole,
        Status::Fail,
        Some(Cause::AssumeRoleDenied),
    );
    let c = r.check(CheckId::AssumeRole).unwrap();
    assert!(c.fix.as_deref().unwrap().contains("user/b-dynamo"), "{c:?}");
}

#[tokio::test]
async fn external_id_not_enforced() {
    let stack = Stack::shared();
    let options = Options::new(stack.var("CHAIN_TARGET_ROLE_ARN"))
        .external_id("any-external-id")
        .table(stack.table());
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::AssumeRole, Status::Pass, None);
    expect(
        &r,
        CheckId::ExternalId,
        Status::Warn,
        Some(Cause::ExternalIdNotEnforced),
    );
    expect(&r, CheckId::Table, Status::Pass, None);
    assert!(r.ok(), "a warning is not a failure");
}

#[tokio::test]
async fn duration_too_long() {
    let stack = Stack::shared();
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).duration_seconds(7200),
    )
    .await;
    expect(
        &r,
        CheckId::AssumeRole,
        Status::Fail,
        Some(Cause::DurationExceedsMaxSession),
    );
    let fix = r.check(CheckId::AssumeRole).unwrap().fix.clone().unwrap();
    assert!(fix.contains("--max-session-duration"), "{fix}");
}

#[tokio::test]
async fn missing_table() {
    let stack = Stack::shared();
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).table("no-such-table"),
    )
    .await;
    expect(&r, CheckId::AssumeRole, Status::Pass, None);
    expect(&r, CheckId::Table, Status::Fail, Some(Cause::TableNotFound));
}

#[tokio::test]
async fn role_without_get_item() {
    let stack = Stack::shared();
    let options = Options::new(stack.var("NO_GETITEM_ROLE_ARN")).table(stack.table());
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::ExternalId, Status::Skip, None);
    expect(
        &r,
        CheckId::Table,
        Status::Fail,
        Some(Cause::TableAccessDenied),
    );
    let fix = r.check(CheckId::Table).unwrap().fix.clone().unwrap();
    assert!(
        fix.contains("dynamodb:GetItem") && fix.contains("table/orders"),
        "{fix}"
    );
}

#[tokio::test]
async fn role_without_describe_table() {
    let stack = Stack::with_var("NO_DESCRIBE_TABLE_ROLE_ARN");
    let options = Options::new(stack.var("NO_DESCRIBE_TABLE_ROLE_ARN")).table(stack.table());
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(
        &r,
        CheckId::Table,
        Status::Warn,
        Some(Cause::TableDescribeDenied),
    );
    let fix = r.check(CheckId::Table).unwrap().fix.clone().unwrap();
    assert!(fix.contains("dynamodb:DescribeTable"), "{fix}");
    assert!(r.ok());
}

// ---- DAX, through dax-local ------------------------------------------------------------------

#[tokio::test]
async fn healthy_over_dax() {
    let stack = Stack::shared();
    let gw = gateway(&stack, stack.a_credentials(), AuthVerifier::AcceptAll, None).await;
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).dax(gw.endpoint()),
    )
    .await;
    expect_http_healthy(&r);
    expect(&r, CheckId::DaxDns, Status::Pass, None);
    expect(&r, CheckId::DaxConnect, Status::Pass, None);
    expect(&r, CheckId::DaxTls, Status::Skip, None);
    expect(&r, CheckId::DaxAuth, Status::Pass, None);
    expect(&r, CheckId::DaxNodes, Status::Pass, None);
    expect(&r, CheckId::DaxRequest, Status::Pass, None);
    assert!(r.ok());
    assert!(
        r.check(CheckId::DaxAuth)
            .unwrap()
            .detail
            .contains("3 node(s)"),
        "{r}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn healthy_over_dax_tls() {
    let stack = Stack::shared();
    let tls = TlsConfig::self_signed("localhost");
    let gw = gateway(
        &stack,
        stack.a_credentials(),
        AuthVerifier::AcceptAll,
        Some(tls),
    )
    .await;
    let ca = std::fs::read(gw.ca_pem_path().expect("CA file")).expect("read CA");
    let options = healthy_options(&stack).dax(gw.endpoint()).dax_ca_pem(ca);
    assert!(
        gw.endpoint().starts_with("daxs://localhost:"),
        "{}",
        gw.endpoint()
    );
    let r = doctor(&stack, stack.b_credentials(), options).await;
    for id in DAX_IDS {
        expect(&r, id, Status::Pass, None);
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn dax_unresolvable_name() {
    let stack = Stack::shared();
    let options = healthy_options(&stack).dax("dax://doctor-no-such-cluster.invalid:8111");
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect_http_healthy(&r);
    expect(&r, CheckId::DaxDns, Status::Fail, Some(Cause::DaxDnsFailed));
    for id in &DAX_IDS[1..] {
        expect(&r, *id, Status::Skip, None);
    }
}

#[tokio::test]
async fn dax_no_listener() {
    let stack = Stack::shared();
    let options = healthy_options(&stack).dax(format!("dax://127.0.0.1:{}", closed_port()));
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::DaxDns, Status::Pass, None);
    expect(
        &r,
        CheckId::DaxConnect,
        Status::Fail,
        Some(Cause::DaxConnectionRefused),
    );
    expect(&r, CheckId::DaxTls, Status::Skip, None);
}

#[tokio::test]
async fn dax_wrong_tls_name() {
    let stack = Stack::shared();
    let tls = TlsConfig::self_signed("dax.doctor.test");
    let gw = gateway(
        &stack,
        stack.a_credentials(),
        AuthVerifier::AcceptAll,
        Some(tls),
    )
    .await;
    let ca = std::fs::read(gw.ca_pem_path().expect("CA file")).expect("read CA");
    // the certificate names dax.doctor.test (and 127.0.0.1), not localhost
    let options = healthy_options(&stack)
        .dax(format!("daxs://localhost:{}", gw.port()))
        .dax_ca_pem(ca);
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::DaxConnect, Status::Pass, None);
    expect(&r, CheckId::DaxTls, Status::Fail, Some(Cause::DaxTlsFailed));
    expect(&r, CheckId::DaxAuth, Status::Skip, None);
    println!("{r}");
    gw.shutdown().await;
}

#[tokio::test]
async fn dax_auth_rejected() {
    let stack = Stack::shared();
    // knows no key: every authorizeConnection is refused
    let auth = AuthVerifier::StaticSecrets(HashMap::new());
    let gw = gateway(&stack, stack.a_credentials(), auth, None).await;
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).dax(gw.endpoint()),
    )
    .await;
    expect(&r, CheckId::DaxConnect, Status::Pass, None);
    expect(
        &r,
        CheckId::DaxAuth,
        Status::Fail,
        Some(Cause::DaxAuthRejected),
    );
    expect(&r, CheckId::DaxNodes, Status::Skip, None);
    expect(&r, CheckId::DaxRequest, Status::Skip, None);
    gw.shutdown().await;
}

#[tokio::test]
async fn dax_request_denied() {
    let stack = Stack::shared();
    // the cluster's own identity (its "service role") may not GetItem
    let backend = stack.assume(&stack.var("NO_GETITEM_ROLE_ARN"), None).await;
    let gw = gateway(&stack, backend, AuthVerifier::AcceptAll, None).await;
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).dax(gw.endpoint()),
    )
    .await;
    expect_http_healthy(&r);
    expect(&r, CheckId::DaxAuth, Status::Pass, None);
    expect(&r, CheckId::DaxNodes, Status::Pass, None);
    expect(
        &r,
        CheckId::DaxRequest,
        Status::Fail,
        Some(Cause::DaxRequestDenied),
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn dax_node_unreachable() {
    let stack = Stack::shared();
    // discovery lists a node nothing answers at (a killed node the listing still names)
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let stub = discovery_stub(vec![dead]).await;
    let options = Options::new(stack.role_arn())
        .external_id(stack.external_id())
        .dax(format!("dax://{stub}"));
    let r = doctor(&stack, stack.b_credentials(), options).await;
    expect(&r, CheckId::DaxConnect, Status::Pass, None);
    expect(&r, CheckId::DaxAuth, Status::Pass, None);
    expect(
        &r,
        CheckId::DaxNodes,
        Status::Fail,
        Some(Cause::DaxNodeUnreachable),
    );
    let detail = &r.check(CheckId::DaxNodes).unwrap().detail;
    assert!(detail.contains(&dead.to_string()), "{detail}");
    expect(&r, CheckId::DaxRequest, Status::Skip, None);
    println!("{r}");
}

#[tokio::test]
async fn dax_killed_node_after_discovery() {
    // A real gateway: a node killed between discovery and use is dropped from the listing, so
    // the doctor sees two healthy nodes, not a failure (the listing is what clients use).
    let stack = Stack::shared();
    let gw = gateway(&stack, stack.a_credentials(), AuthVerifier::AcceptAll, None).await;
    gw.kill_node(2).expect("kill");
    let r = doctor(
        &stack,
        stack.b_credentials(),
        healthy_options(&stack).dax(gw.endpoint()),
    )
    .await;
    expect(&r, CheckId::DaxNodes, Status::Pass, None);
    assert!(
        r.check(CheckId::DaxNodes)
            .unwrap()
            .detail
            .contains("all 2 node(s)"),
        "{r}"
    );
    gw.shutdown().await;
}
