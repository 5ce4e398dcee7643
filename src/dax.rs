//! DynamoDB Accelerator (DAX), re-exported from the workspace's DAX crates (feature `dax`).
//!
//! * [`codec`] and [`expr`] (crate `xacct-dax-protocol`): the pure DAX wire protocol and the
//!   expression compiler;
//! * [`transport`] (crate `xacct-dax-transport`): the DAX client transport under
//!   `aws_sdk_dynamodb::Client`, which [`AssumedRoleCredentials::dax`](crate::AssumedRoleCredentials::dax)
//!   builds for you;
//! * `gateway` (crate `xacct-dax-local`, feature `gateway`): the local DAX server.
//!
//! ```
//! use cross_account_dynamodb::dax::expr::{compile, Expressions};
//!
//! let compiled = compile(&Expressions::new().projection("pk, sk"))?;
//! assert!(compiled.projection.is_some());
//! # Ok::<(), cross_account_dynamodb::dax::expr::ExprError>(())
//! ```

pub use xacct_dax_protocol::{codec, expr};
#[doc(inline)]
pub use xacct_dax_transport as transport;

/// The local DAX server (crate `xacct-dax-local`; the `dax-local` binary runs it on its own).
#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub mod gateway {
    pub use xacct_dax_local::*;
}
