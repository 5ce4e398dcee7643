//! Every fault switch of the DAX gateway, exercised with the official Python and Node clients,
//! asserting the error each surfaces; and session-key expiry through `AuthVerifier::KeyStore` over the stack's session keys.
//! Each test has its own gateway (the switches are per gateway), so they run in parallel.
#![allow(clippy::disallowed_methods)]

mod support;

use std::time::{Duration, Instant};

use cross_account_dynamodb::dax::codec::Method;
use cross_account_dynamodb::dax::gateway::{FaultKind, Outcome, RejectReason, RequestRecord};
use cross_account_dynamodb::{AuthVerifier, DaxGateway};
use serde_json::{json, Value};
use support::gateway::{self as gw, ClientRun, Official};
use support::Stack;

fn get_op(stack: &Stack, pk: &str) -> Value {
    json!({"op": "GetItem", "params": {"TableName": stack.table(),
        "Key": {"pk": {"S": pk}, "sk": {"N": "1"}}}})
}

fn data(log: &[RequestRecord], m: Method) -> Vec<&RequestRecord> {
    log.iter().filter(|r| r.method == m).collect()
}

/// Waits (up to 20 s) until the request log holds a successful `m`.
async fn wait_for_ok(gateway: &DaxGateway, m: Method) {
    let start = Instant::now();
    while !gateway
        .request_log()
        .iter()
        .any(|r| r.method == m && r.outcome.is_ok())
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no {m:?} served");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- throttling -----------------------------------------------------------------------------

async fn throttle_retried_then_surfaced(client: Official) {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    gateway.faults().throttle_always(true);
    let run = ClientRun::new(client, gateway.endpoint(), stack);
    let r = gw::run(run, json!([get_op(stack, "throttled")])).await;
    assert_eq!(
        gw::error_code(&r[0]),
        "ProvisionedThroughputExceededException",
        "{}: {r:?}",
        client.name()
    );
    assert_eq!(r[0]["class"], "DaxServiceError", "{}", client.name());
    let log = gateway.request_log();
    let gets = data(&log, Method::GetItem);
    assert!(gets.len() >= 2, "{}: retried: {gets:#?}", client.name());
    assert!(gets
        .iter()
        .all(|g| g.outcome == Outcome::Fault(FaultKind::Throttle)));
    let attempts: Vec<u32> = gets.iter().map(|g| g.attempt).collect();
    assert_eq!(
        attempts,
        (1..=gets.len() as u32).collect::<Vec<_>>(),
        "{}: the same request, attempt after attempt",
        client.name()
    );
    assert_eq!(
        gateway.faults().fired(FaultKind::Throttle),
        gets.len() as u64
    );

    // One throttle only: the client's retry goes through.
    gateway.clear_logs();
    gateway.faults().reset();
    gateway.faults().throttle_next(1);
    let run = ClientRun::new(client, gateway.endpoint(), stack);
    let r = gw::run(run, json!([get_op(stack, "throttled-once")])).await;
    gw::output(&r[0]);
    let log = gateway.request_log();
    let gets: Vec<_> = data(&log, Method::GetItem)
        .iter()
        .map(|g| (g.attempt, g.outcome.clone()))
        .collect();
    assert_eq!(
        gets,
        [(1, Outcome::Fault(FaultKind::Throttle)), (2, Outcome::Ok)],
        "{}",
        client.name()
    );
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_python() {
    throttle_retried_then_surfaced(Official::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_node() {
    throttle_retried_then_surfaced(Official::Node).await;
}

// ---- unprocessed items ----------------------------------------------------------------------

async fn unprocessed_returned(client: Official) {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    gateway.faults().unprocessed_always(true);
    let table = stack.table();
    let pk = support::unique_name("unprocessed");
    let item = json!({"pk": {"S": pk}, "sk": {"N": "7"}, "note": {"S": "never written"}});
    let key = json!({"pk": {"S": pk}, "sk": {"N": "7"}});
    let ops = json!([
        {"op": "BatchWriteItem", "params": {"RequestItems": {table: [{"PutRequest": {"Item": item}}]}}},
        {"op": "BatchGetItem", "params": {"RequestItems": {table: {"Keys": [key]}}}},
    ]);
    let run = ClientRun::new(client, gateway.endpoint(), stack);
    let r = gw::run(run, ops).await;
    let who = client.name();
    let unprocessed = &gw::output(&r[0])["UnprocessedItems"][table];
    assert_eq!(
        unprocessed.as_array().map(Vec::len),
        Some(1),
        "{who}: {r:?}"
    );
    match client {
        // Python rebuilds the item from the reply's VALUES: the whole item comes back.
        Official::Python => assert_eq!(unprocessed[0]["PutRequest"]["Item"], item, "{who}"),
        // Node 3.1.0 leaves unprocessed items attribute-list encoded (a client limitation).
        Official::Node => assert!(unprocessed[0]["PutRequest"]["Item"].is_object(), "{who}"),
    }
    let bg = gw::output(&r[1]);
    assert_eq!(bg["UnprocessedKeys"][table]["Keys"], json!([key]), "{who}");
    assert!(
        bg["Responses"].get(table).is_none() || bg["Responses"][table] == json!([]),
        "{who}: {bg}"
    );
    assert_eq!(gateway.faults().fired(FaultKind::Unprocessed), 2);
    // Nothing was forwarded: the item does not exist.
    gateway.faults().reset();
    let run = ClientRun::new(client, gateway.endpoint(), stack);
    let r = gw::run(
        run,
        json!([{"op": "GetItem", "params": {"TableName": table, "Key": key}}]),
    )
    .await;
    assert!(gw::output(&r[0]).get("Item").is_none(), "{who}: {r:?}");
    let log = gateway.request_log();
    assert_eq!(
        data(&log, Method::BatchWriteItem)[0].outcome,
        Outcome::Fault(FaultKind::Unprocessed)
    );
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_items_python() {
    unprocessed_returned(Official::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_items_node() {
    unprocessed_returned(Official::Node).await;
}

// ---- auth rejection -------------------------------------------------------------------------

/// Python authorizes its very first (discovery) connection: with every authorization refused,
/// the client cannot even start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_rejection_python_fails_at_start() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    gateway.faults().reject_auth_always(true);
    let run = ClientRun::new(Official::Python, gateway.endpoint(), stack);
    let r = gw::run(run, json!([get_op(stack, "x")])).await;
    assert_eq!(gw::error_code(&r[0]), "AuthenticationRequiredException");
    assert_eq!(r[0]["class"], "DaxServiceError");
    assert_eq!(r[0]["phase"], "construct");
    let auth = gateway.auth_log();
    assert!(!auth.is_empty());
    assert!(auth
        .iter()
        .all(|a| a.rejected == Some(RejectReason::FaultInjected)));
    let log = gateway.request_log();
    assert!(log
        .iter()
        .all(|r| r.outcome == Outcome::Rejected(RejectReason::FaultInjected)));
    assert!(log.iter().any(|r| r.method == Method::Endpoints));
    gateway.shutdown().await;
}

/// Mid-run: the client's connection is broken (Python drops its pool on the throttle error;
/// Node's tubes are closed by dropped replies), its new connections' authorizations are
/// refused, and the request fails with AuthenticationRequiredException.
async fn auth_rejection_mid_run(client: Official) {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    let run = ClientRun::new(client, gateway.endpoint(), stack)
        .arg("--retries")
        .arg("4");
    let ops = json!([get_op(stack, "a"), {"op": "Sleep", "seconds": 1.0}, get_op(stack, "b")]);
    let h = tokio::spawn(gw::run(run, ops));
    wait_for_ok(&gateway, Method::GetItem).await;
    gateway.faults().reject_auth_always(true);
    match client {
        Official::Python => gateway.faults().throttle_next(1),
        Official::Node => gateway.faults().drop_next(2),
    }
    let r = h.await.unwrap();
    let who = client.name();
    let log = gateway.request_log();
    let shown: Vec<_> = log
        .iter()
        .map(|g| {
            format!(
                "{} {:?} conn {} {}",
                g.listener, g.method, g.connection, g.outcome
            )
        })
        .collect();
    gw::output(&r[0]);
    assert_eq!(
        gw::error_code(&r[2]),
        "AuthenticationRequiredException",
        "{who}: {r:?}\n{shown:#?}"
    );
    let gets: Vec<_> = data(&log, Method::GetItem)
        .into_iter()
        .map(|g| g.outcome.clone())
        .collect();
    assert_eq!(gets[0], Outcome::Ok);
    assert!(
        gets.contains(&Outcome::Rejected(RejectReason::FaultInjected)),
        "{who}: {shown:#?}"
    );
    assert!(gateway
        .auth_log()
        .iter()
        .any(|a| a.rejected == Some(RejectReason::FaultInjected)));
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_rejection_mid_run_python() {
    auth_rejection_mid_run(Official::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_rejection_mid_run_node() {
    auth_rejection_mid_run(Official::Node).await;
}

// ---- slow replies ---------------------------------------------------------------------------

async fn slow_replies(client: Official) {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    let who = client.name();
    // A little slow: served, and it took that long.
    gateway.faults().set_slow(Some(Duration::from_millis(400)));
    let ops = json!([get_op(stack, "warm"), get_op(stack, "slow")]);
    let started = Instant::now();
    let r = gw::run(ClientRun::new(client, gateway.endpoint(), stack), ops).await;
    gw::output(&r[0]);
    gw::output(&r[1]);
    assert!(started.elapsed() >= Duration::from_millis(800));
    // Slower than the client's timeout: it gives up.
    gateway.faults().set_slow(Some(Duration::from_secs(3)));
    let run = match client {
        Official::Python => ClientRun::new(client, gateway.endpoint(), stack)
            .arg("--read-timeout")
            .arg("0.5"),
        Official::Node => ClientRun::new(client, gateway.endpoint(), stack)
            .arg("--request-timeout")
            .arg("500"),
    };
    let r = gw::run(run, json!([get_op(stack, "too-slow")])).await;
    match client {
        Official::Python => {
            assert_eq!(r[0]["ok"], false, "{who}: {r:?}");
            assert_eq!(r[0]["class"], "TimeoutError", "{who}: {r:?}");
        }
        Official::Node => {
            assert_eq!(gw::error_code(&r[0]), "ConnectionException", "{who}: {r:?}");
            assert_eq!(r[0]["class"], "TimeoutError", "{who}: {r:?}");
        }
    }
    assert!(gateway.faults().fired(FaultKind::Slow) >= 3);
    gateway.shutdown().await;
}

/// Wall-clock bounds (delays against client timeouts): run alone (nextest serial-timing).
mod timing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_replies_python() {
        slow_replies(Official::Python).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_replies_node() {
        slow_replies(Official::Node).await;
    }
}

// ---- dropped mid-reply ----------------------------------------------------------------------

async fn dropped_mid_reply(client: Official) {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    gateway.faults().drop_next(1000);
    let run = ClientRun::new(client, gateway.endpoint(), stack);
    let r = gw::run(run, json!([get_op(stack, "dropped")])).await;
    let who = client.name();
    match client {
        // Python surfaces the half-read reply as its decoder's end-of-data error.
        Official::Python => {
            assert_eq!(r[0]["ok"], false, "{who}: {r:?}");
            assert_eq!(r[0]["class"], "NoMoreData", "{who}: {r:?}");
        }
        Official::Node => {
            assert_eq!(gw::error_code(&r[0]), "ConnectionException", "{who}: {r:?}");
            assert_eq!(r[0]["class"], "DaxClientError", "{who}: {r:?}");
        }
    }
    let log = gateway.request_log();
    let gets = data(&log, Method::GetItem);
    assert!(!gets.is_empty());
    assert!(gets
        .iter()
        .all(|g| g.outcome == Outcome::Fault(FaultKind::DropMidReply)));
    assert_eq!(
        gateway.faults().fired(FaultKind::DropMidReply),
        gets.len() as u64
    );
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_mid_reply_python() {
    dropped_mid_reply(Official::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_mid_reply_node() {
    dropped_mid_reply(Official::Node).await;
}

// ---- expiry through LocalStack --------------------------------------------------------------

/// A ShortSessionRole session key (assumed with B's credentials) authorizes the client's
/// connections; once the stack expires it, the next request fails with the auth error and the
/// request log shows Rejected(KeyExpired); re-authorizing with the same key does not help.
async fn expiry_through_local_stack(client: Official) {
    let stack = Stack::shared();
    let sts = aws_sdk_sts::Client::new(&stack.b_config().await);
    let session = sts
        .assume_role()
        .role_arn(stack.var("SHORT_SESSION_ROLE_ARN"))
        .role_session_name(support::unique_name("gw-expiry"))
        .send()
        .await
        .expect("assume ShortSessionRole");
    let c = session.credentials().expect("credentials");
    let key = c.access_key_id().to_owned();
    let gateway = gw::builder(stack)
        .await
        .auth(AuthVerifier::KeyStore(std::sync::Arc::new(
            support::stack_keys::StackKeys::new(stack.control_url()),
        )))
        .start()
        .await
        .unwrap();
    let run = ClientRun::new(client, gateway.endpoint(), stack).credentials(
        &key,
        c.secret_access_key(),
        Some(c.session_token()),
    );
    let ops = json!([get_op(stack, "a"), {"op": "Sleep", "seconds": 1.0}, get_op(stack, "b")]);
    let h = tokio::spawn(gw::run(run, ops));
    wait_for_ok(&gateway, Method::GetItem).await;
    stack.expire_key(&key);
    let r = h.await.unwrap();
    let who = client.name();
    gw::output(&r[0]);
    assert_eq!(
        gw::error_code(&r[2]),
        "AuthenticationRequiredException",
        "{who}: {r:?}"
    );
    let log = gateway.request_log();
    let gets = data(&log, Method::GetItem);
    assert_eq!(gets[0].outcome, Outcome::Ok);
    assert_eq!(gets[0].access_key_id.as_deref(), Some(key.as_str()));
    assert!(gets[1..]
        .iter()
        .all(|g| g.outcome == Outcome::Rejected(RejectReason::KeyExpired)));
    assert!(gets.len() >= 2, "{who}: {gets:#?}");
    let auth = gateway.auth_log();
    assert!(auth.iter().all(|a| a.access_key_id == key));
    assert!(auth.iter().any(|a| a.accepted()));
    // the client re-authorized with the same (expired) key: refused, per key id
    assert!(
        auth.iter()
            .any(|a| a.rejected == Some(RejectReason::KeyExpired)),
        "{who}: {auth:#?}"
    );
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_expiry_python() {
    expiry_through_local_stack(Official::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_expiry_node() {
    expiry_through_local_stack(Official::Node).await;
}
