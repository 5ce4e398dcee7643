//! Rules DynamoDB enforces that the official DAX clients do not (a DAX cluster forwards such
//! requests and DynamoDB rejects them; we reject them before sending anything).
//!
//! Each rule's oracle is DynamoDB's documentation:
//!
//! | rule | source |
//! | --- | --- |
//! | `empty-expression`, `empty-name` | API reference of each operation: expressions and names have length ≥ 1 |
//! | `expression-length` (4 KB), `in-operands` (100), `path-depth` (32) | Developer Guide, "Service, account, and table quotas", *Expression parameters* |
//! | `reserved-word` | Developer Guide, "Reserved words in DynamoDB" ([`super::reserved`]) |
//! | `function-arity`, `path-required`, `operand-type` | Developer Guide, "Condition and filter expressions, operators, and functions" and "Update expressions" (function signatures; `+`/`-` take numbers, `list_append` lists, `ADD` numbers or sets, `DELETE` sets) |
//! | `repeated-section`, `overlapping-paths` | Developer Guide, "Update expressions" (each section once; one action per path) and "Projection expressions" |
//! | `key-condition-operator` | API reference, Query `KeyConditionExpression` (only `=`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `begins_with`, `AND`) |
//! | `nesting-depth` (100 levels of parentheses, `NOT`s, function calls) | none: this project's bound on the parser's recursion (DynamoDB documents only the 4 KB length; an expression over 64 KB fails `expression-length` before parsing) |
//! | `number-limits` | Developer Guide, "Supported data types: Number" (38 digits, 1E-130 ≤ magnitude < 1E+126) |
//!
//! Messages use DynamoDB's wording as DynamoDB (and moto, which mirrors it) reports it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::ast::{Action, ArithOp, Ast, Call, Cond, Elem, Operand, Path, Section};
use super::reserved::is_reserved;
use super::values::parse_number;
use super::{ExprError, ExpressionKind};

/// Longest expression DynamoDB accepts, in bytes.
pub(crate) const MAX_EXPRESSION_BYTES: usize = 4096;
/// Longer expressions fail `expression-length` before they are parsed (see `compile`): up to
/// this length they are parsed first, so that the official client's checks report first.
pub(crate) const MAX_PARSED_BYTES: usize = 16 * MAX_EXPRESSION_BYTES;
/// Most operands on the right of `IN`.
pub(crate) const MAX_IN_OPERANDS: usize = 100;
/// Deepest document path.
pub(crate) const MAX_PATH_DEPTH: usize = 32;

/// Checks the placeholder maps and the given expression texts (before parsing matters).
pub(crate) fn check_inputs(
    texts: &[(ExpressionKind, &str)],
    names: &HashMap<String, String>,
) -> Result<(), ExprError> {
    if let Some(key) = sorted_keys(names)
        .into_iter()
        .find(|k| names[*k].is_empty())
    {
        return Err(ExprError::EmptyName { key: key.clone() });
    }
    for &(kind, text) in texts {
        if text.is_empty() {
            return Err(ExprError::EmptyExpression { kind });
        }
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(ExprError::ExpressionTooLong {
                kind,
                size: text.len(),
            });
        }
    }
    Ok(())
}

/// Checks one parsed expression.
pub(crate) fn check_ast(
    kind: ExpressionKind,
    ast: &Ast<'_>,
    names: &HashMap<String, String>,
    values: &HashMap<String, AttributeValue>,
) -> Result<(), ExprError> {
    let r = Rules {
        kind,
        names,
        values,
    };
    match ast {
        Ast::Cond(c) => r.cond(c),
        Ast::Update(actions, sections) => {
            for (i, s) in sections.iter().enumerate() {
                if sections[..i].contains(s) {
                    return Err(ExprError::RepeatedSection {
                        section: s.keyword(),
                    });
                }
            }
            for a in actions {
                r.action(a)?;
            }
            r.no_overlaps(actions.iter().map(Action::path))
        }
        Ast::Projection(paths) => {
            for p in paths {
                r.path(p)?;
            }
            r.no_overlaps(paths.iter())
        }
    }
}

/// Checks every number in the values map.
pub(crate) fn check_values(values: &HashMap<String, AttributeValue>) -> Result<(), ExprError> {
    for key in sorted_keys(values) {
        if let Some(reason) = number_problem(&values[key]) {
            return Err(ExprError::NumberLimit {
                key: key.clone(),
                reason,
            });
        }
    }
    Ok(())
}

