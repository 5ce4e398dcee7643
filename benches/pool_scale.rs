//! `CrossAccountPool` at scale (issue 18): whole-run figures, printed as tables.
//!
//! ```text
//! cargo bench -p cross-account-dynamodb --bench pool_scale -- [SCENARIO] [ROLES]
//! ```
//!
//! SCENARIO (or `POOL_SCALE_SCENARIO`): `cold`, `memory`, `warm`, `day` or `all` (default);
//! ROLES (or `POOL_SCALE_ROLES`): the role count, default 10,000. Other knobs (environment):
//!
//! * `POOL_SCALE_RATE`: the pool's `sts_rate_limit` in `cold` (default 500) and `day`
//!   (default 100, the pool's default);
//! * `POOL_SCALE_STS_LIMIT`: the fake STS's own limit, calls per sliding second (default
//!   1,000; `0` for none);
//! * `POOL_SCALE_STS_LATENCY_MS`: the fake STS's answer latency in `cold` (default 0);
//! * `POOL_SCALE_CALLS`: calls per task in `warm` (default 20,000);
//! * `POOL_SCALE_WORKERS`: tokio worker threads for `cold` and `warm` (default: the CPU count).
//!
//! Everything runs in process: the fake STS is `tests/support/throttling_sts.rs` (real clock in
//! `cold`, `memory`, `warm`; the injected `tick_advance_time_and_sleep` clock in `day`).
//! `memory` re-runs this binary once per subject (the pool; the anchor) so that each subject's
//! RSS is measured in a fresh process.
#![allow(clippy::disallowed_methods)] // a benchmark measures real time

#[path = "../tests/support/throttling_sts.rs"]
mod throttling_sts;

#[path = "support/live_bytes.rs"]
mod live_bytes;

