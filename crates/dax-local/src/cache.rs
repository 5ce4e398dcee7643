//! The DAX caches of each node: an item cache (GetItem, BatchGetItem) and a query cache (Query,
//! Scan), both LRU by size under one limit per node, with TTLs read from the injected clock.
//! The rules each behaviour follows are in `docs/dax-local-cache.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::time::SharedTimeSource;
use xacct_dax_protocol::codec::Item;
use xacct_dax_protocol::expr::CompiledExpressions;

/// The default item and query TTL of a DAX cluster: 5 minutes.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// The default size limit of each node's caches: 256 MiB.
pub const DEFAULT_CACHE_SIZE_BYTES: u64 = 256 << 20;

/// The cache settings of a [`DaxGateway`](crate::DaxGateway) (see
/// [`DaxGatewayBuilder::cache`](crate::DaxGatewayBuilder::cache)); without them the gateway is a
/// pure pass-through.
///
/// * `item_ttl`: how long an item-cache entry (an item, or "not found") is served; `ZERO` =
///   entries never expire (only LRU eviction and writes through the gateway replace them).
/// * `query_ttl`: how long a Query/Scan result is served; `ZERO` = results are not cached.
/// * `size_bytes`: each node's limit for both caches together (estimated entry sizes); past it
///   the least recently used entries are evicted.
///
/// ```
/// use std::time::Duration;
/// use xacct_dax_local::CacheConfig;
///
/// let config = CacheConfig::default()
///     .item_ttl(Duration::from_secs(60))
///     .query_ttl(Duration::ZERO) // Query and Scan results are not cached
///     .size_bytes(16 << 20);
/// assert_eq!(config.item_ttl, Duration::from_secs(60));
/// assert_eq!(CacheConfig::default().query_ttl, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// The item cache's TTL (`record-ttl-millis`); default 5 minutes; zero: never expire.
    pub item_ttl: Duration,
    /// The query cache's TTL (`query-ttl-millis`); default 5 minutes; zero: not cached.
    pub query_ttl: Duration,
    /// Each node's size limit for its caches; default [`DEFAULT_CACHE_SIZE_BYTES`].
    pub size_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            item_ttl: DEFAULT_CACHE_TTL,
            query_ttl: DEFAULT_CACHE_TTL,
            size_bytes: DEFAULT_CACHE_SIZE_BYTES,
        }
    }
}

impl CacheConfig {
    /// Sets the item cache's TTL (zero: entries never expire).
    #[must_use]
    pub fn item_ttl(mut self, ttl: Duration) -> Self {
        self.item_ttl = ttl;
        self
    }

    /// Sets the query cache's TTL (zero: Query and Scan results are not cached).
    #[must_use]
    pub fn query_ttl(mut self, ttl: Duration) -> Self {
        self.query_ttl = ttl;
        self
    }

    /// Sets each node's size limit in bytes.
    #[must_use]
    pub fn size_bytes(mut self, bytes: u64) -> Self {
        self.size_bytes = bytes;
        self
    }
}

/// Request and cache counters of one node, or of every node summed
/// ([`DaxGateway::cache_stats`](crate::DaxGateway::cache_stats)). Hits and misses count keys
/// for the item cache (a BatchGetItem of 3 keys counts 3) and requests for the query cache;
/// strongly consistent reads and transactions count as neither.
///
/// ```no_run
/// # fn f(gw: &xacct_dax_local::DaxGateway) {
/// let stats = gw.cache_stats();
/// println!("{} requests, {} item hits, {} misses", stats.requests, stats.item_hits, stats.item_misses);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Data requests served (the ten DAX data operations), cache on or off.
    pub requests: u64,
    /// Item-cache keys served from the cache (negative entries included).
    pub item_hits: u64,
    /// Item-cache keys read from DynamoDB (absent or expired).
    pub item_misses: u64,
    /// Query/Scan requests served from the cache.
    pub query_hits: u64,
    /// Query/Scan requests sent to DynamoDB (absent or expired).
    pub query_misses: u64,
    /// Entries evicted to stay under the size limit.
    pub evictions: u64,
    /// Entries held now (expired entries linger until used or evicted).
    pub entries: u64,
    /// Their estimated size now.
    pub bytes: u64,
}

