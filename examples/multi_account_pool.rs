//! One service, many target roles: a `CrossAccountPool` assumes each role on first use (once,
//! however many requests ask at the same time), refreshes each on its own, and drops roles
//! that go idle.
//!
//! Local stack: start it, `set -a; . "$(scripts/stack/stack.sh env)"; set +a;
//! cargo run --example multi_account_pool`. Real AWS: `XACCT_POOL_ROLE_ARNS` (comma-separated
//! role ARNs, each with a table `XACCT_TABLE` of hash key `pk` S and range key `sk` N),
//! optionally `XACCT_EXTERNAL_ID` (sent to every role) and `XACCT_REGION`.

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use cross_account_dynamodb::{CrossAccountPool, RoleSpec};
use support::{real_source, stack, target, var, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (source, specs, table, place) = match var("XACCT_POOL_ROLE_ARNS") {
        Some(arns) => {
            let external_id = var("XACCT_EXTERNAL_ID");
            let specs: Vec<RoleSpec> = arns
                .split(',')
                .map(|arn| {
                    let spec = RoleSpec::new(arn.trim());
                    match &external_id {
                        Some(id) => spec.external_id(id),
                        None => spec,
                    }
                })
                .collect();
            let table = var("XACCT_TABLE").ok_or("set XACCT_TABLE too")?;
            (real_source().await, specs, table, "real AWS")
        }
        None => {
            let t = target("ROLE_ARN", true).await?;
            let specs = vec![
                RoleSpec::new(&t.role_arn).external_id(t.external_id.clone().unwrap_or_default()),
                RoleSpec::new(stack("SHORT_SESSION_ROLE_ARN")?),
                RoleSpec::new(stack("CHAIN_TARGET_ROLE_ARN")?),
            ];
            (t.source, specs, stack("TABLE")?, t.place)
        }
    };
    println!("running against {place}");
    let pool = CrossAccountPool::builder()
        .configure(&source)
        .max_roles(16)
        .idle_timeout(Duration::from_secs(600))
        .build();

    // Every role asked for by 10 concurrent requests: one AssumeRole each.
    let mut tasks = Vec::new();
    for spec in &specs {
        for i in 0..10 {
            let (pool, spec, table) = (pool.clone(), spec.clone(), table.clone());
            tasks.push(tokio::spawn(async move {
                let ddb = pool.dynamodb(spec).await?;
                ddb.get_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S(format!("pool-{i}")))
                    .key("sk", AttributeValue::N("1".into()))
                    .send()
                    .await?;
                Ok::<_, BoxError>(())
            }));
        }
    }
    for t in tasks {
        t.await??;
    }
    for spec in &specs {
        let status = pool.credentials(spec.clone()).await?.status();
        println!(
            "{}: generation {}, key {}",
            spec.role_arn(),
            status.generation,
            status.access_key_id.unwrap_or_default()
        );
    }
    println!("{} roles pooled, 10 requests each", pool.len());
    Ok(())
}
