//! Direct calls: the ten DAX data operations run on the transport itself, typed input in,
//! typed output out, without the SDK's per-request orchestration (config layering, interceptor
//! hooks, type-erased boxes): about a sixth of the instructions of the same request through
//! an `aws_sdk_dynamodb::Client` (BENCHMARKS.md). Same nodes, connections, authorization,
//! codec and telemetry as SDK requests; the retries are this module's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_runtime::retries::classifiers::TRANSIENT_ERRORS;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    scan::{ScanInput, ScanOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_smithy_async::rt::sleep::AsyncSleep;
use aws_smithy_types::retry::RetryConfig;
use tracing::Instrument;

use crate::builder::DaxTransport;
use crate::direct_error::{is_throttling_code, DirectError};
use crate::error::{DaxError, Kind};
use crate::execute::{execute_avoiding, Limits};
use crate::ops::{prepare, DaxInput, DaxOutput, Failure};
use crate::side_channel::request_token;
use crate::telemetry;

impl DaxTransport {
    /// Runs `input` with retries: a failed attempt is retried, after a jittered exponential
    /// backoff, on another node when one is up, while attempts are left and the failure allows
    /// it (not sent, or idempotent; throttling; a 5xx error).
    async fn call(&self, mut input: DaxInput) -> Result<DaxOutput, DirectError> {
        if let DaxInput::TransactWriteItems(t) = &mut input {
            if t.client_request_token.is_none() {
                // The same token on every attempt makes the retries idempotent.
                Arc::make_mut(t).client_request_token = Some(request_token());
            }
        }
        let operation = input.name();
        let shared = self.shared();
        let op = match prepare(input) {
            Ok(op) => op,
            Err(failure) => {
                // Counted like an SDK request refused before any I/O.
                telemetry::OpTimer::start(&shared.time, operation)
                    .finish(Some(failure.error_type()));
                return Err(DirectError::from_failure(failure));
            }
        };
        let settings = &shared.settings;
        let limits = Limits {
            connect: settings.connect_timeout,
            request: settings.request_timeout,
        };
        let mut avoid: Option<SocketAddr> = None;
        let mut attempt = 1;
        loop {
            let span = tracing::debug_span!(
                "dax.request",
                operation,
                node = tracing::field::Empty,
                attempt
            );
            let timer = telemetry::OpTimer::start(&shared.time, operation);
            let (result, node) = execute_avoiding(shared, &op, avoid, limits)
                .instrument(span)
                .await;
            timer.finish(result.as_ref().err().map(Failure::error_type));
            let failure = match result {
                Ok(output) => return Ok(output),
                Err(f) => f,
            };
            if attempt >= settings.retry.max_attempts() || !retryable(&failure) {
                return Err(DirectError::from_failure(failure));
            }
            shared.sleep.sleep(backoff(&settings.retry, attempt)).await;
            avoid = node.or(avoid);
            attempt += 1;
        }
    }
}

/// Whether a failed attempt may be tried again: what the SDK's standard retry strategy
/// retries (its throttling and transient error codes, 5xx errors, transport failures) where
/// the transport says a retry is safe (a write whose outcome is unknown is not).
fn retryable(failure: &Failure) -> bool {
    match failure {
        Failure::Transport { retry_safe, .. } => *retry_safe,
        Failure::Service { name, status, .. } => {
            *status >= 500 || is_throttling_code(name) || TRANSIENT_ERRORS.contains(&name.as_str())
        }
    }
}

/// The SDK's standard backoff: a random share of `initial × 2^(attempt - 1)`, at most
/// `max_backoff`.
fn backoff(retry: &RetryConfig, attempt: u32) -> Duration {
    let exp = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let ceiling =
        (retry.initial_backoff().as_secs_f64() * exp).min(retry.max_backoff().as_secs_f64());
    Duration::try_from_secs_f64(ceiling * fastrand::f64()).unwrap_or(retry.max_backoff())
}

