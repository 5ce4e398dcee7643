//! The ECS recipe with refresh: a profile baked into the container says
//!
//! ```ini
//! [profile crossAccount]
//! role_arn = arn:aws:iam::111111111111:role/CrossAccountDynamoRole
//! external_id = ...
//! credential_source = EcsContainer
//! ```
//!
//! and `AssumedRoleCredentials::from_profile("crossAccount")` takes the task role's credentials
//! (account B) from the ECS endpoint as the source, assumes the role in A, and keeps it fresh.
//!
//! Real AWS (in an ECS task, or anywhere the profile's source works): set `XACCT_PROFILE`
//! (the profile name) and optionally `XACCT_REGION`. Local stack (default): this example plays
//! the ECS host as well: it serves a session of B's own role on a loopback "container
//! credentials" endpoint and hands the profile and `AWS_CONTAINER_CREDENTIALS_FULL_URI` to the
//! provider as injected files and environment (the process environment is not touched), which
//! needs the feature `test-util`: `cargo run --example ecs_profile --features test-util`. In a
//! container, the real-AWS branch is all there is, and it needs no feature.

mod support;

use aws_smithy_types::date_time::Format;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::{real_source, stack, target, var, BoxError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let creds = if let Some(profile) = var("XACCT_PROFILE") {
        println!("running against real AWS with profile {profile}");
        AssumedRoleCredentials::from_profile(profile)
            .configure(&real_source().await)
            .build()
            .await?
    } else {
        println!("running against the local stack (this example plays the ECS endpoint)");
        let t = target("ROLE_ARN", true).await?;
        let endpoint = serve_task_role(&t.source).await?;
        let profile = format!(
            "[profile crossAccount]\nrole_arn = {}\nexternal_id = {}\ncredential_source = EcsContainer\n",
            t.role_arn,
            t.external_id.clone().unwrap_or_default()
        );
        AssumedRoleCredentials::from_profile("crossAccount")
            .configure(&t.source)
            .files([("/etc/aws/config", profile)])
            .env([
                ("AWS_CONFIG_FILE", "/etc/aws/config".to_owned()),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint),
            ])
            .build()
            .await?
    };
    let me = aws_sdk_sts::Client::new(&creds.sdk_config())
        .get_caller_identity()
        .send()
        .await?;
    println!(
        "caller identity: account {} as {}",
        me.account().unwrap_or("?"),
        me.arn().unwrap_or("?")
    );
    if let Ok(table) = stack("TABLE").or_else(|_| var("XACCT_TABLE").ok_or("no table")) {
        let n = creds
            .dynamodb()
            .describe_table()
            .table_name(&table)
            .send()
            .await?;
        println!(
            "table {table} in account A: {:?}",
            n.table().and_then(|t| t.table_status())
        );
    }
    Ok(())
}

/// A loopback stand-in for the ECS container-credentials endpoint, serving a session of B's
/// own role `ChainHopRole` (what a task role in B would be). Returns its URL.
async fn serve_task_role(source: &aws_config::SdkConfig) -> Result<String, BoxError> {
    let session = aws_sdk_sts::Client::new(source)
        .assume_role()
        .role_arn(stack("CHAIN_HOP_ROLE_ARN")?)
        .role_session_name("ecs-task")
        .send()
        .await?
        .credentials
        .ok_or("no task role credentials")?;
    let body = format!(
        r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}}"#,
        session.access_key_id,
        session.secret_access_key,
        session.session_token,
        session.expiration.fmt(Format::DateTime)?
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v2/credentials/task", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
        }
    });
    Ok(url)
}