use live_bytes::{live_bytes, LiveBytes};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_async::test_util::tick_advance_sleep::tick_advance_time_and_sleep;
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_smithy_runtime_api::client::identity::{ResolveCachedIdentity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_types::config_bag::ConfigBag;
use cross_account_dynamodb::{CrossAccountPool, RefreshPolicy, RoleSpec};
use throttling_sts::ThrottlingSts;

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

const SUBJECT_ENV: &str = "POOL_SCALE_MEMORY_SUBJECT";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Role `i`: a distinct account and role name per role.
fn role_arn(i: usize) -> String {
    format!("arn:aws:iam::{:012}:role/Tenant{i}", 100_000_000_000 + i)
}

fn workers() -> usize {
    env_or(
        "POOL_SCALE_WORKERS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    )
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sts_limit() -> Option<u32> {
    match env_or("POOL_SCALE_STS_LIMIT", throttling_sts::DEFAULT_LIMIT) {
        0 => None,
        l => Some(l),
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run either way.
    let positional: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scenario = positional
        .first()
        .cloned()
        .or_else(|| std::env::var("POOL_SCALE_SCENARIO").ok())
        .unwrap_or_else(|| "all".to_owned());
    let roles: usize = positional
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| env_or("POOL_SCALE_ROLES", 10_000));

    if let Ok(subject) = std::env::var(SUBJECT_ENV) {
        memory_child(&subject, roles);
        return;
    }
    println!(
        "pool_scale: scenario {scenario}, {roles} roles, {} tokio workers where multi-threaded",
        workers()
    );
    match scenario.as_str() {
        "cold" => cold_start(roles),
        "memory" => memory(roles),
        "warm" => warm(roles),
        "day" => day(roles),
        "all" => {
            cold_start(roles);
            memory(roles);
            warm(roles);
            day(roles);
        }
        other => {
            eprintln!("unknown scenario {other:?}: cold, memory, warm, day or all");
            std::process::exit(2);
        }
    }
}

fn row(what: &str, value: impl std::fmt::Display, goal: &str) {
    println!("| {what:<62} | {value:>16} | {goal:<26} |");
}

fn header(title: &str) {
    println!();
    println!("## {title}");
    println!("| {:<62} | {:>16} | {:<26} |", "what", "figure", "goal");
    println!("| {:-<62} | {:->16} | {:-<26} |", "", "", "");
}

/// The busiest second of a per-second histogram, and how many seconds exceeded `rate`.
fn peak(per_second: &BTreeMap<u64, u32>, rate: f64) -> (u32, usize) {
    let peak = per_second.values().copied().max().unwrap_or(0);
    let over = per_second
        .values()
        .filter(|c| f64::from(**c) > rate)
        .count();
    (peak, over)
}

// ---------------------------------------------------------------------------------------------
// a. cold start

fn cold_start(n: usize) {
    let rate: f64 = env_or("POOL_SCALE_RATE", 500.0);
    let latency = Duration::from_millis(env_or("POOL_SCALE_STS_LATENCY_MS", 0));
    const CALLERS: usize = 64;
    let rt = multi_thread();
    let sts = ThrottlingSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.record(false);
    sts.set_limit(sts_limit());
    sts.set_latency(latency);
    let sdk = sts.sdk_config(3);
    let pool = CrossAccountPool::builder()
        .configure(&sdk)
        .max_roles(n)
        .sts_rate_limit(rate)
        .build();
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (pool, next, errors, first_error) = (
                    pool.clone(),
                    next.clone(),
                    errors.clone(),
                    first_error.clone(),
                );
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return;
                        }
                        if let Err(e) = pool.credentials(RoleSpec::new(role_arn(i))).await {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e.to_string());
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = start.elapsed();
    let stats = pool.stats();
    let (peak, over) = peak(&sts.per_second(), rate);
    header(&format!(
        "a. cold start: {n} roles, {CALLERS} callers, sts_rate_limit {rate}/s, fake STS limit {}, STS latency {latency:?}",
        sts_limit().map_or("none".to_owned(), |l| format!("{l}/s"))
    ));
    row(
        "time until all roles ready",
        format!("{:.2} s", elapsed.as_secs_f64()),
        &format!("≈ N / rate = {:.1} s", n as f64 / rate),
    );
    row("STS HTTP calls", sts.calls(), &format!("exactly {n}"));
    row("credentials issued", sts.issued(), &format!("{n}"));
    row("Throttling answers", sts.throttled(), "0");
    row("caller errors", errors.load(Ordering::Relaxed), "0");
    row(
        "busiest second (STS calls)",
        peak,
        &format!("≤ {rate} (+ burst)"),
    );
    row("seconds above the rate limit", over, "≤ 1 (the burst)");
    row("pool.len()", pool.len(), &format!("{n}"));
    row("stats: sts_calls", stats.sts_calls, "= STS HTTP calls");
    row("stats: throttled", stats.throttled, "0");
    row(
        "stats: tokens_waited",
        stats.tokens_waited,
        "> 0 when N > rate",
    );
    if let Some(e) = first_error.lock().unwrap().take() {
        println!("first caller error: {e}");
    }
    // Dropping the pool's roles ends their refresh tasks with the runtime.
    drop(pool);
    rt.shutdown_background();
}

// ---------------------------------------------------------------------------------------------
// b. memory

fn rss_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096 // x86_64 / aarch64 Linux default page size
}

fn memory(n: usize) {
    let exe = std::env::current_exe().expect("own path");
    let mut results = BTreeMap::new();
    for subject in ["pool", "anchor"] {
        let out = std::process::Command::new(&exe)
            .env(SUBJECT_ENV, subject)
            .env("POOL_SCALE_ROLES", n.to_string())
            .output()
            .expect("re-run self");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            eprintln!(
                "memory subject {subject} failed: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        for line in stdout.lines() {
            // MEMORY <subject> <heap bytes per role> <rss bytes per role> <sts calls> <secs>
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() == 6 && f[0] == "MEMORY" {
                let heap: f64 = f[2].parse().unwrap();
                let rss: f64 = f[3].parse().unwrap();
                results.insert(subject, (heap, rss, f[4].to_owned(), f[5].to_owned()));
            }
        }
    }
    header(&format!(
        "b. memory per idle role after its first fetch: {n} roles (each subject in a fresh process)"
    ));
    for (subject, label) in [
        ("pool", "ours: one role in a CrossAccountPool"),
        (
            "anchor",
            "anchor: AssumeRoleProvider + IdentityCache::lazy()",
        ),
    ] {
        if let Some((heap, rss, calls, secs)) = results.get(subject) {
            let goal = if subject == "pool" { "≤ 4096 B" } else { "" };
            row(&format!("{label}, heap"), format!("{heap:.0} B"), goal);
            row(&format!("{label}, RSS"), format!("{rss:.0} B"), goal);
            row(
                &format!("{label}, STS calls / setup time"),
                format!("{calls} / {secs} s"),
                &format!("{} (N + 1 warm-up)", n + 1),
            );
        }
    }
    if let (Some(p), Some(a)) = (results.get("pool"), results.get("anchor")) {
        row("anchor / ours, heap", format!("{:.2}×", a.0 / p.0), "");
        row("anchor / ours, RSS", format!("{:.2}×", a.1 / p.1), "");
    }
}

/// One subject, in its own process: prints `MEMORY <subject> <heap/role> <rss/role> <calls> <s>`.
fn memory_child(subject: &str, n: usize) {
    let rt = current_thread();
    let sts = ThrottlingSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.record(false);
    sts.set_limit(None);
    let sdk = sts.sdk_config(3);
    let components = RuntimeComponentsBuilder::for_tests()
        .with_time_source(Some(SharedTimeSource::new(SystemTimeSource::new())))
        .with_sleep_impl(Some(SharedAsyncSleep::new(TokioSleep::new())))
        .build()
        .unwrap();
    let start = Instant::now();
    let (heap, rss) = rt.block_on(async {
        let settle = || async {
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
            TokioSleep::new().sleep(Duration::from_millis(50)).await;
        };
        match subject {
            "pool" => {
                // Warm lazily initialised statics (tracing callsites, the SDK's own) in a
                // throwaway pool.
                let warm = CrossAccountPool::builder().configure(&sdk).build();
                warm.credentials(RoleSpec::new("arn:aws:iam::999999999999:role/warm"))
                    .await
                    .unwrap();
                drop(warm);
                settle().await;
                let (heap0, rss0) = (live_bytes(), rss_bytes());
                let pool = CrossAccountPool::builder()
                    .configure(&sdk)
                    .max_roles(n)
                    .sts_rate_limit(1e9) // setup only: no budget in the way
                    .build();
                for i in 0..n {
                    pool.credentials(RoleSpec::new(role_arn(i))).await.unwrap();
                }
                settle().await;
                let r = (live_bytes() - heap0, rss_bytes() - rss0);
                assert_eq!(pool.len(), n);
                drop(pool);
                r
            }
            "anchor" => {
                let cfg = ConfigBag::base();
                let one = |i: usize| {
                    let (sdk, components, cfg) = (&sdk, &components, &cfg);
                    async move {
                        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn(i))
                            .configure(sdk)
                            .build()
                            .await;
                        let resolver =
                            SharedIdentityResolver::new(SharedCredentialsProvider::new(provider));
                        let cache = IdentityCache::lazy().build();
                        cache
                            .resolve_cached_identity(resolver.clone(), components, cfg)
                            .await
                            .unwrap();
                        (cache, resolver)
                    }
                };
                drop(one(usize::MAX / 2).await);
                settle().await;
                let mut held = Vec::with_capacity(n);
                let (heap0, rss0) = (live_bytes(), rss_bytes());
                for i in 0..n {
                    held.push(one(i).await);
                }
                settle().await;
                let r = (live_bytes() - heap0, rss_bytes() - rss0);
                drop(held);
                r
            }
            other => panic!("unknown memory subject {other}"),
        }
    });
    println!(
        "MEMORY {subject} {:.1} {:.1} {} {:.1}",
        heap as f64 / n as f64,
        rss as f64 / n as f64,
        sts.calls(),
        start.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// c. warm latency

struct Latencies {
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    calls: usize,
}

fn warm_run(n: usize, tasks: usize, calls: usize) -> Latencies {
    let rt = multi_thread();
    let sts = ThrottlingSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.record(false);
    sts.set_limit(None);
    let sdk = sts.sdk_config(3);
    let pool = CrossAccountPool::builder()
        .configure(&sdk)
        .max_roles(n)
        .sts_rate_limit(1e9) // setup only: no budget in the way
        .build();
    let specs: Arc<Vec<RoleSpec>> = Arc::new((0..n).map(|i| RoleSpec::new(role_arn(i))).collect());
    let mut all: Vec<u64> = rt.block_on(async {
        // Fetch every role once (8 setup tasks).
        let next = Arc::new(AtomicUsize::new(0));
        let setup: Vec<_> = (0..8)
            .map(|_| {
                let (pool, specs, next) = (pool.clone(), specs.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= specs.len() {
                            return;
                        }
                        pool.credentials(specs[i].clone()).await.unwrap();
                    }
                })
            })
            .collect();
        for t in setup {
            t.await.unwrap();
        }
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
        let runs: Vec<_> = (0..tasks)
            .map(|t| {
                let (pool, specs, barrier) = (pool.clone(), specs.clone(), barrier.clone());
                tokio::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(t as u64 + 1);
                    let mut durations = Vec::with_capacity(calls);
                    // Warm-up, not recorded.
                    for _ in 0..calls.min(1000) {
                        let spec = specs[rng.usize(..specs.len())].clone();
                        pool.credentials(spec).await.unwrap();
                    }
                    barrier.wait().await;
                    for _ in 0..calls {
                        let spec = specs[rng.usize(..specs.len())].clone();
                        let start = Instant::now();
                        let creds = pool.credentials(spec).await;
                        let took = start.elapsed();
                        creds.unwrap();
                        durations.push(took.as_nanos() as u64);
                    }
                    durations
                })
            })
            .collect();
        let mut all = Vec::with_capacity(tasks * calls);
        for r in runs {
            all.extend(r.await.unwrap());
        }
        all
    });
    assert_eq!(sts.issued() as usize, n, "no refresh during the run");
    drop(pool);
    rt.shutdown_background();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Latencies {
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: *all.last().unwrap(),
        calls: all.len(),
    }
}

