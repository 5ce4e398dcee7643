//! `xacct doctor`: checks every hop between a service in account B and DynamoDB / DAX in
//! account A, and says what to fix.
//!
//! The hops, in order ([`CheckId::ALL`]): the source credentials of the default chain
//! (`source_identity`), `sts:AssumeRole` into the role (`assume_role`), whether the role also
//! opens without the ExternalId (`external_id`), the table (`table`: DescribeTable, then a
//! GetItem probe on a key that need not exist), and the DAX cluster (`dax_dns`,
//! `dax_connect`, `dax_tls`, `dax_auth`, `dax_nodes`, `dax_request`). Each yields a [`Check`]
//! with a [`Status`], a stable [`Cause`] code when it fails or warns, a detail and a concrete
//! fix. Everything is read-only, every network step has a timeout, and a whole run stays under
//! ten seconds even against endpoints that drop every packet.
//!
//! The `xacct` binary is a thin wrapper (`xacct doctor --role-arn ARN ...`); services can run
//! the same checks at start-up and log the report:
//!
//! ```no_run
//! # async fn f() {
//! let options = xacct_doctor::Options::new("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
//!     .external_id("from-your-secret-store")
//!     .table("orders");
//! let report = xacct_doctor::run(&options).await;
//! if !report.ok() {
//!     eprintln!("{report}"); // the human form; report.to_json() for logs
//! }
//! # }
//! ```
//!
//! # Secrets and side effects
//!
//! No secret access key, session token or ExternalId is ever printed. The `external_id`
//! check calls AssumeRole a second time **without** the ExternalId: when the role enforces it
//! (as it should), that call is refused and leaves an `AccessDenied` AssumeRole event in
//! account A's CloudTrail. The `table` and `dax_request` probes are `GetItem` calls on a key
//! that need not exist; nothing is written.
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod aws;
mod budget;
mod cli;
mod dax;
mod fixes;
mod options;
mod report;

use std::borrow::Borrow;

pub use cli::{parse_args, Command, UsageError, USAGE};
pub use options::Options;
pub use report::{Cause, Check, CheckId, Report, Status};

/// The most a whole run may take; every step's own timeout is cut to what is left of it.
///
/// ```
/// assert!(xacct_doctor::RUN_BUDGET < std::time::Duration::from_secs(10));
/// ```
pub const RUN_BUDGET: std::time::Duration = std::time::Duration::from_millis(9_500);

/// Runs every check and returns the report (never fails: a problem is a failed check).
///
/// Takes `Options` or `&Options`. Needs a tokio runtime (with the `net` and `time` drivers).
///
/// ```no_run
/// # async fn f() {
/// let report = xacct_doctor::run(xacct_doctor::Options::new("arn:aws:iam::111111111111:role/R")).await;
/// println!("{}", report.to_json());
/// # }
/// ```
pub async fn run(options: impl Borrow<Options>) -> Report {
    let options = options.borrow();
    let (sdk, budget) = aws::source_config(options).await;
    let mut checks = Vec::with_capacity(CheckId::ALL.len());

    let (check, source) = aws::source_identity(&sdk, &budget).await;
    checks.push(check);
    let (check, role) = aws::assume_role(&sdk, options, source.as_ref(), &budget).await;
    checks.push(check);
    checks.push(aws::external_id(&sdk, options, source.as_ref(), role.as_ref(), &budget).await);
    let (check, schema) = aws::table(&sdk, options, role.as_ref(), &budget).await;
    checks.push(check);
    checks.extend(dax::checks(&sdk, options, role.as_ref(), schema.as_ref(), &budget).await);
    Report::new(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_round_trips() {
        for c in Cause::ALL {
            assert_eq!(Cause::from_code(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn budget_fits_ten_seconds() {
        assert!(RUN_BUDGET < std::time::Duration::from_secs(10));
    }
}
