//! Refresh overhead, ours against the anchor a Rust user would pick instead:
//! `aws_config::sts::AssumeRoleProvider` behind the SDK's default `IdentityCache::lazy()`.
//! Everything in process (fake STS and DynamoDB connectors); no network.
//!
//! `cargo bench --bench refresh_overhead` (results in BENCHMARKS.md).

// A benchmark measures real time.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_smithy_runtime_api::client::identity::{ResolveCachedIdentity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use criterion::{criterion_group, criterion_main, Criterion};
use cross_account_dynamodb::AssumedRoleCredentials;
use fake_sts::{FakeSts, Reply};
use futures_util::FutureExt;

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";

struct Setup {
    rt: tokio::runtime::Runtime,
    sts: FakeSts,
    ours: AssumedRoleCredentials,
    anchor: SharedCredentialsProvider,
    components: RuntimeComponents,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let sdk = sts.sdk_config(3);
    let (ours, anchor) = rt.block_on(async {
        let ours = AssumedRoleCredentials::builder(ROLE)
            .session_name("bench")
            .configure(&sdk)
            .build()
            .await
            .unwrap();
        let anchor = aws_config::sts::AssumeRoleProvider::builder(ROLE)
            .session_name("anchor")
            .configure(&sdk)
            .build()
            .await;
        // Let the background task see the credentials once (it marks them fresh, which keeps
        // the clock off the read path), as it does at once in any running application.
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        (ours, SharedCredentialsProvider::new(anchor))
    });
    let components = RuntimeComponentsBuilder::for_tests()
        .with_time_source(Some(SharedTimeSource::new(SystemTimeSource::new())))
        .with_sleep_impl(Some(SharedAsyncSleep::new(TokioSleep::new())))
        .build()
        .unwrap();
    Setup {
        rt,
        sts,
        ours,
        anchor,
        components,
    }
}

fn identity(c: &mut Criterion) {
    let s = setup();
    let _guard = s.rt.enter(); // the lazy cache makes a tokio Sleep per call
    let lazy = IdentityCache::lazy().build();
    let anchor_resolver = SharedIdentityResolver::new(s.anchor.clone());
    let ours_resolver = SharedIdentityResolver::new(SharedCredentialsProvider::new(s.ours.clone()));
    let no_cache = IdentityCache::no_cache();
    // What our clients use: the pass-through cache from `sdk_config()` / `dynamodb_config()`.
    let ours_config = s.ours.sdk_config();
    let ours_cache = ours_config.identity_cache().unwrap();
    let ours_client_resolver =
        SharedIdentityResolver::new(ours_config.credentials_provider().unwrap());
    let cfg = ConfigBag::base();
    // Warm the anchor's cache (one AssumeRole).
    s.rt.block_on(lazy.resolve_cached_identity(anchor_resolver.clone(), &s.components, &cfg))
        .unwrap();

    let mut g = c.benchmark_group("identity");
    g.bench_function("ours provide_credentials", |b| {
        b.iter(|| {
            s.ours
                .provide_credentials()
                .now_or_never()
                .unwrap()
                .unwrap()
        })
    });
    g.bench_function("anchor lazy-cache hit", |b| {
        b.iter(|| {
            lazy.resolve_cached_identity(anchor_resolver.clone(), &s.components, &cfg)
                .now_or_never()
                .unwrap()
                .unwrap()
        })
    });
    g.bench_function("ours via ResolveCachedIdentity (our clients' cache)", |b| {
        b.iter(|| {
            ours_cache
                .resolve_cached_identity(ours_client_resolver.clone(), &s.components, &cfg)
                .now_or_never()
                .unwrap()
                .unwrap()
        })
    });
    g.bench_function("ours via ResolveCachedIdentity (SDK no_cache)", |b| {
        b.iter(|| {
            no_cache
                .resolve_cached_identity(ours_resolver.clone(), &s.components, &cfg)
                .now_or_never()
                .unwrap()
                .unwrap()
        })
    });
    g.finish();

    // Two threads contending on one provider / one cache: time per call on each thread.
    let mut g = c.benchmark_group("identity 2 threads");
    let ours = s.ours.clone();
    g.bench_function("ours provide_credentials", |b| {
        b.iter_custom(|iters| {
            contended(iters, {
                let ours = ours.clone();
                move || {
                    ours.provide_credentials().now_or_never().unwrap().unwrap();
                }
            })
        })
    });
    let lazy = Arc::new(lazy);
    let components = s.components.clone();
    g.bench_function("anchor lazy-cache hit", |b| {
        b.iter_custom(|iters| {
            contended(iters, {
                let (lazy, resolver, components) =
                    (lazy.clone(), anchor_resolver.clone(), components.clone());
                move || {
                    let cfg = ConfigBag::base();
                    lazy.resolve_cached_identity(resolver.clone(), &components, &cfg)
                        .now_or_never()
                        .unwrap()
                        .unwrap();
                }
            })
        })
    });
    g.finish();
    drop(_guard);
    assert_eq!(s.sts.issued(), 2, "no refresh happened during the runs");
}

/// Runs `op` `iters` times on each of two threads at once; returns the mean wall time per
/// call on one thread (so a contention-free result equals the one-thread figure).
fn contended(iters: u64, op: impl Fn() + Send + Sync + Clone + 'static) -> Duration {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (op, barrier) = (op.clone(), barrier.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let _g = rt.enter();
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    op();
                }
                start.elapsed()
            })
        })
        .collect();
    let total: Duration = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total / 2
}

fn whole_request(c: &mut Criterion) {
    let s = setup();
    let sdk = s.sts.sdk_config(3);
    let static_creds = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .credentials_provider(Credentials::new(
                "ASIASTATIC",
                "secret",
                Some("t".into()),
                None,
                "static",
            ))
            .identity_cache(IdentityCache::no_cache())
            .build(),
    );
    let ours = s.ours.dynamodb();
    let anchor = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .credentials_provider(s.anchor.clone())
            .identity_cache(IdentityCache::lazy().build())
            .build(),
    );
    let get = |client: &aws_sdk_dynamodb::Client| {
        let req = client
            .get_item()
            .table_name("orders")
            .key("pk", AttributeValue::S("order-1".into()))
            .key("sk", AttributeValue::N("1".into()));
        s.rt.block_on(req.send()).unwrap()
    };
    let mut g = c.benchmark_group("GetItem over an in-process connector");
    g.bench_function("static credentials (cache off)", |b| {
        b.iter(|| get(&static_creds))
    });
    g.bench_function("ours", |b| b.iter(|| get(&ours)));
    g.bench_function("anchor", |b| b.iter(|| get(&anchor)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = identity, whole_request
}
criterion_main!(benches);
