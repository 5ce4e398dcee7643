//! Syntax tree → DAX tree bytes (docs/dax-protocol.md §6.1, §6.2), with the checks the official
//! clients make while walking the tree, in the order they make them (so the first error is theirs):
//! placeholders are resolved as they are reached; a function's kind/nesting rules are checked
//! before its operands, its name after them.
//!
//! The tree is written pre-order straight into the output (every array length is known from
//! the syntax tree); `:value`s are numbered by first use within each expression and their
//! AttributeValues appended to the value list.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::ast::{Action, ArithOp, Ast, Call, CmpOp, Cond, Elem, Operand, Path};
use super::values::{self, head, text, MAJOR_ARRAY, MAJOR_TAG, MAJOR_UINT, TAG_LIST_INDEX};
use super::{ExprError, ExpressionKind};

/// DAX tree opcodes (docs/dax-protocol.md §6.2).
pub(crate) mod op {
    pub(crate) const EQ: u64 = 0;
    pub(crate) const NE: u64 = 1;
    pub(crate) const LT: u64 = 2;
    pub(crate) const GE: u64 = 3;
    pub(crate) const GT: u64 = 4;
    pub(crate) const LE: u64 = 5;
    pub(crate) const AND: u64 = 6;
    pub(crate) const OR: u64 = 7;
    pub(crate) const NOT: u64 = 8;
    pub(crate) const BETWEEN: u64 = 9;
    pub(crate) const IN: u64 = 10;
    pub(crate) const VALUE: u64 = 17;
    pub(crate) const PATH: u64 = 18;
    pub(crate) const SET: u64 = 19;
    pub(crate) const ADD: u64 = 20;
    pub(crate) const DELETE: u64 = 21;
    pub(crate) const REMOVE: u64 = 22;
    pub(crate) const PLUS: u64 = 25;
    pub(crate) const MINUS: u64 = 26;
}

/// The functions and their opcodes.
pub(crate) const FUNCTIONS: [(&str, u64); 8] = [
    ("attribute_exists", 11),
    ("attribute_not_exists", 12),
    ("attribute_type", 13),
    ("begins_with", 14),
    ("contains", 15),
    ("size", 16),
    ("if_not_exists", 23),
    ("list_append", 24),
];

/// The expression-language version every compiled expression starts with.
pub(crate) const ENCODING_VERSION: u64 = 1;

pub(crate) fn cmp_opcode(op: CmpOp) -> u64 {
    match op {
        CmpOp::Eq => op::EQ,
        CmpOp::Ne => op::NE,
        CmpOp::Lt => op::LT,
        CmpOp::Le => op::LE,
        CmpOp::Gt => op::GT,
        CmpOp::Ge => op::GE,
    }
}

/// State shared by all expressions of one request: the placeholder maps and which keys any
/// expression has used so far.
pub(crate) struct Request<'r> {
    names: &'r HashMap<String, String>,
    values: &'r HashMap<String, AttributeValue>,
    pub(crate) used_names: Vec<&'r str>,
    pub(crate) used_values: Vec<&'r str>,
}

impl<'r> Request<'r> {
    pub(crate) fn new(
        names: &'r HashMap<String, String>,
        values: &'r HashMap<String, AttributeValue>,
    ) -> Self {
        Request {
            names,
            values,
            used_names: Vec::new(),
            used_values: Vec::new(),
        }
    }