impl CacheStats {
    fn add(&mut self, o: &CacheStats) {
        self.requests += o.requests;
        self.item_hits += o.item_hits;
        self.item_misses += o.item_misses;
        self.query_hits += o.query_hits;
        self.query_misses += o.query_misses;
        self.evictions += o.evictions;
        self.entries += o.entries;
        self.bytes += o.bytes;
    }
}

/// What an entry is cached under. Both kinds name the table; see `docs/dax-local-cache.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum CacheKey {
    /// A table and an item's key attributes (canonical bytes, attributes sorted by name).
    Item { table: String, key: Vec<u8> },
    /// A Query or Scan: the operation and the canonical bytes of the whole request.
    Query { table: String, request: Vec<u8> },
}

/// A cached value.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    /// A whole item, or `None`: "not found" (a negative entry).
    Item(Option<Item>),
    Query(QueryOutput),
    Scan(ScanOutput),
}

#[derive(Debug)]
struct Entry {
    value: Cached,
    size: u64,
    expires: Option<SystemTime>,
    tick: u64,
}

/// One node's caches: entries, their LRU order, counters.
#[derive(Debug, Default)]
struct NodeCache {
    entries: HashMap<CacheKey, Entry>,
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: u64,
    stats: CacheStats,
}

impl NodeCache {
    fn get(&mut self, key: &CacheKey, now: SystemTime) -> Option<Cached> {
        let e = self.entries.get_mut(key)?;
        if e.expires.is_some_and(|t| now >= t) {
            self.remove(key);
            return None;
        }
        self.order.remove(&e.tick);
        self.tick += 1;
        e.tick = self.tick;
        self.order.insert(self.tick, key.clone());
        Some(e.value.clone())
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.tick);
            self.bytes -= e.size;
        }
    }

    fn put(&mut self, key: CacheKey, value: Cached, expires: Option<SystemTime>, limit: u64) {
        self.remove(&key);
        let size = key_size(&key) + value_size(&value) + ENTRY_OVERHEAD;
        if size > limit {
            return; // larger than the whole cache: never held
        }
        while self.bytes + size > limit {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.size;
                self.stats.evictions += 1;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.bytes += size;
        self.entries.insert(
            key,
            Entry {
                value,
                size,
                expires,
                tick: self.tick,
            },
        );
    }
}

/// A fixed estimate of an entry's bookkeeping (map slots, LRU order).
const ENTRY_OVERHEAD: u64 = 64;

fn key_size(k: &CacheKey) -> u64 {
    match k {
        CacheKey::Item { table, key } => (table.len() + key.len()) as u64,
        CacheKey::Query { table, request } => (table.len() + request.len()) as u64,
    }
}

fn items_size<'a>(items: impl IntoIterator<Item = &'a Item>) -> u64 {
    let mut buf = Vec::new();
    for i in items {
        canon_item(i, &mut buf);
    }
    buf.len() as u64
}

fn value_size(v: &Cached) -> u64 {
    match v {
        Cached::Item(i) => items_size(i.iter()),
        Cached::Query(o) => {
            items_size(o.items()) + o.last_evaluated_key.as_ref().map_or(0, |k| items_size([k]))
        }
        Cached::Scan(o) => {
            items_size(o.items()) + o.last_evaluated_key.as_ref().map_or(0, |k| items_size([k]))
        }
    }
}

/// Every node's caches, with the settings and the injected clock. Present with the cache off
/// too (it counts requests), then holding nothing.
#[derive(Debug)]
pub(crate) struct Caches {
    config: Option<CacheConfig>,
    time: SharedTimeSource,
    nodes: Vec<Mutex<NodeCache>>,
    /// Requests of the discovery listener (never a data request in practice).
    other_requests: AtomicU64,
}

