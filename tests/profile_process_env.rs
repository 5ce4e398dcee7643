//! `AssumedRoleCredentials::from_profile` with the process's environment and files, as an
//! application uses it (nothing injected, no `test-util`), against the local stack. It sets
//! process variables, so it is the only test in this binary.

mod support;

use aws_credential_types::Credentials;
use aws_smithy_types::date_time::Format;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::metadata::{FakeMetadata, Served, ECS_PATH, IMDS_ROLE};
use support::{unique_name, Stack};

/// A session of B's own role `ChainHopRole`: what an ECS task in B holds.
async fn b_role_session(stack: &Stack) -> Served {
    let out = aws_sdk_sts::Client::new(&stack.b_config().await)
        .assume_role()
        .role_arn(stack.var("CHAIN_HOP_ROLE_ARN"))
        .role_session_name(unique_name("task"))
        .send()
        .await
        .unwrap();
    let c = out.credentials.unwrap();
    Served {
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: c.session_token,
        expiration: c.expiration.fmt(Format::DateTime).unwrap(),
    }
}

/// Builds from the profile; returns the account GetCallerIdentity reports and the caller the
/// stack saw for the AssumeRole.
async fn assume(stack: &Stack, profile: &str, session: &str) -> (String, String) {
    let base = stack
        .sdk_config(Credentials::new("unused", "unused", None, None, "none"))
        .await;
    let creds = AssumedRoleCredentials::from_profile(profile)
        .configure(&base)
        .build()
        .await
        .unwrap();
    let me = aws_sdk_sts::Client::new(&creds.sdk_config())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let calls = stack.assume_role_calls(stack.role_arn(), session);
    assert_eq!(calls["count"], 1, "{calls}");
    let caller = calls["calls"][0]["caller_arn"].as_str().unwrap().to_owned();
    (me.account.unwrap(), caller)
}

#[tokio::test]
async fn the_process_environment_and_profile_files() {
    let stack = Stack::shared();
    let fake = FakeMetadata::start(b_role_session(stack).await).await;
    let ecs_session = unique_name("ecs-process");
    let imds_session = unique_name("imds-process");
    let env_session = unique_name("env-process");
    let profile_session = unique_name("srcprof-process");
    let b = stack.b_credentials();
    let text = format!(
        "[profile crossAccount]\nrole_arn = {role}\nexternal_id = {ext}\n\
         role_session_name = {ecs_session}\ncredential_source = EcsContainer\n\n\
         [profile viaImds]\nrole_arn = {role}\nexternal_id = {ext}\n\
         role_session_name = {imds_session}\ncredential_source = Ec2InstanceMetadata\n\n\
         [profile viaEnv]\nrole_arn = {role}\nexternal_id = {ext}\n\
         role_session_name = {env_session}\ncredential_source = Environment\n\n\
         [profile base]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\n\
         [profile viaBase]\nrole_arn = {role}\nexternal_id = {ext}\n\
         role_session_name = {profile_session}\nsource_profile = base\n",
        role = stack.role_arn(),
        ext = stack.external_id(),
        id = b.access_key_id(),
        secret = b.secret_access_key(),
    );
    let dir = std::env::temp_dir().join(unique_name("xacct-profile"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config"), text).unwrap();
    std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"));
    std::env::set_var(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}{ECS_PATH}", fake.base_url()),
    );
    // Keys in the environment must not be picked instead of the named source.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAWRONGSOURCE00000");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "wrong");

    let (account, caller) = assume(stack, "crossAccount", &ecs_session).await;
    assert_eq!(account, stack.account_a());
    assert!(
        fake.hits().contains(&format!("GET {ECS_PATH}")),
        "{:?}",
        fake.hits()
    );
    assert!(caller.contains(":assumed-role/ChainHopRole/"), "{caller}");

    let (account, caller) = assume(stack, "viaBase", &profile_session).await;
    assert_eq!(account, stack.account_a());
    assert_eq!(caller, stack.var("B_USER_ARN"));

    std::env::remove_var("AWS_EC2_METADATA_DISABLED");
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url());
    let (account, caller) = assume(stack, "viaImds", &imds_session).await;
    assert_eq!(account, stack.account_a());
    let imds_path = format!("GET /latest/meta-data/iam/security-credentials/{IMDS_ROLE}");
    assert!(fake.hits().contains(&imds_path), "{:?}", fake.hits());
    assert!(caller.contains(":assumed-role/ChainHopRole/"), "{caller}");

    std::env::set_var("AWS_ACCESS_KEY_ID", b.access_key_id());
    std::env::set_var("AWS_SECRET_ACCESS_KEY", b.secret_access_key());
    let (account, caller) = assume(stack, "viaEnv", &env_session).await;
    assert_eq!(account, stack.account_a());
    assert_eq!(caller, stack.var("B_USER_ARN"));

    let _ = std::fs::remove_dir_all(&dir);
}
