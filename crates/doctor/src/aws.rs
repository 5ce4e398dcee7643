//! The HTTP-side hops: source credentials, AssumeRole, ExternalId enforcement, the table.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::SdkConfig;

use crate::budget::{secs, Budget};
use crate::fixes::{self, RoleArn};
use crate::{Cause, Check, CheckId, Options};

/// Per-call limits of the SDK clients (the run's budget cuts them further).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// Our own limit around each call (a little above the SDK's, which should fire first).
const STEP_TIMEOUT: Duration = Duration::from_millis(4_500);
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(4);
const DEFAULT_SESSION_NAME: &str = "xacct-doctor";
/// The value the probes read: a key that need not exist.
pub(crate) const PROBE_KEY: &str = "xacct-doctor-probe";

/// Who the source credentials are.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) arn: String,
    pub(crate) account: String,
}

/// The assumed role.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub(crate) credentials: Credentials,
    pub(crate) arn: RoleArn,
    /// The source account (for fixes).
    pub(crate) account_b: String,
}

/// What the table check learnt for the DAX probe.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    pub(crate) table: String,
    pub(crate) key: HashMap<String, AttributeValue>,
}

/// The source configuration with bounded timeouts and retries, and the run's budget.
pub(crate) async fn source_config(options: &Options) -> (SdkConfig, Budget) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let retries = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_millis(500));
    let tokio_sleep = SharedAsyncSleep::new(TokioSleep::new());
    let sdk = match &options.source {
        Some(sdk) => {
            let mut b = sdk.to_builder();
            if let Some(r) = &options.region {
                b.set_region(Some(Region::new(r.clone())));
            }
            if sdk.sleep_impl().is_none() {
                b.set_sleep_impl(Some(tokio_sleep.clone()));
            }
            if sdk.time_source().is_none() {
                b.set_time_source(Some(SharedTimeSource::default()));
            }
            b.timeout_config(timeouts).retry_config(retries).build()
        }
        None => {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .timeout_config(timeouts)
                .retry_config(retries)
                .sleep_impl(tokio_sleep.clone());
            if let Some(r) = &options.region {
                loader = loader.region(Region::new(r.clone()));
            }
            loader.load().await
        }
    };
    let time = sdk.time_source().unwrap_or_default();
    let sleep = sdk.sleep_impl().unwrap_or(tokio_sleep);
    let budget = Budget::new(time, sleep, crate::RUN_BUDGET);
    (sdk, budget)
}

/// How a call failed.
enum Failure {
    /// The service answered with an error code.
    Service { code: String, message: String },
    /// No answer: DNS, connection, timeout.
    Unreachable(String),
    /// Anything else (the whole error chain).
    Other(String),
}

fn classify<E, R>(e: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::TimeoutError(_) => {
            Failure::Unreachable(format!("no answer in time ({})", DisplayErrorContext(e)))
        }
        SdkError::DispatchFailure(_) => Failure::Unreachable(DisplayErrorContext(e).to_string()),
        _ => match e.code() {
            Some(code) => Failure::Service {
                code: code.to_owned(),
                message: e.message().unwrap_or_default().to_owned(),
            },
            None => Failure::Other(DisplayErrorContext(e).to_string()),
        },
    }
}

/// A call bounded by the budget, its errors classified.
async fn bounded<T, E, R, F>(budget: &Budget, f: F) -> Result<T, Failure>
where
    F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match budget.limit(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(&e)),
        Err(limit) => Err(Failure::Unreachable(format!(
            "no answer within {}",
            secs(limit)
        ))),
    }
}

const REJECTED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
];

fn is_region_disabled(code: &str, message: &str) -> bool {
    code == "RegionDisabledException" || message.contains("not activated in this region")
}

fn sts_endpoint(sdk: &SdkConfig) -> String {
    match sdk.endpoint_url() {
        Some(u) => u.to_owned(),
        None => format!(
            "https://sts.{}.amazonaws.com",
            sdk.region().map(|r| r.as_ref()).unwrap_or("<region>")
        ),
    }
}

fn region_of(sdk: &SdkConfig) -> String {
    sdk.region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "<region>".into())
}

fn unreachable_check(id: CheckId, sdk: &SdkConfig, why: &str) -> Check {
    let endpoint = sts_endpoint(sdk);
    let region = region_of(sdk);
    Check::fail(
        id,
        Cause::StsUnreachable,
        format!("STS at {endpoint} cannot be reached: {why}"),
        format!(
            "let this host reach STS: allow outbound HTTPS (tcp/443) to sts.{region}.amazonaws.com \
             (security group egress, NACL, proxy), or create an STS interface VPC endpoint \
             (aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name \
             com.amazonaws.{region}.sts --vpc-id <vpc-id> --subnet-ids <subnet-ids> \
             --security-group-ids <sg-id> --private-dns-enabled); check AWS_ENDPOINT_URL / \
             AWS_ENDPOINT_URL_STS if set"
        ),
    )
}

