//! Deterministic generator of expression sets for the DAX expression compiler's tests.
//!
//! [`Gen::case`] makes one request's worth of expressions and placeholders with an intent:
//! valid (compiles everywhere), rejected by the official client's checks, or accepted by the
//! client but breaking one named DynamoDB rule. Valid cases obey every DynamoDB rule we model
//! (no bare reserved words, distinct top-level paths in updates and projections, operand
//! types, limits), so a mutation breaks exactly the rule it names.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use xacct_dax_protocol::expr::{ExpressionKind, Expressions};

/// What a case is meant to exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Valid,
    /// A mutation the official client should reject (the name is the mutation, not a rule).
    Client(&'static str),
    /// One DynamoDB rule (an `ExprError::rule()` name).
    Dynamo(&'static str),
}

#[derive(Debug, Clone)]
pub struct Case {
    pub exprs: Expressions,
    pub intent: Intent,
}

/// Plain attribute names that are not reserved words.
const SAFE: &[&str] = &[
    "a", "b", "c", "pk", "sk", "x1", "attr_2", "Foo", "bar9", "q", "items_", "z",
];
/// Names that need a placeholder (reserved, odd characters) or just use one.
const ODD: &[&str] = &[
    "status",
    "name",
    "size",
    "data",
    "na-me",
    "1st",
    "with space",
    "é ü",
    "日本",
    "a.b",
    "#x",
    ":y",
    "x",
    "pk",
];
const RESERVED: &[&str] = &[
    "status",
    "name",
    "Size",
    "DATA",
    "year",
    "count",
    "comment",
    "value",
    "key",
    "Timestamp",
];
const CMP: &[&str] = &["=", "<>", "<", "<=", ">", ">="];

pub struct Gen {
    rng: fastrand::Rng,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    /// Top-level names used by update actions / projection paths (kept distinct).
    tops: Vec<String>,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
            names: HashMap::new(),
            values: HashMap::new(),
            tops: Vec::new(),
        }
    }

    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.rng.usize(..xs.len())]
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.rng.u8(..100) < percent
    }

    /// Whitespace between tokens: usually one space, sometimes none, tabs or newlines.
    fn ws(&mut self) -> &'static str {
        match self.rng.u8(..20) {
            0 => "",
            1 => "\t",
            2 => "\n ",
            3 => "  ",
            _ => " ",
        }
    }

    /// A keyword in a random case.
    fn kw(&mut self, k: &str) -> String {
        match self.rng.u8(..4) {
            0 => k.to_ascii_lowercase(),
            1 => k
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            _ => k.to_owned(),
        }
    }

    fn func(&mut self, f: &str) -> String {
        if self.chance(15) {
            f.to_ascii_uppercase()
        } else {
            f.to_owned()
        }
    }

    // ------------------------------------------------------------------ values

    fn number(&mut self) -> String {
        let r = &mut self.rng;
        match r.u8(..10) {
            0 => r.i64(..).to_string(),
            1 => r.u64(..).to_string(),
            2 => format!(
                "{}{}",
                if r.bool() { "-" } else { "" },
                "9".repeat(r.usize(19..=38))
            ),
            3 => format!(
                "{}.{:0width$}",
                r.i32(-1000..1000),
                r.u32(..1000),
                width = r.usize(1..4)
            ),
            4 => format!("{}E{}", r.u32(1..999), r.i32(-120..120)),
            5 => format!("{}.{}e{}", r.u8(1..10), r.u16(..), r.i8(-50..50)),
            6 => [
                "0", "-0", "0.0", "0.000", "100", "1.50", "100e0", "1E+2", "-0.5", "007", "1e-7",
                "12.3400",
            ][r.usize(..12)]
            .to_owned(),
            7 => format!("0.{}{}", "0".repeat(r.usize(..10)), r.u32(1..99999)),
            _ => r.i32(-100..100).to_string(),
        }
    }

    fn string(&mut self) -> String {
        let pool = [
            "x",
            "",
            "hello world",
            "é",
            "日本語",
            "a\"b",
            "tab\tnl\n",
            "🙂",
            "#n",
            ":v",
        ];
        let mut s = pool[self.rng.usize(..pool.len())].to_owned();
        if self.chance(30) {
            s.push_str(&self.rng.u32(..).to_string());
        }
        s
    }

    fn blob(&mut self) -> Blob {
        let len = self.rng.usize(..6);
        Blob::new((0..len).map(|_| self.rng.u8(..)).collect::<Vec<_>>())
    }

    pub fn av(&mut self, depth: u32) -> AttributeValue {
        let top = if depth > 2 { 7 } else { 10 };
        match self.rng.u8(..top) {
            0 | 1 => AttributeValue::S(self.string()),
            2 | 3 => AttributeValue::N(self.number()),
            4 => AttributeValue::B(self.blob()),
            5 => AttributeValue::Bool(self.rng.bool()),
            6 => AttributeValue::Null(true),
            7 => AttributeValue::L(
                (0..self.rng.usize(..4))
                    .map(|_| self.av(depth + 1))
                    .collect(),
            ),
            8 => AttributeValue::M(
                (0..self.rng.usize(..4))
                    .map(|i| (format!("{}{i}", self.string()), self.av(depth + 1)))
                    .collect(),
            ),
            _ => self.set(),
        }
    }

    fn set(&mut self) -> AttributeValue {
        let n = self.rng.usize(1..4);
        match self.rng.u8(..3) {
            0 => AttributeValue::Ss((0..n).map(|i| format!("{}{i}", self.string())).collect()),
            1 => AttributeValue::Ns((0..n).map(|_| self.number()).collect()),
            _ => AttributeValue::Bs((0..n).map(|_| self.blob()).collect()),
        }
    }

    /// A fresh `:value` placeholder holding `av`.
    fn value_of(&mut self, av: AttributeValue) -> String {
        let key = format!(":v{}", self.values.len());
        self.values.insert(key.clone(), av);
        key
    }

    /// A `:value`: reuses an existing one a quarter of the time.
    fn value(&mut self) -> String {
        if !self.values.is_empty() && self.chance(25) {
            let mut keys: Vec<_> = self.values.keys().cloned().collect();
            keys.sort();
            return keys[self.rng.usize(..keys.len())].clone();
        }
        let av = self.av(0);
        self.value_of(av)
    }

    // ------------------------------------------------------------------ paths

    fn name_sub(&mut self, name: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == name) {
            return k.clone();
        }
        let key = format!(
            "#{}",
            ["n", "N_", "x"][self.names.len() % 3].to_owned() + &self.names.len().to_string()
        );
        self.names.insert(key.clone(), name.to_owned());
        key
    }

    fn name(&mut self) -> String {
        if self.chance(70) {
            self.pick(SAFE).to_owned()
        } else {
            let n = self.pick(ODD);
            self.name_sub(n)
        }
    }

    fn tail(&mut self, max_depth: usize) -> String {
        let mut s = String::new();
        for _ in 0..self.rng.usize(..max_depth) {
            if self.chance(50) {
                s.push('.');
                s += &self.name();
            } else {
                let max = if self.chance(90) { 20 } else { 100_000 };
                s += &format!("[{}]", self.rng.u32(..max));
            }
        }
        s
    }

    pub fn path(&mut self) -> String {
        let first = self.name();
        first + &self.tail(4)
    }

    /// A path whose top-level attribute no other update action / projection path uses.
    fn fresh_path(&mut self) -> String {
        let top = format!("t{}", self.tops.len());
        self.tops.push(top.clone());
        let first = if self.chance(30) {
            self.name_sub(&top)
        } else {
            top
        };
        first + &self.tail(3)
    }

    // ------------------------------------------------------------------ conditions

    fn operand(&mut self, allow_size: bool) -> String {
        match self.rng.u8(..10) {
            0..=4 => self.path(),
            5..=8 => self.value(),
            _ if allow_size => {
                let (f, ws, p) = (self.func("size"), self.ws(), self.path());
                format!("{f}({ws}{p})")
            }
            _ => self.path(),
        }
    }

    fn maybe_paren(&mut self, s: String) -> String {
        if self.chance(8) {
            format!("({s})")
        } else {
            s
        }
    }

    fn condition(&mut self, depth: u32) -> String {
        let leaf = depth > 2 || self.chance(40);
        let c = if leaf {
            self.predicate()
        } else {
            match self.rng.u8(..5) {
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
            }
        };
        if depth > 0 && !leaf {
            // A compound operand of NOT/AND/OR keeps its shape only in parentheses.
            return format!("({c})");
        }
        self.maybe_paren(c)
    }

    fn predicate(&mut self) -> String {
        match self.rng.u8(..9) {
            0..=2 => {
                let (a, ws, op, b) = (
                    self.operand(true),
                    self.ws(),
                    self.pick(CMP),
                    self.operand(true),
                );
                let a = self.maybe_paren(a);
                format!("{a}{ws}{op} {b}")
            }
            3 => {
                let a = self.operand(true);
                let list: Vec<String> = (0..self.rng.usize(1..6))
                    .map(|_| self.operand(true))
                    .collect();
                let kw = self.kw("IN");
                format!("{a} {kw} ({})", list.join(", "))
            }
            4 => {
                let (a, kw, lo, and, hi) = (
                    self.operand(true),
                    self.kw("BETWEEN"),
                    self.operand(true),
                    self.kw("AND"),
                    self.operand(true),
                );
                format!("{a} {kw} {lo} {and} {hi}")
            }
            5 => {
                let f = ["attribute_exists", "attribute_not_exists"][self.rng.usize(..2)];
                let (f, p) = (self.func(f), self.path());
                format!("{f}({p})")
            }
            6 => {
                let (f, p) = (self.func("attribute_type"), self.path());
                let t = ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"]
                    [self.rng.usize(..10)];
                let v = self.value_of(AttributeValue::S(t.to_owned()));
                format!("{f}({p}, {v})")
            }
            7 => {
                let (f, p, v) = (self.func("begins_with"), self.path(), self.value());
                format!("{f}({p},{v})")
            }
            _ => {
                let (f, p, o) = (self.func("contains"), self.path(), self.operand(true));
                format!("{f}({p}, {o})")
            }
        }
    }

    fn key_condition(&mut self) -> String {
        let pk = if self.chance(50) {
            "pk".to_owned()
        } else {
            self.name_sub("pk")
        };
        let v = self.value();
        let mut s = format!("{pk} = {v}");
        if self.chance(60) {
            let sk = if self.chance(50) {
                "sk".to_owned()
            } else {
                self.name_sub("sk")
            };
            let and = self.kw("AND");
            s = match self.rng.u8(..3) {
                0 => {
                    let (op, v) = (
                        ["=", "<", "<=", ">", ">="][self.rng.usize(..5)],
                        self.value(),
                    );
                    format!("{s} {and} {sk} {op} {v}")
                }
                1 => {
                    let (b, lo, and2, hi) = (
                        self.kw("BETWEEN"),
                        self.value(),
                        self.kw("AND"),
                        self.value(),
                    );
                    format!("{s} {and} {sk} {b} {lo} {and2} {hi}")
                }
                _ => {
                    let (f, v) = (self.func("begins_with"), self.value());
                    format!("{s} {and} {f}({sk}, {v})")
                }
            };
        }
        s
    }

    // ------------------------------------------------------------------ update / projection

    fn typed_value(&mut self, pick: &[u8]) -> String {
        let av = match pick[self.rng.usize(..pick.len())] {
            b'N' => AttributeValue::N(self.number()),
            b'L' => AttributeValue::L((0..self.rng.usize(..3)).map(|_| self.av(1)).collect()),
            _ => self.set(),
        };
        self.value_of(av)
    }

    fn set_operand(&mut self) -> String {
        if self.chance(50) {
            self.path()
        } else {
            self.value()
        }
    }

    fn set_action(&mut self) -> String {
        let p = self.fresh_path();
        let v = match self.rng.u8(..6) {
            0 | 1 => self.set_operand(),
            2 => {
                let a = if self.chance(50) {
                    self.path()
                } else {
                    self.typed_value(b"N")
                };
                let b = if self.chance(50) {
                    self.path()
                } else {
                    self.typed_value(b"N")
                };
                let op = if self.chance(50) { "+" } else { "-" };
                let s = format!("{a} {op} {b}");
                if self.chance(15) {
                    format!("({s})")
                } else {
                    s
                }
            }
            3 => {
                let (f, q, o) = (self.func("if_not_exists"), self.path(), self.set_operand());
                format!("{f}({q}, {o})")
            }
            4 => {
                let arg = |g: &mut Self| {
                    if g.chance(50) {
                        g.path()
                    } else {
                        g.typed_value(b"L")
                    }
                };
                let (f, a, b) = (self.func("list_append"), arg(self), arg(self));
                let (i, q) = (self.func("if_not_exists"), self.path());
                let a = if self.chance(20) {
                    format!("{i}({q}, {a})")
                } else {
                    a
                };
                format!("{f}({a}, {b})")
            }
            _ => {
                let (i, q, o, n) = (
                    self.func("if_not_exists"),
                    self.path(),
                    self.set_operand(),
                    self.typed_value(b"N"),
                );
                format!("{i}({q}, {o}) + {n}")
            }
        };
        format!("{p} = {}", self.maybe_paren_value(v))
    }

    fn maybe_paren_value(&mut self, v: String) -> String {
        if !v.starts_with('(') && self.chance(5) {
            format!("({v})")
        } else {
            v
        }
    }

    fn update(&mut self) -> String {
        let mut sections = vec!["SET", "REMOVE", "ADD", "DELETE"];
        self.rng.shuffle(&mut sections);
        sections.truncate(self.rng.usize(1..=4));
        let mut parts = Vec::new();
        for s in sections {
            let n = self.rng.usize(1..4);
            let actions: Vec<String> = (0..n)
                .map(|_| match s {
                    "SET" => self.set_action(),
                    "REMOVE" => self.fresh_path(),
                    "ADD" => {
                        let (p, v) = (self.fresh_path(), self.typed_value(b"NS"));
                        format!("{p} {v}")
                    }
                    _ => {
                        let (p, v) = (self.fresh_path(), self.typed_value(b"S"));
                        format!("{p} {v}")
                    }
                })
                .collect();
            let kw = self.kw(s);
            let sep = format!(",{}", self.ws());
            parts.push(format!("{kw} {}", actions.join(&sep)));
        }
        parts.join(" ")
    }

    fn projection(&mut self) -> String {
        let paths: Vec<String> = (0..self.rng.usize(1..6))
            .map(|_| self.fresh_path())
            .collect();
        paths.join(", ")
    }

    // ------------------------------------------------------------------ cases

    /// A DynamoDB-valid request with 1–3 expressions.
    pub fn valid(&mut self) -> Expressions {
        self.names.clear();
        self.values.clear();
        self.tops.clear();
        let mut e = Expressions::new();
        let mut kinds = ExpressionKind::ALL.to_vec();
        self.rng.shuffle(&mut kinds);
        kinds.truncate(self.rng.usize(1..=3));
        for k in ExpressionKind::ALL
            .into_iter()
            .filter(|k| kinds.contains(k))
        {
            match k {
                ExpressionKind::Condition => e.condition = Some(self.condition(0)),
                ExpressionKind::KeyCondition => e.key_condition = Some(self.key_condition()),
                ExpressionKind::Filter => e.filter = Some(self.condition(0)),
                ExpressionKind::Update => e.update = Some(self.update()),
                _ => e.projection = Some(self.projection()),
            }
        }
        e.expression_attribute_names = self.names.clone();
        e.expression_attribute_values = self.values.clone();
        e
    }

    /// One case: about half valid, a quarter client rejections, a quarter DynamoDB rules.
    pub fn case(&mut self) -> Case {
        let exprs = self.valid();
        match self.rng.u8(..100) {
            0..=44 => Case {
                exprs,
                intent: Intent::Valid,
            },
            45..=72 => self.client_mutation(exprs),
            _ => self.dynamo_mutation(exprs),
        }
    }

    fn any_kind(&mut self, e: &Expressions) -> ExpressionKind {
        let present: Vec<_> = ExpressionKind::ALL
            .into_iter()
            .filter(|&k| e.get(k).is_some())
            .collect();
        present[self.rng.usize(..present.len())]
    }

    fn text_mut(e: &mut Expressions, k: ExpressionKind) -> &mut String {
        let slot = match k {
            ExpressionKind::Condition => &mut e.condition,
            ExpressionKind::KeyCondition => &mut e.key_condition,
            ExpressionKind::Filter => &mut e.filter,
            ExpressionKind::Update => &mut e.update,
            _ => &mut e.projection,
        };
        slot.get_or_insert_with(String::new)
    }

    fn client_mutation(&mut self, mut e: Expressions) -> Case {
        let k = self.any_kind(&e);
        let mutation = [
            "syntax",
            "syntax",
            "syntax",
            "undefined",
            "unused",
            "key",
            "parens",
            "function",
            "value",
        ][self.rng.usize(..9)];
        let text = Self::text_mut(&mut e, k);
        match mutation {
            "syntax" => {
                let t = text.clone();
                *text = self.break_syntax(&t);
            }
            "undefined" => {
                if let Some(i) = text.find([':', '#']) {
                    let undefined = if text[i..].starts_with(':') {
                        ":undefined_v"
                    } else {
                        "#undefined_n"
                    };
                    let end = text[i + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(text.len(), |j| i + 1 + j);
                    text.replace_range(i..end, undefined);
                } else {
                    text.push_str(if k == ExpressionKind::Projection {
                        ", #undefined_n"
                    } else {
                        " "
                    });
                }
            }
            "unused" => {
                if self.chance(50) {
                    e.expression_attribute_names
                        .insert("#unused_n".into(), "u".into());
                } else {
                    e.expression_attribute_values
                        .insert(":unused_v".into(), AttributeValue::S("u".into()));
                }
            }
            "key" => {
                let bad = ["n", "#a-b", "#", "#é", ":x", "# a"][self.rng.usize(..6)];
                if self.chance(50) || bad.starts_with(':') {
                    e.expression_attribute_names.insert(bad.into(), "x".into());
                } else {
                    let bad = bad.replacen('#', ":", 1).replace(":x", "#x");
                    e.expression_attribute_values
                        .insert(bad, AttributeValue::S("x".into()));
                }
            }
            "parens" => {
                *text = match k {
                    ExpressionKind::Update => {
                        let v = self.value();
                        let p = self.fresh_path();
                        format!("{text}, {p} = (({v}))").replacen(
                            ',',
                            " SET",
                            usize::from(!text.to_ascii_uppercase().contains("SET")),
                        )
                    }
                    ExpressionKind::Projection => format!("(({text}))"),
                    _ => format!("(({text}))"),
                };
                e.expression_attribute_values = self.values.clone();
            }
            "function" => {
                let p = self.path();
                let v = self.value();
                *text = match (k, self.rng.u8(..4)) {
                    (ExpressionKind::Update, 0) => format!("SET {} = size({p})", self.fresh_path()),
                    (ExpressionKind::Update, 1) => format!(
                        "SET {} = list_append(list_append({p}, {v}), {v})",
                        self.fresh_path()
                    ),
                    (ExpressionKind::Update, _) => format!("SET {} = foo({p})", self.fresh_path()),
                    (ExpressionKind::Projection, _) => format!("{p}, size(x)"),
                    (ExpressionKind::KeyCondition, _) => format!("{text} AND foo({p})"),
                    (_, 0) => format!("{text} AND size({p})"),
                    (_, 1) => format!("{text} OR begins_with({p}, {v}) = {v}"),
                    (_, 2) => format!("list_append({p}, {v}) = {v} AND {text}"),
                    (_, _) => format!("NOT Foo_bar({p})"),
                };
                e.expression_attribute_names = self.names.clone();
                e.expression_attribute_values = self.values.clone();
            }
            _ => {
                // An invalid value, used.
                let bad = match self.rng.u8(..4) {
                    0 => AttributeValue::Ss(vec![]),
                    1 => AttributeValue::N("abc".into()),
                    2 => AttributeValue::N(format!("1.{}", "1".repeat(40))),
                    _ => AttributeValue::L(vec![AttributeValue::Ns(vec![])]),
                };
                let v = self.value_of(bad);
                *text = match k {
                    ExpressionKind::Update => format!("SET {} = {v}", self.fresh_path()),
                    ExpressionKind::Projection => format!("{text}, {}", self.fresh_path()),
                    _ => format!("{text} AND a = {v}"),
                };
                if k == ExpressionKind::Projection {
                    e.update = Some(format!("SET {} = {v}", self.fresh_path()));
                }
                e.expression_attribute_values = self.values.clone();
                e.expression_attribute_names = self.names.clone();
            }
        }
        Case {
            exprs: e,
            intent: Intent::Client(mutation),
        }
    }

    /// Deletes, duplicates, inserts or swaps a token-ish piece of the text.
    fn break_syntax(&mut self, t: &str) -> String {
        let chars: Vec<char> = t.chars().collect();
        let i = self.rng.usize(..=chars.len());
        let junk = [
            ")", "(", ",", "=", " AND ", "[", "]", ".", "+", " 01", "\"s\"", "'x'", "@", "é",
            " SET ", " IN ", "<", "_",
        ];
        let mut out: String = match self.rng.u8(..4) {
            0 if !chars.is_empty() => {
                let i = i.min(chars.len() - 1);
                chars[..i].iter().chain(&chars[i + 1..]).collect()
            }
            1 => {
                let j = junk[self.rng.usize(..junk.len())];
                chars[..i].iter().collect::<String>() + j + &chars[i..].iter().collect::<String>()
            }
            2 => format!("{t} {}", junk[self.rng.usize(..junk.len())]),
            _ => {
                let cut = t.find(' ').unwrap_or(t.len());
                t[cut..].trim_start().to_owned()
            }
        };
        if out == t || out.trim().is_empty() {
            out.push_str(" )");
        }
        out
    }

    fn dynamo_mutation(&mut self, mut e: Expressions) -> Case {
        let rules = [
            "reserved-word",
            "empty-expression",
            "empty-name",
            "expression-length",
            "in-operands",
            "path-depth",
            "function-arity",
            "path-required",
            "operand-type",
            "repeated-section",
            "overlapping-paths",
            "key-condition-operator",
            "number-limits",
        ];
        let rule = rules[self.rng.usize(..rules.len())];
        let k = self.any_kind(&e);
        match rule {
            "reserved-word" => {
                let w = self.pick(RESERVED);
                // attribute_exists is not a key-condition operator: use the filter instead.
                let k = if k == ExpressionKind::KeyCondition {
                    ExpressionKind::Filter
                } else {
                    k
                };
                let text = Self::text_mut(&mut e, k);
                match k {
                    ExpressionKind::Update => text.push_str(&format!(" REMOVE {w}")),
                    ExpressionKind::Projection => text.push_str(&format!(", {w}.x")),
                    _ if text.is_empty() => *text = format!("attribute_exists(a.{w})"),
                    _ => *text = format!("{text} AND attribute_exists(a.{w})"),
                }
                if k == ExpressionKind::Update
                    && text.to_ascii_uppercase().matches("REMOVE").count() > 1
                {
                    *text = text.replace(&format!(" REMOVE {w}"), "").replacen(
                        "REMOVE ",
                        &format!("REMOVE {w}, "),
                        1,
                    );
                }
            }
            "empty-expression" => {
                let missing: Vec<_> = ExpressionKind::ALL
                    .into_iter()
                    .filter(|&k| e.get(k).is_none())
                    .collect();
                let k = missing[self.rng.usize(..missing.len())];
                Self::text_mut(&mut e, k).clear();
            }
            "empty-name" => {
                let text = Self::text_mut(&mut e, k);
                let sep = match k {
                    ExpressionKind::Update => " REMOVE #empty",
                    ExpressionKind::Projection => ", #empty",
                    _ => " AND attribute_exists(#empty)",
                };
                if k == ExpressionKind::Update && text.to_ascii_uppercase().contains("REMOVE") {
                    *text = text.replacen("REMOVE ", "REMOVE #empty, ", 1);
                    if !text.contains("#empty") {
                        *text = text.replacen("remove ", "remove #empty, ", 1).replacen(
                            "ReMoVe ",
                            "ReMoVe #empty, ",
                            1,
                        );
                    }
                } else {
                    text.push_str(sep);
                }
                e.expression_attribute_names
                    .insert("#empty".into(), String::new());
            }
            "expression-length" => {
                let pad = " ".repeat(4097 - Self::text_mut(&mut e, k).len().min(4096));
                Self::text_mut(&mut e, k).push_str(&pad);
            }
            "in-operands" => {
                let n = self.rng.usize(101..130);
                let v = self.value_of(AttributeValue::N("1".into()));
                let list = vec![v.as_str(); n].join(",");
                let k = [ExpressionKind::Condition, ExpressionKind::Filter][self.rng.usize(..2)];
                let text = Self::text_mut(&mut e, k);
                *text = if text.is_empty() {
                    format!("a IN ({list})")
                } else {
                    format!("{text} OR a IN ({list})")
                };
            }
            "path-depth" => {
                let deep = "a".to_owned() + &".b".repeat(self.rng.usize(32..40));
                let k = match k {
                    ExpressionKind::KeyCondition | ExpressionKind::Update => {
                        ExpressionKind::Condition
                    }
                    k => k,
                };
                let text = Self::text_mut(&mut e, k);
                match k {
                    ExpressionKind::Update => *text = format!("REMOVE {deep} {text}"),
                    ExpressionKind::Projection => *text = format!("{deep}, {text}"),
                    _ if text.is_empty() => *text = format!("attribute_exists({deep})"),
                    _ => *text = format!("attribute_exists({deep}) AND {text}"),
                }
            }
            "function-arity" | "path-required" => {
                let v = self.value();
                let bad = if rule == "function-arity" {
                    [
                        "attribute_exists(a, b)",
                        "size(a, b) > V",
                        "contains(a)",
                        "begins_with(a, V, V)",
                        "attribute_type(a)",
                    ][self.rng.usize(..5)]
                } else {
                    [
                        "attribute_exists(V)",
                        "attribute_not_exists(V)",
                        "attribute_type(V, V)",
                    ][self.rng.usize(..3)]
                }
                .replace('V', &v);
                let k = [
                    ExpressionKind::Condition,
                    ExpressionKind::Filter,
                    ExpressionKind::Update,
                ][self.rng.usize(..3)];
                let text = Self::text_mut(&mut e, k);
                if k == ExpressionKind::Update {
                    let bad = if rule == "function-arity" {
                        ["if_not_exists(a)", "list_append(a)", "list_append(a, b, c)"]
                            [self.rng.usize(..3)]
                        .to_owned()
                    } else {
                        format!("if_not_exists({v}, a)")
                    };
                    let set = format!("SET zz = {bad}");
                    *text = if text.is_empty() || text.to_ascii_uppercase().contains("SET ") {
                        set
                    } else {
                        format!("{text} {set}")
                    };
                } else {
                    *text = if text.is_empty() {
                        bad
                    } else {
                        format!("{text} AND {bad}")
                    };
                }
            }
            "operand-type" => {
                let s = self.value_of(AttributeValue::S("s".into()));
                let n = self.value_of(AttributeValue::N("1".into()));
                let action = match self.rng.u8(..4) {
                    0 => format!("ADD zz {s}"),
                    1 => format!("DELETE zz {n}"),
                    2 => format!("SET zz = a + {s}, zy = {n}"),
                    _ => format!("SET zz = list_append(a, {s}), zy = {n}"),
                };
                let extra = if action.starts_with("ADD") {
                    format!(" SET zy = {n}")
                } else if action.starts_with("DELETE") {
                    format!(" SET zy = {s}")
                } else {
                    String::new()
                };
                e.update = Some(action + &extra);
            }
            "repeated-section" => {
                let v = self.value();
                e.update = Some(format!("SET zz = {v} REMOVE zy SET zx = {v}"));
            }
            "overlapping-paths" => {
                let top = if self.chance(50) { "zz" } else { "Zz" };
                if self.chance(50) {
                    e.projection = Some(format!("{top}, a, {top}.b[1]"));
                } else {
                    let v = self.value();
                    e.update = Some(format!("SET {top}.b = {v} REMOVE {top}"));
                }
                if top == "Zz" {
                    // Same attribute spelled through a placeholder.
                    let sub = self.name_sub("Zz");
                    let slot = if e.projection.as_deref().is_some_and(|p| p.starts_with("Zz")) {
                        &mut e.projection
                    } else {
                        &mut e.update
                    };
                    if let Some(t) = slot {
                        *t = t.replacen("Zz", &sub, 1);
                    }
                    e.expression_attribute_names = self.names.clone();
                }
            }
            "key-condition-operator" => {
                let v = self.value();
                let bad = [
                    "pk = V OR pk = V",
                    "NOT pk = V",
                    "pk <> V",
                    "pk IN (V)",
                    "pk = V AND contains(sk, V)",
                    "attribute_exists(pk)",
                ][self.rng.usize(..6)]
                .replace('V', &v);
                e.key_condition = Some(bad);
            }
            _ => {
                let n = [
                    "1".repeat(39),
                    "1E+126".into(),
                    "-9.9E+126".into(),
                    "1E-131".into(),
                    "123456789012345678901234567890123456789".into(),
                ][self.rng.usize(..5)]
                .clone();
                let av = if self.chance(50) {
                    AttributeValue::N(n)
                } else {
                    AttributeValue::L(vec![AttributeValue::Ns(vec!["1".into(), n])])
                };
                let v = self.value_of(av);
                let text = Self::text_mut(&mut e, ExpressionKind::Condition);
                *text = if text.is_empty() {
                    format!("a = {v}")
                } else {
                    format!("{text} AND a = {v}")
                };
            }
        }
        e.expression_attribute_values.extend(self.values.clone());
        e.expression_attribute_names.extend(self.names.clone());
        Case {
            exprs: e,
            intent: Intent::Dynamo(rule),
        }
    }
}
