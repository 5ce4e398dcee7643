//! `CrossAccountPool` at scale (issue 18), deterministically: the pool-wide STS budget under a
//! burst, recovery from a throttling STS, per-role STS Regions and the endpoint override, the
//! stable default session name, failure isolation between roles, re-adoption of an evicted
//! role still held by a caller, and `status` / `stats` without STS calls.
//!
//! Everything runs on the injected clock (`tick_advance_time_and_sleep`) against the in-process
//! STS of `tests/support/throttling_sts.rs`; nothing here is timed against the wall clock.

#[path = "support/throttling_sts.rs"]
mod throttling_sts;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::Region;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceSleep, TickAdvanceTime,
};
use aws_smithy_async::time::{StaticTimeSource, TimeSource};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use cross_account_dynamodb::{CrossAccountPool, RefreshPolicy, RoleSpec};
use throttling_sts::{Failure, Outcome, ThrottlingSts};
use tokio::task::JoinHandle;

fn role(i: usize) -> String {
    format!("arn:aws:iam::{:012}:role/Tenant{i}", 100_000_000_000 + i)
}

fn setup() -> (TickAdvanceTime, TickAdvanceSleep, ThrottlingSts) {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = ThrottlingSts::new(time.clone(), sleep.clone());
    // The fake's own limit is off unless a test wants it: these tests check the pool's budget.
    sts.set_limit(None);
    (time, sleep, sts)
}

async fn yields(n: usize) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

async fn advance(time: &TickAdvanceTime, by: Duration) {
    time.tick(by).await;
    yields(64).await;
}

/// Advances the clock in `step`s until every task has finished or `max` has passed; returns
/// the simulated time it took.
async fn run_until_done<T>(
    time: &TickAdvanceTime,
    tasks: &[JoinHandle<T>],
    step: Duration,
    max: Duration,
) -> Duration {
    yields(64).await;
    let mut elapsed = Duration::ZERO;
    while !tasks.iter().all(JoinHandle::is_finished) && elapsed < max {
        advance(time, step).await;
        elapsed += step;
    }
    elapsed
}

fn secs_since_epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn is_session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

#[tokio::test]
async fn a_burst_of_first_fetches_stays_within_the_sts_budget_and_every_caller_succeeds() {
    const ROLES: usize = 300;
    const RATE: f64 = 50.0;
    let (time, _sleep, sts) = setup();
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(3))
        .max_roles(1000)
        .sts_rate_limit(RATE)
        .build();
    let tasks: Vec<_> = (0..ROLES)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.credentials(RoleSpec::new(role(i))).await })
        })
        .collect();
    run_until_done(
        &time,
        &tasks,
        Duration::from_millis(100),
        Duration::from_secs(120),
    )
    .await;
    for (i, t) in tasks.into_iter().enumerate() {
        assert!(t.is_finished(), "caller {i} still waiting after 120 s");
        t.await
            .unwrap()
            .unwrap_or_else(|e| panic!("caller {i}: {e}"));
    }

    let requests = sts.requests();
    assert_eq!(requests.len(), ROLES, "one AssumeRole per role, no retry");
    let mut at: Vec<f64> = requests.iter().map(|r| secs_since_epoch(r.at)).collect();
    at.sort_by(f64::total_cmp);
    // No one-second window holds more than two seconds' worth of tokens (the rate, plus a
    // burst of at most one second of tokens).
    let mut busiest = 0;
    for (i, start) in at.iter().enumerate() {
        let in_window = at[i..].iter().take_while(|t| **t < start + 1.0).count();
        busiest = busiest.max(in_window);
    }
    assert!(
        busiest as f64 <= 2.0 * RATE,
        "{busiest} AssumeRole calls within one second; the budget is {RATE}/s"
    );
    // Overall: no faster than the rate after a one-second burst, and not much slower either.
    let span = at[ROLES - 1] - at[0];
    let fastest = (ROLES as f64 - RATE) / RATE; // 5 s
    assert!(
        span >= fastest - 0.5,
        "{ROLES} calls in {span:.2} s: faster than {RATE}/s after a burst of one second"
    );
    assert!(
        span <= 1.5 * ROLES as f64 / RATE,
        "{ROLES} calls took {span:.2} s: the pool used less than two thirds of its budget"
    );

    let stats = pool.stats();
    assert_eq!(stats.roles, ROLES);
    assert_eq!(stats.sts_calls, ROLES as u64);
    assert_eq!(stats.throttled, 0);
    assert_eq!(
        stats.pending_assume_roles, 0,
        "nothing left waiting: {stats:?}"
    );
    assert!(
        stats.tokens_waited >= (ROLES as f64 - 2.0 * RATE) as u64,
        "most calls had to wait for a token: {stats:?}"
    );
}

