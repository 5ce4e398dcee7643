//! dax-local's DAX caches (`docs/dax-local-cache.md`), one test per rule, each with the
//! official Python and Node DAX clients and ours, each client on its own gateway (so counters
//! are exact) over the shared stack. Writes "behind DAX" go straight to DynamoDB through a plain
//! `aws_sdk_dynamodb` client as account A; TTLs are driven by a `ManualTimeSource` given to the
//! gateway through its backend `SdkConfig`.
#![cfg(feature = "gateway")]
#![allow(clippy::disallowed_methods)] // the clock starts at the real time

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, Get, KeysAndAttributes, Put, ReturnValue, ScalarAttributeType, TransactGetItem,
    TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_async::test_util::ManualTimeSource;
use cross_account_dynamodb::dax::codec::Method;
use cross_account_dynamodb::dax::gateway::{CacheConfig, CacheStats};
use cross_account_dynamodb::DaxGateway;
use serde_json::{json, Map, Value};
use support::gateway::{self as gw, ClientRun, Official};
use support::{dax_client, unique_name, Stack};

/// The clients every rule is checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Python,
    Node,
    Ours,
}

const ALL: [Kind; 3] = [Kind::Python, Kind::Node, Kind::Ours];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Python => "python-dax",
            Kind::Node => "node-dax",
            Kind::Ours => "rust-dax",
        }
    }
}

/// Runs `flow` once per client, the three at once; a failure names its client.
async fn each_client<F, Fut>(flow: F)
where
    F: Fn(Kind) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runs: Vec<_> = ALL.map(|k| (k, tokio::spawn(flow(k)))).into();
    let mut failed = Vec::new();
    for (k, h) in runs {
        if let Err(e) = h.await {
            failed.push(format!("{}: {e}", k.name()));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// One client's gateway, clock, table and clients.
struct Env {
    kind: Kind,
    stack: &'static Stack,
    gw: DaxGateway,
    clock: ManualTimeSource,
    /// Straight to DynamoDB, as account A (behind DAX's back).
    direct: Client,
    ours: Option<Client>,
    tables: Vec<String>,
}

impl Env {
    /// A gateway of `nodes` nodes with `cache` (None: off) and `tables` fresh hash-only tables.
    async fn start(kind: Kind, nodes: usize, cache: Option<CacheConfig>, tables: usize) -> Env {
        let stack = Stack::shared();
        let clock = ManualTimeSource::new(SystemTime::now());
        let base = stack.sdk_config(stack.a_credentials()).await;
        let backend = base.to_builder().time_source(clock.clone()).build();
        let mut b = DaxGateway::builder().backend(&backend).nodes(nodes);
        if let Some(c) = cache {
            b = b.cache(c);
        }
        let gw = b.start().await.expect("start the gateway");
        let direct = Client::new(&base);
        let mut names = Vec::new();
        for _ in 0..tables {
            let name = unique_name(&format!("dlc-{}", kind.name()));
            dax_client::create_table(&direct, &name, ("pk", ScalarAttributeType::S), None).await;
            names.push(name);
        }
        let ours = match kind {
            Kind::Ours => {
                let creds = dax_client::assume_role(stack, "dax-local-cache").await;
                Some(creds.dax(gw.endpoint()).expect("our DAX client"))
            }
            _ => None,
        };
        Env {
            kind,
            stack,
            gw,
            clock,
            direct,
            ours,
            tables: names,
        }
    }

    fn t(&self) -> &str {
        &self.tables[0]
    }

    /// The ops through DAX with this env's client: one result per op.
    async fn run(&self, ops: Value) -> Vec<Value> {
        match self.kind {
            Kind::Python | Kind::Node => {
                let official = if self.kind == Kind::Python {
                    Official::Python
                } else {
                    Official::Node
                };
                let mut run = ClientRun::new(official, self.gw.endpoint(), self.stack);
                run.admin = None;
                gw::run(run, ops).await
            }
            Kind::Ours => ours::run(self.ours.as_ref().expect("our client"), &ops).await,
        }
    }

    /// PutItem straight to DynamoDB: `{pk, v: N}` (and a `pad` of `pad` bytes).
    async fn put_direct(&self, table: &str, pk: &str, v: i64, pad: usize) {
        let mut req = self
            .direct
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S(pk.into()))
            .item("v", AttributeValue::N(v.to_string()));
        if pad > 0 {
            req = req.item("pad", AttributeValue::S("p".repeat(pad)));
        }
        req.send().await.expect("direct PutItem");
    }

    fn stats(&self) -> CacheStats {
        self.gw.cache_stats()
    }

    async fn finish(self) {
        for t in &self.tables {
            let _ = self.direct.delete_table().table_name(t).send().await;
        }
        self.gw.shutdown().await;
    }
}

// --- ops (DynamoDB JSON, as the official clients take them) ----------------------------------

fn key(pk: &str) -> Value {
    json!({"pk": {"S": pk}})
}

fn get(t: &str, pk: &str) -> Value {
    json!({"op": "GetItem", "params": {"TableName": t, "Key": key(pk)}})
}

fn get_sc(t: &str, pk: &str) -> Value {
    json!({"op": "GetItem", "params": {"TableName": t, "Key": key(pk), "ConsistentRead": true}})
}

fn put(t: &str, pk: &str, v: i64) -> Value {
    json!({"op": "PutItem", "params": {"TableName": t,
        "Item": {"pk": {"S": pk}, "v": {"N": v.to_string()}, "x": {"S": "keep"}}}})
}

fn query(t: &str, pk: &str, consistent: bool) -> Value {
    json!({"op": "Query", "params": {"TableName": t, "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": pk}}, "ConsistentRead": consistent}})
}

