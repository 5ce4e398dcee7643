//! The read path allocates nothing: `provide_credentials` with valid cached credentials is an
//! `ArcSwap` load and an `Arc` clone, returned as a ready future. Proved with a counting global
//! allocator (this test binary's own), so it cannot pass by accident.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; this is test-only

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_async::test_util::tick_advance_sleep::tick_advance_time_and_sleep;
use aws_smithy_runtime_api::client::identity::{ResolveCachedIdentity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_types::config_bag::ConfigBag;
use cross_account_dynamodb::AssumedRoleCredentials;
use futures_util::FutureExt;
use support::fake_sts::{FakeSts, Reply};

struct Counting;

thread_local! {
    /// Set on the test's own thread while it measures: the read path runs there (a
    /// current-thread runtime), and other threads (the test harness's) allocate on their own
    /// schedule, which made a process-wide count flaky on a loaded machine.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[tokio::test]
async fn provide_credentials_allocates_nothing_while_valid() {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time, sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/R")
        .session_name("alloc")
        .configure(&sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    // let the background task start, and warm up
    // thread-locals (arc-swap's debt list) outside the counted region
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
    assert!(creds.status().background_task_running);
    let _ = creds.provide_credentials().now_or_never();

    ALLOCATIONS.store(0, Ordering::Relaxed);
    counting(true);
    let mut served = 0;
    for _ in 0..10_000 {
        if let Some(Ok(c)) = creds.provide_credentials().now_or_never() {
            served += c.access_key_id().len();
        }
    }
    counting(false);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        served,
        10_000 * FakeSts::access_key_of(1).len(),
        "every call was ready"
    );
    assert_eq!(allocations, 0, "allocations on the read path");

    // The same through the SDK's identity path, as our clients resolve it.
    let config = creds.sdk_config();
    let cache = config.identity_cache().unwrap();
    let resolver = SharedIdentityResolver::new(config.credentials_provider().unwrap());
    let components = RuntimeComponentsBuilder::for_tests().build().unwrap();
    let bag = ConfigBag::base();
    let _ = cache
        .resolve_cached_identity(resolver.clone(), &components, &bag)
        .now_or_never();
    // Baseline: what cloning the SDK's `Identity` itself allocates (its properties map holds
    // the account id, so every clone allocates once; the SDK's lazy cache pays it too).
    let one = cache
        .resolve_cached_identity(resolver.clone(), &components, &bag)
        .now_or_never()
        .expect("ready")
        .unwrap();
    ALLOCATIONS.store(0, Ordering::Relaxed);
    counting(true);
    for _ in 0..10_000 {
        std::hint::black_box(one.clone());
    }
    counting(false);
    let identity_clones = ALLOCATIONS.load(Ordering::Relaxed);

    ALLOCATIONS.store(0, Ordering::Relaxed);
    counting(true);
    for _ in 0..10_000 {
        let identity = cache
            .resolve_cached_identity(resolver.clone(), &components, &bag)
            .now_or_never()
            .expect("ready")
            .unwrap();
        std::hint::black_box(identity);
    }
    counting(false);
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        identity_clones,
        "the SDK identity path allocates nothing beyond the SDK's own Identity clone"
    );

    // Positive control: the counter does count (a Vec allocates).
    ALLOCATIONS.store(0, Ordering::Relaxed);
    counting(true);
    let v = std::hint::black_box(vec![0u8; 64]);
    counting(false);
    drop(v);
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        1,
        "the allocation counter works"
    );
}

/// Reads past the refresh point (a refresh is failing and the cache carries the service) go
/// through the telemetry counter `xacct.credentials.served_past_refresh`; with no telemetry
/// provider set (the SDK's no-op default) that costs a provider comparison and allocates
/// nothing.
#[tokio::test]
async fn reads_past_the_refresh_point_allocate_nothing_without_a_provider() {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/R")
        .session_name("alloc-late")
        .configure(&sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    sts.set(Reply::Internal);
    let next = creds.status().next_refresh.unwrap();
    let now = aws_smithy_async::time::TimeSource::now(&time);
    time.tick(next.duration_since(now).unwrap()).await;
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
    let status = creds.status();
    assert_eq!(status.consecutive_failures, 1, "the refresh failed");
    assert!(
        status.valid_until.unwrap() > next,
        "still valid, past the refresh point"
    );
    // warm up: the first recording resolves the (no-op) provider once
    let _ = creds.provide_credentials().now_or_never();

    ALLOCATIONS.store(0, Ordering::Relaxed);
    counting(true);
    let mut served = 0;
    for _ in 0..10_000 {
        if let Some(Ok(c)) = creds.provide_credentials().now_or_never() {
            served += c.access_key_id().len();
        }
    }
    counting(false);
    assert_eq!(served, 10_000 * FakeSts::access_key_of(1).len());
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations on the late read path"
    );
}
