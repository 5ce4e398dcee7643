//! Round trip through the local stack: for a few hundred generated requests whose ORIGINAL
//! expression text moto accepts, `decompile(compile(text))` gives the same result on moto.
//!
//! One fresh table per run (`pk` S + `sk` N, on-demand), seeded with 40 items whose attributes
//! cover what the generator's paths reach: nested maps and lists, string / number / binary
//! sets, numbers, strings, binary, booleans, nulls, and names that need a placeholder
//! (`status`, `with space`, `a.b`, `name`, `data`). The generator (below) adapts the one of
//! `tests/dax_expr_gen` to the seeded data: paths are drawn from the seeded shapes (plus some
//! that do not exist) and values mostly sampled from the items, so conditions and filters are
//! true often enough to matter; `dax_expr_gen::Gen::av` supplies the odd random value.
//!
//! Per kind:
//! * Condition: PutItem / DeleteItem / UpdateItem (`SET upd_ = :upd`) with the condition;
//!   compares success vs ConditionalCheckFailed, the returned item (UpdateItem, ALL_NEW) and
//!   the item left in the table;
//! * Update: UpdateItem (sometimes with a condition), ReturnValues ALL_NEW; compares the
//!   returned item and the item left in the table;
//! * Projection: GetItem, Query (`pk = :kp`) or Scan with the projection;
//! * KeyCondition: Query, forwards or backwards (items compared in order);
//! * Filter: Scan, or Query (`pk = :kp`) with the filter.
//!
//! Each side of a write starts from the same state: the item is put back from the seed (or
//! deleted, for keys the seed does not have) before each side, and once more after the case.
//! Items are compared as attribute-value maps, exactly (numbers as moto returns them) except
//! that set members are sorted (DynamoDB sets are unordered). Scan results are compared as
//! multisets (sorted), Query results in order.
//!
//! Cases moto rejects as text (any error other than ConditionalCheckFailed: runtime type
//! errors, unsupported forms, …) are counted and their messages tallied, not failed on; the
//! decompiled text is only run for cases moto accepts. A `compile` error on a generated
//! (DynamoDB-valid by construction) request, a `decompile` error, or any difference fails.
//!
//! The table is deleted at the end of the run, also when the test fails: the body runs under
//! `catch_unwind` and the panic is resumed after the delete. Only a killed process leaves a
//! table behind (its name starts with `dax-rt-`; the stack's state is per instance anyway).
//!
//! moto (5.2.5) limitations met, and how they are handled:
//! * it fails with HTTP 500 (a Python exception) on comparisons of unlike types (`a < :set`,
//!   `dict > dict`; DynamoDB evaluates them to false), `begins_with` on a number (sort key),
//!   some `size()` / `IN` forms, and treats a tab as no whitespace (`Cannot parse condition`):
//!   those originals are counted as rejected (`--nocapture` prints the tally);
//! * its ProjectionExpression parser substitutes placeholders only as whole `.`-separated
//!   segments, so `#n0[1]` stays unresolved: an original with `#name[i]` is skipped (moto's
//!   result for it is wrong), and in the decompiled text (every name is a placeholder) the
//!   names before `[` are inlined (`moto_projection`); a name that needs its placeholder
//!   (reserved) cannot be inlined and the case is skipped;
//! * its KeyConditionExpression parser stays in its BETWEEN state, so the decompiled
//!   `#sk BETWEEN :a AND :b AND #pk = :c` fails; the BETWEEN is parenthesised
//!   (`moto_key_condition`);
//! * it cannot parse `NOT NOT x` (HTTP 500 "Bad NOT expression"), which DynamoDB's grammar
//!   allows and `decompile` prints for `NOT (NOT x)`: such cases are skipped.
//!
//! Every rewrite of the decompiled text is checked to compile to the same tree, and every
//! skip is counted per kind. moto answers a Scan or Query in tens of milliseconds here, so
//! reads run 8 at a time, then writes in batches of distinct keys.
//!
//! Needs the local stack: `bash scripts/stack/stack.sh start`, then
//! `XACCT_STACK_ENV_FILE=$(bash scripts/stack/stack.sh env default) cargo test --test
//! dax_expr_roundtrip -- --nocapture`.
#![allow(clippy::disallowed_methods)]

#[path = "../crates/dax-protocol/tests/expr_gen/mod.rs"]
mod dax_expr_gen;
mod support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use cross_account_dynamodb::dax::expr::{compile, decompile, ExpressionKind, Expressions};
use dax_expr_gen::Gen;
use futures_util::{FutureExt, StreamExt};
use support::{unique_name, Stack};

const SEED: u64 = 0x0da7_a5ed;
/// Generated cases per kind.
const CASES_PER_KIND: usize = 85;
const MIN_KEPT_PER_KIND: usize = 40;
const MIN_KEPT_TOTAL: usize = 300;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    pk: String,
    sk: u32,
}

impl Key {
    fn attrs(&self) -> Item {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(self.pk.clone())),
            ("sk".to_owned(), AttributeValue::N(self.sk.to_string())),
        ])
    }
}

// ---------------------------------------------------------------------------- seed data

const PARTITIONS: u32 = 3;
const ITEMS_PER_PARTITION: u32 = 8;

fn n(x: impl ToString) -> AttributeValue {
    AttributeValue::N(x.to_string())
}
fn s(x: impl Into<String>) -> AttributeValue {
    AttributeValue::S(x.into())
}
fn m<const K: usize>(entries: [(&str, AttributeValue); K]) -> AttributeValue {
    AttributeValue::M(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn seed_item(p: u32, k: u32) -> Item {
    let key = Key {
        pk: format!("p{p}"),
        sk: k,
    };
    let mut item = key.attrs();
    let mut put = |name: &str, v: AttributeValue| {
        item.insert(name.to_owned(), v);
    };
    let a =
        ["-3", "0", "1", "1.5", "2", "7", "10", "100", "-0.25", "42"][((k * 7 + p) % 10) as usize];
    put("a", n(a));
    put(
        "b",
        s([
            "apple",
            "banana",
            "app",
            "cherry",
            "",
            "Apple pie",
            "日本語",
        ][((k + p) % 7) as usize]),
    );
    put("c", AttributeValue::Bool((k + p).is_multiple_of(2)));
    if k.is_multiple_of(3) {
        put("z", AttributeValue::Null(true));
    }
    put(
        "x1",
        AttributeValue::B(Blob::new(vec![k as u8, p as u8, 0xff])),
    );
    if k % 4 != 3 {
        put(
            "Foo",
            m([
                ("a", n(k)),
                ("b", s(format!("v{}", k % 3))),
                (
                    "name",
                    AttributeValue::L(vec![n(k % 5), s("x"), m([("a", n(p))])]),
                ),
                (
                    "data",
                    m([
                        ("a", s(format!("deep{p}"))),
                        ("b", AttributeValue::L(vec![n(1), n(k)])),
                    ]),
                ),
            ]),
        );
    }
    if !(p + k).is_multiple_of(5) {
        put(
            "q",
            AttributeValue::L(vec![
                n(k),
                s(format!("q{}", k % 4)),
                m([("a", n(p)), ("b", s("qb"))]),
                AttributeValue::L(vec![n(1), n(2), s("three")]),
                AttributeValue::Bool(k % 2 == 1),
            ]),
        );
    }
    put(
        "ss",
        AttributeValue::Ss(vec!["x".into(), format!("y{}", k % 3)]),
    );
    put(
        "ns",
        AttributeValue::Ns(vec!["1".into(), (k + 2).to_string()]),
    );
    put(
        "bs",
        AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![k as u8 + 2])]),
    );
    put("status", s(["open", "closed", "pending"][(k % 3) as usize]));
    put("with space", n(k * 10));
    put("a.b", s(format!("dot{}", k % 2)));
    put(
        "items_",
        AttributeValue::L(
            (0..k % 4)
                .map(|i| m([("a", n(i)), ("name", s(format!("it{i}")))]))
                .collect(),
        ),
    );
    item
}

