//! The DynamoDB expression language, compiled the way DAX clients compile it.
//!
//! A DAX cluster never sees expression text: the client parses every ConditionExpression,
//! KeyConditionExpression, FilterExpression, UpdateExpression and ProjectionExpression,
//! substitutes the `#name` placeholders and sends a CBOR tree with numbered opcodes in which
//! each `:value` is an index into a value list carried next to the tree (docs/dax-protocol.md
//! §6). [`compile`] does that, byte for byte as the official Python client
//! (amazon-dax-client 2.1.0) does, and also rejects what DynamoDB would reject but the client
//! lets through (reserved words used bare, DynamoDB's limits, …). [`decompile`] turns compiled
//! trees back into text with generated placeholders, for a gateway that forwards DAX requests
//! to a DynamoDB endpoint.
//!
//! ```
//! use xacct_dax_protocol::expr::{compile, decompile, Expressions};
//!
//! let exprs = Expressions::new()
//!     .update("SET #c = #c + :one, tags = list_append(tags, :t)")
//!     .condition("attribute_exists(pk) AND #c < :max")
//!     .name("#c", "count")
//!     .value(":one", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
//!     .value(":max", aws_sdk_dynamodb::types::AttributeValue::N("10".into()))
//!     .value(":t", aws_sdk_dynamodb::types::AttributeValue::L(vec![]));
//! let compiled = compile(&exprs)?;
//! let update = compiled.update.as_deref().expect("an update was given");
//! assert_eq!(update[..2], [0x83, 0x01]); // [1, TREE, VALUES]
//!
//! // And back: placeholders are generated, the tree is the same.
//! let text = decompile(&compiled)?;
//! assert_eq!(text.update.as_deref(), Some("SET #n1 = #n1 + :v1, #n2 = list_append(#n2, :v2)"));
//! assert_eq!(compile(&text)?, compiled);
//! # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
//! ```
//!
//! # Checks
//!
//! [`compile`] fails with an [`ExprError`] whose [`rule`](ExprError::rule) names the rule. The
//! official client's checks come first, in its order (so the first error is the one it would
//! raise): placeholder keys, then for each expression (condition, key condition, filter,
//! update, projection) syntax and then placeholders and function rules in source order, then
//! names and values no expression used. DynamoDB's own rules come after, with two exceptions
//! that bound the work any input can cause: an expression longer than 64 KB (16 times
//! DynamoDB's 4 KB limit) fails `expression-length` before it is parsed, and the parser
//! follows at most 100 levels of parentheses, `NOT`s and function calls (`nesting-depth`).
//! [`decompile`] bounds the trees it reads the same way (`malformed-tree`), so no input, text
//! or bytes, can overflow the stack.

mod ast;
mod compile;
mod decompile;
mod error;
mod lexer;
mod parser;
mod reserved;
mod rules;
mod values;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;

pub use error::{ExprError, ExpressionKind, PlaceholderMap};

/// The expressions of one DynamoDB request and their placeholder maps, as text.
///
/// Build one with [`Expressions::new`] and the chained setters, or set the public fields.
/// An expression left `None` is absent.
///
/// ```
/// use xacct_dax_protocol::expr::Expressions;
///
/// let exprs = Expressions::new().projection("pk, #d.items[0]").name("#d", "data");
/// assert_eq!(exprs.projection.as_deref(), Some("pk, #d.items[0]"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Expressions {
    /// `ConditionExpression`.
    pub condition: Option<String>,
    /// `KeyConditionExpression`.
    pub key_condition: Option<String>,
    /// `FilterExpression`.
    pub filter: Option<String>,
    /// `UpdateExpression`.
    pub update: Option<String>,
    /// `ProjectionExpression`.
    pub projection: Option<String>,
    /// `ExpressionAttributeNames`: `#name` → attribute name.
    pub expression_attribute_names: HashMap<String, String>,
    /// `ExpressionAttributeValues`: `:value` → value.
    pub expression_attribute_values: HashMap<String, AttributeValue>,
}

impl Expressions {
    /// No expressions, no placeholders.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `ConditionExpression`.
    pub fn condition(mut self, text: impl Into<String>) -> Self {
        self.condition = Some(text.into());
        self
    }

