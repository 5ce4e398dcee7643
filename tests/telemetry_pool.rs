//! The pool's instruments (docs/observability.md) move by the expected amounts: roles added,
//! AssumeRoles pending, waits for a token and `Throttling` answers, from a pool of 8 roles with a
//! budget of 5 calls per second, on an injected clock, with an in-memory meter as the SDK's global
//! telemetry provider (so this binary holds this one test: a process of its own).

mod support;

use std::time::Duration;

use aws_smithy_async::test_util::tick_advance_sleep::tick_advance_time_and_sleep;
use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
use support::fake_sts::{FakeSts, Reply};
use support::meter::MemoryMeter;

fn role(n: u32) -> String {
    format!("arn:aws:iam::{:012}:role/Tenant", 300_000 + n)
}

#[tokio::test]
async fn the_pool_records_roles_pending_calls_token_waits_and_throttling() {
    let meter = MemoryMeter::install();
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    sts.script([Reply::Throttling]);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .sts_rate_limit(5.0)
        .build();
    let callers: Vec<_> = (0..8)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.credentials(RoleSpec::new(role(n))).await })
        })
        .collect();
    for _ in 0..600 {
        if callers.iter().all(|c| c.is_finished()) {
            break;
        }
        time.tick(Duration::from_millis(100)).await;
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
    }
    for caller in callers {
        caller.await.unwrap().unwrap();
    }
    let stats = pool.stats();
    assert_eq!(stats.roles, 8);
    assert_eq!(stats.throttled, 1);
    assert!(stats.tokens_waited >= 3, "{stats:?}");

    assert_eq!(meter.sum("xacct.pool.roles", &[]), 8.0);
    assert_eq!(
        meter.sum("xacct.pool.assume_role.pending", &[]),
        0.0,
        "all ended"
    );
    assert_eq!(
        meter.count("xacct.pool.assume_role.pending", &[]),
        16,
        "8 up, 8 down"
    );
    assert_eq!(meter.sum("xacct.pool.sts.throttled", &[]), 1.0);
    assert_eq!(
        meter.sum("xacct.pool.token_waits", &[]),
        stats.tokens_waited as f64
    );
    // The pool's roles carry the credentials' per-role gauges like any provider.
    let expiry = meter
        .collect()
        .into_iter()
        .filter(|r| r.name == "xacct.credentials.time_to_expiry")
        .count();
    assert!(expiry >= 8, "a series per role: {expiry}");
}
