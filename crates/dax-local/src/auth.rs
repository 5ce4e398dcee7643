//! `authorizeConnection` checks: who may use the server, and until when.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_types::date_time::{DateTime, Format};

use super::log::RejectReason;
use xacct_dax_protocol::codec::{verify_authorization, AuthRequest};

/// The largest distance between the signing date and the server's clock (as SigV4).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// How long one [`KeyStore::lookup`] may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The boxed error a [`KeyStore`] lookup fails with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What [`KeyStore::lookup`] returns: the key's secret and expiry, `None` for an unknown key.
pub type KeyLookup<'a> =
    Pin<Box<dyn Future<Output = Result<Option<KeySecret>, BoxError>> + Send + 'a>>;

/// The secret of an access key, and until when the key is valid. `Debug` never prints the
/// secret.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use xacct_dax_local::KeySecret;
///
/// let k = KeySecret::new("s3cret").expires_at(UNIX_EPOCH + Duration::from_secs(1_900_000_000));
/// assert!(!format!("{k:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct KeySecret {
    secret: String,
    expires: Option<SystemTime>,
}

impl KeySecret {
    /// A key that does not expire.
    ///
    /// ```
    /// let k = xacct_dax_local::KeySecret::new("s3cret");
    /// ```
    pub fn new(secret_access_key: impl Into<String>) -> Self {
        KeySecret {
            secret: secret_access_key.into(),
            expires: None,
        }
    }

    /// The key stops working at `at`: connections authorized with it are refused from then on.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// let k = xacct_dax_local::KeySecret::new("s3cret").expires_at(SystemTime::UNIX_EPOCH);
    /// ```
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySecret")
            .field("secret", &"** redacted **")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Where the server finds the secret of an access key, and its expiry: the way to plug an
/// identity source (a test stack, a file that changes, a vault) into
/// [`AuthVerifier::KeyStore`].
///
/// `lookup` is called for every `authorizeConnection`, and again before every request on a
/// connection (so that an expired or revoked key stops working at once): cache inside the
/// store if lookups are slow. A lookup that takes more than 5 s, or fails, refuses the
/// connection ([`RejectReason::LookupFailed`](crate::RejectReason::LookupFailed)).
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use xacct_dax_local::{AuthVerifier, KeyLookup, KeySecret, KeyStore};
///
/// #[derive(Debug)]
/// struct Vault(HashMap<String, String>);
///
/// impl KeyStore for Vault {
///     fn lookup<'a>(&'a self, access_key_id: &'a str) -> KeyLookup<'a> {
///         let found = self.0.get(access_key_id).map(KeySecret::new);
///         Box::pin(async move { Ok(found) })
///     }
/// }
///
/// let verifier = AuthVerifier::KeyStore(Arc::new(Vault(HashMap::new())));
/// ```
pub trait KeyStore: fmt::Debug + Send + Sync + 'static {
    /// The secret and expiry of `access_key_id`; `Ok(None)` when the key is unknown.
    fn lookup<'a>(&'a self, access_key_id: &'a str) -> KeyLookup<'a>;
}

/// Who may use the server.
///
/// * `AcceptAll`: every `authorizeConnection` is accepted without checks, and connections that
///   never authorize are served too (handy for tools that do not sign). Only the
///   `reject auth` fault switch (feature `faults`) refuses anything.
/// * `StaticSecrets(map)`: access key id → secret access key; the SigV4 signature must verify,
///   be scoped to the backend's region, and its date be within 15 minutes of the server's
///   clock. Requests on a connection without an accepted authorization get
///   `AuthenticationRequiredException` (`[4,23,31,33]`, "Connection requires authentication").
/// * `KeyStore(store)`: as `StaticSecrets`, but each key's secret and expiry come from a
///   [`KeyStore`], asked again before every request: once a key is past its expiry, every
///   request on a connection authorized with it is rejected, and so is any later
///   `authorizeConnection` with that key id.
///
/// `Debug` never prints secrets.
///
/// ```
/// use std::collections::HashMap;
/// use xacct_dax_local::AuthVerifier;
///
/// let v = AuthVerifier::StaticSecrets(HashMap::from([("AKID".to_owned(), "s3cret".to_owned())]));
/// assert!(!format!("{v:?}").contains("s3cret"));
/// assert!(v.authenticates());
/// assert!(!AuthVerifier::AcceptAll.authenticates());
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AuthVerifier {
    /// Accept everything.
    #[default]
    AcceptAll,
    /// Access key id → secret access key.
    StaticSecrets(HashMap<String, String>),
    /// Secrets and expiries from a [`KeyStore`].
    KeyStore(Arc<dyn KeyStore>),
}