impl Caches {
    pub(crate) fn new(config: Option<CacheConfig>, time: SharedTimeSource, nodes: usize) -> Self {
        Caches {
            config,
            time,
            nodes: (0..nodes).map(|_| Mutex::default()).collect(),
            other_requests: AtomicU64::new(0),
        }
    }

    fn node(&self, i: usize) -> Option<std::sync::MutexGuard<'_, NodeCache>> {
        self.nodes
            .get(i)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts a data request on `node`.
    pub(crate) fn count_request(&self, node: Option<usize>) {
        match node.and_then(|i| self.node(i)) {
            Some(mut n) => n.stats.requests += 1,
            None => {
                self.other_requests.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The item cache is on (the cache is on).
    pub(crate) fn items_on(&self) -> bool {
        self.config.is_some()
    }

    /// The query cache is on (cache on, query TTL not zero).
    pub(crate) fn queries_on(&self) -> bool {
        self.config.is_some_and(|c| !c.query_ttl.is_zero())
    }

    /// An item-cache lookup on `node`, counted as a hit or a miss. `Some(None)` is a cached
    /// "not found".
    pub(crate) fn get_item(
        &self,
        node: Option<usize>,
        table: &str,
        key: &Item,
    ) -> Option<Option<Item>> {
        let (Some(_), Some(mut n)) = (self.config, node.and_then(|i| self.node(i))) else {
            return None;
        };
        let k = item_key(table, key);
        match n.get(&k, self.time.now()) {
            Some(Cached::Item(i)) => {
                n.stats.item_hits += 1;
                Some(i)
            }
            _ => {
                n.stats.item_misses += 1;
                None
            }
        }
    }

    /// A read's result (an item or "not found") into `node`'s item cache.
    pub(crate) fn fill_item(
        &self,
        node: Option<usize>,
        table: &str,
        key: &Item,
        item: Option<Item>,
    ) {
        let (Some(c), Some(mut n)) = (self.config, node.and_then(|i| self.node(i))) else {
            return;
        };
        let expires = self.expiry(c.item_ttl);
        n.put(
            item_key(table, key),
            Cached::Item(item),
            expires,
            c.size_bytes,
        );
    }

    /// A write through the gateway: the item (or "not found" after a delete) into the item
    /// cache of every node in `nodes` (the leader first; see the replication rule).
    pub(crate) fn write_through(
        &self,
        nodes: &[usize],
        table: &str,
        key: &Item,
        item: Option<Item>,
    ) {
        let Some(c) = self.config else { return };
        let expires = self.expiry(c.item_ttl);
        let k = item_key(table, key);
        for &i in nodes {
            if let Some(mut n) = self.node(i) {
                n.put(k.clone(), Cached::Item(item.clone()), expires, c.size_bytes);
            }
        }
    }

    /// Drops an item-cache entry from every node in `nodes`.
    pub(crate) fn invalidate(&self, nodes: &[usize], table: &str, key: &Item) {
        let k = item_key(table, key);
        for &i in nodes {
            if let Some(mut n) = self.node(i) {
                n.remove(&k);
            }
        }
    }

    /// A query-cache lookup on `node`, counted.
    pub(crate) fn get_query(&self, node: Option<usize>, key: &CacheKey) -> Option<Cached> {
        if !self.queries_on() {
            return None;
        }
        let mut n = node.and_then(|i| self.node(i))?;
        match n.get(key, self.time.now()) {
            Some(v) => {
                n.stats.query_hits += 1;
                Some(v)
            }
            None => {
                n.stats.query_misses += 1;
                None
            }
        }
    }

    /// A Query/Scan result into `node`'s query cache.
    pub(crate) fn fill_query(&self, node: Option<usize>, key: CacheKey, value: Cached) {
        let Some(c) = self.config.filter(|c| !c.query_ttl.is_zero()) else {
            return;
        };
        if let Some(mut n) = node.and_then(|i| self.node(i)) {
            let expires = self.expiry(c.query_ttl);
            n.put(key, value, expires, c.size_bytes);
        }
    }

    /// When an entry filled now expires: `None` (never) for a zero TTL, and for a TTL so long
    /// that the time would overflow.
    fn expiry(&self, ttl: Duration) -> Option<SystemTime> {
        if ttl.is_zero() {
            return None;
        }
        self.time.now().checked_add(ttl)
    }

    /// Empties node `i`'s caches (a killed node loses its memory); its counters stay.
    pub(crate) fn clear_node(&self, i: usize) {
        if let Some(mut n) = self.node(i) {
            n.entries.clear();
            n.order.clear();
            n.bytes = 0;
        }
    }

    /// Node `i`'s counters.
    pub(crate) fn node_stats(&self, i: usize) -> Option<CacheStats> {
        self.node(i).map(|n| CacheStats {
            entries: n.entries.len() as u64,
            bytes: n.bytes,
            ..n.stats
        })
    }

    /// Every node's counters summed.
    pub(crate) fn stats(&self) -> CacheStats {
        let mut total = CacheStats {
            requests: self.other_requests.load(Ordering::Relaxed),
            ..CacheStats::default()
        };
        for i in 0..self.nodes.len() {
            if let Some(s) = self.node_stats(i) {
                total.add(&s);
            }
        }
        total
    }
}

/// The item-cache key: the table and the key attributes, canonical (sorted by name).
pub(crate) fn item_key(table: &str, key: &Item) -> CacheKey {
    let mut buf = Vec::new();
    canon_item(key, &mut buf);
    CacheKey::Item {
        table: table.to_owned(),
        key: buf,
    }
}

fn canon_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(b.len() as u64).to_be_bytes());
    out.extend_from_slice(b);
}

fn canon_opt_bytes(b: Option<&[u8]>, out: &mut Vec<u8>) {
    match b {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            canon_bytes(b, out);
        }
    }
}

