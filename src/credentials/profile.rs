//! [`ProfileCredentialsBuilder`], made by [`AssumedRoleCredentials::from_profile`]: the
//! provider's settings read from a profile with `role_arn` (+ `external_id`,
//! `role_session_name`, `duration_seconds`, `region`), whose `source_profile` or
//! `credential_source` becomes the source through aws-config's own providers.
//!
//! The source is only what the profile names: `Environment` reads the key variables,
//! `EcsContainer` the container credentials endpoint, `Ec2InstanceMetadata` the instance
//! metadata service, and `source_profile` the credentials of that profile (a profile naming
//! itself uses its own static keys). The final role is assumed by this crate, with refresh, not
//! by aws-config's profile provider.
//!
//! With the process's environment and files (the default), each named source is aws-config's
//! provider for it. With injected ones (feature `test-util`, `ProfileCredentialsBuilder::env`
//! and `ProfileCredentialsBuilder::files`), the source is aws-config's default chain loaded
//! with an environment that holds only the named source's variables, so it can resolve nothing
//! else: `ConfigLoader::env` / `fs` (aws-config's `test-util`) are the only way aws-config takes
//! an environment that is not the process's.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::EnvConfigFiles as ProfileFiles;
use aws_smithy_async::rt::sleep::AsyncSleep;
use aws_smithy_async::time::TimeSource;
use aws_types::os_shim_internal::{Env, Fs};

use super::builder::AssumedRoleCredentialsBuilder;
use super::options::role_option_setters;
use super::policy::RefreshPolicy;
use super::provider::AssumedRoleCredentials;
use super::status::RefreshEvent;
use crate::Error;

/// Builds an [`AssumedRoleCredentials`] provider from a profile. Made by
/// [`AssumedRoleCredentials::from_profile`].
///
/// The profile gives the role (`role_arn`), `external_id`, `role_session_name`,
/// `duration_seconds`, `region` and the source (`source_profile`, or `credential_source` =
/// `EcsContainer`, `Ec2InstanceMetadata` or `Environment`). Settings made on this builder win
/// over the profile's. The profile files are read by [`build`](Self::build).
///
/// ```no_run
/// use std::time::Duration;
/// use aws_config::BehaviorVersion;
/// use cross_account_dynamodb::{AssumedRoleCredentials, RefreshPolicy};
///
/// # async fn f() -> Result<(), cross_account_dynamodb::Error> {
/// let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
/// let creds = AssumedRoleCredentials::from_profile("crossAccount")
///     .session_name("orders-api") // wins over the profile's role_session_name
///     .refresh_policy(RefreshPolicy::default().jitter(0.2))
///     .configure(&base)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct ProfileCredentialsBuilder {
    role: AssumedRoleCredentialsBuilder,
    profile_name: String,
    profile_files: Option<ProfileFiles>,
    #[cfg(feature = "test-util")]
    injected_env: Option<Env>,
    #[cfg(feature = "test-util")]
    injected_fs: Option<Fs>,
}

