//! DynamoDB Accelerator (DAX) support.
//!
//! DAX clients speak a binary CBOR protocol to the cluster and compile every expression on the
//! client. [`expr`] is that compiler (text → DAX tree and back).

pub mod expr;
