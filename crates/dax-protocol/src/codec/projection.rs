//! Projected items (docs/dax-protocol.md §5.7).
//!
//! With a ProjectionExpression, a reply item is a map `{ordinal: value}` where `ordinal` is the
//! index of the path in the projection and `value` is what was found at that (possibly nested)
//! path. The client rebuilds the nested M/L structure; list elements come back in index order,
//! compacted, as DynamoDB returns them. The paths come from the compiled projection (the
//! expression compiler is a separate layer; [`ProjectionPaths::from_compiled`] reads its output).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::value::{read_value, write_value, Item};

const OP_PATH: u64 = 18;
const TAG_LIST_INDEX: u64 = 3324;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathElement {
    /// A top-level attribute or map key (placeholders already substituted).
    Name(String),
    /// A list index.
    Index(u32),
}

/// The attribute paths of a ProjectionExpression, in expression order.
///
/// ```
/// use xacct_dax_protocol::codec::{PathElement, ProjectionPaths};
///
/// // [1, [[18, "a"], [18, "b", 3324(0)]]], as the expression compiler emits "a, b[0]".
/// let compiled = [0x82, 0x01, 0x82, 0x82, 0x12, 0x61, b'a', 0x83, 0x12, 0x61, b'b', 0xd9, 0x0c, 0xfc, 0x00];
/// let p = ProjectionPaths::from_compiled(&compiled)?;
/// assert_eq!(p.paths()[1], vec![PathElement::Name("b".into()), PathElement::Index(0)]);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectionPaths {
    paths: Vec<Vec<PathElement>>,
}

impl ProjectionPaths {
    /// A projection from explicit paths.
    pub fn new(paths: Vec<Vec<PathElement>>) -> Self {
        ProjectionPaths { paths }
    }

    /// Reads the paths out of a compiled projection expression (`[1, [[18, …], …]]`).
    pub fn from_compiled(compiled: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(compiled);
        let mut outer = r.array()?;
        if !r.next(&mut outer)? || r.u64()? != 1 {
            return Err(r.malformed("projection must start with encoding version 1"));
        }
        if !r.next(&mut outer)? {
            return Err(r.malformed("projection has no path list"));
        }
        let mut list = r.array()?;
        let mut paths = Vec::new();
        while r.next(&mut list)? {
            let mut node = r.array()?;
            if !r.next(&mut node)? || r.u64()? != OP_PATH {
                return Err(r.malformed("projection element is not a document path"));
            }
            let mut path = Vec::new();
            while r.next(&mut node)? {
                use minicbor::data::Type;
                if r.datatype()? == Type::Tag {
                    let at = r.position();
                    if r.tag()? != TAG_LIST_INDEX {
                        return Err(CodecError::malformed("unexpected tag in a path", at));
                    }
                    let i = u32::try_from(r.u64()?)
                        .map_err(|_| CodecError::malformed("list index too large", at))?;
                    path.push(PathElement::Index(i));
                } else {
                    path.push(PathElement::Name(r.str()?.into_owned()));
                }
            }
            if !matches!(path.first(), Some(PathElement::Name(_))) {
                return Err(r.malformed("document path must start with a name"));
            }
            paths.push(path);
        }
        r.drain(&mut outer, 1)?;
        r.finish()?;
        Ok(ProjectionPaths { paths })
    }

    /// The paths.
    pub fn paths(&self) -> &[Vec<PathElement>] {
        &self.paths
    }

    /// Server side: the values of `item` at each path, keyed by ordinal (missing paths omitted).
    pub fn extract(&self, item: &Item) -> Vec<(usize, AttributeValue)> {
        let mut out = Vec::new();
        for (i, path) in self.paths.iter().enumerate() {
            let mut cur: Option<&AttributeValue> = None;
            for (depth, el) in path.iter().enumerate() {
                cur = match (depth, el, cur) {
                    (0, PathElement::Name(n), _) => item.get(n),
                    (_, PathElement::Name(n), Some(AttributeValue::M(m))) => m.get(n),
                    (_, PathElement::Index(ix), Some(AttributeValue::L(l))) => l.get(*ix as usize),
                    _ => None,
                };
                if cur.is_none() {
                    break;
                }
            }
            if let Some(v) = cur {
                out.push((i, v.clone()));
            }
        }
        out
    }