    /// Compiles one expression into `out` (the content of its byte string).
    pub(crate) fn compile(
        &mut self,
        kind: ExpressionKind,
        ast: &Ast<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ExprError> {
        let mut w = Walk {
            req: self,
            kind,
            nesting: 0,
            var_names: Vec::new(),
            var_values: Vec::new(),
            out,
        };
        match ast {
            Ast::Projection(paths) => {
                head(w.out, MAJOR_ARRAY, 2);
                head(w.out, MAJOR_UINT, ENCODING_VERSION);
                head(w.out, MAJOR_ARRAY, paths.len() as u64);
                for p in paths {
                    w.path(p)?;
                }
                return Ok(());
            }
            Ast::Cond(c) => {
                head(w.out, MAJOR_ARRAY, 3);
                head(w.out, MAJOR_UINT, ENCODING_VERSION);
                w.cond(c)?;
            }
            Ast::Update(actions, _) => {
                head(w.out, MAJOR_ARRAY, 3);
                head(w.out, MAJOR_UINT, ENCODING_VERSION);
                head(w.out, MAJOR_ARRAY, actions.len() as u64);
                for a in actions {
                    w.action(a)?;
                }
            }
        }
        head(w.out, MAJOR_ARRAY, w.var_names.len() as u64);
        w.out.extend_from_slice(&w.var_values);
        Ok(())
    }
}

struct Walk<'w, 'r> {
    req: &'w mut Request<'r>,
    kind: ExpressionKind,
    /// Depth inside comparisons, IN, BETWEEN, functions and `+`/`-` (the clients' rule for
    /// which functions may nest).
    nesting: u32,
    /// `:value` keys in first-use order (index = position in the value list).
    var_names: Vec<&'w str>,
    var_values: Vec<u8>,
    out: &'w mut Vec<u8>,
}

impl Walk<'_, '_> {
    fn node(&mut self, opcode: u64, operands: usize) {
        head(self.out, MAJOR_ARRAY, operands as u64 + 1);
        head(self.out, MAJOR_UINT, opcode);
    }

    fn cond(&mut self, c: &Cond<'_>) -> Result<(), ExprError> {
        match c {
            Cond::Cmp(op, a, b) => {
                self.nesting += 1;
                self.node(cmp_opcode(*op), 2);
                self.operand(a)?;
                self.operand(b)?;
                self.nesting -= 1;
            }
            Cond::In(x, list) => {
                self.nesting += 1;
                self.node(op::IN, 2);
                self.operand(x)?;
                head(self.out, MAJOR_ARRAY, list.len() as u64);
                for o in list {
                    self.operand(o)?;
                }
                self.nesting -= 1;
            }
            Cond::Between(x, lo, hi) => {
                self.nesting += 1;
                self.node(op::BETWEEN, 3);
                self.operand(x)?;
                self.operand(lo)?;
                self.operand(hi)?;
                self.nesting -= 1;
            }
            Cond::Call(call) => self.call(call)?,
            Cond::Not(_) | Cond::And(..) | Cond::Or(..) => self.chain(c)?,
        }
        Ok(())
    }

    /// `NOT`, `AND` and `OR`: the right operand (the one a long chain grows) is followed in a
    /// loop, so a chain is no deeper on the stack than one link (the tree is written pre-order,
    /// so the right operand is always written last).
    fn chain(&mut self, mut c: &Cond<'_>) -> Result<(), ExprError> {
        loop {
            c = match c {
                Cond::Not(inner) => {
                    self.node(op::NOT, 1);
                    inner
                }
                Cond::And(a, b) | Cond::Or(a, b) => {
                    self.node(
                        if matches!(c, Cond::And(..)) {
                            op::AND
                        } else {
                            op::OR
                        },
                        2,
                    );
                    self.cond(a)?;
                    b
                }
                leaf => return self.cond(leaf),
            };
        }
    }

    fn action(&mut self, a: &Action<'_>) -> Result<(), ExprError> {
        match a {
            Action::Set(p, v) => {
                self.node(op::SET, 2);
                self.path(p)?;
                self.operand(v)
            }
            Action::Remove(p) => {
                self.node(op::REMOVE, 1);
                self.path(p)
            }
            Action::Add(p, v) | Action::Delete(p, v) => {
                self.node(
                    if matches!(a, Action::Add(..)) {
                        op::ADD
                    } else {
                        op::DELETE
                    },
                    2,
                );
                self.path(p)?;
                self.value(v)
            }
        }
    }

