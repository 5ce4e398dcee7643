//! [`DirectError`]: how a direct call failed.

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_dynamodb::types::CancellationReason;

use crate::error::DaxError;
use crate::ops::Failure;

/// Why a [direct call](crate::DaxTransport#direct-calls) failed: DAX (or DynamoDB behind it)
/// answered with an error, which [`code`](Self::code) names, or the request did not complete,
/// and the [`DaxError`] in `source()` says why.
///
/// ```no_run
/// # async fn f(dax: xacct_dax_transport::DaxTransport, put: aws_sdk_dynamodb::operation::put_item::PutItemInput) {
/// match dax.put_item(put).await {
///     Ok(_) => {}
///     Err(e) if e.is_conditional_check_failed() => { /* someone else wrote it first */ }
///     Err(e) if e.is_outcome_unknown() => { /* read the item back before writing again */ }
///     Err(e) => eprintln!("PutItem failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectError {
    /// DAX, or DynamoDB behind it, refused the request.
    #[error("{code}: {message}")]
    #[non_exhaustive]
    Service {
        /// The DynamoDB error code: `ConditionalCheckFailedException`, `ValidationException`,
        /// `TransactionCanceledException`, `ResourceNotFoundException`, ...
        code: String,
        /// The message that came with it.
        message: String,
        /// For a `TransactionCanceledException`: one reason per item of the transaction.
        cancellation_reasons: Option<Vec<CancellationReason>>,
    },
    /// The request did not complete (connect, TLS, timeout, authorization, I/O, protocol):
    /// the [`DaxError`] says which, and whether a write may have been applied.
    #[error("the DAX request did not complete")]
    Transport(#[source] DaxError),
}

impl DirectError {
    pub(crate) fn from_failure(failure: Failure) -> Self {
        match failure {
            Failure::Service {
                name,
                message,
                reasons,
                ..
            } => DirectError::Service {
                code: name,
                message,
                cancellation_reasons: reasons,
            },
            Failure::Transport { error, .. } => DirectError::Transport(error),
        }
    }

    /// The DynamoDB error code, when DAX answered with an error.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.code() == Some("ResourceNotFoundException")
    /// # }
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            DirectError::Service { code, .. } => Some(code),
            DirectError::Transport(_) => None,
        }
    }

    /// The message of the error DAX answered with.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> Option<&str> {
    /// e.message()
    /// # }
    /// ```
    pub fn message(&self) -> Option<&str> {
        match self {
            DirectError::Service { message, .. } => Some(message),
            DirectError::Transport(_) => None,
        }
    }

    /// The reasons of a `TransactionCanceledException`, one per item of the transaction
    /// (empty for any other error).
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) {
    /// for (i, r) in e.cancellation_reasons().iter().enumerate() {
    ///     println!("item {i}: {:?}", r.code());
    /// }
    /// # }
    /// ```
    pub fn cancellation_reasons(&self) -> &[CancellationReason] {
        match self {
            DirectError::Service {
                cancellation_reasons: Some(r),
                ..
            } => r,
            _ => &[],
        }
    }

    /// A condition (`ConditionExpression`) was not met: nothing was written.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.is_conditional_check_failed()
    /// # }
    /// ```
    pub fn is_conditional_check_failed(&self) -> bool {
        self.code() == Some("ConditionalCheckFailedException")
    }

    /// A transaction was cancelled: see [`cancellation_reasons`](Self::cancellation_reasons).
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.is_transaction_canceled()
    /// # }
    /// ```
    pub fn is_transaction_canceled(&self) -> bool {
        self.code() == Some("TransactionCanceledException")
    }

    /// The request was refused as invalid (`ValidationException`): fix the request.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.is_validation()
    /// # }
    /// ```
    pub fn is_validation(&self) -> bool {
        self.code() == Some("ValidationException")
    }

    /// The table, the account or the cluster is throttling requests (still so after the
    /// retries the transport made).
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.is_throttling()
    /// # }
    /// ```
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(is_throttling_code)
    }

    /// A write's bytes may have reached a node that failed before answering: it may have been
    /// applied. It was not retried; read the item back before writing again.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.is_outcome_unknown()
    /// # }
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        self.dax_error().is_some_and(DaxError::is_outcome_unknown)
    }

    /// The transport failure, when the request did not complete.
    ///
    /// ```
    /// # fn f(e: &xacct_dax_transport::DirectError) -> bool {
    /// e.dax_error().is_some_and(|d| d.is_connect() || d.is_timeout())
    /// # }
    /// ```
    pub fn dax_error(&self) -> Option<&DaxError> {
        match self {
            DirectError::Transport(e) => Some(e),
            DirectError::Service { .. } => None,
        }
    }
}

/// A throttling error code, by the list the SDK's own retry classifier uses.
pub(crate) fn is_throttling_code(code: &str) -> bool {
    THROTTLING_ERRORS.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn service(code: &str) -> DirectError {
        DirectError::from_failure(Failure::Service {
            name: code.into(),
            message: "m".into(),
            status: 400,
            reasons: None,
        })
    }

    #[test]
    fn predicates_follow_the_code_and_display_is_one_level() {
        let e = service("ConditionalCheckFailedException");
        assert!(e.is_conditional_check_failed() && !e.is_throttling() && !e.is_validation());
        assert_eq!(e.to_string(), "ConditionalCheckFailedException: m");
        assert!(std::error::Error::source(&e).is_none());
        assert!(service("ProvisionedThroughputExceededException").is_throttling());
        assert!(service("ValidationException").is_validation());
        assert!(service("TransactionCanceledException").is_transaction_canceled());
        assert!(service("TransactionCanceledException")
            .cancellation_reasons()
            .is_empty());

        let t = DirectError::from_failure(Failure::Transport {
            error: DaxError::new(
                Kind::OutcomeUnknown,
                "the connection failed after the write",
            ),
            retry_safe: false,
        });
        assert!(t.is_outcome_unknown() && t.code().is_none() && t.message().is_none());
        assert_eq!(t.to_string(), "the DAX request did not complete");
        let source = std::error::Error::source(&t).expect("the DaxError");
        assert!(source.downcast_ref::<DaxError>().is_some());
    }
}
