//! A DAX client transport for the AWS Rust SDK: an
//! [`HttpClient`](aws_smithy_runtime_api::client::http::HttpClient) that speaks the DynamoDB
//! Accelerator protocol under the ordinary `aws_sdk_dynamodb::Client`, with any credentials
//! provider. Build one with [`DaxTransport::builder`] (the `cross-account-dynamodb` crate does it
//! for you with `creds.dax(endpoint)`); a transport failure shows in an SDK error's source chain
//! as a [`DaxError`].
//!
//! ```no_run
//! # async fn f(sdk: aws_types::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use aws_sdk_dynamodb::types::AttributeValue;
//! use xacct_dax_transport::{DaxError, DaxTransport};
//!
//! let transport = DaxTransport::builder("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com")
//!     .configure(&sdk)
//!     .credentials_provider(sdk.credentials_provider().expect("credentials"))
//!     .build()?;
//! let dax = aws_sdk_dynamodb::Client::from_conf(
//!     transport.apply(aws_sdk_dynamodb::config::Builder::from(&sdk)).build(),
//! );
//! let put = dax
//!     .update_item()
//!     .table_name("orders")
//!     .key("pk", AttributeValue::S("order#1".into()))
//!     .update_expression("ADD visits :one")
//!     .expression_attribute_values(":one", AttributeValue::N("1".into()))
//!     .send()
//!     .await;
//! if let Err(e) = &put {
//!     let mut cause = std::error::Error::source(e);
//!     while let Some(c) = cause {
//!         if c.downcast_ref::<DaxError>().is_some_and(DaxError::is_outcome_unknown) {
//!             // the ADD may have been applied: read the item before trying again
//!         }
//!         cause = c.source();
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # How a request travels
//!
//! The SDK still runs its whole pipeline (endpoint, retry, interceptors, timeouts) and hands
//! an HTTP request to this client's connector. DynamoDB JSON is never produced or parsed for
//! the ten data operations: an interceptor stores the **typed input** (`GetItemInput`, ...)
//! before serialization and attaches it to the request; the connector runs it over DAX and
//! answers `200 {}` with the **typed output** attached, which the interceptor swaps in for
//! the one deserialized from `{}` (docs/sdk-integration.md §3.5). This spares a DynamoDB JSON
//! serializer and parser for ten operations (and two conversions per request). DAX error
//! replies become DynamoDB JSON **error bodies** (`400`/`500`, `__type`, `message`,
//! `CancellationReasons`), so the SDK's own error parsing, typed errors
//! (`ConditionalCheckFailedException`, `TransactionCanceledException` with reasons) and retry
//! classification (throttling backoff) apply unchanged.
//!
//! Operations DAX does not serve (DescribeTable, CreateTable, PartiQL, TTL, ...) are forwarded
//! to the regional DynamoDB endpoint (or the `SdkConfig`'s `endpoint_url`), signed here with
//! aws-sigv4 and the same credentials (SigV4 on the SDK's HTTP layer is off: noAuth).
//!
//! # Concerns, one module each
//!
//! | module | concern |
//! | --- | --- |
//! | `builder` | [`DaxTransport`], its builder, the rotation signal as a generation counter |
//! | `options` | [`DaxOptions`] and their validation |
//! | `config_error` | [`ConfigError`]: a configuration that cannot work, found before any I/O |
//! | `endpoint` | `dax://` / `daxs://` URLs, region from the cluster hostname |
//! | `tls` | rustls, certificates checked against the cluster hostname |
//! | `connection` | one connection: preamble, one request at a time, bounded replies, close on doubt |
//! | `pool` | connections per node: LIFO, idle reaping, cap, bounded connects |
//! | `cluster` | discovery, `endpoints` refresh, health, routing, leader |
//! | `auth` | when a connection re-authorizes (push on rotation, periodic, key id, refusal) |
//! | `metadata` | key schema and attribute-list caches (a codec `Catalog`), single flight |
//! | `ops` | per operation: typed inputs/outputs, legacy checks, expressions, codec calls |
//! | `execute` | one attempt: node, connection, control calls, request, reply, retry safety |
//! | `http` | the `HttpClient` and its connector: DAX or forward, responses |
//! | `direct` | [direct calls](DaxTransport#direct-calls): the ten operations without the SDK client, their retries |
//! | `direct_error` | [`DirectError`] |
//! | `side_channel` | the interceptor carrying typed inputs and outputs |
//! | `forward` | operations DAX does not serve, re-signed and sent to DynamoDB |
//! | `error` | [`DaxError`], error bodies, retry safety |
//!
//! # Direct calls
//!
//! For hot paths the ten data operations also run on the transport itself, without the SDK
//! client's per-request machinery: [`DaxTransport::get_item`] and the others take the SDK's
//! input type and return its output type, with a [`DirectError`] (see
//! [direct calls](DaxTransport#direct-calls)).
//!
//! # Retries
//!
//! For SDK requests, the SDK's retry strategy is the only retry layer (direct calls apply the
//! same rules themselves). Each attempt asks the transport for a node and, after a failure,
//! gets another one. A failure is retryable only when the request
//! provably was not sent (connect, TLS, pool wait, auth error reply) or the operation is
//! idempotent (reads; TransactWriteItems, which always carries a ClientRequestToken). A
//! PutItem, UpdateItem, DeleteItem or BatchWriteItem whose bytes may have reached a node that
//! then failed is **not** retried: it fails with a [`DaxError`] for which
//! [`is_outcome_unknown`](DaxError::is_outcome_unknown) is true (an `ADD` must not apply twice).

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod builder;
mod cluster;
mod config_error;
mod connection;
mod direct;
mod direct_error;
mod endpoint;
mod error;
mod execute;
mod forward;
mod http;
mod metadata;
mod ops;
mod options;
mod pool;
mod side_channel;
mod telemetry;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use futures_util::future::Either;

