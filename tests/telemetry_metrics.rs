//! The documented instruments (docs/observability.md) move by the expected amounts: a
//! rotation, a failed refresh, reads past the refresh point and an invalidation (in-process STS
//! on an injected clock), then DAX requests, an error, and a re-authorization after a rotation
//! (the local stack behind an in-process DAX gateway). The in-memory meter is the SDK's global
//! telemetry provider, so this binary holds this one test (a process of its own).

#![allow(clippy::disallowed_methods)] // real-time polling for the background task and the DAX part

mod support;

use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceTime,
};
use cross_account_dynamodb::AssumedRoleCredentials;
use futures_util::FutureExt;
use support::fake_sts::{FakeSts, Reply};
use support::meter::{matches, MemoryMeter, Record};
use support::{dax_client, Stack};

const ROLE: &str = "arn:aws:iam::111111111111:role/TelemetryRole";

async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Settles until `cond` holds (bounded): the background task runs on another worker.
/// Waits until `cond` holds (bounded), moving the injected clock 1 ms a turn: the background
/// task runs on another worker and may register its sleep after the clock moved.
async fn eventually(time: &TickAdvanceTime, what: &str, cond: impl Fn() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        time.tick(Duration::from_millis(1)).await;
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened: {what}");
}

fn gauge(obs: &[Record], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    obs.iter()
        .find(|r| r.name == name && matches(r, with))
        .map(|r| r.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_failure_dax_request_and_reauthorization_move_the_instruments() {
    let meter = MemoryMeter::install();
    credentials_part(&meter).await;
    dax_part(&meter).await;
    // One scope per crate, the crate's version as the meter's attribute.
    for scope in ["cross-account-dynamodb", "xacct-dax-transport"] {
        let attrs = meter.scope_attributes(scope).expect(scope);
        assert_eq!(attrs.get("version").map(String::as_str), Some("0.1.0"));
    }
}

async fn credentials_part(meter: &MemoryMeter) {
    const REFRESHES: &str = "xacct.credentials.refreshes";
    const STS: &str = "xacct.credentials.sts.duration";
    const PAST: &str = "xacct.credentials.served_past_refresh";
    const EXPIRY: &str = "xacct.credentials.time_to_expiry";
    const FAILURES: &str = "xacct.credentials.consecutive_failures";
    let role = [("role", ROLE)];

    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let creds = AssumedRoleCredentials::builder(ROLE)
        .session_name("telemetry")
        .configure(&sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    settle().await;

    // The first fetch.
    assert_eq!(
        meter.sum(REFRESHES, &[("outcome", "success"), ("reason", "initial")]),
        1.0
    );
    assert_eq!(meter.count(STS, &[("outcome", "success")]), 1);
    let obs = meter.collect();
    let left = gauge(&obs, EXPIRY, &role).expect("a series for the role");
    assert!((left - 3600.0).abs() < 1.0, "{left}");
    assert_eq!(gauge(&obs, FAILURES, &role), Some(0.0));

    // A scheduled rotation.
    let next = creds.status().next_refresh.unwrap();
    let now = aws_smithy_async::time::TimeSource::now(&time);
    time.tick(next.duration_since(now).unwrap()).await;
    eventually(&time, "the rotation", || creds.status().generation == 2).await;
    eventually(&time, "its record", || meter.count(STS, &[]) == 2).await;
    assert_eq!(
        meter.sum(
            REFRESHES,
            &[("outcome", "success"), ("reason", "scheduled")]
        ),
        1.0
    );
    assert_eq!(meter.count(STS, &[("outcome", "success")]), 2);
    assert_eq!(meter.sum(PAST, &[]), 0.0, "nothing served late yet");

    // A failed scheduled refresh: the cached credentials carry on, past their refresh point.
    sts.set(Reply::Internal);
    let next = creds.status().next_refresh.unwrap();
    let now = aws_smithy_async::time::TimeSource::now(&time);
    time.tick(next.duration_since(now).unwrap()).await;
    eventually(&time, "the failure", || {
        creds.status().consecutive_failures == 1
    })
    .await;
    eventually(&time, "its record", || meter.count(STS, &[]) == 3).await;
    assert_eq!(
        meter.sum(
            REFRESHES,
            &[
                ("outcome", "failure"),
                ("reason", "scheduled"),
                ("error.type", "sts_unavailable")
            ]
        ),
        1.0
    );
    assert_eq!(meter.count(STS, &[("outcome", "failure")]), 1);
    let obs = meter.collect();
    assert_eq!(gauge(&obs, FAILURES, &role), Some(1.0));
    let left = gauge(&obs, EXPIRY, &role).unwrap();
    assert!(left > 0.0 && left < 3600.0, "{left}");
    for _ in 0..3 {
        assert!(matches!(
            creds.provide_credentials().now_or_never(),
            Some(Ok(_))
        ));
    }
    assert_eq!(
        meter.sum(PAST, &[]),
        3.0,
        "three reads past the refresh point"
    );

    // A forced refresh succeeds: the gauges recover, reads are on time again.
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    creds.refresh_now().await.unwrap();
    assert_eq!(
        meter.sum(REFRESHES, &[("outcome", "success"), ("reason", "forced")]),
        1.0
    );
    let obs = meter.collect();
    assert_eq!(gauge(&obs, FAILURES, &role), Some(0.0));
    let left = gauge(&obs, EXPIRY, &role).unwrap();
    assert!((left - 3600.0).abs() < 1.0, "{left}");
    for _ in 0..3 {
        assert!(matches!(
            creds.provide_credentials().now_or_never(),
            Some(Ok(_))
        ));
    }
    assert_eq!(meter.sum(PAST, &[]), 3.0);

    // An invalidation: the background task refreshes with reason `invalidated`.
    assert!(creds.invalidate(&FakeSts::access_key_of(3)));
    settle().await;
    time.tick(Duration::from_millis(1)).await;
    eventually(&time, "the refresh after the invalidation", || {
        creds.status().generation == 4
    })
    .await;
    eventually(&time, "its record", || meter.count(STS, &[]) == 5).await;
    assert_eq!(
        meter.sum(
            REFRESHES,
            &[("outcome", "success"), ("reason", "invalidated")]
        ),
        1.0
    );
    assert_eq!(meter.sum(REFRESHES, &[]), 5.0, "five flights in all");
    assert_eq!(meter.count(STS, &[]), 5);

    // Dropped providers leave the gauges (the registry holds only a Weak).
    drop(creds);
    settle().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let obs = meter.collect();
    assert_eq!(gauge(&obs, EXPIRY, &role), None, "{obs:?}");
}

async fn dax_part(meter: &MemoryMeter) {
    const DURATION: &str = "xacct.dax.op.duration";
    const ERRORS: &str = "xacct.dax.op.errors";
    const AUTH: &str = "xacct.dax.connections.authorizations";
    const CREATED: &str = "xacct.dax.connections.created";

    let stack = Stack::shared();
    let creds = dax_client::assume_role(stack, "telemetry").await;
    let gw = dax_client::verified_gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let key = |pk: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::N("1".to_owned())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let get = || {
        dax.get_item()
            .table_name(stack.table())
            .set_key(Some(key("telemetry-missing")))
            .send()
    };

    get().await.unwrap();
    let get_ok = [("operation", "GetItem"), ("outcome", "success")];
    assert_eq!(meter.count(DURATION, &get_ok), 1);
    let took = meter.matching(DURATION, &get_ok)[0].value;
    assert!(took > 0.0 && took < 30.0, "seconds: {took}");
    assert_eq!(meter.sum(CREATED, &[]), 1.0);
    // The discovery call's own connection authorizes too (it is not pooled).
    assert_eq!(meter.sum(AUTH, &[("reason", "new")]), 2.0);
    let auths = meter.sum(AUTH, &[]);
    assert!(meter.sum("xacct.dax.discovery.refreshes", &[("outcome", "success")]) >= 1.0);
    let obs = meter.collect();
    let cluster = gw.endpoint().split("://").nth(1).unwrap().to_owned(); // host:port
    let host = [("cluster", cluster.as_str())];
    assert_eq!(
        gauge(&obs, "xacct.dax.connections.open", &host),
        Some(1.0),
        "{obs:?}"
    );
    assert_eq!(gauge(&obs, "xacct.dax.connections.idle", &host), Some(1.0));
    assert_eq!(gauge(&obs, "xacct.dax.nodes.healthy", &host), Some(1.0));

    // A second request reuses the connection: no new connection, no new authorization.
    get().await.unwrap();
    assert_eq!(meter.count(DURATION, &get_ok), 2);
    assert_eq!(meter.sum(CREATED, &[]), 1.0);
    assert_eq!(meter.sum(AUTH, &[]), auths);

    // A rotation: the next request re-authorizes its connection, reason `rotation`.
    creds.refresh_now().await.unwrap();
    get().await.unwrap();
    assert_eq!(meter.sum(AUTH, &[("reason", "rotation")]), 1.0);
    assert_eq!(meter.sum(AUTH, &[]), auths + 1.0);
    assert_eq!(meter.sum(CREATED, &[]), 1.0);

    // A direct call on the same transport: the same instruments, the same connection.
    let transport = creds
        .dax_transport(gw.endpoint(), Default::default())
        .unwrap();
    let input = aws_sdk_dynamodb::operation::get_item::GetItemInput::builder()
        .table_name(stack.table())
        .set_key(Some(key("telemetry-missing")))
        .build()
        .unwrap();
    transport.get_item(input).await.unwrap();
    assert_eq!(meter.count(DURATION, &get_ok), 4);
    assert_eq!(meter.sum(CREATED, &[]), 1.0);
    assert_eq!(meter.sum(AUTH, &[]), auths + 1.0);
    drop(transport);

    // An error reply, counted by operation and error type.
    let err = dax
        .get_item()
        .table_name("telemetry-no-such-table")
        .set_key(Some(key("x")))
        .send()
        .await;
    assert!(err.is_err());
    assert_eq!(
        meter.sum(
            ERRORS,
            &[
                ("operation", "GetItem"),
                ("error.type", "ResourceNotFoundException")
            ]
        ),
        1.0,
        "{:?}",
        meter.matching(ERRORS, &[])
    );
    assert_eq!(
        meter.count(
            DURATION,
            &[("operation", "GetItem"), ("outcome", "failure")]
        ),
        1
    );
    drop(dax);
    drop(gw);

    // A node dies: requests that reach it fail over, it is marked down, its connection closes.
    let gw = dax_client::verified_gateway(stack, 2, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let cluster = gw.endpoint().split("://").nth(1).unwrap().to_owned();
    let host = [("cluster", cluster.as_str())];
    let get = || {
        dax.get_item()
            .table_name(stack.table())
            .set_key(Some(key("telemetry-missing")))
            .send()
    };
    for _ in 0..4 {
        get().await.unwrap(); // reads spread over both nodes: a connection to each
    }
    let obs = meter.collect();
    assert_eq!(
        gauge(&obs, "xacct.dax.nodes.healthy", &host),
        Some(2.0),
        "{obs:?}"
    );
    assert_eq!(gauge(&obs, "xacct.dax.connections.open", &host), Some(2.0));
    let closed_before = meter.sum("xacct.dax.connections.closed", &[]);
    gw.kill_node(0).unwrap();
    for _ in 0..4 {
        get().await.unwrap(); // the SDK retries on the other node
    }
    let obs = meter.collect();
    assert_eq!(
        gauge(&obs, "xacct.dax.nodes.healthy", &host),
        Some(1.0),
        "{obs:?}"
    );
    assert_eq!(gauge(&obs, "xacct.dax.connections.open", &host), Some(1.0));
    assert!(
        meter.sum("xacct.dax.connections.closed", &[]) > closed_before,
        "{:?}",
        meter.matching("xacct.dax.connections.closed", &[])
    );
    assert!(
        meter.sum(
            ERRORS,
            &[("operation", "GetItem"), ("error.type", "connect")]
        ) >= 1.0
            || meter.sum(ERRORS, &[("operation", "GetItem"), ("error.type", "io")]) >= 1.0,
        "{:?}",
        meter.matching(ERRORS, &[])
    );
}
