//! DAX tree bytes → expression text with generated placeholders.
//!
//! The value list is decoded first (it follows the tree), then the tree is printed in one
//! pass over the bytes. Conditions get the fewest parentheses that keep their shape (`OR` and
//! `AND` are right-associative, so a left operand of the same operator is parenthesised);
//! a pair is never doubled, so the text never has redundant parentheses.

use std::collections::HashMap;
use std::fmt::Write as _;

use aws_sdk_dynamodb::types::AttributeValue;
use minicbor::data::Type;
use minicbor::Decoder;

use super::compile::{op, ENCODING_VERSION, FUNCTIONS};
use super::values::{self, TAG_LIST_INDEX};
use super::{ExprError, ExpressionKind};

/// Placeholders shared by all expressions of a request.
#[derive(Debug, Default)]
pub(crate) struct Decompiler {
    /// Write names that need no placeholder as they are (see [`needs_no_placeholder`]).
    pub(crate) bare_names: bool,
    names: Vec<String>,
    name_index: HashMap<String, usize>,
    values: Vec<AttributeValue>,
}

impl Decompiler {
    pub(crate) fn into_maps(self) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
        let names = self
            .names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (format!("#n{i}"), n))
            .collect();
        let values = self
            .values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!(":v{i}"), v))
            .collect();
        (names, values)
    }

    /// Decompiles one expression's bytes.
    pub(crate) fn expression(
        &mut self,
        kind: ExpressionKind,
        bytes: &[u8],
    ) -> Result<String, ExprError> {
        let malformed = |reason: String| ExprError::MalformedTree { kind, reason };
        let mut p = Printer {
            dec: self,
            kind,
            d: Decoder::new(bytes),
            local: Vec::new(),
            out: String::new(),
            depth: 0,
            recursion: 0,
        };
        let projection = kind == ExpressionKind::Projection;
        let len = p.array()?;
        if len != if projection { 2 } else { 3 } {
            return Err(malformed(format!(
                "expected an array of {} items, got {len}",
                3 - u64::from(projection)
            )));
        }
        if p.d.u64().map_err(|e| malformed(e.to_string()))? != ENCODING_VERSION {
            return Err(malformed("unsupported encoding version".into()));
        }
        if projection {
            let n = p.array()?;
            for i in 0..n {
                if i > 0 {
                    p.out.push_str(", ");
                }
                p.path()?;
            }
        } else {
            let tree = p.d.position();
            p.d.skip().map_err(|e| malformed(e.to_string()))?;
            let mut local = Vec::new();
            values::for_each_item(&mut p.d, |d| {
                local.push((values::decode(d)?, None));
                Ok(())
            })
            .map_err(|e| malformed(format!("value list: {e}")))?;
            p.local = local;
            let end = p.d.position();
            p.d.set_position(tree);
            if kind == ExpressionKind::Update {
                p.update()?;
            } else {
                p.cond(0)?;
            }
            p.d.set_position(end);
        }
        if p.d.position() != bytes.len() {
            return Err(malformed("trailing bytes".into()));
        }
        Ok(p.out)
    }
}

struct Printer<'a, 'b> {
    dec: &'a mut Decompiler,
    kind: ExpressionKind,
    d: Decoder<'b>,
    /// This expression's value list, and the global placeholder each got once used.
    local: Vec<(AttributeValue, Option<usize>)>,
    out: String,
    /// Tree depth of the node being printed.
    depth: usize,
    /// How deep `cond` and `operand` have recursed.
    recursion: usize,
}

/// Deepest tree `decompile` follows. Every tree [`compile`](super::compile) makes from a 4 KB
/// expression is well within it (about 512 links of an `OR` chain plus 100 levels of
/// nesting); deeper ones come from elsewhere and would otherwise recurse without bound.
pub(crate) const MAX_TREE_DEPTH: usize = 1000;

/// Deepest recursion `decompile` makes (left operands of `AND`/`OR`, operands of functions):
/// every level of it is a parenthesis or a function call in the text, which the parser bounds
/// to [`MAX_NESTING`](super::parser::MAX_NESTING) levels.
pub(crate) const MAX_RECURSION: usize = 2 * super::parser::MAX_NESTING;

/// Binding strength of condition nodes: OR < AND < NOT < everything else.
fn precedence(opcode: u64) -> u8 {
    match opcode {
        7 => 1,
        6 => 2,
        8 => 3,
        _ => 4,
    }
}

fn function_name(opcode: u64) -> Option<&'static str> {
    FUNCTIONS
        .iter()
        .find(|&&(_, code)| code == opcode)
        .map(|&(name, _)| name)
}

impl Printer<'_, '_> {
    fn malformed(&self, reason: impl Into<String>) -> ExprError {
        ExprError::MalformedTree {
            kind: self.kind,
            reason: reason.into(),
        }
    }