#[tokio::test]
async fn a_throttling_sts_that_recovers_costs_callers_time_not_errors() {
    const ROLES: usize = 20;
    let (time, _sleep, sts) = setup();
    let recovers_at = UNIX_EPOCH + Duration::from_secs(10);
    sts.throttle_until(recovers_at);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(3))
        // Callers wait up to a minute for their first credentials: longer than the outage.
        .refresh_policy(RefreshPolicy::default().load_timeout(Duration::from_secs(60)))
        .build();
    let tasks: Vec<_> = (0..ROLES)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.credentials(RoleSpec::new(role(i))).await })
        })
        .collect();
    run_until_done(
        &time,
        &tasks,
        Duration::from_millis(100),
        Duration::from_secs(120),
    )
    .await;
    for (i, t) in tasks.into_iter().enumerate() {
        assert!(t.is_finished(), "caller {i} still waiting after 120 s");
        t.await
            .unwrap()
            .unwrap_or_else(|e| panic!("caller {i} failed within its wait: {e}"));
    }

    let requests = sts.requests();
    assert!(sts.throttled() > 0, "the fake throttled");
    assert_eq!(sts.issued(), ROLES as u64, "one success per role");
    for r in &requests {
        if matches!(r.outcome, Outcome::Issued { .. }) {
            assert!(r.at >= recovers_at, "issued while throttling?");
        }
    }
    // The pool's retries went through its budget (default 100/s, plus a burst of a second),
    // and slowed down instead of hammering the throttling STS.
    let during: Vec<f64> = requests
        .iter()
        .filter(|r| r.at < recovers_at)
        .map(|r| secs_since_epoch(r.at))
        .collect();
    assert!(
        during.len() <= 100 * 10 + 100,
        "{} attempts during 10 s of throttling",
        during.len()
    );
    let stats = pool.stats();
    assert!(stats.throttled > 0, "throttling shows in stats: {stats:?}");
    assert_eq!(stats.throttled, sts.throttled(), "{stats:?}");
    assert_eq!(stats.sts_calls, sts.calls(), "{stats:?}");
    assert_eq!(stats.pending_assume_roles, 0, "{stats:?}");
    assert_eq!(stats.roles, ROLES);
}

#[tokio::test]
async fn each_role_calls_sts_in_its_own_region() {
    let (_time, _sleep, sts) = setup();
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1)) // Region us-east-1
        .build();
    pool.credentials(RoleSpec::new(role(1)).region(Region::from_static("eu-south-1")))
        .await
        .unwrap();
    pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    pool.credentials(RoleSpec::new(role(3)).region(Region::from_static("ap-southeast-2")))
        .await
        .unwrap();
    // A second role in eu-south-1 (sharing that Region's STS client in the rewrite).
    pool.credentials(RoleSpec::new(role(4)).region(Region::from_static("eu-south-1")))
        .await
        .unwrap();
    let host = |i: usize| {
        let requests = sts.requests_for(&role(i));
        assert_eq!(requests.len(), 1, "role {i}: {requests:?}");
        requests[0].host.clone()
    };
    assert_eq!(host(1), "sts.eu-south-1.amazonaws.com");
    assert_eq!(
        host(2),
        "sts.us-east-1.amazonaws.com",
        "the SdkConfig's Region"
    );
    assert_eq!(host(3), "sts.ap-southeast-2.amazonaws.com");
    assert_eq!(host(4), "sts.eu-south-1.amazonaws.com");
    // The same ARN in two Regions is two roles.
    pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    assert_eq!(sts.requests_for(&role(1)).len(), 2);
    assert_eq!(pool.stats().roles, 5);
}

