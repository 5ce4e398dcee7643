//! Per-operation execution: legacy-parameter checks and expression compilation (before any
//! I/O), then node choice, connection, metadata control calls, the request, the reply, and
//! what a failure means for a retry.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};

use super::error::DaxError;
use crate::dax::codec::{self, CodecError, Item, Method, ProjectionPaths, Reply};
use crate::dax::expr;

macro_rules! ops {
    ($($op:ident($input:ty, $output:ty)),* $(,)?) => {
        /// The typed input of one of the ten DAX data operations, shared (an attempt's
        /// encoder and decoder hold it; a retry takes it again without copying the items).
        #[derive(Debug, Clone)]
        pub(crate) enum DaxInput { $($op(Arc<$input>)),* }

        /// Its typed output.
        #[derive(Debug)]
        pub(crate) enum DaxOutput { $($op($output)),* }

        impl DaxInput {
            /// The typed input behind the SDK's type-erased one, if it is a DAX operation.
            pub(crate) fn from_erased(input: &Input) -> Option<Self> {
                $(if let Some(i) = input.downcast_ref::<$input>() {
                    return Some(DaxInput::$op(Arc::new(i.clone())));
                })*
                None
            }

            /// The operation name (as in `x-amz-target`).
            pub(crate) fn name(&self) -> &'static str {
                match self { $(DaxInput::$op(_) => stringify!($op)),* }
            }
        }

        impl DaxOutput {
            /// The output as the SDK's type-erased value.
            pub(crate) fn erase(self) -> Output {
                match self { $(DaxOutput::$op(o) => Output::erase(o)),* }
            }
        }

        /// Whether an `x-amz-target` operation name is one DAX serves.
        pub(crate) fn is_dax_operation(name: &str) -> bool {
            matches!(name, $(stringify!($op))|*)
        }
    };
}

ops!(
    GetItem(GetItemInput, GetItemOutput),
    PutItem(PutItemInput, PutItemOutput),
    UpdateItem(
        aws_sdk_dynamodb::operation::update_item::UpdateItemInput,
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput
    ),
    DeleteItem(DeleteItemInput, DeleteItemOutput),
    Query(QueryInput, QueryOutput),
    Scan(ScanInput, ScanOutput),
    BatchGetItem(BatchGetItemInput, BatchGetItemOutput),
    BatchWriteItem(BatchWriteItemInput, BatchWriteItemOutput),
    TransactGetItems(TransactGetItemsInput, TransactGetItemsOutput),
    TransactWriteItems(TransactWriteItemsInput, TransactWriteItemsOutput),
);

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

/// Compiles one request's expressions into the codec's form.
fn compile(
    texts: [Option<&str>; 5],
    n: Option<&HashMap<String, String>>,
    v: Option<&HashMap<String, AttributeValue>>,
) -> Result<codec::Expressions, Failure> {
    let [condition, key_condition, filter, update, projection] = texts;
    let mut e = expr::Expressions::new();
    e.condition = condition.map(str::to_owned);
    e.key_condition = key_condition.map(str::to_owned);
    e.filter = filter.map(str::to_owned);
    e.update = update.map(str::to_owned);
    e.projection = projection.map(str::to_owned);
    e.expression_attribute_names = names(n);
    e.expression_attribute_values = values(v);
    let c = expr::compile(&e).map_err(|e| Failure::validation(e.to_string()))?;
    let b = |x: Option<bytes::Bytes>| x.map(|b| b.to_vec());
    Ok(codec::Expressions {
        projection: b(c.projection),
        condition: b(c.condition),
        key_condition: b(c.key_condition),
        filter: b(c.filter),
        update: b(c.update),
    })
}

fn paths(e: &codec::Expressions) -> Result<Option<ProjectionPaths>, Failure> {
    e.projection
        .as_deref()
        .map(ProjectionPaths::from_compiled)
        .transpose()
        .map_err(|e| Failure::validation(format!("bad ProjectionExpression: {e}")))
}

