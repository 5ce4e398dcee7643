//! `authorizeConnection` checks: who may use the gateway, and until when.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_types::date_time::{DateTime, Format};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::log::RejectReason;
use crate::dax::codec::{verify_authorization, AuthRequest};

/// The largest distance between the signing date and the gateway's clock (as SigV4).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// How long a key lookup at the local stack may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Who may use the gateway.
///
/// * `AcceptAll`: every `authorizeConnection` is accepted without checks, and connections that
///   never authorize are served too (handy for tools that do not sign). Only the
///   [`reject auth` fault switch](super::Faults::reject_auth_always) refuses anything.
/// * `StaticSecrets(map)`: access key id → secret access key; the SigV4 signature must verify,
///   be scoped to the backend's region, and its date be within 15 minutes of the gateway's
///   clock. Requests on a connection without an accepted authorization get
///   `AuthenticationRequiredException` (`[4,23,31,33]`, "Connection requires authentication").
/// * `LocalStack(control_url)`: as `StaticSecrets`, but each key's secret and expiry come from
///   the local stack's control endpoint (`GET {control_url}/session?access_key_id=`; the URL
///   is `XACCT_STACK_CONTROL_URL`, `…/_stack`, or the stack's base URL). The expiry is read
///   again on every request, so `POST /_stack/expire-key` takes effect at once: once a key is
///   past its expiry, every request on a connection authorized with it is rejected, and so is
///   any later `authorizeConnection` with that key id.
///
/// `Debug` never prints secrets.
///
/// ```
/// use std::collections::HashMap;
/// use cross_account_dynamodb::AuthVerifier;
///
/// let v = AuthVerifier::StaticSecrets(HashMap::from([("AKID".to_owned(), "s3cret".to_owned())]));
/// assert!(!format!("{v:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AuthVerifier {
    /// Accept everything.
    #[default]
    AcceptAll,
    /// Access key id → secret access key.
    StaticSecrets(HashMap<String, String>),
    /// The local stack's control URL.
    LocalStack(String),
}

impl std::fmt::Debug for AuthVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthVerifier::AcceptAll => f.write_str("AcceptAll"),
            AuthVerifier::StaticSecrets(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                f.debug_tuple("StaticSecrets").field(&keys).finish()
            }
            AuthVerifier::LocalStack(url) => f.debug_tuple("LocalStack").field(url).finish(),
        }
    }
}

/// What a connection's authorization is worth.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnAuth {
    /// The accepted key id (None: never authorized, or the last authorization was refused).
    pub(crate) key: Option<String>,
    /// Why the last `authorizeConnection` was refused (it stays refused until one succeeds).
    pub(crate) refused: Option<RejectReason>,
}

impl ConnAuth {
    /// Records the verdict of an `authorizeConnection` with `key`.
    pub(crate) fn set(&mut self, key: &str, verdict: &Result<(), RejectReason>) {
        match verdict {
            Ok(()) => {
                self.key = Some(key.to_owned());
                self.refused = None;
            }
            Err(why) => {
                self.key = None;
                self.refused = Some(why.clone());
            }
        }
    }
}

/// A key as a verifier knows it.
struct KeyInfo {
    secret: String,
    expires: Option<SystemTime>,
}

