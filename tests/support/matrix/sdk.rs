//! The Rust runner: matrix rows (DynamoDB JSON) -> typed `aws_sdk_dynamodb` calls -> the shared
//! result format. Works with any transport behind the client (plain HTTP to the local stack for
//! side `sdk`, our DAX client for `rust-dax`). Hand-written because the SDK has no DynamoDB JSON
//! (de)serialiser for its request/response types.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete,
    DeleteRequest, Get, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    KeysAndAttributes, LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, Put,
    PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, Select,
    TableStatus, TransactGetItem, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::{base64, Blob};
use serde_json::{json, Map, Value};

use super::{Matrix, Row, RowResult};

type Item = HashMap<String, AttributeValue>;
type R<T> = Result<T, String>;

// ------------------------------------------------------------------ AttributeValue <-> JSON

/// DynamoDB JSON (`{"S": ..}`, `{"N": ".."}`, `{"B": "<base64>"}`, ...) -> AttributeValue.
pub fn av_from_json(v: &Value) -> R<AttributeValue> {
    let m = v
        .as_object()
        .filter(|m| m.len() == 1)
        .ok_or_else(|| format!("an AttributeValue is an object with one type key, not {v}"))?;
    let (t, x) = m.iter().next().expect("one entry");
    let strs = |x: &Value| -> R<Vec<String>> {
        x.as_array()
            .ok_or_else(|| format!("{t} wants a list, not {x}"))?
            .iter()
            .map(|e| {
                e.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{t}: {e} is not a string"))
            })
            .collect()
    };
    let blob = |e: &Value| -> R<Blob> {
        let s = e
            .as_str()
            .ok_or_else(|| format!("binary wants base64 text, not {e}"))?;
        base64::decode(s)
            .map(Blob::new)
            .map_err(|err| format!("bad base64 {s:?}: {err}"))
    };
    let text = |x: &Value| -> R<String> {
        x.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{t} wants a string, not {x}"))
    };
    Ok(match t.as_str() {
        "S" => AttributeValue::S(text(x)?),
        "N" => AttributeValue::N(text(x)?),
        "B" => AttributeValue::B(blob(x)?),
        "BOOL" => AttributeValue::Bool(x.as_bool().ok_or("BOOL wants true/false")?),
        "NULL" => AttributeValue::Null(x.as_bool().ok_or("NULL wants true")?),
        "SS" => AttributeValue::Ss(strs(x)?),
        "NS" => AttributeValue::Ns(strs(x)?),
        "BS" => AttributeValue::Bs(
            x.as_array()
                .ok_or("BS wants a list")?
                .iter()
                .map(blob)
                .collect::<R<_>>()?,
        ),
        "L" => AttributeValue::L(
            x.as_array()
                .ok_or("L wants a list")?
                .iter()
                .map(av_from_json)
                .collect::<R<_>>()?,
        ),
        "M" => AttributeValue::M(item_from_json(x)?),
        other => return Err(format!("unknown AttributeValue type {other:?}")),
    })
}

/// AttributeValue -> DynamoDB JSON (binary as base64, sets sorted).
pub fn av_to_json(v: &AttributeValue) -> Value {
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64::encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(s) => json!({ "SS": sorted(s.clone()) }),
        AttributeValue::Ns(s) => json!({ "NS": sorted(s.clone()) }),
        AttributeValue::Bs(s) => {
            json!({ "BS": sorted(s.iter().map(|b| base64::encode(b.as_ref())).collect()) })
        }
        AttributeValue::L(l) => json!({ "L": l.iter().map(av_to_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_to_json(m) }),
        other => json!({ "$unknown": format!("{other:?}") }),
    }
}

fn item_from_json(v: &Value) -> R<Item> {
    v.as_object()
        .ok_or_else(|| format!("an item is an object, not {v}"))?
        .iter()
        .map(|(k, x)| Ok((k.clone(), av_from_json(x)?)))
        .collect()
}

fn item_to_json(m: &Item) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), av_to_json(v))).collect())
}