/// Checks and compiles `input`.
pub(crate) fn prepare(input: DaxInput) -> Result<Prepared, Failure> {
    if let Some((param, instead)) = legacy_parameter(&input) {
        return Err(Failure::validation(format!(
            "{param} is a legacy parameter, which DAX clients must rewrite and this one does not: use {instead} instead (in {})",
            input.name()
        )));
    }
    macro_rules! bind {
        ($method:ident, $write:expr, $idem:expr, $i:ident, $e:ident,
         |$ci:ident, $ce:ident, $cat:ident, $out:ident| $enc:expr,
         |$di:ident, $de:ident, $frame:ident, $dcat:ident| $dec:expr) => {{
            let (enc_i, enc_e) = ($i, Arc::new($e));
            let (dec_i, dec_e) = (enc_i.clone(), enc_e.clone());
            let encode: Encode = {
                let ($ci, $ce) = (enc_i, enc_e);
                Box::new(move |$cat, $out| $enc)
            };
            let decode: Decode = {
                let ($di, $de) = (dec_i, dec_e);
                Box::new(move |$frame, $dcat| $dec)
            };
            Prepared {
                method: Method::$method,
                write: $write,
                idempotent: $idem,
                encode,
                decode,
                keys: None,
            }
        }};
    }
    Ok(match input {
        DaxInput::GetItem(i) => {
            let e = compile(
                [None, None, None, None, i.projection_expression()],
                i.expression_attribute_names(),
                None,
            )?;
            let p = paths(&e)?;
            bind!(
                GetItem,
                false,
                true,
                i,
                e,
                |i, e, c, out| codec::encode_get_item_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_get_item_response(f, &i, p.as_ref(), c)?.map(DaxOutput::GetItem)
                )
            )
        }
        DaxInput::PutItem(i) => {
            let e = compile(
                [i.condition_expression(), None, None, None, None],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind!(
                PutItem,
                true,
                false,
                i,
                e,
                |i, e, c, out| codec::encode_put_item_request(&i, &e, c, out),
                |i, _e, f, c| Ok(codec::decode_put_item_response(f, &i, c)?.map(DaxOutput::PutItem))
            )
        }
        DaxInput::DeleteItem(i) => {
            let e = compile(
                [i.condition_expression(), None, None, None, None],
                i.expression_attribute_names(),
                i.expression_attribute_values(),
            )?;
            bind!(
                DeleteItem,
                true,
                false,
                i,
                e,
                |i, e, c, out| codec::encode_delete_item_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_delete_item_response(f, &i, c)?.map(DaxOutput::DeleteItem)
                )
            )
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
            bind!(
                UpdateItem,
                true,
                false,
                i,
                e,
                |i, e, c, out| codec::encode_update_item_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_update_item_response(f, &i, c)?.map(DaxOutput::UpdateItem)
                )
            )
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
            let p = paths(&e)?;
            bind!(
                Query,
                false,
                true,
                i,
                e,
                |i, e, c, out| codec::encode_query_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_query_response(f, &i, p.as_ref(), c)?.map(DaxOutput::Query)
                )
            )
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
            let p = paths(&e)?;
            bind!(
                Scan,
                false,
                true,
                i,
                e,
                |i, e, c, out| codec::encode_scan_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_scan_response(f, &i, p.as_ref(), c)?.map(DaxOutput::Scan)
                )
            )
        }
        DaxInput::BatchGetItem(i) => {
            let mut exprs = HashMap::new();
            let mut projections = HashMap::new();
            for (table, k) in i.request_items().into_iter().flatten() {
                let e = compile(
                    [None, None, None, None, k.projection_expression()],
                    k.expression_attribute_names(),
                    None,
                )?;
                if let Some(p) = paths(&e)? {
                    projections.insert(table.clone(), p);
                }
                exprs.insert(table.clone(), e);
            }
            bind!(
                BatchGetItem,
                false,
                true,
                i,
                exprs,
                |i, e, c, out| codec::encode_batch_get_item_request(&i, &e, c, out),
                |i, _e, f, c| Ok(
                    codec::decode_batch_get_item_response(f, &i, &projections, c)?
                        .map(DaxOutput::BatchGetItem)
                )
            )
        }
        DaxInput::BatchWriteItem(i) => {
            let e = ();
            bind!(
                BatchWriteItem,
                true,
                false,
                i,
                e,
                |i, _e, c, out| codec::encode_batch_write_item_request(&i, c, out),
                |i, _e, f, c| Ok(codec::decode_batch_write_item_response(f, &i, c)?
                    .map(DaxOutput::BatchWriteItem))
            )
        }
        DaxInput::TransactGetItems(i) => {
            let mut exprs = Vec::new();
            let mut projections = Vec::new();
            for t in i.transact_items() {
                let g = t.get();
                let e = compile(
                    [
                        None,
                        None,
                        None,
                        None,
                        g.and_then(|g| g.projection_expression()),
                    ],
                    g.and_then(|g| g.expression_attribute_names()),
                    None,
                )?;
                projections.push(paths(&e)?);
                exprs.push(e);
            }
            bind!(
                TransactGetItems,
                false,
                true,
                i,
                exprs,
                |i, e, c, out| codec::encode_transact_get_items_request(&i, &e, c, out),
                |i, _e, f, c| Ok(codec::decode_transact_get_items_response(
                    f,
                    &i,
                    &projections,
                    c
                )?
                .map(DaxOutput::TransactGetItems))
            )
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
            let keys_input = i.clone();
            let mut p = bind!(
                TransactWriteItems,
                true,
                true,
                i,
                exprs,
                |i, e, c, out| codec::encode_transact_write_items_request(&i, &e, c, out),
                |i, _e, f, c| Ok(codec::decode_transact_write_items_response(f, &i, c)?
                    .map(DaxOutput::TransactWriteItems))
            );
            p.keys = Some(Box::new(move |c| {
                codec::transact_write_keys(&keys_input, c)
            }));
            p
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
