//! DAX with cross-account credentials: the ordinary `aws_sdk_dynamodb::Client`, running over the
//! DAX protocol, authenticated with self-refreshing AssumeRole credentials for account A.
//!
//! Local stack (default): a DAX gateway is started on 127.0.0.1 in front of the stack (it
//! verifies each connection's key against the stack, as DAX checks IAM), and the client talks
//! DAX to it.
//!
//! ```text
//! set -a; . "$(scripts/stack/stack.sh env)"; set +a
//! cargo run --example dax_quickstart --features gateway
//! ```
//!
//! A real cluster: set `XACCT_ROLE_ARN`, `XACCT_DAX_ENDPOINT` (`daxs://<cluster endpoint>`),
//! `XACCT_TABLE` (hash key `pk` S, range key `sk` N), and `XACCT_EXTERNAL_ID` if the role wants
//! one. The role must be in the cluster's account and allowed `dax:*` on the cluster; the process
//! must reach the cluster's VPC.
//!
//! ```text
//! XACCT_ROLE_ARN=arn:aws:iam::111111111111:role/DaxReader \
//! XACCT_DAX_ENDPOINT=daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com \
//! XACCT_TABLE=orders cargo run --example dax_quickstart --features gateway
//! ```

// Examples are applications: they may read the real clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/http.rs"]
mod http;
#[path = "../tests/support/stack_keys.rs"]
mod stack_keys;
mod support;

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use cross_account_dynamodb::{AssumedRoleCredentials, AuthVerifier, DaxGateway};
use support::{stack, target, var, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let t = target("ROLE_ARN", true).await?;
    let mut creds = AssumedRoleCredentials::builder(&t.role_arn).session_name("dax-quickstart");
    if let Some(id) = &t.external_id {
        creds = creds.external_id(id);
    }
    let creds = creds.configure(&t.source).build().await?;
    println!(
        "assumed {} (key {})",
        t.role_arn,
        creds.status().access_key_id.unwrap_or_default()
    );

    // The cluster: a real one, or a local gateway in front of the stack.
    let (endpoint, gateway) = match var("XACCT_DAX_ENDPOINT") {
        Some(endpoint) => (endpoint, None),
        None => {
            let a = Credentials::new(
                stack("A_ACCESS_KEY_ID")?,
                stack("A_SECRET_ACCESS_KEY")?,
                None,
                None,
                "local-stack",
            );
            let backend = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(stack("REGION")?))
                .endpoint_url(stack("ENDPOINT")?)
                .credentials_provider(a)
                .load()
                .await;
            let gw = DaxGateway::builder()
                .backend(&backend)
                .nodes(2)
                .auth(AuthVerifier::KeyStore(std::sync::Arc::new(
                    stack_keys::StackKeys::new(stack("CONTROL_URL")?),
                )))
                .start()
                .await?;
            (gw.endpoint().to_owned(), Some(gw))
        }
    };
    let table = t.setting("TABLE", "TABLE")?;
    println!("DAX cluster {endpoint} ({}), table {table}", t.place);

    let dax = creds.dax(&endpoint)?;
    let pk = AttributeValue::S("dax-quickstart".into());

    dax.put_item()
        .table_name(&table)
        .item("pk", pk.clone())
        .item("sk", AttributeValue::N("1".into()))
        .item(
            "note",
            AttributeValue::S("written over DAX from account B".into()),
        )
        .item("visits", AttributeValue::N("0".into()))
        .send()
        .await?;
    let got = dax
        .get_item()
        .table_name(&table)
        .key("pk", pk.clone())
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await?;
    println!(
        "GetItem: note = {:?}",
        got.item().and_then(|i| i.get("note"))
    );

    let up = dax
        .update_item()
        .table_name(&table)
        .key("pk", pk.clone())
        .key("sk", AttributeValue::N("1".into()))
        .update_expression("ADD visits :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await?;
    println!(
        "UpdateItem: visits = {:?}",
        up.attributes().and_then(|a| a.get("visits"))
    );

    let q = dax
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", pk.clone())
        .send()
        .await?;
    println!("Query: {} item(s)", q.count());

    // DynamoDB's typed errors, as on the HTTP path.
    let err = dax
        .put_item()
        .table_name(&table)
        .item("pk", pk.clone())
        .item("sk", AttributeValue::N("1".into()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_err();
    println!(
        "conditional put: {} (ConditionalCheckFailedException: {})",
        err.code().unwrap_or("?"),
        err.as_service_error()
            .is_some_and(|e| e.is_conditional_check_failed_exception())
    );

    // Not a DAX operation: forwarded to DynamoDB, signed with the same credentials.
    let d = dax.describe_table().table_name(&table).send().await?;
    println!(
        "DescribeTable (forwarded to DynamoDB): {:?}",
        d.table().and_then(|t| t.table_status())
    );

    if let Some(gw) = gateway {
        let auths = gw.auth_log();
        println!(
            "gateway: {} requests, {} connection authorizations, all with the assumed key: {}",
            gw.request_log().len(),
            auths.len(),
            auths
                .iter()
                .all(|a| Some(&a.access_key_id) == creds.status().access_key_id.as_ref())
        );
        gw.shutdown().await;
    }
    Ok(())
}
