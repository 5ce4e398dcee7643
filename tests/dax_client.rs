//! The DAX client end to end: our transport → the DAX gateway → the local stack, with
//! assumed-role credentials for account A (verified by the gateway against the stack).
//!
//! Every DAX data operation, the typed errors, the forwarding of other operations, retries
//! (throttling, auth rejection), legacy parameters, TLS with its negative controls, the pool,
//! single-flight metadata calls, the connection cap, and connections closed on doubt.
#![allow(clippy::disallowed_methods)] // tokio::time::timeout drops a request mid-flight

mod support;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactGetItem, TransactWriteItem,
    Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use cross_account_dynamodb::dax::codec::Method;
use cross_account_dynamodb::dax::gateway::Outcome;
use cross_account_dynamodb::dax::transport::DaxError;
use cross_account_dynamodb::{
    AssumedRoleCredentials, AuthVerifier, DaxGateway, DaxOptions, TlsConfig,
};
use support::{dax_client, unique_name, Stack};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

async fn creds(stack: &Stack) -> AssumedRoleCredentials {
    dax_client::assume_role(stack, "dax-client").await
}

async fn gateway(stack: &Stack, nodes: usize, tls: Option<TlsConfig>) -> DaxGateway {
    dax_client::verified_gateway(stack, nodes, tls).await
}

