//! Test support for `xacct doctor`: the local AWS stack (read from its env file, as
//! `tests/support` of the root crate does: `scripts/stack/README.md` is the contract), DAX
//! gateways, and the `xacct` binary.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use xacct_doctor::{Cause, CheckId, Report, Status};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running stack instance.
#[derive(Debug)]
pub struct Stack {
    vars: HashMap<String, String>,
    owned: Option<String>,
}

impl Stack {
    /// The shared instance: `XACCT_STACK_ENV_FILE`, else the `default` instance.
    pub fn shared() -> Stack {
        let file = std::env::var_os("XACCT_STACK_ENV_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".local-stack/instances/default/env"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "this test needs the local AWS stack, but its env file {} cannot be read ({e}).\n\
                 Start it with `scripts/stack/stack.sh start` and export \
                 XACCT_STACK_ENV_FILE=$(scripts/stack/stack.sh env), or run scripts/test.sh",
                file.display()
            )
        });
        Stack {
            vars: parse_env(&text),
            owned: None,
        }
    }

    /// A private instance (stopped on drop): for roles a shared instance seeded by an older
    /// `seed.py` lacks.
    pub fn private(name: &str) -> Stack {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/stack/stack.sh"))
            .args(["start", name])
            .output()
            .expect("run scripts/stack/stack.sh");
        assert!(
            out.status.success(),
            "starting the private stack instance {name} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let file = repo_root().join(format!(".local-stack/instances/{name}/env"));
        Stack {
            vars: parse_env(&std::fs::read_to_string(file).expect("private env file")),
            owned: Some(name.to_owned()),
        }
    }

    /// The shared instance if it has `var`, else a private one seeded by the current seed.py.
    pub fn with_var(var: &str) -> Stack {
        let shared = Stack::shared();
        if shared.has(var) {
            shared
        } else {
            Stack::private(&format!("doctor-{}", std::process::id()))
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.vars.contains_key(&format!("XACCT_STACK_{name}"))
    }

    pub fn var(&self, name: &str) -> String {
        self.vars
            .get(&format!("XACCT_STACK_{name}"))
            .cloned()
            .unwrap_or_else(|| panic!("the stack's env file has no XACCT_STACK_{name}"))
    }

    pub fn endpoint(&self) -> String {
        self.var("ENDPOINT")
    }
    pub fn region(&self) -> String {
        self.var("REGION")
    }
    pub fn role_arn(&self) -> String {
        self.var("ROLE_ARN")
    }
    pub fn external_id(&self) -> String {
        self.var("EXTERNAL_ID")
    }
    pub fn table(&self) -> String {
        self.var("TABLE")
    }

    pub fn b_credentials(&self) -> Credentials {
        Credentials::new(
            self.var("B_ACCESS_KEY_ID"),
            self.var("B_SECRET_ACCESS_KEY"),
            None,
            None,
            "stack",
        )
    }
    pub fn b_dynamo_credentials(&self) -> Credentials {
        Credentials::new(
            self.var("B_DYNAMO_ACCESS_KEY_ID"),
            self.var("B_DYNAMO_SECRET_ACCESS_KEY"),
            None,
            None,
            "stack",
        )
    }
    pub fn a_credentials(&self) -> Credentials {
        Credentials::new(
            self.var("A_ACCESS_KEY_ID"),
            self.var("A_SECRET_ACCESS_KEY"),
            None,
            None,
            "stack",
        )
    }

    /// A source configuration aimed at the stack with these credentials.
    pub async fn config(&self, creds: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region()))
            .endpoint_url(self.endpoint())
            .credentials_provider(creds)
            .load()
            .await
    }

    /// AssumeRole with B's user: a role session's credentials (for sources and backends).
    pub async fn assume(&self, role_arn: &str, external_id: Option<&str>) -> Credentials {
        let sts = aws_sdk_sts::Client::new(&self.config(self.b_credentials()).await);
        let out = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(format!("doctor-test-{}", std::process::id()))
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await
            .expect("AssumeRole for the test setup");
        let c = out.credentials().expect("credentials");
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "stack-session",
        )
    }

    /// Expires a session key now (control endpoint `/_stack/expire-key`).
    pub fn expire_key(&self, access_key_id: &str) {
        let body = serde_json::json!({ "access_key_id": access_key_id }).to_string();
        let endpoint = self.endpoint();
        let hostport = endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(hostport).expect("connect to the stack");
        write!(
            s,
            "POST /_stack/expire-key HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("read");
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "{reply}"
        );
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(name) = &self.owned {
            let _ = Command::new("bash")
                .arg(repo_root().join("scripts/stack/stack.sh"))
                .args(["stop", name])
                .output();
        }
    }
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
                v[1..v.len() - 1].replace("'\\''", "'")
            } else {
                v.to_owned()
            };
            Some((k.trim().to_owned(), v))
        })
        .collect()
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Asserts one check's status and cause, printing the whole report when it is wrong.
#[track_caller]
pub fn expect(report: &Report, id: CheckId, status: Status, cause: Option<Cause>) {
    let c = report
        .check(id)
        .unwrap_or_else(|| panic!("no {id} check in\n{report}"));
    assert_eq!(
        (c.status, c.cause),
        (status, cause),
        "{id}: expected {status:?} {cause:?}\n\n{report}"
    );
    if matches!(status, Status::Fail | Status::Warn) {
        assert!(
            c.fix.as_deref().is_some_and(|f| !f.is_empty()),
            "{id}: no fix\n{report}"
        );
    }
}