    fn operand(&mut self, o: &Operand<'_>) -> Result<(), ExprError> {
        match o {
            Operand::Path(p) => self.path(p),
            Operand::Value(v) => self.value(v),
            Operand::Call(call) => self.call(call),
            Operand::Arith(a, op, b) => {
                self.nesting += 1;
                self.node(
                    if *op == ArithOp::Plus {
                        op::PLUS
                    } else {
                        op::MINUS
                    },
                    2,
                );
                self.operand(a)?;
                self.operand(b)?;
                self.nesting -= 1;
                Ok(())
            }
        }
    }

    fn call(&mut self, call: &Call<'_>) -> Result<(), ExprError> {
        let kind = self.kind;
        let is = |n: &str| call.name.eq_ignore_ascii_case(n);
        let not_allowed: &[&str] = match kind {
            ExpressionKind::Update => &[
                "attribute_exists",
                "attribute_not_exists",
                "attribute_type",
                "begins_with",
                "contains",
                "size",
            ],
            ExpressionKind::Condition | ExpressionKind::Filter => &["if_not_exists", "list_append"],
            ExpressionKind::KeyCondition | ExpressionKind::Projection => &[],
        };
        if not_allowed.iter().any(|n| is(n)) {
            return Err(ExprError::FunctionNotAllowed {
                kind,
                function: call.name.to_owned(),
            });
        }
        let nested = |allowed: &'static str| ExprError::NestedFunction {
            kind,
            function: call.name.to_ascii_lowercase(),
            allowed,
        };
        match kind {
            ExpressionKind::Update if self.nesting > 0 && !is("if_not_exists") => {
                return Err(nested("if_not_exists"));
            }
            ExpressionKind::Condition | ExpressionKind::Filter => {
                if self.nesting == 0 && is("size") {
                    return Err(ExprError::FunctionMisused {
                        kind,
                        function: call.name.to_owned(),
                    });
                }
                if self.nesting > 0 && !is("size") {
                    return Err(nested("size"));
                }
            }
            _ => {}
        }
        let opcode = FUNCTIONS.iter().find(|(n, _)| is(n)).map(|&(_, code)| code);
        self.nesting += 1;
        self.node(opcode.unwrap_or(0), call.args.len());
        for a in &call.args {
            self.operand(a)?;
        }
        self.nesting -= 1;
        match opcode {
            Some(_) => Ok(()),
            None => Err(ExprError::UnknownFunction {
                kind,
                function: call.name.to_ascii_lowercase(),
            }),
        }
    }

    fn path(&mut self, p: &Path<'_>) -> Result<(), ExprError> {
        self.node(op::PATH, p.elems.len());
        for e in &p.elems {
            match *e {
                Elem::Name(n) => text(self.out, n),
                Elem::NameSub(n) => {
                    let Some((key, name)) = self.req.names.get_key_value(n) else {
                        return Err(ExprError::UndefinedName {
                            kind: self.kind,
                            name: n.to_owned(),
                        });
                    };
                    if !self.req.used_names.contains(&key.as_str()) {
                        self.req.used_names.push(key);
                    }
                    text(self.out, name);
                }
                Elem::Index(digits) => {
                    head(self.out, MAJOR_TAG, TAG_LIST_INDEX);
                    values::int_digits(self.out, false, digits);
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, v: &str) -> Result<(), ExprError> {
        let Some((key, av)) = self.req.values.get_key_value(v) else {
            return Err(ExprError::UndefinedValue {
                kind: self.kind,
                name: v.to_owned(),
            });
        };
        if !self.req.used_values.contains(&key.as_str()) {
            self.req.used_values.push(key);
        }
        let index = match self.var_names.iter().position(|&n| n == key) {
            Some(i) => i,
            None => {
                values::encode(&mut self.var_values, av).map_err(|reason| {
                    ExprError::InvalidValue {
                        key: key.clone(),
                        reason,
                    }
                })?;
                self.var_names.push(key);
                self.var_names.len() - 1
            }
        };
        self.node(op::VALUE, 1);
        head(self.out, MAJOR_UINT, index as u64);
        Ok(())
    }
}
