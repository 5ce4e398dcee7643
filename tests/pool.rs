//! `CrossAccountPool`, deterministically: lazy single assumption under concurrency, the
//! `max_roles` bound, idle eviction on the injected clock, and clients outliving their entry.

mod support;

use std::time::Duration;

use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceTime,
};
use aws_smithy_async::time::TimeSource;
use cross_account_dynamodb::{CrossAccountPool, RefreshPolicy, RoleSpec};
use support::fake_sts::{FakeSts, Reply};

fn role(n: u32) -> String {
    format!("arn:aws:iam::11111111111{n}:role/Tenant")
}

fn setup(lifetime: u64) -> (TickAdvanceTime, FakeSts) {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(lifetime)));
    (time, sts)
}

async fn advance(time: &TickAdvanceTime, by: Duration) {
    time.tick(by).await;
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

fn assumed(sts: &FakeSts, role_arn: &str) -> usize {
    sts.requests()
        .iter()
        .filter(|r| r.param("RoleArn") == Some(role_arn))
        .count()
}

#[tokio::test]
async fn fifty_concurrent_callers_for_one_role_make_one_assume_role() {
    let (_time, sts) = setup(3600);
    sts.set_latency(Duration::ZERO);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.dynamodb(RoleSpec::new(role(1)).external_id("x-ab"))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sts.request_count(), 1);
    assert_eq!(pool.len(), 1);
}

