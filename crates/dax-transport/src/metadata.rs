//! Key schemas and attribute lists, cached as the codec's [`Catalog`] (sizes of the Go client,
//! docs/dax-protocol.md §1.7: key schemas LRU 100, attribute lists LRU 1000 each way, no TTL),
//! filled by the control calls `defineKeySchema`, `defineAttributeListId` and `defineAttributeList`
//! when an encode or decode asks for them. Concurrent requests missing the same entry make one call
//! (single flight): the others wait for it and read the cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use xacct_dax_protocol::codec::{
    decode_define_attribute_list_id_response, decode_define_attribute_list_response,
    decode_define_key_schema_response, encode_define_attribute_list_id_request,
    encode_define_attribute_list_request, encode_define_key_schema_request, Catalog, CodecError,
    KeySchema, Method, ServiceError,
};

/// A small LRU map. Written here because the caches hold at most a thousand entries and only
/// need get/insert; eviction scans for the oldest entry (rare: only when full).
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    cap: usize,
    tick: u64,
    map: HashMap<K, (V, u64)>,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Lru {
            cap: cap.max(1),
            tick: 0,
            map: HashMap::new(),
        }
    }

    pub(crate) fn get<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(k).map(|(v, t)| {
            *t = tick;
            v.clone()
        })
    }

    pub(crate) fn insert(&mut self, k: K, v: V) {
        self.tick += 1;
        if self.map.len() >= self.cap && !self.map.contains_key(&k) {
            if let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            }
        }
        self.map.insert(k, (v, self.tick));
    }

    pub(crate) fn remove<Q>(&mut self, k: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(k);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// An LRU map whose reads take no lock, for the caches every request encode and reply decode
/// reads: readers look in an immutable snapshot behind an [`ArcSwap`]; a writer (a control
/// call's answer, rare) copies the snapshot, inserts (evicting the least recently used entry when
/// full) and publishes the copy. Recency is counted in inserts: a read stamps its entry with
/// the current insert epoch (a plain store, and only when the stamp changes, so steady reads
/// write nothing shared), and eviction drops the entry with the oldest stamp (entries read in
/// the same epoch tie).
#[derive(Debug)]
pub(crate) struct SharedLru<K, V> {
    cap: usize,
    map: ArcSwap<HashMap<K, Stamped<V>>>,
    /// Inserts so far (the recency clock); the mutex serialises writers.
    writer: Mutex<u64>,
    clock: AtomicU64,
}

#[derive(Debug)]
struct Stamped<V> {
    value: V,
    used: AtomicU64,
}

impl<V: Clone> Clone for Stamped<V> {
    fn clone(&self) -> Self {
        Stamped {
            value: self.value.clone(),
            used: AtomicU64::new(self.used.load(Relaxed)),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SharedLru<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        SharedLru {
            cap: cap.max(1),
            map: ArcSwap::from_pointee(HashMap::new()),
            writer: Mutex::new(0),
            clock: AtomicU64::new(0),
        }
    }

    pub(crate) fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.load();
        let e = map.get(k)?;
        let now = self.clock.load(Relaxed);
        if e.used.load(Relaxed) != now {
            e.used.store(now, Relaxed);
        }
        Some(e.value.clone())
    }

    pub(crate) fn insert(&self, k: K, v: V) {
        let mut inserts = lock(&self.writer);
        *inserts += 1;
        // The new entry's stamp; reads from now on stamp one more, so an entry read since this
        // insert counts as more recent than the entry it inserted.
        let now = *inserts * 2;
        self.clock.store(now + 1, Relaxed);
        let mut next = HashMap::clone(&self.map.load());
        if next.len() >= self.cap && !next.contains_key(&k) {
            if let Some(oldest) = next
                .iter()
                .min_by_key(|(_, e)| e.used.load(Relaxed))
                .map(|(k, _)| k.clone())
            {
                next.remove(&oldest);
            }
        }
        next.insert(
            k,
            Stamped {
                value: v,
                used: AtomicU64::new(now),
            },
        );
        self.map.store(Arc::new(next));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.load().len()
    }
}

/// What a missing-metadata codec error asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Missing {
    KeySchema(String),
    ListId(Vec<String>),
    ListNames(i64),
}