/// What `AWS_ENDPOINT_URL_STS` (or a profile's STS `endpoint_url`) becomes in an `SdkConfig`.
#[derive(Debug)]
struct StsEndpoint(&'static str);

impl LoadServiceConfig for StsEndpoint {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == "STS" && key.profile() == "endpoint_url").then(|| self.0.to_owned())
    }
}

#[tokio::test]
async fn an_sts_endpoint_override_wins_over_role_regions() {
    let vpce = "https://vpce-0abc-sts.us-east-1.vpce.amazonaws.com";
    let (_time, _sleep, sts) = setup();
    let configs = [
        (
            "AWS_ENDPOINT_URL_STS",
            sts.sdk_config_builder(1)
                .service_config(StsEndpoint(vpce))
                .build(),
            "vpce-0abc-sts.us-east-1.vpce.amazonaws.com",
        ),
        (
            "SdkConfig::endpoint_url",
            sts.sdk_config_builder(1)
                .endpoint_url("http://localhost:4566")
                .build(),
            "localhost:4566",
        ),
    ];
    for (n, (what, config, want)) in configs.into_iter().enumerate() {
        let pool = CrossAccountPool::builder().configure(&config).build();
        let (a, b) = (role(10 + 2 * n), role(11 + 2 * n));
        pool.credentials(RoleSpec::new(a.clone()).region(Region::from_static("eu-south-1")))
            .await
            .unwrap();
        pool.credentials(RoleSpec::new(b.clone())).await.unwrap();
        for arn in [a, b] {
            let requests = sts.requests_for(&arn);
            assert_eq!(requests.len(), 1);
            assert_eq!(requests[0].host, want, "{what}: {arn}");
        }
    }
}

#[tokio::test]
async fn the_default_session_name_is_stable_per_role_and_valid() {
    let (time, _sleep, sts) = setup();
    let long_role = format!(
        "arn:aws:iam::111111111111:role/a/rather/long/path/of/the/organisation/{}",
        "R".repeat(64)
    );
    let specs = [
        RoleSpec::new(role(1)),
        RoleSpec::new(role(2)),
        RoleSpec::new(role(1)).external_id("tenant-1-external-id"),
        RoleSpec::new(long_role.clone()),
    ];
    let mut names_per_pool = Vec::new();
    for _ in 0..2 {
        let pool = CrossAccountPool::builder()
            .configure(&sts.sdk_config(1))
            .build();
        let before = sts.requests().len();
        for spec in &specs {
            pool.credentials(spec.clone()).await.unwrap();
        }
        let names: Vec<String> = sts.requests()[before..]
            .iter()
            .map(|r| r.param("RoleSessionName").unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), specs.len());
        names_per_pool.push(names);
        // Another pool, later: a name made from the clock would change.
        advance(&time, Duration::from_secs(61)).await;
    }
    assert_eq!(
        names_per_pool[0], names_per_pool[1],
        "same spec, same name, in two pools"
    );
    let names = &names_per_pool[0];
    for name in names {
        assert!(
            (2..=64).contains(&name.len()) && name.chars().all(is_session_name_char),
            "{name:?} does not match [\\w+=,.@-]{{2,64}}"
        );
    }
    assert_ne!(names[0], names[1], "different roles, different names");
    assert_ne!(names[0], names[3], "different roles, different names");
    assert_ne!(names[1], names[3], "different roles, different names");
    // An explicit name is used as given.
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    pool.credentials(RoleSpec::new(role(5)).session_name("orders-api"))
        .await
        .unwrap();
    assert_eq!(
        sts.requests_for(&role(5))[0].param("RoleSessionName"),
        Some("orders-api")
    );
}

/// The default session names of three roles, from a fresh pool on a fresh fake STS whose clock
/// has run for `clock_offset` first.
async fn default_session_names(clock_offset: Duration) -> Vec<String> {
    let (time, _sleep, sts) = setup();
    advance(&time, clock_offset).await;
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    let mut names = Vec::new();
    for i in [1, 2, 3] {
        pool.credentials(RoleSpec::new(role(i)).external_id("shared-external-id"))
            .await
            .unwrap();
        names.push(
            sts.requests_for(&role(i))[0]
                .param("RoleSessionName")
                .unwrap()
                .to_owned(),
        );
    }
    names
}

