//! Ready clients against the local stack, counted at the server.
#![allow(clippy::disallowed_methods)]

mod support;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use cross_account_dynamodb::{AssumedRoleCredentials, CrossAccountPool, RoleSpec};
use support::{unique_name, Stack};

async fn provider(stack: &Stack, role: &str, session: &str) -> AssumedRoleCredentials {
    let mut b = AssumedRoleCredentials::builder(role)
        .session_name(session)
        .configure(&stack.b_config().await);
    if role == stack.role_arn() {
        b = b.external_id(stack.external_id());
    }
    b.build().await.unwrap()
}

async fn get(ddb: &aws_sdk_dynamodb::Client, stack: &Stack) -> Result<(), String> {
    ddb.get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("clients".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("{:?}", e.into_service_error()))
}

#[tokio::test]
async fn an_access_key_expired_at_the_server_heals_on_retry_with_one_refresh() {
    let stack = Stack::shared();
    let session = unique_name("heal");
    let creds = provider(stack, stack.role_arn(), &session).await;
    let ddb = creds.dynamodb();
    get(&ddb, stack).await.unwrap();
    let old = creds.status().access_key_id.unwrap();
    stack.expire_key(&old);
    get(&ddb, stack)
        .await
        .expect("the request that hit the expired key succeeded on retry");
    assert_ne!(creds.status().access_key_id.unwrap(), old);
    assert_eq!(
        stack.assume_role_count(stack.role_arn(), &session),
        2,
        "one refresh"
    );
}

#[tokio::test]
async fn fifty_concurrent_pool_requests_for_one_role_make_one_assume_role() {
    let stack = Stack::shared();
    let pool = CrossAccountPool::builder()
        .configure(&stack.b_config().await)
        .build();
    let session = unique_name("pool");
    let spec = RoleSpec::new(stack.role_arn())
        .external_id(stack.external_id())
        .session_name(&session);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (pool, spec) = (pool.clone(), spec.clone());
            tokio::spawn(async move {
                let ddb = pool.dynamodb(spec).await.unwrap();
                get(&ddb, Stack::shared()).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(stack.assume_role_count(stack.role_arn(), &session), 1);
}

#[tokio::test]
async fn kms_and_secrets_manager_in_account_a_through_sdk_config() {
    let stack = Stack::shared();
    let creds = provider(stack, stack.role_arn(), &unique_name("svc")).await;
    let config = creds.sdk_config();
    let kms = aws_sdk_kms::Client::new(&config);
    let ciphertext = kms
        .encrypt()
        .key_id(stack.var("KMS_KEY_ARN"))
        .plaintext(Blob::new(b"keystore".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let plain = kms
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext.unwrap().as_ref(), b"keystore");
    let secret = aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(stack.var("SECRET_ID"))
        .send()
        .await
        .unwrap();
    assert!(secret.secret_string().unwrap().contains("\"username\""));
    // Account B's own credentials cannot: the access really goes through A's role.
    let b_kms = aws_sdk_kms::Client::new(&stack.b_config().await);
    let err = b_kms
        .decrypt()
        .ciphertext_blob(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("AccessDenied"), "{err:?}");
}

mod timing {
    use super::*;

    /// Three clients from one provider over three rotations of 20-second sessions: four
    /// AssumeRole calls in all, counted at the server; each client used each new key at once.
    #[tokio::test]
    async fn three_clients_over_three_rotations_make_four_assume_role_calls() {
        let stack = Stack::shared();
        let role = stack.var("SHORT_SESSION_ROLE_ARN").to_owned();
        let session = unique_name("three-clients");
        let creds = provider(stack, &role, &session).await;
        let clients: Vec<_> = (0..3).map(|_| creds.dynamodb()).collect();
        let started = Instant::now();
        while creds.status().refresh_count < 3 {
            assert!(started.elapsed() < Duration::from_secs(60));
            for c in &clients {
                get(c, stack).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for c in &clients {
            get(c, stack).await.unwrap();
        }
        assert_eq!(stack.assume_role_count(&role, &session), 4);
    }
}

#[tokio::test]
async fn a_data_action_denial_names_the_action_and_table_not_assume_role() {
    let stack = Stack::shared();
    let role = stack.var("NO_GETITEM_ROLE_ARN").to_owned();
    let creds = provider(stack, &role, &unique_name("deny")).await;
    let err = creds
        .dynamodb()
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("x".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    assert_eq!(
        err.code(),
        Some("AccessDeniedException"),
        "the SDK's error, still typed"
    );
    let message = err.message().unwrap();
    assert!(
        message.contains(&format!(
            "the role {role} may not perform dynamodb:GetItem on table orders: AssumeRole \
             succeeded, so the trust policy and external id are fine"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn an_assume_role_denial_shows_in_the_failed_request_with_its_causes() {
    let stack = Stack::shared();
    let creds = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id("not-the-right-one")
        .configure(&stack.b_config().await)
        .build_deferred()
        .unwrap();
    let err = get(&creds.dynamodb(), stack).await;
    assert!(err.is_err());
    let err = creds.dynamodb().list_tables().send().await.unwrap_err();
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    assert!(
        text.contains("AssumeRole into role") && text.contains("was denied"),
        "{text}"
    );
    assert!(text.contains("sts:ExternalId condition"), "{text}");
    assert!(!text.contains("not-the-right-one"), "never the external id");
}