fn scan(t: &str) -> Value {
    json!({"op": "Scan", "params": {"TableName": t}})
}

fn batch_get(t: &str, pks: &[&str]) -> Value {
    let keys: Vec<Value> = pks.iter().map(|p| key(p)).collect();
    json!({"op": "BatchGetItem", "params": {"RequestItems": {t: {"Keys": keys}}}})
}

// --- results ---------------------------------------------------------------------------------

/// `v` of a GetItem's item; `None` when there is no item.
fn v(r: &Value) -> Option<i64> {
    let out = gw::output(r);
    out.get("Item").map(|i| num(&i["v"]))
}

fn num(v: &Value) -> i64 {
    v["N"]
        .as_str()
        .unwrap_or_else(|| panic!("not a number: {v}"))
        .parse()
        .unwrap()
}

/// `v` of each item of a Query / Scan.
fn vs(r: &Value) -> Vec<i64> {
    let mut out: Vec<i64> = gw::output(r)["Items"]
        .as_array()
        .unwrap_or_else(|| panic!("no Items: {r}"))
        .iter()
        .map(|i| num(&i["v"]))
        .collect();
    out.sort();
    out
}

/// `v` of the items of a BatchGetItem for table `t`.
fn batch_vs(r: &Value, t: &str) -> Vec<i64> {
    let mut out: Vec<i64> = gw::output(r)["Responses"][t]
        .as_array()
        .map(|a| a.iter().map(|i| num(&i["v"])).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn ttls(secs: u64) -> CacheConfig {
    CacheConfig::default()
        .item_ttl(Duration::from_secs(secs))
        .query_ttl(Duration::from_secs(secs))
}

// --- the rules -------------------------------------------------------------------------------

/// An item written behind DAX is stale through DAX within the item TTL and fresh after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_behind_dax_is_stale_within_the_item_ttl_and_fresh_after() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(10)), 1).await;
        let t = env.t().to_owned();
        env.put_direct(&t, "k", 1, 0).await;
        let r = env.run(json!([get(&t, "k")])).await;
        assert_eq!(v(&r[0]), Some(1));
        env.put_direct(&t, "k", 2, 0).await;
        env.clock.advance(Duration::from_millis(9_999));
        let r = env.run(json!([get(&t, "k")])).await;
        assert_eq!(v(&r[0]), Some(1), "stale within the TTL");
        env.clock.advance(Duration::from_millis(1));
        let r = env.run(json!([get(&t, "k")])).await;
        assert_eq!(v(&r[0]), Some(2), "fresh once the TTL is over");
        let s = env.stats();
        assert_eq!((s.item_hits, s.item_misses, s.requests), (1, 2, 3), "{s:?}");
        env.finish().await;
    })
    .await;
}

