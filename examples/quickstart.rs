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

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::date_time::{DateTime, Format};
use cross_account_dynamodb::{AssumedRoleCredentials, RefreshEvent};
use support::{target, BoxError};

async fn caller(config: &aws_config::SdkConfig) -> Result<String, BoxError> {
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
    // Watching on the local stack: the role whose sessions last 20 s, so refreshes show.
    let t = if watch_secs > 0 {
        target("SHORT_SESSION_ROLE_ARN", false).await?
    } else {
        target("ROLE_ARN", true).await?
    };
    let table = t.setting("TABLE", "TABLE")?;
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
    println!(
        "3. assumed identity (account A): {}",
        caller(&creds.sdk_config()).await?
    );

    // A ready client: shares the provider, SDK cache off, heals on ExpiredToken.
    let ddb = creds.dynamodb();
    let pk = format!("quickstart-{}", std::process::id());
    ddb.put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::N("1".into()))
        .item("note", AttributeValue::S("written from account B".into()))
        .send()
        .await?;
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::N("1".into()))
        .consistent_read(true)
        .send()
        .await?
        .item
        .ok_or("the item just written was not found")?;
    println!(
        "4. put and got {pk} in {table}: note = {:?}",
        item.get("note")
    );

    if watch_secs > 0 {
        println!("5. reading every second for {watch_secs} s; refreshes print as they happen");
        for _ in 0..watch_secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ddb.get_item()
                .table_name(&table)
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