fn canon_item(item: &Item, out: &mut Vec<u8>) {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    out.extend_from_slice(&(names.len() as u64).to_be_bytes());
    for n in names {
        canon_bytes(n.as_bytes(), out);
        canon_value(&item[n], out);
    }
}

/// A deterministic encoding of a value (maps sorted by name; sets in their order).
fn canon_value(v: &AttributeValue, out: &mut Vec<u8>) {
    let list = |tag: u8, xs: &[String], out: &mut Vec<u8>| {
        out.push(tag);
        out.extend_from_slice(&(xs.len() as u64).to_be_bytes());
        for x in xs {
            canon_bytes(x.as_bytes(), out);
        }
    };
    match v {
        AttributeValue::S(s) => {
            out.push(b'S');
            canon_bytes(s.as_bytes(), out);
        }
        AttributeValue::N(s) => {
            out.push(b'N');
            canon_bytes(s.as_bytes(), out);
        }
        AttributeValue::B(b) => {
            out.push(b'B');
            canon_bytes(b.as_ref(), out);
        }
        AttributeValue::Bool(b) => out.extend([b'T', u8::from(*b)]),
        AttributeValue::Null(_) => out.push(b'0'),
        AttributeValue::Ss(xs) => list(b's', xs, out),
        AttributeValue::Ns(xs) => list(b'n', xs, out),
        AttributeValue::Bs(xs) => {
            out.push(b'b');
            out.extend_from_slice(&(xs.len() as u64).to_be_bytes());
            for x in xs {
                canon_bytes(x.as_ref(), out);
            }
        }
        AttributeValue::L(xs) => {
            out.push(b'L');
            out.extend_from_slice(&(xs.len() as u64).to_be_bytes());
            for x in xs {
                canon_value(x, out);
            }
        }
        AttributeValue::M(m) => {
            out.push(b'M');
            canon_item(m, out);
        }
        other => {
            out.push(b'?');
            canon_bytes(format!("{other:?}").as_bytes(), out);
        }
    }
}

fn canon_str(s: Option<&str>, out: &mut Vec<u8>) {
    canon_opt_bytes(s.map(str::as_bytes), out);
}

