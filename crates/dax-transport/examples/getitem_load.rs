//! GetItem load through a DAX endpoint with `aws_sdk_dynamodb::Client` over [`DaxTransport`]:
//! the Rust side of `scripts/bench/dax-clients.sh` (our client against the official Node and
//! Python clients, GetItem cache hits through `dax-local --cache`).
//!
//! ```sh
//! cargo run --release -p xacct-dax-transport --example getitem_load -- \
//!   --endpoint dax://127.0.0.1:8111 --region us-east-1 --table orders --pk bench#1 --sk 1 \
//!   --in-flight 32 --seconds 10 [--warmup-seconds 2] [--count N] [--workers 1] [--seed] [--direct]
//! ```
//!
//! `--in-flight N` tasks each send GetItem after GetItem; after the warm-up, requests are
//! counted for `--seconds` (or until `--count` requests), with each one's latency. The CPU
//! time (user + sys) of this process over the measured window comes from `/proc/self/stat`.
//! `--seed` first writes the item (`pk`, `sk` and 8 more attributes) through DAX. Prints one
//! JSON object. Credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (any key, unless the
//! server checks them). `--workers 0` runs on a current-thread runtime. `--direct` sends the
//! measured GetItems as direct calls (`DaxTransport::get_item`) instead of through the client.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use xacct_dax_transport::DaxTransport;

#[derive(Debug)]
struct Args {
    endpoint: String,
    region: String,
    table: String,
    pk: String,
    sk: String,
    in_flight: usize,
    seconds: f64,
    warmup_seconds: f64,
    count: Option<u64>,
    workers: usize,
    seed: bool,
    direct: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        endpoint: String::new(),
        region: "us-east-1".into(),
        table: "orders".into(),
        pk: "bench#dax-clients".into(),
        sk: "1".into(),
        in_flight: 1,
        seconds: 10.0,
        warmup_seconds: 2.0,
        count: None,
        workers: 1,
        seed: false,
        direct: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{v:?}: {e}"));
        match arg.as_str() {
            "--endpoint" => a.endpoint = value()?,
            "--region" => a.region = value()?,
            "--table" => a.table = value()?,
            "--pk" => a.pk = value()?,
            "--sk" => a.sk = value()?,
            "--in-flight" => a.in_flight = num(value()?)? as usize,
            "--seconds" => a.seconds = num(value()?)?,
            "--warmup-seconds" => a.warmup_seconds = num(value()?)?,
            "--count" => a.count = Some(num(value()?)? as u64),
            "--workers" => a.workers = num(value()?)? as usize,
            "--seed" => a.seed = true,
            "--direct" => a.direct = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.endpoint.is_empty() || a.in_flight == 0 {
        return Err("--endpoint is required, --in-flight must be 1 or more".into());
    }
    Ok(a)
}

/// (user, system) CPU seconds of this process so far (`/proc/self/stat`, fields 14 and 15).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After ")": state is index 0, so utime (field 14) is index 11 and stime index 12.
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let rt = if args.workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.workers)
            .enable_all()
            .build()?
    };
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "AKIDBENCH".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "secret".into());
    let creds = Credentials::new(id, secret, None, None, "bench");
    let sdk = aws_types::SdkConfig::builder()
        .region(Region::new(args.region.clone()))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let transport = DaxTransport::builder(&args.endpoint)
        .configure(&sdk)
        .credentials_provider(creds.clone())
        .build()?;
    let conf = transport
        .apply(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .credentials_provider(creds)
                .region(Region::new(args.region.clone())),
        )
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let key = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(args.pk.clone())),
        ("sk".to_owned(), AttributeValue::N(args.sk.clone())),
    ]);
    if args.seed {
        let mut item = key.clone();
        for i in 0..4 {
            item.insert(format!("s{i}"), AttributeValue::S(format!("value {i}")));
            item.insert(format!("n{i}"), AttributeValue::N(format!("{}.5", i * 100)));
        }
        client
            .put_item()
            .table_name(&args.table)
            .set_item(Some(item))
            .send()
            .await?;
    }
    // One request first: the key schema and attribute list control calls happen here.
    let first = client
        .get_item()
        .table_name(&args.table)
        .set_key(Some(key.clone()))
        .send()
        .await?;
    let attributes = first.item().map_or(0, HashMap::len);

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let limit = args.count.unwrap_or(u64::MAX);
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight {
        let (client, key, table) = (client.clone(), key.clone(), args.table.clone());
        let direct = args.direct.then(|| transport.clone());
        let (measuring, stop, counted, errors) = (
            measuring.clone(),
            stop.clone(),
            counted.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u64> = Vec::with_capacity(1 << 16);
            while !stop.load(Relaxed) {
                let t = Instant::now();
                let found = match &direct {
                    Some(transport) => {
                        let input = GetItemInput::builder()
                            .table_name(&table)
                            .set_key(Some(key.clone()))
                            .build()
                            .expect("table and key are set");
                        transport
                            .get_item(input)
                            .await
                            .map(|o| o.item.is_some())
                            .map_err(drop)
                    }
                    None => client
                        .get_item()
                        .table_name(&table)
                        .set_key(Some(key.clone()))
                        .send()
                        .await
                        .map(|o| o.item.is_some())
                        .map_err(drop),
                };
                let ns = t.elapsed().as_nanos() as u64;
                if !measuring.load(Relaxed) {
                    continue;
                }
                match found {
                    Ok(true) => lat.push(ns),
                    _ => {
                        errors.fetch_add(1, Relaxed);
                    }
                }
                if counted.fetch_add(1, Relaxed) + 1 >= limit {
                    stop.store(true, Relaxed);
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup_seconds)).await;
    let (t0, cpu0) = (Instant::now(), cpu_seconds());
    measuring.store(true, Relaxed);
    let deadline = t0 + Duration::from_secs_f64(args.seconds);
    while !stop.load(Relaxed) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Relaxed);
    measuring.store(false, Relaxed);
    let (wall, cpu1) = (t0.elapsed().as_secs_f64(), cpu_seconds());
    let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let cpu = user + sys;
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await?);
    }
    lat.sort_unstable();
    let n = lat.len() as f64;
    let json = serde_json::json!({
        "client": if args.direct { "rust-xacct-direct" } else { "rust-xacct" },
        "in_flight": args.in_flight,
        "workers": args.workers,
        "attributes": attributes,
        "requests": lat.len(),
        "errors": errors.load(Relaxed),
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_user_s": user,
        "cpu_sys_s": sys,
        "req_per_s": n / wall,
        "req_per_cpu_s": if cpu > 0.0 { n / cpu } else { 0.0 },
        "p50_us": percentile(&lat, 0.50),
        "p99_us": percentile(&lat, 0.99),
        "p999_us": percentile(&lat, 0.999),
    });
    println!("{json}");
    Ok(())
}
