//! A telemetry provider set for the SDK (its global one) receives this crate's instruments as
//! well, in a scope of their own next to the SDK's; one set after our first use is picked up,
//! and so is a replacement. Sets the global provider: one test in this binary.

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::test_util::tick_advance_sleep::tick_advance_time_and_sleep;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::fake_sts::{FakeSts, Reply};
use support::meter::MemoryMeter;

const ROLE: &str = "arn:aws:iam::111111111111:role/GlobalProviderRole";

#[tokio::test]
async fn the_sdks_global_provider_gets_our_instruments_too() {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time, sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    // Our first use happens before any provider is set (the SDK's no-op default).
    let creds = AssumedRoleCredentials::builder(ROLE)
        .session_name("global")
        .configure(&sts.sdk_config(1))
        .build()
        .await
        .unwrap();

    let meter = MemoryMeter::install();
    // An SDK call, and one of ours.
    let dynamodb = creds.dynamodb();
    dynamodb
        .get_item()
        .table_name("orders")
        .key("pk", AttributeValue::S("1".into()))
        .send()
        .await
        .unwrap();
    creds.refresh_now().await.unwrap();

    let scopes = meter.scopes();
    assert!(
        scopes.iter().any(|s| s == "cross-account-dynamodb"),
        "{scopes:?}"
    );
    assert!(
        scopes
            .iter()
            .any(|s| s.contains("dynamodb") && s != "cross-account-dynamodb"),
        "the SDK's own scope: {scopes:?}"
    );
    let ours: Vec<_> = meter
        .records()
        .into_iter()
        .filter(|r| r.scope == "cross-account-dynamodb")
        .collect();
    assert!(
        ours.iter()
            .any(|r| r.name == "xacct.credentials.refreshes" && r.attrs["reason"] == "forced"),
        "{ours:?}"
    );
    let sdk: Vec<_> = meter
        .records()
        .into_iter()
        .filter(|r| r.scope != "cross-account-dynamodb")
        .collect();
    assert!(
        sdk.iter().any(|r| r.name == "smithy.client.call.duration"),
        "the SDK's own metrics: {sdk:?}"
    );
    // The per-role gauge registered at the first fetch, before the provider was set.
    assert!(meter
        .collect()
        .iter()
        .any(|r| r.name == "xacct.credentials.time_to_expiry" && r.attrs["role"] == ROLE));

    // A replacement provider takes over at the next recording; the old one's gauges stop.
    let second = MemoryMeter::install();
    creds.refresh_now().await.unwrap();
    assert_eq!(second.sum("xacct.credentials.refreshes", &[]), 1.0);
    assert_eq!(meter.sum("xacct.credentials.refreshes", &[]), 1.0);
    assert!(
        meter.collect().is_empty(),
        "the first provider's gauges were stopped"
    );
    assert!(!second.collect().is_empty());
}
