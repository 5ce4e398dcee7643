//! One AssumeRole call: request parameters, the call, the conversion, and error classification.
//!
//! Retries inside one call are the STS client's own (the SdkConfig's retry config: standard mode,
//! 3 attempts by default, exponential backoff, for throttling, 5xx, timeouts and I/O errors).
//! The provider's backoff (see [`RefreshPolicy`](crate::RefreshPolicy)) spaces whole calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
use aws_sdk_sts::operation::RequestId;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};

use super::options::SharedOptions;
use crate::error::{Error, ErrorKind};

/// Chained sessions (credentials from AssumeRole assuming another role) last at most one hour.
pub(crate) const CHAINED_MAX_SECONDS: i32 = 3600;

/// Produces an MFA token code at each refresh.
pub(crate) type MfaTokenFn = Arc<dyn Fn() -> String + Send + Sync>;

/// Every AssumeRole parameter, validated by the builder.
#[derive(Clone)]
pub(crate) struct AssumeRoleParams {
    /// The role options as given (shared with a pool's key for the role).
    pub(crate) options: SharedOptions,
    /// The session name: the one given, or the default.
    pub(crate) session_name: String,
    /// Validated, and clamped to an hour for chains of our own providers.
    pub(crate) duration_seconds: Option<i32>,
    pub(crate) mfa: Option<(String, MfaTokenFn)>,
}

impl std::fmt::Debug for AssumeRoleParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleParams")
            .field("options", &self.options)
            .field("session_name", &self.session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("mfa_serial", &self.mfa.as_ref().map(|(serial, _)| serial))
            .finish()
    }
}

/// Why one AssumeRole attempt gave no credentials.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// STS refused the duration for a chained session: the duration is capped now, try again.
    ChainCapped,
    /// Anything else, classified.
    Failed(Error),
}

impl Attempt {
    fn into_error(self) -> Error {
        match self {
            Attempt::Failed(e) => e,
            Attempt::ChainCapped => Error::other(
                "STS refused the session duration for a chained role session twice",
                None,
            ),
        }
    }
}

/// Credentials fresh from STS.
#[derive(Clone)]
pub(crate) struct StsCredentials {
    pub(crate) credentials: Credentials,
    pub(crate) expiry: SystemTime,
}

/// Calls AssumeRole with one prepared STS client.
pub(crate) struct StsCaller {
    client: aws_sdk_sts::Client,
    params: AssumeRoleParams,
    /// Set once STS said the source is a chained session: ask for at most an hour from then on.
    capped_to_chained: AtomicBool,
}

impl std::fmt::Debug for StsCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its config is long and not ours to print.
        f.debug_struct("StsCaller")
            .field("params", &self.params)
            .field("capped_to_chained", &self.capped_to_chained)
            .finish_non_exhaustive()
    }
}

impl StsCaller {
    pub(crate) fn new(client: aws_sdk_sts::Client, params: AssumeRoleParams) -> Self {
        StsCaller {
            client,
            params,
            capped_to_chained: AtomicBool::new(false),
        }
    }

    pub(crate) fn role_arn(&self) -> &str {
        &self.params.options.role_arn
    }

    #[cfg(test)]
    pub(crate) fn client(&self) -> &aws_sdk_sts::Client {
        &self.client
    }

    /// One AssumeRole call (with the STS client's own retries inside it).
    pub(crate) async fn fetch(&self) -> Result<StsCredentials, Error> {
        match self.fetch_attempt().await {
            // Capped to the chained-session hour now: ask again (it cannot be refused so twice).
            Err(Attempt::ChainCapped) => self.fetch_attempt().await.map_err(Attempt::into_error),
            result => result.map_err(Attempt::into_error),
        }
    }

    /// One AssumeRole request, for callers that do their own retries (a pool, whose STS clients
    /// do not retry so that every request goes through its budget). A refusal of the duration
    /// because the source is a chained session caps it from then on and asks to be called
    /// again.
    pub(crate) async fn fetch_attempt(&self) -> Result<StsCredentials, Attempt> {
        let duration = self.duration();
        match self.call(duration).await {
            Ok(fetched) => Ok(fetched),
            Err(e) if duration.is_some_and(|d| d > CHAINED_MAX_SECONDS) && is_chaining_cap(&e) => {
                tracing::warn!(
                    role_arn = %self.params.options.role_arn,
                    requested = duration,
                    "the source credentials are a chained role session, which STS caps at one \
                     hour; asking for 3600 s from now on"
                );
                self.capped_to_chained.store(true, Ordering::Relaxed);
                Err(Attempt::ChainCapped)
            }
            Err(e) => Err(Attempt::Failed(self.classify(e))),
        }
    }