fn seed() -> BTreeMap<Key, Item> {
    (0..PARTITIONS)
        .flat_map(|p| (0..ITEMS_PER_PARTITION).map(move |k| (p, k)))
        .map(|(p, k)| {
            (
                Key {
                    pk: format!("p{p}"),
                    sk: k,
                },
                seed_item(p, k),
            )
        })
        .collect()
}

/// Keys the seed does not have (conditions on absent items, updates that create one).
fn missing_keys() -> [Key; 2] {
    [
        Key {
            pk: "p0".into(),
            sk: 99,
        },
        Key {
            pk: "p9".into(),
            sk: 1,
        },
    ]
}

// ---------------------------------------------------------------------------- paths

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Name(String),
    Index(u32),
}

/// Paths over the seeded shapes; `·` stands for a `.` inside a name (`a.b`).
const PATHS: &[&str] = &[
    "a",
    "b",
    "c",
    "z",
    "x1",
    "ss",
    "ns",
    "bs",
    "status",
    "with space",
    "a·b",
    "pk",
    "sk",
    "Foo",
    "Foo.a",
    "Foo.b",
    "Foo.name",
    "Foo.name[0]",
    "Foo.name[1]",
    "Foo.name[2].a",
    "Foo.data",
    "Foo.data.a",
    "Foo.data.b[0]",
    "Foo.data.b[1]",
    "q",
    "q[0]",
    "q[1]",
    "q[2]",
    "q[2].a",
    "q[2].b",
    "q[3]",
    "q[3][1]",
    "q[4]",
    "q[9]",
    "items_",
    "items_[0]",
    "items_[0].a",
    "items_[1].name",
    "nope",
    "Foo.nope",
    "q[2].nope.a",
];
const NUM_PATHS: &[&str] = &[
    "a",
    "sk",
    "Foo.a",
    "q[0]",
    "with space",
    "items_[0].a",
    "q[2].a",
    "Foo.data.b[1]",
    "nope",
];
const LIST_PATHS: &[&str] = &["Foo.name", "q", "q[3]", "items_", "Foo.data.b", "nope"];
const STR_PATHS: &[&str] = &["b", "status", "Foo.b", "q[1]", "a·b", "Foo.data.a", "pk"];
const SET_PATHS: &[&str] = &["ss", "ns", "bs"];

fn parse_path(text: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in text.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(a, b)| (a, b));
        segs.push(Seg::Name(name.replace('·', ".")));
        for idx in rest.split('[') {
            if let Some(i) = idx.strip_suffix(']') {
                segs.push(Seg::Index(i.parse().expect("index")));
            }
        }
    }
    segs
}