    /// Writes a projected item `{ordinal: value}`.
    pub(crate) fn write_item(&self, w: &mut Writer<'_>, item: &Item) -> Result<(), CodecError> {
        let values = self.extract(item);
        w.map(values.len());
        for (i, v) in &values {
            w.u64(*i as u64);
            write_value(w, v, 1)?;
        }
        Ok(())
    }

    /// Reads a projected item `{ordinal: value}` and rebuilds the nested structure.
    pub(crate) fn read_item(&self, r: &mut Reader<'_>) -> Result<Item, CodecError> {
        let mut root: BTreeMap<String, Node> = BTreeMap::new();
        let mut seq = r.map()?;
        while r.next(&mut seq)? {
            let at = r.position();
            let ordinal = r.u64()?;
            let path = usize::try_from(ordinal)
                .ok()
                .and_then(|i| self.paths.get(i))
                .ok_or_else(|| CodecError::malformed("projection ordinal out of range", at))?;
            let value = read_value(r)?;
            insert(&mut root, path, value);
        }
        Ok(root.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

enum Node {
    Leaf(AttributeValue),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<u32, Node>),
}

impl Node {
    fn into_value(self) -> AttributeValue {
        match self {
            Node::Leaf(v) => v,
            Node::Map(m) => AttributeValue::M(
                m.into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect::<HashMap<_, _>>(),
            ),
            Node::List(l) => AttributeValue::L(l.into_values().map(Node::into_value).collect()),
        }
    }
}

fn insert(root: &mut BTreeMap<String, Node>, path: &[PathElement], value: AttributeValue) {
    let Some((PathElement::Name(first), rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        root.insert(first.clone(), Node::Leaf(value));
        return;
    }
    let mut cur = root
        .entry(first.clone())
        .or_insert_with(|| container_for(&rest[0]));
    for (i, el) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let next = || {
            if last {
                None
            } else {
                Some(container_for(&rest[i + 1]))
            }
        };
        // A leaf already there (overlapping paths): the deeper value cannot be placed.
        let slot = match (cur, el) {
            (Node::Map(m), PathElement::Name(n)) => {
                if last {
                    m.insert(n.clone(), Node::Leaf(value));
                    return;
                }
                m.entry(n.clone())
                    .or_insert_with(|| next().unwrap_or(Node::Map(BTreeMap::new())))
            }
            (Node::List(l), PathElement::Index(ix)) => {
                if last {
                    l.insert(*ix, Node::Leaf(value));
                    return;
                }
                l.entry(*ix)
                    .or_insert_with(|| next().unwrap_or(Node::Map(BTreeMap::new())))
            }
            _ => return,
        };
        cur = slot;
    }
}

fn container_for(el: &PathElement) -> Node {
    match el {
        PathElement::Name(_) => Node::Map(BTreeMap::new()),
        PathElement::Index(_) => Node::List(BTreeMap::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PathElement {
        PathElement::Name(s.into())
    }

    #[test]
    fn rebuilds_nested_paths_and_orders_list_elements() {
        let p = ProjectionPaths::new(vec![
            vec![name("a")],
            vec![name("l"), PathElement::Index(5)],
            vec![name("l"), PathElement::Index(1)],
            vec![name("m"), name("x"), name("y")],
        ]);
        let item: Item = HashMap::from([
            ("a".to_owned(), AttributeValue::S("x".into())),
            (
                "l".to_owned(),
                AttributeValue::L((0..6).map(|i| AttributeValue::N(i.to_string())).collect()),
            ),
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "x".to_owned(),
                    AttributeValue::M(HashMap::from([(
                        "y".to_owned(),
                        AttributeValue::Bool(true),
                    )])),
                )])),
            ),
        ]);
        let mut out = Vec::new();
        p.write_item(&mut Writer::new(&mut out), &item).unwrap();
        let back = p.read_item(&mut Reader::new(&out)).unwrap();
        assert_eq!(back["a"], item["a"]);
        assert_eq!(
            back["l"],
            AttributeValue::L(vec![
                AttributeValue::N("1".into()),
                AttributeValue::N("5".into())
            ])
        );
        assert_eq!(back["m"], item["m"]);
    }
}