    fn duration(&self) -> Option<i32> {
        let d = self.params.duration_seconds;
        if self.capped_to_chained.load(Ordering::Relaxed) {
            d.map(|d| d.min(CHAINED_MAX_SECONDS))
        } else {
            d
        }
    }

    async fn call(
        &self,
        duration_seconds: Option<i32>,
    ) -> Result<StsCredentials, SdkError<AssumeRoleError>> {
        let p = &self.params;
        let o = &p.options;
        let mut req = self
            .client
            .assume_role()
            .role_arn(&o.role_arn)
            .role_session_name(&p.session_name)
            .set_external_id(o.external_id.clone())
            .set_duration_seconds(duration_seconds)
            .set_policy(o.policy.clone())
            .set_source_identity(o.source_identity.clone());
        for arn in &o.policy_arns {
            req = req.policy_arns(PolicyDescriptorType::builder().arn(arn).build());
        }
        for (key, value) in &o.tags {
            // Both fields are set, so building cannot fail; the builder validated them.
            if let Ok(tag) = Tag::builder().key(key).value(value).build() {
                req = req.tags(tag);
            }
        }
        for key in &o.transitive_tag_keys {
            req = req.transitive_tag_keys(key);
        }
        if let Some((serial, token)) = &p.mfa {
            req = req.serial_number(serial).token_code(token());
        }
        let out = req.send().await?;
        into_sts_credentials(out).map_err(SdkError::construction_failure)
    }

    /// Turns an SDK error into ours: what happened to this role, and what to check.
    fn classify(&self, err: SdkError<AssumeRoleError>) -> Error {
        let role = &self.params.options.role_arn;
        if let SdkError::ServiceError(ctx) = &err {
            let code = ctx.err().code().unwrap_or("");
            let status = ctx.raw().status().as_u16();
            let (kind, retryable, message) = match code {
                // A success status with a body that does not parse (truncated, say).
                "" if (200..300).contains(&status) => (
                    ErrorKind::StsUnavailable,
                    true,
                    format!(
                        "the AssumeRole call for role {role} got an unreadable response \
                         (HTTP {status}); retrying with backoff"
                    ),
                ),
                "AccessDenied" => (ErrorKind::AccessDenied, false, self.access_denied_message()),
                "ExpiredToken"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException"
                | "IncompleteSignature" => (
                    ErrorKind::SourceCredentials,
                    code == "ExpiredToken",
                    format!(
                        "STS rejected the source credentials used to assume role {role} \
                         ({code}); check the source (account B) credentials"
                    ),
                ),
                "RegionDisabledException" => (
                    ErrorKind::StsRejected,
                    false,
                    format!(
                        "STS is not activated in this region for the account of role {role}; \
                         activate the region in IAM account settings or use another STS region"
                    ),
                ),
                "MalformedPolicyDocument" | "PackedPolicyTooLarge" => (
                    ErrorKind::StsRejected,
                    false,
                    format!("STS rejected the session policy or tags for role {role} ({code})"),
                ),
                "ValidationError" => (
                    ErrorKind::StsRejected,
                    false,
                    format!(
                        "STS rejected the AssumeRole request for role {role} as invalid; check \
                         the duration against the role's MaxSessionDuration (one hour when the \
                         source is itself a role session), the session policy and the tags"
                    ),
                ),
                "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "IDPCommunicationError"
                | "ServiceUnavailable"
                | "InternalFailure" => (
                    ErrorKind::StsUnavailable,
                    true,
                    format!("STS is unavailable for role {role} ({code}); retrying with backoff"),
                ),
                _ if status >= 500 => (
                    ErrorKind::StsUnavailable,
                    true,
                    format!("STS failed for role {role} (HTTP {status}); retrying with backoff"),
                ),
                _ => (
                    ErrorKind::StsRejected,
                    false,
                    format!("STS rejected AssumeRole for role {role} ({code}, HTTP {status})"),
                ),
            };
            return Error::sts(kind, message, retryable, self.summary(&err));
        }
        if source_credentials_failed(&err) {
            return Error::sts(
                ErrorKind::SourceCredentials,
                format!(
                    "the source credentials (account B) for assuming role {role} could not be \
                     loaded; check the source provider (environment, profile, instance or task \
                     role)"
                ),
                true,
                self.summary(&err),
            );
        }
        let what = match &err {
            SdkError::TimeoutError(_) => "timed out",
            SdkError::DispatchFailure(_) => "could not be sent (network)",
            SdkError::ResponseError(_) => "got an unreadable response",
            _ => "could not be made",
        };
        let retryable = !matches!(err, SdkError::ConstructionFailure(_));
        Error::sts(
            ErrorKind::StsUnavailable,
            format!("the AssumeRole call for role {role} {what}"),
            retryable,
            self.summary(&err),
        )
    }

