//! DynamoDB Accelerator (DAX).
//!
//! [`codec`] is the **low-level layer**: a pure, I/O-free implementation of the DAX wire
//! protocol (frames, values, keys, every method in both directions, errors, connection
//! authorization). It is public so that tools, tests and a DAX-speaking gateway can use it;
//! most applications want the transport built on top of it instead.
//!
//! Dependencies point one way: `codec` ← transport ← builder.

pub mod codec;