fn region_disabled_check(id: CheckId, sdk: &SdkConfig, message: &str) -> Check {
    let region = region_of(sdk);
    Check::fail(
        id,
        Cause::RegionDisabled,
        format!("STS is not activated in {region} for this account: {message}"),
        format!(
            "activate STS in {region} for the account (IAM console > Account settings > Security \
             Token Service (STS) > Endpoints > {region}: Activate; for an opt-in region first \
             aws account enable-region --region-name {region}), or pass --region of a region \
             where STS is active"
        ),
    )
}

fn rejected_fix() -> String {
    "give this host valid source credentials: a session key (ASIA...) expires, so refresh it \
     (aws sso login, restart the process that got it, check the host clock); a long-term key \
     (AKIA...) must be active and its secret must match (aws iam list-access-keys --user-name \
     <user> in account B; rotate with aws iam create-access-key); then aws sts \
     get-caller-identity must work"
        .into()
}

fn rejected_check(id: CheckId, code: &str, message: &str, key_id: Option<&str>) -> Check {
    let key = key_id.map(mask).unwrap_or_else(|| "the source key".into());
    let what = if code.starts_with("ExpiredToken") {
        "the session token has expired"
    } else {
        "the key or its signature is not valid"
    };
    Check::fail(
        id,
        Cause::SourceCredentialsRejected,
        format!("STS rejects {key}: {what} ({code}: {message})"),
        rejected_fix(),
    )
}

/// `AKIA...MBAT`: enough to recognise a key, never the whole id.
fn mask(key_id: &str) -> String {
    if key_id.len() > 8 {
        format!("{}...{}", &key_id[..4], &key_id[key_id.len() - 4..])
    } else {
        "****".into()
    }
}

/// `source_identity`: credentials from the chain, then GetCallerIdentity.
pub(crate) async fn source_identity(sdk: &SdkConfig, budget: &Budget) -> (Check, Option<Source>) {
    let id = CheckId::SourceIdentity;
    let missing_fix = "give this host credentials through the default chain: AWS_ACCESS_KEY_ID and \
                       AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, \
                       AWS_PROFILE with ~/.aws/credentials or ~/.aws/config (SSO: aws sso login), \
                       web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, EKS IRSA), the ECS \
                       task role, or an EC2 instance profile (IMDS); then aws sts \
                       get-caller-identity must work";
    let Some(provider) = sdk.credentials_provider() else {
        return (
            Check::fail(
                id,
                Cause::SourceCredentialsMissing,
                "no credentials provider is configured",
                missing_fix,
            ),
            None,
        );
    };
    let creds = match budget
        .limit(CREDENTIALS_TIMEOUT, provider.provide_credentials())
        .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return (
                Check::fail(
                    id,
                    Cause::SourceCredentialsMissing,
                    format!(
                        "the default credentials chain found no credentials: {}",
                        DisplayErrorContext(&e)
                    ),
                    missing_fix,
                ),
                None,
            )
        }
        Err(limit) => {
            return (
                Check::fail(
                    id,
                    Cause::SourceCredentialsMissing,
                    format!(
                        "the default credentials chain gave no credentials within {}",
                        secs(limit)
                    ),
                    missing_fix,
                ),
                None,
            )
        }
    };
    if sdk.region().is_none() {
        return (
            Check::fail(
                id,
                Cause::RegionMissing,
                "no region: neither --region nor the default chain (AWS_REGION, profile) gives one",
                "pass --region <the region of the table / DAX cluster> or set AWS_REGION",
            ),
            None,
        );
    }
    let sts = aws_sdk_sts::Client::new(sdk);
    match bounded(budget, sts.get_caller_identity().send()).await {
        Ok(out) => {
            let arn = out.arn().unwrap_or_default().to_owned();
            let account = out.account().unwrap_or_default().to_owned();
            let detail = format!(
                "{arn} (account {account}), key {}, via {}",
                mask(creds.access_key_id()),
                sts_endpoint(sdk)
            );
            (Check::pass(id, detail), Some(Source { arn, account }))
        }
        Err(Failure::Unreachable(why)) => (unreachable_check(id, sdk, &why), None),
        Err(Failure::Service { code, message }) if is_region_disabled(&code, &message) => {
            (region_disabled_check(id, sdk, &message), None)
        }
        Err(Failure::Service { code, message }) => (
            rejected_check(id, &code, &message, Some(creds.access_key_id())),
            None,
        ),
        Err(Failure::Other(why)) => (unreachable_check(id, sdk, &why), None),
    }
}

