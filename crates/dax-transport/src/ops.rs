//! Per-operation execution: legacy-parameter checks and expression compilation (before any
//! I/O), then node choice, connection, metadata control calls, the request, the reply, and
//! what a failure means for a retry.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};

use super::error::DaxError;
use xacct_dax_protocol::codec::{self, op, CodecError, Item, Method, Operation, Reply};
use xacct_dax_protocol::expr::{self, CompiledExpressions};

/// Generated from the protocol's list of operations
/// ([`for_each_operation!`](xacct_dax_protocol::for_each_operation)).
macro_rules! ops {
    ($($op:ident),* $(,)?) => {
        /// The typed input of one of the ten DAX data operations, shared (an attempt's
        /// encoder and decoder hold it; a retry takes it again without copying the items).
        #[derive(Debug, Clone)]
        pub(crate) enum DaxInput { $($op(Arc<<op::$op as Operation>::Input>)),* }

        /// Its typed output.
        #[derive(Debug)]
        pub(crate) enum DaxOutput { $($op(<op::$op as Operation>::Output)),* }

        impl DaxInput {
            /// Takes the typed input out of the SDK's type-erased one, if it is a DAX
            /// operation, leaving an empty input of the same type behind: the SDK's JSON
            /// serializer then writes `{}` instead of the whole request, and nothing is
            /// copied. (The endpoint parameters were taken from the input before.)
            pub(crate) fn take_erased(input: &mut Input) -> Option<Self> {
                $(if let Some(i) = input.downcast_mut::<<op::$op as Operation>::Input>() {
                    let empty = <op::$op as Operation>::Input::builder().build();
                    return Some(DaxInput::$op(Arc::new(match empty {
                        Ok(empty) => std::mem::replace(i, empty),
                        Err(_) => i.clone(),
                    })));
                })*
                None
            }

            /// The operation name (as in `x-amz-target`).
            pub(crate) fn name(&self) -> &'static str {
                match self { $(DaxInput::$op(_) => <op::$op as Operation>::NAME),* }
            }
        }

        impl DaxOutput {
            /// The output as the SDK's type-erased value.
            pub(crate) fn erase(self) -> Output {
                match self { $(DaxOutput::$op(o) => Output::erase(o)),* }
            }
        }

        $(impl DaxOperation for op::$op {
            fn output(output: Self::Output) -> DaxOutput {
                DaxOutput::$op(output)
            }
        })*

        /// Whether an `x-amz-target` operation name is one DAX serves.
        pub(crate) fn is_dax_operation(name: &str) -> bool {
            matches!(name, $(<op::$op as Operation>::NAME)|*)
        }
    };
}

xacct_dax_protocol::for_each_operation!(ops);

/// An operation this transport runs: its output has a [`DaxOutput`] variant.
trait DaxOperation: Operation {
    fn output(output: Self::Output) -> DaxOutput;
}

/// How an operation failed, as the connector must report it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A DynamoDB-style error: becomes a JSON error body.
    Service {
        name: String,
        message: String,
        status: u16,
        reasons: Option<Vec<CancellationReason>>,
    },
    /// A transport failure: becomes a `ConnectorError`.
    Transport { error: DaxError, retry_safe: bool },
}

