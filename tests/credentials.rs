//! `AssumedRoleCredentials`, deterministically: the real background task, driven by
//! `tick_advance_time_and_sleep`, against an in-process STS that counts HTTP requests.
//! No test here sleeps for real or reads the wall clock.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceSleep, TickAdvanceTime,
};
use aws_smithy_runtime_api::client::stalled_stream_protection::StalledStreamProtectionConfig;
use cross_account_dynamodb::{
    AssumedRoleCredentials, AssumedRoleCredentialsBuilder, Error, ErrorKind, RefreshEvent,
    RefreshPolicy,
};
use futures_util::FutureExt;
use support::fake_sts::{FakeSts, Reply};

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";
const HOP: &str = "arn:aws:iam::222222222222:role/ChainHopRole";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn at(s: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(s)
}

struct Harness {
    time: TickAdvanceTime,
    sts: FakeSts,
}

impl Harness {
    fn new(reply: Reply) -> Self {
        let (time, sleep): (TickAdvanceTime, TickAdvanceSleep) = tick_advance_time_and_sleep();
        let sts = FakeSts::new(time.clone(), sleep);
        sts.set(reply);
        Harness { time, sts }
    }

    fn builder(&self, max_attempts: u32) -> AssumedRoleCredentialsBuilder {
        AssumedRoleCredentials::builder(ROLE)
            .session_name("tests")
            .configure(&self.sts.sdk_config(max_attempts))
    }

    /// Advances the injected clock, firing every sleep on the way, and lets the woken tasks run.
    async fn advance(&self, by: Duration) {
        self.time.tick(by).await;
        settle().await;
    }

    async fn advance_to(&self, t: SystemTime) {
        let now = aws_smithy_async::time::TimeSource::now(&self.time);
        self.advance(t.duration_since(now).unwrap_or_default())
            .await;
    }
}

async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Settles until `cond` holds (bounded): for tasks on other worker threads.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        settle().await;
    }
    panic!("never happened: {what}");
}

/// The credentials `provide_credentials` hands out right now, if it does so without waiting.
fn served_now(creds: &AssumedRoleCredentials) -> Option<Result<Credentials, String>> {
    creds
        .provide_credentials()
        .now_or_never()
        .map(|r| r.map_err(|e| format!("{e:?}")))
}

fn key(creds: &AssumedRoleCredentials) -> String {
    served_now(creds)
        .expect("served without waiting")
        .expect("valid credentials")
        .access_key_id()
        .to_owned()
}

// ---- 1. proactive refresh -------------------------------------------------------------------

#[tokio::test]
async fn refreshes_in_the_background_ahead_of_expiry_without_traffic() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(3).build().await.unwrap();
    assert_eq!(h.sts.issued(), 1);
    let next = creds.status().next_refresh.unwrap();
    // one-hour sessions: 15 min window, up to 10 % of it earlier
    assert!(next >= at(2700.0 - 90.0) && next <= at(2700.0), "{next:?}");
    h.advance_to(next - secs(1)).await;
    assert_eq!(h.sts.issued(), 1, "not before the window");
    h.advance(secs(1)).await;
    assert_eq!(
        h.sts.issued(),
        2,
        "refreshed at the scheduled time, with no request made"
    );
    assert_eq!(creds.status().refresh_count, 1);
    // 3 hours more: one refresh per 43.5-45 min
    h.advance(secs(3 * 3600)).await;
    assert_eq!(h.sts.issued(), 6);
    assert_eq!(key(&creds), FakeSts::access_key_of(6));
}

#[tokio::test]
async fn a_20_second_session_is_refreshed_once_per_lifetime_at_about_its_half() {
    let h = Harness::new(Reply::Ok(secs(20)));
    let creds = h.builder(3).build().await.unwrap();
    h.advance(secs(60)).await;
    // refreshes every 9-10 s: at most 6 in 60 s, at least 6
    assert_eq!(h.sts.issued(), 7);
    let status = creds.status();
    assert_eq!(status.refresh_count, 6);
    assert!(status.is_valid_at(at(60.0)));
    let req = h.sts.requests();
    for pair in req.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        assert!(gap >= secs(9) && gap <= secs(10), "{gap:?}");
    }
}