/// Strongly consistent reads and TransactGetItems go to DynamoDB and leave the cache alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strongly_consistent_and_transactional_reads_are_fresh_at_once() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(300)), 1).await;
        let t = env.t().to_owned();
        env.put_direct(&t, "k", 1, 0).await;
        let r = env.run(json!([get(&t, "k"), query(&t, "k", false)])).await;
        assert_eq!((v(&r[0]), vs(&r[1])), (Some(1), vec![1]));
        env.put_direct(&t, "k", 2, 0).await;
        let r = env
            .run(json!([
                get_sc(&t, "k"),
                get(&t, "k"),
                {"op": "TransactGetItems", "params": {"TransactItems": [
                    {"Get": {"TableName": t, "Key": key("k")}}]}},
                query(&t, "k", true),
                query(&t, "k", false),
            ]))
            .await;
        assert_eq!(v(&r[0]), Some(2), "strongly consistent: fresh");
        assert_eq!(v(&r[1]), Some(1), "the cache still holds the old item");
        let tx = &gw::output(&r[2])["Responses"][0]["Item"];
        assert_eq!(num(&tx["v"]), 2, "TransactGetItems: fresh");
        assert_eq!(vs(&r[3]), vec![2], "consistent Query: fresh");
        assert_eq!(vs(&r[4]), vec![1], "eventually consistent Query: cached");
        let s = env.stats();
        assert_eq!((s.item_hits, s.item_misses), (1, 1), "{s:?}");
        assert_eq!((s.query_hits, s.query_misses), (1, 1), "{s:?}");
        env.finish().await;
    })
    .await;
}

/// Put, Update (whatever it returns), Delete, BatchWriteItem-free TransactWriteItems through DAX
/// update the item cache at once; a failed (conditional) write leaves it unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_dax_are_visible_at_once_and_failed_ones_change_nothing() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(300)), 1).await;
        let t = env.t().to_owned();
        let update = |expr: &str, rv: &str, val: i64| {
            json!({"op": "UpdateItem", "params": {"TableName": t, "Key": key("k"),
                "UpdateExpression": expr, "ExpressionAttributeValues": {":n": {"N": val.to_string()}},
                "ReturnValues": rv}})
        };
        let r = env
            .run(json!([
                get(&t, "k"),
                put(&t, "k", 1),
                get(&t, "k"),
                update("SET v = :n", "NONE", 2),
                get(&t, "k"),
                update("SET v = v + :n", "UPDATED_NEW", 1),
                get(&t, "k"),
                update("SET v = v + :n", "ALL_NEW", 1),
                {"op": "DeleteItem", "params": {"TableName": t, "Key": key("k")}},
                get(&t, "k"),
                {"op": "TransactWriteItems", "params": {"TransactItems": [{"Put": {"TableName": t,
                    "Item": {"pk": {"S": "k2"}, "v": {"N": "7"}}}}]}},
                get(&t, "k2"),
                batch_get(&t, &["k", "k2"]),
            ]))
            .await;
        assert_eq!(v(&r[0]), None);
        gw::output(&r[1]);
        assert_eq!(v(&r[2]), Some(1), "put: written through");
        assert!(gw::output(&r[3]).get("Attributes").is_none(), "NONE returns nothing: {}", r[3]);
        assert_eq!(v(&r[4]), Some(2), "update: written through");
        assert_eq!(gw::output(&r[4])["Item"]["x"], json!({"S": "keep"}), "the whole item");
        assert_eq!(gw::output(&r[5])["Attributes"], json!({"v": {"N": "3"}}));
        assert_eq!(v(&r[6]), Some(3), "UPDATED_NEW update: read back");
        assert_eq!(gw::output(&r[7])["Attributes"]["x"], json!({"S": "keep"}), "ALL_NEW");
        gw::output(&r[8]);
        assert_eq!(v(&r[9]), None, "delete: a negative entry");
        gw::output(&r[10]);
        assert_eq!(v(&r[11]), Some(7), "transaction: refreshed");
        assert_eq!(batch_vs(&r[12], &t), vec![7]);
        let s = env.stats();
        // hits: gets 2, 4, 6, 9, 11 and both keys of the batch; the one miss: get 0
        assert_eq!((s.item_hits, s.item_misses), (7, 1), "{s:?}");

        // behind DAX's back, then a conditional put through DAX that fails
        env.put_direct(&t, "k", 9, 0).await;
        let r = env
            .run(json!([
                {"op": "PutItem", "params": {"TableName": t,
                    "Item": {"pk": {"S": "k"}, "v": {"N": "5"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}},
                get(&t, "k"),
                get_sc(&t, "k"),
            ]))
            .await;
        assert_eq!(gw::error_code(&r[0]), "ConditionalCheckFailedException");
        assert_eq!(v(&r[1]), None, "the failed write left the negative entry");
        assert_eq!(v(&r[2]), Some(9));
        env.finish().await;
    })
    .await;
}

