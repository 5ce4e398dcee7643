//! Reach DynamoDB in another AWS account, with credentials that never make a request wait.
//!
//! ```no_run
//! use aws_config::BehaviorVersion;
//! use cross_account_dynamodb::AssumedRoleCredentials;
//!
//! # async fn quickstart() -> Result<(), Box<dyn std::error::Error>> {
//! let source = aws_config::defaults(BehaviorVersion::latest()).load().await; // account B
//! let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
//!     .external_id("7d1c-shared-with-account-a")
//!     .configure(&source)
//!     .build()
//!     .await?; // AssumeRole into account A happens here; a denial says what to check
//! let dynamodb = creds.dynamodb(); // refreshed in the background, forever
//! let tables = dynamodb.list_tables().send().await?; // account A's tables
//! # Ok(()) }
//! ```
//!
//! # What it solves
//!
//! A service in account B reads and writes tables in account A through an IAM role in A that
//! trusts B. The role's credentials are temporary (15 min to 12 h; 1 h when roles are chained).
//! [`AssumedRoleCredentials`] holds them behind an `ArcSwap` and refreshes them in the
//! background before they expire: requests never wait on STS while valid credentials exist,
//! an STS outage is ridden out on the cached credentials, and the provider reports its state.
//!
//! # Where to start
//!
//! * [`AssumedRoleCredentials::builder`] (or [`from_profile`](AssumedRoleCredentials::from_profile)
//!   for a profile with `role_arn` and `credential_source`), then
//!   [`dynamodb`](AssumedRoleCredentials::dynamodb) /
//!   [`dynamodb_config`](AssumedRoleCredentials::dynamodb_config) for DynamoDB and
//!   [`sdk_config`](AssumedRoleCredentials::sdk_config) for KMS, Secrets Manager or any other
//!   service in account A.
//! * [`CrossAccountPool`] when one service reaches many accounts.
//! * [`RefreshPolicy`] to change when refreshes happen; [`CredentialsStatus`],
//!   [`subscribe`](AssumedRoleCredentials::subscribe) and `on_refresh` to watch them.
//! * `dax` / `dax_with` on [`AssumedRoleCredentials`] (feature `dax`, off by default): the same
//!   `aws_sdk_dynamodb::Client`, running over the DAX protocol to a DAX cluster, connections
//!   re-authorized on every rotation (`DaxOptions`; the transport is the `xacct-dax-transport`
//!   crate, re-exported as `dax::transport`); `dax::codec` and `dax::expr` (the
//!   `xacct-dax-protocol` crate) are its low-level layer.
//! * `DaxGateway` (feature `gateway`): the local DAX server of the `xacct-dax-local` crate,
//!   which forwards every request to a DynamoDB endpoint, for running DAX code paths on a
//!   laptop or in CI (see `dax::gateway`; the `dax-local` binary runs it on its own).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `default-https-client` | yes | the SDK's HTTPS client (hyper, rustls with aws-lc-rs) |
//! | `dax` | no | DAX clients: `creds.dax(..)`, `pool.dax(..)`, `DaxOptions`, `dax::{codec, expr, transport}` |
//! | `gateway` | no | the local DAX server as a library: `DaxGateway`, `dax::gateway` |
//! | `test-util` | no | injected environment and files for `from_profile`, for tests |
//!
//! # Logging and secrets
//!
//! Nothing in this crate logs, prints or puts in an error a secret access key, a session token
//! or an external id. The AWS SDK itself logs whole request and response bodies at `TRACE`
//! (the AssumeRole response carries the new secret key and session token): do not enable
//! `TRACE` for the `aws_smithy_runtime` / `aws_sdk_sts` targets in production.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod client;
mod credentials;
#[cfg(feature = "dax")]
#[cfg_attr(docsrs, doc(cfg(feature = "dax")))]
pub mod dax;
mod error;
mod pool;
mod telemetry;

pub use client::RetryOnExpiredToken;
pub use credentials::{
    AssumedRoleCredentials, AssumedRoleCredentialsBuilder, CredentialsStatus,
    ProfileCredentialsBuilder, RefreshEvent, RefreshPolicy, Rotation,
};
pub use error::{Error, ErrorKind};
pub use pool::{CrossAccountPool, CrossAccountPoolBuilder, PoolStats, RoleSpec};
#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub use xacct_dax_local::{AuthVerifier, DaxGateway, DaxGatewayBuilder, GatewayError, TlsConfig};
#[cfg(feature = "dax")]
#[cfg_attr(docsrs, doc(cfg(feature = "dax")))]
pub use xacct_dax_transport::DaxOptions;

/// The README's quickstart, compiled as a doc test (it uses DAX, so with the `dax` feature).
#[cfg(all(doctest, feature = "dax"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
