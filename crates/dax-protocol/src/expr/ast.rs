//! The syntax tree the parser builds; text slices borrow from the expression.

/// One element of a document path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem<'a> {
    /// A bare attribute or map-key name (`a`).
    Name(&'a str),
    /// A `#name` placeholder, with its `#`.
    NameSub(&'a str),
    /// A list index (`[3]`), its decimal digits.
    Index(&'a str),
}

/// `a.#b[2]`: the first element is a name or placeholder, never an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path<'a> {
    pub(crate) elems: Vec<Elem<'a>>,
}

/// `+` or `-` in a SET value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Plus,
    Minus,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) const fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// `name(arg, …)`; the name is as written (functions are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    pub(crate) args: Vec<Operand<'a>>,
}

/// Something with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand<'a> {
    Path(Path<'a>),
    /// A `:value` placeholder, with its `:`.
    Value(&'a str),
    Call(Call<'a>),
    /// Only as a whole SET value: `a + b`, `a - b`.
    Arith(Box<Operand<'a>>, ArithOp, Box<Operand<'a>>),
}

/// A ConditionExpression, KeyConditionExpression or FilterExpression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond<'a> {
    Cmp(CmpOp, Operand<'a>, Operand<'a>),
    In(Operand<'a>, Vec<Operand<'a>>),
    Between(Operand<'a>, Operand<'a>, Operand<'a>),
    Call(Call<'a>),
    Not(Box<Cond<'a>>),
    And(Box<Cond<'a>>, Box<Cond<'a>>),
    Or(Box<Cond<'a>>, Box<Cond<'a>>),
}

/// One action of an UpdateExpression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action<'a> {
    Set(Path<'a>, Operand<'a>),
    Remove(Path<'a>),
    /// The value is a `:value` placeholder.
    Add(Path<'a>, &'a str),
    Delete(Path<'a>, &'a str),
}

impl Action<'_> {
    pub(crate) fn path(&self) -> &Path<'_> {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}

/// An UpdateExpression section keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Set,
    Remove,
    Add,
    Delete,
}

impl Section {
    pub(crate) const fn keyword(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

/// A parsed expression of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ast<'a> {
    Cond(Cond<'a>),
    /// Actions in source order, and the sections as they appeared.
    Update(Vec<Action<'a>>, Vec<Section>),
    Projection(Vec<Path<'a>>),
}