/// The verifier plus its shared state (keys seen expired).
pub(crate) struct Auth {
    verifier: AuthVerifier,
    expired: Mutex<HashSet<String>>,
    http: Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    sleep: SharedAsyncSleep,
    /// The region signatures must be scoped to (the backend's).
    region: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub(crate) fn new(
        verifier: AuthVerifier,
        sleep: SharedAsyncSleep,
        region: impl Into<String>,
    ) -> Arc<Self> {
        Arc::new(Auth {
            verifier,
            expired: Mutex::default(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            sleep,
            region: region.into(),
        })
    }

    fn is_expired(&self, key: &str) -> bool {
        self.expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    fn mark_expired(&self, key: &str) {
        self.expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned());
    }

    /// Checks an `authorizeConnection` at time `now`.
    pub(crate) async fn authorize(
        &self,
        req: &AuthRequest,
        now: SystemTime,
    ) -> Result<(), RejectReason> {
        if matches!(self.verifier, AuthVerifier::AcceptAll) {
            return Ok(());
        }
        if self.is_expired(&req.access_key_id) {
            return Err(RejectReason::KeyExpired);
        }
        let info = self.lookup(&req.access_key_id).await?;
        if !verify_authorization(req, &info.secret) {
            return Err(RejectReason::BadSignature);
        }
        if signing_region(&req.string_to_sign) != Some(self.region.as_str()) {
            return Err(RejectReason::WrongRegion);
        }
        let signed_at = signing_time(&req.string_to_sign).ok_or(RejectReason::BadSignature)?;
        let skew = now
            .duration_since(signed_at)
            .or_else(|e| Ok::<_, ()>(e.duration()))
            .unwrap_or_default();
        if skew > MAX_SKEW {
            return Err(RejectReason::SigningDateSkewed);
        }
        if info.expires.is_some_and(|e| e <= now) {
            self.mark_expired(&req.access_key_id);
            return Err(RejectReason::KeyExpired);
        }
        Ok(())
    }

    /// Checks that a request may run on a connection with this authorization.
    pub(crate) async fn check(&self, conn: &ConnAuth, now: SystemTime) -> Result<(), RejectReason> {
        if let Some(why) = &conn.refused {
            return Err(why.clone());
        }
        if matches!(self.verifier, AuthVerifier::AcceptAll) {
            return Ok(());
        }
        let Some(key) = &conn.key else {
            return Err(RejectReason::NotAuthorized);
        };
        if self.is_expired(key) {
            return Err(RejectReason::KeyExpired);
        }
        if let AuthVerifier::LocalStack(_) = self.verifier {
            let info = self.lookup(key).await?;
            if info.expires.is_some_and(|e| e <= now) {
                self.mark_expired(key);
                return Err(RejectReason::KeyExpired);
            }
        }
        Ok(())
    }

    async fn lookup(&self, key: &str) -> Result<KeyInfo, RejectReason> {
        match &self.verifier {
            AuthVerifier::AcceptAll => Err(RejectReason::UnknownKey),
            AuthVerifier::StaticSecrets(m) => m
                .get(key)
                .map(|s| KeyInfo {
                    secret: s.clone(),
                    expires: None,
                })
                .ok_or(RejectReason::UnknownKey),
            AuthVerifier::LocalStack(url) => {
                let lookup = self.lookup_stack(url, key);
                let timeout = self.sleep.sleep(LOOKUP_TIMEOUT);
                tokio::select! {
                    r = lookup => r,
                    _ = timeout => Err(RejectReason::LookupFailed(format!(
                        "the local stack did not answer within {LOOKUP_TIMEOUT:?}"
                    ))),
                }
            }
        }
    }

    async fn lookup_stack(&self, control: &str, key: &str) -> Result<KeyInfo, RejectReason> {
        let failed = |what: String| RejectReason::LookupFailed(what);
        let uri = session_uri(control, key)
            .parse::<hyper::Uri>()
            .map_err(|e| failed(format!("bad control URL {control:?}: {e}")))?;
        let resp = self
            .http
            .get(uri)
            .await
            .map_err(|e| failed(format!("GET session: {e}")))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(format!("reading the session reply: {e}")))?
            .to_bytes();
        if status == hyper::StatusCode::NOT_FOUND {
            return Err(RejectReason::UnknownKey);
        }
        if !status.is_success() {
            return Err(failed(format!("the session lookup answered HTTP {status}")));
        }
        parse_session(&body).ok_or_else(|| failed("the session reply has no secret".to_owned()))
    }
}

/// `{control}/session?access_key_id=KEY`, with `/_stack` added to a bare base URL.
fn session_uri(control: &str, key: &str) -> String {
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

fn parse_session(body: &[u8]) -> Option<KeyInfo> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let secret = v.get("secret_access_key")?.as_str()?.to_owned();
    let expires = v
        .get("expiration")
        .and_then(|e| e.as_str())
        .and_then(|e| DateTime::from_str(e, Format::DateTime).ok())
        .and_then(|d| SystemTime::try_from(d).ok());
    Some(KeyInfo { secret, expires })
}