fn get_path<'a>(item: &'a Item, segs: &[Seg]) -> Option<&'a AttributeValue> {
    let Some(Seg::Name(first)) = segs.first() else {
        return None;
    };
    let mut cur = item.get(first)?;
    for seg in &segs[1..] {
        cur = match (seg, cur) {
            (Seg::Name(k), AttributeValue::M(map)) => map.get(k)?,
            (Seg::Index(i), AttributeValue::L(list)) => list.get(*i as usize)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn needs_placeholder(name: &str) -> bool {
    const RESERVED_HERE: &[&str] = &["status", "name", "data", "items"];
    RESERVED_HERE.contains(&name)
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn type_tag(av: &AttributeValue) -> &'static str {
    match av {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        _ => "?",
    }
}

// ---------------------------------------------------------------------------- cases

#[derive(Debug, Clone)]
enum Op {
    Put { key: Key, item: Item },
    Delete { key: Key },
    Update { key: Key },
    Get { key: Key },
    Query { forward: bool },
    Scan,
}

#[derive(Debug, Clone)]
struct Case {
    kind: ExpressionKind,
    op: Op,
    exprs: Expressions,
}

/// The generator, aware of the seeded data.
struct RtGen {
    rng: fastrand::Rng,
    wild: Gen,
    items: Vec<(Key, Item)>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    tops: Vec<String>,
    focus: Option<usize>,
    /// How often (percent) a name that needs no placeholder gets one.
    spare_placeholders: u8,
}

impl RtGen {
    fn new(seed: u64, items: &BTreeMap<Key, Item>) -> Self {
        RtGen {
            rng: fastrand::Rng::with_seed(seed),
            wild: Gen::new(seed ^ 0x5eed),
            items: items.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            names: HashMap::new(),
            values: HashMap::new(),
            tops: Vec::new(),
            focus: None,
            spare_placeholders: 20,
        }
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.rng.u8(..100) < percent
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.usize(..xs.len())]
    }

    fn ws(&mut self) -> &'static str {
        match self.rng.u8(..40) {
            0 => "\t",
            1 | 2 => "\n ",
            3..=5 => "  ",
            _ => " ",
        }
    }

    fn kw(&mut self, k: &str) -> String {
        match self.rng.u8(..4) {
            0 => k.to_ascii_lowercase(),
            _ => k.to_owned(),
        }
    }

    fn begin(&mut self, focus: Option<usize>) {
        self.names.clear();
        self.values.clear();
        self.tops.clear();
        self.focus = focus;
        self.spare_placeholders = 20;
    }

    fn finish(&mut self, kind: ExpressionKind, op: Op, mut exprs: Expressions) -> Case {
        exprs.expression_attribute_names.extend(self.names.drain());
        exprs
            .expression_attribute_values
            .extend(self.values.drain());
        Case { kind, op, exprs }
    }

    // ---------------------------------------------------------------- names and values

    fn name_token(&mut self, name: &str) -> String {
        if !needs_placeholder(name) && !self.chance(self.spare_placeholders) {
            return name.to_owned();
        }
        if let Some(k) = self
            .names
            .iter()
            .find_map(|(k, v)| (v.as_str() == name).then(|| k.clone()))
        {
            return k;
        }
        let key = format!("#p{}", self.names.len());
        self.names.insert(key.clone(), name.to_owned());
        key
    }

    fn render(&mut self, segs: &[Seg]) -> String {
        let mut out = String::new();
        for (i, seg) in segs.iter().enumerate() {
            match seg {
                Seg::Name(name) => {
                    if i > 0 {
                        out.push('.');
                    }
                    out += &self.name_token(name);
                }
                Seg::Index(i) => out += &format!("[{i}]"),
            }
        }
        out
    }

    fn value_of(&mut self, av: AttributeValue) -> String {
        let existing = self
            .values
            .iter()
            .filter(|(_, v)| **v == av)
            .map(|(k, _)| k.clone())
            .min();
        if let Some(k) = existing {
            if self.chance(50) {
                return k;
            }
        }
        let key = format!(":x{}", self.values.len());
        self.values.insert(key.clone(), av);
        key
    }

    /// The value at `segs` in the focus item (half the time) or a random item.
    fn sample(&mut self, segs: &[Seg]) -> Option<AttributeValue> {
        let focus = self.focus;
        let idx = match focus {
            Some(f) if self.chance(50) => f,
            _ => {
                let len = self.items.len();
                self.rng.usize(..len)
            }
        };
        get_path(&self.items[idx].1, segs).cloned()
    }

    fn literal(&mut self) -> AttributeValue {
        match self.rng.u8(..12) {
            0..=2 => n(self.pick(&["0", "1", "2", "-3", "1.5", "7", "10", "100", "3"])),
            3..=4 => s(self.pick(&["app", "apple", "x", "v1", "open", "", "q2", "deep1"])),
            5 => AttributeValue::B(Blob::new(vec![1, 0xff])),
            6 => AttributeValue::Bool(self.rng.bool()),
            7 => AttributeValue::Null(true),
            8 => AttributeValue::Ss(vec!["x".into(), "y1".into()]),
            9 => AttributeValue::Ns(vec!["1".into(), "5".into()]),
            10 => AttributeValue::L(vec![n(1), s("x")]),
            _ => m([("a", n(1))]),
        }
    }

    /// A value placeholder for comparing with `segs`: mostly a value found there.
    fn value_for(&mut self, segs: &[Seg]) -> String {
        let av = match self.rng.u8(..10) {
            0..=5 => self.sample(segs).unwrap_or_else(|| self.literal()),
            6..=8 => self.literal(),
            _ => self.wild.av(0),
        };
        self.value_of(av)
    }

    fn num_value(&mut self) -> String {
        let v = self.pick(&["0", "1", "2", "3", "5", "-1", "1.5", "10", "100", "0.5"]);
        self.value_of(n(v))
    }

    fn any_path(&mut self) -> Vec<Seg> {
        parse_path(self.pick(PATHS))
    }

    fn path_from(&mut self, list: &[&str]) -> Vec<Seg> {
        parse_path(self.pick(list))
    }

    // ---------------------------------------------------------------- conditions

    fn condition(&mut self, depth: u32) -> String {
        if depth >= 2 || self.chance(45) {
            let p = self.predicate();
            return if self.chance(8) { format!("({p})") } else { p };
        }
        let c = match self.rng.u8(..5) {
            0 => {
                let (kw, ws, c) = (self.kw("NOT"), self.ws(), self.condition(depth + 1));
                format!("{kw} {ws}{c}")
            }
            1 | 2 => {
                let (l, kw, r) = (
                    self.condition(depth + 1),
                    self.kw("AND"),
                    self.condition(depth + 1),
                );
                format!("{l} {kw} {r}")
            }
            _ => {
                let (l, kw, r) = (
                    self.condition(depth + 1),
                    self.kw("OR"),
                    self.condition(depth + 1),
                );
                format!("{l} {kw} {r}")
            }
        };
        if depth > 0 {
            format!("({c})")
        } else {
            c
        }
    }

    fn predicate(&mut self) -> String {
        match self.rng.u8(..12) {
            0..=3 => {
                let op = self.pick(&["=", "<>", "<", "<=", ">", ">="]);
                let ws = self.ws();
                match self.rng.u8(..10) {
                    0..=5 => {
                        let p = self.any_path();
                        let (l, r) = (self.render(&p), self.value_for(&p));
                        format!("{l}{ws}{op} {r}")
                    }
                    6 | 7 => {
                        let p = self.any_path();
                        let (l, v) = (self.render(&p), self.num_value());
                        format!("size({l}){ws}{op} {v}")
                    }
                    8 => {
                        let (p, q) = (self.any_path(), self.any_path());
                        let (l, r) = (self.render(&p), self.render(&q));
                        format!("{l}{ws}{op} {r}")
                    }
                    _ => {
                        let p = self.any_path();
                        let (l, r) = (self.value_for(&p), self.render(&p));
                        format!("{l}{ws}{op} {r}")
                    }
                }
            }
            4 => {
                let p = self.any_path();
                let l = self.render(&p);
                let list: Vec<String> = (0..self.rng.usize(1..5))
                    .map(|_| self.value_for(&p))
                    .collect();
                let kw = self.kw("IN");
                format!("{l} {kw} ({})", list.join(", "))
            }
            5 => {
                let p = self.path_from(NUM_PATHS);
                let l = self.render(&p);
                let mut bounds = [self.sample(&p), self.sample(&p)].map(|v| match v {
                    Some(AttributeValue::N(x)) => x.parse::<f64>().unwrap_or(0.0),
                    _ => f64::from(self.rng.i8(-5..20)),
                });
                if self.chance(90) {
                    bounds.sort_by(f64::total_cmp);
                }
                let [lo, hi] = bounds.map(|b| self.value_of(n(b)));
                let (kw, and) = (self.kw("BETWEEN"), self.kw("AND"));
                format!("{l} {kw} {lo} {and} {hi}")
            }
            6 | 7 => {
                let f = self.pick(&["attribute_exists", "attribute_not_exists"]);
                let p = self.any_path();
                let p = self.render(&p);
                format!("{f}({p})")
            }
            8 => {
                let p = self.any_path();
                let t = match self.sample(&p) {
                    Some(av) if self.chance(60) => type_tag(&av),
                    _ => self.pick(&["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"]),
                };
                let (r, v) = (self.render(&p), self.value_of(s(t)));
                format!("attribute_type({r}, {v})")
            }
            9 => {
                let p = self.path_from(STR_PATHS);
                let prefix = match self.sample(&p) {
                    Some(AttributeValue::S(x)) => {
                        let cut = self.rng.usize(..=x.chars().count());
                        x.chars().take(cut).collect::<String>()
                    }
                    _ => self.pick(&["a", "ap", "q", "v", "x"]).to_owned(),
                };
                let (r, v) = (self.render(&p), self.value_of(s(prefix)));
                format!("begins_with({r},{v})")
            }
            _ => {
                let p = self.any_path();
                let operand = match self.sample(&p) {
                    Some(AttributeValue::Ss(v)) if self.chance(70) => {
                        let x = v[self.rng.usize(..v.len())].clone();
                        self.value_of(s(x))
                    }
                    Some(AttributeValue::Ns(v)) if self.chance(70) => {
                        let x = v[self.rng.usize(..v.len())].clone();
                        self.value_of(n(x))
                    }
                    Some(AttributeValue::L(v)) if !v.is_empty() && self.chance(70) => {
                        let x = v[self.rng.usize(..v.len())].clone();
                        self.value_of(x)
                    }
                    Some(AttributeValue::S(x)) if self.chance(70) => {
                        let chars: Vec<char> = x.chars().collect();
                        let i = self.rng.usize(..=chars.len());
                        let j = self.rng.usize(i..=chars.len());
                        self.value_of(s(chars[i..j].iter().collect::<String>()))
                    }
                    _ if self.chance(20) => {
                        let q = self.any_path();
                        self.render(&q)
                    }
                    _ => self.value_for(&p),
                };
                let r = self.render(&p);
                format!("contains({r}, {operand})")
            }
        }
    }

    // ---------------------------------------------------------------- updates

    /// A path whose top-level attribute no other action of this update uses.
    fn target(&mut self, list: &[&str], new_ok: bool) -> Vec<Seg> {
        for _ in 0..20 {
            let present = |g: &mut Self| {
                let segs = g.path_from(list);
                let item = g.focus.map(|i| &g.items[i].1);
                (item.is_none_or(|it| get_path(it, &segs).is_some())).then_some(segs)
            };
            let segs = if new_ok && self.chance(20) {
                let top = format!("new{}", self.rng.u8(..3));
                if self.chance(30) {
                    vec![Seg::Name("Foo".into()), Seg::Name(top)]
                } else {
                    vec![Seg::Name(top)]
                }
            } else if self.chance(80) {
                match present(self) {
                    Some(segs) => segs,
                    None => continue,
                }
            } else {
                self.path_from(list)
            };
            let Seg::Name(top) = &segs[0] else {
                unreachable!()
            };
            let key_attr = top == "pk" || top == "sk";
            if !self.tops.contains(top) && (!key_attr || self.chance(5)) {
                self.tops.push(top.clone());
                return segs;
            }
        }
        let top = format!("fresh{}", self.tops.len());
        self.tops.push(top.clone());
        vec![Seg::Name(top)]
    }

    fn num_operand(&mut self) -> String {
        if self.chance(50) {
            let p = self.path_from(NUM_PATHS);
            self.render(&p)
        } else {
            self.num_value()
        }
    }

    fn list_operand(&mut self) -> String {
        if self.chance(55) {
            let p = self.path_from(LIST_PATHS);
            self.render(&p)
        } else {
            let len = self.rng.usize(..3);
            let list = (0..len).map(|_| self.literal()).collect();
            self.value_of(AttributeValue::L(list))
        }
    }

    fn set_action(&mut self) -> String {
        let target = self.target(PATHS, true);
        let rhs = match self.rng.u8(..7) {
            0 | 1 => self.value_for(&target),
            2 => {
                let p = self.any_path();
                self.render(&p)
            }
            3 => {
                let (a, b) = (self.num_operand(), self.num_operand());
                let op = if self.chance(50) { "+" } else { "-" };
                format!("{a} {op} {b}")
            }
            4 => {
                let (p, v) = (self.any_path(), self.literal());
                let (p, v) = (self.render(&p), self.value_of(v));
                format!("if_not_exists({p}, {v})")
            }
            5 => {
                let (a, b) = (self.list_operand(), self.list_operand());
                let a = if self.chance(20) {
                    let p = self.path_from(LIST_PATHS);
                    format!("if_not_exists({}, {a})", self.render(&p))
                } else {
                    a
                };
                format!("list_append({a}, {b})")
            }
            _ => {
                let p = self.path_from(NUM_PATHS);
                let (p, d) = (self.render(&p), self.num_value());
                let v = self.num_value();
                format!("if_not_exists({p}, {d}) + {v}")
            }
        };
        let t = self.render(&target);
        format!("{t} = {rhs}")
    }

    fn set_value_like(&mut self, segs: &[Seg]) -> String {
        let av = match (self.sample(segs), self.rng.u8(..10)) {
            (Some(AttributeValue::Ss(_)), 0..=8) => {
                AttributeValue::Ss(vec!["x".into(), format!("w{}", self.rng.u8(..3))])
            }
            (Some(AttributeValue::Ns(_)), 0..=8) => {
                AttributeValue::Ns(vec!["1".into(), self.rng.u8(..9).to_string()])
            }
            (Some(AttributeValue::Bs(_)), 0..=8) => {
                AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![self.rng.u8(..9)])])
            }
            (Some(AttributeValue::N(_)) | None, 0..=8) => n(self.rng.i8(-5..20)),
            _ => self.literal(),
        };
        self.value_of(av)
    }

    fn update(&mut self) -> String {
        let mut sections = vec!["SET", "REMOVE", "ADD", "DELETE"];
        self.rng.shuffle(&mut sections);
        sections.truncate(self.rng.usize(1..=3));
        let mut parts = Vec::new();
        for section in sections {
            let count = self.rng.usize(1..3);
            let actions: Vec<String> = (0..count)
                .map(|_| match section {
                    "SET" => self.set_action(),
                    "REMOVE" => {
                        let p = self.target(PATHS, true);
                        self.render(&p)
                    }
                    "ADD" => {
                        let list: &[&str] = if self.chance(50) {
                            NUM_PATHS
                        } else {
                            SET_PATHS
                        };
                        let p = self.target(list, true);
                        let v = self.set_value_like(&p);
                        format!("{} {v}", self.render(&p))
                    }
                    _ => {
                        let p = self.target(SET_PATHS, false);
                        let v = self.set_value_like(&p);
                        format!("{} {v}", self.render(&p))
                    }
                })
                .collect();
            let kw = self.kw(section);
            let sep = format!(",{}", self.ws());
            parts.push(format!("{kw} {}", actions.join(&sep)));
        }
        parts.join(" ")
    }

    // ---------------------------------------------------------------- keys

    fn seed_key(&mut self) -> (Key, usize) {
        let i = self.rng.usize(..self.items.len());
        (self.items[i].0.clone(), i)
    }

    fn some_key(&mut self, missing_percent: u8) -> (Key, Option<usize>) {
        if self.chance(missing_percent) {
            let keys = missing_keys();
            (keys[self.rng.usize(..keys.len())].clone(), None)
        } else {
            let (k, i) = self.seed_key();
            (k, Some(i))
        }
    }

    fn partition_value(&mut self) -> AttributeValue {
        if self.chance(8) {
            s("p9")
        } else {
            s(format!("p{}", self.rng.u32(..PARTITIONS)))
        }
    }

    fn key_condition(&mut self) -> String {
        let pk = self.name_token("pk");
        let pv = self.partition_value();
        let pv = self.value_of(pv);
        let mut parts = vec![format!("{pk} = {pv}")];
        if self.chance(75) {
            let sk = self.name_token("sk");
            let bound = |g: &mut Self| {
                let v = if g.chance(85) {
                    g.rng.i32(-1..12).to_string()
                } else {
                    g.pick(&["2.5", "0.5", "-0", "9.99"]).to_owned()
                };
                g.value_of(n(v))
            };
            parts.push(match self.rng.u8(..10) {
                0..=5 => {
                    let op = self.pick(&["=", "<", "<=", ">", ">="]);
                    format!("{sk} {op} {}", bound(self))
                }
                6..=8 => {
                    let (mut lo, mut hi) = (self.rng.i32(-1..12), self.rng.i32(-1..12));
                    if lo > hi && self.chance(90) {
                        std::mem::swap(&mut lo, &mut hi);
                    }
                    let (lo, hi) = (self.value_of(n(lo)), self.value_of(n(hi)));
                    let (b, and) = (self.kw("BETWEEN"), self.kw("AND"));
                    format!("{sk} {b} {lo} {and} {hi}")
                }
                _ => format!("begins_with({sk}, {})", bound(self)),
            });
            if self.chance(25) {
                parts.reverse();
            }
        }
        let and = format!(" {} ", self.kw("AND"));
        parts
            .into_iter()
            .map(|p| if self.chance(10) { format!("({p})") } else { p })
            .collect::<Vec<_>>()
            .join(&and)
    }

    /// `pk = :kp` for Query with a generated filter or projection.
    fn fixed_query(&mut self, exprs: Expressions) -> Expressions {
        let pv = self.partition_value();
        exprs.key_condition("pk = :kp").value(":kp", pv)
    }

    // ---------------------------------------------------------------- cases

    fn case(&mut self, kind: ExpressionKind) -> Case {
        match kind {
            ExpressionKind::Condition => {
                let (key, focus) = self.some_key(15);
                self.begin(focus);
                let exprs = Expressions::new().condition(self.condition(0));
                let op = match self.rng.u8(..3) {
                    0 => {
                        let mut item =
                            focus.map_or_else(|| key.attrs(), |i| self.items[i].1.clone());
                        item.insert("b".into(), s("put"));
                        item.insert("put_".into(), n(1));
                        Op::Put { key, item }
                    }
                    1 => Op::Delete { key },
                    _ => {
                        let exprs = exprs.update("SET upd_ = :upd").value(":upd", n(1));
                        return self.finish(kind, Op::Update { key }, exprs);
                    }
                };
                self.finish(kind, op, exprs)
            }
            ExpressionKind::Update => {
                let (key, focus) = self.some_key(5);
                self.begin(focus);
                let mut exprs = Expressions::new().update(self.update());
                if self.chance(20) {
                    exprs = exprs.condition(self.condition(1));
                }
                self.finish(kind, Op::Update { key }, exprs)
            }
            ExpressionKind::Projection => {
                self.begin(None);
                // moto cannot resolve `#name[i]` in a projection: fewer spare placeholders.
                self.spare_placeholders = 5;
                let paths: Vec<String> = (0..self.rng.usize(1..6))
                    .map(|_| {
                        let p = self.target(PATHS, false);
                        self.render(&p)
                    })
                    .collect();
                let exprs = Expressions::new().projection(paths.join(", "));
                match self.rng.u8(..20) {
                    0..=8 => {
                        let (key, _) = self.some_key(10);
                        self.finish(kind, Op::Get { key }, exprs)
                    }
                    9..=14 => {
                        let exprs = self.fixed_query(exprs);
                        let forward = self.rng.bool();
                        self.finish(kind, Op::Query { forward }, exprs)
                    }
                    15..=18 => {
                        let (key, _) = self.some_key(10);
                        self.finish(kind, Op::Get { key }, exprs)
                    }
                    _ => self.finish(kind, Op::Scan, exprs),
                }
            }
            ExpressionKind::KeyCondition => {
                self.begin(None);
                let exprs = Expressions::new().key_condition(self.key_condition());
                let forward = self.rng.bool();
                self.finish(kind, Op::Query { forward }, exprs)
            }
            ExpressionKind::Filter => {
                self.begin(None);
                let exprs = Expressions::new().filter(self.condition(0));
                if self.chance(20) {
                    self.finish(kind, Op::Scan, exprs)
                } else {
                    let exprs = self.fixed_query(exprs);
                    let forward = self.rng.bool();
                    self.finish(kind, Op::Query { forward }, exprs)
                }
            }
            other => panic!("no generator for {other}"),
        }
    }
}

