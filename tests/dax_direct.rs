//! Direct calls on the DAX transport (`DaxTransport::get_item` and the other nine), end to
//! end: our transport → the DAX gateway → the local stack, with assumed-role credentials for
//! account A. Every operation against what the SDK client over the same transport returns,
//! the typed errors, and the retries (throttling, auth rejection, a broken reply to a read and
//! to a write).

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{
    AttributeValue, Get, KeysAndAttributes, Put, PutRequest, ReturnValue, ScalarAttributeType,
    TransactGetItem, TransactWriteItem, WriteRequest,
};
use aws_smithy_types::retry::RetryConfig;
use cross_account_dynamodb::dax::codec::Method;
use cross_account_dynamodb::dax::transport::{DaxTransport, DirectError};
use cross_account_dynamodb::{AssumedRoleCredentials, DaxGateway, DaxOptions};
use support::{dax_client, unique_name, Stack};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

/// Account A's role, a one-node gateway, a composite-key table (pk S, sk N) created through
/// the SDK client on the same transport (forwarded), and the transport.
async fn setup() -> (AssumedRoleCredentials, DaxGateway, String, DaxTransport) {
    let stack = Stack::shared();
    let creds = dax_client::assume_role(stack, "dax-direct").await;
    let gw = dax_client::verified_gateway(stack, 1, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();
    let table = unique_name("daxd");
    dax_client::create_table(
        &dax,
        &table,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    let transport = creds
        .dax_transport(gw.endpoint(), DaxOptions::default())
        .unwrap();
    (creds, gw, table, transport)
}

fn get(table: &str, pk: &str, sk: &str) -> GetItemInput {
    GetItemInput::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", n(sk))
        .build()
        .unwrap()
}

fn put(table: &str, pk: &str, sk: &str) -> PutItemInput {
    PutItemInput::builder()
        .table_name(table)
        .item("pk", s(pk))
        .item("sk", n(sk))
        .item("v", s("one"))
        .build()
        .unwrap()
}

fn count(gw: &DaxGateway, method: Method) -> usize {
    gw.request_log()
        .into_iter()
        .filter(|r| r.method == method)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_operation_as_a_direct_call_matches_the_sdk_client() {
    let (creds, gw, t, dax) = setup().await;
    let client = creds.dax(gw.endpoint()).unwrap();

    dax.put_item(put(&t, "a", "1")).await.unwrap();
    let direct = dax.get_item(get(&t, "a", "1")).await.unwrap();
    let via_client = client
        .get_item()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.item, via_client.item);
    assert_eq!(direct.item.as_ref().unwrap()["v"], s("one"));

    let updated = dax
        .update_item(
            UpdateItemInput::builder()
                .table_name(&t)
                .key("pk", s("a"))
                .key("sk", n("1"))
                .update_expression("SET v = :v ADD c :one")
                .expression_attribute_values(":v", s("two"))
                .expression_attribute_values(":one", n("1"))
                .return_values(ReturnValue::AllNew)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let attrs = updated.attributes.unwrap();
    assert_eq!((&attrs["v"], &attrs["c"]), (&s("two"), &n("1")));

    let writes = (2..5)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s("a"))
                        .item("sk", n(&i.to_string()))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    let batch = dax
        .batch_write_item(
            BatchWriteItemInput::builder()
                .request_items(&t, writes)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(batch.unprocessed_items.unwrap_or_default().is_empty());

    let query = dax
        .query(
            QueryInput::builder()
                .table_name(&t)
                .key_condition_expression("pk = :pk AND sk >= :two")
                .expression_attribute_values(":pk", s("a"))
                .expression_attribute_values(":two", n("2"))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(query.count, 3);
    let scan = dax
        .scan(ScanInput::builder().table_name(&t).build().unwrap())
        .await
        .unwrap();
    assert_eq!(scan.count, 4);

    let keys = KeysAndAttributes::builder()
        .keys([("pk".to_owned(), s("a")), ("sk".to_owned(), n("2"))].into())
        .keys([("pk".to_owned(), s("a")), ("sk".to_owned(), n("3"))].into())
        .build()
        .unwrap();
    let got = dax
        .batch_get_item(
            BatchGetItemInput::builder()
                .request_items(&t, keys)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(got.responses.unwrap()[&t].len(), 2);

    dax.transact_write_items(
        TransactWriteItemsInput::builder()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&t)
                            .item("pk", s("b"))
                            .item("sk", n("1"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .await
    .expect("a transaction without a ClientRequestToken gets one");
    let tx = dax
        .transact_get_items(
            TransactGetItemsInput::builder()
                .transact_items(
                    TransactGetItem::builder()
                        .get(
                            Get::builder()
                                .table_name(&t)
                                .key("pk", s("b"))
                                .key("sk", n("1"))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(tx.responses.unwrap()[0].item.is_some());

    let deleted = dax
        .delete_item(
            DeleteItemInput::builder()
                .table_name(&t)
                .key("pk", s("b"))
                .key("sk", n("1"))
                .return_values(ReturnValue::AllOld)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(deleted.attributes.is_some());
    let mut strong = get(&t, "b", "1");
    strong.consistent_read = Some(true);
    assert_eq!(dax.get_item(strong).await.unwrap().item, None);

    client.delete_table().table_name(&t).send().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_typed_errors() {
    let (creds, gw, t, dax) = setup().await;
    dax.put_item(put(&t, "a", "1")).await.unwrap();

    // A condition that fails: the code, the predicate, one attempt.
    let mut conditional = put(&t, "a", "1");
    conditional.condition_expression = Some("attribute_not_exists(pk)".into());
    let before = count(&gw, Method::PutItem);
    let err = dax.put_item(conditional).await.unwrap_err();
    assert!(err.is_conditional_check_failed(), "{err:?}");
    assert_eq!(err.code(), Some("ConditionalCheckFailedException"));
    assert!(err.dax_error().is_none() && !err.is_outcome_unknown());
    assert_eq!(count(&gw, Method::PutItem), before + 1, "not retried");

    // A cancelled transaction: one reason per item.
    let item = |sk: &str, condition: Option<&str>| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&t)
                    .item("pk", s("a"))
                    .item("sk", n(sk))
                    .set_condition_expression(condition.map(str::to_owned))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let err = dax
        .transact_write_items(
            TransactWriteItemsInput::builder()
                .transact_items(item("1", Some("attribute_not_exists(pk)")))
                .transact_items(item("9", None))
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(err.is_transaction_canceled(), "{err:?}");
    let codes: Vec<_> = err
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes, ["ConditionalCheckFailed", "None"]);

    // A legacy parameter: a validation error before any I/O.
    let before = gw.request_log().len();
    let legacy = GetItemInput::builder()
        .table_name(&t)
        .key("pk", s("a"))
        .key("sk", n("1"))
        .attributes_to_get("v")
        .build()
        .unwrap();
    let err: DirectError = dax.get_item(legacy).await.unwrap_err();
    assert!(err.is_validation(), "{err:?}");
    assert!(
        err.message().unwrap().contains("ProjectionExpression"),
        "{err}"
    );
    assert_eq!(gw.request_log().len(), before, "nothing was sent");

    creds
        .dax(gw.endpoint())
        .unwrap()
        .delete_table()
        .table_name(&t)
        .send()
        .await
        .unwrap();
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_retried_when_safe() {
    let stack = Stack::shared();
    let (creds, gw, t, _) = setup().await;
    // Retries with a short backoff, from the SdkConfig as `configure` takes it.
    let sdk = stack.b_config().await.to_builder().retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(5)),
    );
    let dax = DaxTransport::builder(gw.endpoint())
        .configure(&sdk.build())
        .credentials_provider(creds.clone())
        .build()
        .unwrap();
    dax.put_item(put(&t, "a", "1")).await.unwrap(); // metadata known

    // Throttled twice: the third attempt succeeds.
    gw.faults().throttle_next(2);
    let before = count(&gw, Method::GetItem);
    let got = dax.get_item(get(&t, "a", "1")).await.unwrap();
    assert!(got.item.is_some());
    assert_eq!(count(&gw, Method::GetItem), before + 3);

    // Always throttled: the throttling error after the three attempts.
    gw.faults().throttle_always(true);
    let before = count(&gw, Method::GetItem);
    let err = dax.get_item(get(&t, "a", "1")).await.unwrap_err();
    assert!(err.is_throttling(), "{err:?}");
    assert_eq!(count(&gw, Method::GetItem), before + 3);
    gw.faults().reset();

    // A refused authorization is retried (nothing was sent) after re-authorizing.
    gw.faults().reject_auth_next(1);
    creds.refresh_now().await.unwrap();
    dax.put_item(put(&t, "a", "2"))
        .await
        .expect("re-authorized and retried");

    // A broken reply: a read is retried, a write is not (it may have been applied).
    gw.faults().drop_next(1);
    assert!(dax
        .get_item(get(&t, "a", "2"))
        .await
        .expect("an idempotent read is retried")
        .item
        .is_some());
    gw.faults().drop_next(1);
    let before = count(&gw, Method::PutItem);
    let err = dax.put_item(put(&t, "a", "3")).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(
        count(&gw, Method::PutItem),
        before + 1,
        "the write was retried"
    );

    creds
        .dax(gw.endpoint())
        .unwrap()
        .delete_table()
        .table_name(&t)
        .send()
        .await
        .unwrap();
    gw.shutdown().await;
}

#[test]
fn direct_errors_and_calls_are_send() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<DirectError>();
    // Direct calls can be spawned: every one of the ten futures is `Send` (checked by the
    // compiler; the function is never run).
    fn spawnable(dax: &DaxTransport) {
        fn send<T: Send>(_: T) {}
        send(dax.get_item(GetItemInput::builder().build().unwrap()));
        send(dax.put_item(PutItemInput::builder().build().unwrap()));
        send(dax.update_item(UpdateItemInput::builder().build().unwrap()));
        send(dax.delete_item(DeleteItemInput::builder().build().unwrap()));
        send(dax.query(QueryInput::builder().build().unwrap()));
        send(dax.scan(ScanInput::builder().build().unwrap()));
        send(dax.batch_get_item(BatchGetItemInput::builder().build().unwrap()));
        send(dax.batch_write_item(BatchWriteItemInput::builder().build().unwrap()));
        send(dax.transact_get_items(TransactGetItemsInput::builder().build().unwrap()));
        send(dax.transact_write_items(TransactWriteItemsInput::builder().build().unwrap()));
    }
    let _ = spawnable;
}
