//! [`ExprError`]: why an expression set does not compile (or a DAX tree does not decompile).
//!
//! Every variant belongs to one *rule* ([`ExprError::rule`]) and every rule has an oracle:
//!
//! * rules the official DAX clients check are matched against amazon-dax-client 2.1.0's own
//!   compiler (`amazondax/CborSExprGenerator.py`, `AttributeValueEncoder.py`); where DynamoDB
//!   words the same check differently, the message is DynamoDB's;
//! * rules only DynamoDB checks follow DynamoDB's documented limits ("Expression parameters",
//!   "Reserved words", the UpdateExpression and KeyConditionExpression references) and the
//!   wording DynamoDB (and moto, which copies it) uses.

use std::fmt;

/// The five expression parameters of a DynamoDB request.
///
/// ```
/// use xacct_dax_protocol::expr::ExpressionKind;
///
/// assert_eq!(ExpressionKind::Update.to_string(), "UpdateExpression");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExpressionKind {
    /// `ConditionExpression` (PutItem, UpdateItem, DeleteItem, TransactWriteItems).
    Condition,
    /// `KeyConditionExpression` (Query).
    KeyCondition,
    /// `FilterExpression` (Query, Scan).
    Filter,
    /// `UpdateExpression` (UpdateItem).
    Update,
    /// `ProjectionExpression` (GetItem, Query, Scan, BatchGetItem, TransactGetItems).
    Projection,
}

impl ExpressionKind {
    /// All five kinds, in the order the official clients compile them.
    pub const ALL: [ExpressionKind; 5] = [
        ExpressionKind::Condition,
        ExpressionKind::KeyCondition,
        ExpressionKind::Filter,
        ExpressionKind::Update,
        ExpressionKind::Projection,
    ];

    /// The request parameter's name, e.g. `"ConditionExpression"`.
    pub const fn parameter_name(self) -> &'static str {
        match self {
            ExpressionKind::Condition => "ConditionExpression",
            ExpressionKind::KeyCondition => "KeyConditionExpression",
            ExpressionKind::Filter => "FilterExpression",
            ExpressionKind::Update => "UpdateExpression",
            ExpressionKind::Projection => "ProjectionExpression",
        }
    }

    /// The lower-case noun the official client uses in "not allowed in a … expression".
    const fn noun(self) -> &'static str {
        match self {
            ExpressionKind::Condition => "condition",
            ExpressionKind::KeyCondition => "keycondition",
            ExpressionKind::Filter => "filter",
            ExpressionKind::Update => "update",
            ExpressionKind::Projection => "projection",
        }
    }
}

impl fmt::Display for ExpressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter_name())
    }
}

/// Which placeholder map an [`ExprError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlaceholderMap {
    /// `ExpressionAttributeNames` (`#name` keys).
    Names,
    /// `ExpressionAttributeValues` (`:value` keys).
    Values,
}

impl fmt::Display for PlaceholderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlaceholderMap::Names => "ExpressionAttributeNames",
            PlaceholderMap::Values => "ExpressionAttributeValues",
        })
    }
}

