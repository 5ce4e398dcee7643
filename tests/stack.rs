//! The local AWS stack is real: two accounts, enforced trust, expiry and session limits.
//!
//! These tests use the plain SDK (no code of this crate) so that they prove the stack, not us.
//! `negative_controls` runs the shim-enforced checks again on a private instance with the shim's
//! enforcement off and sees the permissive result, so each check here can fail.
#![allow(clippy::disallowed_methods)]

mod support;

use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sts::error::ProvideErrorMetadata;
use support::{unique_name, Stack};

/// What an AssumeRole call came to: the credentials, or the error code and message.
async fn assume(
    source: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    duration: Option<i32>,
) -> Result<Credentials, (String, String)> {
    let out = aws_sdk_sts::Client::new(source)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(unique_name("stack"))
        .set_external_id(external_id.map(str::to_owned))
        .set_duration_seconds(duration)
        .send()
        .await
        .map_err(|e| {
            let e = e.into_service_error();
            (
                e.code().unwrap_or("<none>").to_owned(),
                e.message().unwrap_or("").to_owned(),
            )
        })?;
    let c = out.credentials.expect("AssumeRole returned credentials");
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "test",
    ))
}

async fn caller_account(stack: &Stack, creds: Credentials) -> Result<String, String> {
    let conf = stack.sdk_config(creds).await;
    aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .map(|o| o.account.unwrap_or_default())
        .map_err(|e| e.into_service_error().code().unwrap_or("<none>").to_owned())
}

/// GetItem on the orders table; `Ok(())` or the error code.
async fn get_item(stack: &Stack, creds: Credentials) -> Result<(), String> {
    let conf = stack.sdk_config(creds).await;
    aws_sdk_dynamodb::Client::new(&conf)
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("stack-probe".into()))
        .key("sk", AttributeValue::N("0".into()))
        .send()
        .await
        .map(drop)
        .map_err(|e| e.into_service_error().code().unwrap_or("<none>").to_owned())
}

#[tokio::test]
async fn b_assumes_the_role_in_a_and_becomes_account_a() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    assert_eq!(
        caller_account(stack, stack.b_credentials()).await.unwrap(),
        stack.account_b()
    );
    let creds = assume(&b, stack.role_arn(), Some(stack.external_id()), None)
        .await
        .unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "a session key");
    assert_eq!(
        caller_account(stack, creds).await.unwrap(),
        stack.account_a()
    );
}

#[tokio::test]
async fn put_and_get_on_a_table_with_assumed_credentials() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let creds = assume(&b, stack.role_arn(), Some(stack.external_id()), None)
        .await
        .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk_config(creds).await);
    let pk = unique_name("order");
    ddb.put_item()
        .table_name(stack.table())
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::N("1".into()))
        .item("total", AttributeValue::N("42.50".into()))
        .send()
        .await
        .unwrap();
    let got = ddb
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::N("1".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = got.item.expect("the item just written");
    assert_eq!(item["total"], AttributeValue::N("42.50".into()));
}

#[tokio::test]
async fn b_own_principal_does_not_see_a_table() {
    let stack = Stack::shared();
    let err = get_item(stack, stack.b_dynamo_credentials())
        .await
        .unwrap_err();
    assert_eq!(err, "ResourceNotFoundException");
}

#[tokio::test]
async fn external_id_is_enforced() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    for external_id in [None, Some("not-the-external-id")] {
        let (code, message) = assume(&b, stack.role_arn(), external_id, None)
            .await
            .unwrap_err();
        assert_eq!(code, "AccessDenied", "external id {external_id:?}");
        assert!(message.contains("sts:AssumeRole"), "{message}");
    }
    assume(&b, stack.role_arn(), Some(stack.external_id()), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn untrusted_and_missing_roles_are_denied() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let untrusted = stack.var("UNTRUSTED_ROLE_ARN");
    let (code, _) = assume(&b, untrusted, None, None).await.unwrap_err();
    assert_eq!(code, "AccessDenied");
    let missing = format!("arn:aws:iam::{}:role/NoSuchRole", stack.account_a());
    let (code, _) = assume(&b, &missing, None, None).await.unwrap_err();
    assert_eq!(code, "AccessDenied");
}

#[tokio::test]
async fn a_principal_without_sts_assume_role_is_denied() {
    let stack = Stack::shared();
    let b_dynamo = stack.sdk_config(stack.b_dynamo_credentials()).await;
    let (code, _) = assume(&b_dynamo, stack.role_arn(), Some(stack.external_id()), None)
        .await
        .unwrap_err();
    assert_eq!(code, "AccessDenied");
}

#[tokio::test]
async fn role_without_get_item_is_denied_get_item_only() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let creds = assume(&b, stack.var("NO_GETITEM_ROLE_ARN"), None, None)
        .await
        .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk_config(creds.clone()).await);
    ddb.put_item()
        .table_name(stack.table())
        .item("pk", AttributeValue::S(unique_name("no-get")))
        .item("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("PutItem is allowed");
    let err = ddb
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("x".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(
        err.message().unwrap_or("").contains("dynamodb:GetItem"),
        "{err:?}"
    );
}

#[tokio::test]
async fn expire_now_rejects_the_next_request() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let creds = assume(&b, stack.role_arn(), Some(stack.external_id()), None)
        .await
        .unwrap();
    get_item(stack, creds.clone())
        .await
        .expect("fresh credentials work");
    stack.expire_key(creds.access_key_id());
    assert_eq!(
        get_item(stack, creds.clone()).await.unwrap_err(),
        "ExpiredTokenException"
    );
    assert_eq!(
        caller_account(stack, creds).await.unwrap_err(),
        "ExpiredToken"
    );
}