fn canon_exprs(e: &CompiledExpressions, out: &mut Vec<u8>) {
    for b in [&e.key_condition, &e.filter, &e.projection] {
        canon_opt_bytes(b.as_deref(), out);
    }
}

fn canon_debug<T: std::fmt::Debug>(v: Option<&T>, out: &mut Vec<u8>) {
    canon_opt_bytes(
        v.map(|v| format!("{v:?}")).as_deref().map(str::as_bytes),
        out,
    );
}

fn canon_start_key(k: Option<&Item>, out: &mut Vec<u8>) {
    match k {
        None => out.push(0),
        Some(k) => {
            out.push(1);
            canon_item(k, out);
        }
    }
}

/// The query-cache key of a Query: table, index, the compiled key condition, filter and
/// projection (expression values and names are compiled into them), Select, Limit,
/// ScanIndexForward, ExclusiveStartKey and ConsistentRead. ReturnConsumedCapacity is left out:
/// it changes the reply's metadata, not its items.
pub(crate) fn query_key(input: &QueryInput, exprs: &CompiledExpressions) -> CacheKey {
    let mut out = vec![b'Q'];
    canon_str(input.index_name(), &mut out);
    canon_exprs(exprs, &mut out);
    canon_debug(input.select(), &mut out);
    canon_debug(input.limit.as_ref(), &mut out);
    canon_debug(input.scan_index_forward.as_ref(), &mut out);
    canon_debug(input.consistent_read.as_ref(), &mut out);
    canon_start_key(input.exclusive_start_key(), &mut out);
    CacheKey::Query {
        table: input.table_name().unwrap_or_default().to_owned(),
        request: out,
    }
}