/// The query cache keeps a Query's (and a Scan's) result after a write through DAX, until its
/// TTL ends; entries of another table with the same request are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_is_unchanged_after_a_write_through_dax_until_its_ttl() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(10)), 2).await;
        let (t, t2) = (env.tables[0].clone(), env.tables[1].clone());
        env.put_direct(&t, "k", 1, 0).await;
        env.put_direct(&t, "k2", 50, 0).await;
        env.put_direct(&t2, "k", 100, 0).await;
        let r = env
            .run(json!([
                query(&t, "k2", false),
                query(&t, "k", false),
                scan(&t),
                put(&t, "k", 2),
                query(&t, "k", false),
                scan(&t),
                get(&t, "k"),
                query(&t2, "k", false),
                scan(&t2),
            ]))
            .await;
        assert_eq!(vs(&r[0]), vec![50], "another key's Query is its own");
        let r = &r[1..];
        assert_eq!((vs(&r[0]), vs(&r[1])), (vec![1], vec![1, 50]));
        gw::output(&r[2]);
        assert_eq!(vs(&r[3]), vec![1], "Query: unchanged by the write");
        assert_eq!(vs(&r[4]), vec![1, 50], "Scan: unchanged by the write");
        assert_eq!(v(&r[5]), Some(2), "the item cache was written through");
        assert_eq!(vs(&r[6]), vec![100], "another table's Query is its own");
        assert_eq!(vs(&r[7]), vec![100], "another table's Scan is its own");
        env.clock.advance(Duration::from_secs(10));
        let r = env.run(json!([query(&t, "k", false), scan(&t)])).await;
        assert_eq!(
            (vs(&r[0]), vs(&r[1])),
            (vec![2], vec![2, 50]),
            "after the TTL"
        );
        let s = env.stats();
        // misses: Query k2, Query k, Scan, Query t2, Scan t2, and both after the TTL
        assert_eq!((s.query_hits, s.query_misses), (2, 7), "{s:?}");
        env.finish().await;
    })
    .await;
}

/// A query TTL of 0: Query and Scan results are not cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_ttl_of_zero_caches_no_query() {
    each_client(|kind| async move {
        let config = CacheConfig::default().query_ttl(Duration::ZERO);
        let env = Env::start(kind, 1, Some(config), 1).await;
        let t = env.t().to_owned();
        env.put_direct(&t, "k", 1, 0).await;
        let r = env.run(json!([query(&t, "k", false), scan(&t)])).await;
        assert_eq!((vs(&r[0]), vs(&r[1])), (vec![1], vec![1]));
        env.put_direct(&t, "k", 2, 0).await;
        let r = env.run(json!([query(&t, "k", false), scan(&t)])).await;
        assert_eq!((vs(&r[0]), vs(&r[1])), (vec![2], vec![2]));
        let s = env.stats();
        assert_eq!(
            (s.query_hits, s.query_misses, s.entries),
            (0, 0, 0),
            "{s:?}"
        );
        env.finish().await;
    })
    .await;
}

