//! The DynamoDB Accelerator (DAX) wire protocol, pure: no runtime, no sockets, no clock.
//!
//! DAX clients speak a binary CBOR protocol to the cluster and compile every expression on the
//! client. Both halves are here:
//!
//! * [`codec`]: frames, values, keys, every method in both directions, errors, connection
//!   authorization;
//! * [`expr`]: the expression compiler (text → DAX tree and back).
//!
//! A client (`xacct-dax-transport`) and a server (`xacct-dax-local`) are built on them; tools
//! and tests can use them directly.
//!
//! ```
//! use xacct_dax_protocol::expr::{compile, ExpressionKind, Expressions};
//!
//! let compiled = compile(&Expressions::new().condition("attribute_exists(pk)"))?;
//! assert!(compiled.get(ExpressionKind::Condition).is_some());
//! # Ok::<(), xacct_dax_protocol::expr::ExprError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod expr;