fn sorted_keys<V>(map: &HashMap<String, V>) -> Vec<&String> {
    let mut keys: Vec<_> = map.keys().collect();
    keys.sort_unstable();
    keys
}

/// DynamoDB's short type name of an AttributeValue.
pub(crate) fn type_name(av: &AttributeValue) -> &'static str {
    match av {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        AttributeValue::M(_) => "M",
        AttributeValue::L(_) => "L",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::Bool(_) => "BOOL",
        _ => "UNKNOWN",
    }
}

fn number_problem(av: &AttributeValue) -> Option<&'static str> {
    match av {
        AttributeValue::N(n) => number_limit(n),
        AttributeValue::Ns(ns) => ns.iter().find_map(|n| number_limit(n)),
        AttributeValue::L(l) => l.iter().find_map(number_problem),
        AttributeValue::M(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort_unstable();
            keys.into_iter().find_map(|k| number_problem(&m[k]))
        }
        _ => None,
    }
}

/// DynamoDB's limits on a number: 38 significant digits, magnitude in [1E-130, 1E+126).
fn number_limit(n: &str) -> Option<&'static str> {
    let d = parse_number(n)?;
    let significant = d.digits.trim_end_matches('0');
    if significant.is_empty() {
        return None; // zero
    }
    if significant.len() > 38 {
        return Some("Attempting to store more than 38 significant digits in a Number");
    }
    let adjusted = d.exponent.saturating_add(d.digits.len() as i64 - 1);
    if adjusted > 125 {
        return Some("Number overflow. Attempting to store a number with magnitude larger than supported range");
    }
    if adjusted < -130 {
        return Some("Number underflow. Attempting to store a number with magnitude smaller than supported range");
    }
    None
}

struct Rules<'r> {
    kind: ExpressionKind,
    names: &'r HashMap<String, String>,
    values: &'r HashMap<String, AttributeValue>,
}

