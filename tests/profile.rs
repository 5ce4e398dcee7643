//! `AssumedRoleCredentials::from_profile` against the local stack, one test per source kind.
//! The environment and the profile files are injected (never the process's; feature
//! `test-util`), the ECS and
//! instance-metadata endpoints are loopback fakes handing out a session of B's own role (as a
//! task or instance role would), and every test checks that its source was really used and
//! that GetCallerIdentity reports account A.

mod support;

use aws_credential_types::Credentials;
use aws_smithy_types::date_time::Format;
use cross_account_dynamodb::AssumedRoleCredentials;
use support::metadata::{FakeMetadata, Served, ECS_PATH, IMDS_ROLE};
use support::{unique_name, Stack};

/// A session of B's own role `ChainHopRole`: what an ECS task or EC2 instance in B holds.
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

fn config_file(stack: &Stack, session: &str, source: &str) -> String {
    format!(
        "[profile crossAccount]\nrole_arn = {}\nexternal_id = {}\nrole_session_name = {session}\n\
         duration_seconds = 900\n{source}\n",
        stack.role_arn(),
        stack.external_id()
    )
}

/// Builds from the profile; returns the account GetCallerIdentity reports and the caller the
/// stack saw for the AssumeRole.
async fn assume(
    stack: &Stack,
    session: &str,
    env: Vec<(&'static str, String)>,
    files: Vec<(&'static str, String)>,
) -> (String, String) {
    let base = stack
        .sdk_config(Credentials::new("unused", "unused", None, None, "none"))
        .await;
    let creds = AssumedRoleCredentials::from_profile("crossAccount")
        .configure(&base)
        .env(env)
        .files(files)
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
    assert_eq!(
        calls["calls"][0]["duration_requested"], 900,
        "duration_seconds from the profile"
    );
    let caller = calls["calls"][0]["caller_arn"].as_str().unwrap().to_owned();
    (me.account.unwrap(), caller)
}

/// The profile file, and an environment whose `HOME` holds it.
type Injected = (Vec<(&'static str, String)>, Vec<(&'static str, String)>);

fn files(stack: &Stack, session: &str, source: &str) -> Injected {
    let files = vec![("/home/app/.aws/config", config_file(stack, session, source))];
    (files, vec![("HOME", "/home/app".to_owned())])
}

#[tokio::test]
async fn credential_source_ecs_container() {
    let stack = Stack::shared();
    let fake = FakeMetadata::start(b_role_session(stack).await).await;
    let session = unique_name("ecs");
    let (fs, mut vars) = files(stack, &session, "credential_source = EcsContainer");
    vars.push((
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}{ECS_PATH}", fake.base_url()),
    ));
    // Keys in the environment must not be picked instead of the named source.
    vars.push(("AWS_ACCESS_KEY_ID", "AKIAWRONGSOURCE00000".into()));
    vars.push(("AWS_SECRET_ACCESS_KEY", "wrong".into()));
    let (account, caller) = assume(stack, &session, vars, fs).await;
    assert_eq!(account, stack.account_a());
    assert!(
        fake.hits().contains(&format!("GET {ECS_PATH}")),
        "{:?}",
        fake.hits()
    );
    assert!(caller.contains(":assumed-role/ChainHopRole/"), "{caller}");
}

#[tokio::test]
async fn credential_source_ec2_instance_metadata() {
    let stack = Stack::shared();
    let fake = FakeMetadata::start(b_role_session(stack).await).await;
    let session = unique_name("imds");
    let (fs, mut vars) = files(stack, &session, "credential_source = Ec2InstanceMetadata");
    vars.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url()));
    let (account, caller) = assume(stack, &session, vars, fs).await;
    assert_eq!(account, stack.account_a());
    let hits = fake.hits();
    assert!(
        hits.contains(&"PUT /latest/api/token".to_owned()),
        "{hits:?}"
    );
    assert!(
        hits.contains(&format!(
            "GET /latest/meta-data/iam/security-credentials/{IMDS_ROLE}"
        )),
        "{hits:?}"
    );
    assert!(caller.contains(":assumed-role/ChainHopRole/"), "{caller}");
}

#[tokio::test]
async fn credential_source_environment() {
    let stack = Stack::shared();
    let session = unique_name("env");
    let (fs, mut vars) = files(stack, &session, "credential_source = Environment");
    let b = stack.b_credentials();
    vars.push(("AWS_ACCESS_KEY_ID", b.access_key_id().to_owned()));
    vars.push(("AWS_SECRET_ACCESS_KEY", b.secret_access_key().to_owned()));
    let (account, caller) = assume(stack, &session, vars, fs).await;
    assert_eq!(account, stack.account_a());
    assert_eq!(caller, stack.var("B_USER_ARN"));
}

#[tokio::test]
async fn source_profile_with_static_keys() {
    let stack = Stack::shared();
    let session = unique_name("srcprof");
    let b = stack.b_credentials();
    let text = format!(
        "[profile base]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n{}",
        b.access_key_id(),
        b.secret_access_key(),
        config_file(stack, &session, "source_profile = base")
    );
    let fs = vec![("/home/app/.aws/config", text)];
    let (account, caller) = assume(stack, &session, vec![("HOME", "/home/app".into())], fs).await;
    assert_eq!(account, stack.account_a());
    assert_eq!(caller, stack.var("B_USER_ARN"));
}

#[tokio::test]
async fn bad_profiles_are_typed_errors() {
    let cases = [
        ("", "no profile named"),
        ("[profile crossAccount]\nregion = us-east-1\n", "no role_arn"),
        (
            "[profile crossAccount]\nrole_arn = arn:aws:iam::111111111111:role/R\n",
            "neither source_profile nor credential_source",
        ),
        (
            "[profile crossAccount]\nrole_arn = arn:aws:iam::111111111111:role/R\nsource_profile = a\ncredential_source = Environment\n",
            "both",
        ),
        (
            "[profile crossAccount]\nrole_arn = arn:aws:iam::111111111111:role/R\ncredential_source = Lambda\n",
            "expected EcsContainer",
        ),
        (
            "[profile crossAccount]\nrole_arn = arn:aws:iam::111111111111:role/R\ncredential_source = Environment\nduration_seconds = soon\n",
            "not a number",
        ),
    ];
    for (text, want) in cases {
        let err = AssumedRoleCredentials::from_profile("crossAccount")
            .env([("HOME", "/home/app")])
            .files([("/home/app/.aws/config", text)])
            .build()
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
}