#[tokio::test]
async fn valid_until_leaves_a_safety_margin() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(3).build().await.unwrap();
    let s = creds.status();
    assert_eq!(s.expiry, Some(at(3600.0)));
    assert_eq!(s.valid_until, Some(at(3540.0)));
    let h = Harness::new(Reply::Ok(secs(60)));
    let creds = h.builder(3).build().await.unwrap();
    assert_eq!(
        creds.status().valid_until,
        Some(at(50.0)),
        "a sixth of a short lifetime"
    );
}

// ---- 2. never waits ---------------------------------------------------------------------------

#[tokio::test]
async fn requests_never_wait_while_a_refresh_is_in_flight() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(3).build().await.unwrap();
    let old = key(&creds);
    h.sts.set_latency(Duration::from_millis(100));
    h.advance_to(creds.status().next_refresh.unwrap()).await;
    assert_eq!(h.sts.request_count(), 2, "the refresh is in flight");
    assert_eq!(creds.status().generation, 1, "and has not been answered");
    for _ in 0..1000 {
        assert_eq!(key(&creds), old, "served at once, from the cache");
    }
    h.advance(Duration::from_millis(100)).await;
    assert_eq!(key(&creds), FakeSts::access_key_of(2));
}

#[tokio::test]
async fn callers_without_valid_credentials_share_one_refresh_bounded_by_the_load_timeout() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    h.sts.set_latency(secs(10));
    let creds = h
        .builder(3)
        .refresh_policy(RefreshPolicy::default().load_timeout(secs(5)))
        .build_deferred()
        .unwrap();
    assert_eq!(h.sts.request_count(), 0, "build_deferred does not call STS");
    let waiters: Vec<_> = (0..10)
        .map(|_| {
            let c = creds.clone();
            tokio::spawn(async move { c.credentials().await })
        })
        .collect();
    settle().await;
    assert_eq!(
        h.sts.request_count(),
        1,
        "one AssumeRole for ten waiting callers"
    );
    h.advance(secs(5)).await;
    for w in waiters {
        let err = w.await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(err.to_string().contains(ROLE), "{err}");
    }
    // The call itself is bounded by the load timeout too: it was abandoned, and the background
    // task's retry (after the backoff) is the second and last AssumeRole.
    h.sts.set_latency(Duration::ZERO);
    h.advance(secs(5)).await;
    let c = creds.credentials().await.unwrap();
    assert_eq!(c.access_key_id(), FakeSts::access_key_of(2));
    assert_eq!(
        h.sts.request_count(),
        2,
        "one abandoned call, one retry, whatever the number of callers"
    );
}

#[test]
fn a_provider_outliving_its_runtime_restarts_its_refresh_on_the_next() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let creds = rt1.block_on(async { h.builder(3).build().await.unwrap() });
    assert!(creds.status().background_task_running);
    drop(rt1);
    assert!(
        !creds.status().background_task_running,
        "the task died with its runtime"
    );

    let rt2 = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt2.block_on(async {
        let due = creds.status().next_refresh.unwrap();
        h.advance_to(due + secs(60)).await;
        assert_eq!(h.sts.issued(), 1, "no task: nothing refreshed by itself");
        // Still valid: served at once, and the refresh task is restarted here.
        assert_eq!(key(&creds), FakeSts::access_key_of(1));
        settle().await;
        assert!(creds.status().background_task_running);
        assert_eq!(h.sts.issued(), 2);
        assert_eq!(key(&creds), FakeSts::access_key_of(2));
    });
    drop(rt2);

    // Past validity with no task at all: the caller refreshes inline.
    let rt3 = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt3.block_on(async {
        h.advance(secs(4000)).await;
        let c = creds.credentials().await.unwrap();
        assert_eq!(c.access_key_id(), FakeSts::access_key_of(3));
    });
}

// ---- 3. single flight, failures included ------------------------------------------------------