impl AuthVerifier {
    /// Whether connections must prove a key (everything but `AcceptAll`).
    ///
    /// ```
    /// assert!(!xacct_dax_local::AuthVerifier::default().authenticates());
    /// ```
    pub fn authenticates(&self) -> bool {
        !matches!(self, AuthVerifier::AcceptAll)
    }
}

impl fmt::Debug for AuthVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthVerifier::AcceptAll => f.write_str("AcceptAll"),
            AuthVerifier::StaticSecrets(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                f.debug_tuple("StaticSecrets").field(&keys).finish()
            }
            AuthVerifier::KeyStore(store) => f.debug_tuple("KeyStore").field(store).finish(),
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

/// The verifier plus its shared state (keys seen expired).
pub(crate) struct Auth {
    verifier: AuthVerifier,
    expired: Mutex<HashSet<String>>,
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
        if let AuthVerifier::KeyStore(_) = self.verifier {
            let info = self.lookup(key).await?;
            if info.expires.is_some_and(|e| e <= now) {
                self.mark_expired(key);
                return Err(RejectReason::KeyExpired);
            }
        }
        Ok(())
    }

    async fn lookup(&self, key: &str) -> Result<KeySecret, RejectReason> {
        match &self.verifier {
            AuthVerifier::AcceptAll => Err(RejectReason::UnknownKey),
            AuthVerifier::StaticSecrets(m) => m
                .get(key)
                .map(KeySecret::new)
                .ok_or(RejectReason::UnknownKey),
            AuthVerifier::KeyStore(store) => {
                let lookup = store.lookup(key);
                let timeout = self.sleep.sleep(LOOKUP_TIMEOUT);
                tokio::select! {
                    r = lookup => match r {
                        Ok(Some(found)) => Ok(found),
                        Ok(None) => Err(RejectReason::UnknownKey),
                        Err(e) => Err(RejectReason::LookupFailed(e.to_string())),
                    },
                    _ = timeout => Err(RejectReason::LookupFailed(format!(
                        "the key store did not answer within {LOOKUP_TIMEOUT:?}"
                    ))),
                }
            }
        }
    }
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
    use std::time::UNIX_EPOCH;
    use xacct_dax_protocol::codec::{sign_authorization, SigningInputs, DAX_HOST};

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
    fn signing_time_parses_the_string_to_sign() {
        assert_eq!(
            signing_time("AWS4-HMAC-SHA256\n20261121T071145Z\nscope\nhash"),
            SystemTime::try_from(
                DateTime::from_str("2026-11-21T07:11:45Z", Format::DateTime).unwrap()
            )
            .ok()
        );
        assert_eq!(signing_time("AWS4-HMAC-SHA256\nbad"), None);
    }
}

#[cfg(test)]
mod key_store_tests {
    use super::*;
    use std::time::UNIX_EPOCH;
    use xacct_dax_protocol::codec::{sign_authorization, SigningInputs, DAX_HOST};

    #[derive(Debug)]
    struct Expiring(SystemTime);

    impl KeyStore for Expiring {
        fn lookup<'a>(&'a self, access_key_id: &'a str) -> KeyLookup<'a> {
            let found = (access_key_id == "AK").then(|| KeySecret::new("SK").expires_at(self.0));
            Box::pin(async move { Ok(found) })
        }
    }

    #[tokio::test]
    async fn a_key_store_key_stops_working_at_its_expiry() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = Auth::new(
            AuthVerifier::KeyStore(Arc::new(Expiring(t + Duration::from_secs(60)))),
            aws_smithy_async::rt::sleep::default_async_sleep().unwrap(),
            "us-east-1",
        );
        let req = sign_authorization(
            &SigningInputs {
                access_key_id: "AK",
                secret_access_key: "SK",
                session_token: None,
                region: "us-east-1",
                time: t,
                host: DAX_HOST,
            },
            None,
        );
        assert_eq!(a.authorize(&req, t).await, Ok(()));
        let mut conn = ConnAuth::default();
        conn.set("AK", &Ok(()));
        assert_eq!(a.check(&conn, t + Duration::from_secs(59)).await, Ok(()));
        assert_eq!(
            a.check(&conn, t + Duration::from_secs(60)).await,
            Err(RejectReason::KeyExpired)
        );
        assert_eq!(
            a.authorize(&req, t).await,
            Err(RejectReason::KeyExpired),
            "an expired key id stays refused"
        );
    }
}