const PRINT_NAMES: &str = "POOL_SCALE_TEST_PRINT_SESSION_NAMES";

#[tokio::test]
async fn the_default_session_name_is_the_same_in_another_process() {
    if std::env::var_os(PRINT_NAMES).is_some() {
        // The child: another process, another clock reading.
        let names = default_session_names(Duration::from_secs(7 * 24 * 3600)).await;
        println!("SESSION_NAMES {}", names.join(" "));
        return;
    }
    let names = default_session_names(Duration::ZERO).await;
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_default_session_name_is_the_same_in_another_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PRINT_NAMES, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    let child: Vec<&str> = stdout
        .lines()
        .find_map(|l| {
            l.split_once("SESSION_NAMES ")
                .map(|(_, names)| names.trim())
        })
        .unwrap_or_else(|| panic!("no names from the child: {stdout}"))
        .split(' ')
        .collect();
    assert_eq!(child, names, "same specs, same names, in two processes");
}

#[tokio::test]
async fn one_failing_role_does_not_delay_the_others_refreshes() {
    const GOOD: usize = 100;
    let (time, _sleep, sts) = setup();
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(3))
        .max_roles(1000)
        // Nobody asks for these roles while the clock runs: keep them past their refresh.
        .idle_timeout(Duration::from_secs(4 * 3600))
        .build();
    let bad = "arn:aws:iam::999999999999:role/Broken".to_owned();
    let specs: Vec<RoleSpec> = (0..GOOD).map(|i| RoleSpec::new(role(i))).collect();
    let bad_spec = RoleSpec::new(bad.clone());
    // First fetches from spawned callers while the clock runs: 101 roles may exceed the
    // budget's burst (default 100/s), and a caller waiting for a token needs the clock to move.
    let tasks: Vec<_> = specs
        .iter()
        .chain([&bad_spec])
        .map(|spec| {
            let (pool, spec) = (pool.clone(), spec.clone());
            tokio::spawn(async move { pool.credentials(spec).await })
        })
        .collect();
    run_until_done(
        &time,
        &tasks,
        Duration::from_millis(100),
        Duration::from_secs(60),
    )
    .await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // From now on the broken role's STS answers 500, then (half an hour in) AccessDenied.
    sts.fail_role(&bad, Some(Failure::Internal));
    let due: Vec<SystemTime> = specs
        .iter()
        .map(|s| {
            let status = pool.status(s).expect("fetched");
            assert_eq!(status.generation, 1);
            status.next_refresh.expect("a refresh is scheduled")
        })
        .collect();
    let bad_due = pool.status(&bad_spec).unwrap().next_refresh.unwrap();
    // The broken role's refresh comes first: make it fail before and while the others refresh.
    let last_due = *due.iter().max().unwrap();
    assert!(last_due > time.now());
    let mut switched = false;
    while time.now() < last_due + Duration::from_secs(60) {
        advance(&time, Duration::from_secs(1)).await;
        if !switched && time.now() >= bad_due + Duration::from_secs(30 * 60) {
            sts.fail_role(&bad, Some(Failure::AccessDenied));
            switched = true;
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        let status = pool.status(spec).unwrap();
        assert_eq!(status.generation, 2, "role {i} refreshed once: {status:?}");
        let issued: Vec<_> = sts
            .requests_for(&role(i))
            .into_iter()
            .filter(|r| matches!(r.outcome, Outcome::Issued { .. }))
            .collect();
        assert_eq!(issued.len(), 2, "role {i}");
        let late = issued[1].at.duration_since(due[i]).unwrap_or_default();
        assert!(
            late <= Duration::from_secs(2),
            "role {i} refreshed {late:?} after it was due"
        );
    }
    let bad_status = pool.status(&bad_spec).unwrap();
    assert!(bad_status.consecutive_failures > 0, "{bad_status:?}");
    assert_eq!(bad_status.generation, 1, "still the first credentials");
    assert!(sts.failed() > 0);
}