/// "Not found" is cached (GetItem and BatchGetItem) until the item TTL ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_cached_as_a_negative_entry() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(10)), 1).await;
        let t = env.t().to_owned();
        let r = env.run(json!([get(&t, "k")])).await;
        assert_eq!(v(&r[0]), None);
        env.put_direct(&t, "k", 1, 0).await;
        let r = env.run(json!([get(&t, "k"), batch_get(&t, &["k"])])).await;
        assert_eq!(v(&r[0]), None, "negative entry");
        assert_eq!(
            batch_vs(&r[1], &t),
            Vec::<i64>::new(),
            "negative entry (batch)"
        );
        env.clock.advance(Duration::from_secs(10));
        let r = env.run(json!([get(&t, "k")])).await;
        assert_eq!(v(&r[0]), Some(1));
        let s = env.stats();
        assert_eq!((s.item_hits, s.item_misses), (2, 2), "{s:?}");
        env.finish().await;
    })
    .await;
}

/// Past the size limit the least recently used entry is evicted (item TTL 0: nothing expires).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_least_recently_used_item_is_evicted_under_the_size_limit() {
    each_client(|kind| async move {
        // items of ~2 KB: three fit in 7,000 bytes, four do not
        let config = CacheConfig::default()
            .item_ttl(Duration::ZERO)
            .size_bytes(7_000);
        let env = Env::start(kind, 1, Some(config), 1).await;
        let t = env.t().to_owned();
        for pk in ["a", "b", "c", "d"] {
            env.put_direct(&t, pk, 1, 2_000).await;
        }
        let r = env
            .run(json!([
                get(&t, "a"),
                get(&t, "b"),
                get(&t, "c"),
                get(&t, "a"),
                get(&t, "d")
            ]))
            .await;
        assert!(r.iter().all(|r| v(r) == Some(1)), "{r:?}");
        let s = env.stats();
        assert_eq!(
            (s.item_hits, s.item_misses, s.evictions),
            (1, 4, 1),
            "{s:?}"
        );
        assert!(s.bytes <= 7_000 && s.entries == 3, "{s:?}");
        for pk in ["a", "b", "c", "d"] {
            env.put_direct(&t, pk, 2, 2_000).await;
        }
        // a year later: TTL 0 never expires
        env.clock.advance(Duration::from_secs(365 * 86_400));
        let r = env
            .run(json!([
                get(&t, "a"),
                get(&t, "c"),
                get(&t, "d"),
                get(&t, "b")
            ]))
            .await;
        let got: Vec<Option<i64>> = r.iter().map(v).collect();
        assert_eq!(got, [Some(1), Some(1), Some(1), Some(2)], "b was evicted");
        env.finish().await;
    })
    .await;
}

/// Replication: a write through DAX reaches every live node's item cache before its reply, so
/// reads on any node see it, even after the item changes again behind DAX.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_learns_a_write_through_the_leader() {
    each_client(|kind| async move {
        let env = Env::start(kind, 2, Some(ttls(0)), 1).await;
        let t = env.t().to_owned();
        env.put_direct(&t, "k", 1, 0).await;
        let mut ops = vec![put(&t, "k", 2)];
        ops.extend((0..8).map(|_| get(&t, "k")));
        let r = env.run(Value::Array(ops)).await;
        env.put_direct(&t, "k", 3, 0).await;
        let r2 = env
            .run(Value::Array((0..8).map(|_| get(&t, "k")).collect()))
            .await;
        let got: Vec<Option<i64>> = r[1..].iter().chain(&r2).map(v).collect();
        assert!(got.iter().all(|g| *g == Some(2)), "{got:?}");
        let (n0, n1) = (
            env.gw.node_cache_stats(0).unwrap(),
            env.gw.node_cache_stats(1).unwrap(),
        );
        assert_eq!(n0.item_misses + n1.item_misses, 0, "{n0:?} {n1:?}");
        assert_eq!(n0.item_hits + n1.item_hits, 16, "{n0:?} {n1:?}");
        assert!(
            n0.item_hits > 0 && n1.item_hits > 0,
            "reads were served by both nodes: {n0:?} {n1:?}"
        );
        assert_eq!((n0.entries, n1.entries), (1, 1));
        let puts: Vec<_> = env
            .gw
            .request_log()
            .into_iter()
            .filter(|r| r.method == Method::PutItem)
            .map(|r| r.node())
            .collect();
        assert_eq!(puts, [Some(0)], "the write went to the leader");
        // a killed node forgets; back, it reads DynamoDB again
        env.gw.kill_node(1).unwrap();
        assert_eq!(env.gw.node_cache_stats(1).unwrap().entries, 0);
        env.finish().await;
    })
    .await;
}