fn warm(n: usize) {
    const TASKS: usize = 8;
    let calls: usize = env_or("POOL_SCALE_CALLS", 20_000);
    let big = warm_run(n, TASKS, calls);
    let small = warm_run(10, TASKS, calls);
    header(&format!(
        "c. warm pool.credentials(spec) latency, {TASKS} tasks × {calls} calls, random roles"
    ));
    let ns = |v: u64| format!("{:.2} µs", v as f64 / 1000.0);
    for (label, l) in [
        (format!("{n} roles"), &big),
        ("10 roles".to_owned(), &small),
    ] {
        row(&format!("{label}: p50"), ns(l.p50), "");
        row(&format!("{label}: p99"), ns(l.p99), "< 2 µs");
        row(&format!("{label}: p99.9"), ns(l.p999), "");
        row(&format!("{label}: max"), ns(l.max), "");
        row(&format!("{label}: calls timed"), l.calls, "");
    }
    let ratio = |a: u64, b: u64| format!("{:.2}×", a as f64 / b.max(1) as f64);
    row(
        &format!("p50 {n} roles / 10 roles"),
        ratio(big.p50, small.p50),
        "≈ 1×",
    );
    row(
        &format!("p99 {n} roles / 10 roles"),
        ratio(big.p99, small.p99),
        "≈ 1×",
    );
    row(
        &format!("p99.9 {n} roles / 10 roles"),
        ratio(big.p999, small.p999),
        "",
    );
}

