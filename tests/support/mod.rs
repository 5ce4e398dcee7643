//! Test support: the one reader of the local stack's contract.
//!
//! The contract (written by `scripts/stack/seed.py`, documented in `scripts/stack/README.md`):
//! an env file of `export XACCT_STACK_*=value` lines per named instance, at
//! `.local-stack/instances/<name>/env`, and a control surface under `XACCT_STACK_CONTROL_URL`.
//!
//! Which instance the tests use: the env file named by `XACCT_STACK_ENV_FILE`, else the
//! `default` instance's. A test that needs the stack and does not find it fails with a message
//! saying how to start it; nothing is skipped silently.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

#[cfg(feature = "gateway")]
pub mod dax_client;
pub mod fake_sts;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod http;
pub mod matrix;
pub mod metadata;
pub mod meter;
#[cfg(feature = "gateway")]
pub mod stack_keys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::Value;

/// The repository root (where `scripts/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stack_script() -> PathBuf {
    repo_root().join("scripts/stack/stack.sh")
}

/// A running instance of the local stack, as its env file describes it.
#[derive(Debug)]
pub struct Stack {
    vars: HashMap<String, String>,
    env_file: PathBuf,
    /// `Some(name)` for a private instance this process started and stops on drop.
    owned: Option<String>,
}

impl Stack {
    /// The shared instance: the one the test command started (or a developer's `default`).
    pub fn shared() -> &'static Stack {
        static SHARED: OnceLock<Stack> = OnceLock::new();
        SHARED.get_or_init(|| {
            let env_file = std::env::var_os("XACCT_STACK_ENV_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root().join(".local-stack/instances/default/env"));
            match Stack::read(&env_file, None) {
                Ok(stack) => stack,
                Err(why) => panic!(
                    "this test needs the local AWS stack, but {why}.\n\
                     Start it with `scripts/stack/stack.sh start` (then rerun the test), or run the \
                     whole suite with `scripts/test.sh`, which starts and stops it."
                ),
            }
        })
    }

