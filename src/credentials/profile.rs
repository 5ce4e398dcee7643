//! [`AssumedRoleCredentials::from_profile`]: the provider's builder filled from a profile with
//! `role_arn` (+ `external_id`, `role_session_name`, `duration_seconds`), whose `source_profile`
//! or `credential_source` becomes the source through aws-config's own providers.
//!
//! How the source is built: aws-config's default chain, loaded with an environment that holds
//! only the variables of the named source (`EcsContainer`: the `AWS_CONTAINER_*` variables;
//! `Ec2InstanceMetadata`: `AWS_EC2_METADATA_*`; `Environment`: the key variables;
//! `source_profile`: the profile files and `HOME`), so the chain can only resolve the source the
//! profile names, exactly as aws-config's profile provider would, but without also assuming the
//! final role (we do that, with refresh). `ConfigLoader::env`/`fs` are aws-config's only public
//! way to hand its providers an environment; they sit behind its `test-util` feature, which this
//! crate enables for that reason alone (it adds no behaviour, only these setters).

use std::borrow::Cow;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::EnvConfigFiles as ProfileFiles;
use aws_types::os_shim_internal::{Env, Fs};

use super::builder::AssumedRoleCredentialsBuilder;
use crate::Error;

/// What `from_profile` reads, and the injected environment and files (for tests).
#[derive(Debug, Clone)]
pub(crate) struct ProfileSource {
    pub(crate) name: String,
    pub(crate) files: Option<ProfileFiles>,
    pub(crate) env: Option<Env>,
    pub(crate) fs: Option<Fs>,
}

/// The role settings read from the profile.
pub(crate) struct FromProfile {
    pub(crate) role_arn: String,
    pub(crate) region: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) duration: Option<Duration>,
    pub(crate) source: SharedCredentialsProvider,
}

const ENV_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
];
const ECS_VARS: &[&str] = &[
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];
const IMDS_VARS: &[&str] = &[
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
];
const PROFILE_VARS: &[&str] = &[
    "HOME",
    "USERPROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

fn bad(problem: String) -> Error {
    Error::invalid_input("profile", problem)
}

/// An environment with only `keep` of `env`'s variables (plus `extra`).
fn only(env: &Env, keep: &[&str], extra: &[(&str, &str)]) -> Env {
    let vars: Vec<(String, String)> = keep
        .iter()
        .filter_map(|k| env.get(k).ok().map(|v| ((*k).to_owned(), v)))
        .chain(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect();
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Env::from_slice(&refs)
}

pub(crate) async fn resolve(
    src: &ProfileSource,
    sdk: Option<&SdkConfig>,
) -> Result<FromProfile, Error> {
    let env = src.env.clone().unwrap_or_else(Env::real);
    let fs = src.fs.clone().unwrap_or_else(Fs::real);
    let files = src.files.clone().unwrap_or_default();
    let name = &src.name;
    let set = aws_config::profile::load(&fs, &env, &files, Some(Cow::Owned(name.clone())))
        .await
        .map_err(|e| bad(format!("the profile files could not be read: {e}")))?;
    let profile = set
        .get_profile(name)
        .ok_or_else(|| bad(format!("no profile named {name:?} in the profile files")))?;
    let get = |key: &str| profile.get(key).map(str::to_owned);
    let role_arn = get("role_arn")
        .ok_or_else(|| bad(format!("profile {name:?} has no role_arn to assume")))?;
    let duration = get("duration_seconds")
        .map(|d| {
            d.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| {
                    bad(format!(
                        "profile {name:?} has duration_seconds {d:?}, not a number of seconds"
                    ))
                })
        })
        .transpose()?;

    // Only what the named source needs reaches aws-config's chain (and never real IMDS,
    // unless the source is the instance metadata service).
    let no_imds = [("AWS_EC2_METADATA_DISABLED", "true")];
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    let source_env = match (get("source_profile"), get("credential_source")) {
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "profile {name:?} sets both source_profile and credential_source; keep one"
            )))
        }
        (None, None) => {
            return Err(bad(format!(
                "profile {name:?} has a role_arn but neither source_profile nor credential_source"
            )))
        }
        (Some(source), None) if &source == name => {
            // A profile may name itself only to use its own static keys.
            let (Some(id), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key"))
            else {
                return Err(bad(format!(
                    "profile {name:?} is its own source_profile but has no static keys"
                )));
            };
            let static_keys =
                Credentials::new(id, secret, get("aws_session_token"), None, "profile");
            return Ok(FromProfile {
                role_arn,
                region: get("region"),
                external_id: get("external_id"),
                session_name: get("role_session_name"),
                duration,
                source: SharedCredentialsProvider::new(static_keys),
            });
        }
        (Some(source), None) => {
            loader = loader.profile_name(source).profile_files(files).fs(fs);
            only(&env, PROFILE_VARS, &no_imds)
        }
        (None, Some(kind)) => {
            loader = loader.fs(Fs::from_slice(&[]));
            match kind.to_ascii_lowercase().as_str() {
                "environment" => only(&env, ENV_VARS, &no_imds),
                "ecscontainer" => only(&env, ECS_VARS, &no_imds),
                "ec2instancemetadata" => only(&env, IMDS_VARS, &[]),
                _ => {
                    return Err(bad(format!(
                        "profile {name:?} has credential_source {kind:?}; expected EcsContainer, \
                         Ec2InstanceMetadata or Environment"
                    )))
                }
            }
        }
    };
    loader = loader.env(source_env);
    if let Some(region) = sdk
        .and_then(SdkConfig::region)
        .cloned()
        .or_else(|| get("region").map(aws_config::Region::new))
    {
        loader = loader.region(region);
    }
    if let Some(sdk) = sdk {
        if let Some(http) = sdk.http_client() {
            loader = loader.http_client(http);
        }
        if let Some(sleep) = sdk.sleep_impl() {
            loader = loader.sleep_impl(sleep);
        }
        if let Some(time) = sdk.time_source() {
            loader = loader.time_source(time);
        }
    }
    let loaded = loader.load().await;
    let source = loaded.credentials_provider().ok_or_else(|| {
        bad(format!(
            "profile {name:?}: aws-config built no source provider"
        ))
    })?;
    Ok(FromProfile {
        role_arn,
        region: get("region"),
        external_id: get("external_id"),
        session_name: get("role_session_name"),
        duration,
        source,
    })
}

impl AssumedRoleCredentialsBuilder {
    /// The profile files to read (default: `~/.aws/config` and `~/.aws/credentials`, or
    /// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`). Only for builders from
    /// [`from_profile`](crate::AssumedRoleCredentials::from_profile).
    pub fn profile_files(mut self, files: ProfileFiles) -> Self {
        if let Some(p) = self.profile_mut() {
            p.files = Some(files);
        }
        self
    }

    /// The environment variables the profile and its source are read with (default: the
    /// process's). For tests, as aws-config's `ProviderConfig` takes them.
    pub fn env(mut self, env: Env) -> Self {
        if let Some(p) = self.profile_mut() {
            p.env = Some(env);
        }
        self
    }

    /// The file system the profile files are read from (default: the real one). For tests.
    pub fn fs(mut self, fs: Fs) -> Self {
        if let Some(p) = self.profile_mut() {
            p.fs = Some(fs);
        }
        self
    }
}