// ------------------------------------------------------------------ reading request params

/// One request object: typed getters, and a check that it has no field this runner would ignore.
struct P<'a> {
    what: String,
    m: &'a Map<String, Value>,
}

impl<'a> P<'a> {
    fn new(what: &str, v: &'a Value, allowed: &[&str]) -> R<P<'a>> {
        let m = v
            .as_object()
            .ok_or_else(|| format!("{what}: params are an object, not {v}"))?;
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "{what}: the Rust runner does not know the field {k:?}"
            ));
        }
        Ok(P {
            what: what.to_owned(),
            m,
        })
    }
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.m.get(k).filter(|v| !v.is_null())
    }
    fn str(&self, k: &str) -> R<String> {
        self.opt_str(k)?
            .ok_or_else(|| format!("{}: {k} is required", self.what))
    }
    fn opt_str(&self, k: &str) -> R<Option<String>> {
        self.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{}: {k} is text", self.what))
            })
            .transpose()
    }
    fn opt_bool(&self, k: &str) -> R<Option<bool>> {
        self.get(k)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| format!("{}: {k} is a bool", self.what))
            })
            .transpose()
    }
    fn opt_i32(&self, k: &str) -> R<Option<i32>> {
        self.get(k)
            .map(|v| {
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| format!("{}: {k} is an int", self.what))
            })
            .transpose()
    }
    fn item(&self, k: &str) -> R<Item> {
        self.opt_item(k)?
            .ok_or_else(|| format!("{}: {k} is required", self.what))
    }
    fn opt_item(&self, k: &str) -> R<Option<Item>> {
        self.get(k).map(item_from_json).transpose()
    }
    fn names(&self) -> R<Option<HashMap<String, String>>> {
        self.get("ExpressionAttributeNames")
            .map(|v| {
                v.as_object()
                    .ok_or("ExpressionAttributeNames is an object")?
                    .iter()
                    .map(|(k, x)| Ok((k.clone(), x.as_str().ok_or("a name is text")?.to_owned())))
                    .collect::<R<_>>()
            })
            .transpose()
    }
    fn values(&self) -> R<Option<Item>> {
        self.opt_item("ExpressionAttributeValues")
    }
    fn return_values(&self) -> R<Option<ReturnValue>> {
        Ok(self
            .opt_str("ReturnValues")?
            .map(|s| ReturnValue::from(s.as_str())))
    }
    fn rvoccf(&self) -> R<Option<ReturnValuesOnConditionCheckFailure>> {
        Ok(self
            .opt_str("ReturnValuesOnConditionCheckFailure")?
            .map(|s| ReturnValuesOnConditionCheckFailure::from(s.as_str())))
    }
    fn list(&self, k: &str) -> R<&'a Vec<Value>> {
        self.get(k)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: {k} is a list", self.what))
    }
    fn object(&self, k: &str) -> R<&'a Map<String, Value>> {
        self.get(k)
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{}: {k} is an object", self.what))
    }
}

const EXPR: [&str; 2] = ["ExpressionAttributeNames", "ExpressionAttributeValues"];

fn with(base: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(more).copied().collect()
}

// ------------------------------------------------------------------ output normalisation

fn items_json(items: &[Item]) -> Value {
    Value::Array(items.iter().map(item_to_json).collect())
}

/// Drops empty and absent fields (an empty map/list and an absent one are the same).
fn output(fields: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| {
                let v = v?;
                let empty = match &v {
                    Value::Null => true,
                    Value::Object(m) => m.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    _ => false,
                };
                (!empty).then(|| (k.to_owned(), v))
            })
            .collect(),
    )
}

fn opt_item_json(i: Option<&Item>) -> Option<Value> {
    i.map(item_to_json)
}

fn write_request_json(w: &WriteRequest) -> Value {
    let mut m = Map::new();
    if let Some(p) = w.put_request() {
        m.insert(
            "PutRequest".into(),
            json!({ "Item": item_to_json(p.item()) }),
        );
    }
    if let Some(d) = w.delete_request() {
        m.insert(
            "DeleteRequest".into(),
            json!({ "Key": item_to_json(d.key()) }),
        );
    }
    Value::Object(m)
}