/// Cached values never cross tables: the same key in two tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_per_table() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, Some(ttls(300)), 2).await;
        let (t, t2) = (env.tables[0].clone(), env.tables[1].clone());
        env.put_direct(&t, "k", 1, 0).await;
        env.put_direct(&t2, "k", 2, 0).await;
        let r = env
            .run(json!([
                get(&t, "k"),
                get(&t2, "k"),
                get(&t, "k"),
                get(&t2, "k"),
                batch_get(&t2, &["k"])
            ]))
            .await;
        let got: Vec<Option<i64>> = r[..4].iter().map(v).collect();
        assert_eq!(got, [Some(1), Some(2), Some(1), Some(2)]);
        assert_eq!(batch_vs(&r[4], &t2), vec![2]);
        let s = env.stats();
        assert_eq!((s.item_hits, s.item_misses), (3, 2), "{s:?}");
        env.finish().await;
    })
    .await;
}

/// Without `.cache(..)` the gateway is the pass-through it was: every read is fresh, and only
/// requests are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cache_every_read_is_fresh() {
    each_client(|kind| async move {
        let env = Env::start(kind, 1, None, 1).await;
        let t = env.t().to_owned();
        env.put_direct(&t, "k", 1, 0).await;
        let r = env.run(json!([get(&t, "k"), query(&t, "k", false)])).await;
        assert_eq!((v(&r[0]), vs(&r[1])), (Some(1), vec![1]));
        env.put_direct(&t, "k", 2, 0).await;
        let r = env.run(json!([get(&t, "k"), query(&t, "k", false)])).await;
        assert_eq!((v(&r[0]), vs(&r[1])), (Some(2), vec![2]));
        let s = env.stats();
        assert_eq!(s.requests, 4, "{s:?}");
        let counted = [
            s.item_hits,
            s.item_misses,
            s.query_hits,
            s.query_misses,
            s.entries,
        ];
        assert_eq!(counted, [0; 5], "{s:?}");
        env.finish().await;
    })
    .await;
}

/// The `dax-local` binary: `--cache` (with `--item-ttl-ms`, `--query-ttl-ms`) turns the
/// caches on, on the real clock; without it, it stays a pass-through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_caches_with_the_cache_flag_only() {
    let stack = Stack::shared();
    let direct = Client::new(&stack.sdk_config(stack.a_credentials()).await);
    let t = unique_name("dlc-binary");
    dax_client::create_table(&direct, &t, ("pk", ScalarAttributeType::S), None).await;
    let put = |v: i64| {
        direct
            .put_item()
            .table_name(&t)
            .item("pk", AttributeValue::S("k".into()))
            .item("v", AttributeValue::N(v.to_string()))
            .send()
    };
    let flags: [&[&str]; 2] = [
        &["--cache", "--item-ttl-ms", "600000", "--query-ttl-ms", "0"],
        &[],
    ];
    for args in flags {
        let cached = !args.is_empty();
        for client in Official::BOTH {
            let who = format!("{} {args:?}", client.name());
            put(1).await.unwrap();
            let (child, endpoint) = gw::DaxLocal::start(stack, args);
            let mut run = ClientRun::new(client, &endpoint, stack);
            run.admin = None;
            let r = gw::run(run.clone(), json!([get(&t, "k")])).await;
            assert_eq!(v(&r[0]), Some(1), "{who}");
            put(2).await.unwrap();
            let r = gw::run(run, json!([get(&t, "k"), query(&t, "k", false)])).await;
            let expect = if cached { 1 } else { 2 };
            assert_eq!(v(&r[0]), Some(expect), "{who}: item cache on: {cached}");
            assert_eq!(vs(&r[1]), vec![2], "{who}: query TTL 0 or no cache");
            child.stop();
        }
    }
    let _ = direct.delete_table().table_name(&t).send().await;
}

