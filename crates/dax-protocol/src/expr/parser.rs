//! Recursive-descent parser for the three grammars (condition, update, projection).
//!
//! Precedence, loosest first: `OR`, `AND` (both right-associative), `NOT`, then comparisons,
//! `IN`, `BETWEEN`, function conditions and parentheses. The one real ambiguity, `(` starting
//! either a parenthesised condition or a parenthesised operand (`(a) = :v`), and its twin in
//! SET values (`(a + :v)` vs `(a) + :v`), is settled by trying both.
//!
//! Errors match the official clients' ANTLR parser: the reported token is the first one no
//! parse can continue with (the furthest failure over all alternatives tried), and a
//! parenthesis pair directly around another pair is an error as soon as it closes
//! (`((a = :v))`, `SET a = ((:v))`), unless a syntax error comes first.

use super::ast::{Action, ArithOp, Ast, Call, CmpOp, Cond, Elem, Operand, Path, Section};
use super::lexer::{lex, Tok, Token};
use super::{ExprError, ExpressionKind};

/// A failed alternative; where it failed is in [`Parser::furthest`].
struct Fail;

type PResult<T> = Result<T, Fail>;

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    pos: usize,
    /// Furthest token index any alternative failed at.
    furthest: usize,
    /// Token indexes of `)` that closed a redundant pair, on the parse kept so far.
    redundant: Vec<usize>,
    /// Current nesting: parentheses, `NOT`s, function calls (see [`MAX_NESTING`]).
    depth: usize,
    /// Some alternative went deeper than [`MAX_NESTING`]: the parse failed for that reason.
    too_deep: bool,
}

/// Deepest nesting of parentheses, `NOT`s and function calls the parser follows. Every level
/// is a few stack frames here and in the compiler, so without a bound 4 KB of `(` would
/// overflow a 2 MiB stack. `OR` and `AND` chains are parsed in a loop and do not count.
pub(crate) const MAX_NESTING: usize = 100;