impl Missing {
    pub(crate) fn of(e: &CodecError) -> Option<Missing> {
        match e {
            CodecError::MissingKeySchema { table } => Some(Missing::KeySchema(table.clone())),
            CodecError::MissingAttributeListId { names } => Some(Missing::ListId(names.clone())),
            CodecError::UnknownAttributeList { id } => Some(Missing::ListNames(*id)),
            _ => None,
        }
    }

    /// The control-call frame that answers it.
    pub(crate) fn request(&self) -> (Method, Vec<u8>) {
        let mut out = Vec::new();
        let m = match self {
            Missing::KeySchema(t) => {
                encode_define_key_schema_request(t, &mut out);
                Method::DefineKeySchema
            }
            Missing::ListId(names) => {
                encode_define_attribute_list_id_request(names, &mut out);
                Method::DefineAttributeListId
            }
            Missing::ListNames(id) => {
                encode_define_attribute_list_request(*id, &mut out);
                Method::DefineAttributeList
            }
        };
        (m, out)
    }
}

/// The caches (read without locks: see [`SharedLru`]).
#[derive(Debug)]
pub(crate) struct Metadata {
    schemas: SharedLru<String, Arc<KeySchema>>,
    ids: SharedLru<Vec<String>, i64>,
    names: SharedLru<i64, Arc<[String]>>,
    inflight: Mutex<HashMap<Missing, Arc<tokio::sync::Mutex<()>>>>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            schemas: SharedLru::new(100),
            ids: SharedLru::new(1000),
            names: SharedLru::new(1000),
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metadata {
    /// Whether the cache already answers `m`.
    pub(crate) fn has(&self, m: &Missing) -> bool {
        match m {
            Missing::KeySchema(t) => self.schemas.get(t.as_str()).is_some(),
            Missing::ListId(n) => self.ids.get(n).is_some(),
            Missing::ListNames(id) => self.names.get(id).is_some(),
        }
    }

    /// The single-flight gate for `m`: hold it while making the call.
    pub(crate) fn gate(&self, m: &Missing) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.inflight)
            .entry(m.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
            .clone()
    }

    /// Removes `m`'s gate from the map when the returned guard drops (however the call that
    /// holds the gate ends, cancellation included).
    pub(crate) fn release_on_drop<'a>(&'a self, m: &'a Missing) -> ReleaseGate<'a> {
        ReleaseGate { metadata: self, m }
    }

    /// How many single-flight gates are in the map (calls under way).
    #[cfg(test)]
    pub(crate) fn gates(&self) -> usize {
        lock(&self.inflight).len()
    }

    /// Stores the answer to `m` from its reply frame: `Ok(Err(_))` is the node's error reply.
    pub(crate) fn store(
        &self,
        m: &Missing,
        reply: &[u8],
    ) -> Result<Result<(), Box<ServiceError>>, CodecError> {
        Ok(match m {
            Missing::KeySchema(t) => decode_define_key_schema_response(reply)?.map(|s| {
                self.schemas.insert(t.clone(), Arc::new(s));
            }),
            Missing::ListId(names) => decode_define_attribute_list_id_response(reply)?.map(|id| {
                self.ids.insert(names.clone(), id);
                self.names.insert(id, names.clone().into());
            }),
            Missing::ListNames(id) => decode_define_attribute_list_response(reply)?.map(|names| {
                self.ids.insert(names.clone(), *id);
                self.names.insert(*id, names.into());
            }),
        })
    }
}

impl Catalog for Metadata {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        self.schemas.get(table)
    }

    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        let key: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        self.ids.get(&key)
    }

    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        self.names.get(&id)
    }
}