    /// Sets the `KeyConditionExpression`.
    pub fn key_condition(mut self, text: impl Into<String>) -> Self {
        self.key_condition = Some(text.into());
        self
    }

    /// Sets the `FilterExpression`.
    pub fn filter(mut self, text: impl Into<String>) -> Self {
        self.filter = Some(text.into());
        self
    }

    /// Sets the `UpdateExpression`.
    pub fn update(mut self, text: impl Into<String>) -> Self {
        self.update = Some(text.into());
        self
    }

    /// Sets the `ProjectionExpression`.
    pub fn projection(mut self, text: impl Into<String>) -> Self {
        self.projection = Some(text.into());
        self
    }

    /// Adds an `ExpressionAttributeNames` entry (`placeholder` includes its `#`).
    pub fn name(mut self, placeholder: impl Into<String>, name: impl Into<String>) -> Self {
        self.expression_attribute_names
            .insert(placeholder.into(), name.into());
        self
    }

    /// Adds an `ExpressionAttributeValues` entry (`placeholder` includes its `:`).
    pub fn value(mut self, placeholder: impl Into<String>, value: AttributeValue) -> Self {
        self.expression_attribute_values
            .insert(placeholder.into(), value);
        self
    }

    /// The text of one expression.
    pub fn get(&self, kind: ExpressionKind) -> Option<&str> {
        match kind {
            ExpressionKind::Condition => self.condition.as_deref(),
            ExpressionKind::KeyCondition => self.key_condition.as_deref(),
            ExpressionKind::Filter => self.filter.as_deref(),
            ExpressionKind::Update => self.update.as_deref(),
            ExpressionKind::Projection => self.projection.as_deref(),
        }
    }

    fn slot(&mut self, kind: ExpressionKind) -> &mut Option<String> {
        match kind {
            ExpressionKind::Condition => &mut self.condition,
            ExpressionKind::KeyCondition => &mut self.key_condition,
            ExpressionKind::Filter => &mut self.filter,
            ExpressionKind::Update => &mut self.update,
            ExpressionKind::Projection => &mut self.projection,
        }
    }
}

/// Compiled expressions: each is the content of the byte string a DAX request carries for it
/// (kwargs keys 4, 12, 10, 8 and 0, docs/dax-protocol.md §4.2).
///
/// Condition, key condition, filter and update are `[1, TREE, [AV…]]`: the values of the
/// `:placeholders` travel inside each expression, numbered by first use within it.
/// Projection is `[1, [PATH…]]`.
///
/// ```
/// use xacct_dax_protocol::expr::{compile, Expressions};
///
/// let compiled = compile(&Expressions::new().projection("a, b.c"))?;
/// assert_eq!(compiled.projection.as_deref(), Some(&[0x82, 0x01, 0x82, 0x82, 0x12, 0x61, b'a',
///     0x83, 0x12, 0x61, b'b', 0x61, b'c'][..]));
/// # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompiledExpressions {
    /// Compiled `ConditionExpression`.
    pub condition: Option<Bytes>,
    /// Compiled `KeyConditionExpression`.
    pub key_condition: Option<Bytes>,
    /// Compiled `FilterExpression`.
    pub filter: Option<Bytes>,
    /// Compiled `UpdateExpression`.
    pub update: Option<Bytes>,
    /// Compiled `ProjectionExpression`.
    pub projection: Option<Bytes>,
}

impl CompiledExpressions {
    /// No compiled expressions.
    ///
    /// ```
    /// use xacct_dax_protocol::expr::{CompiledExpressions, ExpressionKind};
    ///
    /// assert!(CompiledExpressions::new().get(ExpressionKind::Update).is_none());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one compiled expression, builder style (for the codec's encoders and for tests).
    ///
    /// ```
    /// use xacct_dax_protocol::expr::{CompiledExpressions, ExpressionKind};
    ///
    /// let e = CompiledExpressions::new().with(ExpressionKind::Condition, vec![0x83, 0x01]);
    /// assert_eq!(e.condition.as_deref(), Some(&[0x83, 0x01][..]));
    /// ```
    pub fn with(mut self, kind: ExpressionKind, compiled: impl Into<Bytes>) -> Self {
        self.set(kind, Some(compiled.into()));
        self
    }