/// Our client, driven by the same JSON ops as the official clients (the subset these tests
/// use), with the same result shapes.
mod ours {
    use super::*;

    fn av(v: &Value) -> AttributeValue {
        let (t, x) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .unwrap_or_else(|| panic!("not an attribute value: {v}"));
        match t.as_str() {
            "S" => AttributeValue::S(x.as_str().unwrap().into()),
            "N" => AttributeValue::N(x.as_str().unwrap().into()),
            "BOOL" => AttributeValue::Bool(x.as_bool().unwrap()),
            "NULL" => AttributeValue::Null(true),
            "M" => AttributeValue::M(item(x)),
            other => panic!("unsupported type {other}"),
        }
    }

    fn item(v: &Value) -> HashMap<String, AttributeValue> {
        v.as_object()
            .map(|o| o.iter().map(|(k, x)| (k.clone(), av(x))).collect())
            .unwrap_or_default()
    }

    fn opt_item(v: &Value) -> Option<HashMap<String, AttributeValue>> {
        v.is_object().then(|| item(v))
    }

    fn av_json(a: &AttributeValue) -> Value {
        match a {
            AttributeValue::S(s) => json!({"S": s}),
            AttributeValue::N(n) => json!({"N": n}),
            AttributeValue::Bool(b) => json!({"BOOL": b}),
            AttributeValue::Null(_) => json!({"NULL": true}),
            AttributeValue::M(m) => json!({"M": item_json(m)}),
            other => panic!("unsupported value {other:?}"),
        }
    }

    fn item_json(i: &HashMap<String, AttributeValue>) -> Value {
        Value::Object(i.iter().map(|(k, a)| (k.clone(), av_json(a))).collect())
    }

    fn items_json(items: &[HashMap<String, AttributeValue>]) -> Value {
        Value::Array(items.iter().map(item_json).collect())
    }

    fn s(v: &Value) -> Option<String> {
        v.as_str().map(str::to_owned)
    }

    fn err<E: ProvideErrorMetadata + std::fmt::Debug>(e: E) -> Value {
        json!({"ok": false, "code": e.code(), "message": format!("{e:?}")})
    }

    fn ok(out: Map<String, Value>) -> Value {
        json!({"ok": true, "output": Value::Object(out)})
    }

