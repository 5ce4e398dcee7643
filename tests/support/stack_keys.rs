//! The local stack's session keys as a [`KeyStore`] for the local DAX server: each key's secret
//! and expiry come from the stack's control endpoint (`GET {control}/session?access_key_id=`),
//! read again on every lookup, so `POST {control}/expire-key` takes effect at once.
//!
//! Test support, not library code: the stack's control endpoints are this repository's own.
//! It needs only its sibling `http` module, so `examples/` can include both with `#[path]`.
#![allow(dead_code, unreachable_pub)]

use std::time::SystemTime;

use aws_smithy_types::date_time::{DateTime, Format};
use cross_account_dynamodb::dax::gateway::{KeyLookup, KeySecret, KeyStore};

use super::http;

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
            let reply = tokio::task::spawn_blocking(move || http::get(&url)).await??;
            if reply.status == 404 {
                return Ok(None);
            }
            if !(200..300).contains(&reply.status) {
                let status = reply.status;
                return Err(format!("the session lookup answered HTTP {status}").into());
            }
            parse_session(&reply.body)
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
    format!("{base}/session?access_key_id={}", http::encode(key))
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