#[tokio::test]
async fn specs_that_differ_in_any_option_are_separate_entries() {
    let (_time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    pool.credentials(RoleSpec::new(role(1)).external_id("id-1"))
        .await
        .unwrap();
    pool.credentials(RoleSpec::new(role(1)).session_name("other"))
        .await
        .unwrap();
    pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    assert_eq!(pool.len(), 3);
    assert_eq!(sts.request_count(), 3);
}

#[tokio::test]
async fn at_the_bound_the_least_recently_used_role_is_dropped_but_its_clients_live_on() {
    let (time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .max_roles(2)
        .build();
    let first = pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    advance(&time, Duration::from_secs(1)).await;
    pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    advance(&time, Duration::from_secs(1)).await;
    pool.credentials(RoleSpec::new(role(3))).await.unwrap();
    assert_eq!(pool.len(), 2, "bounded");
    // role 1 was dropped from the pool, but `first` still holds it: it keeps refreshing...
    advance(&time, Duration::from_secs(3600)).await;
    assert!(first.status().refresh_count >= 1, "{:?}", first.status());
    let calls = assumed(&sts, &role(1));
    // ...and asking again re-adopts that provider rather than assuming the role a second time.
    let again = pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    assert_eq!(assumed(&sts, &role(1)), calls);
    assert_eq!(again.status().generation, first.status().generation);
    assert_eq!(pool.len(), 1, "roles 2 and 3 went idle in that hour");
}

#[tokio::test]
async fn a_dropped_role_nobody_holds_is_assumed_anew() {
    let (time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .max_roles(1)
        .build();
    pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    advance(&time, Duration::from_secs(1)).await;
    pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    assert_eq!(pool.len(), 1);
    assert!(pool.status(&RoleSpec::new(role(1))).is_none());
    pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    assert_eq!(assumed(&sts, &role(1)), 2);
}

#[tokio::test]
async fn idle_roles_are_dropped_and_stop_refreshing_unless_held() {
    let (time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .idle_timeout(Duration::from_secs(600))
        .build();
    let held = pool.dynamodb(RoleSpec::new(role(1))).await.unwrap();
    pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    assert_eq!(pool.len(), 2);
    // No calls to the pool at all: the sweeper drops both after the idle timeout.
    advance(&time, Duration::from_secs(901)).await;
    assert_eq!(pool.len(), 0);
    // Two hours later: role 1 (whose client is held) refreshed; role 2 did not.
    advance(&time, Duration::from_secs(7200)).await;
    assert!(
        assumed(&sts, &role(1)) >= 3,
        "the held client's provider keeps refreshing"
    );
    assert_eq!(assumed(&sts, &role(2)), 1, "the dropped role stopped");
    drop(held);
}

#[tokio::test]
async fn bad_specs_are_typed_errors_and_not_pooled() {
    let (_time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    let err = pool
        .dynamodb(RoleSpec::new("not-an-arn"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(pool.is_empty());
    let denied = {
        sts.set(Reply::AccessDenied);
        pool.dynamodb(RoleSpec::new(role(4))).await.unwrap_err()
    };
    assert!(denied.is_access_denied());
    assert!(
        !format!("{:?}", RoleSpec::new(role(4)).external_id("secret-ext-id"))
            .contains("secret-ext-id")
    );
}

#[tokio::test]
async fn meaningless_settings_are_errors_from_every_call_that_asks_for_a_role() {
    let (_time, sts) = setup(3600);
    let cases = [
        (
            CrossAccountPool::builder().max_roles(0),
            "invalid CrossAccountPoolBuilder::max_roles: ",
        ),
        (
            CrossAccountPool::builder().idle_timeout(Duration::ZERO),
            "invalid CrossAccountPoolBuilder::idle_timeout: ",
        ),
        (
            CrossAccountPool::builder()
                .refresh_policy(RefreshPolicy::default().backoff(Duration::ZERO, Duration::ZERO)),
            "invalid RefreshPolicy::backoff: ",
        ),
    ];
    for (builder, want) in cases {
        let pool = builder.configure(&sts.sdk_config(1)).build();
        for _ in 0..2 {
            let err = pool.credentials(RoleSpec::new(role(5))).await.unwrap_err();
            assert!(err.is_invalid_input(), "{err}");
            assert!(err.to_string().starts_with(want), "{want}: {err}");
            let err = pool.dynamodb(RoleSpec::new(role(5))).await.unwrap_err();
            assert!(err.to_string().starts_with(want), "{want}: {err}");
        }
        assert!(pool.is_empty());
    }
    assert_eq!(sts.requests().len(), 0, "nothing reached STS");
}

/// Runs `f` to completion while advancing the injected clock in `step`s (at most `limit`).
async fn drive<T>(
    time: &TickAdvanceTime,
    step: Duration,
    limit: Duration,
    f: impl std::future::Future<Output = T>,
) -> T {
    let mut f = std::pin::pin!(f);
    let mut waited = Duration::ZERO;
    loop {
        tokio::select! {
            biased;
            out = &mut f => return out,
            _ = tokio::task::yield_now() => {}
        }
        assert!(waited < limit, "not done within {limit:?} of injected time");
        advance(time, step).await;
        waited += step;
    }
}

#[tokio::test]
async fn a_burst_of_first_fetches_stays_within_the_budget_and_every_caller_succeeds() {
    let (time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .sts_rate_limit(50.0)
        .build();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.credentials(RoleSpec::new(format!(
                    "arn:aws:iam::{:012}:role/T",
                    1000 + i
                )))
                .await
            })
        })
        .collect();
    let results = drive(
        &time,
        Duration::from_millis(10),
        Duration::from_secs(30),
        futures_util::future::join_all(tasks),
    )
    .await;
    assert!(results.into_iter().all(|r| r.unwrap().is_ok()));
    let at: Vec<_> = sts.requests().iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 300, "one AssumeRole per role");
    let most_in_a_second = at
        .iter()
        .map(|start| {
            at.iter()
                .filter(|t| {
                    **t >= *start && t.duration_since(*start).unwrap() < Duration::from_secs(1)
                })
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most_in_a_second <= 60,
        "{most_in_a_second} calls in one second at 50/s (burst 10)"
    );
    let span = at
        .iter()
        .max()
        .unwrap()
        .duration_since(*at.iter().min().unwrap())
        .unwrap();
    assert!(
        span >= Duration::from_millis(5_800),
        "300 calls at 50/s took {span:?}"
    );
    let stats = pool.stats();
    assert_eq!(
        (stats.sts_calls, stats.throttled, stats.pending_assume_roles),
        (300, 0, 0)
    );
    assert!(stats.tokens_waited >= 290, "{stats:?}");
}

#[tokio::test]
async fn throttling_slows_the_pool_and_is_retried_without_failing_the_caller() {
    let (time, sts) = setup(3600);
    sts.script([Reply::Throttling, Reply::Throttling, Reply::Throttling]);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(3))
        .sts_rate_limit(64.0)
        .build();
    let creds = drive(
        &time,
        Duration::from_millis(100),
        Duration::from_secs(60),
        pool.credentials(RoleSpec::new(role(1))),
    )
    .await
    .unwrap();
    assert_eq!(creds.status().generation, 1);
    let stats = pool.stats();
    assert_eq!((stats.sts_calls, stats.throttled), (4, 3), "{stats:?}");
    assert_eq!(
        sts.request_count(),
        4,
        "the SDK does not retry on its own: the pool does"
    );
    assert!(stats.sts_rate < 64.0, "slowed down: {stats:?}");
    advance(&time, Duration::from_secs(60)).await;
    assert_eq!(pool.stats().sts_rate, 64.0, "and recovered");
}

#[tokio::test]
async fn the_default_session_name_is_stable_per_role() {
    let (_time, sts) = setup(3600);
    for _ in 0..2 {
        let pool = CrossAccountPool::builder()
            .configure(&sts.sdk_config(1))
            .build();
        pool.credentials(RoleSpec::new(role(1))).await.unwrap();
        pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    }
    let names: Vec<_> = sts
        .requests()
        .iter()
        .map(|r| r.param("RoleSessionName").unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 4);
    assert_eq!(names[0], names[2]);
    assert_eq!(names[1], names[3]);
    assert_ne!(names[0], names[1]);
    assert!(names[0].starts_with("cross-account-dynamodb-") && names[0].len() <= 64);
}

#[tokio::test]
async fn one_roles_failures_do_not_delay_the_others_refreshes() {
    let (time, sts) = setup(3600);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .idle_timeout(Duration::from_secs(24 * 3600))
        .build();
    let held: Vec<_> = drive(
        &time,
        Duration::from_millis(50),
        Duration::from_secs(30),
        futures_util::future::join_all((0..100).map(|i| {
            pool.credentials(RoleSpec::new(format!(
                "arn:aws:iam::{:012}:role/T",
                5000 + i
            )))
        })),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    // Another role's STS call hangs (each attempt until the load timeout, then retried).
    sts.script([Reply::Hang, Reply::Hang, Reply::Hang, Reply::Hang]);
    let stuck = tokio::spawn({
        let pool = pool.clone();
        async move { pool.credentials(RoleSpec::new(role(9))).await }
    });
    for _ in 0..60 {
        advance(&time, Duration::from_secs(60)).await;
    }
    assert!(stuck.is_finished());
    for creds in &held {
        let s = creds.status();
        assert!(s.generation >= 2, "{s:?}");
        assert!(s.is_valid_at(time.now()), "{s:?}");
        // Refreshed ahead of expiry (15 min before a one-hour session, 10 % jitter), not late.
        let fetched = s.expiry.unwrap() - Duration::from_secs(3600);
        assert!(fetched <= time.now() - Duration::from_secs(5), "{s:?}");
    }
}