#[tokio::test]
async fn a_thousand_callers_and_a_failing_sts_make_one_attempt() {
    for reply in [Reply::Internal, Reply::Throttling] {
        let h = Harness::new(reply.clone());
        const MAX_ATTEMPTS: u32 = 3;
        let creds = h
            .builder(MAX_ATTEMPTS)
            .refresh_policy(RefreshPolicy::default().backoff(secs(10), secs(60)))
            .build_deferred()
            .unwrap();
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let c = creds.clone();
                tokio::spawn(async move { c.provide_credentials().await })
            })
            .collect();
        settle().await;
        // Drive the STS client's own retry backoff (10 ms, doubling) until everyone has an answer.
        for _ in 0..200 {
            if callers.iter().all(|c| c.is_finished()) {
                break;
            }
            h.advance(Duration::from_millis(10)).await;
        }
        for c in callers {
            assert!(c.await.unwrap().is_err());
        }
        assert_eq!(
            h.sts.request_count(),
            MAX_ATTEMPTS as usize,
            "{reply:?}: one attempt (x the STS client's {MAX_ATTEMPTS} tries), not one per caller"
        );
        let status = creds.status();
        assert_eq!(status.consecutive_failures, 1);
        let (_, err) = status.last_error.unwrap();
        assert!(err.is_retryable());
        assert_eq!(err.kind(), ErrorKind::StsUnavailable);
    }
}

// ---- 4. stale-if-error ---------------------------------------------------------------------------

#[tokio::test]
async fn an_sts_outage_is_ridden_out_on_the_cached_credentials_then_surfaces_at_expiry() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h
        .builder(1)
        .refresh_policy(RefreshPolicy::default().jitter(0.0))
        .build()
        .await
        .unwrap();
    let first = key(&creds);
    h.sts.set(Reply::Throttling);
    let valid_until = creds.status().valid_until.unwrap();
    // From the refresh point (45 min) to the end of validity (59 min), once a second: always
    // served, never waiting.
    h.advance_to(at(2700.0)).await;
    while aws_smithy_async::time::TimeSource::now(&h.time) < valid_until - secs(1) {
        assert_eq!(key(&creds), first);
        h.advance(secs(1)).await;
    }
    let attempts = h.sts.requests();
    assert!(
        attempts.len() >= 8 && attempts.len() <= 40,
        "{} attempts",
        attempts.len() - 1
    );
    let last = attempts.last().unwrap().at;
    assert!(
        last >= valid_until - secs(30),
        "attempts get denser towards the end: {last:?}"
    );
    for pair in attempts[1..].windows(2) {
        assert!(pair[1].at > pair[0].at, "never two attempts at once");
    }
    let status = creds.status();
    assert!(status.consecutive_failures as usize == attempts.len() - 1);

    // Past validity: never served; the error names the role and carries the STS error.
    h.advance_to(valid_until).await;
    let err = creds.credentials().await.unwrap_err();
    assert!(err.is_expired(), "{err}");
    assert!(err.to_string().contains(ROLE), "{err}");
    let cause = std::error::Error::source(&err).expect("the last STS error as the source");
    assert!(cause.to_string().contains("unavailable"), "{cause}");
    assert!(
        !matches!(served_now(&creds), Some(Ok(_))),
        "expired credentials are never served"
    );

    // STS is back: the next attempt recovers.
    h.sts.set(Reply::Ok(secs(3600)));
    h.advance(secs(2)).await;
    let fresh = creds.credentials().await.unwrap();
    assert_ne!(fresh.access_key_id(), first);
    assert_eq!(creds.status().consecutive_failures, 0);
}

#[tokio::test]
async fn access_denied_is_retried_slowly_and_cached_for_callers() {
    let h = Harness::new(Reply::AccessDenied);
    let creds = h
        .builder(3)
        .external_id("xacct-test-external-id-7d1c")
        .build_deferred()
        .unwrap();
    for _ in 0..100 {
        let err = creds.credentials().await.unwrap_err();
        assert!(err.is_access_denied());
    }
    assert_eq!(
        h.sts.request_count(),
        1,
        "not retried by the STS client, cached for callers"
    );
    h.advance(secs(5)).await;
    creds.credentials().await.unwrap_err();
    assert_eq!(
        h.sts.request_count(),
        2,
        "after the error's few seconds, callers may try again"
    );
}

#[tokio::test]
async fn access_denied_during_refresh_is_retried_slowly_while_serving() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h
        .builder(3)
        .refresh_policy(RefreshPolicy::default().jitter(0.0))
        .build()
        .await
        .unwrap();
    h.sts.set(Reply::AccessDenied);
    h.advance_to(at(2700.0)).await;
    assert_eq!(h.sts.request_count(), 2);
    let next = creds.status().next_refresh.unwrap();
    assert_eq!(next, at(2700.0 + 300.0), "the slow retry (max backoff)");
    assert_eq!(key(&creds), FakeSts::access_key_of(1));
}

