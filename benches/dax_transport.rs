//! GetItem and PutItem through our DAX transport against the HTTP path, both served by the same
//! in-process fake backend (one item store), each over loopback TCP:
//!
//! * **DAX**: `creds.dax(...)`: the SDK pipeline with the typed side channel, our connection
//!   pool, CBOR frames, to a minimal DAX server (the codec's server half over the store);
//! * **HTTP**: `creds.dynamodb_config()` with the SDK's hyper client: SigV4, DynamoDB JSON, to a
//!   minimal HTTP/1.1 server (JSON over the same store).
//!
//! Both servers do the least a server can (no expressions, no persistence), so the ratio
//! measures the client transports. Latency: one request at a time; throughput: 32 concurrent
//! requests per iteration.
//!
//! `cargo bench --bench dax_transport` (figures in BENCHMARKS.md, "DAX transport vs HTTP").

// A benchmark measures real time.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;
#[path = "../tests/support/mini_dax.rs"]
mod mini_dax;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cross_account_dynamodb::dax::codec::*;
use cross_account_dynamodb::{AssumedRoleCredentials, DaxOptions};
use fake_sts::{FakeSts, Reply};
use mini_dax::{dax_server, item, Store, TABLE};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CONCURRENCY: usize = 32;

// ------------------------------------------------------------------ the HTTP server

fn av_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        other => panic!("the bench uses S and N only, not {other:?}"),
    }
}

fn json_av(v: &Value) -> AttributeValue {
    if let Some(s) = v["S"].as_str() {
        AttributeValue::S(s.to_owned())
    } else {
        AttributeValue::N(v["N"].as_str().unwrap().to_owned())
    }
}

fn item_json(i: &Item) -> Value {
    Value::Object(
        i.iter()
            .map(|(k, v)| (k.clone(), av_json(v)))
            .collect::<Map<_, _>>(),
    )
}

async fn http_server(store: Store) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::spawn(http_conn(sock, store.clone()));
        }
    });
    addr
}

/// A minimal HTTP/1.1 keep-alive server: enough for the SDK's POSTs (written by hand: the
/// bench must not change the hyper features every other target is built with).
async fn http_conn(mut sock: TcpStream, store: Store) {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        while let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            let target = head
                .lines()
                .find_map(|l| l.strip_prefix("x-amz-target:"))
                .map(|t| t.trim().to_owned())
                .unwrap_or_default();
            if buf.len() < head_end + 4 + len {
                break;
            }
            let body: Vec<u8> = buf.drain(..head_end + 4 + len).skip(head_end + 4).collect();
            let req: Value = serde_json::from_slice(&body).unwrap();
            let reply = if target.ends_with(".getitem") {
                let pk = req["Key"]["pk"]["S"].as_str().unwrap();
                match store.lock().unwrap().get(pk) {
                    Some(i) => json!({ "Item": item_json(i) }),
                    None => json!({}),
                }
            } else if target.ends_with(".putitem") {
                let it: Item = req["Item"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), json_av(v)))
                    .collect();
                let pk = it["pk"].as_s().unwrap().clone();
                store.lock().unwrap().insert(pk, it);
                json!({})
            } else {
                panic!("the bench server does not serve {target}");
            };
            let body = reply.to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: bench\r\ncontent-length: {}\r\n\r\n{}",
                body.len(),
                body
            );
            if sock.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// ------------------------------------------------------------------ the clients

struct Setup {
    rt: tokio::runtime::Runtime,
    dax: Client,
    http: Client,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (dax, http) = rt.block_on(async {
        let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
        sts.set(Reply::Ok(Duration::from_secs(3600)));
        let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/Bench")
            .session_name("bench")
            .configure(&sts.sdk_config(3))
            .build()
            .await
            .unwrap();
        let store: Store = Arc::default();
        for i in 0..64 {
            let pk = format!("k{i}");
            store.lock().unwrap().insert(pk.clone(), item(&pk));
        }
        let dax_addr = dax_server(store.clone()).await;
        let http_addr = http_server(store).await;
        let dax = creds
            .dax_with(
                &format!("dax://{dax_addr}"),
                DaxOptions::new().signing_region("us-east-1"),
            )
            .unwrap();
        let http = Client::from_conf(
            creds
                .dynamodb_config()
                .endpoint_url(format!("http://{http_addr}"))
                .http_client(aws_smithy_http_client::Builder::new().build_http())
                .build(),
        );
        (dax, http)
    });
    Setup { rt, dax, http }
}

async fn get(c: &Client, i: usize) {
    let out = c
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(format!("k{}", i % 64)))
        .send()
        .await
        .unwrap();
    assert_eq!(out.item().unwrap().len(), 5);
}

async fn put(c: &Client, i: usize) {
    let mut it = item(&format!("k{}", i % 64));
    it.insert("count".into(), AttributeValue::N(i.to_string()));
    c.put_item()
        .table_name(TABLE)
        .set_item(Some(it))
        .send()
        .await
        .unwrap();
}

fn bench(c: &mut Criterion) {
    let s = setup();
    // Warm both paths (discovery, metadata, connection pools).
    s.rt.block_on(async {
        for i in 0..64 {
            get(&s.dax, i).await;
            put(&s.dax, i).await;
            get(&s.http, i).await;
            put(&s.http, i).await;
        }
    });
    for (op, is_get) in [("get_item", true), ("put_item", false)] {
        let mut g = c.benchmark_group(format!("dax_transport/{op}/latency"));
        for (side, client) in [("dax", &s.dax), ("http", &s.http)] {
            g.bench_function(side, |b| {
                b.iter_custom(|iters| {
                    s.rt.block_on(async {
                        let t = Instant::now();
                        for i in 0..iters as usize {
                            if is_get {
                                get(client, i).await
                            } else {
                                put(client, i).await
                            }
                        }
                        t.elapsed()
                    })
                })
            });
        }
        g.finish();
        let mut g = c.benchmark_group(format!("dax_transport/{op}/throughput"));
        g.throughput(Throughput::Elements(CONCURRENCY as u64));
        for (side, client) in [("dax", &s.dax), ("http", &s.http)] {
            g.bench_function(side, |b| {
                b.iter_custom(|iters| {
                    s.rt.block_on(async {
                        let t = Instant::now();
                        for _ in 0..iters {
                            let tasks: Vec<_> = (0..CONCURRENCY)
                                .map(|i| {
                                    let c = client.clone();
                                    tokio::spawn(async move {
                                        if is_get {
                                            get(&c, i).await
                                        } else {
                                            put(&c, i).await
                                        }
                                    })
                                })
                                .collect();
                            for t in tasks {
                                t.await.unwrap();
                            }
                        }
                        t.elapsed()
                    })
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
