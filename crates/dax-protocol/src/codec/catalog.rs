//! What the codec must know about the connection's node to encode or decode items: key
//! schemas (`defineKeySchema`) and attribute-name lists (`defineAttributeListId` /
//! `defineAttributeList`). The codec only reads it; the transport (client) or the gateway
//! (server) fills it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    schemas: HashMap<String, Arc<KeySchema>>,
    ids: HashMap<Vec<String>, i64>,
    lists: HashMap<i64, Arc<[String]>>,
    next_id: Option<i64>,
}

impl MemoryCatalog {
    /// A catalog that assigns ids to unknown lists, starting at `first_id`.
    pub fn assigning(first_id: i64) -> Self {
        let c = MemoryCatalog::default();
        c.lock().next_id = Some(first_id);
        c
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a table's key schema.
    pub fn insert_key_schema(&self, table: impl Into<String>, schema: KeySchema) {
        self.lock().schemas.insert(table.into(), Arc::new(schema));
    }

    /// Records an attribute list (both directions).
    pub fn insert_attribute_list(&self, id: i64, names: Vec<String>) {
        let mut g = self.lock();
        g.lists.insert(id, names.clone().into());
        g.ids.insert(names, id);
    }
}

impl Catalog for MemoryCatalog {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        self.lock().schemas.get(table).cloned()
    }

    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        let mut g = self.lock();
        let key: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        if let Some(id) = g.ids.get(&key) {
            return Some(*id);
        }
        let id = g.next_id?;
        g.next_id = Some(id + 1);
        g.lists.insert(id, key.clone().into());
        g.ids.insert(key, id);
        Some(id)
    }

    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        self.lock().lists.get(&id).cloned()
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
