//! Ready clients, deterministically: rotations seen by the very next request, self-healing on
//! ExpiredToken with one refresh, endpoint resolution, and STS-only settings kept to STS.
//! In-process fakes for STS and DynamoDB; injected time.

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceTime,
};
use aws_types::endpoint_config::AccountIdEndpointMode;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::fake_sts::{DynamoReply, FakeSts, Reply};

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";

async fn setup() -> (TickAdvanceTime, FakeSts, AssumedRoleCredentials) {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let creds = AssumedRoleCredentials::builder(ROLE)
        .session_name("clients")
        .configure(&sts.sdk_config(3))
        .build()
        .await
        .unwrap();
    (time, sts, creds)
}

async fn get(ddb: &aws_sdk_dynamodb::Client) -> Result<(), String> {
    ddb.get_item()
        .table_name("orders")
        .key("pk", AttributeValue::S("a".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("{:?}", e.into_service_error()))
}

/// Runs a request to completion, ticking the injected clock through its retry backoff.
async fn drive<T>(
    time: &TickAdvanceTime,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> T
where
    T: Send + 'static,
{
    let task = tokio::spawn(fut);
    for _ in 0..1000 {
        if task.is_finished() {
            break;
        }
        time.tick(Duration::from_millis(10)).await;
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
    }
    task.await.unwrap()
}

#[tokio::test]
async fn every_client_sees_a_rotation_on_its_very_next_request() {
    let (_time, sts, creds) = setup().await;
    let clients: Vec<_> = (0..3).map(|_| creds.dynamodb()).collect();
    for c in &clients {
        get(c).await.unwrap();
    }
    creds.refresh_now().await.unwrap();
    for c in &clients {
        get(c).await.unwrap();
    }
    let keys: Vec<_> = sts
        .dynamo_requests()
        .into_iter()
        .map(|r| r.signed_with)
        .collect();
    let (k1, k2) = (FakeSts::access_key_of(1), FakeSts::access_key_of(2));
    assert_eq!(
        keys,
        [k1.clone(), k1.clone(), k1, k2.clone(), k2.clone(), k2]
    );
    assert_eq!(
        sts.request_count(),
        2,
        "one STS call per rotation for all clients"
    );
}

#[tokio::test]
async fn an_expired_token_response_heals_with_one_refresh() {
    let (time, sts, creds) = setup().await;
    let ddb = creds.dynamodb();
    sts.script_dynamo([DynamoReply::ExpiredToken]);
    drive(&time, async move { get(&ddb).await }).await.unwrap();
    let reqs = sts.dynamo_requests();
    assert_eq!(reqs.len(), 2, "the rejected request was retried once");
    assert_eq!(reqs[0].signed_with, FakeSts::access_key_of(1));
    assert_eq!(
        reqs[1].signed_with,
        FakeSts::access_key_of(2),
        "with fresh credentials"
    );
    assert_eq!(sts.request_count(), 2, "one refresh");
}

#[tokio::test]
async fn access_denied_on_data_is_not_retried_nor_refreshed() {
    let (time, sts, creds) = setup().await;
    let ddb = creds.dynamodb();
    sts.script_dynamo([DynamoReply::AccessDenied]);
    let err = drive(&time, async move { get(&ddb).await })
        .await
        .unwrap_err();
    assert!(err.contains("AccessDenied"), "{err}");
    assert_eq!(sts.dynamo_requests().len(), 1);
    assert_eq!(sts.request_count(), 1, "credentials were not refreshed");
}

#[tokio::test]
async fn table_requests_use_account_a_endpoint_unless_told_otherwise() {
    let (_time, sts, creds) = setup().await;
    get(&creds.dynamodb()).await.unwrap();
    let disabled = aws_sdk_dynamodb::Client::from_conf(
        creds
            .dynamodb_config()
            .account_id_endpoint_mode(AccountIdEndpointMode::Disabled)
            .build(),
    );
    get(&disabled).await.unwrap();
    let vpce = "https://vpce-0abc-dynamodb.us-east-1.vpce.amazonaws.com";
    let explicit =
        aws_sdk_dynamodb::Client::from_conf(creds.dynamodb_config().endpoint_url(vpce).build());
    get(&explicit).await.unwrap();
    let uris: Vec<_> = sts.dynamo_requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            "https://111111111111.ddb.us-east-1.amazonaws.com/",
            "https://dynamodb.us-east-1.amazonaws.com/",
            &format!("{vpce}/"),
        ]
    );
}

#[tokio::test]
async fn sts_only_settings_do_not_reach_service_clients() {
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time, sleep);
    let sts_vpce = "https://vpce-0def-sts.eu-west-1.vpce.amazonaws.com";
    let creds = AssumedRoleCredentials::builder(ROLE)
        .configure(&sts.sdk_config(1))
        .region(aws_config::Region::from_static("eu-west-1"))
        .sts_endpoint_url(sts_vpce)
        .build()
        .await
        .unwrap();
    get(&creds.dynamodb()).await.unwrap();
    assert_eq!(
        sts.dynamo_requests()[0].uri,
        "https://111111111111.ddb.us-east-1.amazonaws.com/",
        "the SdkConfig's region, not the STS region or endpoint"
    );
    let config = creds.sdk_config();
    assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
    assert_eq!(config.endpoint_url(), None);
}

#[tokio::test]
async fn sdk_config_serves_the_refreshing_credentials() {
    use aws_credential_types::provider::ProvideCredentials;
    let (_time, _sts, creds) = setup().await;
    let config = creds.sdk_config();
    let provider = config.credentials_provider().unwrap();
    assert_eq!(
        provider
            .provide_credentials()
            .await
            .unwrap()
            .access_key_id(),
        FakeSts::access_key_of(1)
    );
    creds.refresh_now().await.unwrap();
    assert_eq!(
        provider
            .provide_credentials()
            .await
            .unwrap()
            .access_key_id(),
        FakeSts::access_key_of(2),
        "the same provider, not a copy"
    );
    assert!(config.identity_cache().is_some());
}

#[tokio::test]
async fn clients_from_sdk_config_heal_on_the_next_request_without_the_classifier() {
    let (time, sts, creds) = setup().await;
    // A client built from sdk_config() alone (no retry classifier).
    let ddb = aws_sdk_dynamodb::Client::new(&creds.sdk_config());
    sts.script_dynamo([DynamoReply::ExpiredToken]);
    let first = {
        let ddb = ddb.clone();
        drive(&time, async move { get(&ddb).await }).await
    };
    assert!(
        first.unwrap_err().contains("ExpiredToken"),
        "no classifier: this one fails"
    );
    drive(&time, async move { get(&ddb).await }).await.unwrap();
    let keys: Vec<_> = sts
        .dynamo_requests()
        .into_iter()
        .map(|r| r.signed_with)
        .collect();
    assert_eq!(keys, [FakeSts::access_key_of(1), FakeSts::access_key_of(2)]);
}