#[tokio::test]
async fn access_denied_messages_list_the_causes_without_the_external_id() {
    let h = Harness::new(Reply::AccessDenied);
    let with_id = h
        .builder(1)
        .external_id("xacct-test-external-id-7d1c")
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        with_id.to_string(),
        format!(
            "AssumeRole into role {ROLE} was denied; STS does not say why, check in order: (1) \
             the external id sent does not match the sts:ExternalId condition in the role's trust \
             policy; (2) the role's trust policy does not trust the calling account or principal; \
             (3) the calling principal's own IAM policy does not allow sts:AssumeRole on this \
             role; (4) the role does not exist"
        )
    );
    assert!(!format!("{with_id:?}").contains("7d1c"));
    let without_id = h.builder(1).build().await.unwrap_err();
    assert!(without_id
        .to_string()
        .contains("(1) the role's trust policy does not trust the calling account or principal"));
    assert!(without_id
        .to_string()
        .contains("(3) the role's trust policy requires an external id and none was sent"));
}

#[tokio::test]
async fn credentials_that_arrive_expired_count_as_a_failure() {
    let h = Harness::new(Reply::AlreadyExpired);
    h.advance(secs(100)).await;
    let err = h.builder(1).build().await.unwrap_err();
    assert!(err.to_string().contains("clock"), "{err}");
}

// ---- invalidate, refresh_now, subscribe ----------------------------------------------------------

#[tokio::test]
async fn invalidate_stops_serving_the_key_and_refreshes_once() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(3).build().await.unwrap();
    let old = key(&creds);
    assert!(
        !creds.invalidate("ASIASOMEOTHERKEY"),
        "another key is ignored"
    );
    h.sts.set_latency(Duration::from_millis(50));
    assert!(creds.invalidate(&old));
    assert!(
        !creds.invalidate(&old),
        "a burst of rejections is one invalidation"
    );
    assert!(
        served_now(&creds).is_none(),
        "the rejected key is not served again"
    );
    let waiter = {
        let c = creds.clone();
        tokio::spawn(async move { c.credentials().await })
    };
    settle().await;
    h.advance(Duration::from_millis(50)).await;
    let fresh = waiter.await.unwrap().unwrap();
    assert_ne!(fresh.access_key_id(), old);
    assert_eq!(h.sts.request_count(), 2, "one refresh");
}

#[tokio::test]
async fn refresh_now_bypasses_backoff_and_coalesces() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(1).build().await.unwrap();
    h.sts.set_latency(Duration::from_millis(10));
    let (a, b) = {
        let (c1, c2) = (creds.clone(), creds.clone());
        (
            tokio::spawn(async move { c1.refresh_now().await }),
            tokio::spawn(async move { c2.refresh_now().await }),
        )
    };
    settle().await;
    h.advance(Duration::from_millis(10)).await;
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(a, b, "both got the one refresh");
    assert_eq!(a.generation, 2);
    assert_eq!(h.sts.request_count(), 2);
    // In backoff after a failure, refresh_now still calls STS.
    h.sts.set_latency(Duration::ZERO);
    h.sts.set(Reply::Throttling);
    creds.refresh_now().await.unwrap_err();
    h.sts.set(Reply::Ok(secs(3600)));
    assert_eq!(creds.refresh_now().await.unwrap().generation, 3);
}

