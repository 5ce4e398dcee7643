//! The report: one [`Check`] per hop, in a fixed order, its JSON and human forms.

use std::fmt;

use serde_json::{json, Value};

/// The hops, in the order they are checked and reported.
///
/// ```
/// use xacct_doctor::CheckId;
///
/// assert_eq!(CheckId::ALL.len(), 10);
/// assert_eq!(CheckId::ALL[0], CheckId::SourceIdentity);
/// assert_eq!(CheckId::DaxRequest.as_str(), "dax_request");
/// assert!(CheckId::Table == "table");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// The source credentials (default chain) and who they are (`sts:GetCallerIdentity`).
    SourceIdentity,
    /// `sts:AssumeRole` into the role in account A.
    AssumeRole,
    /// Whether the role also lets callers in without the ExternalId.
    ExternalId,
    /// The table: `DescribeTable`, then a `GetItem` probe.
    Table,
    /// The DAX endpoint's name resolves.
    DaxDns,
    /// A TCP connection to the DAX endpoint opens.
    DaxConnect,
    /// The TLS handshake (`daxs://`).
    DaxTls,
    /// `authorizeConnection` with the role's credentials, answered by an `endpoints` reply.
    DaxAuth,
    /// Every node the cluster lists is reachable from this host.
    DaxNodes,
    /// A `GetItem` probe through DAX.
    DaxRequest,
}

impl CheckId {
    /// Every check, in report order.
    ///
    /// ```
    /// assert_eq!(xacct_doctor::CheckId::ALL[9], xacct_doctor::CheckId::DaxRequest);
    /// ```
    pub const ALL: [CheckId; 10] = [
        CheckId::SourceIdentity,
        CheckId::AssumeRole,
        CheckId::ExternalId,
        CheckId::Table,
        CheckId::DaxDns,
        CheckId::DaxConnect,
        CheckId::DaxTls,
        CheckId::DaxAuth,
        CheckId::DaxNodes,
        CheckId::DaxRequest,
    ];

    /// The id as it appears in the JSON report (`"assume_role"`).
    ///
    /// ```
    /// assert_eq!(xacct_doctor::CheckId::ExternalId.as_str(), "external_id");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::SourceIdentity => "source_identity",
            CheckId::AssumeRole => "assume_role",
            CheckId::ExternalId => "external_id",
            CheckId::Table => "table",
            CheckId::DaxDns => "dax_dns",
            CheckId::DaxConnect => "dax_connect",
            CheckId::DaxTls => "dax_tls",
            CheckId::DaxAuth => "dax_auth",
            CheckId::DaxNodes => "dax_nodes",
            CheckId::DaxRequest => "dax_request",
        }
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
///
/// ```
/// use xacct_doctor::Status;
/// assert_eq!(Status::Warn.as_str(), "warn");
/// assert!(Status::Fail.is_failure());
/// assert!(!Status::Skip.is_failure());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The hop works.
    Pass,
    /// The hop works, but something is wrong with it (see the cause and fix).
    Warn,
    /// The hop does not work (see the cause and fix).
    Fail,
    /// Not checked: not asked for, or an earlier hop failed.
    Skip,
}

impl Status {
    /// `"pass"`, `"warn"`, `"fail"` or `"skip"`.
    ///
    /// ```
    /// assert_eq!(xacct_doctor::Status::Pass.as_str(), "pass");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }

    /// Whether this status makes the run fail (exit code 1).
    ///
    /// ```
    /// assert!(xacct_doctor::Status::Fail.is_failure());
    /// ```
    pub fn is_failure(self) -> bool {
        self == Status::Fail
    }
}