    /// The paths of the compiled projection, if there is one: what a reply's projected items
    /// are read or written with.
    ///
    /// ```
    /// use xacct_dax_protocol::expr::{compile, CompiledExpressions, Expressions};
    ///
    /// let compiled = compile(&Expressions::new().projection("a, b.c"))?;
    /// assert!(compiled.projection_paths()?.is_some());
    /// assert!(CompiledExpressions::new().projection_paths()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn projection_paths(
        &self,
    ) -> Result<Option<crate::codec::ProjectionPaths>, crate::codec::CodecError> {
        self.projection
            .as_deref()
            .map(crate::codec::ProjectionPaths::from_compiled)
            .transpose()
    }

    /// One compiled expression.
    pub fn get(&self, kind: ExpressionKind) -> Option<&Bytes> {
        match kind {
            ExpressionKind::Condition => self.condition.as_ref(),
            ExpressionKind::KeyCondition => self.key_condition.as_ref(),
            ExpressionKind::Filter => self.filter.as_ref(),
            ExpressionKind::Update => self.update.as_ref(),
            ExpressionKind::Projection => self.projection.as_ref(),
        }
    }

    /// Sets one compiled expression (e.g. from the kwargs of a DAX request).
    pub fn set(&mut self, kind: ExpressionKind, compiled: Option<Bytes>) {
        *match kind {
            ExpressionKind::Condition => &mut self.condition,
            ExpressionKind::KeyCondition => &mut self.key_condition,
            ExpressionKind::Filter => &mut self.filter,
            ExpressionKind::Update => &mut self.update,
            ExpressionKind::Projection => &mut self.projection,
        } = compiled;
    }
}

/// Compiles the expressions of one request into DAX trees.
///
/// Every `#name` and `:value` used must be defined and every one defined must be used by some
/// expression of the request. An expression given as `""` is rejected (DynamoDB's rule; the
/// Python client drops it silently).
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::expr::{compile, Expressions};
///
/// let compiled = compile(
///     &Expressions::new().condition("a = :x").value(":x", AttributeValue::S("x".into())),
/// )?;
/// // [1, [0, [18, "a"], [17, 0]], ["x"]]
/// assert_eq!(compiled.condition.as_deref(), Some(&[0x83, 0x01, 0x83, 0x00, 0x82, 0x12, 0x61,
///     b'a', 0x82, 0x11, 0x00, 0x81, 0x61, b'x'][..]));
/// # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
/// ```
pub fn compile(exprs: &Expressions) -> Result<CompiledExpressions, ExprError> {
    let names = &exprs.expression_attribute_names;
    let values = &exprs.expression_attribute_values;
    check_keys(names.keys(), '#', PlaceholderMap::Names)?;
    check_keys(values.keys(), ':', PlaceholderMap::Values)?;

    let mut request = compile::Request::new(names, values);
    let mut compiled = CompiledExpressions::default();
    let mut parsed = Vec::with_capacity(2);
    for kind in ExpressionKind::ALL {
        let Some(text) = exprs.get(kind).filter(|t| !t.is_empty()) else {
            continue;
        };
        // Far past DynamoDB's 4 KB limit, that limit comes before parsing, so the parser's work
        // (and the tree it builds) stays bounded whatever the caller sends. Up to
        // MAX_PARSED_BYTES the official client's own checks (which parse) still come first,
        // as everywhere else, and the 4 KB rule is reported after them.
        if text.len() > rules::MAX_PARSED_BYTES {
            return Err(ExprError::ExpressionTooLong {
                kind,
                size: text.len(),
            });
        }
        let ast = parser::parse(text, kind)?;
        let mut out = Vec::with_capacity(text.len() + 16);
        request.compile(kind, &ast, &mut out)?;
        compiled.set(kind, Some(Bytes::from(out)));
        parsed.push((kind, ast));
    }
    unused(names.keys(), &request.used_names, PlaceholderMap::Names)?;
    unused(values.keys(), &request.used_values, PlaceholderMap::Values)?;

    let texts: Vec<_> = ExpressionKind::ALL
        .into_iter()
        .filter_map(|k| exprs.get(k).map(|t| (k, t)))
        .collect();
    rules::check_inputs(&texts, names)?;
    for (kind, ast) in &parsed {
        rules::check_ast(*kind, ast, names, values)?;
    }
    rules::check_values(values)?;
    Ok(compiled)
}