#[tokio::test]
async fn subscribers_and_callbacks_see_every_rotation() {
    let h = Harness::new(Reply::Ok(secs(20)));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let creds = h
        .builder(1)
        .on_refresh(move |e| seen.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let mut rx = creds.subscribe();
    assert_eq!(rx.borrow_and_update().generation, 1);
    h.advance(secs(10)).await;
    assert!(rx.has_changed().unwrap());
    let r = rx.borrow_and_update().clone();
    assert_eq!(r.generation, 2);
    assert_eq!(r.access_key_id, FakeSts::access_key_of(2));
    h.sts.set(Reply::Internal);
    h.advance(secs(10)).await;
    let events = events.lock().unwrap();
    assert!(
        matches!(&events[0], RefreshEvent::Refreshed { rotation, .. } if rotation.generation == 1)
    );
    assert!(
        matches!(&events[1], RefreshEvent::Refreshed { rotation, .. } if rotation.generation == 2)
    );
    assert!(events.iter().any(|e| matches!(
        e,
        RefreshEvent::Failed {
            serving_cached: true,
            consecutive_failures: 1,
            ..
        }
    )));
}

// ---- 5. every AssumeRole option ---------------------------------------------------------------

#[tokio::test]
async fn every_assume_role_option_reaches_the_wire() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let codes = Arc::new(AtomicU32::new(123_456));
    let next_code = codes.clone();
    let creds = h
        .builder(1)
        .session_name("orders-api")
        .external_id("xacct-test-external-id-7d1c")
        .duration(secs(1800))
        .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .policy_arns(["arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"])
        .tags([("team", "orders"), ("env", "test")])
        .transitive_tag_keys(["team"])
        .source_identity("svc-orders")
        .mfa("arn:aws:iam::222222222222:mfa/app", move || {
            next_code.fetch_add(1, Ordering::Relaxed).to_string()
        })
        .build()
        .await
        .unwrap();
    creds.refresh_now().await.unwrap();
    let reqs = h.sts.requests();
    let r = &reqs[0];
    for (name, want) in [
        ("Action", "AssumeRole"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "orders-api"),
        ("ExternalId", "xacct-test-external-id-7d1c"),
        ("DurationSeconds", "1800"),
        ("Policy", r#"{"Version":"2012-10-17","Statement":[]}"#),
        (
            "PolicyArns.member.1.arn",
            "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
        ),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "orders"),
        ("Tags.member.2.Key", "env"),
        ("TransitiveTagKeys.member.1", "team"),
        ("SourceIdentity", "svc-orders"),
        ("SerialNumber", "arn:aws:iam::222222222222:mfa/app"),
        ("TokenCode", "123456"),
    ] {
        assert_eq!(r.param(name), Some(want), "{name}");
    }
    assert_eq!(
        reqs[1].param("TokenCode"),
        Some("123457"),
        "a fresh code at every refresh"
    );
}

#[tokio::test]
async fn the_default_session_name_is_generated_and_valid() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    AssumedRoleCredentials::builder(ROLE)
        .configure(&h.sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    let name = h.sts.requests()[0]
        .param("RoleSessionName")
        .unwrap()
        .to_owned();
    assert!(name.starts_with("cross-account-dynamodb-"), "{name}");
    assert!(name.len() <= 64);
}

#[tokio::test]
async fn bad_inputs_are_typed_errors_at_build() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let cases: Vec<(&str, AssumedRoleCredentialsBuilder)> = vec![
        ("session name", h.builder(1).session_name("x")),
        ("duration", h.builder(1).duration(secs(899))),
        ("duration", h.builder(1).duration(secs(43201))),
        (
            "duration",
            h.builder(1).duration(Duration::from_millis(900_500)),
        ),
        (
            "RefreshPolicy::jitter",
            h.builder(1)
                .refresh_policy(RefreshPolicy::default().jitter(1.5)),
        ),
        (
            "RefreshPolicy::backoff",
            h.builder(1)
                .refresh_policy(RefreshPolicy::default().backoff(Duration::ZERO, secs(60))),
        ),
        (
            "RefreshPolicy::backoff",
            h.builder(1)
                .refresh_policy(RefreshPolicy::default().backoff(secs(60), secs(1))),
        ),
        (
            "RefreshPolicy::advisory_window",
            h.builder(1)
                .refresh_policy(RefreshPolicy::default().advisory_window(Duration::ZERO)),
        ),
        (
            "RefreshPolicy::load_timeout",
            h.builder(1)
                .refresh_policy(RefreshPolicy::default().load_timeout(Duration::ZERO)),
        ),
        ("external id", h.builder(1).external_id("a")),
        ("session policy", h.builder(1).policy("")),
        ("policy ARNs", h.builder(1).policy_arns(["ReadOnly"])),
        ("session tags", h.builder(1).tags([("", "v")])),
        (
            "source identity",
            h.builder(1).source_identity("no spaces allowed"),
        ),
        ("MFA serial", h.builder(1).mfa("x", || "1".into())),
        (
            "role ARN",
            AssumedRoleCredentials::builder("arn:aws:iam::1:role/x"),
        ),
    ];
    for (what, builder) in cases {
        let err = builder.build().await.unwrap_err();
        assert!(err.is_invalid_input(), "{what}: {err}");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    assert_eq!(h.sts.request_count(), 0, "nothing reached STS");
    let deferred = h
        .builder(1)
        .refresh_policy(RefreshPolicy::default().jitter(f64::NAN))
        .build_deferred()
        .unwrap_err();
    assert!(
        deferred
            .to_string()
            .starts_with("invalid RefreshPolicy::jitter: "),
        "{deferred}"
    );
    let no_region = AssumedRoleCredentials::builder(ROLE)
        .source(Credentials::new("AKID", "secret", None, None, "test"))
        .build_deferred()
        .unwrap_err();
    assert!(no_region.to_string().contains("region"), "{no_region}");
}

