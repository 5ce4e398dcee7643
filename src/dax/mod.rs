//! DynamoDB Accelerator (DAX).
//!
//! DAX clients speak a binary CBOR protocol to the cluster and compile every expression on the
//! client. Both halves are here, as the **low-level layer**:
//!
//! * [`codec`]: a pure, I/O-free implementation of the DAX wire protocol (frames, values, keys,
//!   every method in both directions, errors, connection authorization);
//! * [`expr`]: the expression compiler (text → DAX tree and back).
//!
//! They are public so that tools, tests and a DAX-speaking gateway can use them; most
//! applications want the transport built on top of them instead:
//!
//! * [`transport`]: the DAX client transport under `aws_sdk_dynamodb::Client` (built by
//!   [`AssumedRoleCredentials::dax`](crate::AssumedRoleCredentials::dax)).
//!
//! Dependencies point one way: `codec`, `expr` ← transport ← builder.

pub mod codec;
pub mod expr;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod transport;
