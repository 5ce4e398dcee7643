//! When a connection (re)authorizes (docs/dax-protocol.md §2.3, §2.5).
//!
//! Each connection remembers what it authorized with ([`AuthStamp`]: access key id, the
//! provider generation, the time). Before every use [`AuthPolicy::needs_auth`] decides:
//!
//! * never authorized, or marked after an auth error reply: authorize;
//! * **push** (our provider, [`AuthPolicy::push`] on): the rotation signal's generation (from
//!   `DaxTransportBuilder::rotations`) moved past the connection's: authorize with the new key. Every
//!   pooled connection, idle ones included, is checked this way before it is used again;
//! * a provider that is not ours has no rotation signal: its access key id is compared
//!   before each request instead (the Go client's rule);
//! * the periodic backstop (150 s by default, as the Python and Node clients do) always
//!   applies, also with push off.
//!
//! The auth frame is written in front of the request (it has no reply), signed with one
//! credentials snapshot (key id, secret and token together).

use std::time::{Duration, SystemTime};

/// What a connection last authorized with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthStamp {
    pub(crate) access_key_id: String,
    pub(crate) generation: u64,
    pub(crate) at: SystemTime,
}

/// Where the credentials come from, as far as re-authorization is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    /// A rotation signal comes with the provider: rotations are pushed (generation numbers).
    Signalled,
    /// No rotation signal (for example `DaxOptions::credentials_provider`): compare access
    /// key ids before each request.
    KeyIdCompared,
}

/// The re-authorization rules of one transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthPolicy {
    pub(crate) source: CredentialSource,
    /// React to rotations before the next use (on by default).
    pub(crate) push: bool,
    /// Re-authorize a connection this long after its last authorization, whatever happened.
    pub(crate) period: Duration,
}

/// The provider's state at the moment of the check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Current<'a> {
    pub(crate) generation: u64,
    pub(crate) access_key_id: &'a str,
    pub(crate) now: SystemTime,
}

/// Why a connection (re)authorizes: the `reason` of the authorization metric and span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthReason {
    /// Its first authorization.
    New,
    /// A node answered with an auth error.
    Rejected,
    /// The periodic backstop.
    Periodic,
    /// The provider rotated (pushed generation).
    Rotation,
    /// The access key id changed (a provider without a rotation signal).
    KeyChanged,
}

impl AuthReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthReason::New => "new",
            AuthReason::Rejected => "rejected",
            AuthReason::Periodic => "periodic",
            AuthReason::Rotation => "rotation",
            AuthReason::KeyChanged => "key_changed",
        }
    }
}

impl AuthPolicy {
    /// Whether a connection with this stamp (and `marked` after an auth error) must send an
    /// auth frame before its next request.
    #[cfg(test)]
    pub(crate) fn needs_auth(
        &self,
        stamp: Option<&AuthStamp>,
        marked: bool,
        cur: Current<'_>,
    ) -> bool {
        self.auth_reason(stamp, marked, cur).is_some()
    }

    /// Why a connection with this stamp (and `marked` after an auth error) must send an auth
    /// frame before its next request (`None`: it need not).
    pub(crate) fn auth_reason(
        &self,
        stamp: Option<&AuthStamp>,
        marked: bool,
        cur: Current<'_>,
    ) -> Option<AuthReason> {
        let Some(stamp) = stamp else {
            return Some(AuthReason::New);
        };
        if marked {
            return Some(AuthReason::Rejected);
        }
        let age = cur.now.duration_since(stamp.at).unwrap_or(Duration::ZERO);
        if age >= self.period {
            return Some(AuthReason::Periodic);
        }
        if !self.push {
            return None;
        }
        match self.source {
            CredentialSource::Signalled => {
                (cur.generation > stamp.generation).then_some(AuthReason::Rotation)
            }
            CredentialSource::KeyIdCompared => {
                (cur.access_key_id != stamp.access_key_id).then_some(AuthReason::KeyChanged)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn stamp(key: &str, generation: u64, at: u64) -> AuthStamp {
        AuthStamp {
            access_key_id: key.into(),
            generation,
            at: t(at),
        }
    }

    fn cur(generation: u64, key: &str, now: u64) -> Current<'_> {
        Current {
            generation,
            access_key_id: key,
            now: t(now),
        }
    }

    const OURS: AuthPolicy = AuthPolicy {
        source: CredentialSource::Signalled,
        push: true,
        period: Duration::from_secs(150),
    };

    #[test]
    fn first_use_and_marked_connections_authorize() {
        assert!(OURS.needs_auth(None, false, cur(1, "A", 0)));
        let s = stamp("A", 1, 0);
        assert!(!OURS.needs_auth(Some(&s), false, cur(1, "A", 10)));
        assert!(OURS.needs_auth(Some(&s), true, cur(1, "A", 10)));
    }

    #[test]
    fn a_rotation_is_pushed_to_every_connection_before_its_next_use() {
        let idle_for_long = stamp("A", 1, 0);
        let fresh = stamp("A", 1, 99);
        // Generation 2 arrived at t=100: both re-authorize, however recently they did.
        assert!(OURS.needs_auth(Some(&idle_for_long), false, cur(2, "B", 100)));
        assert!(OURS.needs_auth(Some(&fresh), false, cur(2, "B", 100)));
        // Re-authorized with generation 2: nothing to do until the next rotation.
        assert!(!OURS.needs_auth(Some(&stamp("B", 2, 100)), false, cur(2, "B", 101)));
    }

    #[test]
    fn push_off_leaves_only_the_periodic_backstop_and_errors() {
        let off = AuthPolicy {
            push: false,
            ..OURS
        };
        let s = stamp("A", 1, 0);
        assert!(!off.needs_auth(Some(&s), false, cur(5, "E", 149)));
        assert!(off.needs_auth(Some(&s), false, cur(5, "E", 150)));
        assert!(off.needs_auth(Some(&s), true, cur(5, "E", 1)));
    }

    #[test]
    fn periodic_backstop_applies_with_push_on() {
        let s = stamp("A", 1, 0);
        assert!(!OURS.needs_auth(Some(&s), false, cur(1, "A", 149)));
        assert!(OURS.needs_auth(Some(&s), false, cur(1, "A", 150)));
        let short = AuthPolicy {
            period: Duration::from_secs(5),
            ..OURS
        };
        assert!(short.needs_auth(Some(&s), false, cur(1, "A", 5)));
    }

    #[test]
    fn foreign_providers_are_compared_by_access_key_id() {
        let foreign = AuthPolicy {
            source: CredentialSource::KeyIdCompared,
            ..OURS
        };
        let s = stamp("A", 0, 0);
        assert!(!foreign.needs_auth(Some(&s), false, cur(0, "A", 10)));
        assert!(foreign.needs_auth(Some(&s), false, cur(0, "B", 10)));
        // Generations mean nothing for a foreign provider.
        assert!(!foreign.needs_auth(Some(&s), false, cur(7, "A", 10)));
    }

    #[test]
    fn a_clock_going_backwards_does_not_force_or_skip_auth() {
        let s = stamp("A", 1, 100);
        assert!(!OURS.needs_auth(Some(&s), false, cur(1, "A", 50)));
    }
}
