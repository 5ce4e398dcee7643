//! The local stack's session keys as a [`KeyStore`] for the local DAX server: each key's secret
//! and expiry come from the stack's control endpoint (`GET {control}/session?access_key_id=`),
//! read again on every lookup, so `POST {control}/expire-key` takes effect at once.
//!
//! Test support, not library code: the stack's control endpoints are this repository's own.
//! Self-contained (std, serde_json and the SDK's date parser) so that `examples/` can include it
//! with `#[path]`.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use cross_account_dynamodb::dax::gateway::{KeyLookup, KeySecret, KeyStore};

/// The stack's session keys, looked up at its control URL (`XACCT_STACK_CONTROL_URL`, ending
/// in `/_stack`, or the stack's base URL).
#[derive(Debug, Clone)]
pub struct StackKeys {
    control: String,
}

impl StackKeys {
    pub fn new(control_url: impl Into<String>) -> Self {
        StackKeys {
            control: control_url.into(),
        }
    }
}

impl KeyStore for StackKeys {
    fn lookup<'a>(&'a self, access_key_id: &'a str) -> KeyLookup<'a> {
        let url = session_url(&self.control, access_key_id);
        Box::pin(async move {
            let (status, body) = tokio::task::spawn_blocking(move || get(&url)).await??;
            if status == 404 {
                return Ok(None);
            }
            if !(200..300).contains(&status) {
                return Err(format!("the session lookup answered HTTP {status}").into());
            }
            parse_session(&body)
                .map(Some)
                .ok_or_else(|| "the session reply has no secret".into())
        })
    }
}

/// `{control}/session?access_key_id=KEY`, with `/_stack` added to a bare base URL.
fn session_url(control: &str, key: &str) -> String {
    let base = control.trim_end_matches('/');
    let base = if base.ends_with("/_stack") {
        base.to_owned()
    } else {
        format!("{base}/_stack")
    };
    let key: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{base}/session?access_key_id={key}")
}

fn parse_session(body: &str) -> Option<KeySecret> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let secret = KeySecret::new(v.get("secret_access_key")?.as_str()?);
    let expires = v
        .get("expiration")
        .and_then(|e| e.as_str())
        .and_then(|e| DateTime::from_str(e, Format::DateTime).ok())
        .and_then(|d| SystemTime::try_from(d).ok());
    Some(match expires {
        Some(at) => secret.expires_at(at),
        None => secret,
    })
}

/// One HTTP/1.0 GET to a loopback control endpoint: status and body.
fn get(url: &str) -> std::io::Result<(u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("not an http:// URL: {url}")))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("malformed HTTP response"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("malformed status line: {head}")))?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_urls_and_replies() {
        assert_eq!(
            session_url("http://h:1/_stack/", "A+B"),
            "http://h:1/_stack/session?access_key_id=A%2BB"
        );
        assert_eq!(
            session_url("http://h:1", "A"),
            "http://h:1/_stack/session?access_key_id=A"
        );
        let k = parse_session(r#"{"secret_access_key":"s","expiration":"2026-01-01T00:00:00Z"}"#)
            .unwrap();
        assert!(format!("{k:?}").contains("expires: Some"));
        assert!(parse_session(r#"{"nothing":1}"#).is_none());
    }
}
