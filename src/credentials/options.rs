//! The per-role AssumeRole options, shared by [`AssumedRoleCredentialsBuilder`],
//! [`ProfileCredentialsBuilder`] and a pool's [`RoleSpec`] (one definition, one redacting
//! `Debug`, one set of setters).
//!
//! [`AssumedRoleCredentialsBuilder`]: crate::AssumedRoleCredentialsBuilder
//! [`ProfileCredentialsBuilder`]: crate::ProfileCredentialsBuilder
//! [`RoleSpec`]: crate::RoleSpec

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use aws_config::Region;

/// What one role is assumed with, before validation (the builder validates at build).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct RoleOptions {
    pub(crate) role_arn: String,
    pub(crate) session_name: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) duration: Option<Duration>,
    pub(crate) policy: Option<String>,
    pub(crate) policy_arns: Vec<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) transitive_tag_keys: Vec<String>,
    pub(crate) source_identity: Option<String>,
    /// The Region whose STS issues the credentials.
    pub(crate) region: Option<Region>,
}

/// [`RoleOptions`] behind an `Arc`, copied on write: a pool's key for a role and the role's
/// STS parameters share one copy (a role's memory is its credentials and a small record).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct SharedOptions(Arc<RoleOptions>);

impl SharedOptions {
    pub(crate) fn new(options: RoleOptions) -> Self {
        SharedOptions(Arc::new(options))
    }
}

impl Deref for SharedOptions {
    type Target = RoleOptions;

    fn deref(&self) -> &RoleOptions {
        &self.0
    }
}

impl DerefMut for SharedOptions {
    fn deref_mut(&mut self) -> &mut RoleOptions {
        Arc::make_mut(&mut self.0)
    }
}

impl fmt::Debug for SharedOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The session name used when none is given: `cross-account-dynamodb-` and 16 hex digits of a
/// hash of the role ARN. Stable for a role across builds, processes and hosts (so CloudTrail
/// groups a service's sessions), 39 characters, within STS's `[\w+=,.@-]{2,64}`.
pub(crate) fn default_session_name(role_arn: &str) -> String {
    // FNV-1a, 64 bits: fixed by its definition, unlike std's hasher, whose output may change
    // between Rust releases (the name must not).
    let hash = role_arn.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("cross-account-dynamodb-{hash:016x}")
}

impl fmt::Debug for RoleOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The external id and tag values are not printed; the policy is shown as present or not.
        f.debug_struct("RoleOptions")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "** redacted **"),
            )
            .field("duration", &self.duration)
            .field("policy", &self.policy.is_some())
            .field("policy_arns", &self.policy_arns)
            .field(
                "tags",
                &self.tags.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("transitive_tag_keys", &self.transitive_tag_keys)
            .field("source_identity", &self.source_identity)
            .field("region", &self.region)
            .finish()
    }
}

/// The option setters, generated for a type whose `RoleOptions` lives at `self.$($field).+`.
macro_rules! role_option_setters {
    ($($field:tt).+) => {
        /// The role session name (2–64 of letters, digits and `_+=,.@-`); it shows in account
        /// A's CloudTrail. Default: `cross-account-dynamodb-<16 hex digits>`, a hash of the role
        /// ARN, the same for a role on every build, process and host.
        pub fn session_name(mut self, name: impl Into<String>) -> Self {
            self.$($field).+.session_name = Some(name.into());
            self
        }

        /// The external id the role's trust policy requires (`sts:ExternalId`). Never logged.
        pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
            self.$($field).+.external_id = Some(external_id.into());
            self
        }

        /// The session duration, 900 s to 43200 s in whole seconds (anything else is an error at
        /// build). Default: STS's (one hour).
        /// When the source is another `AssumedRoleCredentials` (role chaining), more than one
        /// hour is clamped to 3600 s with a warning, since STS caps chained sessions there.
        pub fn duration(mut self, duration: std::time::Duration) -> Self {
            self.$($field).+.duration = Some(duration);
            self
        }

        /// An inline session policy (JSON) that narrows the role's permissions for this session.
        pub fn policy(mut self, policy_json: impl Into<String>) -> Self {
            self.$($field).+.policy = Some(policy_json.into());
            self
        }

        /// Managed session policies (ARNs), at most 10.
        pub fn policy_arns<I, S>(mut self, arns: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.$($field).+.policy_arns.extend(arns.into_iter().map(Into::into));
            self
        }

        /// Session tags (key, value), at most 50.
        pub fn tags<I, K, V>(mut self, tags: I) -> Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: Into<String>,
            V: Into<String>,
        {
            self.$($field).+
                .tags
                .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
            self
        }

        /// Session tag keys that carry over to later hops of a role chain.
        pub fn transitive_tag_keys<I, S>(mut self, keys: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.$($field).+
                .transitive_tag_keys
                .extend(keys.into_iter().map(Into::into));
            self
        }

        /// The Region whose STS issues the credentials, overriding the `SdkConfig`'s: its
        /// regional STS endpoint is called (regional endpoints issue tokens that are valid in
        /// every Region, opt-in ones included). Clients built from these credentials keep the
        /// `SdkConfig`'s Region. An explicit STS endpoint (`sts_endpoint_url`,
        /// `AWS_ENDPOINT_URL_STS`) still wins.
        ///
        /// Takes a name (`"eu-south-1"`, a `String`) or an `aws_config::Region`.
        pub fn region(mut self, region: impl AsRef<str>) -> Self {
            self.$($field).+.region = Some(aws_config::Region::new(region.as_ref().to_owned()));
            self
        }

        /// The source identity recorded for the session (2–64 of letters, digits and `_+=,.@-`).
        pub fn source_identity(mut self, identity: impl Into<String>) -> Self {
            self.$($field).+.source_identity = Some(identity.into());
            self
        }
    };
}

pub(crate) use role_option_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_session_name_is_stable_short_and_valid() {
        let a = default_session_name("arn:aws:iam::111111111111:role/Reader");
        assert_eq!(
            a,
            default_session_name("arn:aws:iam::111111111111:role/Reader")
        );
        assert_ne!(
            a,
            default_session_name("arn:aws:iam::222222222222:role/Reader")
        );
        // Fixed for good: a change would split every user's CloudTrail history.
        assert_eq!(
            default_session_name(""),
            "cross-account-dynamodb-cbf29ce484222325"
        );
        assert_eq!(a.len(), 39);
        crate::credentials::validate::session_name(&a).unwrap();
        let long = format!("arn:aws:iam::111111111111:role/{}", "x".repeat(64));
        assert_eq!(default_session_name(&long).len(), 39);
    }
}
