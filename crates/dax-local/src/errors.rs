//! Backend (SDK) errors → DAX error replies.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_types::request_id::RequestId;

use xacct_dax_protocol::codec::{encode_values, CancellationReasonRaw, Catalog, ServiceError};

/// The DAX error for a failed backend call: the DynamoDB exception name and message of a
/// service error; `InternalServerError` for anything else (timeouts, connection failures), with
/// the cause in the message.
pub(crate) fn from_sdk<E, R>(err: &SdkError<E, R>) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let mut out = ServiceError::from_exception(
                e.code().unwrap_or("InternalServerError"),
                e.message().unwrap_or_default(),
            );
            out.request_id = e.meta().request_id().map(str::to_owned);
            out
        }
        other => ServiceError::from_exception(
            "InternalServerError",
            format!(
                "the gateway's backend call failed: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(other)
            ),
        ),
    }
}

/// A gateway-made error (not from the backend), e.g. a request the backend cannot be asked.
pub(crate) fn validation(message: impl Into<String>) -> ServiceError {
    ServiceError::from_exception("ValidationException", message)
}

/// Adds the cancellation reasons of a TransactionCanceledException: `keys[i]` is the key of
/// transaction item `i`, `tables[i]` its table; old items travel as VALUES without the key.
pub(crate) fn with_reasons(
    mut err: ServiceError,
    reasons: &[CancellationReason],
    tables: &[String],
    catalog: &dyn Catalog,
) -> ServiceError {
    let mut raw = Vec::with_capacity(reasons.len());
    for (i, r) in reasons.iter().enumerate() {
        let item = match (r.item(), tables.get(i)) {
            (Some(item), Some(table)) => catalog
                .key_schema(table)
                .and_then(|schema| encode_values(item, Some(&schema), catalog).ok()),
            _ => None,
        };
        raw.push(CancellationReasonRaw {
            code: r.code().map(str::to_owned),
            message: r.message().map(str::to_owned),
            item,
        });
    }
    err.cancellation_reasons = Some(raw);
    err
}

/// Whether a TransactGetItems error is a cancellation (for its reasons).
pub(crate) fn transact_get_reasons(
    err: &SdkError<TransactGetItemsError, impl std::fmt::Debug>,
) -> Option<&[CancellationReason]> {
    match err {
        SdkError::ServiceError(se) => match se.err() {
            TransactGetItemsError::TransactionCanceledException(e) => {
                Some(e.cancellation_reasons())
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
    use xacct_dax_protocol::codec::{Item, KeyAttribute, KeySchema, MemoryCatalog};

    #[test]
    fn reasons_carry_old_items_without_the_key() {
        let catalog = MemoryCatalog::assigning(100);
        catalog.insert_key_schema(
            "t",
            KeySchema::hash_only(KeyAttribute::new("pk", ScalarAttributeType::S)),
        );
        let item: Item = [
            ("pk".to_owned(), AttributeValue::S("k".into())),
            ("a".to_owned(), AttributeValue::S("x".into())),
        ]
        .into();
        let reasons = [
            CancellationReason::builder().code("None").build(),
            CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .message("The conditional request failed")
                .item("pk", AttributeValue::S("k".into()))
                .item("a", AttributeValue::S("x".into()))
                .build(),
        ];
        let _ = item;
        let err = with_reasons(
            ServiceError::from_exception("TransactionCanceledException", "cancelled"),
            &reasons,
            &["t".to_owned(), "t".to_owned()],
            &catalog,
        );
        let raw = err.cancellation_reasons.clone().unwrap();
        assert_eq!(raw[0].item, None);
        // <100, "x">: list id 100 = ["a"], the key left out.
        assert_eq!(raw[1].item.as_deref(), Some(&[0x18, 0x64, 0x61, b'x'][..]));
        let keys = vec![
            Item::new(),
            [("pk".to_owned(), AttributeValue::S("k".into()))].into(),
        ];
        let sdk = err
            .sdk_cancellation_reasons(&keys, &catalog)
            .unwrap()
            .unwrap();
        assert_eq!(sdk[1].item().unwrap().len(), 2);
        assert_eq!(err.codes, [4, 37, 38, 39, 58]);
    }
}