fn session_name(options: &Options) -> String {
    options
        .session_name
        .clone()
        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned())
}

fn denied_causes(options: &Options, role_arn: &str, caller: &str, account_b: &str) -> String {
    let trust =
        format!("the trust policy of {role_arn} does not trust {caller} (account {account_b})");
    let identity = format!(
        "{caller} has no identity policy allowing sts:AssumeRole on {role_arn} (or an SCP or \
         permissions boundary in account B denies it)"
    );
    let missing =
        "the role does not exist (STS answers AccessDenied for a missing role too): check the ARN"
            .to_owned();
    let causes = if options.external_id.is_some() {
        vec![
            "the ExternalId sent does not match the trust policy's sts:ExternalId condition \
             (compared exactly, case and whitespace included)"
                .to_owned(),
            trust,
            identity,
            missing,
        ]
    } else {
        vec![
            trust,
            "the trust policy requires an ExternalId (sts:ExternalId condition) and none was \
             sent: pass --external-id"
                .to_owned(),
            identity,
            missing,
        ]
    };
    let mut out = String::from("AssumeRole was denied; likely causes, most likely first:");
    for (i, c) in causes.iter().enumerate() {
        // the first cause stays on the summary line (the human report shows one line per hop)
        out.push_str(if i == 0 { " " } else { "\n" });
        out.push_str(&format!("{}. {c}", i + 1));
    }
    out
}

/// `assume_role`.
pub(crate) async fn assume_role(
    sdk: &SdkConfig,
    options: &Options,
    source: Option<&Source>,
    budget: &Budget,
) -> (Check, Option<Role>) {
    let id = CheckId::AssumeRole;
    let Some(source) = source else {
        return (
            Check::skip(id, "skipped: the source identity check failed"),
            None,
        );
    };
    let role = RoleArn::or_placeholder(&options.role_arn);
    if RoleArn::parse(&options.role_arn).is_none() {
        return (
            Check::fail(
                id,
                Cause::AssumeRoleInvalid,
                format!(
                    "`{}` is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
                    options.role_arn
                ),
                "pass --role-arn arn:aws:iam::<account A>:role/<role name>",
            ),
            None,
        );
    }
    let sts = aws_sdk_sts::Client::new(sdk);
    let mut req = sts
        .assume_role()
        .role_arn(&options.role_arn)
        .role_session_name(session_name(options));
    if let Some(x) = &options.external_id {
        req = req.external_id(x);
    }
    if let Some(d) = options.duration_seconds {
        req = req.duration_seconds(d);
    }
    match bounded(budget, req.send()).await {
        Ok(out) => {
            let Some(c) = out.credentials() else {
                return (
                    Check::fail(
                        id,
                        Cause::AssumeRoleInvalid,
                        "AssumeRole answered without credentials",
                        "check the STS endpoint (AWS_ENDPOINT_URL): it is not behaving like STS",
                    ),
                    None,
                );
            };
            let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
            let credentials = Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                expiry,
                "xacct-doctor",
            );
            let assumed = out
                .assumed_role_user()
                .map(|u| u.arn().to_owned())
                .unwrap_or_default();
            let with = if options.external_id.is_some() {
                "with the ExternalId"
            } else {
                "without an ExternalId"
            };
            let detail = format!(
                "assumed {assumed} {with}; the session expires at {}",
                c.expiration()
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default()
            );
            (
                Check::pass(id, detail),
                Some(Role {
                    credentials,
                    arn: role,
                    account_b: source.account.clone(),
                }),
            )
        }
        Err(Failure::Unreachable(why)) => (unreachable_check(id, sdk, &why), None),
        Err(Failure::Other(why)) => (unreachable_check(id, sdk, &why), None),
        Err(Failure::Service { code, message }) => {
            let check = if is_region_disabled(&code, &message) {
                region_disabled_check(id, sdk, &message)
            } else if REJECTED_CODES.contains(&code.as_str()) {
                rejected_check(id, &code, &message, None)
            } else if code.contains("AccessDenied") {
                let mut fix =
                    fixes::trust_fix(&role, &source.account, options.external_id.is_some());
                fix.push_str("\nand ");
                fix.push_str(&fixes::assume_role_identity_fix(
                    &options.role_arn,
                    &source.arn,
                ));
                Check::fail(
                    id,
                    Cause::AssumeRoleDenied,
                    denied_causes(options, &options.role_arn, &source.arn, &source.account),
                    fix,
                )
            } else if message.contains("DurationSeconds exceeds") {
                let asked = options
                    .duration_seconds
                    .map(|d| format!("{d} s"))
                    .unwrap_or_else(|| "the default".into());
                Check::fail(
                    id,
                    Cause::DurationExceedsMaxSession,
                    format!("--duration {asked} is longer than the role allows: {message}"),
                    format!(
                        "ask for at most the role's MaxSessionDuration (aws iam get-role \
                         --role-name {name} --query Role.MaxSessionDuration, in account A), or \
                         raise it: aws iam update-role --role-name {name} --max-session-duration \
                         <seconds, up to 43200>; a session assumed from another role session \
                         (role chaining) is capped at 3600 s whatever the role allows",
                        name = role.name
                    ),
                )
            } else {
                Check::fail(
                    id,
                    Cause::AssumeRoleInvalid,
                    format!("AssumeRole rejected the request: {code}: {message}"),
                    "fix the parameter STS names: --duration between 900 and 43200, a session \
                     name of 2-64 characters [\\w+=,.@-], a valid role ARN",
                )
            };
            (check, None)
        }
    }
}