    /// Starts a private instance `name` with other settings (`XACCT_STACK_ENFORCE`,
    /// `XACCT_STACK_SHORT_SESSION_SECONDS`); it is stopped when the returned value drops.
    pub fn start_private(name: &str, settings: &[(&str, &str)]) -> Stack {
        let out = Command::new("bash")
            .arg(stack_script())
            .args(["start", name])
            .envs(settings.iter().copied())
            .output()
            .expect("run scripts/stack/stack.sh");
        if !out.status.success() {
            panic!(
                "starting the private stack instance {name:?} failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env_file = repo_root().join(format!(".local-stack/instances/{name}/env"));
        Stack::read(&env_file, Some(name.to_owned()))
            .unwrap_or_else(|why| panic!("private instance {name:?} started, but {why}"))
    }

    fn read(env_file: &Path, owned: Option<String>) -> Result<Stack, String> {
        let text = std::fs::read_to_string(env_file)
            .map_err(|e| format!("its env file {} cannot be read ({e})", env_file.display()))?;
        let vars = parse_env_file(&text);
        let stack = Stack {
            vars,
            env_file: env_file.to_owned(),
            owned,
        };
        // The env file can outlive its server (a crash, a reboot): check it answers.
        let health = http::get(&format!("{}/health", stack.control_url())).map_err(|e| {
            format!(
                "the server named in {} does not answer ({e})",
                env_file.display()
            )
        })?;
        if health.status != 200 {
            return Err(format!("its health check answered HTTP {}", health.status));
        }
        Ok(stack)
    }

    /// Every `XACCT_STACK_*` variable, for a child process's environment.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A contract variable, without its `XACCT_STACK_` prefix (`var("ROLE_ARN")`).
    pub fn var(&self, name: &str) -> &str {
        let key = format!("XACCT_STACK_{name}");
        self.vars.get(&key).map(String::as_str).unwrap_or_else(|| {
            panic!(
                "the stack's env file {} has no {key}",
                self.env_file.display()
            )
        })
    }

    pub fn endpoint(&self) -> &str {
        self.var("ENDPOINT")
    }
    pub fn control_url(&self) -> &str {
        self.var("CONTROL_URL")
    }
    pub fn region(&self) -> &str {
        self.var("REGION")
    }
    pub fn account_a(&self) -> &str {
        self.var("ACCOUNT_A")
    }
    pub fn account_b(&self) -> &str {
        self.var("ACCOUNT_B")
    }
    pub fn table(&self) -> &str {
        self.var("TABLE")
    }
    pub fn role_arn(&self) -> &str {
        self.var("ROLE_ARN")
    }
    pub fn external_id(&self) -> &str {
        self.var("EXTERNAL_ID")
    }
    pub fn short_session_seconds(&self) -> u64 {
        self.var("SHORT_SESSION_SECONDS")
            .parse()
            .expect("XACCT_STACK_SHORT_SESSION_SECONDS is a number")
    }

    /// Account B's user `app` (may assume A's roles): the usual source credentials.
    pub fn b_credentials(&self) -> Credentials {
        self.static_credentials("B_ACCESS_KEY_ID", "B_SECRET_ACCESS_KEY")
    }
    /// Account B's own DynamoDB principal (no `sts:AssumeRole`).
    pub fn b_dynamo_credentials(&self) -> Credentials {
        self.static_credentials("B_DYNAMO_ACCESS_KEY_ID", "B_DYNAMO_SECRET_ACCESS_KEY")
    }
    /// Account A's own principal (what a DAX cluster's service role would be).
    pub fn a_credentials(&self) -> Credentials {
        self.static_credentials("A_ACCESS_KEY_ID", "A_SECRET_ACCESS_KEY")
    }

    fn static_credentials(&self, id: &str, secret: &str) -> Credentials {
        Credentials::new(self.var(id), self.var(secret), None, None, "local-stack")
    }

    /// An `SdkConfig` aimed at this stack (endpoint, region) with the given credentials.
    pub async fn sdk_config(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region().to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// Account B's source configuration (user `app`).
    pub async fn b_config(&self) -> SdkConfig {
        self.sdk_config(self.b_credentials()).await
    }

    /// Successful AssumeRole calls the server saw for this role and session name.
    pub fn assume_role_count(&self, role_arn: &str, session_name: &str) -> u64 {
        self.assume_role_calls(role_arn, session_name)["count"]
            .as_u64()
            .expect("count is a number")
    }

    /// The server's AssumeRole log for this role and session name (`count`, `attempts`, `calls`).
    pub fn assume_role_calls(&self, role_arn: &str, session_name: &str) -> Value {
        let url = format!(
            "{}/assume-role-calls?role_arn={}&session_name={}",
            self.control_url(),
            http::encode(role_arn),
            http::encode(session_name)
        );
        http::get(&url).expect("control: assume-role-calls").json()
    }

    /// Expires a session key now: the next request signed with it gets ExpiredToken.
    pub fn expire_key(&self, access_key_id: &str) {
        let body = serde_json::json!({ "access_key_id": access_key_id }).to_string();
        let resp = http::post_json(&format!("{}/expire-key", self.control_url()), &body)
            .expect("control: expire-key");
        assert_eq!(resp.status, 200, "expire-key: {}", resp.body);
    }

    /// A session key's secret, token and expiry as the server holds them.
    pub fn session(&self, access_key_id: &str) -> Value {
        let url = format!(
            "{}/session?access_key_id={}",
            self.control_url(),
            http::encode(access_key_id)
        );
        http::get(&url).expect("control: session").json()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(name) = &self.owned {
            let _ = Command::new("bash")
                .arg(stack_script())
                .args(["stop", name])
                .output();
        }
    }
}

/// Parses `export NAME=value` / `NAME=value` lines; values may be single- or double-quoted.
fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_owned(), unquote(v.trim())))
        })
        .collect()
}

fn unquote(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        // shell single quotes: `'\''` is an embedded quote
        v[1..v.len() - 1].replace("'\\''", "'")
    } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].replace("\\\"", "\"")
    } else {
        v.to_owned()
    }
}

/// A session name unique to this test process and call site.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