/// Asserts the report is in the fixed order, has the right `ok`, and never shows a secret.
#[track_caller]
pub fn check_shape(report: &Report, secrets: &[&str]) {
    let ids: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, CheckId::ALL.to_vec(), "{report}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    assert_eq!(json["ok"], report.ok());
    let human = report.to_string();
    let text = report.to_json();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        assert!(
            !human.contains(s),
            "a secret is in the human report:\n{human}"
        );
        assert!(!text.contains(s), "a secret is in the JSON report");
    }
}

/// The `xacct` binary cargo built for this package's tests.
pub fn xacct() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xacct"))
}

/// A fake DAX discovery endpoint: answers the preamble, `authorizeConnection` and `endpoints`
/// with a node list of itself plus `extra` (for nodes this host cannot reach).
pub async fn discovery_stub(extra: Vec<SocketAddr>) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use xacct_dax_protocol::codec::{
        decode_preamble, encode_endpoints_response, request_frame_len, Endpoint, Method,
        ROLE_LEADER, ROLE_REPLICA,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let me = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let extra = extra.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut preambled = false;
                loop {
                    if !preambled {
                        if let Ok(Some((_, n))) = decode_preamble(&buf) {
                            buf.drain(..n);
                            preambled = true;
                        }
                    }
                    if preambled {
                        while let Ok(Some((method, n))) = request_frame_len(&buf) {
                            buf.drain(..n);
                            if method == Method::Endpoints {
                                let mut nodes = vec![Endpoint {
                                    node_id: 0,
                                    hostname: Some("127.0.0.1".into()),
                                    address: me.ip(),
                                    port: me.port(),
                                    role: ROLE_LEADER,
                                    availability_zone: Some("us-east-1a".into()),
                                    leader_session_id: Some(1),
                                }];
                                for (i, a) in extra.iter().enumerate() {
                                    nodes.push(Endpoint {
                                        node_id: i as i64 + 1,
                                        hostname: Some(a.ip().to_string()),
                                        address: a.ip(),
                                        port: a.port(),
                                        role: ROLE_REPLICA,
                                        availability_zone: Some("us-east-1b".into()),
                                        leader_session_id: Some(1),
                                    });
                                }
                                let mut out = Vec::new();
                                encode_endpoints_response(&nodes, &mut out);
                                if s.write_all(&out).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    me
}

/// A fake STS for what the local stack cannot do: GetCallerIdentity answers as B's user `app`,
/// AssumeRole answers `RegionDisabledException` (STS not activated in the region for account A).
pub async fn fake_sts_region_disabled() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let me = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break text[end + 4..].to_owned();
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let (status, xml) = if body.contains("Action=GetCallerIdentity") {
                    (
                        "200 OK",
                        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <GetCallerIdentityResult><Arn>arn:aws:iam::222222222222:user/app</Arn>\
                         <UserId>AIDAXACCTDOCTORFAKE</UserId><Account>222222222222</Account>\
                         </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>\
                         </ResponseMetadata></GetCallerIdentityResponse>",
                    )
                } else {
                    (
                        "403 Forbidden",
                        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                         <Type>Sender</Type><Code>RegionDisabledException</Code><Message>STS is not \
                         activated in this region for account:111111111111. Your account \
                         administrator can activate STS in this region using the IAM Console.\
                         </Message></Error><RequestId>2</RequestId></ErrorResponse>",
                    )
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{xml}",
                    xml.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    me
}