    fn array(&mut self) -> Result<u64, ExprError> {
        match self.d.array() {
            Ok(Some(n)) => Ok(n),
            Ok(None) => {
                Err(self.malformed("indefinite-length arrays are not used in expression trees"))
            }
            Err(e) => Err(self.malformed(e.to_string())),
        }
    }

    /// Reads a node's header: (operand count, opcode).
    fn node(&mut self) -> Result<(u64, u64), ExprError> {
        let len = self.array()?;
        if len == 0 {
            return Err(self.malformed("empty node"));
        }
        let opcode = self.d.u64().map_err(|e| self.malformed(e.to_string()))?;
        Ok((len - 1, opcode))
    }

    fn expect_operands(&self, opcode: u64, got: u64, want: u64) -> Result<(), ExprError> {
        if got == want {
            Ok(())
        } else {
            Err(self.malformed(format!("opcode {opcode} takes {want} operands, got {got}")))
        }
    }

    /// One level deeper in the tree, or an error past [`MAX_TREE_DEPTH`]. (On an error the
    /// whole expression fails, so only the success paths step back out.)
    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_TREE_DEPTH {
            return Err(self.malformed(format!("nested deeper than {MAX_TREE_DEPTH} levels")));
        }
        Ok(())
    }

    /// One more level of recursion (a left operand of `AND`/`OR`, an operand), or an error past
    /// [`MAX_RECURSION`].
    fn recurse(&mut self) -> Result<(), ExprError> {
        self.recursion += 1;
        if self.recursion > MAX_RECURSION {
            return Err(self.malformed(format!(
                "operands nested deeper than {MAX_RECURSION} levels"
            )));
        }
        Ok(())
    }

    /// A condition. `NOT`s and the right operands of `AND`/`OR` (what long chains grow) are
    /// followed in a loop, not by recursion.
    fn cond(&mut self, min_precedence: u8) -> Result<(), ExprError> {
        self.recurse()?;
        let (mut min, mut levels, mut closes) = (min_precedence, 0, 0);
        loop {
            self.enter()?;
            levels += 1;
            let (n, opcode) = self.node()?;
            if precedence(opcode) < min {
                self.out.push('(');
                closes += 1;
            }
            match opcode {
                op::AND | op::OR => {
                    self.expect_operands(opcode, n, 2)?;
                    let p = precedence(opcode);
                    self.cond(p + 1)?;
                    self.out
                        .push_str(if opcode == op::AND { " AND " } else { " OR " });
                    min = p;
                }
                op::NOT => {
                    self.expect_operands(opcode, n, 1)?;
                    self.out.push_str("NOT ");
                    min = 3;
                }
                _ => {
                    self.leaf_cond(n, opcode)?;
                    break;
                }
            }
        }
        for _ in 0..closes {
            self.out.push(')');
        }
        self.depth -= levels;
        self.recursion -= 1;
        Ok(())
    }

    /// A condition other than `AND`, `OR` and `NOT`, after its header.
    fn leaf_cond(&mut self, n: u64, opcode: u64) -> Result<(), ExprError> {
        match opcode {
            0..=5 => {
                self.expect_operands(opcode, n, 2)?;
                self.operand()?;
                self.out
                    .push_str([" = ", " <> ", " < ", " >= ", " > ", " <= "][opcode as usize]);
                self.operand()?;
            }
            op::BETWEEN => {
                self.expect_operands(opcode, n, 3)?;
                self.operand()?;
                self.out.push_str(" BETWEEN ");
                self.operand()?;
                self.out.push_str(" AND ");
                self.operand()?;
            }
            op::IN => {
                self.expect_operands(opcode, n, 2)?;
                self.operand()?;
                self.out.push_str(" IN (");
                let count = self.array()?;
                if count == 0 {
                    return Err(self.malformed("IN with no operands"));
                }
                for i in 0..count {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.operand()?;
                }
                self.out.push(')');
            }
            _ => match function_name(opcode) {
                Some(name) => self.call(name, n)?,
                None => return Err(self.malformed(format!("opcode {opcode} is not a condition"))),
            },
        }
        Ok(())
    }

    fn call(&mut self, name: &str, operands: u64) -> Result<(), ExprError> {
        if operands == 0 {
            return Err(self.malformed(format!("{name}() without operands")));
        }
        self.out.push_str(name);
        self.out.push('(');
        for i in 0..operands {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.operand()?;
        }
        self.out.push(')');
        Ok(())
    }

    fn operand(&mut self) -> Result<(), ExprError> {
        self.enter()?;
        self.recurse()?;
        self.operand_node()?;
        self.depth -= 1;
        self.recursion -= 1;
        Ok(())
    }

    fn operand_node(&mut self) -> Result<(), ExprError> {
        let start = self.d.position();
        let (n, opcode) = self.node()?;
        match opcode {
            op::PATH => {
                self.d.set_position(start);
                self.path()
            }
            op::VALUE => {
                self.expect_operands(opcode, n, 1)?;
                self.value()
            }
            _ => match function_name(opcode) {
                Some(name) => self.call(name, n),
                None => Err(self.malformed(format!("opcode {opcode} is not an operand"))),
            },
        }
    }

    /// `[17, i]` after its header: the value's placeholder.
    fn value(&mut self) -> Result<(), ExprError> {
        let i = self.d.u64().map_err(|e| self.malformed(e.to_string()))?;
        let Some((av, global)) = usize::try_from(i).ok().and_then(|i| self.local.get_mut(i)) else {
            return Err(self.malformed(format!("value index {i} is past the value list")));
        };
        let global = *global.get_or_insert_with(|| {
            self.dec.values.push(av.clone());
            self.dec.values.len() - 1
        });
        let _ = write!(self.out, ":v{global}");
        Ok(())
    }

    fn path(&mut self) -> Result<(), ExprError> {
        let (n, opcode) = self.node()?;
        if opcode != op::PATH {
            return Err(self.malformed(format!("expected a document path, got opcode {opcode}")));
        }
        if n == 0 {
            return Err(self.malformed("empty document path"));
        }
        for i in 0..n {
            match self
                .d
                .datatype()
                .map_err(|e| self.malformed(e.to_string()))?
            {
                Type::String => {
                    let name = self.d.str().map_err(|e| self.malformed(e.to_string()))?;
                    if i > 0 {
                        self.out.push('.');
                    }
                    if self.dec.bare_names && needs_no_placeholder(name) {
                        self.out.push_str(name);
                        continue;
                    }
                    let next = self.dec.names.len();
                    let k = *self.dec.name_index.entry(name.to_owned()).or_insert(next);
                    if k == next {
                        self.dec.names.push(name.to_owned());
                    }
                    let _ = write!(self.out, "#n{k}");
                }
                Type::Tag if i > 0 => {
                    let tag = self
                        .d
                        .tag()
                        .map_err(|e| self.malformed(e.to_string()))?
                        .as_u64();
                    if tag != TAG_LIST_INDEX {
                        return Err(
                            self.malformed(format!("unexpected tag {tag} in a document path"))
                        );
                    }
                    let index = values::read_integer(&mut self.d).map_err(|e| self.malformed(e))?;
                    if index.starts_with('-') {
                        return Err(self.malformed("negative list index"));
                    }
                    let _ = write!(self.out, "[{index}]");
                }
                other => {
                    return Err(self.malformed(format!("unexpected {other} in a document path")))
                }
            }
        }
        Ok(())
    }

    fn update(&mut self) -> Result<(), ExprError> {
        let n = self.array()?;
        if n == 0 {
            return Err(self.malformed("update with no actions"));
        }
        let mut section = None;
        for i in 0..n {
            let (operands, opcode) = self.node()?;
            let (keyword, want) = match opcode {
                op::SET => ("SET", 2),
                op::REMOVE => ("REMOVE", 1),
                op::ADD => ("ADD", 2),
                op::DELETE => ("DELETE", 2),
                _ => return Err(self.malformed(format!("opcode {opcode} is not an update action"))),
            };
            self.expect_operands(opcode, operands, want)?;
            if section == Some(opcode) {
                self.out.push_str(", ");
            } else {
                if i > 0 {
                    self.out.push(' ');
                }
                self.out.push_str(keyword);
                self.out.push(' ');
                section = Some(opcode);
            }
            self.path()?;
            match opcode {
                op::SET => {
                    self.out.push_str(" = ");
                    self.set_value()?;
                }
                op::ADD | op::DELETE => {
                    self.out.push(' ');
                    let (n, value_op) = self.node()?;
                    if value_op != op::VALUE {
                        return Err(self
                            .malformed(format!("{keyword} takes a value, got opcode {value_op}")));
                    }
                    self.expect_operands(value_op, n, 1)?;
                    self.value()?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn set_value(&mut self) -> Result<(), ExprError> {
        let start = self.d.position();
        let (n, opcode) = self.node()?;
        if opcode != op::PLUS && opcode != op::MINUS {
            self.d.set_position(start);
            return self.operand();
        }
        self.expect_operands(opcode, n, 2)?;
        self.operand()?;
        self.out
            .push_str(if opcode == op::PLUS { " + " } else { " - " });
        self.operand()
    }
}

/// Whether `name` can stand bare in an expression: an identifier (`[A-Za-z][A-Za-z0-9_]*`)
/// that is neither a reserved word nor a function or keyword of the grammar.
pub(crate) fn needs_no_placeholder(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !super::reserved::is_reserved(name)
        && !FUNCTIONS.iter().any(|(f, _)| f.eq_ignore_ascii_case(name))
}