pub use builder::{DaxTransport, DaxTransportBuilder, WeakDaxTransport};
pub use config_error::ConfigError;
pub use direct_error::DirectError;
pub use endpoint::ClusterEndpoint;
pub use error::DaxError;
pub use options::DaxOptions;

/// Checks a cluster endpoint URL (`dax://host[:port]` or `daxs://host[:port]`) without
/// building anything: the same check [`DaxTransportBuilder::build`] makes first
/// ([`ClusterEndpoint::parse`]).
///
/// ```
/// assert!(xacct_dax_transport::check_endpoint("daxs://my.abc.dax-clusters.eu-west-1.amazonaws.com").is_ok());
/// let err = xacct_dax_transport::check_endpoint("https://my-cluster").unwrap_err();
/// assert!(err.problem().contains("dax://"));
/// ```
pub fn check_endpoint(endpoint: &str) -> Result<ClusterEndpoint, ConfigError> {
    ClusterEndpoint::parse(endpoint)
}

use auth::AuthPolicy;
use builder::{KeyRejected, RotationCounter};
use tls::Tls;

use auth::{AuthStamp, Current};
use cluster::Cluster;
use connection::{CallError, Connection};
use error::Kind;
use metadata::{Lru, Metadata};

use xacct_dax_protocol::codec::{sign_authorization, Method, SigningInputs, DAX_HOST};

/// Everything configurable, resolved (defaults from docs/dax-protocol.md §1.7, Go flavour).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: ClusterEndpoint,
    pub(crate) region: String,
    pub(crate) connect_override: Option<SocketAddr>,
    pub(crate) max_connections_per_node: usize,
    pub(crate) max_pending_connects: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) refresh_interval: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) auth: AuthPolicy,
    pub(crate) user_agent: String,
    /// Attempts and backoff of direct calls (the SDK's retry strategy drives SDK requests).
    pub(crate) retry: aws_smithy_types::retry::RetryConfig,
}