impl fmt::Debug for ProfileCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileCredentialsBuilder")
            .field("profile_name", &self.profile_name)
            .field("profile_files", &self.profile_files)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl ProfileCredentialsBuilder {
    pub(crate) fn new(profile_name: String) -> Self {
        ProfileCredentialsBuilder {
            role: AssumedRoleCredentialsBuilder::new(String::new()),
            profile_name,
            profile_files: None,
            #[cfg(feature = "test-util")]
            injected_env: None,
            #[cfg(feature = "test-util")]
            injected_fs: None,
        }
    }

    role_option_setters!(role.options);

    /// The profile files to read (default: `~/.aws/config` and `~/.aws/credentials`, or
    /// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`). A `source_profile` is read from the
    /// same files.
    ///
    /// ```
    /// use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    /// use cross_account_dynamodb::AssumedRoleCredentials;
    ///
    /// let files = EnvConfigFiles::builder()
    ///     .with_file(EnvConfigFileKind::Config, "/etc/aws/config")
    ///     .build();
    /// let builder = AssumedRoleCredentials::from_profile("crossAccount").profile_files(files);
    /// ```
    pub fn profile_files(mut self, files: ProfileFiles) -> Self {
        self.profile_files = Some(files);
        self
    }

    /// MFA; see [`AssumedRoleCredentialsBuilder::mfa`].
    pub fn mfa(
        mut self,
        serial_number: impl Into<String>,
        token_code: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.role = self.role.mfa(serial_number, token_code);
        self
    }

    /// When to refresh and how to back off; see [`RefreshPolicy`].
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.role = self.role.refresh_policy(policy);
        self
    }

    /// The region, HTTP client, retry and timeout settings, time source and sleep for STS and
    /// for the profile's source; see [`AssumedRoleCredentialsBuilder::configure`]. Its
    /// credentials are not used: the profile names the source.
    pub fn configure(mut self, config: &SdkConfig) -> Self {
        self.role = self.role.configure(config);
        self
    }

    /// The STS endpoint; see [`AssumedRoleCredentialsBuilder::sts_endpoint_url`].
    pub fn sts_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.role = self.role.sts_endpoint_url(url);
        self
    }

    /// The clock, overriding the `SdkConfig`'s (for tests).
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> Self {
        self.role = self.role.time_source(time);
        self
    }

    /// The sleep, overriding the `SdkConfig`'s (for tests).
    pub fn sleep_impl(mut self, sleep: impl AsyncSleep + 'static) -> Self {
        self.role = self.role.sleep_impl(sleep);
        self
    }

    /// Called after every fetch; see [`AssumedRoleCredentialsBuilder::on_refresh`].
    pub fn on_refresh(mut self, callback: impl Fn(&RefreshEvent) + Send + Sync + 'static) -> Self {
        self.role = self.role.on_refresh(callback);
        self
    }

    /// Reads the profile files, builds the source they name, then calls AssumeRole once and
    /// starts the background refresh, as [`AssumedRoleCredentialsBuilder::build`]. A missing or
    /// incomplete profile is an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error that names the profile.
    pub async fn build(self) -> Result<AssumedRoleCredentials, Error> {
        // Bad settings of ours fail before any file is read.
        self.role.refresh_policy.validate()?;
        let settings = self.read_profile().await?;
        let mut role = self.role;
        let o = &mut role.options;
        o.role_arn = settings.role_arn;
        o.external_id = o.external_id.take().or(settings.external_id);
        o.session_name = o.session_name.take().or(settings.session_name);
        o.duration = o.duration.or(settings.duration);
        if role.options.region.is_none()
            && role
                .sdk_config
                .as_ref()
                .and_then(SdkConfig::region)
                .is_none()
        {
            role.options.region = settings.region.map(Region::new);
        }
        role.set_source(settings.source);
        role.build().await
    }

    /// The profile's role settings and its source.
    async fn read_profile(&self) -> Result<ProfileRole, Error> {
        let env = self.environment();
        let fs = self.file_system();
        let files = self.profile_files.clone().unwrap_or_default();
        let name = &self.profile_name;
        let set = aws_config::profile::load(&fs, &env, &files, Some(Cow::Owned(name.clone())))
            .await
            .map_err(|e| profile_error(format!("the profile files could not be read: {e}")))?;
        let profile = set.get_profile(name).ok_or_else(|| {
            profile_error(format!("no profile named {name:?} in the profile files"))
        })?;
        let get = |key: &str| profile.get(key).map(str::to_owned);
        let role_arn = get("role_arn")
            .ok_or_else(|| profile_error(format!("profile {name:?} has no role_arn to assume")))?;
        let duration = get("duration_seconds")
            .map(|d| {
                d.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| {
                        profile_error(format!(
                            "profile {name:?} has duration_seconds {d:?}, not a number of seconds"
                        ))
                    })
            })
            .transpose()?;
        let region = get("region");
        let source = match (get("source_profile"), get("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(profile_error(format!(
                    "profile {name:?} sets both source_profile and credential_source; keep one"
                )))
            }
            (None, None) => {
                return Err(profile_error(format!(
                    "profile {name:?} has a role_arn but neither source_profile nor \
                     credential_source"
                )))
            }
            (Some(source), None) if &source == name => {
                // A profile may name itself only to use its own static keys.
                let (Some(id), Some(secret)) =
                    (get("aws_access_key_id"), get("aws_secret_access_key"))
                else {
                    return Err(profile_error(format!(
                        "profile {name:?} is its own source_profile but has no static keys"
                    )));
                };
                let keys = Credentials::new(id, secret, get("aws_session_token"), None, "profile");
                SharedCredentialsProvider::new(keys)
            }
            (Some(source), None) => {
                self.source_provider(NamedSource::Profile(source), region.as_deref())
                    .await?
            }
            (None, Some(kind)) => {
                let named = match kind.to_ascii_lowercase().as_str() {
                    "environment" => NamedSource::Environment,
                    "ecscontainer" => NamedSource::EcsContainer,
                    "ec2instancemetadata" => NamedSource::Ec2InstanceMetadata,
                    _ => {
                        return Err(profile_error(format!(
                            "profile {name:?} has credential_source {kind:?}; expected \
                             EcsContainer, Ec2InstanceMetadata or Environment"
                        )))
                    }
                };
                self.source_provider(named, region.as_deref()).await?
            }
        };
        Ok(ProfileRole {
            role_arn,
            region,
            external_id: get("external_id"),
            session_name: get("role_session_name"),
            duration,
            source,
        })
    }

    /// The provider for a named source, with the `SdkConfig`'s region (else the profile's),
    /// HTTP client, sleep, clock, retry and timeout settings.
    async fn source_provider(
        &self,
        source: NamedSource,
        profile_region: Option<&str>,
    ) -> Result<SharedCredentialsProvider, Error> {
        let sdk = self.role.sdk_config.as_ref();
        let region = sdk
            .and_then(SdkConfig::region)
            .cloned()
            .or_else(|| profile_region.map(|r| Region::new(r.to_owned())));
        #[cfg(feature = "test-util")]
        if self.injected_env.is_some() || self.injected_fs.is_some() {
            return self.injected_source_provider(source, region).await;
        }
        let mut config =
            ProviderConfig::without_region().with_behavior_version(Some(BehaviorVersion::latest()));
        config = config.with_region(region);
        if let Some(sdk) = sdk {
            if let Some(http) = sdk.http_client() {
                config = config.with_http_client(http);
            }
            if let Some(sleep) = sdk.sleep_impl() {
                config = config.with_sleep_impl(sleep);
            }
            if let Some(time) = sdk.time_source() {
                config = config.with_time_source(time);
            }
            if let Some(retry) = sdk.retry_config() {
                config = config.with_retry_config(retry.clone());
            }
            if let Some(timeout) = sdk.timeout_config() {
                config = config.with_timeout_config(timeout.clone());
            }
        }
        use aws_config::{ecs, environment, imds, profile};
        Ok(match source {
            NamedSource::Profile(name) => SharedCredentialsProvider::new(
                profile::ProfileFileCredentialsProvider::builder()
                    .configure(&config)
                    .profile_files(self.profile_files.clone().unwrap_or_default())
                    .profile_name(name)
                    .build(),
            ),
            NamedSource::Environment => SharedCredentialsProvider::new(
                environment::EnvironmentVariableCredentialsProvider::new(),
            ),
            NamedSource::EcsContainer => SharedCredentialsProvider::new(
                ecs::EcsCredentialsProvider::builder()
                    .configure(&config)
                    .build(),
            ),
            NamedSource::Ec2InstanceMetadata => SharedCredentialsProvider::new(
                imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&config)
                    .build(),
            ),
        })
    }

    fn environment(&self) -> Env {
        #[cfg(feature = "test-util")]
        if let Some(env) = &self.injected_env {
            return env.clone();
        }
        Env::real()
    }

    fn file_system(&self) -> Fs {
        #[cfg(feature = "test-util")]
        if let Some(fs) = &self.injected_fs {
            return fs.clone();
        }
        Fs::real()
    }
}