    /// What the error chain keeps of an SDK error: never the error itself, which holds the raw
    /// HTTP response (a truncated body can carry a secret key and session token), only its
    /// code, message (with the external id and MFA token redacted) and request id.
    fn summary(&self, err: &SdkError<AssumeRoleError>) -> StsErrorSummary {
        let (what, http_status) = match err {
            SdkError::ServiceError(ctx) => ("service error", Some(ctx.raw().status().as_u16())),
            SdkError::TimeoutError(_) => ("timeout", None),
            SdkError::DispatchFailure(d) if d.is_timeout() => ("timeout", None),
            SdkError::DispatchFailure(d) if d.is_io() => ("network error", None),
            SdkError::DispatchFailure(_) => ("dispatch failure", None),
            SdkError::ResponseError(ctx) => {
                ("unreadable response", Some(ctx.raw().status().as_u16()))
            }
            SdkError::ConstructionFailure(_) if source_credentials_failed(err) => {
                ("source credentials unavailable", None)
            }
            SdkError::ConstructionFailure(_) => ("request or response not usable", None),
            _ if source_credentials_failed(err) => ("source credentials unavailable", None),
            _ => ("error", None),
        };
        let meta = err.as_service_error().map(ProvideErrorMetadata::meta);
        StsErrorSummary {
            what,
            code: meta.and_then(|m| m.code()).map(|c| self.redact(c)),
            message: meta.and_then(|m| m.message()).map(|m| self.redact(m)),
            request_id: err.request_id().map(|r| self.redact(r)),
            http_status,
        }
    }

    /// `text` without the external id (STS may echo request parameters).
    fn redact(&self, text: &str) -> String {
        match self.params.options.external_id.as_deref() {
            Some(id) if !id.is_empty() && text.contains(id) => text.replace(id, "<redacted>"),
            _ => text.to_owned(),
        }
    }

    /// STS answers a wrong ExternalId, an untrusted principal, a missing `sts:AssumeRole`
    /// permission and a missing role alike, so list every cause, the likeliest first.
    fn access_denied_message(&self) -> String {
        let role = &self.params.options.role_arn;
        let causes: &[&str] = if self.params.options.external_id.is_some() {
            &[
                "the external id sent does not match the sts:ExternalId condition in the role's \
                 trust policy",
                "the role's trust policy does not trust the calling account or principal",
                "the calling principal's own IAM policy does not allow sts:AssumeRole on this role",
                "the role does not exist",
            ]
        } else {
            &[
                "the role's trust policy does not trust the calling account or principal",
                "the calling principal's own IAM policy does not allow sts:AssumeRole on this role",
                "the role's trust policy requires an external id and none was sent",
                "the role does not exist",
            ]
        };
        let list = causes
            .iter()
            .enumerate()
            .map(|(i, c)| format!("({}) {c}", i + 1))
            .collect::<Vec<_>>()
            .join("; ");
        format!(
            "AssumeRole into role {role} was denied; STS does not say why, check in order: {list}"
        )
    }
}

/// What an error chain keeps of a failed AssumeRole call: the kind of failure, STS's error
/// code, message and request id, and the HTTP status. Never the raw response.
#[derive(Debug, Clone)]
pub(crate) struct StsErrorSummary {
    what: &'static str,
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    http_status: Option<u16>,
}

impl StsErrorSummary {
    /// STS said it is throttling the caller.
    pub(crate) fn is_throttling(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded")
        )
    }
}

impl std::fmt::Display for StsErrorSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "STS {}", self.what)?;
        if let Some(status) = self.http_status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for StsErrorSummary {}

fn is_chaining_cap(err: &SdkError<AssumeRoleError>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError")
            && e.message().is_some_and(|m| m.contains("role chaining"))
    })
}

fn source_credentials_failed(err: &SdkError<AssumeRoleError>) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<CredentialsError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

fn into_sts_credentials(out: AssumeRoleOutput) -> Result<StsCredentials, &'static str> {
    let c = out
        .credentials
        .ok_or("STS answered AssumeRole without credentials")?;
    let expiry =
        SystemTime::try_from(c.expiration).map_err(|_| "STS answered an unreadable expiration")?;
    let mut builder = Credentials::builder()
        .access_key_id(c.access_key_id)
        .secret_access_key(c.secret_access_key)
        .session_token(c.session_token)
        .expiry(expiry)
        .provider_name("AssumedRoleCredentials");
    // arn:aws:sts::<account>:assumed-role/<role>/<session>: DynamoDB's account-based endpoints
    // need the account id.
    if let Some(account) = out
        .assumed_role_user
        .as_ref()
        .and_then(|u| u.arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
    {
        builder = builder.account_id(account);
    }
    Ok(StsCredentials {
        credentials: builder.build(),
        expiry,
    })
}
