//! Load across credential rotations and through an STS outage, ours against the anchor
//! (`aws_config::sts::AssumeRoleProvider` behind the SDK's `IdentityCache::lazy()`), in process:
//! a fake STS issuing 20-second sessions and answering after 100 ms, a fake DynamoDB answering
//! at once, and 64 tasks sending GetItem continuously. Real time (this is a load run, not a
//! test). Prints latency percentiles and STS calls, and draws `target/rotation.png`.
//!
//! ```text
//! cargo run --release --example rotation_load                      # 10 rotations each
//! cargo run --release --example rotation_load -- --scenario outage # STS down 5 s..15 s
//! ```

// A load run measures real time.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use cross_account_dynamodb::AssumedRoleCredentials;
use fake_sts::{FakeSts, Reply};
use plotters::prelude::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";
const SESSION: Duration = Duration::from_secs(20);
const STS_LATENCY: Duration = Duration::from_millis(100);
const TASKS: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Rotation { rotations: u64 },
    Outage,
}

/// One request: when it started (since the run began), how long it took, whether it failed.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    latency: Duration,
    ok: bool,
}

struct Run {
    name: &'static str,
    samples: Vec<Sample>,
    sts_requests: Vec<Duration>,
    sessions: u64,
    duration: Duration,
}

async fn run(name: &'static str, scenario: Scenario) -> Result<Run, BoxError> {
    let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.set(Reply::Ok(SESSION));
    sts.set_latency(STS_LATENCY);
    let sdk = sts.sdk_config(3);
    let client = if name == "ours" {
        AssumedRoleCredentials::builder(ROLE)
            .session_name("load")
            .configure(&sdk)
            .build()
            .await?
            .dynamodb()
    } else {
        let anchor = aws_config::sts::AssumeRoleProvider::builder(ROLE)
            .session_name("load")
            .configure(&sdk)
            .build()
            .await;
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .credentials_provider(SharedCredentialsProvider::new(anchor))
                .identity_cache(IdentityCache::lazy().build())
                .build(),
        )
    };
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::with_capacity(4_000_000)));
    let workers: Vec<_> = (0..TASKS)
        .map(|i| {
            let (client, stop, samples) = (client.clone(), stop.clone(), samples.clone());
            tokio::spawn(async move {
                let mut local = Vec::with_capacity(65_536);
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    let ok = client
                        .get_item()
                        .table_name("orders")
                        .key("pk", AttributeValue::S(format!("k{i}")))
                        .key("sk", AttributeValue::N("1".into()))
                        .send()
                        .await
                        .is_ok();
                    local.push(Sample {
                        at: t0 - start,
                        latency: t0.elapsed(),
                        ok,
                    });
                    if local.len() == local.capacity() {
                        samples.lock().unwrap().append(&mut local);
                    }
                    // The in-process connector answers without ever waiting; a real request
                    // yields on network I/O. Yield as it would, so timers and the other tasks
                    // (including the refresh task) get the workers.
                    tokio::task::yield_now().await;
                }
                samples.lock().unwrap().append(&mut local);
            })
        })
        .collect();
    match scenario {
        Scenario::Rotation { rotations } => {
            let deadline = start + SESSION * (rotations as u32 + 2) * 2;
            while sts.issued() < rotations + 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // a little steady state after the last rotation
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Scenario::Outage => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            sts.set(Reply::Internal);
            tokio::time::sleep(Duration::from_secs(10)).await;
            sts.set(Reply::Ok(SESSION));
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    let duration = start.elapsed();
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let sts_requests = sts
        .requests()
        .iter()
        .map(|r| {
            r.at.duration_since(std::time::SystemTime::now() - start.elapsed())
                .unwrap_or_default()
        })
        .collect();
    Ok(Run {
        name,
        samples,
        sts_requests,
        sessions: sts.issued(),
        duration,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(r: &Run, scenario: Scenario) {
    let mut all: Vec<Duration> = r.samples.iter().map(|s| s.latency).collect();
    all.sort_unstable();
    let failed = r.samples.iter().filter(|s| !s.ok).count();
    // "At rotation": requests that started while an STS call was in flight (plus a margin).
    let near_sts = |s: &Sample| {
        r.sts_requests
            .iter()
            .any(|&t| s.at + Duration::from_millis(50) >= t && s.at <= t + STS_LATENCY * 3)
    };
    let steady_max = r
        .samples
        .iter()
        .filter(|s| !near_sts(s))
        .map(|s| s.latency)
        .max()
        .unwrap_or_default();
    let rotation_max = r
        .samples
        .iter()
        .filter(|s| near_sts(s))
        .map(|s| s.latency)
        .max()
        .unwrap_or_default();
    println!(
        "{:>6}: {} requests in {:.1} s ({} failed); latency p50 {:?} p99 {:?} p99.9 {:?} max {:?}",
        r.name,
        r.samples.len(),
        r.duration.as_secs_f64(),
        failed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
        all.last().copied().unwrap_or_default(),
    );
    println!(
        "        max at rotation {:?}, max in steady state {:?}; STS HTTP requests {}, sessions issued {}{}",
        rotation_max,
        steady_max,
        r.sts_requests.len(),
        r.sessions,
        match scenario {
            Scenario::Rotation { .. } => format!(
                ", {:.2} STS requests per rotation",
                r.sts_requests.len().saturating_sub(1) as f64 / (r.sessions.max(2) - 1) as f64
            ),
            Scenario::Outage => String::new(),
        }
    );
}

/// Max latency per 500 ms bucket, per run, on a log scale.
fn plot(runs: &[Run], path: &str, title: &str) -> Result<(), BoxError> {
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        .map_err(|e| format!("the plot needs DejaVu Sans ({e}); install fonts-dejavu-core"))?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| "could not load DejaVu Sans")?;
    let secs = runs
        .iter()
        .map(|r| r.duration.as_secs_f64())
        .fold(0.0, f64::max);
    let series: Vec<(&str, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|r| {
            let buckets = (secs * 2.0).ceil() as usize + 1;
            let mut max = vec![0f64; buckets];
            for s in &r.samples {
                let b = (s.at.as_secs_f64() * 2.0) as usize;
                let ms = s.latency.as_secs_f64() * 1e3;
                if b < buckets && ms > max[b] {
                    max[b] = ms;
                }
            }
            let points = max
                .into_iter()
                .enumerate()
                .filter(|(_, v)| *v > 0.0)
                .map(|(i, v)| (i as f64 / 2.0, v.max(0.011)))
                .collect();
            (r.name, points)
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
        .fold(1.0, f64::max)
        * 2.0;
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..secs, (0.01..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time since start (s)")
        .y_desc("max request latency per 500 ms (ms, log)")
        .draw()?;
    for ((name, points), color) in series.iter().zip([BLUE, RED]) {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    println!("plot: {path}");
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = match args
        .iter()
        .position(|a| a == "--scenario")
        .map(|i| args[i + 1].as_str())
    {
        Some("outage") => Scenario::Outage,
        None | Some("rotation") => Scenario::Rotation {
            rotations: args
                .iter()
                .position(|a| a == "--rotations")
                .map(|i| args[i + 1].parse())
                .transpose()?
                .unwrap_or(10),
        },
        Some(other) => return Err(format!("unknown scenario {other}").into()),
    };
    // Both at once, on the same workers: whatever else the machine is doing hits both alike.
    let (ours, anchor) = tokio::join!(run("ours", scenario), run("anchor", scenario));
    let runs = vec![ours?, anchor?];
    for r in &runs {
        report(r, scenario);
    }
    let (path, title) = match scenario {
        Scenario::Rotation { .. } => (
            "target/rotation.png",
            "GetItem latency across 20 s credential rotations (64 tasks each, STS answers in 100 ms)",
        ),
        Scenario::Outage => (
            "target/outage.png",
            "GetItem latency with STS failing from 5 s to 15 s (20 s sessions)",
        ),
    };
    plot(&runs, path, title)
}