/// Why [`compile`](super::compile) or [`decompile`](super::decompile) failed.
///
/// `Display` is the message a `ValidationException` should carry (one level, no source chain).
/// [`rule`](Self::rule) names the rule that was broken; [`is_client_check`](Self::is_client_check)
/// tells the checks the official DAX clients make from those only DynamoDB makes.
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// use xacct_dax_protocol::expr::{compile, Expressions};
///
/// let exprs = Expressions::new()
///     .update("SET status = :s")
///     .value(":s", AttributeValue::S("done".into()));
/// let err = compile(&exprs).unwrap_err();
/// assert!(err.is_reserved_word());
/// assert_eq!(err.rule(), "reserved-word");
/// assert_eq!(
///     err.to_string(),
///     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprError {
    // ------------------------------------------------ checks the official clients make
    /// A key of a placeholder map is not `#[A-Za-z0-9_]+` / `:[A-Za-z0-9_]+`.
    #[error("{map} contains invalid key: \"{key}\"")]
    InvalidPlaceholderKey {
        /// The map holding the key.
        map: PlaceholderMap,
        /// The key as given.
        key: String,
    },
    /// The expression does not parse.
    #[error("Invalid {kind}: Syntax error; token: \"{token}\", near: line {line} char {column}")]
    Syntax {
        /// The expression.
        kind: ExpressionKind,
        /// The first token that cannot continue the expression (`<EOF>` at the end).
        token: String,
        /// 1-based line of the token.
        line: u32,
        /// 0-based character (not byte) offset of the token in its line.
        column: u32,
    },
    /// A parenthesis pair directly wraps another one, e.g. `((a = :v))`.
    #[error("Invalid {kind}: The expression has redundant parentheses;")]
    RedundantParentheses {
        /// The expression.
        kind: ExpressionKind,
    },
    /// A `#name` used in the expression is missing from `ExpressionAttributeNames`.
    #[error(
        "Invalid {kind}: An expression attribute name used in the document path is not defined; \
         attribute name: {name}"
    )]
    UndefinedName {
        /// The expression.
        kind: ExpressionKind,
        /// The placeholder, with its `#`.
        name: String,
    },
    /// A `:value` used in the expression is missing from `ExpressionAttributeValues`.
    #[error(
        "Invalid {kind}: An expression attribute value used in expression is not defined; \
         attribute value: {name}"
    )]
    UndefinedValue {
        /// The expression.
        kind: ExpressionKind,
        /// The placeholder, with its `:`.
        name: String,
    },
    /// Keys of a placeholder map that no expression of the request uses.
    #[error("Value provided in {map} unused in expressions: keys: {{{}}}", keys.join(", "))]
    Unused {
        /// The map holding the keys.
        map: PlaceholderMap,
        /// The unused keys, sorted.
        keys: Vec<String>,
    },
    /// A function used in an expression kind that does not allow it (e.g. `size` in an
    /// UpdateExpression, `list_append` in a ConditionExpression).
    #[error("Invalid {kind}: The function '{function}' is not allowed in a {} expression", kind.noun())]
    FunctionNotAllowed {
        /// The expression.
        kind: ExpressionKind,
        /// The function name as written.
        function: String,
    },
    /// `size(…)` used as a whole condition instead of as an operand.
    #[error(
        "Invalid {kind}: The function '{function}' is not allowed to be used this way in an expression"
    )]
    FunctionMisused {
        /// The expression.
        kind: ExpressionKind,
        /// The function name as written.
        function: String,
    },
    /// A function nested inside an operator or function where only `allowed` may be.
    #[error("Invalid {kind}: Only {allowed}() function can be nested (got {function})")]
    NestedFunction {
        /// The expression.
        kind: ExpressionKind,
        /// The nested function, lower case.
        function: String,
        /// `"size"` (conditions) or `"if_not_exists"` (updates).
        allowed: &'static str,
    },
    /// Not one of the eight DynamoDB functions.
    #[error("Invalid {kind}: Invalid function name; function: {function}")]
    UnknownFunction {
        /// The expression.
        kind: ExpressionKind,
        /// The function name, lower case.
        function: String,
    },
    /// A value the official encoder cannot encode (empty set, malformed number).
    #[error("ExpressionAttributeValues contains invalid value: {reason} for key {key}")]
    InvalidValue {
        /// The `:value` key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    // ------------------------------------------------ rules only DynamoDB checks
    /// An expression given as the empty string (the Python client silently drops it).
    #[error("Invalid {kind}: The expression can not be empty;")]
    EmptyExpression {
        /// The expression.
        kind: ExpressionKind,
    },
    /// An expression longer than 4 KB.
    #[error(
        "Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {size}"
    )]
    ExpressionTooLong {
        /// The expression.
        kind: ExpressionKind,
        /// Its length in bytes.
        size: usize,
    },
    /// An `ExpressionAttributeNames` entry whose value is the empty string.
    #[error("ExpressionAttributeNames contains invalid value: Empty attribute name provided for key {key}")]
    EmptyName {
        /// The `#name` key.
        key: String,
    },
    /// A bare attribute name that is a DynamoDB reserved word (use a `#name` placeholder).
    #[error("Invalid {kind}: Attribute name is a reserved keyword; reserved keyword: {word}")]
    ReservedWord {
        /// The expression.
        kind: ExpressionKind,
        /// The word as written.
        word: String,
    },
    /// A document path nested deeper than 32 levels.
    #[error(
        "Invalid {kind}: The document path has too many nesting levels; nesting levels: {depth}"
    )]
    PathTooDeep {
        /// The expression.
        kind: ExpressionKind,
        /// The path's depth.
        depth: usize,
    },
    /// Parentheses, `NOT`s and function calls nested deeper than the parser follows
    /// ([`compile`](super::compile) stops there instead of recursing without bound; `OR` and
    /// `AND` chains are not nesting).
    ///
    /// ```
    /// use xacct_dax_protocol::expr::{compile, Expressions};
    ///
    /// let deep = format!("{}a = :v", "NOT ".repeat(500));
    /// let err = compile(&Expressions::new().condition(deep)).unwrap_err();
    /// assert_eq!(err.rule(), "nesting-depth");
    /// ```
    #[error(
        "Invalid {kind}: The expression has too many nesting levels; maximum nesting levels: {limit}"
    )]
    NestingTooDeep {
        /// The expression.
        kind: ExpressionKind,
        /// The deepest nesting followed.
        limit: usize,
    },
    /// `IN` with more than 100 operands on its right.
    #[error("Invalid {kind}: The IN operator is provided with too many operands; number of operands: {count}")]
    TooManyInOperands {
        /// The expression.
        kind: ExpressionKind,
        /// How many there were.
        count: usize,
    },
    /// A function called with the wrong number of operands.
    #[error(
        "Invalid {kind}: Incorrect number of operands for operator or function; \
         operator or function: {function}, number of operands: {operands}"
    )]
    FunctionArity {
        /// The expression.
        kind: ExpressionKind,
        /// The function, lower case.
        function: String,
        /// How many operands it got.
        operands: usize,
    },
    /// A function whose first operand must be a document path got something else.
    #[error("Invalid {kind}: Operator or function requires a document path; operator or function: {function}")]
    PathRequired {
        /// The expression.
        kind: ExpressionKind,
        /// The function, lower case.
        function: String,
    },
    /// A literal operand of the wrong type (e.g. `ADD a :s` with a string, `a + :s`).
    #[error(
        "Invalid {kind}: Incorrect operand type for operator or function; \
         operator or function: {operator}, operand type: {operand_type}"
    )]
    OperandType {
        /// The expression.
        kind: ExpressionKind,
        /// The operator or function (`ADD`, `DELETE`, `+`, `-`, `list_append`).
        operator: String,
        /// The operand's type (`S`, `N`, `B`, `SS`, `NS`, `BS`, `M`, `L`, `NULL`, `BOOL`).
        operand_type: &'static str,
    },
    /// An UpdateExpression section (`SET`, `REMOVE`, `ADD`, `DELETE`) given twice.
    #[error("Invalid UpdateExpression: The \"{section}\" section can only be used once in an update expression;")]
    RepeatedSection {
        /// The section keyword, upper case.
        section: &'static str,
    },
    /// Two paths of an UpdateExpression or ProjectionExpression overlap (one is the other or
    /// a prefix of it).
    #[error(
        "Invalid {kind}: Two document paths overlap with each other; must remove or rewrite one \
         of these paths; path one: {first}, path two: {second}"
    )]
    OverlappingPaths {
        /// The expression.
        kind: ExpressionKind,
        /// The earlier path, e.g. `[a, b, [0]]`.
        first: String,
        /// The later path.
        second: String,
    },
    /// An operator or function a KeyConditionExpression cannot use (only `=`, `<`, `<=`, `>`,
    /// `>=`, `BETWEEN`, `begins_with` and `AND` can).
    #[error("Invalid operator used in KeyConditionExpression: {operator}")]
    KeyConditionOperator {
        /// The operator or function as DynamoDB names it (`OR`, `NOT`, `<>`, `IN`, `contains`…).
        operator: String,
    },
    /// A number outside DynamoDB's limits (38 significant digits, magnitude 1E-130 to
    /// 9.9…9E+125).
    #[error("ExpressionAttributeValues contains invalid value: {reason} for key {key}")]
    NumberLimit {
        /// The `:value` key.
        key: String,
        /// DynamoDB's reason.
        reason: &'static str,
    },

    // ------------------------------------------------ decompile
    /// A DAX expression tree that is not well formed.
    #[error("Invalid {kind}: malformed DAX expression tree: {reason}")]
    MalformedTree {
        /// The expression.
        kind: ExpressionKind,
        /// What is wrong.
        reason: String,
    },
}