fn keys_and_attributes_json(k: &KeysAndAttributes) -> Value {
    output(vec![
        ("Keys", Some(items_json(k.keys()))),
        (
            "ProjectionExpression",
            k.projection_expression().map(|s| json!(s)),
        ),
        (
            "ExpressionAttributeNames",
            k.expression_attribute_names().map(|n| json!(n)),
        ),
        ("ConsistentRead", k.consistent_read().map(|b| json!(b))),
    ])
}

// ------------------------------------------------------------------ errors

/// The variant name of a generated operation error, from its derived Debug (`Variant(..)`).
fn variant_name(debug: &str) -> &str {
    let end = debug
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(debug.len());
    &debug[..end]
}

fn error_result<E, Resp>(
    id: &str,
    op: &str,
    err: SdkError<E, Resp>,
    details: impl Fn(&E) -> Value,
) -> RowResult
where
    E: ProvideErrorMetadata + Debug + std::error::Error + 'static,
    Resp: Debug,
{
    let message = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("Unhandled").to_owned();
            let native = format!("{op}Error::{}", variant_name(&format!("{e:?}")));
            let msg = e.message().map_or(message, str::to_owned);
            RowResult::err(id, &code, msg, native, details(e))
        }
        other => {
            let kind = variant_name(&format!("{other:?}")).to_owned();
            RowResult::err(id, &kind, message, format!("SdkError::{kind}"), json!({}))
        }
    }
}