#[tokio::test]
async fn duration_is_validated_as_aws_does() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let (code, message) = assume(&b, stack.role_arn(), Some(stack.external_id()), Some(899))
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationError");
    assert!(
        message.contains("greater than or equal to 900"),
        "{message}"
    );
    // Above this role's MaxSessionDuration (3600).
    let (code, message) = assume(&b, stack.role_arn(), Some(stack.external_id()), Some(7200))
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationError");
    assert!(
        message.contains("exceeds the MaxSessionDuration set for this role"),
        "{message}"
    );
}

#[tokio::test]
async fn role_chaining_is_capped_at_one_hour() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let target = stack.var("CHAIN_TARGET_ROLE_ARN");
    // Straight from B's user: the target role allows 12 h.
    assume(&b, target, None, Some(7200))
        .await
        .expect("7200 s from a user");
    // Through B's own role: chained sessions are capped at one hour.
    let hop = assume(&b, stack.var("CHAIN_HOP_ROLE_ARN"), None, None)
        .await
        .unwrap();
    let hop_conf = stack.sdk_config(hop).await;
    let (code, message) = assume(&hop_conf, target, None, Some(7200))
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationError");
    assert!(
        message.contains("1 hour session limit for roles assumed by role chaining"),
        "{message}"
    );
    let chained = assume(&hop_conf, target, None, Some(3600))
        .await
        .expect("3600 s chained");
    assert_eq!(
        caller_account(stack, chained).await.unwrap(),
        stack.account_a()
    );
}

#[tokio::test]
async fn assume_role_calls_are_counted_at_the_server() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let session = unique_name("count");
    let sts = aws_sdk_sts::Client::new(&b);
    for _ in 0..3 {
        sts.assume_role()
            .role_arn(stack.role_arn())
            .role_session_name(&session)
            .external_id(stack.external_id())
            .send()
            .await
            .unwrap();
    }
    sts.assume_role()
        .role_arn(stack.role_arn())
        .role_session_name(&session)
        .send()
        .await
        .unwrap_err();
    let calls = stack.assume_role_calls(stack.role_arn(), &session);
    assert_eq!(calls["count"], 3, "{calls}");
    assert_eq!(calls["attempts"], 4, "{calls}");
}

/// Session expiry and the shim's checks, each against a private instance, serially (they wait on
/// wall-clock expiry of 2-second sessions).
mod timing {
    use super::*;

    const SHORT: &str = "2";

    #[tokio::test]
    async fn a_session_past_its_expiry_is_rejected() {
        let stack = Stack::start_private(
            "expiry",
            &[
                ("XACCT_STACK_SHORT_SESSION_SECONDS", SHORT),
                ("XACCT_STACK_ENFORCE", "on"),
            ],
        );
        let b = stack.b_config().await;
        let creds = assume(&b, stack.var("SHORT_SESSION_ROLE_ARN"), None, None)
            .await
            .unwrap();
        get_item(&stack, creds.clone())
            .await
            .expect("before expiry");
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(
            get_item(&stack, creds.clone()).await.unwrap_err(),
            "ExpiredTokenException"
        );
        assert_eq!(
            caller_account(&stack, creds).await.unwrap_err(),
            "ExpiredToken"
        );
    }

    /// The negative control: with the shim's enforcement off, every check it adds is permissive,
    /// so the tests above see the shim, not an accident.
    #[tokio::test]
    async fn negative_controls_with_enforcement_off() {
        let stack = Stack::start_private(
            "permissive",
            &[
                ("XACCT_STACK_SHORT_SESSION_SECONDS", SHORT),
                ("XACCT_STACK_ENFORCE", "off"),
            ],
        );
        let b = stack.b_config().await;
        // Trust policy and ExternalId.
        assume(&b, stack.var("UNTRUSTED_ROLE_ARN"), None, None)
            .await
            .expect("untrusted role assumable without enforcement");
        assume(&b, stack.role_arn(), Some("not-the-external-id"), None)
            .await
            .expect("wrong external id accepted without enforcement");
        assume(&b, stack.role_arn(), None, None)
            .await
            .expect("missing external id accepted without enforcement");
        // Duration bounds and the chaining cap.
        assume(&b, stack.role_arn(), None, Some(899))
            .await
            .expect("899 s accepted without enforcement");
        let target = stack.var("CHAIN_TARGET_ROLE_ARN");
        let hop = assume(&b, stack.var("CHAIN_HOP_ROLE_ARN"), None, None)
            .await
            .unwrap();
        assume(&stack.sdk_config(hop).await, target, None, Some(7200))
            .await
            .expect("chained 7200 s accepted without enforcement");
        // Expiry, both by time and by the expire-now control.
        let creds = assume(&b, stack.var("SHORT_SESSION_ROLE_ARN"), None, None)
            .await
            .unwrap();
        let other = assume(&b, stack.role_arn(), None, None).await.unwrap();
        stack.expire_key(other.access_key_id());
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        get_item(&stack, creds)
            .await
            .expect("expired session accepted without enforcement");
        get_item(&stack, other)
            .await
            .expect("expire-now ignored without enforcement");
    }
}