impl Rules<'_> {
    fn key_condition_operator(&self, operator: &str) -> Result<(), ExprError> {
        if self.kind == ExpressionKind::KeyCondition {
            return Err(ExprError::KeyConditionOperator {
                operator: operator.to_owned(),
            });
        }
        Ok(())
    }

    /// Follows `AND`/`OR` right operands and `NOT`s in a loop, so a long chain is no deeper
    /// on the stack than one link.
    fn cond(&self, mut c: &Cond<'_>) -> Result<(), ExprError> {
        loop {
            c = match c {
                Cond::Not(inner) => {
                    self.key_condition_operator("NOT")?;
                    inner
                }
                Cond::And(a, b) => {
                    self.cond(a)?;
                    b
                }
                Cond::Or(a, b) => {
                    self.key_condition_operator("OR")?;
                    self.cond(a)?;
                    b
                }
                leaf => return self.leaf(leaf),
            };
        }
    }

    fn leaf(&self, c: &Cond<'_>) -> Result<(), ExprError> {
        match c {
            Cond::Cmp(op, a, b) => {
                if op.symbol() == "<>" {
                    self.key_condition_operator("<>")?;
                }
                self.operand(a)?;
                self.operand(b)
            }
            Cond::In(x, list) => {
                self.key_condition_operator("IN")?;
                self.operand(x)?;
                if list.len() > MAX_IN_OPERANDS {
                    return Err(ExprError::TooManyInOperands {
                        kind: self.kind,
                        count: list.len(),
                    });
                }
                list.iter().try_for_each(|o| self.operand(o))
            }
            Cond::Between(x, lo, hi) => {
                self.operand(x)?;
                self.operand(lo)?;
                self.operand(hi)
            }
            Cond::Call(call) => self.call(call),
            Cond::Not(c) => {
                self.key_condition_operator("NOT")?;
                self.cond(c)
            }
            Cond::And(a, b) => {
                self.cond(a)?;
                self.cond(b)
            }
            Cond::Or(a, b) => {
                self.key_condition_operator("OR")?;
                self.cond(a)?;
                self.cond(b)
            }
        }
    }

    fn action(&self, a: &Action<'_>) -> Result<(), ExprError> {
        match a {
            Action::Set(p, v) => {
                self.path(p)?;
                self.operand(v)
            }
            Action::Remove(p) => self.path(p),
            Action::Add(p, v) | Action::Delete(p, v) => {
                self.path(p)?;
                let add = matches!(a, Action::Add(..));
                let allowed: &[&str] = if add {
                    &["N", "SS", "NS", "BS"]
                } else {
                    &["SS", "NS", "BS"]
                };
                match self.values.get(*v).map(type_name) {
                    Some(t) if !allowed.contains(&t) => Err(ExprError::OperandType {
                        kind: self.kind,
                        operator: if add { Section::Add } else { Section::Delete }
                            .keyword()
                            .to_owned(),
                        operand_type: t,
                    }),
                    _ => Ok(()),
                }
            }
        }
    }

    fn literal_type(&self, o: &Operand<'_>) -> Option<&'static str> {
        match o {
            Operand::Value(v) => self.values.get(*v).map(type_name),
            _ => None,
        }
    }

    fn operand(&self, o: &Operand<'_>) -> Result<(), ExprError> {
        match o {
            Operand::Path(p) => self.path(p),
            Operand::Value(_) => Ok(()),
            Operand::Call(call) => self.call(call),
            Operand::Arith(a, op, b) => {
                self.operand(a)?;
                self.operand(b)?;
                for x in [a, b] {
                    if let Some(t) = self.literal_type(x).filter(|&t| t != "N") {
                        let operator = if *op == ArithOp::Plus { "+" } else { "-" };
                        return Err(ExprError::OperandType {
                            kind: self.kind,
                            operator: operator.to_owned(),
                            operand_type: t,
                        });
                    }
                }
                Ok(())
            }
        }
    }

    fn call(&self, call: &Call<'_>) -> Result<(), ExprError> {
        let name = call.name.to_ascii_lowercase();
        if name != "begins_with" {
            self.key_condition_operator(&name)?;
        }
        for a in &call.args {
            self.operand(a)?;
        }
        let (arity, needs_path) = match name.as_str() {
            "attribute_exists" | "attribute_not_exists" => (1, true),
            "size" => (1, false),
            "attribute_type" | "if_not_exists" => (2, true),
            "begins_with" | "contains" | "list_append" => (2, false),
            _ => return Ok(()), // unknown names are a client check
        };
        if call.args.len() != arity {
            return Err(ExprError::FunctionArity {
                kind: self.kind,
                function: name,
                operands: call.args.len(),
            });
        }
        if needs_path && !matches!(call.args[0], Operand::Path(_)) {
            return Err(ExprError::PathRequired {
                kind: self.kind,
                function: name,
            });
        }
        if name == "list_append" {
            if let Some(t) = call
                .args
                .iter()
                .find_map(|a| self.literal_type(a).filter(|&t| t != "L"))
            {
                return Err(ExprError::OperandType {
                    kind: self.kind,
                    operator: name,
                    operand_type: t,
                });
            }
        }
        Ok(())
    }

    fn path(&self, p: &Path<'_>) -> Result<(), ExprError> {
        for e in &p.elems {
            if let Elem::Name(n) = e {
                if is_reserved(n) {
                    return Err(ExprError::ReservedWord {
                        kind: self.kind,
                        word: (*n).to_owned(),
                    });
                }
            }
        }
        if p.elems.len() > MAX_PATH_DEPTH {
            return Err(ExprError::PathTooDeep {
                kind: self.kind,
                depth: p.elems.len(),
            });
        }
        Ok(())
    }

    /// The path with names substituted, for comparing and for messages: `[a, b, [0]]`.
    fn resolved<'p>(&'p self, p: &'p Path<'p>) -> Vec<&'p str> {
        p.elems
            .iter()
            .map(|e| match *e {
                Elem::Name(n) | Elem::Index(n) => n,
                Elem::NameSub(n) => self.names.get(n).map_or(n, String::as_str),
            })
            .collect()
    }

    fn no_overlaps<'p>(&self, paths: impl Iterator<Item = &'p Path<'p>>) -> Result<(), ExprError> {
        let paths: Vec<(&Path<'_>, Vec<&str>)> = paths.map(|p| (p, self.resolved(p))).collect();
        for (i, (p, rp)) in paths.iter().enumerate() {
            for (q, rq) in &paths[..i] {
                let n = rp.len().min(rq.len());
                let same = (0..n).all(|k| {
                    rp[k] == rq[k]
                        && matches!(p.elems[k], Elem::Index(_))
                            == matches!(q.elems[k], Elem::Index(_))
                });
                if same {
                    return Err(ExprError::OverlappingPaths {
                        kind: self.kind,
                        first: display_path(q, rq),
                        second: display_path(p, rp),
                    });
                }
            }
        }
        Ok(())
    }
}

fn display_path(p: &Path<'_>, resolved: &[&str]) -> String {
    let parts: Vec<String> = p
        .elems
        .iter()
        .zip(resolved)
        .map(|(e, r)| match e {
            Elem::Index(_) => format!("[{r}]"),
            _ => (*r).to_owned(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}