fn reasons_json(reasons: &[CancellationReason]) -> Value {
    Value::Array(
        reasons
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("Code".into(), json!(r.code()));
                if let Some(i) = r.item().filter(|i| !i.is_empty()) {
                    m.insert("Item".into(), item_to_json(i));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn ccf_details(item: Option<&Item>) -> Value {
    match item.filter(|i| !i.is_empty()) {
        Some(i) => json!({ "Item": item_to_json(i) }),
        None => json!({}),
    }
}

// ------------------------------------------------------------------ operations

/// A client straight to the local stack with account A's user (the matrix tables' owner) and no
/// retries: the admin client for tables, and the client of side `sdk`.
pub async fn stack_client(stack: &crate::support::Stack) -> Client {
    let conf = stack.sdk_config(stack.a_credentials()).await;
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&conf)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// Side `sdk` start to end: fresh tables, every row, tables deleted.
pub async fn run_sdk_side(stack: &crate::support::Stack) -> (Matrix, Vec<RowResult>) {
    let client = stack_client(stack).await;
    let m = Matrix::fresh("sdk");
    create_tables(&client, &m).await;
    let results = run_rust(&client, &m).await;
    delete_tables(&client, &m).await;
    (m, results)
}

/// Runs every row in order on `client`; one result per row.
pub async fn run_rust(client: &Client, m: &Matrix) -> Vec<RowResult> {
    let mut out = Vec::with_capacity(m.rows.len());
    for row in &m.rows {
        let mut r = match run_row(client, row).await {
            Ok(r) => r,
            Err(why) => RowResult::err(
                &row.id,
                "MatrixParamError",
                why,
                "matrix::sdk".into(),
                json!({}),
            ),
        };
        r.output = m.unprefix(&r.output);
        r.details = m.unprefix(&r.details);
        out.push(r);
    }
    out
}

async fn run_row(c: &Client, row: &Row) -> R<RowResult> {
    let id = row.id.as_str();
    let p = &row.params;
    Ok(match row.op.as_str() {
        "GetItem" => {
            let p = P::new(
                id,
                p,
                &[
                    "TableName",
                    "Key",
                    "ProjectionExpression",
                    "ExpressionAttributeNames",
                    "ConsistentRead",
                ],
            )?;
            let r = c
                .get_item()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .set_projection_expression(p.opt_str("ProjectionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_consistent_read(p.opt_bool("ConsistentRead")?)
                .send()
                .await;
            match r {
                Ok(o) => RowResult::ok(id, output(vec![("Item", opt_item_json(o.item()))])),
                Err(e) => error_result(id, "GetItem", e, |_| json!({})),
            }
        }
        "PutItem" => {
            let p = P::new(
                id,
                p,
                &with(
                    &EXPR,
                    &[
                        "TableName",
                        "Item",
                        "ConditionExpression",
                        "ReturnValues",
                        "ReturnValuesOnConditionCheckFailure",
                    ],
                ),
            )?;
            let r = c
                .put_item()
                .table_name(p.str("TableName")?)
                .set_item(Some(p.item("Item")?))
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values(p.return_values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .send()
                .await;
            match r {
                Ok(o) => RowResult::ok(
                    id,
                    output(vec![("Attributes", opt_item_json(o.attributes()))]),
                ),
                Err(e) => error_result(id, "PutItem", e, |e| {
                    match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(x) => ccf_details(x.item()),
                    _ => json!({}),
                }
                }),
            }
        }
        "UpdateItem" => {
            let p = P::new(
                id,
                p,
                &with(
                    &EXPR,
                    &[
                        "TableName",
                        "Key",
                        "UpdateExpression",
                        "ConditionExpression",
                        "ReturnValues",
                        "ReturnValuesOnConditionCheckFailure",
                    ],
                ),
            )?;
            let r = c
                .update_item()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .set_update_expression(p.opt_str("UpdateExpression")?)
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values(p.return_values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .send()
                .await;
            match r {
                Ok(o) => RowResult::ok(
                    id,
                    output(vec![("Attributes", opt_item_json(o.attributes()))]),
                ),
                Err(e) => error_result(id, "UpdateItem", e, |e| {
                    match e {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(x) => ccf_details(x.item()),
                    _ => json!({}),
                }
                }),
            }
        }
        "DeleteItem" => {
            let p = P::new(
                id,
                p,
                &with(
                    &EXPR,
                    &[
                        "TableName",
                        "Key",
                        "ConditionExpression",
                        "ReturnValues",
                        "ReturnValuesOnConditionCheckFailure",
                    ],
                ),
            )?;
            let r = c
                .delete_item()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values(p.return_values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .send()
                .await;
            match r {
                Ok(o) => RowResult::ok(
                    id,
                    output(vec![("Attributes", opt_item_json(o.attributes()))]),
                ),
                Err(e) => error_result(id, "DeleteItem", e, |e| {
                    match e {
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(x) => ccf_details(x.item()),
                    _ => json!({}),
                }
                }),
            }
        }
        "Query" => query(c, row).await?,
        "Scan" => scan(c, row).await?,
        "BatchGetItem" => {
            let p = P::new(id, p, &["RequestItems"])?;
            let mut req = HashMap::new();
            for (table, ka) in p.object("RequestItems")? {
                let k = P::new(
                    &format!("{id} RequestItems.{table}"),
                    ka,
                    &[
                        "Keys",
                        "ProjectionExpression",
                        "ExpressionAttributeNames",
                        "ConsistentRead",
                    ],
                )?;
                let keys = k
                    .list("Keys")?
                    .iter()
                    .map(item_from_json)
                    .collect::<R<Vec<_>>>()?;
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .set_projection_expression(k.opt_str("ProjectionExpression")?)
                    .set_expression_attribute_names(k.names()?)
                    .set_consistent_read(k.opt_bool("ConsistentRead")?)
                    .build()
                    .map_err(|e| e.to_string())?;
                req.insert(table.clone(), ka);
            }
            match c.batch_get_item().set_request_items(Some(req)).send().await {
                Ok(o) => {
                    let responses = o.responses().map(|r| {
                        Value::Object(
                            r.iter()
                                .map(|(t, items)| {
                                    let mut v: Vec<Value> =
                                        items.iter().map(item_to_json).collect();
                                    v.sort_by_key(|i| super::canonical(i).to_string());
                                    (t.clone(), Value::Array(v))
                                })
                                .collect(),
                        )
                    });
                    let unprocessed = o.unprocessed_keys().map(|u| {
                        Value::Object(
                            u.iter()
                                .map(|(t, k)| (t.clone(), keys_and_attributes_json(k)))
                                .collect(),
                        )
                    });
                    RowResult::ok(
                        id,
                        output(vec![
                            ("Responses", responses),
                            ("UnprocessedKeys", unprocessed),
                        ]),
                    )
                }
                Err(e) => error_result(id, "BatchGetItem", e, |_| json!({})),
            }
        }
        "BatchWriteItem" => {
            let p = P::new(id, p, &["RequestItems"])?;
            let mut req = HashMap::new();
            for (table, writes) in p.object("RequestItems")? {
                let what = format!("{id} RequestItems.{table}");
                let writes = writes
                    .as_array()
                    .ok_or_else(|| format!("{what} is a list"))?
                    .iter()
                    .map(|w| {
                        let w = P::new(&what, w, &["PutRequest", "DeleteRequest"])?;
                        let mut b = WriteRequest::builder();
                        if let Some(put) = w.get("PutRequest") {
                            let put = P::new(&what, put, &["Item"])?;
                            b = b.put_request(
                                PutRequest::builder()
                                    .set_item(Some(put.item("Item")?))
                                    .build()
                                    .map_err(|e| e.to_string())?,
                            );
                        }
                        if let Some(del) = w.get("DeleteRequest") {
                            let del = P::new(&what, del, &["Key"])?;
                            b = b.delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(del.item("Key")?))
                                    .build()
                                    .map_err(|e| e.to_string())?,
                            );
                        }
                        Ok(b.build())
                    })
                    .collect::<R<Vec<_>>>()?;
                req.insert(table.clone(), writes);
            }
            match c
                .batch_write_item()
                .set_request_items(Some(req))
                .send()
                .await
            {
                Ok(o) => {
                    let unprocessed = o.unprocessed_items().map(|u| {
                        Value::Object(
                            u.iter()
                                .map(|(t, w)| {
                                    (
                                        t.clone(),
                                        Value::Array(w.iter().map(write_request_json).collect()),
                                    )
                                })
                                .collect(),
                        )
                    });
                    RowResult::ok(id, output(vec![("UnprocessedItems", unprocessed)]))
                }
                Err(e) => error_result(id, "BatchWriteItem", e, |_| json!({})),
            }
        }
        "TransactGetItems" => {
            let p = P::new(id, p, &["TransactItems"])?;
            let items = p
                .list("TransactItems")?
                .iter()
                .map(|t| {
                    let t = P::new(id, t, &["Get"])?;
                    let g = P::new(
                        id,
                        t.get("Get").ok_or("TransactItems[]: Get is required")?,
                        &[
                            "TableName",
                            "Key",
                            "ProjectionExpression",
                            "ExpressionAttributeNames",
                        ],
                    )?;
                    let get = Get::builder()
                        .table_name(g.str("TableName")?)
                        .set_key(Some(g.item("Key")?))
                        .set_projection_expression(g.opt_str("ProjectionExpression")?)
                        .set_expression_attribute_names(g.names()?)
                        .build()
                        .map_err(|e| e.to_string())?;
                    Ok(TransactGetItem::builder().get(get).build())
                })
                .collect::<R<Vec<_>>>()?;
            match c
                .transact_get_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(o) => {
                    let responses = o.responses().iter().map(|r| match r.item() {
                        Some(i) if !i.is_empty() => json!({ "Item": item_to_json(i) }),
                        _ => json!({}),
                    });
                    RowResult::ok(
                        id,
                        output(vec![("Responses", Some(Value::Array(responses.collect())))]),
                    )
                }
                Err(e) => error_result(id, "TransactGetItems", e, |e| {
                    match e {
                    aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError::TransactionCanceledException(x) => {
                        json!({ "CancellationReasons": reasons_json(x.cancellation_reasons()) })
                    }
                    _ => json!({}),
                }
                }),
            }
        }
        "TransactWriteItems" => {
            let p = P::new(id, p, &["TransactItems", "ClientRequestToken"])?;
            let items = p
                .list("TransactItems")?
                .iter()
                .map(|t| transact_write_item(id, t))
                .collect::<R<Vec<_>>>()?;
            let r = c
                .transact_write_items()
                .set_transact_items(Some(items))
                .set_client_request_token(p.opt_str("ClientRequestToken")?)
                .send()
                .await;
            match r {
                Ok(_) => RowResult::ok(id, json!({})),
                Err(e) => error_result(id, "TransactWriteItems", e, |e| {
                    match e {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(x) => {
                        json!({ "CancellationReasons": reasons_json(x.cancellation_reasons()) })
                    }
                    _ => json!({}),
                }
                }),
            }
        }
        other => return Err(format!("{id}: op {other}")),
    })
}

fn transact_part<'a>(id: &str, v: &'a Value, more: &[&'static str]) -> R<P<'a>> {
    P::new(
        id,
        v,
        &with(
            &with(
                &EXPR,
                &[
                    "TableName",
                    "ConditionExpression",
                    "ReturnValuesOnConditionCheckFailure",
                ],
            ),
            more,
        ),
    )
}

fn transact_write_item(id: &str, t: &Value) -> R<TransactWriteItem> {
    let t = P::new(id, t, &["Put", "Update", "Delete", "ConditionCheck"])?;
    let common = |v, more| transact_part(id, v, more);
    let mut b = TransactWriteItem::builder();
    if let Some(v) = t.get("Put") {
        let p = common(v, &["Item"])?;
        b = b.put(
            Put::builder()
                .table_name(p.str("TableName")?)
                .set_item(Some(p.item("Item")?))
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(v) = t.get("Update") {
        let p = common(v, &["Key", "UpdateExpression"])?;
        b = b.update(
            Update::builder()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .update_expression(p.str("UpdateExpression")?)
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(v) = t.get("Delete") {
        let p = common(v, &["Key"])?;
        b = b.delete(
            Delete::builder()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .set_condition_expression(p.opt_str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(v) = t.get("ConditionCheck") {
        let p = common(v, &["Key"])?;
        b = b.condition_check(
            ConditionCheck::builder()
                .table_name(p.str("TableName")?)
                .set_key(Some(p.item("Key")?))
                .condition_expression(p.str("ConditionExpression")?)
                .set_expression_attribute_names(p.names()?)
                .set_expression_attribute_values(p.values()?)
                .set_return_values_on_condition_check_failure(p.rvoccf()?)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(b.build())
}

/// Pages of a Query/Scan: `(items, count, scanned, last key)` per call.
struct Page {
    items: Vec<Item>,
    count: i32,
    scanned: i32,
    last: Option<Item>,
}

fn page_output(pages: Vec<Page>, paginate: bool) -> Value {
    if paginate {
        let n = pages.len();
        let count: i32 = pages.iter().map(|p| p.count).sum();
        let items: Vec<Item> = pages.into_iter().flat_map(|p| p.items).collect();
        output(vec![
            ("Items", Some(items_json(&items))),
            ("Count", Some(json!(count))),
            ("Pages", Some(json!(n))),
        ])
    } else {
        let p = pages.into_iter().next().expect("one page");
        output(vec![
            ("Items", Some(items_json(&p.items))),
            ("Count", Some(json!(p.count))),
            ("ScannedCount", Some(json!(p.scanned))),
            ("LastEvaluatedKey", opt_item_json(p.last.as_ref())),
        ])
    }
}

/// A safety net against a server that never stops returning LastEvaluatedKey.
const MAX_PAGES: usize = 1000;

async fn query(c: &Client, row: &Row) -> R<RowResult> {
    let id = row.id.as_str();
    let p = P::new(
        id,
        &row.params,
        &with(
            &EXPR,
            &[
                "TableName",
                "IndexName",
                "KeyConditionExpression",
                "FilterExpression",
                "ProjectionExpression",
                "Limit",
                "ScanIndexForward",
                "ExclusiveStartKey",
                "ConsistentRead",
                "Select",
            ],
        ),
    )?;
    let base = c
        .query()
        .table_name(p.str("TableName")?)
        .set_index_name(p.opt_str("IndexName")?)
        .set_key_condition_expression(p.opt_str("KeyConditionExpression")?)
        .set_filter_expression(p.opt_str("FilterExpression")?)
        .set_projection_expression(p.opt_str("ProjectionExpression")?)
        .set_expression_attribute_names(p.names()?)
        .set_expression_attribute_values(p.values()?)
        .set_limit(p.opt_i32("Limit")?)
        .set_scan_index_forward(p.opt_bool("ScanIndexForward")?)
        .set_consistent_read(p.opt_bool("ConsistentRead")?)
        .set_select(p.opt_str("Select")?.map(|s| Select::from(s.as_str())));
    let mut start = p.opt_item("ExclusiveStartKey")?;
    let mut pages = Vec::new();
    loop {
        match base
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
        {
            Ok(o) => {
                let last = o.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
                pages.push(Page {
                    items: o.items().to_vec(),
                    count: o.count(),
                    scanned: o.scanned_count(),
                    last: last.clone(),
                });
                if !row.paginate || last.is_none() || pages.len() >= MAX_PAGES {
                    break;
                }
                start = last;
            }
            Err(e) => return Ok(error_result(id, "Query", e, |_| json!({}))),
        }
    }
    Ok(RowResult::ok(id, page_output(pages, row.paginate)))
}

async fn scan(c: &Client, row: &Row) -> R<RowResult> {
    let id = row.id.as_str();
    let p = P::new(
        id,
        &row.params,
        &with(
            &EXPR,
            &[
                "TableName",
                "IndexName",
                "FilterExpression",
                "ProjectionExpression",
                "Limit",
                "ExclusiveStartKey",
                "ConsistentRead",
                "Select",
                "Segment",
                "TotalSegments",
            ],
        ),
    )?;
    let base = c
        .scan()
        .table_name(p.str("TableName")?)
        .set_index_name(p.opt_str("IndexName")?)
        .set_filter_expression(p.opt_str("FilterExpression")?)
        .set_projection_expression(p.opt_str("ProjectionExpression")?)
        .set_expression_attribute_names(p.names()?)
        .set_expression_attribute_values(p.values()?)
        .set_limit(p.opt_i32("Limit")?)
        .set_consistent_read(p.opt_bool("ConsistentRead")?)
        .set_select(p.opt_str("Select")?.map(|s| Select::from(s.as_str())))
        .set_segment(p.opt_i32("Segment")?)
        .set_total_segments(p.opt_i32("TotalSegments")?);
    let mut start = p.opt_item("ExclusiveStartKey")?;
    let mut pages = Vec::new();
    loop {
        match base
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
        {
            Ok(o) => {
                let last = o.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
                pages.push(Page {
                    items: o.items().to_vec(),
                    count: o.count(),
                    scanned: o.scanned_count(),
                    last: last.clone(),
                });
                if !row.paginate || last.is_none() || pages.len() >= MAX_PAGES {
                    break;
                }
                start = last;
            }
            Err(e) => return Ok(error_result(id, "Scan", e, |_| json!({}))),
        }
    }
    Ok(RowResult::ok(id, page_output(pages, row.paginate)))
}

// ------------------------------------------------------------------ tables

fn key_schema(v: &Value) -> R<Vec<KeySchemaElement>> {
    v.as_array()
        .ok_or("KeySchema is a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().ok_or("AttributeName")?)
                .key_type(KeyType::from(k["KeyType"].as_str().ok_or("KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn projection(v: &Value) -> Projection {
    Projection::builder()
        .set_projection_type(v["ProjectionType"].as_str().map(ProjectionType::from))
        .set_non_key_attributes(v["NonKeyAttributes"].as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        }))
        .build()
}

fn throughput(v: &Value) -> R<Option<ProvisionedThroughput>> {
    if v.is_null() {
        return Ok(None);
    }
    ProvisionedThroughput::builder()
        .set_read_capacity_units(v["ReadCapacityUnits"].as_i64())
        .set_write_capacity_units(v["WriteCapacityUnits"].as_i64())
        .build()
        .map(Some)
        .map_err(|e| e.to_string())
}

async fn create_table(admin: &Client, t: &Value) -> R<()> {
    let p = P::new(
        "CreateTable",
        t,
        &[
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
        ],
    )?;
    let defs = p
        .list("AttributeDefinitions")?
        .iter()
        .map(|d| {
            AttributeDefinition::builder()
                .attribute_name(d["AttributeName"].as_str().ok_or("AttributeName")?)
                .attribute_type(ScalarAttributeType::from(
                    d["AttributeType"].as_str().ok_or("AttributeType")?,
                ))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<R<Vec<_>>>()?;
    let gsis = match p.get("GlobalSecondaryIndexes") {
        None => None,
        Some(v) => Some(
            v.as_array()
                .ok_or("GlobalSecondaryIndexes is a list")?
                .iter()
                .map(|g| {
                    GlobalSecondaryIndex::builder()
                        .index_name(g["IndexName"].as_str().ok_or("IndexName")?)
                        .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                        .projection(projection(&g["Projection"]))
                        .set_provisioned_throughput(throughput(&g["ProvisionedThroughput"])?)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<R<Vec<_>>>()?,
        ),
    };
    let lsis = match p.get("LocalSecondaryIndexes") {
        None => None,
        Some(v) => Some(
            v.as_array()
                .ok_or("LocalSecondaryIndexes is a list")?
                .iter()
                .map(|g| {
                    LocalSecondaryIndex::builder()
                        .index_name(g["IndexName"].as_str().ok_or("IndexName")?)
                        .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                        .projection(projection(&g["Projection"]))
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<R<Vec<_>>>()?,
        ),
    };
    admin
        .create_table()
        .table_name(p.str("TableName")?)
        .set_attribute_definitions(Some(defs))
        .set_key_schema(Some(key_schema(p.get("KeySchema").ok_or("KeySchema")?)?))
        .set_billing_mode(
            p.opt_str("BillingMode")?
                .map(|s| BillingMode::from(s.as_str())),
        )
        .set_provisioned_throughput(throughput(
            p.get("ProvisionedThroughput").unwrap_or(&Value::Null),
        )?)
        .set_global_secondary_indexes(gsis)
        .set_local_secondary_indexes(lsis)
        .send()
        .await
        .map_err(|e| {
            format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

/// Creates the matrix's tables through `admin` (the local stack's HTTP endpoint; DAX cannot create
/// tables) and waits until they and their indexes are ACTIVE. Panics with the reason on failure.
pub async fn create_tables(admin: &Client, m: &Matrix) {
    for t in &m.tables {
        if let Err(e) = create_table(admin, &t.params).await {
            panic!("creating the matrix table {}: {e}", t.name);
        }
    }
    for t in &m.tables {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let d = admin
                .describe_table()
                .table_name(&t.name)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "describing {}: {}",
                        t.name,
                        aws_smithy_types::error::display::DisplayErrorContext(e)
                    )
                });
            let d = d.table().expect("DescribeTable has a Table");
            let active = d.table_status() == Some(&TableStatus::Active)
                && d.global_secondary_indexes()
                    .iter()
                    .all(|g| g.index_status().is_none_or(|s| *s == IndexStatus::Active));
            if active {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the matrix table {} is not ACTIVE after 60 s",
                t.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Deletes the matrix's tables (ignoring ones already gone).
pub async fn delete_tables(admin: &Client, m: &Matrix) {
    for t in &m.tables {
        if let Err(e) = admin.delete_table().table_name(&t.name).send().await {
            if e.as_service_error()
                .is_none_or(|s| !s.is_resource_not_found_exception())
            {
                panic!(
                    "deleting the matrix table {}: {}",
                    t.name,
                    aws_smithy_types::error::display::DisplayErrorContext(e)
                );
            }
        }
    }
}
