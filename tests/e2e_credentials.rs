//! `AssumedRoleCredentials` against the local stack: real STS semantics (trust, ExternalId,
//! expiry), counted at the server. The rotation test runs on wall-clock time (20-second
//! sessions), so it lives in the serial `timing` group.
#![allow(clippy::disallowed_methods)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::{unique_name, Stack};

async fn dynamodb_with(stack: &Stack, creds: AssumedRoleCredentials) -> aws_sdk_dynamodb::Client {
    let config = stack
        .b_config()
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .identity_cache(IdentityCache::no_cache())
        .build();
    aws_sdk_dynamodb::Client::new(&config)
}

async fn get(ddb: &aws_sdk_dynamodb::Client, stack: &Stack, pk: &str) -> Result<(), String> {
    ddb.get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            let e = e.into_service_error();
            e.code().unwrap_or("<none>").to_owned()
        })
}

#[tokio::test]
async fn the_provider_reaches_account_a() {
    let stack = Stack::shared();
    let creds = AssumedRoleCredentials::builder(stack.role_arn())
        .session_name(unique_name("e2e"))
        .external_id(stack.external_id())
        .configure(&stack.b_config().await)
        .build()
        .await
        .unwrap();
    let ddb = dynamodb_with(stack, creds.clone()).await;
    get(&ddb, stack, "absent").await.unwrap();
    let status = creds.status();
    assert_eq!(status.generation, 1);
    assert!(status.access_key_id.unwrap().starts_with("ASIA"));
}

/// STS answers these alike, so the error lists every cause; the text is pinned here.
#[tokio::test]
async fn denials_name_the_role_and_list_the_causes() {
    let stack = Stack::shared();
    let b = stack.b_config().await;
    let wrong_id = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id("not-the-right-external-id")
        .configure(&b)
        .build()
        .await
        .unwrap_err();
    assert!(wrong_id.is_access_denied());
    assert_eq!(
        wrong_id.to_string(),
        "AssumeRole into role arn:aws:iam::111111111111:role/CrossAccountDynamoRole was denied; \
         STS does not say why, check in order: (1) the external id sent does not match the \
         sts:ExternalId condition in the role's trust policy; (2) the role's trust policy does \
         not trust the calling account or principal; (3) the calling principal's own IAM policy \
         does not allow sts:AssumeRole on this role; (4) the role does not exist"
    );
    assert!(!format!("{wrong_id:?}").contains("not-the-right-external-id"));

    let untrusted = AssumedRoleCredentials::builder(stack.var("UNTRUSTED_ROLE_ARN"))
        .configure(&b)
        .build()
        .await
        .unwrap_err();
    assert!(untrusted.is_access_denied());
    assert_eq!(
        untrusted.to_string(),
        "AssumeRole into role arn:aws:iam::111111111111:role/UntrustedRole was denied; STS does \
         not say why, check in order: (1) the role's trust policy does not trust the calling \
         account or principal; (2) the calling principal's own IAM policy does not allow \
         sts:AssumeRole on this role; (3) the role's trust policy requires an external id and \
         none was sent; (4) the role does not exist"
    );
    // STS's own words are the source.
    let cause = std::error::Error::source(&untrusted).unwrap();
    assert!(format!("{cause:?}").contains("AccessDenied"), "{cause:?}");

    // A principal of B without sts:AssumeRole gets the same answer.
    let no_permission = AssumedRoleCredentials::builder(stack.role_arn())
        .external_id(stack.external_id())
        .configure(&stack.sdk_config(stack.b_dynamo_credentials()).await)
        .build()
        .await
        .unwrap_err();
    assert!(no_permission.is_access_denied());
}

mod timing {
    use super::*;

    /// 8 tasks read continuously across at least 3 rotations of 20-second sessions: no request
    /// fails, and the server saw exactly one AssumeRole per rotation plus the first. A client
    /// holding a static copy of the first credentials fails with ExpiredToken once they expire.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn continuous_reads_survive_rotations_with_one_assume_role_each() {
        let stack = Stack::shared();
        let role = stack.var("SHORT_SESSION_ROLE_ARN").to_owned();
        let session = unique_name("rotation");
        let creds = AssumedRoleCredentials::builder(&role)
            .session_name(&session)
            .configure(&stack.b_config().await)
            .build()
            .await
            .unwrap();
        let first = creds.credentials().await.unwrap();
        let static_copy = Credentials::new(
            first.access_key_id(),
            first.secret_access_key(),
            first.session_token().map(str::to_owned),
            None,
            "static-copy",
        );
        let lifetime = first
            .expiry()
            .unwrap()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        assert!(lifetime <= Duration::from_secs(stack.short_session_seconds()));
        let ddb = dynamodb_with(stack, creds.clone()).await;
        let stat_ddb = {
            let config = stack.sdk_config(static_copy).await;
            aws_sdk_dynamodb::Client::new(&config)
        };

        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let (ddb, ok, failed, stop) =
                    (ddb.clone(), ok.clone(), failed.clone(), stop.clone());
                let stack = Stack::shared();
                tokio::spawn(async move {
                    let pk = format!("rotation-{i}");
                    while !stop.load(Ordering::Relaxed) {
                        match get(&ddb, stack, &pk).await {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(code) => {
                                eprintln!("worker {i}: {code}");
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    }
                })
            })
            .collect();

        let started = Instant::now();
        let mut static_expired_at = None;
        while creds.status().refresh_count < 3 || static_expired_at.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "too slow: {:?}",
                creds.status()
            );
            if static_expired_at.is_none() {
                match get(&stat_ddb, stack, "static").await {
                    Ok(()) => {}
                    Err(code) => {
                        assert_eq!(code, "ExpiredTokenException");
                        static_expired_at = Some(started.elapsed());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
        let status = creds.status();
        let rotations = status.refresh_count;
        let calls = stack.assume_role_count(&role, &session);
        eprintln!(
            "{} reads, {} failed, {rotations} rotations, {calls} AssumeRole calls; static copy \
             expired after {static_expired_at:?}",
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
        assert_eq!(failed.load(Ordering::Relaxed), 0, "no request failed");
        assert!(ok.load(Ordering::Relaxed) > 100, "the workers did read");
        assert!(rotations >= 3);
        assert_eq!(
            calls,
            rotations + 1,
            "one AssumeRole per rotation, plus the first"
        );
        assert_eq!(status.consecutive_failures, 0);
    }
}