#[test]
fn garbage_role_arns_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet: Vec<char> = "arn:aws-iam:role/0123456789:/_.@+=,\u{e9}\u{1F600} "
        .chars()
        .collect();
    for _ in 0..20_000 {
        let len = rng.usize(0..80);
        let s: String = (0..len)
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect();
        let _ = AssumedRoleCredentials::builder(s).build_deferred();
    }
}

// ---- 6. role chaining -----------------------------------------------------------------------------

#[tokio::test]
async fn a_chain_of_our_providers_caches_each_hop_and_clamps_to_one_hour() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let hop = AssumedRoleCredentials::builder(HOP)
        .session_name("hop")
        .configure(&h.sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    let target = h
        .builder(1)
        .source(hop.clone())
        .duration(secs(7200))
        .build()
        .await
        .unwrap();
    let reqs = h.sts.requests();
    assert_eq!(reqs[1].param("RoleArn"), Some(ROLE));
    assert_eq!(
        reqs[1].param("DurationSeconds"),
        Some("3600"),
        "clamped for a chain"
    );
    assert_eq!(
        reqs[1].signed_with,
        FakeSts::access_key_of(1),
        "signed by the hop"
    );
    target.refresh_now().await.unwrap();
    target.refresh_now().await.unwrap();
    let hops = h
        .sts
        .requests()
        .iter()
        .filter(|r| r.param("RoleArn") == Some(HOP))
        .count();
    assert_eq!(
        hops, 1,
        "refreshing the last hop does not re-assume the chain"
    );
}

#[tokio::test]
async fn a_temporary_source_hitting_the_chaining_cap_retries_once_at_one_hour() {
    let h = Harness::new(Reply::ChainingCapped(secs(3600)));
    let session = Credentials::new(
        "ASIASOURCE",
        "sourceSecret",
        Some("sourceToken".into()),
        None,
        "t",
    );
    let creds = h
        .builder(1)
        .source(session)
        .duration(secs(7200))
        .build()
        .await
        .unwrap();
    creds.refresh_now().await.unwrap();
    let durations: Vec<_> = h
        .sts
        .requests()
        .iter()
        .map(|r| r.param("DurationSeconds").unwrap().to_owned())
        .collect();
    assert_eq!(durations, ["7200", "3600", "3600"]);

    // An IAM user's keys are not a chain: 7200 goes through as asked.
    let h = Harness::new(Reply::ChainingCapped(secs(7200)));
    h.builder(1).duration(secs(7200)).build().await.unwrap();
    assert_eq!(h.sts.requests()[0].param("DurationSeconds"), Some("7200"));
    assert_eq!(h.sts.request_count(), 1);
}

// ---- 8. lifetime of the background task ----------------------------------------------------------

async fn dropping_the_last_handle_stops_the_task() {
    let h = Harness::new(Reply::Ok(secs(20)));
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let creds = h.builder(1).build().await.unwrap();
    let clone = creds.clone();
    eventually("one background task", || {
        metrics.num_alive_tasks() == before + 1
    })
    .await;
    drop(creds);
    // In small steps: on a multi-thread runtime the task (on another worker) may register its
    // sleep only after a single large step moved the clock past its wake-up.
    for _ in 0..75 {
        if h.sts.issued() == 2 {
            break;
        }
        h.advance(Duration::from_millis(200)).await;
        settle().await;
    }
    eventually("a clone keeps it refreshing", || h.sts.issued() == 2).await;
    drop(clone);
    eventually("the task ended with the last handle", || {
        metrics.num_alive_tasks() == before
    })
    .await;
    h.advance(secs(120)).await;
    assert_eq!(h.sts.issued(), 2, "and nothing refreshes any more");
}