impl ExprError {
    /// The name of the broken rule: a stable kebab-case identifier.
    ///
    /// Client checks: `placeholder-key`, `syntax`, `redundant-parentheses`, `undefined-name`,
    /// `undefined-value`, `unused-name`, `unused-value`, `function-not-allowed`,
    /// `function-misused`, `nested-function`, `unknown-function`, `invalid-value`.
    /// DynamoDB rules: `empty-expression`, `expression-length`, `empty-name`, `reserved-word`,
    /// `path-depth`, `nesting-depth`, `in-operands`, `function-arity`, `path-required`,
    /// `operand-type`, `repeated-section`, `overlapping-paths`, `key-condition-operator`,
    /// `number-limits`.
    /// Decompile: `malformed-tree`.
    ///
    /// ```
    /// use xacct_dax_protocol::expr::{compile, Expressions};
    ///
    /// let err = compile(&Expressions::new().condition("a = :missing")).unwrap_err();
    /// assert_eq!(err.rule(), "undefined-value");
    /// ```
    pub fn rule(&self) -> &'static str {
        match self {
            ExprError::InvalidPlaceholderKey { .. } => "placeholder-key",
            ExprError::Syntax { .. } => "syntax",
            ExprError::RedundantParentheses { .. } => "redundant-parentheses",
            ExprError::UndefinedName { .. } => "undefined-name",
            ExprError::UndefinedValue { .. } => "undefined-value",
            ExprError::Unused {
                map: PlaceholderMap::Names,
                ..
            } => "unused-name",
            ExprError::Unused {
                map: PlaceholderMap::Values,
                ..
            } => "unused-value",
            ExprError::FunctionNotAllowed { .. } => "function-not-allowed",
            ExprError::FunctionMisused { .. } => "function-misused",
            ExprError::NestedFunction { .. } => "nested-function",
            ExprError::UnknownFunction { .. } => "unknown-function",
            ExprError::InvalidValue { .. } => "invalid-value",
            ExprError::EmptyExpression { .. } => "empty-expression",
            ExprError::ExpressionTooLong { .. } => "expression-length",
            ExprError::EmptyName { .. } => "empty-name",
            ExprError::ReservedWord { .. } => "reserved-word",
            ExprError::PathTooDeep { .. } => "path-depth",
            ExprError::NestingTooDeep { .. } => "nesting-depth",
            ExprError::TooManyInOperands { .. } => "in-operands",
            ExprError::FunctionArity { .. } => "function-arity",
            ExprError::PathRequired { .. } => "path-required",
            ExprError::OperandType { .. } => "operand-type",
            ExprError::RepeatedSection { .. } => "repeated-section",
            ExprError::OverlappingPaths { .. } => "overlapping-paths",
            ExprError::KeyConditionOperator { .. } => "key-condition-operator",
            ExprError::NumberLimit { .. } => "number-limits",
            ExprError::MalformedTree { .. } => "malformed-tree",
        }
    }

    /// The expression the error is about, when it is about one.
    pub fn kind(&self) -> Option<ExpressionKind> {
        match self {
            ExprError::Syntax { kind, .. }
            | ExprError::RedundantParentheses { kind }
            | ExprError::UndefinedName { kind, .. }
            | ExprError::UndefinedValue { kind, .. }
            | ExprError::FunctionNotAllowed { kind, .. }
            | ExprError::FunctionMisused { kind, .. }
            | ExprError::NestedFunction { kind, .. }
            | ExprError::UnknownFunction { kind, .. }
            | ExprError::EmptyExpression { kind }
            | ExprError::ExpressionTooLong { kind, .. }
            | ExprError::ReservedWord { kind, .. }
            | ExprError::PathTooDeep { kind, .. }
            | ExprError::NestingTooDeep { kind, .. }
            | ExprError::TooManyInOperands { kind, .. }
            | ExprError::FunctionArity { kind, .. }
            | ExprError::PathRequired { kind, .. }
            | ExprError::OperandType { kind, .. }
            | ExprError::OverlappingPaths { kind, .. }
            | ExprError::MalformedTree { kind, .. } => Some(*kind),
            ExprError::RepeatedSection { .. } => Some(ExpressionKind::Update),
            ExprError::KeyConditionOperator { .. } => Some(ExpressionKind::KeyCondition),
            ExprError::InvalidPlaceholderKey { .. }
            | ExprError::Unused { .. }
            | ExprError::InvalidValue { .. }
            | ExprError::EmptyName { .. }
            | ExprError::NumberLimit { .. } => None,
        }
    }

    /// `true` for the checks the official DAX clients make themselves (they raise these before
    /// sending anything); `false` for DynamoDB-only rules and decompile errors.
    pub fn is_client_check(&self) -> bool {
        matches!(
            self,
            ExprError::InvalidPlaceholderKey { .. }
                | ExprError::Syntax { .. }
                | ExprError::RedundantParentheses { .. }
                | ExprError::UndefinedName { .. }
                | ExprError::UndefinedValue { .. }
                | ExprError::Unused { .. }
                | ExprError::FunctionNotAllowed { .. }
                | ExprError::FunctionMisused { .. }
                | ExprError::NestedFunction { .. }
                | ExprError::UnknownFunction { .. }
                | ExprError::InvalidValue { .. }
        )
    }

    /// `true` for the rules only DynamoDB checks (the official DAX clients let these through
    /// and the cluster rejects the request).
    pub fn is_dynamodb_rule(&self) -> bool {
        !self.is_client_check() && !self.is_malformed_tree()
    }

    /// `true` when the expression does not parse (including redundant parentheses).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            ExprError::Syntax { .. } | ExprError::RedundantParentheses { .. }
        )
    }

    /// `true` when a placeholder is used but not defined, defined but unused, or has a malformed
    /// key.
    pub fn is_placeholder(&self) -> bool {
        matches!(
            self,
            ExprError::InvalidPlaceholderKey { .. }
                | ExprError::UndefinedName { .. }
                | ExprError::UndefinedValue { .. }
                | ExprError::Unused { .. }
        )
    }

    /// `true` when a bare attribute name is a DynamoDB reserved word.
    pub fn is_reserved_word(&self) -> bool {
        matches!(self, ExprError::ReservedWord { .. })
    }

    /// `true` when [`decompile`](super::decompile) was given a tree it cannot read.
    pub fn is_malformed_tree(&self) -> bool {
        matches!(self, ExprError::MalformedTree { .. })
    }
}