// ---------------------------------------------------------------------------- running

/// What a request did, in comparable form (items canonicalised, see [`canon`]).
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Returned items (reads; ALL_NEW for UpdateItem), then, for writes, the item left.
    Done(Vec<String>),
    /// ConditionalCheckFailed, then the item left.
    CheckFailed(Vec<String>),
    /// Any other error: code and message.
    Rejected(String, String),
}

/// A canonical text of an attribute value: map keys and set members sorted, exact strings.
fn canon(av: &AttributeValue) -> String {
    let hex = |b: &Blob| {
        b.as_ref()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.join(",")
    };
    match av {
        AttributeValue::S(x) => format!("S{x:?}"),
        AttributeValue::N(x) => format!("N{x}"),
        AttributeValue::B(b) => format!("B{}", hex(b)),
        AttributeValue::Bool(b) => format!("{b}"),
        AttributeValue::Null(_) => "null".into(),
        AttributeValue::Ss(v) => format!(
            "SS{{{}}}",
            sorted(v.iter().map(|x| format!("{x:?}")).collect())
        ),
        AttributeValue::Ns(v) => format!("NS{{{}}}", sorted(v.clone())),
        AttributeValue::Bs(v) => format!("BS{{{}}}", sorted(v.iter().map(hex).collect())),
        AttributeValue::L(v) => format!("[{}]", v.iter().map(canon).collect::<Vec<_>>().join(",")),
        AttributeValue::M(map) => canon_item(map),
        other => panic!("unexpected attribute value {other:?}"),
    }
}