/// Parses `src` as an expression of `kind`.
pub(crate) fn parse(src: &str, kind: ExpressionKind) -> Result<Ast<'_>, ExprError> {
    let mut p = Parser {
        toks: lex(src),
        pos: 0,
        furthest: 0,
        redundant: Vec::new(),
        depth: 0,
        too_deep: false,
    };
    let result = match kind {
        ExpressionKind::Condition | ExpressionKind::KeyCondition | ExpressionKind::Filter => {
            p.condition().map(|(c, _)| Ast::Cond(c))
        }
        ExpressionKind::Update => p.update(),
        ExpressionKind::Projection => p.projection(),
    }
    .and_then(|ast| p.expect(Tok::Eof).map(|()| ast));
    match result {
        Err(Fail) if p.too_deep => Err(ExprError::NestingTooDeep {
            kind,
            limit: MAX_NESTING,
        }),
        Ok(ast) if p.redundant.is_empty() => Ok(ast),
        Err(Fail) if p.redundant.is_empty() => {
            let t = p.toks[p.furthest.min(p.toks.len() - 1)];
            Err(ExprError::Syntax {
                kind,
                token: t.text.to_owned(),
                line: t.line,
                column: t.column,
            })
        }
        _ => Err(ExprError::RedundantParentheses { kind }),
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Tok {
        self.toks[self.pos].tok
    }

    fn peek_at(&self, ahead: usize) -> Tok {
        self.toks.get(self.pos + ahead).map_or(Tok::Eof, |t| t.tok)
    }

    fn bump(&mut self) -> &'a str {
        let text = self.toks[self.pos].text;
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        text
    }

    fn fail<T>(&mut self) -> PResult<T> {
        self.furthest = self.furthest.max(self.pos);
        Err(Fail)
    }

    /// Runs `f` one nesting level deeper, or fails once past [`MAX_NESTING`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            self.too_deep = true;
            return self.fail();
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn expect(&mut self, tok: Tok) -> PResult<()> {
        if self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            self.fail()
        }
    }

    /// Runs two alternatives from the current position and keeps the first that succeeds and
    /// is `accept`ed; if none is, keeps the redundant-parenthesis record of the one that got
    /// further (ANTLR would have committed to it), or none on a tie.
    fn either<T>(
        &mut self,
        first: impl FnOnce(&mut Self) -> PResult<T>,
        accept_first: impl FnOnce(&Self) -> bool,
        second: impl FnOnce(&mut Self) -> PResult<T>,
    ) -> PResult<T> {
        let (start, outer_furthest, marks) = (self.pos, self.furthest, self.redundant.len());
        self.furthest = start;
        let first_result = first(self);
        if first_result.is_ok() && accept_first(self) {
            self.furthest = self.furthest.max(outer_furthest);
            return first_result;
        }
        if first_result.is_ok() {
            // Parsed, but what follows cannot follow it: it fails at the next token.
            self.furthest = self.furthest.max(self.pos);
        }
        let (first_furthest, first_marks) = (self.furthest, self.redundant.split_off(marks));
        self.pos = start;
        self.furthest = start;
        let second_result = second(self);
        let second_furthest = self.furthest;
        self.furthest = outer_furthest.max(first_furthest).max(second_furthest);
        if second_result.is_err() {
            if first_furthest > second_furthest {
                self.redundant.truncate(marks);
                self.redundant.extend(first_marks);
            } else if first_furthest == second_furthest {
                self.redundant.truncate(marks);
            }
        }
        second_result
    }

    // ------------------------------------------------------------------ conditions

    /// Returns the condition and whether it is itself a parenthesised group.
    fn condition(&mut self) -> PResult<(Cond<'a>, bool)> {
        self.chain(Tok::Or, Self::and, Cond::Or)
    }

    fn and(&mut self) -> PResult<(Cond<'a>, bool)> {
        self.chain(Tok::And, Self::unary, Cond::And)
    }

    /// `item (op item)*`, right-associative, parsed in a loop (a chain is not nesting).
    fn chain(
        &mut self,
        op: Tok,
        mut item: impl FnMut(&mut Self) -> PResult<(Cond<'a>, bool)>,
        node: fn(Box<Cond<'a>>, Box<Cond<'a>>) -> Cond<'a>,
    ) -> PResult<(Cond<'a>, bool)> {
        let (first, parens) = item(self)?;
        if self.peek() != op {
            return Ok((first, parens));
        }
        let mut items = vec![first];
        while self.peek() == op {
            self.bump();
            items.push(item(self)?.0);
        }
        let mut right = items.pop().expect("two or more items");
        while let Some(left) = items.pop() {
            right = node(Box::new(left), Box::new(right));
        }
        Ok((right, false))
    }

    fn unary(&mut self) -> PResult<(Cond<'a>, bool)> {
        if self.peek() == Tok::Not {
            self.bump();
            let (c, _) = self.nested(Self::unary)?;
            return Ok((Cond::Not(Box::new(c)), false));
        }
        if self.peek() == Tok::LParen {
            return self.nested(|p| p.parenthesised_condition());
        }
        self.predicate().map(|c| (c, false))
    }

    /// `(` starts a parenthesised condition or a parenthesised operand.
    fn parenthesised_condition(&mut self) -> PResult<(Cond<'a>, bool)> {
        self.either(
            Self::grouping,
            |p| {
                !matches!(
                    p.peek(),
                    Tok::Eq
                        | Tok::Ne
                        | Tok::Lt
                        | Tok::Le
                        | Tok::Gt
                        | Tok::Ge
                        | Tok::In
                        | Tok::Between
                )
            },
            |p| p.predicate().map(|c| (c, false)),
        )
    }

    fn grouping(&mut self) -> PResult<(Cond<'a>, bool)> {
        self.expect(Tok::LParen)?;
        let (c, parens) = self.condition()?;
        let close = self.pos;
        self.expect(Tok::RParen)?;
        if parens {
            self.redundant.push(close);
        }
        Ok((c, true))
    }

    /// `operand cmp operand | operand IN (…) | operand BETWEEN … AND … | function`.
    fn predicate(&mut self) -> PResult<Cond<'a>> {
        let (left, parens) = self.operand()?;
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::In => {
                self.bump();
                self.expect(Tok::LParen)?;
                let mut list = vec![self.operand()?.0];
                while self.peek() == Tok::Comma {
                    self.bump();
                    list.push(self.operand()?.0);
                }
                self.expect(Tok::RParen)?;
                return Ok(Cond::In(left, list));
            }
            Tok::Between => {
                self.bump();
                let (lo, _) = self.operand()?;
                self.expect(Tok::And)?;
                let (hi, _) = self.operand()?;
                return Ok(Cond::Between(left, lo, hi));
            }
            _ => {
                return match left {
                    Operand::Call(call) if !parens => Ok(Cond::Call(call)),
                    _ => self.fail(),
                };
            }
        };
        self.bump();
        let (right, _) = self.operand()?;
        Ok(Cond::Cmp(op, left, right))
    }

    // ------------------------------------------------------------------ operands

    /// Returns the operand and whether it is a parenthesised group.
    fn operand(&mut self) -> PResult<(Operand<'a>, bool)> {
        match self.peek() {
            Tok::LParen => self.nested(|p| {
                p.bump();
                let (o, parens) = p.operand()?;
                let close = p.pos;
                p.expect(Tok::RParen)?;
                if parens {
                    p.redundant.push(close);
                }
                Ok((o, true))
            }),
            Tok::ValueSub => Ok((Operand::Value(self.bump()), false)),
            Tok::Id if self.peek_at(1) == Tok::LParen => self.nested(|p| {
                let name = p.bump();
                p.bump();
                let mut args = vec![p.operand()?.0];
                while p.peek() == Tok::Comma {
                    p.bump();
                    args.push(p.operand()?.0);
                }
                p.expect(Tok::RParen)?;
                Ok((Operand::Call(Call { name, args }), false))
            }),
            Tok::Id | Tok::NameSub => Ok((Operand::Path(self.path()?), false)),
            _ => self.fail(),
        }
    }

    fn path(&mut self) -> PResult<Path<'a>> {
        let mut elems = vec![self.name()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    elems.push(self.name()?);
                }
                Tok::LBracket => {
                    self.bump();
                    if self.peek() != Tok::Index {
                        return self.fail();
                    }
                    elems.push(Elem::Index(self.bump()));
                    self.expect(Tok::RBracket)?;
                }
                _ => return Ok(Path { elems }),
            }
        }
    }

    fn name(&mut self) -> PResult<Elem<'a>> {
        match self.peek() {
            Tok::Id => Ok(Elem::Name(self.bump())),
            Tok::NameSub => Ok(Elem::NameSub(self.bump())),
            _ => self.fail(),
        }
    }

    fn value(&mut self) -> PResult<&'a str> {
        if self.peek() == Tok::ValueSub {
            Ok(self.bump())
        } else {
            self.fail()
        }
    }

    // ------------------------------------------------------------------ update

    fn update(&mut self) -> PResult<Ast<'a>> {
        let (mut actions, mut sections) = (Vec::new(), Vec::new());
        loop {
            let section = match self.peek() {
                Tok::Set => Section::Set,
                Tok::Remove => Section::Remove,
                Tok::Add => Section::Add,
                Tok::Delete => Section::Delete,
                _ if sections.is_empty() => return self.fail(),
                _ => return Ok(Ast::Update(actions, sections)),
            };
            self.bump();
            sections.push(section);
            loop {
                let path = self.path()?;
                actions.push(match section {
                    Section::Set => {
                        self.expect(Tok::Eq)?;
                        Action::Set(path, self.set_value()?)
                    }
                    Section::Remove => Action::Remove(path),
                    Section::Add => Action::Add(path, self.value()?),
                    Section::Delete => Action::Delete(path, self.value()?),
                });
                if self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
    }

    /// `operand | operand (+|-) operand | ( arithmetic )`.
    fn set_value(&mut self) -> PResult<Operand<'a>> {
        if self.peek() != Tok::LParen {
            return self.operand_or_arith();
        }
        self.either(
            Self::operand_or_arith,
            |_| true,
            |p| p.arith_group().map(|(o, _)| o),
        )
    }

    fn operand_or_arith(&mut self) -> PResult<Operand<'a>> {
        let (left, _) = self.operand()?;
        let op = match self.peek() {
            Tok::Plus => ArithOp::Plus,
            Tok::Minus => ArithOp::Minus,
            _ => return Ok(left),
        };
        self.bump();
        let (right, _) = self.operand()?;
        Ok(Operand::Arith(Box::new(left), op, Box::new(right)))
    }

    /// `operand (+|-) operand | ( arithmetic )`, and whether it is a parenthesised group.
    fn arithmetic(&mut self) -> PResult<(Operand<'a>, bool)> {
        let plus_minus = |p: &mut Self| match p.operand_or_arith()? {
            arith @ Operand::Arith(..) => Ok((arith, false)),
            _ => p.fail(),
        };
        if self.peek() != Tok::LParen {
            return plus_minus(self);
        }
        self.either(plus_minus, |_| true, Self::arith_group)
    }

    fn arith_group(&mut self) -> PResult<(Operand<'a>, bool)> {
        self.nested(|p| {
            p.expect(Tok::LParen)?;
            let (inner, parens) = p.arithmetic()?;
            let close = p.pos;
            p.expect(Tok::RParen)?;
            if parens {
                p.redundant.push(close);
            }
            Ok((inner, true))
        })
    }

    // ------------------------------------------------------------------ projection

    fn projection(&mut self) -> PResult<Ast<'a>> {
        let mut paths = vec![self.path()?];
        while self.peek() == Tok::Comma {
            self.bump();
            paths.push(self.path()?);
        }
        Ok(Ast::Projection(paths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(s: &str) -> Result<Ast<'_>, ExprError> {
        parse(s, ExpressionKind::Condition)
    }

    #[test]
    fn precedence_and_associativity() {
        let Ok(Ast::Cond(Cond::Or(_, right))) = cond("a = :x OR b = :y AND c = :z") else {
            panic!("OR binds loosest")
        };
        assert!(matches!(*right, Cond::And(..)));
        let Ok(Ast::Cond(Cond::And(left, right))) = cond("NOT a = :x AND b = :y AND c = :z") else {
            panic!("NOT binds tighter than AND")
        };
        assert!(matches!(*left, Cond::Not(_)));
        assert!(matches!(*right, Cond::And(..)), "AND is right-associative");
    }

    #[test]
    fn parentheses() {
        assert!(cond("(a) = :x").is_ok());
        assert!(cond("(a = :x)").is_ok());
        assert!(cond("((a = :x) AND b = :y)").is_ok());
        assert!(cond("(attribute_exists(a)) = :x").is_ok());
        for redundant in ["((a = :x))", "((a)) = :x", "((attribute_exists(a)))"] {
            assert!(
                matches!(cond(redundant), Err(ExprError::RedundantParentheses { .. })),
                "{redundant}"
            );
        }
        assert!(parse("SET a = (b + :y)", ExpressionKind::Update).is_ok());
        assert!(parse("SET a = (b) + (:y)", ExpressionKind::Update).is_ok());
        for redundant in ["SET a = ((:x))", "SET a = ((b + :y))"] {
            assert!(matches!(
                parse(redundant, ExpressionKind::Update),
                Err(ExprError::RedundantParentheses { .. })
            ));
        }
    }

    #[test]
    fn syntax_errors_name_the_first_unusable_token() {
        let at = |s: &str, kind| match parse(s, kind) {
            Err(ExprError::Syntax {
                token,
                line,
                column,
                ..
            }) => (token, line, column),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            at("a = :x b", ExpressionKind::Condition),
            ("b".into(), 1, 7)
        );
        assert_eq!(
            at("a.b[007] = :x", ExpressionKind::Condition),
            ("0".into(), 1, 5)
        );
        assert_eq!(
            at("a = :x\nAND", ExpressionKind::Condition),
            ("<EOF>".into(), 2, 3)
        );
        assert_eq!(
            at("SET a = b + :y + :y", ExpressionKind::Update),
            ("+".into(), 1, 15)
        );
        assert_eq!(at("a IN ()", ExpressionKind::Condition), (")".into(), 1, 6));
    }
}