/// One public method per operation: the typed input in, the typed output out.
macro_rules! direct_calls {
    ($($method:ident: $op:ident($input:ident) -> $output:ident;)*) => {
        impl DaxTransport {
            $(
                #[doc = concat!(
                    "Runs ", stringify!($op), " on the cluster directly: ",
                    "[`", stringify!($input), "`](aws_sdk_dynamodb::operation::",
                    stringify!($method), "::", stringify!($input), ") in, ",
                    "[`", stringify!($output), "`](aws_sdk_dynamodb::operation::",
                    stringify!($method), "::", stringify!($output), ") out, ",
                    "without the SDK client's per-request orchestration ",
                    "(see [direct calls](DaxTransport#direct-calls)).\n\n",
                    "```no_run\n",
                    "# async fn f(dax: xacct_dax_transport::DaxTransport, input: aws_sdk_dynamodb::operation::",
                    stringify!($method), "::", stringify!($input),
                    ") -> Result<(), xacct_dax_transport::DirectError> {\n",
                    "let output = dax.", stringify!($method), "(input).await?;\n",
                    "# Ok(()) }\n",
                    "```"
                )]
                pub async fn $method(&self, input: $input) -> Result<$output, DirectError> {
                    match self.call(DaxInput::$op(Arc::new(input))).await? {
                        DaxOutput::$op(output) => Ok(output),
                        _ => Err(DirectError::Transport(DaxError::new(
                            Kind::Protocol,
                            concat!("the reply to a ", stringify!($op), " decoded as another operation's"),
                        ))),
                    }
                }
            )*
        }
    };
}

direct_calls! {
    get_item: GetItem(GetItemInput) -> GetItemOutput;
    put_item: PutItem(PutItemInput) -> PutItemOutput;
    update_item: UpdateItem(UpdateItemInput) -> UpdateItemOutput;
    delete_item: DeleteItem(DeleteItemInput) -> DeleteItemOutput;
    query: Query(QueryInput) -> QueryOutput;
    scan: Scan(ScanInput) -> ScanOutput;
    batch_get_item: BatchGetItem(BatchGetItemInput) -> BatchGetItemOutput;
    batch_write_item: BatchWriteItem(BatchWriteItemInput) -> BatchWriteItemOutput;
    transact_get_items: TransactGetItems(TransactGetItemsInput) -> TransactGetItemsOutput;
    transact_write_items: TransactWriteItems(TransactWriteItemsInput) -> TransactWriteItemsOutput;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_doubling_ceiling_and_the_maximum() {
        let retry = RetryConfig::standard()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(300));
        for _ in 0..200 {
            assert!(backoff(&retry, 1) <= Duration::from_millis(100));
            assert!(backoff(&retry, 2) <= Duration::from_millis(200));
            assert!(backoff(&retry, 3) <= Duration::from_millis(300));
            assert!(backoff(&retry, 40) <= Duration::from_millis(300));
        }
        // No overflow with the largest settings.
        let huge = RetryConfig::standard()
            .with_initial_backoff(Duration::MAX)
            .with_max_backoff(Duration::MAX);
        for _ in 0..200 {
            assert!(backoff(&huge, u32::MAX) <= Duration::MAX);
        }
    }

    #[test]
    fn what_is_retried() {
        let service = |name: &str, status| Failure::Service {
            name: name.into(),
            message: String::new(),
            status,
            reasons: None,
        };
        assert!(retryable(&service("ThrottlingException", 400)));
        assert!(retryable(&service("InternalServerError", 500)));
        assert!(retryable(&service("TransactionInProgressException", 400)));
        assert!(retryable(&service("RequestTimeoutException", 400)));
        assert!(!retryable(&service("ConditionalCheckFailedException", 400)));
        assert!(!retryable(&service("ValidationException", 400)));
        let transport = |retry_safe| Failure::Transport {
            error: DaxError::new(Kind::Io, "reset"),
            retry_safe,
        };
        assert!(retryable(&transport(true)));
        assert!(!retryable(&transport(false)));
    }
}