fn canon_item(item: &Item) -> String {
    let sorted: BTreeMap<_, _> = item.iter().map(|(k, v)| (k, canon(v))).collect();
    let fields: Vec<String> = sorted.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
    format!("{{{}}}", fields.join(","))
}

enum Failure {
    CheckFailed,
    Rejected(String, String),
}

fn failure<E: ProvideErrorMetadata + Debug>(e: SdkError<E, HttpResponse>) -> Failure {
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let err = se.err();
            let code = err
                .code()
                .map_or_else(|| format!("no error code (HTTP {status})"), str::to_owned);
            if code == "ConditionalCheckFailedException" {
                Failure::CheckFailed
            } else {
                Failure::Rejected(code, err.message().unwrap_or("").to_owned())
            }
        }
        other => panic!("the local stack did not answer properly: {other:?}"),
    }
}

fn opt<T: Clone>(map: &HashMap<String, T>) -> Option<HashMap<String, T>> {
    (!map.is_empty()).then(|| map.clone())
}

struct Table {
    client: Client,
    name: String,
    seed: BTreeMap<Key, Item>,
}

impl Table {
    async fn create(client: Client, seed: BTreeMap<Key, Item>) -> Table {
        let name = unique_name("dax-rt");
        let attr = |n: &str, t| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(t)
                .build()
                .unwrap()
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        client
            .create_table()
            .table_name(&name)
            .attribute_definitions(attr("pk", ScalarAttributeType::S))
            .attribute_definitions(attr("sk", ScalarAttributeType::N))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateTable {name}: {:?}", e.into_service_error()));
        Table { client, name, seed }
    }

