//! The crate's one error type.
//!
//! [`Error`] is a cheap-to-clone handle (one `Arc`), so the provider can hand the same failure to
//! every caller that waited on one refresh, keep it in [`CredentialsStatus`], and still give each
//! caller an owned value. Its `Display` says what went wrong at this level and what to check;
//! the underlying cause (an STS error, a timeout) is in [`std::error::Error::source`].
//!
//! Nothing secret reaches an error: no secret key, session token or external id is ever part of
//! a message, and the sources are SDK errors, whose `Debug`/`Display` redact credentials.
//!
//! [`CredentialsStatus`]: crate::CredentialsStatus

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is: for `match`, where the predicates are not enough.
///
/// ```
/// use cross_account_dynamodb::{Error, ErrorKind};
///
/// fn should_page_someone(e: &Error) -> bool {
///     matches!(e.kind(), ErrorKind::AccessDenied | ErrorKind::InvalidInput)
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder input or configuration is wrong (role ARN, session name, duration, region, ...).
    InvalidInput,
    /// STS refused the AssumeRole call (trust policy, ExternalId, `sts:AssumeRole` permission).
    AccessDenied,
    /// The cached credentials expired and no refresh has succeeded since.
    Expired,
    /// The source credentials (account B) could not be loaded or were rejected by STS.
    SourceCredentials,
    /// STS failed in a way that may pass (throttling, 5xx, timeout, network).
    StsUnavailable,
    /// STS rejected the request for a reason retrying cannot fix (not access).
    StsRejected,
    /// No credentials arrived within the load timeout.
    TimedOut,
    /// The provider was invalidated or shut down while a caller waited.
    Other,
}

/// The crate's error: what went wrong, what to check, and the cause in `source()`.
///
/// Cheap to clone. Use the predicates ([`is_access_denied`](Error::is_access_denied),
/// [`is_expired`](Error::is_expired), [`is_invalid_input`](Error::is_invalid_input),
/// [`is_retryable`](Error::is_retryable)) or [`kind`](Error::kind).
///
/// ```
/// use cross_account_dynamodb::AssumedRoleCredentials;
///
/// let err = AssumedRoleCredentials::builder("arn:aws:iam::12345:role/too-short-account")
///     .build_deferred()
///     .unwrap_err();
/// assert!(err.is_invalid_input());
/// assert!(err.to_string().contains("role ARN"));
/// ```
#[derive(Clone, thiserror::Error)]
#[error(transparent)]
pub struct Error(Arc<Repr>);

#[derive(Debug, thiserror::Error)]
enum Repr {
    #[error("invalid {what}: {problem}")]
    InvalidInput { what: &'static str, problem: String },

    #[error("{message}")]
    Sts {
        kind: ErrorKind,
        message: String,
        retryable: bool,
        #[source]
        source: BoxError,
    },

    #[error(
        "credentials for role {role_arn} expired at {} and no refresh has succeeded since; \
         the last refresh error is the source",
        fmt_time(*.expired_at)
    )]
    Expired {
        role_arn: String,
        expired_at: SystemTime,
        #[source]
        source: Option<Error>,
    },

    #[error("no credentials for role {role_arn} within the load timeout of {timeout:?}")]
    TimedOut { role_arn: String, timeout: Duration },

    #[error("{message}")]
    Other {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind())
            .field("message", &self.to_string())
            .field("causes", &causes(self))
            .finish()
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match &*self.0 {
            Repr::InvalidInput { .. } => ErrorKind::InvalidInput,
            Repr::Sts { kind, .. } => *kind,
            Repr::Expired { .. } => ErrorKind::Expired,
            Repr::TimedOut { .. } => ErrorKind::TimedOut,
            Repr::Other { .. } => ErrorKind::Other,
        }
    }

    /// STS denied the AssumeRole call: trust policy, ExternalId or `sts:AssumeRole` permission.
    pub fn is_access_denied(&self) -> bool {
        self.kind() == ErrorKind::AccessDenied
    }

    /// The credentials expired and could not be refreshed in time.
    pub fn is_expired(&self) -> bool {
        self.kind() == ErrorKind::Expired
    }

    /// A builder input or configuration value is wrong; the message names it.
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == ErrorKind::InvalidInput
    }

    /// No credentials arrived within the load timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::TimedOut
    }

    /// Retrying later may succeed (throttling, 5xx, timeouts, network failures).
    pub fn is_retryable(&self) -> bool {
        match &*self.0 {
            Repr::Sts { retryable, .. } => *retryable,
            Repr::TimedOut { .. } => true,
            Repr::Expired { source, .. } => source.as_ref().is_some_and(Error::is_retryable),
            _ => false,
        }
    }

    /// STS throttled the AssumeRole call (`Throttling`): the source account's STS request rate
    /// is over its limit (shared by every caller in the account and Region). Retryable.
    ///
    /// ```
    /// # fn f(err: cross_account_dynamodb::Error) {
    /// if err.is_throttling() {
    ///     eprintln!("STS is throttling this account: slow down ({err})");
    /// }
    /// # }
    /// ```
    pub fn is_throttling(&self) -> bool {
        match &*self.0 {
            Repr::Sts { source, .. } => source
                .downcast_ref::<crate::credentials::StsErrorSummary>()
                .is_some_and(crate::credentials::StsErrorSummary::is_throttling),
            Repr::Expired { source, .. } => source.as_ref().is_some_and(Error::is_throttling),
            _ => false,
        }
    }

    pub(crate) fn invalid_input(what: &'static str, problem: impl Into<String>) -> Self {
        Error(Arc::new(Repr::InvalidInput {
            what,
            problem: problem.into(),
        }))
    }

    pub(crate) fn sts(
        kind: ErrorKind,
        message: impl Into<String>,
        retryable: bool,
        source: impl Into<BoxError>,
    ) -> Self {
        Error(Arc::new(Repr::Sts {
            kind,
            message: message.into(),
            retryable,
            source: source.into(),
        }))
    }

    pub(crate) fn expired(role_arn: &str, expired_at: SystemTime, last: Option<Error>) -> Self {
        Error(Arc::new(Repr::Expired {
            role_arn: role_arn.to_owned(),
            expired_at,
            source: last,
        }))
    }

    pub(crate) fn timed_out(role_arn: &str, timeout: Duration) -> Self {
        Error(Arc::new(Repr::TimedOut {
            role_arn: role_arn.to_owned(),
            timeout,
        }))
    }

    pub(crate) fn other(message: impl Into<String>, source: Option<BoxError>) -> Self {
        Error(Arc::new(Repr::Other {
            message: message.into(),
            source,
        }))
    }
}

/// Every cause below `e`, outermost first (for `Debug`: `Display` stays one level).
fn causes(e: &Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        out.push(c.to_string());
        cur = c.source();
    }
    out
}

/// RFC 3339 in UTC, for messages.
pub(crate) fn fmt_time(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| format!("{t:?}"))
}