/// A composite-key table (pk S, sk N), created through the DAX client (which proves
/// forwarding).
async fn table(dax: &Client) -> String {
    let name = unique_name("daxc");
    dax_client::create_table(
        dax,
        &name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    name
}

fn dax_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a DaxError> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(d) = c.downcast_ref::<DaxError>() {
            return Some(d);
        }
        cur = c.source();
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_operation_through_the_gateway() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    let desc = dax.describe_table().table_name(&t).send().await.unwrap();
    assert_eq!(desc.table().unwrap().table_name(), Some(t.as_str()));

    // PutItem, then GetItem with and without a projection.
    dax.put_item()
        .table_name(&t)
        .item("pk", s("a"))
        .item("sk", n("1"))
        .item("v", s("one"))
        .item("count", n("10"))
        .item("tags", AttributeValue::Ss(vec!["x".into(), "y".into()]))
        .send()
        .await
        .unwrap();
    let got = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = got.item().unwrap();
    assert_eq!(item["v"], s("one"));
    assert_eq!(item["pk"], s("a"));
    assert_eq!(item["sk"], n("1"));
    let projected = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .projection_expression("#v")
        .expression_attribute_names("#v", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(projected.item().unwrap().len(), 1);

    // UpdateItem with ADD and UPDATED_NEW.
    let up = dax
        .update_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .update_expression("ADD #c :one SET v = :v")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":v", s("uno"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    assert_eq!(up.attributes().unwrap()["count"], n("11"));

    // A failed condition: the SDK's typed error (DAX returns no item, see `dax()`'s docs).
    let err = dax
        .put_item()
        .table_name(&t)
        .item("pk", s("a"))
        .item("sk", n("1"))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "{service:?}"
    );

    // BatchWriteItem, then Query with a paginator (Limit 2 → several pages) and Scan.
    let puts: Vec<WriteRequest> = (2..=6)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s("a"))
                        .item("sk", n(&i.to_string()))
                        .item("v", s(&format!("v{i}")))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    let bw = dax
        .batch_write_item()
        .request_items(&t, puts)
        .send()
        .await
        .unwrap();
    assert!(bw.unprocessed_items().is_none_or(|u| u.is_empty()));
    let pages: Vec<_> = dax
        .query()
        .table_name(&t)
        .key_condition_expression("pk = :p AND sk > :z")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":z", n("0"))
        .limit(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let items: Vec<_> = pages.iter().flat_map(|p| p.items().to_vec()).collect();
    assert_eq!(items.len(), 6);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let sks: Vec<_> = items.iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(sks, (1..=6).map(|i| n(&i.to_string())).collect::<Vec<_>>());
    let scan = dax
        .scan()
        .table_name(&t)
        .filter_expression("begins_with(v, :p)")
        .expression_attribute_values(":p", s("v"))
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 5);

    // BatchGetItem.
    let keys = KeysAndAttributes::builder()
        .keys(HashMap::from([
            ("pk".into(), s("a")),
            ("sk".into(), n("2")),
        ]))
        .keys(HashMap::from([
            ("pk".into(), s("a")),
            ("sk".into(), n("3")),
        ]))
        .build()
        .unwrap();
    let bg = dax
        .batch_get_item()
        .request_items(&t, keys)
        .send()
        .await
        .unwrap();
    assert_eq!(bg.responses().unwrap()[&t].len(), 2);

    // TransactWriteItems that succeeds, one that is cancelled (reasons with the old item),
    // and TransactGetItems.
    dax.transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&t)
                        .item("pk", s("t"))
                        .item("sk", n("1"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&t)
                        .key("pk", s("a"))
                        .key("sk", n("2"))
                        .update_expression("SET w = :w")
                        .expression_attribute_values(":w", s("tx"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = dax
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&t)
                        .key("pk", s("a"))
                        .key("sk", n("3"))
                        .condition_expression("v = :nope")
                        .expression_attribute_values(":nope", s("nope"))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_transaction_canceled_exception(), "{err:?}");
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tce) = err else {
        unreachable!()
    };
    let reasons = tce.cancellation_reasons();
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code(), Some("ConditionalCheckFailed"));
    let old = reasons[0].item().expect("ALL_OLD item in the reason");
    assert_eq!(old["v"], s("v3"));
    assert_eq!(old["pk"], s("a"));
    let tg = dax
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(
                    aws_sdk_dynamodb::types::Get::builder()
                        .table_name(&t)
                        .key("pk", s("a"))
                        .key("sk", n("2"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(tg.responses()[0].item().unwrap()["w"], s("tx"));

    // DeleteItem with ALL_OLD.
    let del = dax
        .delete_item()
        .table_name(&t)
        .key("pk", s("t"))
        .key("sk", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(del.attributes().unwrap()["pk"], s("t"));

    // A missing table: ResourceNotFoundException, typed.
    let err = dax
        .get_item()
        .table_name("no-such-table")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");

    // Every data request went through the gateway, authorized by the assumed role's key.
    let key_id = creds.status().access_key_id.unwrap();
    let log = gw.request_log();
    for m in [
        Method::GetItem,
        Method::PutItem,
        Method::UpdateItem,
        Method::DeleteItem,
        Method::Query,
        Method::Scan,
        Method::BatchGetItem,
        Method::BatchWriteItem,
        Method::TransactGetItems,
        Method::TransactWriteItems,
    ] {
        assert!(
            log.iter()
                .any(|r| r.method == m && r.access_key_id.as_deref() == Some(key_id.as_str())),
            "no {m:?} in the gateway's request log"
        );
    }
    assert!(gw.auth_log().iter().all(|a| a.accepted()));
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_parameters_fail_before_any_io_naming_the_expression() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let err = dax
        .get_item()
        .table_name("whatever")
        .key("pk", s("a"))
        .attributes_to_get("v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let msg = err.message().unwrap_or_default();
    assert!(
        msg.contains("AttributesToGet") && msg.contains("use ProjectionExpression"),
        "{msg}"
    );
    assert!(gw.request_log().is_empty(), "{:?}", gw.request_log());
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_by_the_sdk_with_backoff() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    gw.faults().throttle_next(2);
    dax.get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .expect("the third attempt succeeds");
    let gets: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::GetItem)
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}");
    assert_eq!(gets.iter().filter(|r| r.outcome.is_ok()).count(), 1);

    // Always throttled: the typed throttling error after the SDK's attempts.
    gw.faults().throttle_always(true);
    let err = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            Some("ProvisionedThroughputExceededException" | "ThrottlingException")
        ),
        "{err:?}"
    );
    gw.faults().reset();
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_rejection_reauthorizes_and_the_request_is_retried() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    dax.put_item()
        .table_name(&t)
        .item("pk", s("a"))
        .item("sk", n("1"))
        .send()
        .await
        .unwrap();
    // The pooled connection is authorized; force the next authorization to fail by making the
    // connection re-authorize (a rotation) while the gateway refuses it once.
    gw.faults().reject_auth_next(1);
    creds.refresh_now().await.unwrap();
    dax.put_item()
        .table_name(&t)
        .item("pk", s("a"))
        .item("sk", n("2"))
        .send()
        .await
        .expect("retried after re-authorization");
    let auths = gw.auth_log();
    assert!(auths.iter().any(|a| !a.accepted()), "{auths:?}");
    let puts: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::PutItem)
        .collect();
    assert!(
        puts.iter()
            .any(|r| matches!(r.outcome, Outcome::Rejected(_))),
        "{puts:?}"
    );
    assert_eq!(
        puts.iter().filter(|r| r.outcome.is_ok()).count(),
        2,
        "{puts:?}"
    );
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_test_ca_and_a_connect_address_and_its_negative_controls() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 2, Some(TlsConfig::self_signed("localhost"))).await;
    let endpoint = gw.endpoint().to_owned();
    assert!(endpoint.starts_with("daxs://localhost:"), "{endpoint}");
    let ca = std::fs::read(gw.ca_pem_path().unwrap()).unwrap();
    let seed = std::net::SocketAddr::from(([127, 0, 0, 1], gw.port()));
    let options = || {
        DaxOptions::new()
            .connect_address(seed)
            .connect_timeout(std::time::Duration::from_secs(2))
    };

    let dax = creds
        .dax_with(&endpoint, options().ca_pem(ca.clone()))
        .unwrap();
    let t = table(&dax).await;
    dax.put_item()
        .table_name(&t)
        .item("pk", s("tls"))
        .item("sk", n("1"))
        .send()
        .await
        .unwrap();
    let got = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("tls"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());

    // Unknown CA: the system roots do not know the test CA.
    let untrusted = creds.dax_with(&endpoint, options()).unwrap();
    let err = untrusted
        .get_item()
        .table_name(&t)
        .key("pk", s("tls"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap_err();
    let d = dax_error(&err).unwrap_or_else(|| panic!("no DaxError in {err:?}"));
    assert!(d.is_tls(), "{d:?}");

    // Wrong name: the certificate names `localhost`, the endpoint another host.
    let port = gw.port();
    let wrong = creds
        .dax_with(
            &format!("daxs://not-the-cluster.example:{port}"),
            options().ca_pem(ca),
        )
        .unwrap();
    let err = wrong
        .get_item()
        .table_name(&t)
        .key("pk", s("tls"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap_err();
    let d = dax_error(&err).unwrap_or_else(|| panic!("no DaxError in {err:?}"));
    assert!(d.is_tls(), "{d:?}");
    assert!(d.to_string().contains("not-the-cluster.example"), "{d}");

    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

/// `creds.dax(endpoint)` asked again, with the same endpoint and options, and `pool.dax(..)`
/// for the same role share one transport: one discovery, the same connections. Other options
/// get a transport of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_the_same_endpoint_and_options_share_one_transport() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let first = creds.dax(gw.endpoint()).unwrap();
    let t = table(&first).await;
    let get = |c: &Client| {
        c.get_item()
            .table_name(&t)
            .key("pk", s("shared"))
            .key("sk", n("1"))
            .send()
    };
    get(&first).await.unwrap();
    let second = creds.dax(gw.endpoint()).unwrap();
    get(&second).await.unwrap();
    let endpoints = |gw: &DaxGateway| {
        gw.request_log()
            .iter()
            .filter(|r| r.method == Method::Endpoints)
            .count()
    };
    let connections = |gw: &DaxGateway| {
        let mut ids: Vec<u64> = gw
            .request_log()
            .iter()
            .filter(|r| r.method == Method::GetItem)
            .map(|r| r.connection)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    assert_eq!(
        endpoints(&gw),
        1,
        "the second client discovered the cluster again"
    );
    assert_eq!(
        connections(&gw),
        1,
        "the second client opened a connection of its own"
    );
    let other = creds
        .dax_with(
            gw.endpoint(),
            DaxOptions::new().request_timeout(std::time::Duration::from_secs(7)),
        )
        .unwrap();
    get(&other).await.unwrap();
    assert_eq!(endpoints(&gw), 2, "other options: a transport of its own");
    drop((first, second, other));
    first_dropped_then_rebuilt(&creds, &gw, &t).await;
    gw.shutdown().await;
}

/// Once every client of a transport is gone, asking again builds a new one (nothing is kept
/// alive by the sharing).
async fn first_dropped_then_rebuilt(creds: &AssumedRoleCredentials, gw: &DaxGateway, t: &str) {
    let before = gw
        .request_log()
        .iter()
        .filter(|r| r.method == Method::Endpoints)
        .count();
    let again = creds.dax(gw.endpoint()).unwrap();
    again
        .get_item()
        .table_name(t)
        .key("pk", s("shared"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    let after = gw
        .request_log()
        .iter()
        .filter(|r| r.method == Method::Endpoints)
        .count();
    assert_eq!(
        after,
        before + 1,
        "a dropped transport is not handed out again"
    );
    again.delete_table().table_name(t).send().await.unwrap();
}

/// A node refusing the connection's key (a revoked or skewed key) makes the provider drop that
/// key: the next request authorizes with freshly assumed credentials, as a rejected key on the
/// HTTP path does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_refused_by_a_node_is_invalidated_in_the_provider() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    let get = || {
        dax.get_item()
            .table_name(&t)
            .key("pk", s("k"))
            .key("sk", n("1"))
            .send()
    };
    get().await.unwrap(); // discovery and the key schema are done
    let refused_key = creds.status().access_key_id.clone().expect("a key");
    let generation = creds.status().generation;
    gw.faults().reject_auth_next(1);
    creds.refresh_now().await.unwrap(); // the next request re-authorizes, and is refused once
    let rotated_key = creds.status().access_key_id.clone().expect("a key");
    assert_ne!(refused_key, rotated_key);
    get()
        .await
        .expect("retried after the refused authorization");
    let status = creds.status();
    assert!(
        status.generation >= generation + 2,
        "the refused key was invalidated and replaced: {status:?}"
    );
    assert_ne!(status.access_key_id.as_deref(), Some(rotated_key.as_str()));
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn bad_endpoints_and_options_are_typed_errors_without_io() {
    let stack = Stack::shared();
    let creds = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id(stack.external_id())
        .configure(&stack.b_config().await)
        .build_deferred()
        .unwrap();
    let e = creds.dax("http://x").unwrap_err();
    assert!(e.is_invalid_input());
    assert_eq!(
        e.to_string(),
        "invalid DAX endpoint: `http://x`: the scheme must be dax:// or daxs:// \
         (expected dax://<cluster endpoint>[:port] or daxs://<cluster endpoint>[:port])"
    );
    let e = creds
        .dax_with(
            "daxs://localhost:1",
            DaxOptions::new().ca_pem(b"nope".to_vec()),
        )
        .unwrap_err();
    assert!(
        e.is_invalid_input() && e.to_string().contains("CA certificate"),
        "{e}"
    );
    // A zero where zero has no meaning is an error naming the setter, never replaced.
    use std::time::Duration;
    let zeros: [(&str, DaxOptions); 8] = [
        (
            "max_connections_per_node",
            DaxOptions::new().max_connections_per_node(0),
        ),
        (
            "max_pending_connects",
            DaxOptions::new().max_pending_connects(0),
        ),
        (
            "connect_timeout",
            DaxOptions::new().connect_timeout(Duration::ZERO),
        ),
        (
            "request_timeout",
            DaxOptions::new().request_timeout(Duration::ZERO),
        ),
        (
            "idle_timeout",
            DaxOptions::new().idle_timeout(Duration::ZERO),
        ),
        (
            "refresh_interval",
            DaxOptions::new().refresh_interval(Duration::ZERO),
        ),
        (
            "health_check_interval",
            DaxOptions::new().health_check_interval(Duration::ZERO),
        ),
        (
            "reauth_interval",
            DaxOptions::new().reauth_interval(Duration::ZERO),
        ),
    ];
    for (setter, options) in zeros {
        let e = creds.dax_with("dax://127.0.0.1:1", options).unwrap_err();
        assert!(e.is_invalid_input(), "{setter}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("invalid DaxOptions::{setter}: ")),
            "{setter}: {e}"
        );
    }
    // Building is sync and does no I/O: nothing listens on port 1.
    creds.dax("dax://127.0.0.1:1").unwrap();
    assert_eq!(
        creds.status().generation,
        0,
        "building a DAX client assumed the role"
    );
}

/// `examples/dax_quickstart.rs` as a user runs it on the local stack (the binary `cargo test`
/// builds), with the stack's variables and nothing of real AWS.
#[test]
fn the_quickstart_example_runs_on_the_local_stack() {
    let stack = Stack::shared();
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/dax_quickstart");
    assert!(
        path.exists(),
        "{} is missing: examples are built by `cargo test`",
        path.display()
    );
    let out = std::process::Command::new(path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(stack.vars())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "GetItem: note = Some(S(\"written over DAX from account B\"))",
        "Query: 1 item(s)",
        "conditional put: ConditionalCheckFailedException (ConditionalCheckFailedException: true)",
        "DescribeTable (forwarded to DynamoDB): Some(Active)",
        "all with the assumed key: true",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_dax_assumes_the_role_once_and_serves_dax() {
    use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
    let stack = Stack::shared();
    let gw = gateway(stack, 1, None).await;
    let pool = CrossAccountPool::builder()
        .configure(&stack.b_config().await)
        .build();
    let session = unique_name("dax-pool");
    let spec = || {
        RoleSpec::new(stack.role_arn())
            .external_id(stack.external_id())
            .session_name(&session)
    };
    // A bad endpoint fails before the role is assumed.
    let e = pool.dax(spec(), "https://cluster").await.unwrap_err();
    assert!(e.is_invalid_input(), "{e}");
    assert_eq!(stack.assume_role_count(stack.role_arn(), &session), 0);

    let dax = pool.dax(spec(), gw.endpoint()).await.unwrap();
    let t = table(&dax).await;
    dax.put_item()
        .table_name(&t)
        .item("pk", s("p"))
        .item("sk", n("1"))
        .send()
        .await
        .unwrap();
    let again = pool.dax(spec(), gw.endpoint()).await.unwrap();
    let got = again
        .get_item()
        .table_name(&t)
        .key("pk", s("p"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());
    assert_eq!(pool.len(), 1);
    assert_eq!(stack.assume_role_count(stack.role_arn(), &session), 1);
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_metadata_call_and_capped_connections() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let admin = creds.dax(gw.endpoint()).unwrap();
    let t = table(&admin).await;
    let dax = creds
        .dax_with(
            gw.endpoint(),
            DaxOptions::new()
                .max_connections_per_node(2)
                // No periodic `endpoints` during the test: the count below is discovery's.
                .refresh_interval(std::time::Duration::from_secs(600))
                .health_check_interval(std::time::Duration::from_secs(600)),
        )
        .unwrap();
    gw.clear_logs();
    for round in 0..3 {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (dax, t) = (dax.clone(), t.clone());
                tokio::spawn(async move {
                    dax.put_item()
                        .table_name(&t)
                        .item("pk", s(&format!("c{i}")))
                        .item("sk", n(&round.to_string()))
                        .item("payload", s("same attribute names every time"))
                        .send()
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
    let log = gw.request_log();
    let count = |m: Method| log.iter().filter(|r| r.method == m).count();
    assert_eq!(count(Method::PutItem), 48);
    assert_eq!(count(Method::DefineKeySchema), 1, "{log:?}");
    assert_eq!(count(Method::DefineAttributeListId), 1, "{log:?}");
    // 16 first requests at once discovered the cluster with one `endpoints` call.
    assert_eq!(count(Method::Endpoints), 1, "{log:?}");
    let connections: std::collections::BTreeSet<u64> = log
        .iter()
        .filter(|r| r.node().is_some())
        .map(|r| r.connection)
        .collect();
    assert!(
        (1..=2).contains(&connections.len()),
        "{} connections to a node capped at 2",
        connections.len()
    );
    admin.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_after_it_was_written_closes_its_connection() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    let get = || {
        dax.get_item()
            .table_name(&t)
            .key("pk", s("x"))
            .key("sk", n("1"))
            .send()
    };
    get().await.unwrap(); // metadata known, one pooled connection
    gw.faults()
        .set_slow(Some(std::time::Duration::from_secs(2)));
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(300), get()).await;
    assert!(dropped.is_err(), "the slow request finished: {dropped:?}");
    gw.faults().set_slow(None);
    get().await.unwrap();
    let gets: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::GetItem)
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}");
    // The first request's connection was reused by the second; the third could not reuse it.
    assert_eq!(gets[0].connection, gets[1].connection);
    assert_ne!(gets[1].connection, gets[2].connection, "{gets:?}");
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_debug_output_of_a_dax_client_or_its_errors() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let c = creds.credentials().await.unwrap();
    let secrets = [
        c.secret_access_key().to_owned(),
        c.session_token().unwrap().to_owned(),
    ];
    let config = creds.dax_config(gw.endpoint()).unwrap();
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    dax.get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    gw.faults().reject_auth_always(true);
    creds.refresh_now().await.unwrap(); // every connection re-authorizes, and is refused
    let err = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap_err();
    let d = dax_error(&err).unwrap_or_else(|| panic!("no DaxError in {err:?}"));
    assert!(d.is_auth(), "{d:?}");
    gw.faults().reset();
    let texts = [
        format!("{config:?}"),
        format!("{dax:?}"),
        format!("{err:?}"),
        format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        ),
        format!("{d:?}"),
    ];
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
    }
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn the_transport_without_its_interceptor_answers_a_clear_error() {
    let stack = Stack::shared();
    let creds = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id(stack.external_id())
        .configure(&stack.b_config().await)
        .build_deferred()
        .unwrap();
    let ours = creds.dax_config("dax://127.0.0.1:1").unwrap().build();
    // Someone reuses the transport in a config of their own, without the interceptor.
    let bare = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("dax://127.0.0.1:1")
        .http_client(ours.http_client().unwrap())
        .allow_no_auth()
        .auth_scheme_preference([aws_smithy_runtime_api::client::auth::AuthSchemeId::from(
            "noAuth",
        )])
        .build();
    let err = Client::from_conf(bare)
        .get_item()
        .table_name("t")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    let d = dax_error(&err).unwrap_or_else(|| panic!("no DaxError in {err:?}"));
    assert!(d.is_unsupported(), "{d:?}");
    assert!(d.to_string().contains("without its typed input"), "{d}");
    assert!(d.to_string().contains("AssumedRoleCredentials::dax"), "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_cut_in_half_is_retried_for_reads_and_reported_unknown_for_writes() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let t = table(&dax).await;
    let put = |sk: &'static str| {
        dax.update_item()
            .table_name(&t)
            .key("pk", s("half"))
            .key("sk", n(sk))
            .update_expression("ADD c :one")
            .expression_attribute_values(":one", n("1"))
            .send()
    };
    put("1").await.unwrap(); // metadata known

    // A read: the connection is closed on the broken reply and the SDK retries elsewhere.
    gw.faults().drop_next(1);
    let got = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("half"))
        .key("sk", n("1"))
        .send()
        .await
        .expect("an idempotent read is retried");
    assert_eq!(got.item().unwrap()["c"], n("1"));

    // A write: applied by the backend, its reply broken: not retried, outcome unknown.
    gw.faults().drop_next(1);
    let err = put("2").await.unwrap_err();
    let d = dax_error(&err).unwrap_or_else(|| panic!("no DaxError in {err:?}"));
    assert!(d.is_outcome_unknown(), "{d:?}");
    let updates: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::UpdateItem)
        .collect();
    assert_eq!(updates.len(), 2, "the write was retried: {updates:?}");
    // It was applied exactly once.
    let got = dax
        .get_item()
        .table_name(&t)
        .key("pk", s("half"))
        .key("sk", n("2"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["c"], n("1"));
    let gets: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::GetItem)
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}"); // broken + retried + the check
    assert_ne!(
        gets[0].connection, gets[1].connection,
        "a broken connection was reused"
    );
    dax.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

/// A provider of the caller's own: no rotation signal, so its key id is compared before each
/// request, and a connection re-authorizes as soon as the key changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_provider_is_followed_by_access_key_id() {
    use aws_credential_types::provider::{future, ProvideCredentials};
    use aws_credential_types::Credentials;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone)]
    struct Switching(Arc<Mutex<Credentials>>);
    impl ProvideCredentials for Switching {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(Ok(self.0.lock().unwrap().clone()))
        }
    }
    let key = |id: &str, secret: &str| Credentials::new(id, secret, None, None, "switching");

    let stack = Stack::shared();
    let backend = stack.sdk_config(stack.a_credentials()).await;
    let gw = DaxGateway::builder()
        .backend(&backend)
        .auth(AuthVerifier::StaticSecrets(HashMap::from([
            ("AKIDFIRST".to_owned(), "first-secret".to_owned()),
            ("AKIDSECOND".to_owned(), "second-secret".to_owned()),
        ])))
        .start()
        .await
        .unwrap();
    let admin = Client::new(&backend);
    let t = table(&admin).await;
    let ours = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id(stack.external_id())
        .configure(&stack.b_config().await)
        .build_deferred()
        .unwrap();
    let provider = Switching(Arc::new(Mutex::new(key("AKIDFIRST", "first-secret"))));
    let dax = ours
        .dax_with(
            gw.endpoint(),
            DaxOptions::new().credentials_provider(provider.clone()),
        )
        .unwrap();
    dax.put_item()
        .table_name(&t)
        .item("pk", s("f"))
        .item("sk", n("1"))
        .send()
        .await
        .unwrap();
    *provider.0.lock().unwrap() = key("AKIDSECOND", "second-secret");
    dax.get_item()
        .table_name(&t)
        .key("pk", s("f"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();

    let data: Vec<_> = gw
        .request_log()
        .into_iter()
        .filter(|r| matches!(r.method, Method::PutItem | Method::GetItem))
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0].access_key_id.as_deref(), Some("AKIDFIRST"));
    assert_eq!(data[1].access_key_id.as_deref(), Some("AKIDSECOND"));
    assert_eq!(
        data[0].connection, data[1].connection,
        "the same connection re-authorized"
    );
    let auths: Vec<_> = gw
        .auth_log()
        .into_iter()
        .filter(|a| a.connection == data[0].connection)
        .map(|a| a.access_key_id)
        .collect();
    assert_eq!(auths, ["AKIDFIRST", "AKIDSECOND"]);
    assert_eq!(ours.status().generation, 0, "the role was assumed");
    admin.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_reused_then_reaped() {
    let stack = Stack::shared();
    let creds = creds(stack).await;
    let gw = gateway(stack, 1, None).await;
    let admin = creds.dax(gw.endpoint()).unwrap();
    let t = table(&admin).await;
    let dax = creds
        .dax_with(
            gw.endpoint(),
            DaxOptions::new().idle_timeout(std::time::Duration::from_millis(300)),
        )
        .unwrap();
    let get = || {
        dax.get_item()
            .table_name(&t)
            .key("pk", s("idle"))
            .key("sk", n("1"))
            .send()
    };
    get().await.unwrap();
    get().await.unwrap(); // reused at once
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    get().await.unwrap(); // idle too long: a new connection
    let conns: Vec<u64> = gw
        .request_log()
        .into_iter()
        .filter(|r| r.method == Method::GetItem)
        .map(|r| r.connection)
        .collect();
    assert_eq!(conns.len(), 3);
    assert_eq!(conns[0], conns[1]);
    assert_ne!(conns[1], conns[2]);
    admin.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

/// The transport's upkeep task (endpoints refresh, health checks, idle reaping) runs on the
/// runtime of the first request; when that runtime shuts down, the next request on another
/// runtime starts it again.
#[test]
fn the_upkeep_task_restarts_when_its_runtime_died() {
    use std::time::Duration;

    let multi = |workers| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap()
    };
    let stack = Stack::shared();
    let home = multi(1); // the gateway and the credentials' own refresh task live here
    let (gw, creds) = home.block_on(async { (gateway(stack, 1, None).await, creds(stack).await) });
    let dax = creds
        .dax_with(
            gw.endpoint(),
            DaxOptions::new()
                .refresh_interval(Duration::from_millis(100))
                .health_check_interval(Duration::from_secs(60)),
        )
        .unwrap();
    let get = || async {
        dax.get_item()
            .table_name(stack.table())
            .key("pk", s("upkeep"))
            .key("sk", n("0"))
            .send()
            .await
            .unwrap()
    };
    let endpoints = || {
        gw.request_log()
            .iter()
            .filter(|r| r.method == Method::Endpoints)
            .count()
    };
    let first = multi(1);
    first.block_on(get());
    first.shutdown_timeout(Duration::from_secs(5)); // the upkeep task dies with it
    std::thread::sleep(Duration::from_millis(200)); // a call sent just before is logged
    let before = endpoints();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        endpoints(),
        before,
        "no upkeep runs while no runtime hosts it"
    );
    let second = multi(1);
    second.block_on(async {
        get().await;
        tokio::time::sleep(Duration::from_millis(800)).await;
    });
    assert!(
        endpoints() >= before + 3,
        "the upkeep restarted on the new runtime: {} endpoints calls after {before}",
        endpoints()
    );
    drop(second);
    home.block_on(gw.shutdown());
}