    async fn one(c: &Client, op: &Value) -> Value {
        let p = &op["params"];
        let t = s(&p["TableName"]);
        let values = opt_item(&p["ExpressionAttributeValues"]);
        let mut out = Map::new();
        match op["op"].as_str().unwrap() {
            "GetItem" => match c
                .get_item()
                .set_table_name(t)
                .set_key(opt_item(&p["Key"]))
                .set_consistent_read(p["ConsistentRead"].as_bool())
                .send()
                .await
            {
                Ok(o) => {
                    if let Some(i) = o.item() {
                        out.insert("Item".into(), item_json(i));
                    }
                }
                Err(e) => return err(e.into_service_error()),
            },
            "PutItem" => {
                if let Err(e) = c
                    .put_item()
                    .set_table_name(t)
                    .set_item(opt_item(&p["Item"]))
                    .set_condition_expression(s(&p["ConditionExpression"]))
                    .send()
                    .await
                {
                    return err(e.into_service_error());
                }
            }
            "UpdateItem" => match c
                .update_item()
                .set_table_name(t)
                .set_key(opt_item(&p["Key"]))
                .set_update_expression(s(&p["UpdateExpression"]))
                .set_expression_attribute_values(values)
                .set_return_values(s(&p["ReturnValues"]).map(|r| ReturnValue::from(r.as_str())))
                .send()
                .await
            {
                Ok(o) => {
                    if let Some(a) = o.attributes() {
                        out.insert("Attributes".into(), item_json(a));
                    }
                }
                Err(e) => return err(e.into_service_error()),
            },
            "DeleteItem" => {
                if let Err(e) = c
                    .delete_item()
                    .set_table_name(t)
                    .set_key(opt_item(&p["Key"]))
                    .send()
                    .await
                {
                    return err(e.into_service_error());
                }
            }
            "Query" => match c
                .query()
                .set_table_name(t)
                .set_key_condition_expression(s(&p["KeyConditionExpression"]))
                .set_expression_attribute_values(values)
                .set_consistent_read(p["ConsistentRead"].as_bool())
                .send()
                .await
            {
                Ok(o) => {
                    out.insert("Items".into(), items_json(o.items()));
                }
                Err(e) => return err(e.into_service_error()),
            },
            "Scan" => match c
                .scan()
                .set_table_name(t)
                .set_consistent_read(p["ConsistentRead"].as_bool())
                .send()
                .await
            {
                Ok(o) => {
                    out.insert("Items".into(), items_json(o.items()));
                }
                Err(e) => return err(e.into_service_error()),
            },
            "BatchGetItem" => {
                let mut req = c.batch_get_item();
                for (table, ka) in p["RequestItems"].as_object().unwrap() {
                    let keys = ka["Keys"].as_array().unwrap().iter().map(item).collect();
                    let ka = KeysAndAttributes::builder()
                        .set_keys(Some(keys))
                        .set_consistent_read(ka["ConsistentRead"].as_bool())
                        .build()
                        .unwrap();
                    req = req.request_items(table, ka);
                }
                match req.send().await {
                    Ok(o) => {
                        let r: Map<String, Value> = o
                            .responses()
                            .map(|m| m.iter().map(|(t, i)| (t.clone(), items_json(i))).collect())
                            .unwrap_or_default();
                        out.insert("Responses".into(), Value::Object(r));
                    }
                    Err(e) => return err(e.into_service_error()),
                }
            }
            "TransactWriteItems" => {
                let mut req = c.transact_write_items();
                for ti in p["TransactItems"].as_array().unwrap() {
                    let put = &ti["Put"];
                    let put = Put::builder()
                        .set_table_name(s(&put["TableName"]))
                        .set_item(opt_item(&put["Item"]))
                        .build()
                        .unwrap();
                    req = req.transact_items(TransactWriteItem::builder().put(put).build());
                }
                if let Err(e) = req.send().await {
                    return err(e.into_service_error());
                }
            }
            "TransactGetItems" => {
                let mut req = c.transact_get_items();
                for ti in p["TransactItems"].as_array().unwrap() {
                    let g = &ti["Get"];
                    let get = Get::builder()
                        .set_table_name(s(&g["TableName"]))
                        .set_key(opt_item(&g["Key"]))
                        .build()
                        .unwrap();
                    req = req.transact_items(TransactGetItem::builder().get(get).build());
                }
                match req.send().await {
                    Ok(o) => {
                        let r: Vec<Value> = o
                            .responses()
                            .iter()
                            .map(|r| match r.item() {
                                Some(i) => json!({"Item": item_json(i)}),
                                None => json!({}),
                            })
                            .collect();
                        out.insert("Responses".into(), Value::Array(r));
                    }
                    Err(e) => return err(e.into_service_error()),
                }
            }
            other => panic!("unsupported op {other}"),
        }
        ok(out)
    }

    pub(super) async fn run(c: &Client, ops: &Value) -> Vec<Value> {
        let mut results = Vec::new();
        for op in ops.as_array().unwrap() {
            results.push(one(c, op).await);
        }
        results
    }
}