#[tokio::test]
async fn an_evicted_role_still_held_is_adopted_again_not_assumed_anew() {
    let (time, _sleep, sts) = setup();
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .max_roles(1)
        .idle_timeout(Duration::from_secs(4 * 3600))
        .build();
    let first = pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    advance(&time, Duration::from_secs(1)).await;
    pool.credentials(RoleSpec::new(role(2))).await.unwrap();
    assert_eq!(pool.len(), 1, "role 1 evicted");
    let again = pool.credentials(RoleSpec::new(role(1))).await.unwrap();
    assert_eq!(
        sts.requests_for(&role(1)).len(),
        1,
        "the held provider was adopted again: no second AssumeRole"
    );
    assert_eq!(again.status().access_key_id, first.status().access_key_id);
    assert_eq!(again.status().generation, 1);
    let in_pool = pool
        .status(&RoleSpec::new(role(1)))
        .expect("back in the pool");
    assert_eq!(in_pool.generation, 1);
    // One provider: a refresh shows through both handles and the pool.
    for _ in 0..60 {
        advance(&time, Duration::from_secs(60)).await;
    }
    let (a, b) = (first.status(), again.status());
    assert!(a.generation >= 2, "{a:?}");
    assert_eq!(a.generation, b.generation);
    assert_eq!(a.access_key_id, b.access_key_id);
}

#[tokio::test]
async fn status_and_stats_make_no_sts_call() {
    let (time, _sleep, sts) = setup();
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(1))
        .build();
    let spec = RoleSpec::new(role(1));
    assert!(pool.status(&spec).is_none(), "nothing fetched yet");
    let stats = pool.stats();
    assert_eq!(stats.roles, 0);
    assert_eq!(stats.sts_calls, 0);
    assert_eq!(sts.calls(), 0, "status made no STS call");

    pool.credentials(spec.clone()).await.unwrap();
    let now = time.now();
    let status = pool.status(&spec).expect("fetched");
    assert_eq!(status.generation, 1);
    assert_eq!(status.role_arn, role(1));
    assert_eq!(
        status.expiry.map(|e| e.duration_since(now).unwrap()),
        Some(Duration::from_secs(3600))
    );
    assert!(status.next_refresh.is_some());
    assert!(pool.status(&RoleSpec::new(role(2))).is_none());
    assert!(pool.status(&spec.clone().external_id("other")).is_none());
    let stats = pool.stats();
    assert_eq!(stats.roles, 1, "status does not add roles: {stats:?}");
    assert_eq!(stats.sts_calls, 1, "{stats:?}");
    assert_eq!(stats.throttled, 0);
    assert_eq!(stats.pending_assume_roles, 0);
    assert_eq!(sts.calls(), 1, "no STS call from status or stats");
}

#[tokio::test]
#[allow(clippy::disallowed_methods)] // the real sleep is this test's subject; the timeout only guards a hang
async fn a_frozen_clock_with_real_sleeps_does_not_stall_the_sts_budget() {
    // A user's test may freeze the clock (`StaticTimeSource`) and keep the real sleep. The
    // bucket then refills with the scheduler's sleeps, not the clock: more roles than one
    // burst of tokens must not wait forever.
    const ROLES: usize = 60;
    let frozen = StaticTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let sts = ThrottlingSts::new(frozen, TokioSleep::new());
    sts.set_limit(None);
    let pool = CrossAccountPool::builder()
        .configure(&sts.sdk_config(3))
        .sts_rate_limit(2_000.0)
        .build();
    let tasks: Vec<_> = (0..ROLES)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.credentials(RoleSpec::new(role(i))).await })
        })
        .collect();
    // At 2,000 per second the 60 calls need about 25 ms of sleeps: 30 s only guards the hang.
    let all = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(tasks),
    )
    .await
    .expect("callers still waiting for AssumeRole tokens after 30 s on a frozen clock");
    for (i, r) in all.into_iter().enumerate() {
        r.unwrap().unwrap_or_else(|e| panic!("caller {i}: {e}"));
    }
    assert_eq!(sts.calls(), ROLES as u64, "one AssumeRole per role");
    assert_eq!(pool.stats().pending_assume_roles, 0);
}
