//! What the codec must know about the connection's node to encode or decode items: key
//! schemas (`defineKeySchema`) and attribute-name lists (`defineAttributeListId` /
//! `defineAttributeList`). The codec only reads it; the transport (client) or the gateway
//! (server) fills it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::key::KeySchema;

/// Attribute-list id of the empty list: defined by the protocol, never sent to a server.
pub const EMPTY_ATTRIBUTE_LIST_ID: i64 = 1;

/// Read access to a node's key schemas and attribute lists.
///
/// A client answers from its caches and turns a `None` into the control call named by the
/// resulting [`CodecError`](super::CodecError); a server assigns list ids on demand.
///
/// ```
/// use xacct_dax_protocol::codec::{Catalog, MemoryCatalog};
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_attribute_list(100, vec!["a".into(), "b".into()]);
/// assert_eq!(catalog.attribute_list_id(&["a", "b"]), Some(100));
/// assert_eq!(catalog.attribute_names(100).unwrap().len(), 2);
/// ```
pub trait Catalog {
    /// The key schema of `table`.
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>>;
    /// The id of a non-empty, sorted attribute-name list.
    fn attribute_list_id(&self, names: &[&str]) -> Option<i64>;
    /// The names of attribute list `id` (never called for the empty list, id 1).
    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>>;
}

/// A plain in-memory [`Catalog`] (tests, tools, and the base of a server's registry).
///
/// With [`MemoryCatalog::assigning`] it hands out new ids (from 100 up, as the recorded
/// official exchanges show) for unknown lists, as a DAX server does.
///
/// Reads take no lock: they look in an immutable snapshot behind an [`ArcSwap`], which every
/// request decode and reply encode consults. Inserts go to a small overflow under a mutex
/// (readers look there, under the lock, only when the snapshot misses) and are folded into a
/// new snapshot (copy on write) as soon as the overflow holds more than a quarter of the
/// snapshot's entries (at once when an insert replaces an entry of the snapshot), so each insert
/// costs O(1) amortised copies and at most a fifth of the entries, the newest, are read under
/// the lock.
///
/// ```
/// use xacct_dax_protocol::codec::{Catalog, MemoryCatalog};
///
/// let server = MemoryCatalog::assigning(100);
/// assert_eq!(server.attribute_list_id(&["x"]), Some(100));
/// assert_eq!(server.attribute_list_id(&["y"]), Some(101));
/// assert_eq!(server.attribute_list_id(&["x"]), Some(100));
/// ```
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    /// What readers see without locking.
    snapshot: ArcSwap<Tables>,
    /// Entries not yet in the snapshot, and the id counter; also serialises writers.
    write: Mutex<Pending>,
}

#[derive(Debug, Default, Clone)]
struct Tables {
    schemas: HashMap<String, Arc<KeySchema>>,
    ids: ListIds,
    lists: HashMap<i64, Arc<[String]>>,
}

impl Tables {
    fn len(&self) -> usize {
        self.schemas.len() + self.ids.len + self.lists.len()
    }
}

#[derive(Debug, Default)]
struct Pending {
    recent: Tables,
    next_id: Option<i64>,
}

/// One attribute-name list and its id.
type ListEntry = (Arc<[String]>, i64);

/// Attribute-name list → id, looked up by a `&[&str]` without building an owned key: entries
/// are bucketed by a hash of the names (keyed per catalog) and compared name by name.
#[derive(Debug, Default, Clone)]
struct ListIds {
    hasher: std::hash::RandomState,
    buckets: HashMap<u64, Vec<ListEntry>>,
    len: usize,
}

impl ListIds {
    fn hash<S: AsRef<str>>(&self, names: &[S]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(names.len());
        for n in names {
            n.as_ref().hash(&mut h);
        }
        h.finish()
    }

    fn get<S: AsRef<str>>(&self, names: &[S]) -> Option<i64> {
        self.buckets
            .get(&self.hash(names))?
            .iter()
            .find_map(|(k, id)| {
                (k.len() == names.len() && k.iter().zip(names).all(|(a, b)| a == b.as_ref()))
                    .then_some(*id)
            })
    }

    fn insert(&mut self, names: Arc<[String]>, id: i64) {
        let bucket = self.buckets.entry(self.hash(&names)).or_default();
        match bucket.iter_mut().find(|(k, _)| *k == names) {
            Some(entry) => entry.1 = id,
            None => {
                bucket.push((names, id));
                self.len += 1;
            }
        }
    }

    /// Moves `other`'s entries in (rehashed: each catalog part has its own hash keys).
    fn absorb(&mut self, other: ListIds) {
        for (names, id) in other.buckets.into_values().flatten() {
            self.insert(names, id);
        }
    }
}