impl PartialEq<str> for Status {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! causes {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, )*) => {
        /// Why a check failed or warned. The codes (`as_str`) are stable: they are never
        /// renamed, only added to.
        ///
        /// ```
        /// use xacct_doctor::Cause;
        /// assert_eq!(Cause::AssumeRoleDenied.as_str(), "assume_role_denied");
        /// assert_eq!(Cause::from_code("dax_connection_timeout"), Some(Cause::DaxConnectionTimeout));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Cause {
            $( $(#[$doc])* $variant, )*
        }

        impl Cause {
            /// Every cause code.
            ///
            /// ```
            /// assert!(xacct_doctor::Cause::ALL.contains(&xacct_doctor::Cause::DaxNodeUnreachable));
            /// ```
            pub const ALL: &'static [Cause] = &[ $( Cause::$variant, )* ];

            /// The stable code (`"table_not_found"`).
            ///
            /// ```
            /// assert_eq!(xacct_doctor::Cause::TableNotFound.as_str(), "table_not_found");
            /// ```
            pub fn as_str(self) -> &'static str {
                match self { $( Cause::$variant => $code, )* }
            }

            /// The cause with this code, if any.
            ///
            /// ```
            /// assert_eq!(xacct_doctor::Cause::from_code("nope"), None);
            /// ```
            pub fn from_code(code: &str) -> Option<Cause> {
                match code { $( $code => Some(Cause::$variant), )* _ => None }
            }
        }
    };
}

causes! {
    /// No credentials in the default chain.
    SourceCredentialsMissing => "source_credentials_missing",
    /// STS rejects the source access key or session token (unknown, wrong secret, expired).
    SourceCredentialsRejected => "source_credentials_rejected",
    /// STS cannot be reached (DNS, connection, timeout).
    StsUnreachable => "sts_unreachable",
    /// STS is not activated in this region for the account.
    RegionDisabled => "region_disabled",
    /// No region: neither `--region` nor the default chain gives one.
    RegionMissing => "region_missing",
    /// AssumeRole answered AccessDenied.
    AssumeRoleDenied => "assume_role_denied",
    /// AssumeRole rejected a parameter (role ARN, session name, duration below 900 s).
    AssumeRoleInvalid => "assume_role_invalid",
    /// The requested duration exceeds the role's MaxSessionDuration (or the chaining cap).
    DurationExceedsMaxSession => "duration_exceeds_max_session",
    /// A warning: an ExternalId was given, but the role can be assumed without one.
    ExternalIdNotEnforced => "external_id_not_enforced",
    /// The table does not exist in account A in this region.
    TableNotFound => "table_not_found",
    /// The GetItem probe was refused: the role lacks `dynamodb:GetItem`.
    TableAccessDenied => "table_access_denied",
    /// A warning: DescribeTable was refused, so the GetItem probe (which needs the key schema)
    /// was skipped.
    TableDescribeDenied => "table_describe_denied",
    /// DescribeTable or the GetItem probe failed with another error than the above.
    TableProbeFailed => "table_probe_failed",
    /// DynamoDB cannot be reached.
    DynamodbUnreachable => "dynamodb_unreachable",
    /// The DAX endpoint is not a `dax://` or `daxs://` URL.
    DaxEndpointInvalid => "dax_endpoint_invalid",
    /// The DAX endpoint's name does not resolve.
    DaxDnsFailed => "dax_dns_failed",
    /// Nothing listens at the DAX endpoint (connection refused).
    DaxConnectionRefused => "dax_connection_refused",
    /// The connection attempt timed out: packets are dropped (security group, NACL, missing
    /// peering route).
    DaxConnectionTimeout => "dax_connection_timeout",
    /// The TLS handshake failed (certificate name, unknown issuer, plaintext port).
    DaxTlsFailed => "dax_tls_failed",
    /// The cluster refused `authorizeConnection`.
    DaxAuthRejected => "dax_auth_rejected",
    /// The cluster answered with something this tool does not understand.
    DaxProtocolError => "dax_protocol_error",
    /// The cluster lists a node this host cannot reach.
    DaxNodeUnreachable => "dax_node_unreachable",
    /// The GetItem probe through DAX was refused.
    DaxRequestDenied => "dax_request_denied",
    /// The GetItem probe through DAX failed for another reason.
    DaxRequestFailed => "dax_request_failed",
}