impl Failure {
    /// The `error.type` attribute of the operation metrics: the error code, or the transport
    /// failure's kind.
    pub(crate) fn error_type(&self) -> &str {
        match self {
            Failure::Service { name, .. } => name,
            Failure::Transport { error, .. } => error.kind().as_str(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Failure::Service {
            name: "ValidationException".into(),
            message: message.into(),
            status: 400,
            reasons: None,
        }
    }
}

type Encode =
    Box<dyn Fn(&dyn codec::Catalog, &mut Vec<u8>) -> Result<(), CodecError> + Send + Sync>;
type Decode =
    Box<dyn Fn(&[u8], &dyn codec::Catalog) -> Result<Reply<DaxOutput>, CodecError> + Send + Sync>;
type Keys = Box<dyn Fn(&dyn codec::Catalog) -> Result<Vec<Item>, CodecError> + Send + Sync>;

/// An operation ready to run: checked, expressions compiled, codec calls bound.
pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) write: bool,
    pub(crate) idempotent: bool,
    pub(crate) encode: Encode,
    pub(crate) decode: Decode,
    /// Keys of the transaction items (to complete cancellation-reason items).
    pub(crate) keys: Option<Keys>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("method", &self.method)
            .field("write", &self.write)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// The legacy (pre-expression) parameter a request uses, and the expression to use instead.
pub(crate) fn legacy_parameter(input: &DaxInput) -> Option<(&'static str, &'static str)> {
    fn any<T>(v: Option<&T>) -> bool {
        v.is_some()
    }
    let expected = ("Expected", "ConditionExpression");
    let cond_op = (
        "ConditionalOperator",
        "ConditionExpression or FilterExpression",
    );
    let atg = ("AttributesToGet", "ProjectionExpression");
    match input {
        DaxInput::GetItem(i) => any(i.attributes_to_get.as_ref()).then_some(atg),
        DaxInput::PutItem(i) => {
            if any(i.expected.as_ref()) {
                Some(expected)
            } else {
                any(i.conditional_operator.as_ref()).then_some(cond_op)
            }
        }
        DaxInput::DeleteItem(i) => {
            if any(i.expected.as_ref()) {
                Some(expected)
            } else {
                any(i.conditional_operator.as_ref()).then_some(cond_op)
            }
        }
        DaxInput::UpdateItem(i) => {
            if any(i.attribute_updates.as_ref()) {
                Some(("AttributeUpdates", "UpdateExpression"))
            } else if any(i.expected.as_ref()) {
                Some(expected)
            } else {
                any(i.conditional_operator.as_ref()).then_some(cond_op)
            }
        }
        DaxInput::Query(i) => {
            if any(i.key_conditions.as_ref()) {
                Some(("KeyConditions", "KeyConditionExpression"))
            } else if any(i.query_filter.as_ref()) {
                Some(("QueryFilter", "FilterExpression"))
            } else if any(i.attributes_to_get.as_ref()) {
                Some(atg)
            } else {
                any(i.conditional_operator.as_ref()).then_some(cond_op)
            }
        }
        DaxInput::Scan(i) => {
            if any(i.scan_filter.as_ref()) {
                Some(("ScanFilter", "FilterExpression"))
            } else if any(i.attributes_to_get.as_ref()) {
                Some(atg)
            } else {
                any(i.conditional_operator.as_ref()).then_some(cond_op)
            }
        }
        DaxInput::BatchGetItem(i) => i
            .request_items
            .as_ref()
            .is_some_and(|m| m.values().any(|k| k.attributes_to_get.is_some()))
            .then_some(atg),
        _ => None,
    }
}

fn names(m: Option<&HashMap<String, String>>) -> HashMap<String, String> {
    m.cloned().unwrap_or_default()
}

fn values(m: Option<&HashMap<String, AttributeValue>>) -> HashMap<String, AttributeValue> {
    m.cloned().unwrap_or_default()
}

/// Compiles one request's expressions.
fn compile(
    texts: [Option<&str>; 5],
    n: Option<&HashMap<String, String>>,
    v: Option<&HashMap<String, AttributeValue>>,
) -> Result<CompiledExpressions, Failure> {
    let [condition, key_condition, filter, update, projection] = texts;
    let mut e = expr::Expressions::new();
    e.condition = condition.map(str::to_owned);
    e.key_condition = key_condition.map(str::to_owned);
    e.filter = filter.map(str::to_owned);
    e.update = update.map(str::to_owned);
    e.projection = projection.map(str::to_owned);
    e.expression_attribute_names = names(n);
    e.expression_attribute_values = values(v);
    expr::compile(&e).map_err(|e| Failure::validation(e.to_string()))
}

/// Where an operation runs (writes go to the leader) and whether it may be repeated after its
/// request may have been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reads: any node, safe to repeat.
    Read,
    /// Writes (to the leader) that must not be repeated after the request may have been sent.
    Write,
    /// Writes that are safe to repeat (TransactWriteItems: it always carries a
    /// ClientRequestToken).
    IdempotentWrite,
}

/// Binds the codec calls of operation `O` to its input and compiled expressions.
fn bind<O: DaxOperation>(
    input: Arc<O::Input>,
    exprs: O::Expressions,
    access: Access,
) -> Result<Prepared, Failure> {
    let projection = O::projection(&exprs)
        .map_err(|e| Failure::validation(format!("bad ProjectionExpression: {e}")))?;
    let encode_input = Arc::clone(&input);
    let encode: Encode = Box::new(move |c, out| O::encode_request(&encode_input, &exprs, c, out));
    let decode: Decode =
        Box::new(move |f, c| Ok(O::decode_response(f, &input, &projection, c)?.map(O::output)));
    Ok(Prepared {
        method: O::METHOD,
        write: access != Access::Read,
        idempotent: access != Access::Write,
        encode,
        decode,
        keys: None,
    })
}