    async fn delete(&self) {
        if let Err(e) = self
            .client
            .delete_table()
            .table_name(&self.name)
            .send()
            .await
        {
            eprintln!(
                "DeleteTable {} failed: {:?}",
                self.name,
                e.into_service_error()
            );
        }
    }

    async fn load(&self) {
        for key in self.seed.keys() {
            self.reset(key).await;
        }
    }

    /// Puts the seed item back (or deletes the item, for keys the seed does not have).
    async fn reset(&self, key: &Key) {
        match self.seed.get(key) {
            Some(item) => self
                .client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item.clone()))
                .send()
                .await
                .map(drop)
                .unwrap_or_else(|e| panic!("seed PutItem: {:?}", e.into_service_error())),
            None => self
                .client
                .delete_item()
                .table_name(&self.name)
                .set_key(Some(key.attrs()))
                .send()
                .await
                .map(drop)
                .unwrap_or_else(|e| panic!("seed DeleteItem: {:?}", e.into_service_error())),
        }
    }

    async fn current(&self, key: &Key) -> Vec<String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key.attrs()))
            .consistent_read(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetItem: {:?}", e.into_service_error()));
        out.item().map(canon_item).into_iter().collect()
    }

    /// A write's outcome: what it returned, then the item it left.
    async fn after_write<E: ProvideErrorMetadata + Debug>(
        &self,
        key: &Key,
        result: Result<Option<Item>, SdkError<E, HttpResponse>>,
    ) -> Outcome {
        let outcome = match result {
            Ok(returned) => {
                let mut items: Vec<String> = returned.iter().map(canon_item).collect();
                items.extend(self.current(key).await);
                Outcome::Done(items)
            }
            Err(e) => match failure(e) {
                Failure::CheckFailed => Outcome::CheckFailed(self.current(key).await),
                Failure::Rejected(code, msg) => Outcome::Rejected(code, msg),
            },
        };
        if !matches!(outcome, Outcome::CheckFailed(_)) {
            self.reset(key).await; // a failed check left the item as it was
        }
        outcome
    }

    async fn run(&self, op: &Op, e: &Expressions) -> Outcome {
        let (names, values) = (
            opt(&e.expression_attribute_names),
            opt(&e.expression_attribute_values),
        );
        let read = |r: Result<Vec<Item>, Failure>, sort: bool| match r {
            Ok(items) => {
                let mut items: Vec<String> = items.iter().map(canon_item).collect();
                if sort {
                    items.sort();
                }
                Outcome::Done(items)
            }
            Err(Failure::CheckFailed) => panic!("ConditionalCheckFailed on a read"),
            Err(Failure::Rejected(code, msg)) => Outcome::Rejected(code, msg),
        };
        match op {
            Op::Put { key, item } => {
                self.reset(key).await;
                let r = self
                    .client
                    .put_item()
                    .table_name(&self.name)
                    .set_item(Some(item.clone()))
                    .set_condition_expression(e.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map(|_| None);
                self.after_write(key, r).await
            }
            Op::Delete { key } => {
                self.reset(key).await;
                let r = self
                    .client
                    .delete_item()
                    .table_name(&self.name)
                    .set_key(Some(key.attrs()))
                    .set_condition_expression(e.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map(|_| None);
                self.after_write(key, r).await
            }
            Op::Update { key } => {
                self.reset(key).await;
                let r = self
                    .client
                    .update_item()
                    .table_name(&self.name)
                    .set_key(Some(key.attrs()))
                    .set_update_expression(e.update.clone())
                    .set_condition_expression(e.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await
                    .map(|out| out.attributes);
                self.after_write(key, r).await
            }
            Op::Get { key } => {
                let r = self
                    .client
                    .get_item()
                    .table_name(&self.name)
                    .set_key(Some(key.attrs()))
                    .set_projection_expression(e.projection.clone())
                    .set_expression_attribute_names(names)
                    .consistent_read(true)
                    .send()
                    .await
                    .map(|out| out.item.into_iter().collect())
                    .map_err(failure);
                read(r, false)
            }
            Op::Query { forward } => {
                let r = self
                    .client
                    .query()
                    .table_name(&self.name)
                    .set_key_condition_expression(e.key_condition.clone())
                    .set_filter_expression(e.filter.clone())
                    .set_projection_expression(e.projection.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .scan_index_forward(*forward)
                    .consistent_read(true)
                    .send()
                    .await
                    .map(|out| out.items.unwrap_or_default())
                    .map_err(failure);
                read(r, false)
            }
            Op::Scan => {
                let r = self
                    .client
                    .scan()
                    .table_name(&self.name)
                    .set_filter_expression(e.filter.clone())
                    .set_projection_expression(e.projection.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .consistent_read(true)
                    .send()
                    .await
                    .map(|out| out.items.unwrap_or_default())
                    .map_err(failure);
                read(r, true)
            }
        }
    }
}

// ---------------------------------------------------------------------------- the test

#[derive(Default)]
struct Stats {
    generated: usize,
    kept: usize,
    rejected: usize,
    /// Kept cases whose outcome was a success with at least one item / a check failure.
    non_empty: usize,
    check_failed: usize,
    reasons: BTreeMap<String, usize>,
    /// Cases moto cannot run faithfully, by reason.
    moto_limits: BTreeMap<&'static str, usize>,
    /// Kept cases whose decompiled text needed a moto workaround, by workaround.
    workarounds: BTreeMap<&'static str, usize>,
    /// Cases moto accepted that `compile` rejects for a DynamoDB rule, by rule.
    compile_rejected: BTreeMap<&'static str, usize>,
}

/// Cases skipped because moto cannot run them faithfully.
const MOTO_LIMITS: [&str; 3] = [
    "original projection has `#name[i]`",
    "decompiled projection has `#reserved[i]`",
    "decompiled condition has `NOT NOT`",
];

/// A projection with `#name[i]`: moto leaves the placeholder unresolved (see
/// [`moto_projection`]) and silently projects nothing for that path when the name is used
/// elsewhere, so its result for the original text is wrong.
fn has_indexed_placeholder(e: &Expressions) -> bool {
    e.projection.as_deref().is_some_and(|p| {
        e.expression_attribute_names
            .keys()
            .any(|k| p.contains(&format!("{k}[")))
    })
}

/// moto's condition parser fails (HTTP 500, "Bad NOT expression") on `NOT NOT x`, which
/// DynamoDB's grammar (`NOT condition`) allows and `decompile` prints for `NOT (NOT x)`.
fn moto_cannot_not_not(text: &Expressions, outcome: &Outcome) -> bool {
    let has = |t: &Option<String>| t.as_deref().is_some_and(|t| t.contains("NOT NOT"));
    matches!(outcome, Outcome::Rejected(code, _) if code.starts_with("no error code"))
        && (has(&text.condition) || has(&text.filter))
}

/// Whether `text` uses the placeholder `key` (not just a longer one it prefixes).
fn uses(text: &str, key: &str) -> bool {
    text.match_indices(key).any(|(i, _)| {
        !text[i + key.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// moto's ProjectionExpression parser splits paths on `.` and substitutes whole segments only,
/// so `#n0[1]` is left unresolved (and `#n0` reported unused). Inlines such names (when plain
/// enough for moto) and drops the placeholders nothing else uses; `None` when not needed.
fn moto_projection(e: &Expressions) -> Option<Expressions> {
    let projection = e.projection.as_deref()?;
    let mut keys: Vec<&String> = e
        .expression_attribute_names
        .keys()
        .filter(|k| projection.contains(&format!("{k}[")))
        .collect();
    if keys.is_empty() {
        return None;
    }
    keys.sort();
    let mut out = e.clone();
    let mut text = projection.to_owned();
    for key in keys {
        let name = &e.expression_attribute_names[key];
        if name.contains(['.', ',', '[', ']', ' ', '#', ':']) {
            continue;
        }
        text = text.replace(&format!("{key}["), &format!("{name}["));
    }
    out.projection = Some(text);
    let texts: Vec<String> = ExpressionKind::ALL
        .into_iter()
        .filter_map(|k| out.get(k).map(str::to_owned))
        .collect();
    out.expression_attribute_names
        .retain(|k, _| texts.iter().any(|t| uses(t, k)));
    Some(out)
}

/// moto's key condition parser stays in its BETWEEN state after `sk BETWEEN :a AND :b`, so
/// `sk BETWEEN :a AND :b AND pk = :c` (what `decompile` prints when the sort key comes first)
/// fails; parenthesising the BETWEEN keeps the tree and lets moto parse it.
fn moto_key_condition(e: &Expressions) -> Option<Expressions> {
    let text = e.key_condition.as_deref()?;
    let words: Vec<&str> = text.split(' ').collect();
    if words.len() > 6 && words[1] == "BETWEEN" && words[3] == "AND" && words[5] == "AND" {
        let mut out = e.clone();
        out.key_condition = Some(format!(
            "({}) AND {}",
            words[..5].join(" "),
            words[6..].join(" ")
        ));
        return Some(out);
    }
    None
}

/// The decompiled text, rewritten where moto cannot run it as is (the tree stays the same).
fn moto_workarounds(text: Expressions) -> (Expressions, Vec<&'static str>) {
    let mut applied = Vec::new();
    let mut text = text;
    if let Some(t) = moto_projection(&text) {
        text = t;
        applied.push("projection: names inlined before `[`");
    }
    if let Some(t) = moto_key_condition(&text) {
        text = t;
        applied.push("key condition: BETWEEN parenthesised");
    }
    (text, applied)
}

fn kind_index(kind: ExpressionKind) -> usize {
    ExpressionKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("a kind")
}

/// What one case came to.
enum Verdict {
    /// moto rejected the original text: code and message.
    Rejected(String),
    /// `compile` rejects it for a DynamoDB rule moto does not enforce.
    CompileRejected(&'static str),
    /// moto cannot run the case faithfully (see [`MOTO_LIMITS`]).
    MotoLimit(&'static str),
    /// Same result both ways; which moto workarounds the decompiled text needed.
    Kept {
        outcome: Outcome,
        workarounds: Vec<&'static str>,
    },
    Failed(String),
}

async fn check(table: &Table, number: usize, case: &Case) -> Verdict {
    if has_indexed_placeholder(&case.exprs) {
        return Verdict::MotoLimit(MOTO_LIMITS[0]);
    }
    let original = table.run(&case.op, &case.exprs).await;
    if let Outcome::Rejected(code, msg) = &original {
        return Verdict::Rejected(format!("{code}: {msg}").chars().take(90).collect());
    }
    let fail = |what: String| {
        Verdict::Failed(format!(
            "{} case {number} ({:?}): {what}\n  original: {:?}",
            case.kind, case.op, case.exprs
        ))
    };
    let compiled = match compile(&case.exprs) {
        Ok(c) => c,
        // A DynamoDB rule moto does not enforce (e.g. an operand type it never evaluated
        // because the condition failed first): counted, not failed.
        Err(e) if e.is_dynamodb_rule() => return Verdict::CompileRejected(e.rule()),
        Err(e) => return fail(format!("compile failed: {e} [{}]", e.rule())),
    };
    let text = match decompile(&compiled) {
        Ok(t) => t,
        Err(e) => return fail(format!("decompile failed: {e}")),
    };
    let (text, workarounds) = moto_workarounds(text);
    if !workarounds.is_empty() && compile(&text).as_ref() != Ok(&compiled) {
        // An inlined name that needs its placeholder (a reserved word).
        return Verdict::MotoLimit(MOTO_LIMITS[1]);
    }
    let again = table.run(&case.op, &text).await;
    if again == original {
        Verdict::Kept {
            outcome: original,
            workarounds,
        }
    } else if moto_cannot_not_not(&text, &again) {
        Verdict::MotoLimit(MOTO_LIMITS[2])
    } else {
        fail(format!(
            "results differ\n  decompiled: {text:?}\n  original result:   {original:?}\n  \
             decompiled result: {again:?}"
        ))
    }
}

/// Requests in flight at once (moto answers each after a delay, not for lack of CPU).
const IN_FLIGHT: usize = 8;

/// Runs every case: the reads first, concurrently, on the seeded table; then the writes, in
/// batches whose keys are distinct (so no case sees another's write).
async fn run_all(table: &Table, cases: &[Case]) -> Vec<Verdict> {
    let key = |c: &Case| match &c.op {
        Op::Put { key, .. } | Op::Delete { key } | Op::Update { key } => Some(key.clone()),
        _ => None,
    };
    let mut verdicts: Vec<Option<Verdict>> = cases.iter().map(|_| None).collect();
    let reads: Vec<usize> = (0..cases.len())
        .filter(|&i| key(&cases[i]).is_none())
        .collect();
    let done: Vec<Verdict> =
        futures_util::stream::iter(reads.iter().map(|&i| check(table, i, &cases[i])))
            .buffered(IN_FLIGHT)
            .collect()
            .await;
    for (i, v) in reads.into_iter().zip(done) {
        verdicts[i] = Some(v);
    }
    let mut batch: Vec<(usize, Key)> = Vec::new();
    let writes = (0..cases.len()).filter_map(|i| key(&cases[i]).map(|k| (i, k)));
    let mut pending = writes.peekable();
    while pending.peek().is_some() || !batch.is_empty() {
        let next_fits = pending
            .peek()
            .is_some_and(|(_, k)| batch.len() < IN_FLIGHT && batch.iter().all(|(_, b)| b != k));
        if next_fits {
            batch.extend(pending.next());
            continue;
        }
        let done =
            futures_util::future::join_all(batch.iter().map(|(i, _)| check(table, *i, &cases[*i])))
                .await;
        for ((i, _), v) in batch.drain(..).zip(done) {
            verdicts[i] = Some(v);
        }
    }
    verdicts
        .into_iter()
        .map(|v| v.expect("every case ran"))
        .collect()
}

async fn round_trip(table: &Table) {
    let mut gen = RtGen::new(SEED, &table.seed);
    let cases: Vec<Case> = (0..CASES_PER_KIND)
        .flat_map(|_| ExpressionKind::ALL)
        .map(|kind| gen.case(kind))
        .collect();
    let verdicts = run_all(table, &cases).await;

    let mut stats: [Stats; 5] = Default::default();
    let mut failures = Vec::new();
    for (case, verdict) in cases.iter().zip(verdicts) {
        let st = &mut stats[kind_index(case.kind)];
        st.generated += 1;
        match verdict {
            Verdict::Rejected(reason) => {
                st.rejected += 1;
                *st.reasons.entry(reason).or_default() += 1;
            }
            Verdict::CompileRejected(rule) => *st.compile_rejected.entry(rule).or_default() += 1,
            Verdict::MotoLimit(why) => *st.moto_limits.entry(why).or_default() += 1,
            Verdict::Failed(why) => failures.push(why),
            Verdict::Kept {
                outcome,
                workarounds,
            } => {
                st.kept += 1;
                for w in workarounds {
                    *st.workarounds.entry(w).or_default() += 1;
                }
                match outcome {
                    Outcome::CheckFailed(_) => st.check_failed += 1,
                    Outcome::Done(items) if !items.is_empty() => st.non_empty += 1,
                    _ => {}
                }
            }
        }
    }

    eprintln!(
        "round trip through moto (seed {SEED:#x}, table {}):",
        table.name
    );
    for kind in ExpressionKind::ALL {
        let st = &stats[kind_index(kind)];
        eprintln!(
            "  {:<22} generated {:>4}, kept {:>4} (non-empty {:>3}, check failed {:>3}), rejected by moto {:>4}",
            kind.parameter_name(),
            st.generated,
            st.kept,
            st.non_empty,
            st.check_failed,
            st.rejected
        );
        if !st.moto_limits.is_empty() {
            eprintln!("      skipped, moto limitation: {:?}", st.moto_limits);
        }
        if !st.workarounds.is_empty() {
            eprintln!("      kept with moto workarounds: {:?}", st.workarounds);
        }
        if !st.compile_rejected.is_empty() {
            eprintln!(
                "      moto accepted, compile rejects (DynamoDB rules): {:?}",
                st.compile_rejected
            );
        }
        let mut reasons: Vec<_> = st.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, count) in reasons.iter().take(6) {
            eprintln!("      {count:>4} × {reason}");
        }
    }
    eprintln!("failures: {}", failures.len());
    for f in failures.iter().take(20) {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} cases did not round-trip (first shown above)",
        failures.len()
    );
    let total: usize = stats.iter().map(|s| s.kept).sum();
    assert!(total >= MIN_KEPT_TOTAL, "only {total} cases kept");
    for kind in ExpressionKind::ALL {
        let st = &stats[kind_index(kind)];
        assert!(
            st.kept >= MIN_KEPT_PER_KIND,
            "{kind}: only {} cases kept",
            st.kept
        );
    }
    // Not vacuous: conditions both hold and fail, reads find items.
    let cond = &stats[kind_index(ExpressionKind::Condition)];
    assert!(cond.check_failed >= 10 && cond.kept - cond.check_failed >= 10);
    for kind in [
        ExpressionKind::KeyCondition,
        ExpressionKind::Filter,
        ExpressionKind::Projection,
    ] {
        let st = &stats[kind_index(kind)];
        assert!(st.non_empty * 2 >= st.kept, "{kind}: mostly empty results");
    }
}

#[tokio::test]
async fn decompiled_text_gives_the_same_results_on_moto() {
    let started = Instant::now();
    let stack = Stack::shared();
    let config = stack.sdk_config(stack.a_credentials()).await;
    let client = Client::new(&config);
    let table = Table::create(client, seed()).await;
    let result = AssertUnwindSafe(async {
        table.load().await;
        round_trip(&table).await;
    })
    .catch_unwind()
    .await;
    table.delete().await;
    eprintln!("run time {:.1} s", started.elapsed().as_secs_f64());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