impl MemoryCatalog {
    /// A catalog that assigns ids to unknown lists, starting at `first_id`.
    pub fn assigning(first_id: i64) -> Self {
        let c = MemoryCatalog::default();
        c.lock().next_id = Some(first_id);
        c
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Folds the overflow into a new snapshot once it holds more than a quarter of the
    /// snapshot's entries (called with the write lock held).
    /// `force`: an entry of the snapshot was replaced, which readers must see now.
    fn maybe_publish(&self, pending: &mut Pending, force: bool) {
        let current = self.snapshot.load();
        if !force && pending.recent.len() * 4 <= current.len() {
            return;
        }
        let recent = std::mem::take(&mut pending.recent);
        let mut next = Tables::clone(&current);
        next.schemas.extend(recent.schemas);
        next.lists.extend(recent.lists);
        next.ids.absorb(recent.ids);
        self.snapshot.store(Arc::new(next));
    }

    /// Looks `f` up in the snapshot, then (on a miss) in the overflow under the lock.
    fn read<T>(&self, f: impl Fn(&Tables) -> Option<T>) -> Option<T> {
        if let Some(v) = f(&self.snapshot.load()) {
            return Some(v);
        }
        let pending = self.lock();
        // A writer may have published the overflow between the two looks: check again under
        // the lock, where the snapshot and the overflow are consistent.
        f(&self.snapshot.load()).or_else(|| f(&pending.recent))
    }

    /// Records a table's key schema.
    pub fn insert_key_schema(&self, table: impl Into<String>, schema: KeySchema) {
        let table = table.into();
        let mut g = self.lock();
        let replaces = self.snapshot.load().schemas.contains_key(&table);
        g.recent.schemas.insert(table, Arc::new(schema));
        self.maybe_publish(&mut g, replaces);
    }

    /// Records an attribute list (both directions).
    pub fn insert_attribute_list(&self, id: i64, names: Vec<String>) {
        let mut g = self.lock();
        let snapshot = self.snapshot.load();
        let replaces = snapshot.lists.contains_key(&id) || snapshot.ids.get(&names).is_some();
        let names: Arc<[String]> = names.into();
        g.recent.lists.insert(id, names.clone());
        g.recent.ids.insert(names, id);
        self.maybe_publish(&mut g, replaces);
    }
}

impl Catalog for MemoryCatalog {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        self.read(|t| t.schemas.get(table).cloned())
    }

    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        if let Some(id) = self.snapshot.load().ids.get(names) {
            return Some(id);
        }
        let mut g = self.lock();
        if let Some(id) = self.snapshot.load().ids.get(names) {
            return Some(id);
        }
        if let Some(id) = g.recent.ids.get(names) {
            return Some(id);
        }
        let id = g.next_id?;
        g.next_id = Some(id + 1);
        let list: Arc<[String]> = names.iter().map(|s| (*s).to_owned()).collect();
        g.recent.lists.insert(id, list.clone());
        g.recent.ids.insert(list, id);
        self.maybe_publish(&mut g, false);
        Some(id)
    }

    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        self.read(|t| t.lists.get(&id).cloned())
    }
}

impl<C: Catalog + ?Sized> Catalog for &C {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        (**self).key_schema(table)
    }
    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        (**self).attribute_list_id(names)
    }
    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        (**self).attribute_names(id)
    }
}

impl<C: Catalog + ?Sized> Catalog for Arc<C> {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        (**self).key_schema(table)
    }
    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        (**self).attribute_list_id(names)
    }
    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        (**self).attribute_names(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::KeyAttribute;
    use aws_sdk_dynamodb::types::ScalarAttributeType as T;

    #[test]
    fn every_entry_is_found_before_and_after_publishing() {
        let c = MemoryCatalog::assigning(100);
        let names: Vec<String> = (0..500).map(|i| format!("a{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(c.attribute_list_id(&[n.as_str()]), Some(100 + i as i64));
            // Found at once, in the overflow or in the snapshot, both ways.
            for (j, m) in names.iter().enumerate().take(i + 1) {
                assert_eq!(c.attribute_list_id(&[m.as_str()]), Some(100 + j as i64));
                assert_eq!(
                    c.attribute_names(100 + j as i64).as_deref(),
                    Some(&[m.clone()][..])
                );
            }
        }
        // Most entries ended up in the snapshot, the newest may still be in the overflow.
        let snapshot = c.snapshot.load().len();
        let recent = c.lock().recent.len();
        assert_eq!(snapshot + recent, 2 * names.len());
        assert!(
            recent * 4 <= snapshot,
            "{recent} in the overflow, {snapshot} in the snapshot"
        );
    }

    #[test]
    fn replacing_an_entry_is_seen_at_once() {
        let c = MemoryCatalog::default();
        for i in 0..40 {
            c.insert_attribute_list(i, vec![format!("n{i}")]);
        }
        c.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
        c.insert_attribute_list(3, vec!["other".into()]);
        assert_eq!(
            c.attribute_names(3).as_deref(),
            Some(&["other".to_owned()][..])
        );
        assert_eq!(c.attribute_list_id(&["other"]), Some(3));
        c.insert_attribute_list(77, vec!["n5".into()]);
        assert_eq!(c.attribute_list_id(&["n5"]), Some(77));
        c.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("id", T::N)));
        assert_eq!(
            *c.key_schema("t").unwrap_or_else(|| panic!("schema")),
            KeySchema::hash_only(KeyAttribute::new("id", T::N))
        );
        assert_eq!(c.attribute_list_id(&["missing"]), None, "not assigning");
    }

    #[test]
    fn concurrent_readers_and_an_assigning_writer_agree() {
        let c = Arc::new(MemoryCatalog::assigning(100));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..300 {
                        let name = format!("x{i}");
                        if let Some(id) = c.attribute_list_id(&[name.as_str()]) {
                            assert_eq!(c.attribute_names(id).as_deref(), Some(&[name][..]));
                        }
                    }
                })
            })
            .collect();
        for r in readers {
            assert!(r.join().is_ok());
        }
        let ids: std::collections::HashSet<i64> = (0..300)
            .filter_map(|i| c.attribute_list_id(&[format!("x{i}").as_str()]))
            .collect();
        assert_eq!(ids.len(), 300, "one id per list, none handed out twice");
    }
}
