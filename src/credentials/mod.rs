//! Self-refreshing assumed-role credentials: [`AssumedRoleCredentials`].
//!
//! One module per concern: `policy` (when to refresh), `sts` (one AssumeRole call and its error
//! classification), `refresh` (cache, single flight, background task), `provider` (the handle),
//! `builder` (options), `options` (the per-role AssumeRole options), `profile` (the builder
//! `from_profile` returns), `validate` (input checks), `status` (what the provider reports).

mod builder;
mod options;
mod policy;
mod profile;
mod provider;
mod refresh;
mod status;
mod sts;
mod validate;

pub use builder::AssumedRoleCredentialsBuilder;
pub(crate) use builder::{
    no_region, no_sleep, no_source, services_config, sts_client, StsClientSettings,
};
pub(crate) use options::{role_option_setters, RoleOptions, SharedOptions};
pub use policy::RefreshPolicy;
pub(crate) use policy::{add_sat, MAX_SLEEP};
pub use profile::ProfileCredentialsBuilder;
pub use provider::AssumedRoleCredentials;
pub(crate) use refresh::{CachedCredentials, Driver, RefreshEnv, Refresher};
pub use status::{CredentialsStatus, RefreshEvent, Rotation};
pub(crate) use sts::{StsCaller, StsErrorSummary};