/// Turns compiled expressions back into text, with generated placeholders: `#n0`, `#n1`, … for
/// every attribute name (one per distinct name, shared by all expressions) and `:v0`, `:v1`, …
/// for every value (numbered by first use across the expressions, in the order condition, key
/// condition, filter, update, projection).
///
/// [`compile`] of the result gives back the same bytes for any tree the official Python client
/// (or [`compile`]) produced. Trees from other clients compile back to equivalent trees
/// (values deduplicated per expression, numbers in Python's form).
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::expr::{compile, decompile, Expressions};
///
/// let compiled = compile(
///     &Expressions::new()
///         .condition("size(#l) > :n OR NOT begins_with(a.b[2], :p)")
///         .name("#l", "list")
///         .value(":n", AttributeValue::N("3".into()))
///         .value(":p", AttributeValue::S("x".into())),
/// )?;
/// let text = decompile(&compiled)?;
/// assert_eq!(
///     text.condition.as_deref(),
///     Some("size(#n0) > :v0 OR NOT begins_with(#n1.#n2[2], :v1)")
/// );
/// assert_eq!(text.expression_attribute_names["#n1"], "a");
/// assert_eq!(text.expression_attribute_values[":v1"], AttributeValue::S("x".into()));
/// # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
/// ```
pub fn decompile(compiled: &CompiledExpressions) -> Result<Expressions, ExprError> {
    decompile_into(compiled, decompile::Decompiler::default())
}

/// Like [`decompile`], but an attribute name that needs no placeholder (an identifier that is not
/// a reserved word, a keyword or a function name) is written as it is; only the others get `#n`
/// placeholders. The text is shorter and easier to read in logs, and it avoids forms some
/// DynamoDB emulators mishandle (moto rejects `#n0[1]` in a projection). A DAX gateway forwards
/// this form.
///
/// ```
/// use xacct_dax_protocol::expr::{compile, decompile_bare, Expressions};
///
/// let compiled = compile(&Expressions::new().projection("tags[0], #s.x").name("#s", "status"))?;
/// let text = decompile_bare(&compiled)?;
/// assert_eq!(text.projection.as_deref(), Some("tags[0], #n0.x")); // STATUS is reserved
/// assert_eq!(text.expression_attribute_names["#n0"], "status");
/// assert_eq!(compile(&text)?, compiled);
/// # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
/// ```
pub fn decompile_bare(compiled: &CompiledExpressions) -> Result<Expressions, ExprError> {
    let mut d = decompile::Decompiler::default();
    d.bare_names = true;
    decompile_into(compiled, d)
}

fn decompile_into(
    compiled: &CompiledExpressions,
    mut d: decompile::Decompiler,
) -> Result<Expressions, ExprError> {
    let mut exprs = Expressions::new();
    for kind in ExpressionKind::ALL {
        if let Some(bytes) = compiled.get(kind) {
            *exprs.slot(kind) = Some(d.expression(kind, bytes)?);
        }
    }
    (
        exprs.expression_attribute_names,
        exprs.expression_attribute_values,
    ) = d.into_maps();
    Ok(exprs)
}

/// The official clients' key check: `^[#:][A-Za-z0-9_]+$` with the map's prefix. Reports the
/// smallest bad key, so the error does not depend on hash order.
fn check_keys<'k>(
    keys: impl Iterator<Item = &'k String>,
    prefix: char,
    map: PlaceholderMap,
) -> Result<(), ExprError> {
    let valid = |k: &str| {
        k.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    };
    match keys.filter(|k| !valid(k)).min() {
        Some(key) => Err(ExprError::InvalidPlaceholderKey {
            map,
            key: key.clone(),
        }),
        None => Ok(()),
    }
}

fn unused<'k>(
    keys: impl ExactSizeIterator<Item = &'k String>,
    used: &[&str],
    map: PlaceholderMap,
) -> Result<(), ExprError> {
    if keys.len() == used.len() {
        return Ok(());
    }
    let mut unused: Vec<String> = keys
        .filter(|k| !used.contains(&k.as_str()))
        .cloned()
        .collect();
    unused.sort_unstable();
    Err(ExprError::Unused { map, keys: unused })
}