/// The region of a SigV4 string-to-sign's scope (its third line, `DAY/REGION/dax/aws4_request`).
fn signing_region(string_to_sign: &str) -> Option<&str> {
    string_to_sign.split('\n').nth(2)?.split('/').nth(1)
}

/// The signing time of a SigV4 string-to-sign (its second line, `YYYYMMDDTHHMMSSZ`).
fn signing_time(string_to_sign: &str) -> Option<SystemTime> {
    let t = string_to_sign.split('\n').nth(1)?;
    if t.len() != 16 || !t.is_ascii() {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    );
    SystemTime::try_from(DateTime::from_str(&iso, Format::DateTime).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dax::codec::{sign_authorization, SigningInputs, DAX_HOST};
    use std::time::UNIX_EPOCH;

    fn signed(key: &str, secret: &str, at: SystemTime) -> AuthRequest {
        sign_authorization(
            &SigningInputs {
                access_key_id: key,
                secret_access_key: secret,
                session_token: None,
                region: "us-east-1",
                time: at,
                host: DAX_HOST,
            },
            None,
        )
    }

    fn auth(v: AuthVerifier) -> Arc<Auth> {
        Auth::new(
            v,
            aws_smithy_async::rt::sleep::default_async_sleep().unwrap(),
            "us-east-1",
        )
    }

    #[tokio::test]
    async fn static_secrets_check_signature_date_and_authorization() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = auth(AuthVerifier::StaticSecrets(HashMap::from([(
            "AK".to_owned(),
            "SK".to_owned(),
        )])));
        assert_eq!(a.authorize(&signed("AK", "SK", t), t).await, Ok(()));
        assert_eq!(
            a.authorize(&signed("AK", "wrong", t), t).await,
            Err(RejectReason::BadSignature)
        );
        assert_eq!(
            a.authorize(&signed("OTHER", "SK", t), t).await,
            Err(RejectReason::UnknownKey)
        );
        let other_region = sign_authorization(
            &SigningInputs {
                access_key_id: "AK",
                secret_access_key: "SK",
                session_token: None,
                region: "eu-west-1",
                time: t,
                host: DAX_HOST,
            },
            None,
        );
        assert_eq!(
            a.authorize(&other_region, t).await,
            Err(RejectReason::WrongRegion)
        );
        assert_eq!(
            a.authorize(&signed("AK", "SK", t), t + Duration::from_secs(16 * 60))
                .await,
            Err(RejectReason::SigningDateSkewed)
        );
        assert_eq!(
            a.check(&ConnAuth::default(), t).await,
            Err(RejectReason::NotAuthorized)
        );
        let mut ok = ConnAuth::default();
        ok.set("AK", &Ok(()));
        assert_eq!(a.check(&ok, t).await, Ok(()));
        let all = auth(AuthVerifier::AcceptAll);
        assert_eq!(all.check(&ConnAuth::default(), t).await, Ok(()));
        let mut refused = ConnAuth::default();
        refused.set("AK", &Err(RejectReason::FaultInjected));
        assert_eq!(
            all.check(&refused, t).await,
            Err(RejectReason::FaultInjected),
            "a refused authorization fails requests even with AcceptAll"
        );
    }

    #[test]
    fn signing_time_and_session_parsing() {
        assert_eq!(
            signing_time("AWS4-HMAC-SHA256\n20261121T071145Z\nscope\nhash"),
            SystemTime::try_from(
                DateTime::from_str("2026-11-21T07:11:45Z", Format::DateTime).unwrap()
            )
            .ok()
        );
        assert_eq!(signing_time("AWS4-HMAC-SHA256\nbad"), None);
        let info =
            parse_session(br#"{"secret_access_key":"s","expiration":"2026-01-01T00:00:00Z"}"#)
                .unwrap();
        assert_eq!(info.secret, "s");
        assert!(info.expires.is_some());
        assert!(parse_session(br#"{"secret_access_key":"s"}"#)
            .unwrap()
            .expires
            .is_none());
        assert_eq!(
            session_uri("http://h:1/_stack/", "A+B"),
            "http://h:1/_stack/session?access_key_id=A%2BB"
        );
        assert_eq!(
            session_uri("http://h:1", "A"),
            "http://h:1/_stack/session?access_key_id=A"
        );
    }
}
