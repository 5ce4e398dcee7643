//! Loopback fakes of the ECS container-credentials endpoint and the EC2 instance metadata
//! service (IMDSv2), serving the session credentials they are given and recording every path
//! requested. Bound to 127.0.0.1; the server task stops when the value drops.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Credentials a fake hands out.
#[derive(Debug, Clone)]
pub struct Served {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// RFC 3339.
    pub expiration: String,
}

#[derive(Debug)]
pub struct FakeMetadata {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

pub const ECS_PATH: &str = "/v2/credentials/task-role-b";
pub const IMDS_ROLE: &str = "instance-role-b";

impl FakeMetadata {
    pub async fn start(served: Served) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, served) = (log.clone(), served.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let mut first = head.lines().next().unwrap_or("").split_whitespace();
                    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
                    log.lock().unwrap().push(format!("{method} {path}"));
                    let (status, body) = answer(method, path, &served);
                    // IMDSv2 token responses carry their TTL.
                    let ttl = if path == "/latest/api/token" {
                        "x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
                    } else {
                        ""
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\
                         {ttl}Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(resp.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeMetadata { addr, hits, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for FakeMetadata {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn creds_json(s: &Served, imds: bool) -> String {
    let imds_fields = if imds {
        r#""Code":"Success","Type":"AWS-HMAC","LastUpdated":"2026-11-21T00:00:00Z","#
    } else {
        ""
    };
    format!(
        r#"{{{imds_fields}"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}}"#,
        s.access_key_id, s.secret_access_key, s.session_token, s.expiration
    )
}

fn answer(method: &str, path: &str, s: &Served) -> (&'static str, String) {
    match (method, path) {
        ("PUT", "/latest/api/token") => ("200 OK", "fake-imds-session-token".into()),
        ("GET", "/latest/meta-data/iam/security-credentials/")
        | ("GET", "/latest/meta-data/iam/security-credentials") => ("200 OK", IMDS_ROLE.into()),
        ("GET", p) if p == format!("/latest/meta-data/iam/security-credentials/{IMDS_ROLE}") => {
            ("200 OK", creds_json(s, true))
        }
        ("GET", p) if p == ECS_PATH => ("200 OK", creds_json(s, false)),
        _ => ("404 Not Found", String::new()),
    }
}