// ---------------------------------------------------------------------------------------------
// d. refresh load over a simulated day

fn day(n: usize) {
    let rate: f64 = env_or("POOL_SCALE_RATE", 100.0);
    let rt = current_thread();
    let wall = Instant::now();
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = ThrottlingSts::new(time.clone(), sleep.clone());
    sts.record(false);
    sts.set_limit(sts_limit());
    sts.set_default_lifetime(Duration::from_secs(3600));
    let sdk = sts.sdk_config(3);
    let pool = CrossAccountPool::builder()
        .configure(&sdk)
        .max_roles(n)
        // Longer than the simulated day: no caller touches the roles after the cold start.
        .idle_timeout(Duration::from_secs(48 * 3600))
        // All N callers ask at t = 0 and wait their turn for a token (N / rate seconds): let
        // them wait instead of timing out after the default 20 s.
        .refresh_policy(RefreshPolicy::default().load_timeout(Duration::from_secs(3600)))
        .sts_rate_limit(rate)
        .build();
    let yields = |k: usize| async move {
        for _ in 0..k {
            tokio::task::yield_now().await;
        }
    };
    let (cold_secs, caller_retries, cold_per_second, cold_throttled) = rt.block_on(async {
        // Cold start: every role asked for at t = 0; a caller whose call fails tries again a
        // simulated second later (counted).
        let retries = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..n {
            let (pool, retries, done, sleep) =
                (pool.clone(), retries.clone(), done.clone(), sleep.clone());
            tokio::spawn(async move {
                while pool.credentials(RoleSpec::new(role_arn(i))).await.is_err() {
                    retries.fetch_add(1, Ordering::Relaxed);
                    sleep.sleep(Duration::from_secs(1)).await;
                }
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        yields(64).await;
        let mut secs = 0u64;
        while done.load(Ordering::Relaxed) < n && secs < 3600 {
            time.tick(Duration::from_secs(1)).await;
            yields(64).await;
            secs += 1;
        }
        assert_eq!(
            done.load(Ordering::Relaxed),
            n,
            "cold start did not finish in 1 h"
        );
        (
            secs,
            retries.load(Ordering::Relaxed),
            sts.per_second(),
            sts.throttled(),
        )
    });
    let cold_calls = sts.calls();
    sts.clear_per_second();
    let day_secs: u64 = env_or("POOL_SCALE_DAY_SECS", 24 * 3600);
    rt.block_on(async {
        for s in 0..day_secs {
            time.tick(Duration::from_secs(1)).await;
            yields(16).await;
            if (s + 1) % 3600 == 0 {
                eprintln!(
                    "day: {} simulated h, {} STS calls, {:.0} s wall",
                    (s + 1) / 3600,
                    sts.calls(),
                    wall.elapsed().as_secs_f64()
                );
            }
        }
    });
    let per_second = sts.per_second();
    let day_calls = sts.calls() - cold_calls;
    let (day_peak, day_over) = peak(&per_second, rate);
    let (cold_peak, cold_over) = peak(&cold_per_second, rate);
    let mut busiest: Vec<u32> = per_second.values().copied().collect();
    busiest.sort_unstable_by(|a, b| b.cmp(a));
    let stats = pool.stats();
    header(&format!(
        "d. refresh load, simulated day: {n} roles, 1 h credentials, sts_rate_limit {rate}/s, fake STS limit {}, {day_secs} steps of 1 s",
        sts_limit().map_or("none".to_owned(), |l| format!("{l}/s"))
    ));
    row("cold start: simulated seconds", cold_secs, "≈ N / rate");
    row("cold start: STS calls", cold_calls, &format!("{n}"));
    row("cold start: Throttling answers", cold_throttled, "0");
    row(
        "cold start: caller retries after an error",
        caller_retries,
        "0",
    );
    row(
        "cold start: busiest second",
        cold_peak,
        &format!("≤ {rate} (+ burst)"),
    );
    row("cold start: seconds above the rate", cold_over, "≤ 1");
    row("day: STS calls (refreshes)", day_calls, "");
    row(
        "day: STS calls per role",
        format!("{:.2}", day_calls as f64 / n as f64),
        "≈ 24 h / refresh interval",
    );
    row("day: busiest second", day_peak, &format!("≤ {rate}"));
    row("day: seconds above the rate", day_over, "0");
    row(
        "day: 10th busiest second",
        busiest.get(9).copied().unwrap_or(0),
        "",
    );
    row("day: seconds with any STS call", per_second.len(), "");
    row(
        "day: Throttling answers",
        sts.throttled() - cold_throttled,
        "0",
    );
    row(
        "stats: sts_calls (whole run)",
        stats.sts_calls,
        "= cold + day",
    );
    row(
        "wall time of the simulation",
        format!("{:.1} s", wall.elapsed().as_secs_f64()),
        "",
    );
    drop(pool);
}
