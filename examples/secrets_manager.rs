//! The RDS recipe's credentials half: account B reads a database secret that lives in account
//! A's Secrets Manager, through a role in A.
//!
//! Local stack: start it, `set -a; . "$(scripts/stack/stack.sh env)"; set +a;
//! cargo run --example secrets_manager`. Real AWS: `XACCT_ROLE_ARN`, `XACCT_SECRET_ID`,
//! optionally `XACCT_EXTERNAL_ID`, `XACCT_REGION`.

mod support;

use cross_account_dynamodb::{AssumedRoleCredentials, RetryOnExpiredToken};
use support::{target, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let t = target("ROLE_ARN", true).await?;
    let secret_id = t.setting("SECRET_ID", "SECRET_ID")?;
    let mut builder = AssumedRoleCredentials::builder(&t.role_arn)
        .session_name("secrets-reader")
        .configure(&t.source);
    if let Some(id) = &t.external_id {
        builder = builder.external_id(id);
    }
    let creds = builder.build().await?;
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&creds.sdk_config())
            .retry_classifier(RetryOnExpiredToken::new())
            .build(),
    );
    let value = secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await?;
    let text = value
        .secret_string()
        .ok_or("the secret has no string value")?;
    // Never print a secret: show its shape only.
    let fields: Vec<&str> = text
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 4 == 1)
        .map(|(_, s)| s)
        .collect();
    println!("running against {}", t.place);
    println!(
        "read secret {} from account A ({} bytes, fields {:?})",
        value.name().unwrap_or("?"),
        text.len(),
        fields
    );
    Ok(())
}