#[tokio::test(flavor = "current_thread")]
async fn the_task_stops_on_a_current_thread_runtime() {
    dropping_the_last_handle_stops_the_task().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_stops_on_a_multi_thread_runtime() {
    dropping_the_last_handle_stops_the_task().await;
}

// ---- types -----------------------------------------------------------------------------------

#[test]
fn public_types_are_send_sync_and_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<AssumedRoleCredentials>();
    check::<AssumedRoleCredentialsBuilder>();
    check::<Error>();
    check::<RefreshPolicy>();
    check::<RefreshEvent>();
    check::<cross_account_dynamodb::CredentialsStatus>();
    check::<cross_account_dynamodb::Rotation>();
}

// ---- review: hung STS, extreme policies, validity, flights ---------------------------------------

/// `provide_credentials` with a 5-s timeout on the injected clock: the credentials, or `None`
/// if the call failed or did not finish.
async fn provide_within_5s(h: &Harness, creds: &AssumedRoleCredentials) -> Option<Credentials> {
    let c = creds.clone();
    let call = tokio::spawn(async move { c.provide_credentials().await });
    settle().await;
    for _ in 0..50 {
        if call.is_finished() {
            break;
        }
        h.advance(Duration::from_millis(100)).await;
    }
    if !call.is_finished() {
        call.abort();
        return None;
    }
    call.await.unwrap().ok()
}

#[tokio::test]
async fn a_hung_sts_call_is_abandoned_after_the_load_timeout() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    // The first AssumeRole is accepted and never answered; later ones are.
    h.sts.script([Reply::Hang]);
    // As over a real connection whose request went out whole: nothing but our own timeouts
    // ends the call (the SDK's upload stall protection would, on this in-process fake).
    let source = h
        .sts
        .sdk_config(1)
        .to_builder()
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    let creds = AssumedRoleCredentials::builder(ROLE)
        .session_name("tests")
        .configure(&source)
        .refresh_policy(RefreshPolicy::default().load_timeout(secs(3)))
        .build_deferred()
        .unwrap();
    let now = || aws_smithy_async::time::TimeSource::now(&h.time);
    let start = now();
    let mut got = None;
    // A caller loop for 60 s of injected time, each call given 5 s.
    for _ in 0..600 {
        if now() >= start + secs(60) {
            break;
        }
        let before = now();
        if let Some(c) = provide_within_5s(&h, &creds).await {
            got = Some(c);
            break;
        }
        if now() == before {
            // It failed at once (a remembered error): let time pass before the next call.
            h.advance(Duration::from_millis(100)).await;
        }
    }
    let got = got.expect("credentials within 60 s despite the hung first call");
    assert_eq!(got.access_key_id(), FakeSts::access_key_of(1));
    assert_eq!(
        h.sts.request_count(),
        2,
        "the hung call, then one new attempt"
    );
}

/// Counts drops of what it is captured in.
struct DropCounter(Arc<AtomicU32>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn dropping_every_handle_while_sts_hangs_frees_the_provider() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let drops = Arc::new(AtomicU32::new(0));
    let counter = DropCounter(drops.clone());
    let creds = h
        .builder(1)
        .on_refresh(move |_| {
            let _ = &counter;
        })
        .build()
        .await
        .unwrap();
    h.sts.set(Reply::Hang);
    // The background task calls STS ahead of expiry; the call hangs.
    let due = creds.status().next_refresh.unwrap();
    h.advance_to(due).await;
    assert_eq!(
        h.sts.request_count(),
        2,
        "the background task is waiting on STS"
    );
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(creds);
    settle().await;
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the provider's state was freed while STS hangs"
    );
    eventually("the background task ended", || {
        metrics.num_alive_tasks() == before
    })
    .await;
}