/// State shared by every clone of the transport.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) tls: Option<Tls>,
    pub(crate) creds: SharedCredentialsProvider,
    rotations: Option<RotationCounter>,
    on_key_rejected: Option<KeyRejected>,
    /// Where operations DAX does not serve go.
    pub(crate) forward: forward::Forwarder,
    pub(crate) time: SharedTimeSource,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) cluster: Cluster,
    pub(crate) metadata: Metadata,
    /// The node each SDK invocation used last (`amz-sdk-invocation-id`), so that its retry
    /// goes elsewhere.
    attempts: Mutex<Lru<String, SocketAddr>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("settings", &self.settings)
            .field(
                "nodes",
                &self
                    .cluster
                    .nodes()
                    .iter()
                    .map(|n| n.addr)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Where a transport's credentials come from, and who hears about them.
pub(crate) struct CredentialsSource {
    pub(crate) provider: SharedCredentialsProvider,
    pub(crate) rotations: Option<RotationCounter>,
    pub(crate) on_key_rejected: Option<KeyRejected>,
}

/// The injected clock and sleep.
pub(crate) struct Runtime {
    pub(crate) time: SharedTimeSource,
    pub(crate) sleep: SharedAsyncSleep,
}

impl Shared {
    pub(crate) fn new(
        settings: Settings,
        tls: Option<Tls>,
        creds: CredentialsSource,
        forward: forward::Forwarder,
        runtime: Runtime,
    ) -> Arc<Self> {
        let shared = Arc::new(Shared {
            settings,
            tls,
            creds: creds.provider,
            rotations: creds.rotations,
            on_key_rejected: creds.on_key_rejected,
            forward,
            time: runtime.time,
            sleep: runtime.sleep,
            cluster: Cluster::default(),
            metadata: Metadata::default(),
            attempts: Mutex::new(Lru::new(1024)),
        });
        telemetry::register(&shared);
        shared
    }

    /// The seed addresses: the connect-address override, else the cluster hostname resolved.
    async fn seed_addresses(&self) -> Result<Vec<SocketAddr>, DaxError> {
        if let Some(a) = self.settings.connect_override {
            return Ok(vec![a]);
        }
        let host = (self.settings.url.host.as_str(), self.settings.url.port);
        let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host(host)
            .await
            .map_err(|e| {
                DaxError::new(
                    Kind::Connect,
                    format!(
                        "cannot resolve the DAX cluster endpoint {}",
                        self.settings.url.host
                    ),
                )
                .with_source(e)
            })?
            .collect();
        fastrand::shuffle(&mut addrs);
        Ok(addrs)
    }

    /// A node refused the key this connection authorized with: tell the provider's owner.
    pub(crate) fn key_rejected(&self, conn: &Connection) {
        if let (Some(f), Some(stamp)) = (&self.on_key_rejected, &conn.auth) {
            f(&stamp.access_key_id);
        }
    }

    fn last_node(&self, invocation: &str) -> Option<SocketAddr> {
        self.attempts.lock().ok()?.get(invocation)
    }

    /// The invocation succeeded: no retry will ask.
    fn forget_node(&self, invocation: &str) {
        if let Ok(mut a) = self.attempts.lock() {
            a.remove(invocation);
        }
    }

    fn remember_node(&self, invocation: String, addr: SocketAddr) {
        if let Ok(mut a) = self.attempts.lock() {
            a.insert(invocation, addr);
        }
    }

    /// Writes `frame` on `conn`, preceded by an `authorizeConnection` frame when the auth
    /// policy says so, and reads the reply.
    pub(crate) async fn send(
        &self,
        conn: &mut Connection,
        frame: &[u8],
        method: Method,
    ) -> Result<Vec<u8>, CallError> {
        // The generation is read before the credentials: a rotation in between then costs one
        // more re-authorization, never a connection stamped new while it holds the old key.
        let generation = self
            .rotations
            .as_ref()
            .map_or(0, RotationCounter::generation);
        let creds = self.creds.provide_credentials().await.map_err(|e| {
            CallError::Before(
                DaxError::new(
                    Kind::Credentials,
                    "cannot load credentials to authorize the DAX connection",
                )
                .with_source(e),
            )
        })?;
        let now = self.time.now();
        let current = Current {
            generation,
            access_key_id: creds.access_key_id(),
            now,
        };
        let auth_reason =
            self.settings
                .auth
                .auth_reason(conn.auth.as_ref(), conn.auth_marked, current);
        let auth = auth_reason.is_some();
        let mut bytes;
        let out: &[u8] = if auth {
            let request = sign_authorization(
                &SigningInputs {
                    access_key_id: creds.access_key_id(),
                    secret_access_key: creds.secret_access_key(),
                    session_token: creds.session_token(),
                    region: &self.settings.region,
                    time: now,
                    host: DAX_HOST,
                },
                Some(&self.settings.user_agent),
            );
            bytes = Vec::with_capacity(300 + frame.len());
            request.encode(&mut bytes);
            bytes.extend_from_slice(frame);
            &bytes
        } else {
            frame
        };
        let reply = match auth_reason {
            // The auth frame goes out in front of the request, in one write: the span covers
            // both. Its fields: node and reason, never a key.
            Some(reason) => {
                let span = if reason == auth::AuthReason::New {
                    tracing::debug_span!("dax.authorize", node = %conn.addr, reason = reason.as_str())
                } else {
                    tracing::debug_span!("dax.reauthorize", node = %conn.addr, reason = reason.as_str())
                };
                let reply = tracing::Instrument::instrument(conn.call(out, method), span).await?;
                telemetry::authorized(reason.as_str());
                reply
            }
            None => conn.call(out, method).await?,
        };
        if auth {
            conn.auth = Some(AuthStamp {
                access_key_id: creds.access_key_id().to_owned(),
                generation,
                at: now,
            });
            conn.auth_marked = false;
        }
        Ok(reply)
    }
}

/// Races `f` against the injected sleep.
pub(crate) async fn timeout<F: Future>(
    sleep: &SharedAsyncSleep,
    limit: Duration,
    f: F,
) -> Result<F::Output, ()> {
    let f = std::pin::pin!(f);
    match futures_util::future::select(f, sleep.sleep(limit)).await {
        Either::Left((v, _)) => Ok(v),
        Either::Right(_) => Err(()),
    }
}