/// The query-cache key of a Scan: as [`query_key`], with Segment and TotalSegments instead of
/// ScanIndexForward.
pub(crate) fn scan_key(input: &ScanInput, exprs: &CompiledExpressions) -> CacheKey {
    let mut out = vec![b'S'];
    canon_str(input.index_name(), &mut out);
    canon_exprs(exprs, &mut out);
    canon_debug(input.select(), &mut out);
    canon_debug(input.limit.as_ref(), &mut out);
    canon_debug(input.segment.as_ref(), &mut out);
    canon_debug(input.total_segments.as_ref(), &mut out);
    canon_debug(input.consistent_read.as_ref(), &mut out);
    canon_start_key(input.exclusive_start_key(), &mut out);
    CacheKey::Query {
        table: input.table_name().unwrap_or_default().to_owned(),
        request: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_async::test_util::ManualTimeSource;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn key(pk: &str) -> Item {
        Item::from([("pk".to_owned(), s(pk))])
    }

    fn caches(config: CacheConfig) -> (Caches, ManualTimeSource) {
        let clock = ManualTimeSource::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        (
            Caches::new(Some(config), SharedTimeSource::new(clock.clone()), 2),
            clock,
        )
    }

    #[test]
    fn entries_expire_after_the_item_ttl_and_never_with_zero() {
        let (c, clock) = caches(CacheConfig::default().item_ttl(Duration::from_secs(10)));
        c.fill_item(Some(0), "t", &key("a"), Some(key("a")));
        clock.advance(Duration::from_secs(9));
        assert_eq!(c.get_item(Some(0), "t", &key("a")), Some(Some(key("a"))));
        clock.advance(Duration::from_secs(1));
        assert_eq!(c.get_item(Some(0), "t", &key("a")), None);
        let s = c.node_stats(0).unwrap();
        assert_eq!((s.item_hits, s.item_misses, s.entries), (1, 1, 0));

        let (c, clock) = caches(CacheConfig::default().item_ttl(Duration::ZERO));
        c.fill_item(Some(0), "t", &key("a"), None);
        clock.advance(Duration::from_secs(365 * 86_400));
        assert_eq!(c.get_item(Some(0), "t", &key("a")), Some(None));

        // A TTL past the end of time (`--item-ttl-ms` of u64::MAX) never expires, never panics.
        let (c, clock) = caches(CacheConfig::default().item_ttl(Duration::from_millis(u64::MAX)));
        c.fill_item(Some(0), "t", &key("a"), Some(key("a")));
        clock.advance(Duration::from_secs(365 * 86_400));
        assert_eq!(c.get_item(Some(0), "t", &key("a")), Some(Some(key("a"))));
    }

    #[test]
    fn keys_name_the_table_and_nodes_are_separate() {
        let (c, _) = caches(CacheConfig::default());
        c.fill_item(Some(0), "t1", &key("a"), Some(key("a")));
        assert_eq!(c.get_item(Some(0), "t2", &key("a")), None);
        assert_eq!(c.get_item(Some(1), "t1", &key("a")), None);
        c.write_through(&[0, 1], "t2", &key("a"), None);
        assert_eq!(c.get_item(Some(1), "t2", &key("a")), Some(None));
        assert_eq!(c.get_item(Some(0), "t1", &key("a")), Some(Some(key("a"))));
        c.clear_node(0);
        assert_eq!(c.get_item(Some(0), "t1", &key("a")), None);
    }

    #[test]
    fn item_keys_are_the_whole_key_in_any_order() {
        let k = |pk: &str, sk: &str| {
            Item::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), AttributeValue::N(sk.to_owned())),
            ])
        };
        assert_eq!(item_key("t", &k("a", "1")), item_key("t", &k("a", "1")));
        assert_ne!(item_key("t", &k("a", "1")), item_key("t", &k("a", "2")));
        assert_ne!(item_key("t", &k("a", "1")), item_key("u", &k("a", "1")));
        // a string "1" is not the number 1
        let as_string = Item::from([("pk".to_owned(), s("a")), ("sk".to_owned(), s("1"))]);
        assert_ne!(item_key("t", &k("a", "1")), item_key("t", &as_string));
        // names and values are delimited: ("ab", "c") is not ("a", "bc")
        let one = Item::from([("ab".to_owned(), s("c"))]);
        let two = Item::from([("a".to_owned(), s("bc"))]);
        assert_ne!(item_key("t", &one), item_key("t", &two));
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let one = ENTRY_OVERHEAD
            + key_size(&item_key("t", &key("a")))
            + value_size(&Cached::Item(Some(key("a"))));
        let (c, _) = caches(CacheConfig::default().size_bytes(one * 2));
        c.fill_item(Some(0), "t", &key("a"), Some(key("a")));
        c.fill_item(Some(0), "t", &key("b"), Some(key("b")));
        assert!(c.get_item(Some(0), "t", &key("a")).is_some()); // a is now the most recent
        c.fill_item(Some(0), "t", &key("c"), Some(key("c")));
        assert!(
            c.get_item(Some(0), "t", &key("b")).is_none(),
            "b was evicted"
        );
        assert!(c.get_item(Some(0), "t", &key("a")).is_some());
        assert!(c.get_item(Some(0), "t", &key("c")).is_some());
        let s = c.node_stats(0).unwrap();
        assert_eq!(s.evictions, 1);
        assert!(s.bytes <= one * 2);
    }

    #[test]
    fn query_keys_cover_the_request() {
        let e = CompiledExpressions::default();
        let q = |limit: Option<i32>, table: &str| {
            query_key(
                &QueryInput::builder()
                    .table_name(table)
                    .set_limit(limit)
                    .build()
                    .unwrap(),
                &e,
            )
        };
        assert_eq!(q(None, "t"), q(None, "t"));
        assert_ne!(q(None, "t"), q(Some(1), "t"));
        assert_ne!(q(None, "t"), q(None, "u"));
        let (c, _) = caches(CacheConfig::default().query_ttl(Duration::ZERO));
        c.fill_query(
            Some(0),
            q(None, "t"),
            Cached::Query(QueryOutput::builder().build()),
        );
        assert!(
            c.get_query(Some(0), &q(None, "t")).is_none(),
            "TTL 0: not cached"
        );
    }
}