/// Removes a single-flight gate from the map on drop.
#[derive(Debug)]
pub(crate) struct ReleaseGate<'a> {
    metadata: &'a Metadata,
    m: &'a Missing,
}

impl Drop for ReleaseGate<'_> {
    fn drop(&mut self) {
        lock(&self.metadata.inflight).remove(self.m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::ScalarAttributeType as T;
    use xacct_dax_protocol::codec::{
        encode_define_attribute_list_id_response, encode_define_key_schema_response, KeyAttribute,
    };

    #[tokio::test]
    async fn gates_leave_the_map_on_error_and_on_cancellation() {
        let md = Metadata::default();
        let m = Missing::KeySchema("t".into());
        {
            let gate = md.gate(&m);
            let _held = gate.lock().await;
            let _release = md.release_on_drop(&m);
            assert_eq!(md.gates(), 1);
            // an early return (an error) drops the guard here
        }
        assert_eq!(md.gates(), 0);
        let call = async {
            let gate = md.gate(&m);
            let _held = gate.lock().await;
            let _release = md.release_on_drop(&m);
            std::future::pending::<()>().await;
        };
        let mut call = Box::pin(call);
        assert!(futures_util::FutureExt::now_or_never(call.as_mut()).is_none());
        assert_eq!(md.gates(), 1, "held while the call is under way");
        drop(call); // the caller gave up (a timeout, a dropped request)
        assert_eq!(md.gates(), 0);
        let gate = md.gate(&m);
        assert!(gate.try_lock().is_ok(), "the next caller is not blocked");
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut l = Lru::new(2);
        l.insert("a", 1);
        l.insert("b", 2);
        assert_eq!(l.get("a"), Some(1)); // b is now the oldest
        l.insert("c", 3);
        assert_eq!(
            (l.get("a"), l.get("b"), l.get("c")),
            (Some(1), None, Some(3))
        );
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn shared_lru_evicts_the_least_recently_used() {
        let l = SharedLru::new(2);
        l.insert("a", 1);
        l.insert("b", 2);
        assert_eq!(l.get("a"), Some(1)); // b is now the oldest
        l.insert("c", 3);
        assert_eq!(
            (l.get("a"), l.get("b"), l.get("c")),
            (Some(1), None, Some(3))
        );
        assert_eq!(l.len(), 2);
        l.insert("a", 10); // replacing evicts nothing
        assert_eq!((l.get("a"), l.get("c"), l.len()), (Some(10), Some(3), 2));
    }

    #[test]
    fn control_replies_fill_the_catalog_both_ways() {
        let md = Metadata::default();
        let schema = KeySchema::hash_only(KeyAttribute::new("pk", T::S));
        let mut reply = Vec::new();
        encode_define_key_schema_response(&schema, &mut reply);
        let m = Missing::KeySchema("t".into());
        assert!(!md.has(&m));
        md.store(&m, &reply).unwrap().unwrap();
        assert!(md.has(&m));
        assert_eq!(*md.key_schema("t").unwrap(), schema);

        let mut reply = Vec::new();
        encode_define_attribute_list_id_response(101, &mut reply);
        let m = Missing::ListId(vec!["a".into(), "b".into()]);
        md.store(&m, &reply).unwrap().unwrap();
        assert_eq!(md.attribute_list_id(&["a", "b"]), Some(101));
        assert_eq!(&*md.attribute_names(101).unwrap(), ["a", "b"]);
    }

    #[test]
    fn missing_maps_codec_errors_to_control_calls() {
        let e = CodecError::MissingKeySchema { table: "t".into() };
        let m = Missing::of(&e).unwrap();
        assert_eq!(m.request().0, Method::DefineKeySchema);
        let e = CodecError::UnknownAttributeList { id: 7 };
        assert_eq!(
            Missing::of(&e).unwrap().request().0,
            Method::DefineAttributeList
        );
        assert!(Missing::of(&CodecError::Truncated).is_none());
    }
}
