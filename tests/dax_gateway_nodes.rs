//! Multi-node: the official Python and Node clients run the load drivers against a 3-node
//! gateway while the leader is killed (and later restarted). From the drivers' JSONL and the
//! gateway's request log: no read fails; every failed write was in flight on the killed node
//! (its request is in the log as Dropped there); writes succeed again within two `endpoints`
//! refreshes (the clients refresh every 4 s); the restarted node comes back as a replica and
//! serves again.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use cross_account_dynamodb::dax::codec::Method;
use cross_account_dynamodb::dax::gateway::Outcome;
use serde_json::Value;
use support::gateway::{self as gw, LoadDriver, Official};
use support::Stack;

/// Two `endpoints` refreshes of the official clients (4 s each), plus scheduling slack.
const RECOVERY_BUDGET_MS: f64 = 8_000.0 + 1_000.0;

/// Wall-clock bounds (recovery within two refreshes): run alone (nextest group serial-timing).
mod timing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leader_kill_under_load_with_both_clients() {
        let stack = Stack::shared();
        let gateway = gw::builder(stack).await.nodes(3).start().await.unwrap();
        let run_id = support::unique_name("gw-nodes");
        let drivers: Vec<LoadDriver> = Official::BOTH
            .into_iter()
            .map(|c| {
                LoadDriver::start(
                    c,
                    gateway.endpoint(),
                    stack,
                    &format!("{run_id}-{}", c.name()),
                    16.0,
                )
            })
            .collect();
        // warm up: both write
        let start = Instant::now();
        while drivers.iter().any(|d| d.puts_ok() < 5) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "drivers did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let leader = gateway.leader().expect("a leader");
        assert_eq!(leader, 0);
        let kill_ms: Vec<f64> = drivers.iter().map(|d| d.now_ms().unwrap()).collect();
        gateway.kill_node(leader).unwrap();
        assert_eq!(gateway.leader(), Some(1));
        tokio::time::sleep(Duration::from_secs(6)).await;
        gateway.restart_node(leader).unwrap();
        let start = Instant::now();
        while !gateway.live_nodes().contains(&leader) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "node did not come back"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let restart_seq = gateway
            .request_log()
            .last()
            .map(|r| r.seq)
            .unwrap_or_default();
        assert_eq!(gateway.leader(), Some(1), "the restarted node is a replica");

        let mut results = Vec::new();
        for d in drivers {
            let client = d.client;
            let prefix = d.prefix.clone();
            let (ops, summary) =
                tokio::task::spawn_blocking(move || d.finish(Duration::from_secs(40)))
                    .await
                    .unwrap();
            results.push((client, prefix, ops, summary));
        }
        let log = gateway.request_log();
        let pk_of = |r: &cross_account_dynamodb::dax::gateway::RequestRecord| match r
            .keys
            .first()
            .and_then(|k| k.get("pk"))
        {
            Some(AttributeValue::S(pk)) => Some(pk.clone()),
            _ => None,
        };
        // keys of requests that were in flight on the killed node when it died
        let dropped_on_killed = |m: Method| -> HashSet<String> {
            log.iter()
                .filter(|r| {
                    r.method == m && r.node() == Some(leader) && r.outcome == Outcome::Dropped
                })
                .filter_map(pk_of)
                .collect()
        };
        let puts_dropped = dropped_on_killed(Method::PutItem);
        let gets_dropped = dropped_on_killed(Method::GetItem);
        // keys of puts that reached some node
        let reached: HashSet<String> = log
            .iter()
            .filter(|r| r.method == Method::PutItem)
            .filter_map(pk_of)
            .collect();
        for ((client, prefix, ops, summary), kill) in results.iter().zip(kill_ms) {
            let who = client.name();
            let failed = |op: &str| -> Vec<&Value> {
                ops.iter()
                    .filter(|o| o["op"] == op && o["ok"] == false)
                    .collect()
            };
            let (failed_gets, failed_puts) = (failed("get"), failed("put"));
            // writes resume within two endpoints refreshes
            let first_put_after = ops
                .iter()
                .filter(|o| o["op"] == "put" && o["ok"] == true)
                .filter_map(|o| o["t_ms"].as_f64())
                .find(|t| *t > kill)
                .unwrap_or_else(|| panic!("{who}: no successful write after the kill"));
            let last_failure = ops
                .iter()
                .filter(|o| o["ok"] == false)
                .filter_map(|o| o["t_ms"].as_f64())
                .fold(kill, f64::max);
            println!(
                "{who}: {summary}\n{who}: kill at {kill:.0} ms; {} failed puts, {} failed gets, \
                 last failure {:.0} ms after the kill; first put after it {:.0} ms later",
                failed_puts.len(),
                failed_gets.len(),
                last_failure - kill,
                first_put_after - kill
            );
            assert!(
                first_put_after - kill <= RECOVERY_BUDGET_MS,
                "{who}: writes resumed {} ms after the kill",
                first_put_after - kill
            );
            assert!(
                last_failure - kill <= RECOVERY_BUDGET_MS,
                "{who}: failures went on {} ms after the kill",
                last_failure - kill
            );
            assert!(
                summary["puts_ok"].as_u64().unwrap() > 10,
                "{who}: {summary}"
            );
            match client {
                Official::Node => {
                    // client-dax retries reads elsewhere: no read fails; a write fails only if it
                    // was in flight on the killed node
                    assert!(
                        failed_gets.is_empty(),
                        "{who}: reads failed: {failed_gets:#?}"
                    );
                    for p in &failed_puts {
                        let key = p["key"].as_str().unwrap();
                        assert!(
                            puts_dropped.contains(key),
                            "{who}: put {key} failed ({}) but was not in flight on node {leader}",
                            p["error"]
                        );
                    }
                }
                Official::Python => {
                    // amazondax 2.1.0 does not retry socket errors: a request in flight on
                    // the killed node fails (connection reset), and until its next endpoints
                    // refresh it still routes requests to the dead node and surfaces the
                    // refused connection. Nothing else may fail; a refused write never
                    // reached any node.
                    let gets = failed_gets.iter().map(|o| (o, &gets_dropped));
                    let puts = failed_puts.iter().map(|o| (o, &puts_dropped));
                    for (o, dropped) in gets.chain(puts) {
                        let key = o["key"].as_str().unwrap();
                        let refused = o["error"] == "ConnectionRefusedError"
                            && (o["op"] == "get" || !reached.contains(key));
                        assert!(
                            refused || dropped.contains(key),
                            "{who}: neither refused by the dead node nor in flight there: {o}"
                        );
                    }
                }
            }
            // writes after the kill went to the new leader
            assert!(
                log.iter().any(|r| r.method == Method::PutItem
                    && r.node() == Some(1)
                    && r.outcome.is_ok()
                    && pk_of(r).is_some_and(|pk| pk.starts_with(prefix.as_str()))),
                "{who}: node 1 took the writes"
            );
        }
        // the restarted node serves again
        assert!(
            log.iter()
                .any(|r| r.seq > restart_seq && r.node() == Some(leader) && r.outcome.is_ok()),
            "node {leader} served nothing after its restart"
        );
        gateway.shutdown().await;
    }
}