#[tokio::test]
async fn extreme_policy_values_give_errors_not_panics() {
    let policies = [
        RefreshPolicy::default()
            .error_ttl(Duration::MAX, Duration::MAX)
            .backoff(secs(1), Duration::MAX),
        RefreshPolicy::default()
            .error_ttl(Duration::MAX, Duration::MAX)
            .backoff(Duration::MAX, Duration::MAX)
            .advisory_window(Duration::MAX)
            .max_safety_margin(Duration::MAX)
            .load_timeout(Duration::MAX)
            .jitter(1.0),
        RefreshPolicy::default()
            .backoff(Duration::from_nanos(1), Duration::MAX)
            .advisory_window(Duration::from_nanos(1))
            .load_timeout(Duration::from_nanos(1)),
    ];
    for policy in policies {
        for reply in [
            Reply::AccessDenied,
            Reply::Throttling,
            Reply::Internal,
            Reply::Ok(secs(3600)),
        ] {
            let h = Harness::new(reply.clone());
            let built = h.builder(1).refresh_policy(policy.clone()).build().await;
            match (&reply, built) {
                (Reply::AccessDenied, Err(e)) => assert!(e.is_access_denied(), "{e}"),
                (Reply::Ok(_), Ok(creds)) => {
                    h.advance(secs(7200)).await;
                    let _ = creds.status();
                    let _ = creds.refresh_now().await;
                }
                (_, Err(e)) => assert!(e.is_retryable(), "{policy:?} {reply:?}: {e}"),
                (_, Ok(_)) => panic!("{policy:?} {reply:?}: built"),
            }
            h.advance(secs(3600)).await;
        }
    }
}

/// A clock that reads the harness clock plus an offset: the wall clock jumping ahead (a
/// suspended host, a frozen Lambda) while no timer fires.
#[derive(Debug, Clone)]
struct JumpingClock {
    base: TickAdvanceTime,
    offset: Arc<Mutex<Duration>>,
}

impl aws_smithy_async::time::TimeSource for JumpingClock {
    fn now(&self) -> SystemTime {
        aws_smithy_async::time::TimeSource::now(&self.base) + *self.offset.lock().unwrap()
    }
}

#[tokio::test]
async fn a_wall_clock_jump_past_validity_stops_serving_without_any_timer_firing() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let clock = JumpingClock {
        base: h.time.clone(),
        offset: Arc::new(Mutex::new(Duration::ZERO)),
    };
    let creds = h
        .builder(1)
        .time_source(clock.clone())
        .build()
        .await
        .unwrap();
    settle().await;
    assert!(creds.status().background_task_running);
    assert_eq!(key(&creds), FakeSts::access_key_of(1));
    // Two hours pass on the wall clock; the monotonic timers (the injected sleep) stand still.
    *clock.offset.lock().unwrap() = secs(7200);
    if let Some(Ok(c)) = served_now(&creds) {
        panic!(
            "served {} past its validity after a clock jump",
            c.access_key_id()
        );
    }
    assert!(creds.fallback_on_interrupt().is_none());
}

#[tokio::test]
async fn a_rejected_key_is_never_served_however_the_task_races_invalidate() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    let creds = h.builder(1).build().await.unwrap();
    h.sts.set_latency(secs(1));
    for _ in 0..50 {
        let current = key(&creds);
        // Wake the task (a new schedule) and reject the key at once.
        let refresh = {
            let c = creds.clone();
            tokio::spawn(async move { c.refresh_now().await })
        };
        tokio::task::yield_now().await;
        assert!(creds.invalidate(&current));
        settle().await;
        if let Some(Ok(c)) = served_now(&creds) {
            assert_ne!(c.access_key_id(), current, "the rejected key was served");
        }
        h.advance(secs(1)).await;
        refresh.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn each_waiter_gets_the_outcome_of_the_flight_it_joined() {
    let h = Harness::new(Reply::Ok(secs(3600)));
    h.sts.script([Reply::Internal]);
    h.sts.set_latency(secs(1));
    let creds = h.builder(1).build_deferred().unwrap();
    // B joins flight 1 and is then not polled until flight 2 is over.
    let mut b = Box::pin(creds.credentials());
    assert!(b.as_mut().now_or_never().is_none());
    let a = {
        let c = creds.clone();
        tokio::spawn(async move { c.credentials().await })
    };
    settle().await;
    assert_eq!(h.sts.request_count(), 1, "A joined B's flight");
    h.advance(secs(1)).await;
    let a = a.await.unwrap().unwrap_err();
    assert_eq!(a.kind(), ErrorKind::StsUnavailable, "{a}");
    // Flight 2 succeeds.
    let second = {
        let c = creds.clone();
        tokio::spawn(async move { c.refresh_now().await })
    };
    settle().await;
    h.advance(secs(1)).await;
    second.await.unwrap().unwrap();
    assert_eq!(h.sts.request_count(), 2);
    let b = b.await;
    let b = b.expect_err("B joined the failed flight 1, not the successful flight 2");
    assert_eq!(b.kind(), ErrorKind::StsUnavailable, "{b}");
}
