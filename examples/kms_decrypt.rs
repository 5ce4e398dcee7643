//! The keystore recipe: account B decrypts with a KMS key that lives in account A, through a
//! role in A, with the same refreshing credentials a DynamoDB client would use.
//!
//! Local stack: `scripts/demo.sh` runs the quickstart; for this one, start the stack and
//! `set -a; . "$(scripts/stack/stack.sh env)"; set +a; cargo run --example kms_decrypt`.
//! Real AWS: `XACCT_ROLE_ARN`, `XACCT_KMS_KEY_ID` (key id, ARN or alias in A), optionally
//! `XACCT_EXTERNAL_ID`, `XACCT_REGION`.

mod support;

use aws_sdk_kms::primitives::Blob;
use cross_account_dynamodb::{AssumedRoleCredentials, RetryOnExpiredToken};
use support::{target, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let t = target("ROLE_ARN", true).await?;
    let key_id = t.setting("KMS_KEY_ID", "KMS_KEY_ARN")?;
    let mut builder = AssumedRoleCredentials::builder(&t.role_arn)
        .session_name("kms-decrypt")
        .configure(&t.source);
    if let Some(id) = &t.external_id {
        builder = builder.external_id(id);
    }
    let creds = builder.build().await?;

    // sdk_config() carries the refreshing credentials and reports rejected ones to the
    // provider; the classifier (which an SdkConfig cannot carry) retries the rejected request.
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&creds.sdk_config())
            .retry_classifier(RetryOnExpiredToken::new())
            .build(),
    );
    let secret = b"pipeline secret from the keystore";
    let ciphertext = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(secret.to_vec()))
        .send()
        .await?
        .ciphertext_blob
        .ok_or("no ciphertext")?;
    let plaintext = kms
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await?
        .plaintext
        .ok_or("no plaintext")?;
    println!("running against {}", t.place);
    println!(
        "decrypted {} bytes with account A's key {key_id}: {}",
        ciphertext.as_ref().len(),
        String::from_utf8_lossy(plaintext.as_ref())
    );
    assert_eq!(plaintext.as_ref(), secret);
    Ok(())
}
