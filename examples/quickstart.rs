//! The cross-account path end to end: who we are in account B, AssumeRole into account A, who
//! we are then, and a put and a get on A's table, with every credential refresh printed.
//!
//! Local stack (default; `scripts/demo.sh` starts it and exports its `XACCT_STACK_*` variables):
//!
//! ```text
//! scripts/demo.sh                 # or: scripts/demo.sh --watch 45  (20-second sessions:
//!                                 #     see refreshes happen)
//! ```
//!
//! Real AWS: set `XACCT_ROLE_ARN`, `XACCT_TABLE` (hash key `pk` S, range key `sk` N) and, if the
//! role wants one, `XACCT_EXTERNAL_ID`; optionally `XACCT_REGION`. Account B's credentials come
//! from the default chain (environment, profile, instance or task role). These names differ from
//! the local stack's, so sourcing the stack's env file never points this example at real AWS.
//!
//! ```text
//! XACCT_ROLE_ARN=arn:aws:iam::111111111111:role/CrossAccountDynamoRole XACCT_TABLE=orders \
//!     cargo run --example quickstart
//! ```

// Examples are applications: they may read the real clock and sleep.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::date_time::{DateTime, Format};
use cross_account_dynamodb::{AssumedRoleCredentials, RefreshEvent};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the example runs: real AWS or the local stack.
struct Target {
    source: SdkConfig,
    role_arn: String,
    external_id: Option<String>,
    table: String,
    place: &'static str,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn target(watch: bool) -> Result<Target, BoxError> {
    if let Some(role_arn) = var("XACCT_ROLE_ARN") {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = var("XACCT_REGION") {
            loader = loader.region(Region::new(region));
        }
        return Ok(Target {
            source: loader.load().await,
            role_arn,
            external_id: var("XACCT_EXTERNAL_ID"),
            table: var("XACCT_TABLE").ok_or("XACCT_ROLE_ARN is set, so set XACCT_TABLE too")?,
            place: "real AWS",
        });
    }
    let stack = |name: &str| {
        var(&format!("XACCT_STACK_{name}")).ok_or_else(|| {
            format!(
                "XACCT_STACK_{name} is not set: run this through scripts/demo.sh (local stack), \
                 or set XACCT_ROLE_ARN and XACCT_TABLE for real AWS"
            )
        })
    };
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
    // Watching on the local stack: use the role whose sessions last 20 s, so refreshes show.
    let (role_arn, external_id) = if watch {
        (stack("SHORT_SESSION_ROLE_ARN")?, None)
    } else {
        (stack("ROLE_ARN")?, Some(stack("EXTERNAL_ID")?))
    };
    Ok(Target {
        source,
        role_arn,
        external_id,
        table: stack("TABLE")?,
        place: "the local stack",
    })
}

async fn caller(config: &SdkConfig) -> Result<String, BoxError> {
    let me = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await?;
    Ok(format!(
        "account {} as {}",
        me.account().unwrap_or("?"),
        me.arn().unwrap_or("?")
    ))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let watch_secs: u64 = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => 0,
        [flag, secs] if flag == "--watch" => secs.parse()?,
        _ => return Err("usage: quickstart [--watch SECONDS]".into()),
    };
    let t = target(watch_secs > 0).await?;
    println!("running against {}", t.place);
    println!(
        "1. source identity (account B): {}",
        caller(&t.source).await?
    );

    let mut builder = AssumedRoleCredentials::builder(&t.role_arn)
        .session_name("quickstart")
        .configure(&t.source)
        .on_refresh(|event| match event {
            RefreshEvent::Refreshed {
                rotation, latency, ..
            } => println!(
                "   [refresh] generation {} key {} in {latency:?}, expires {}",
                rotation.generation,
                rotation.access_key_id,
                DateTime::from(rotation.expiry)
                    .fmt(Format::DateTime)
                    .unwrap_or_default()
            ),
            RefreshEvent::Failed { error, .. } => println!("   [refresh failed] {error}"),
            _ => {}
        });
    if let Some(id) = &t.external_id {
        builder = builder.external_id(id);
    }
    let creds = builder.build().await?;
    println!("2. assumed {}", creds.role_arn());

    // Every client built from this config shares the provider; the SDK's own cache is off so a
    // rotation is used by the very next request.
    let account_a = t
        .source
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
        .identity_cache(IdentityCache::no_cache())
        .build();
    println!(
        "3. assumed identity (account A): {}",
        caller(&account_a).await?
    );

    let ddb = aws_sdk_dynamodb::Client::new(&account_a);
    let pk = format!("quickstart-{}", std::process::id());
    ddb.put_item()
        .table_name(&t.table)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::N("1".into()))
        .item("note", AttributeValue::S("written from account B".into()))
        .send()
        .await?;
    let item = ddb
        .get_item()
        .table_name(&t.table)
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::N("1".into()))
        .consistent_read(true)
        .send()
        .await?
        .item
        .ok_or("the item just written was not found")?;
    println!(
        "4. put and got {pk} in {}: note = {:?}",
        t.table,
        item.get("note")
    );

    if watch_secs > 0 {
        println!("5. reading every second for {watch_secs} s; refreshes print as they happen");
        for _ in 0..watch_secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ddb.get_item()
                .table_name(&t.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .key("sk", AttributeValue::N("1".into()))
                .send()
                .await?;
        }
    }
    let status = creds.status();
    println!(
        "done: generation {}, {} refreshes, {} failures",
        status.generation, status.refresh_count, status.consecutive_failures
    );
    Ok(())
}