/// `external_id`: AssumeRole again without the ExternalId; it must be refused.
pub(crate) async fn external_id(
    sdk: &SdkConfig,
    options: &Options,
    source: Option<&Source>,
    role: Option<&Role>,
    budget: &Budget,
) -> Check {
    let id = CheckId::ExternalId;
    if options.external_id.is_none() {
        return Check::skip(id, "skipped: no --external-id given");
    }
    let (Some(source), Some(role)) = (source, role) else {
        return Check::skip(
            id,
            "skipped: AssumeRole with the ExternalId did not succeed",
        );
    };
    let sts = aws_sdk_sts::Client::new(sdk);
    let name = format!("{}-noextid", session_name(options));
    let name: String = name.chars().take(64).collect();
    let req = sts
        .assume_role()
        .role_arn(&options.role_arn)
        .role_session_name(name)
        .duration_seconds(900);
    match bounded(budget, req.send()).await {
        Ok(_) => Check::warn(
            id,
            Cause::ExternalIdNotEnforced,
            format!(
                "the role {} can also be assumed WITHOUT the ExternalId: the ExternalId protects \
                 nothing (confused deputy)",
                options.role_arn
            ),
            format!(
                "{}\nand give every statement of the trust policy that trusts account {} this \
                 Condition (a statement without it lets callers in without the ExternalId)",
                fixes::trust_fix(&role.arn, &source.account, true),
                source.account
            ),
        ),
        Err(Failure::Service { code, .. }) if code.contains("AccessDenied") => Check::pass(
            id,
            "AssumeRole without the ExternalId is refused, as it should be (this probe leaves an \
             AccessDenied AssumeRole event in account A's CloudTrail)",
        ),
        Err(Failure::Service { code, message }) => Check::skip(
            id,
            format!("inconclusive: AssumeRole without the ExternalId answered {code}: {message}"),
        ),
        Err(Failure::Unreachable(why)) | Err(Failure::Other(why)) => Check::skip(
            id,
            format!("inconclusive: AssumeRole without the ExternalId failed: {why}"),
        ),
    }
}

/// The configuration of account A: the role's credentials.
pub(crate) fn role_config(sdk: &SdkConfig, role: &Role) -> SdkConfig {
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(role.credentials.clone()))
        .build()
}

fn probe_value(t: Option<&ScalarAttributeType>) -> AttributeValue {
    match t {
        Some(ScalarAttributeType::N) => AttributeValue::N("0".into()),
        Some(ScalarAttributeType::B) => {
            AttributeValue::B(aws_smithy_types::Blob::new(PROBE_KEY.as_bytes()))
        }
        _ => AttributeValue::S(PROBE_KEY.into()),
    }
}