impl PartialEq<str> for Cause {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Cause {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one hop.
///
/// ```
/// use xacct_doctor::{Check, CheckId, Status};
///
/// let c = Check::skip(CheckId::Table, "no --table given");
/// assert_eq!(c.status, Status::Skip);
/// assert_eq!(c.cause, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Which hop.
    pub id: CheckId,
    /// Its outcome.
    pub status: Status,
    /// Why it failed or warned (`None` for pass and skip).
    pub cause: Option<Cause>,
    /// What was found (never a secret).
    pub detail: String,
    /// What to change (`None` for pass and skip).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    ///
    /// ```
    /// let c = xacct_doctor::Check::pass(xacct_doctor::CheckId::DaxDns, "resolves");
    /// assert_eq!(c.status, xacct_doctor::Status::Pass);
    /// ```
    pub fn pass(id: CheckId, detail: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Pass,
            cause: None,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A skipped check.
    ///
    /// ```
    /// let c = xacct_doctor::Check::skip(xacct_doctor::CheckId::DaxDns, "no --dax given");
    /// assert_eq!(c.status, xacct_doctor::Status::Skip);
    /// ```
    pub fn skip(id: CheckId, detail: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Skip,
            cause: None,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed check with its cause and fix.
    ///
    /// ```
    /// use xacct_doctor::{Cause, Check, CheckId};
    /// let c = Check::fail(CheckId::Table, Cause::TableNotFound, "no table", "create it");
    /// assert_eq!(c.cause, Some(Cause::TableNotFound));
    /// ```
    pub fn fail(
        id: CheckId,
        cause: Cause,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id,
            status: Status::Fail,
            cause: Some(cause),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A warning with its cause and fix.
    ///
    /// ```
    /// use xacct_doctor::{Cause, Check, CheckId, Status};
    /// let c = Check::warn(CheckId::ExternalId, Cause::ExternalIdNotEnforced, "open", "close it");
    /// assert_eq!(c.status, Status::Warn);
    /// ```
    pub fn warn(
        id: CheckId,
        cause: Cause,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id,
            status: Status::Warn,
            cause: Some(cause),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// This check as a JSON object (`id`, `status`, `cause`, `detail`, `fix`).
    ///
    /// ```
    /// let c = xacct_doctor::Check::skip(xacct_doctor::CheckId::Table, "no --table given");
    /// assert_eq!(c.to_json_value()["status"], "skip");
    /// assert!(c.to_json_value()["cause"].is_null());
    /// ```
    pub fn to_json_value(&self) -> Value {
        json!({
            "id": self.id.as_str(),
            "status": self.status.as_str(),
            "cause": self.cause.map(Cause::as_str),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// The whole run: every check of [`CheckId::ALL`], in that order.
///
/// `Display` gives the human form (one line per hop, then the cause and fix of each failure
/// and warning); [`to_json`](Self::to_json) the machine form.
///
/// ```
/// use xacct_doctor::{Check, CheckId, Report};
///
/// let report = Report::new(CheckId::ALL.iter().map(|&id| Check::skip(id, "not checked")).collect());
/// assert!(report.ok());
/// assert_eq!(report.exit_code(), 0);
/// let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
/// assert_eq!(json["checks"].as_array().unwrap().len(), 10);
/// assert!(report.to_string().contains("skip  dax_request"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// This tool's version.
    pub version: String,
    /// The checks, in [`CheckId::ALL`] order.
    pub checks: Vec<Check>,
}

impl Report {
    /// A report of these checks, with this crate's version.
    ///
    /// ```
    /// let r = xacct_doctor::Report::new(vec![]);
    /// assert_eq!(r.version, env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn new(checks: Vec<Check>) -> Report {
        Report {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            checks,
        }
    }

    /// `true` when no check failed (warnings and skips do not count).
    ///
    /// ```
    /// assert!(xacct_doctor::Report::new(vec![]).ok());
    /// ```
    pub fn ok(&self) -> bool {
        !self.checks.iter().any(|c| c.status.is_failure())
    }

    /// The process exit code for this report: 0 when [`ok`](Self::ok), else 1.
    ///
    /// ```
    /// assert_eq!(xacct_doctor::Report::new(vec![]).exit_code(), 0);
    /// ```
    pub fn exit_code(&self) -> i32 {
        if self.ok() {
            0
        } else {
            1
        }
    }

    /// The check with this id.
    ///
    /// ```
    /// use xacct_doctor::{Check, CheckId, Report};
    /// let r = Report::new(vec![Check::skip(CheckId::Table, "no --table given")]);
    /// assert!(r.check(CheckId::Table).is_some());
    /// assert!(r.check(CheckId::DaxDns).is_none());
    /// ```
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The failed checks, in order.
    ///
    /// ```
    /// assert_eq!(xacct_doctor::Report::new(vec![]).failures().count(), 0);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The report as a JSON value: `{"version", "ok", "checks": [...]}`.
    ///
    /// ```
    /// let v = xacct_doctor::Report::new(vec![]).to_json_value();
    /// assert_eq!(v["ok"], true);
    /// ```
    pub fn to_json_value(&self) -> Value {
        json!({
            "version": self.version,
            "ok": self.ok(),
            "checks": self.checks.iter().map(Check::to_json_value).collect::<Vec<_>>(),
        })
    }

    /// The report as one JSON object (pretty-printed).
    ///
    /// ```
    /// let text = xacct_doctor::Report::new(vec![]).to_json();
    /// assert!(text.starts_with('{'));
    /// ```
    pub fn to_json(&self) -> String {
        // Written by hand so that the keys keep the documented order (serde_json's map sorts
        // them); every value goes through serde_json for escaping.
        let q = |v: &Value| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        let mut out = String::from("{\n");
        out.push_str(&format!("  \"version\": {},\n", q(&json!(self.version))));
        out.push_str(&format!("  \"ok\": {},\n", self.ok()));
        out.push_str("  \"checks\": [");
        for (i, c) in self.checks.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&format!(
                "    {{\n      \"id\": {},\n      \"status\": {},\n      \"cause\": {},\n      \"detail\": {},\n      \"fix\": {}\n    }}",
                q(&json!(c.id.as_str())),
                q(&json!(c.status.as_str())),
                q(&json!(c.cause.map(Cause::as_str))),
                q(&json!(c.detail)),
                q(&json!(c.fix)),
            ));
        }
        out.push_str(if self.checks.is_empty() {
            "]\n}"
        } else {
            "\n  ]\n}"
        });
        out
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_owned()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "xacct doctor {}", self.version)?;
        for c in &self.checks {
            // one line per hop: the detail's first line (the whole of it comes below)
            let first = c.detail.lines().next().unwrap_or_default();
            writeln!(
                f,
                "{:<4}  {:<15}  {first}",
                c.status.as_str(),
                c.id.as_str()
            )?;
        }
        let problems: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
            .collect();
        for c in &problems {
            writeln!(f)?;
            let what = if c.status == Status::Fail {
                "FAILED"
            } else {
                "WARNING"
            };
            writeln!(
                f,
                "{what} {}: {}",
                c.id,
                c.cause.map(Cause::as_str).unwrap_or("-")
            )?;
            writeln!(f, "  cause: {}", indent(&c.detail, "         "))?;
            if let Some(fix) = &c.fix {
                writeln!(f, "  fix:   {}", indent(fix, "         "))?;
            }
        }
        writeln!(f)?;
        let failed = problems.iter().filter(|c| c.status == Status::Fail).count();
        let warned = problems.len() - failed;
        if failed == 0 {
            write!(f, "ok: no check failed ({warned} warning(s))")
        } else {
            write!(f, "NOT OK: {failed} check(s) failed, {warned} warning(s)")
        }
    }
}