/// Checks and compiles `input`.
pub(crate) fn prepare(input: DaxInput) -> Result<Prepared, Failure> {
    if let Some((param, instead)) = legacy_parameter(&input) {
        return Err(Failure::validation(format!(
            "{param} is a legacy parameter, which DAX clients must rewrite and this one does not: use {instead} instead (in {})",
            input.name()
        )));
    }
    match input {
        DaxInput::GetItem(i) => {
            let e = compile(
                [None, None, None, None, i.projection_expression()],
                i.expression_attribute_names(),
                None,
            )?;
            bind::<op::GetItem>(i, e, Access::Read)
        }
        DaxInput::PutItem(i) => {
            let e = compile(
                [i.condition_expression(), None, None, None, None],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind::<op::PutItem>(i, e, Access::Write)
        }
        DaxInput::DeleteItem(i) => {
            let e = compile(
                [i.condition_expression(), None, None, None, None],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind::<op::DeleteItem>(i, e, Access::Write)
        }
        DaxInput::UpdateItem(i) => {
            let e = compile(
                [
                    i.condition_expression(),
                    None,
                    None,
                    i.update_expression(),
                    None,
                ],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind::<op::UpdateItem>(i, e, Access::Write)
        }
        DaxInput::Query(i) => {
            let e = compile(
                [
                    None,
                    i.key_condition_expression(),
                    i.filter_expression(),
                    None,
                    i.projection_expression(),
                ],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind::<op::Query>(i, e, Access::Read)
        }
        DaxInput::Scan(i) => {
            let e = compile(
                [
                    None,
                    None,
                    i.filter_expression(),
                    None,
                    i.projection_expression(),
                ],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind::<op::Scan>(i, e, Access::Read)
        }
        DaxInput::BatchGetItem(i) => {
            let mut exprs = HashMap::new();
            for (table, k) in i.request_items().into_iter().flatten() {
                let e = compile(
                    [None, None, None, None, k.projection_expression()],
                    k.expression_attribute_names(),
                    None,
                )?;
                exprs.insert(table.clone(), e);
            }
            bind::<op::BatchGetItem>(i, exprs, Access::Read)
        }
        DaxInput::BatchWriteItem(i) => bind::<op::BatchWriteItem>(i, (), Access::Write),
        DaxInput::TransactGetItems(i) => {
            let mut exprs = Vec::new();
            for t in i.transact_items() {
                let g = t.get();
                exprs.push(compile(
                    [
                        None,
                        None,
                        None,
                        None,
                        g.and_then(|g| g.projection_expression()),
                    ],
                    g.and_then(|g| g.expression_attribute_names()),
                    None,
                )?);
            }
            bind::<op::TransactGetItems>(i, exprs, Access::Read)
        }
        DaxInput::TransactWriteItems(i) => {
            let mut exprs = Vec::new();
            for t in i.transact_items() {
                let (cond, upd, n, v) = if let Some(p) = t.put() {
                    (
                        p.condition_expression(),
                        None,
                        p.expression_attribute_names(),
                        p.expression_attribute_values(),
                    )
                } else if let Some(d) = t.delete() {
                    (
                        d.condition_expression(),
                        None,
                        d.expression_attribute_names(),
                        d.expression_attribute_values(),
                    )
                } else if let Some(u) = t.update() {
                    (
                        u.condition_expression(),
                        Some(u.update_expression()),
                        u.expression_attribute_names(),
                        u.expression_attribute_values(),
                    )
                } else if let Some(c) = t.condition_check() {
                    (
                        Some(c.condition_expression()),
                        None,
                        c.expression_attribute_names(),
                        c.expression_attribute_values(),
                    )
                } else {
                    return Err(Failure::validation(
                        "a TransactWriteItem needs one of Put, Delete, Update, ConditionCheck",
                    ));
                };
                exprs.push(compile([cond, None, None, upd, None], n, v)?);
            }
            let keys_input = Arc::clone(&i);
            let mut p = bind::<op::TransactWriteItems>(i, exprs, Access::IdempotentWrite)?;
            p.keys = Some(Box::new(move |c| {
                codec::transact_write_keys(&keys_input, c)
            }));
            Ok(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
    use aws_sdk_dynamodb::operation::get_item::GetItemInput;
    use aws_sdk_dynamodb::operation::put_item::PutItemInput;
    use aws_sdk_dynamodb::operation::query::QueryInput;
    use aws_sdk_dynamodb::operation::scan::ScanInput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    use aws_sdk_dynamodb::types::{
        AttributeValueUpdate, ComparisonOperator, Condition, ExpectedAttributeValue,
        KeysAndAttributes,
    };

    fn validation(f: Failure) -> String {
        match f {
            Failure::Service {
                name,
                message,
                status,
                ..
            } => {
                assert_eq!((name.as_str(), status), ("ValidationException", 400));
                message
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn legacy_parameters_are_rejected_with_the_expression_to_use() {
        let k = ("pk".to_owned(), AttributeValue::S("k".into()));
        let cases: Vec<(DaxInput, &str, &str)> = vec![
            (
                DaxInput::GetItem(Arc::new(
                    GetItemInput::builder()
                        .table_name("t")
                        .key(k.0.clone(), k.1.clone())
                        .attributes_to_get("a")
                        .build()
                        .unwrap(),
                )),
                "AttributesToGet",
                "ProjectionExpression",
            ),
            (
                DaxInput::PutItem(Arc::new(
                    PutItemInput::builder()
                        .table_name("t")
                        .item(k.0.clone(), k.1.clone())
                        .expected("a", ExpectedAttributeValue::builder().exists(false).build())
                        .build()
                        .unwrap(),
                )),
                "Expected",
                "ConditionExpression",
            ),
            (
                DaxInput::UpdateItem(Arc::new(
                    aws_sdk_dynamodb::operation::update_item::UpdateItemInput::builder()
                        .table_name("t")
                        .key(k.0.clone(), k.1.clone())
                        .attribute_updates("a", AttributeValueUpdate::builder().build())
                        .build()
                        .unwrap(),
                )),
                "AttributeUpdates",
                "UpdateExpression",
            ),
            (
                DaxInput::Query(Arc::new(
                    QueryInput::builder()
                        .table_name("t")
                        .key_conditions(
                            "pk",
                            Condition::builder()
                                .comparison_operator(ComparisonOperator::Eq)
                                .attribute_value_list(k.1.clone())
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )),
                "KeyConditions",
                "KeyConditionExpression",
            ),
            (
                DaxInput::Scan(Arc::new(
                    ScanInput::builder()
                        .table_name("t")
                        .scan_filter(
                            "a",
                            Condition::builder()
                                .comparison_operator(ComparisonOperator::NotNull)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )),
                "ScanFilter",
                "FilterExpression",
            ),
            (
                DaxInput::Scan(Arc::new(
                    ScanInput::builder()
                        .table_name("t")
                        .conditional_operator(aws_sdk_dynamodb::types::ConditionalOperator::And)
                        .build()
                        .unwrap(),
                )),
                "ConditionalOperator",
                "ConditionExpression or FilterExpression",
            ),
            (
                DaxInput::BatchGetItem(Arc::new(
                    BatchGetItemInput::builder()
                        .request_items(
                            "t",
                            KeysAndAttributes::builder()
                                .keys(HashMap::from([k.clone()]))
                                .attributes_to_get("a")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )),
                "AttributesToGet",
                "ProjectionExpression",
            ),
        ];
        for (input, param, instead) in cases {
            let msg = validation(prepare(input).unwrap_err());
            assert!(msg.starts_with(param), "{msg}");
            assert!(msg.contains(&format!("use {instead} instead")), "{msg}");
        }
    }

    #[test]
    fn bad_expressions_fail_before_any_io() {
        let input = GetItemInput::builder()
            .table_name("t")
            .key("pk", AttributeValue::S("k".into()))
            .projection_expression("#missing")
            .build()
            .unwrap();
        let msg = validation(prepare(DaxInput::GetItem(Arc::new(input))).unwrap_err());
        assert!(msg.contains("#missing"), "{msg}");
    }

    #[test]
    fn retry_safety_per_operation() {
        let k = || HashMap::from([("pk".to_owned(), AttributeValue::S("k".into()))]);
        let get = prepare(DaxInput::GetItem(Arc::new(
            GetItemInput::builder()
                .table_name("t")
                .set_key(Some(k()))
                .build()
                .unwrap(),
        )))
        .unwrap();
        assert!(!get.write && get.idempotent);
        let put = prepare(DaxInput::PutItem(Arc::new(
            PutItemInput::builder()
                .table_name("t")
                .set_item(Some(k()))
                .build()
                .unwrap(),
        )))
        .unwrap();
        assert!(put.write && !put.idempotent);
        let tw = prepare(DaxInput::TransactWriteItems(Arc::new(
            TransactWriteItemsInput::builder()
                .client_request_token("x")
                .build()
                .unwrap(),
        )))
        .unwrap();
        assert!(tw.write && tw.idempotent);

        assert!(is_dax_operation("TransactWriteItems") && !is_dax_operation("DescribeTable"));
    }
}