/// `table`: DescribeTable (key schema), then GetItem on a probe key.
pub(crate) async fn table(
    sdk: &SdkConfig,
    options: &Options,
    role: Option<&Role>,
    budget: &Budget,
) -> (Check, Option<Schema>) {
    let id = CheckId::Table;
    let Some(table) = &options.table else {
        return (Check::skip(id, "skipped: no --table given"), None);
    };
    let Some(role) = role else {
        return (
            Check::skip(
                id,
                "skipped: no credentials for account A (AssumeRole failed)",
            ),
            None,
        );
    };
    let region = region_of(sdk);
    let arn = fixes::table_arn(&role.arn, &region, table);
    let a = role_config(sdk, role);
    let ddb = aws_sdk_dynamodb::Client::new(&a);
    let not_found = |message: &str| {
        Check::fail(
            id,
            Cause::TableNotFound,
            format!(
                "table {table} does not exist in account A ({}) in {region}: {message}",
                role.arn.account
            ),
            format!(
                "check the name and the region (--region): aws dynamodb list-tables --region \
                 {region}, as the role in account A; the table must be in account A ({}), the \
                 role's account, and a global table needs a replica in {region}",
                role.arn.account
            ),
        )
    };
    let unreachable = |why: &str| {
        Check::fail(
            id,
            Cause::DynamodbUnreachable,
            format!("DynamoDB cannot be reached: {why}"),
            format!(
                "let this host reach DynamoDB: outbound HTTPS (tcp/443) to \
                 dynamodb.{region}.amazonaws.com, or a DynamoDB gateway VPC endpoint (aws ec2 \
                 create-vpc-endpoint --service-name com.amazonaws.{region}.dynamodb --vpc-id \
                 <vpc-id> --route-table-ids <rtb-id>)"
            ),
        )
    };
    let describe = bounded(budget, ddb.describe_table().table_name(table).send()).await;
    let desc = match describe {
        Ok(d) => d,
        Err(Failure::Service { code, message }) if code == "ResourceNotFoundException" => {
            return (not_found(&message), None)
        }
        Err(Failure::Service { code, message }) if code.contains("AccessDenied") => {
            return (
                Check::warn(
                    id,
                    Cause::TableDescribeDenied,
                    format!(
                        "DescribeTable on {table} was refused ({message}); the GetItem probe, \
                         which needs the key schema, was skipped"
                    ),
                    fixes::permissions_fix(&role.arn, &["dynamodb:DescribeTable"], &[arn]),
                ),
                None,
            )
        }
        Err(Failure::Service { code, message }) => {
            return (
                Check::fail(
                    id,
                    Cause::TableProbeFailed,
                    format!("DescribeTable on {table} failed: {code}: {message}"),
                    fixes::permissions_fix(
                        &role.arn,
                        &["dynamodb:DescribeTable", "dynamodb:GetItem"],
                        &[arn],
                    ),
                ),
                None,
            )
        }
        Err(Failure::Unreachable(why)) | Err(Failure::Other(why)) => {
            return (unreachable(&why), None)
        }
    };
    let Some(t) = desc.table() else {
        return (not_found("DescribeTable answered without a table"), None);
    };
    let types: HashMap<&str, &ScalarAttributeType> = t
        .attribute_definitions()
        .iter()
        .map(|d| (d.attribute_name(), d.attribute_type()))
        .collect();
    let key: HashMap<String, AttributeValue> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                probe_value(types.get(k.attribute_name()).copied()),
            )
        })
        .collect();
    let schema_text = t
        .key_schema()
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                k.attribute_name(),
                types
                    .get(k.attribute_name())
                    .map(|t| t.as_str())
                    .unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let get = ddb
        .get_item()
        .table_name(table)
        .set_key(Some(key.clone()))
        .send();
    let check = match bounded(budget, get).await {
        Ok(out) => {
            Check::pass(
                id,
                format!(
                "DescribeTable and GetItem allowed on {table} (key {schema_text}; the probe key \
                 {} found)",
                if out.item().is_some() { "was" } else { "was not" }
            ),
            )
        }
        Err(Failure::Service { code, message }) if code.contains("AccessDenied") => Check::fail(
            id,
            Cause::TableAccessDenied,
            format!("the GetItem probe on {table} was refused: {message}"),
            fixes::permissions_fix(&role.arn, &["dynamodb:GetItem"], std::slice::from_ref(&arn)),
        ),
        Err(Failure::Service { code, message }) if code == "ResourceNotFoundException" => {
            not_found(&message)
        }
        Err(Failure::Service { code, message }) => Check::fail(
            id,
            Cause::TableProbeFailed,
            format!("the GetItem probe on {table} failed: {code}: {message}"),
            fixes::permissions_fix(&role.arn, &["dynamodb:GetItem"], &[arn]),
        ),
        Err(Failure::Unreachable(why)) | Err(Failure::Other(why)) => unreachable(&why),
    };
    let schema = Schema {
        table: table.clone(),
        key,
    };
    (check, Some(schema))
}
