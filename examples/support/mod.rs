//! Shared by the examples: where they run. The local stack by default (its `XACCT_STACK_*`
//! variables, exported by `scripts/demo.sh` or `. "$(scripts/stack/stack.sh env)"`), real AWS
//! when `XACCT_ROLE_ARN` is set. The two sets of names never overlap, so sourcing the stack's
//! env file cannot switch an example to real AWS.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where an example runs.
pub struct Target {
    /// Account B's configuration (the source of AssumeRole).
    pub source: SdkConfig,
    /// The role in account A.
    pub role_arn: String,
    pub external_id: Option<String>,
    /// "real AWS" or "the local stack".
    pub place: &'static str,
    real: bool,
}

impl Target {
    /// A setting: `XACCT_<name>` on real AWS, `XACCT_STACK_<stack_name>` on the local stack.
    pub fn setting(&self, name: &str, stack_name: &str) -> Result<String, BoxError> {
        if self.real {
            var(&format!("XACCT_{name}"))
                .ok_or_else(|| format!("XACCT_ROLE_ARN is set, so set XACCT_{name} too").into())
        } else {
            stack(stack_name)
        }
    }
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A local-stack variable (`XACCT_STACK_<name>`).
pub fn stack(name: &str) -> Result<String, BoxError> {
    var(&format!("XACCT_STACK_{name}")).ok_or_else(|| {
        format!(
            "XACCT_STACK_{name} is not set: run the example through scripts/demo.sh or after \
             `set -a; . \"$(scripts/stack/stack.sh env)\"; set +a` (local stack), or set \
             XACCT_ROLE_ARN and the example's other XACCT_* variables (real AWS)"
        )
        .into()
    })
}

/// Account B's configuration on real AWS: the default chain, `XACCT_REGION` if set.
pub async fn real_source() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = var("XACCT_REGION") {
        loader = loader.region(Region::new(region));
    }
    loader.load().await
}

/// The target; on the local stack, `stack_role` names the role variable to use.
pub async fn target(stack_role: &str, stack_external_id: bool) -> Result<Target, BoxError> {
    if let Some(role_arn) = var("XACCT_ROLE_ARN") {
        return Ok(Target {
            source: real_source().await,
            role_arn,
            external_id: var("XACCT_EXTERNAL_ID"),
            place: "real AWS",
            real: true,
        });
    }
    let source = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(stack("REGION")?))
        .endpoint_url(stack("ENDPOINT")?)
        .credentials_provider(Credentials::new(
            stack("B_ACCESS_KEY_ID")?,
            stack("B_SECRET_ACCESS_KEY")?,
            None,
            None,
            "local-stack",
        ))
        .load()
        .await;
    Ok(Target {
        source,
        role_arn: stack(stack_role)?,
        external_id: if stack_external_id {
            Some(stack("EXTERNAL_ID")?)
        } else {
            None
        },
        place: "the local stack",
        real: false,
    })
}