/// A source named by the profile, other than its own static keys.
enum NamedSource {
    Profile(String),
    Environment,
    EcsContainer,
    Ec2InstanceMetadata,
}

/// The role settings read from the profile, and the source it names.
struct ProfileRole {
    role_arn: String,
    region: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    duration: Option<Duration>,
    source: SharedCredentialsProvider,
}

fn profile_error(problem: String) -> Error {
    Error::invalid_input("profile", problem)
}

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
impl ProfileCredentialsBuilder {
    /// Reads environment variables from `vars` instead of the process's environment, for the
    /// profile (`HOME`, `AWS_CONFIG_FILE`, ...) and for its source (`AWS_CONTAINER_*`,
    /// `AWS_EC2_METADATA_*`, the key variables). For tests (feature `test-util`).
    ///
    /// ```
    /// use cross_account_dynamodb::AssumedRoleCredentials;
    ///
    /// let builder = AssumedRoleCredentials::from_profile("crossAccount")
    ///     .env([("HOME", "/home/app"), ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8080/creds")])
    ///     .files([("/home/app/.aws/config", "[profile crossAccount]\ncredential_source = EcsContainer\n")]);
    /// ```
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.injected_env = Some(Env::from(vars));
        self
    }

    /// Reads files from `files` (path, contents) instead of the file system: the profile files,
    /// and any file the source reads. Paths not given do not exist. For tests (feature
    /// `test-util`); see [`env`](Self::env).
    pub fn files<I, P, C>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = (P, C)>,
        P: Into<String>,
        C: Into<String>,
    {
        let files: std::collections::HashMap<String, String> = files
            .into_iter()
            .map(|(p, c)| (p.into(), c.into()))
            .collect();
        self.injected_fs = Some(Fs::from_map(files));
        self
    }

    /// aws-config's default chain, loaded with only the named source's variables (and files,
    /// for a source profile), so it resolves that source and nothing else.
    async fn injected_source_provider(
        &self,
        source: NamedSource,
        region: Option<Region>,
    ) -> Result<SharedCredentialsProvider, Error> {
        const KEY_VARS: &[&str] = &[
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
        let env = self.environment();
        // An environment with only `keep` of `env`'s variables (plus `extra`).
        let only = |keep: &[&str], extra: &[(&str, &str)]| -> Env {
            let vars: std::collections::HashMap<String, String> = keep
                .iter()
                .filter_map(|k| env.get(k).ok().map(|v| ((*k).to_owned(), v)))
                .chain(
                    extra
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                )
                .collect();
            Env::from(vars)
        };
        // Never the instance metadata service, unless it is the source.
        let no_imds = [("AWS_EC2_METADATA_DISABLED", "true")];
        let no_files = || Fs::from_slice(&[]);
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let (source_env, source_fs) = match source {
            NamedSource::Profile(name) => {
                loader = loader
                    .profile_name(name)
                    .profile_files(self.profile_files.clone().unwrap_or_default());
                (only(PROFILE_VARS, &no_imds), self.file_system())
            }
            NamedSource::Environment => (only(KEY_VARS, &no_imds), no_files()),
            NamedSource::EcsContainer => (only(ECS_VARS, &no_imds), no_files()),
            NamedSource::Ec2InstanceMetadata => (only(IMDS_VARS, &[]), no_files()),
        };
        loader = loader.env(source_env).fs(source_fs);
        if let Some(region) = region {
            loader = loader.region(region);
        }
        if let Some(sdk) = &self.role.sdk_config {
            if let Some(http) = sdk.http_client() {
                loader = loader.http_client(http);
            }
            if let Some(sleep) = sdk.sleep_impl() {
                loader = loader.sleep_impl(sleep);
            }
            if let Some(time) = sdk.time_source() {
                loader = loader.time_source(time);
            }
            if let Some(retry) = sdk.retry_config() {
                loader = loader.retry_config(retry.clone());
            }
            if let Some(timeout) = sdk.timeout_config() {
                loader = loader.timeout_config(timeout.clone());
            }
        }
        loader.load().await.credentials_provider().ok_or_else(|| {
            profile_error(format!(
                "profile {:?}: aws-config built no source provider",
                self.profile_name
            ))
        })
    }
}
