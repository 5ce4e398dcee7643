//! The per-role AssumeRole options, shared by [`AssumedRoleCredentialsBuilder`],
//! [`ProfileCredentialsBuilder`] and a pool's [`RoleSpec`] (one definition, one redacting
//! `Debug`, one set of setters).
//!
//! [`AssumedRoleCredentialsBuilder`]: crate::AssumedRoleCredentialsBuilder
//! [`ProfileCredentialsBuilder`]: crate::ProfileCredentialsBuilder
//! [`RoleSpec`]: crate::RoleSpec

use std::fmt;
use std::time::Duration;

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
            .finish()
    }
}

/// The option setters, generated for a type whose `RoleOptions` lives at `self.$($field).+`.
macro_rules! role_option_setters {
    ($($field:tt).+) => {
        /// The role session name (2–64 of letters, digits and `_+=,.@-`); it shows in account
        /// A's CloudTrail. Default: `cross-account-dynamodb-<unix millis>`.
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

        /// The source identity recorded for the session (2–64 of letters, digits and `_+=,.@-`).
        pub fn source_identity(mut self, identity: impl Into<String>) -> Self {
            self.$($field).+.source_identity = Some(identity.into());
            self
        }
    };
}

pub(crate) use role_option_setters;
