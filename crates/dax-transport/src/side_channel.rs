//! The typed side channel (docs/sdk-integration.md §3.5): the interceptor stores the typed input
//! of a DAX operation before serialization (taking it: the SDK serializes an empty input) and
//! attaches it to the HTTP request; the connector
//! runs it over DAX and attaches the typed output to its `200 {}` response, which the
//! interceptor swaps in for the output deserialized from `{}`. No DynamoDB JSON is produced
//! or parsed for the ten data operations.

use std::sync::{Arc, Mutex};

use aws_runtime::request_info::RequestInfoInterceptor;
use aws_runtime::service_clock_skew::ServiceClockSkewInterceptor;
use aws_runtime::user_agent::UserAgentInterceptor;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::{disable_interceptor, Intercept};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::ops::{DaxInput, DaxOutput};

/// The typed input, from the interceptor to the connector (request extension).
#[derive(Debug, Clone)]
pub(crate) struct TypedInput(pub(crate) Arc<DaxInput>);

impl Storable for TypedInput {
    type Storer = StoreReplace<Self>;
}

/// The SDK's attempt number (1 for the first), attached to a DAX request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptNumber(pub(crate) u32);

/// The typed output, from the connector back to the interceptor (response extension).
#[derive(Debug, Clone)]
pub(crate) struct TypedOutput(pub(crate) Arc<Mutex<Option<DaxOutput>>>);

/// Carries typed inputs and outputs around the SDK's JSON (de)serializers.
#[derive(Debug, Default)]
pub(crate) struct DaxInterceptor;

impl Intercept for DaxInterceptor {
    fn name(&self) -> &'static str {
        "DaxTypedSideChannel"
    }

    // Takes the typed input (leaving an empty one for the SDK's JSON serializer, which then
    // has nothing to write) and turns off, for this request, the SDK interceptors whose work
    // a DAX request does not use: the user agent and request-info headers (DAX requests carry
    // no HTTP headers; the connection's `authorizeConnection` carries the user agent, and
    // building the header cost more than the DAX codec's work on a GetItem) and the clock-skew
    // reading of the reply's `Date` header (the reply is synthesized). Forwarded operations
    // keep all three. Client interceptors run before the operation's, so
    // the SDK's idempotency token is not set yet: a TransactWriteItems without one gets ours.
    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut input) = DaxInput::take_erased(ctx.input_mut()) {
            if let DaxInput::TransactWriteItems(t) = &mut input {
                if t.client_request_token.is_none() {
                    // Not shared yet: no copy.
                    Arc::make_mut(t).client_request_token = Some(request_token());
                }
            }
            let state = cfg.interceptor_state();
            state.store_put(TypedInput(Arc::new(input)));
            state.store_put(disable_interceptor::<UserAgentInterceptor>(
                "DAX requests carry no HTTP headers",
            ));
            state.store_put(disable_interceptor::<RequestInfoInterceptor>(
                "DAX requests carry no HTTP headers",
            ));
            // DAX replies are synthesized here: no `Date` header to measure skew from.
            state.store_put(disable_interceptor::<ServiceClockSkewInterceptor>(
                "DAX replies carry no Date header",
            ));
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(t) = cfg.load::<TypedInput>() {
            ctx.request_mut().add_extension(t.clone());
            // The SDK's attempt number for the `dax.request` span (its `amz-sdk-request` header
            // is not written for DAX requests).
            if let Some(attempts) = cfg.load::<RequestAttempts>() {
                ctx.request_mut()
                    .add_extension(AttemptNumber(attempts.attempts()));
            }
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let typed = ctx
            .response()
            .and_then(|r| r.extension::<TypedOutput>())
            .and_then(|t| t.0.lock().ok()?.take());
        if let (Some(out), Some(slot)) = (typed, ctx.output_or_error_mut()) {
            if slot.is_ok() {
                *slot = Ok(out.erase());
            }
        }
        Ok(())
    }
}

/// A random version-4 UUID, as SDKs generate ClientRequestTokens.
pub(crate) fn request_token() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
