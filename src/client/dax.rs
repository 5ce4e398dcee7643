//! DAX clients: the same `aws_sdk_dynamodb::Client`, running over the DAX protocol
//! (`crate::dax::transport`), authenticated with these self-refreshing credentials.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_runtime_api::client::auth::AuthSchemeId;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::RetryOnExpiredToken;
use crate::dax::transport::http::{DaxHttpClient, DaxInterceptor, Forwarder};
use crate::dax::transport::{AuthPolicy, ClusterUrl, CredentialSource, Settings, Shared, Tls};
use crate::{AssumedRoleCredentials, CrossAccountPool, Error, RoleSpec};

/// Settings of a DAX client beyond the endpoint: what tests and private networks need.
///
/// Defaults (the Go client's, DAX protocol notes §1.7): request timeout 60 s, connect timeout
/// 5 s (the SDK's `connect_timeout` / `read_timeout` win when set), `endpoints` refresh every
/// 4 s, health checks every 5 s, idle connections closed after 30 s, at most 10 connects in
/// progress and 100 connections per node, re-authorization on every credentials rotation and
/// at least every 150 s.
///
/// ```
/// use std::time::Duration;
/// use cross_account_dynamodb::DaxOptions;
///
/// let options = DaxOptions::new()
///     .ca_pem(b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_vec())
///     .connect_address("127.0.0.1:9111".parse().unwrap())
///     .request_timeout(Duration::from_secs(2))
///     .signing_region("eu-west-1");
/// assert_eq!(options.get_signing_region(), Some("eu-west-1"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct DaxOptions {
    ca_pems: Vec<Vec<u8>>,
    connect_address: Option<SocketAddr>,
    region: Option<String>,
    dynamodb_endpoint: Option<String>,
    max_connections_per_node: usize,
    max_pending_connects: usize,
    connect_timeout: Duration,
    request_timeout: Duration,
    idle_timeout: Duration,
    refresh_interval: Duration,
    health_interval: Duration,
    reauth_interval: Duration,
    push_reauth: bool,
    provider: Option<SharedCredentialsProvider>,
}

impl Default for DaxOptions {
    fn default() -> Self {
        DaxOptions {
            ca_pems: Vec::new(),
            connect_address: None,
            region: None,
            dynamodb_endpoint: None,
            max_connections_per_node: 100,
            max_pending_connects: 10,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(4),
            health_interval: Duration::from_secs(5),
            reauth_interval: Duration::from_secs(150),
            push_reauth: true,
            provider: None,
        }
    }
}

impl fmt::Debug for DaxOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaxOptions")
            .field("extra_ca_certificates", &self.ca_pems.len())
            .field("connect_address", &self.connect_address)
            .field("region", &self.region)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("max_connections_per_node", &self.max_connections_per_node)
            .field("max_pending_connects", &self.max_pending_connects)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("refresh_interval", &self.refresh_interval)
            .field("health_interval", &self.health_interval)
            .field("reauth_interval", &self.reauth_interval)
            .field("push_reauth", &self.push_reauth)
            .field("other_provider", &self.provider.is_some())
            .finish()
    }
}

impl DaxOptions {
    /// The defaults.
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates in this PEM document too (`daxs://`), besides the system's.
    ///
    /// ```
    /// # fn f(pem: Vec<u8>) {
    /// let options = cross_account_dynamodb::DaxOptions::new().ca_pem(pem);
    /// # }
    /// ```
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Connects to this address to discover the cluster, instead of resolving the endpoint's
    /// hostname; TLS still checks certificates against the hostname (tunnels, private DNS,
    /// tests).
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new()
    ///     .connect_address("127.0.0.1:9111".parse().unwrap());
    /// ```
    pub fn connect_address(mut self, addr: SocketAddr) -> Self {
        self.connect_address = Some(addr);
        self
    }

    /// The signing region: the region connections are authorized for (default: the one in
    /// the cluster hostname, `*.dax-clusters.<region>.amazonaws.com`, else the `SdkConfig`'s).
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new().signing_region("us-west-2");
    /// ```
    pub fn signing_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The region set with [`signing_region`](Self::signing_region), if any.
    ///
    /// ```
    /// assert_eq!(cross_account_dynamodb::DaxOptions::new().get_signing_region(), None);
    /// ```
    pub fn get_signing_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Where operations DAX does not serve (DescribeTable, CreateTable, PartiQL, ...) go
    /// (default: the `SdkConfig`'s `endpoint_url`, else `https://dynamodb.<region>.amazonaws.com`).
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new()
    ///     .dynamodb_endpoint("https://vpce-0abc-dynamodb.us-east-1.vpce.amazonaws.com");
    /// ```
    pub fn dynamodb_endpoint(mut self, url: impl Into<String>) -> Self {
        self.dynamodb_endpoint = Some(url.into());
        self
    }

    /// At most this many connections per node (default 100).
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new().max_connections_per_node(16);
    /// ```
    pub fn max_connections_per_node(mut self, n: usize) -> Self {
        self.max_connections_per_node = n.max(1);
        self
    }

    /// At most this many connects in progress per node (default 10).
    ///
    /// ```
    /// let options = cross_account_dynamodb::DaxOptions::new().max_pending_connects(4);
    /// ```
    pub fn max_pending_connects(mut self, n: usize) -> Self {
        self.max_pending_connects = n.max(1);
        self
    }

    /// Connect timeout, which also bounds the wait for a free connection (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().connect_timeout(Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = positive(d, self.connect_timeout);
        self
    }

    /// Request timeout: from writing a request to the end of its reply (default 60 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().request_timeout(Duration::from_secs(2));
    /// ```
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = positive(d, self.request_timeout);
        self
    }

    /// Idle connections are closed after this long (default 30 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().idle_timeout(Duration::from_secs(10));
    /// ```
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = positive(d, self.idle_timeout);
        self
    }

    /// How often the node list is refreshed with `endpoints` (default 4 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().refresh_interval(Duration::from_secs(1));
    /// ```
    pub fn refresh_interval(mut self, d: Duration) -> Self {
        self.refresh_interval = positive(d, self.refresh_interval);
        self
    }

    /// How often every node is health-checked (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().health_check_interval(Duration::from_secs(1));
    /// ```
    pub fn health_check_interval(mut self, d: Duration) -> Self {
        self.health_interval = positive(d, self.health_interval);
        self
    }

    /// A connection re-authorizes at least this often (default 150 s, as the Python and Node
    /// clients do): the backstop behind the rotation push.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = cross_account_dynamodb::DaxOptions::new().reauth_interval(Duration::from_secs(60));
    /// ```
    pub fn reauth_interval(mut self, d: Duration) -> Self {
        self.reauth_interval = positive(d, self.reauth_interval);
        self
    }

    /// Whether a credentials rotation makes every connection re-authorize before its next
    /// request (default on). Off, connections re-authorize only periodically and after an
    /// auth error reply, as the official clients do: for comparison tests.
    ///
    /// ```
    /// let official_behaviour = cross_account_dynamodb::DaxOptions::new().push_reauth(false);
    /// ```
    pub fn push_reauth(mut self, on: bool) -> Self {
        self.push_reauth = on;
        self
    }
}

impl DaxOptions {
    /// Authorizes connections with this provider instead of the `AssumedRoleCredentials` the
    /// client is built from (for example a provider of your own that already assumes the
    /// role). Such a provider cannot announce its rotations, so its access key id is compared
    /// before every request and a connection re-authorizes when it changed; the periodic
    /// re-authorization still applies. Forwarded (non-DAX) operations are signed with it too.
    ///
    /// ```
    /// use aws_credential_types::Credentials;
    /// use cross_account_dynamodb::DaxOptions;
    ///
    /// let options = DaxOptions::new()
    ///     .credentials_provider(Credentials::new("AKID", "secret", None, None, "example"));
    /// assert!(!format!("{options:?}").contains("secret"));
    /// ```
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.provider = Some(SharedCredentialsProvider::new(provider));
        self
    }
}

impl AssumedRoleCredentials {
    /// A DynamoDB client that runs over DAX: the ten data operations (GetItem, PutItem,
    /// UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem, TransactGetItems,
    /// TransactWriteItems, paginators included) go to the cluster at `endpoint`
    /// (`dax://host[:port]` or `daxs://host[:port]`); every other operation is forwarded to
    /// DynamoDB. Connections authorize with these credentials and re-authorize with every
    /// rotation before their next request. Sync, no I/O: nodes are discovered on first use.
    ///
    /// Differences from DynamoDB:
    /// * DAX cannot return the item of a failed single-item condition: with
    ///   `ReturnValuesOnConditionCheckFailure::AllOld`, a `ConditionalCheckFailedException`
    ///   from PutItem/UpdateItem/DeleteItem carries no `item` (transaction cancellation
    ///   reasons do carry theirs).
    /// * Legacy parameters (`AttributesToGet`, `Expected`, `AttributeUpdates`,
    ///   `KeyConditions`, `QueryFilter`, `ScanFilter`, `ConditionalOperator`) fail with a
    ///   `ValidationException` naming the expression to use, before any I/O.
    /// * A PutItem/UpdateItem/DeleteItem/BatchWriteItem whose connection fails after it was
    ///   written is not retried (it may have been applied): its error's source chain holds a
    ///   [`DaxError`](crate::dax::transport::DaxError) with `is_outcome_unknown()`.
    /// * Eventually consistent reads may be served from the cluster's cache.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), Box<dyn std::error::Error>> {
    /// use aws_sdk_dynamodb::types::AttributeValue;
    ///
    /// let dax = creds.dax("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com")?;
    /// let item = dax
    ///     .get_item()
    ///     .table_name("orders")
    ///     .key("pk", AttributeValue::S("order#1".into()))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn dax(&self, endpoint: &str) -> Result<aws_sdk_dynamodb::Client, Error> {
        self.dax_with(endpoint, DaxOptions::default())
    }

    /// [`dax`](Self::dax) with [`DaxOptions`].
    ///
    /// ```no_run
    /// # fn f(creds: cross_account_dynamodb::AssumedRoleCredentials, ca_pem: Vec<u8>) -> Result<(), cross_account_dynamodb::Error> {
    /// use cross_account_dynamodb::DaxOptions;
    ///
    /// let dax = creds.dax_with(
    ///     "daxs://localhost:9111",
    ///     DaxOptions::new().ca_pem(ca_pem).connect_address("127.0.0.1:9111".parse().unwrap()),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn dax_with(
        &self,
        endpoint: &str,
        options: DaxOptions,
    ) -> Result<aws_sdk_dynamodb::Client, Error> {
        Ok(aws_sdk_dynamodb::Client::from_conf(
            self.dax_config_with(endpoint, options)?.build(),
        ))
    }

    /// The config builder behind [`dax`](Self::dax), to customise with the SDK's own methods
    /// (retry, timeouts, interceptors). Keep its HTTP client, auth scheme preference and
    /// interceptors: they are the transport.
    ///
    /// ```no_run
    /// # fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), cross_account_dynamodb::Error> {
    /// use aws_sdk_dynamodb::config::retry::RetryConfig;
    ///
    /// let config = creds
    ///     .dax_config("dax://orders.abc123.dax-clusters.eu-west-1.amazonaws.com")?
    ///     .retry_config(RetryConfig::standard().with_max_attempts(5))
    ///     .build();
    /// let dax = aws_sdk_dynamodb::Client::from_conf(config);
    /// # Ok(()) }
    /// ```
    pub fn dax_config(&self, endpoint: &str) -> Result<aws_sdk_dynamodb::config::Builder, Error> {
        self.dax_config_with(endpoint, DaxOptions::default())
    }

    /// [`dax_config`](Self::dax_config) with [`DaxOptions`].
    ///
    /// ```no_run
    /// # fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), cross_account_dynamodb::Error> {
    /// use cross_account_dynamodb::DaxOptions;
    /// let builder = creds.dax_config_with("dax://127.0.0.1:8111", DaxOptions::new().signing_region("us-east-1"))?;
    /// # Ok(()) }
    /// ```
    pub fn dax_config_with(
        &self,
        endpoint: &str,
        options: DaxOptions,
    ) -> Result<aws_sdk_dynamodb::config::Builder, Error> {
        let url = ClusterUrl::parse(endpoint)?;
        let services = &self.inner().services;
        let region = options
            .region
            .clone()
            .or_else(|| url.region().map(str::to_owned))
            .or_else(|| services.region().map(|r| r.to_string()))
            .ok_or_else(|| {
                Error::invalid_input(
                    "DAX region",
                    format!(
                        "none for `{endpoint}`: the hostname names no region and the SdkConfig has none; \
                         set DaxOptions::region or the SdkConfig's region"
                    ),
                )
            })?;
        let tls = if url.tls {
            Some(Tls::new(&url.host, &options.ca_pems)?)
        } else {
            None
        };
        let forward_endpoint = options
            .dynamodb_endpoint
            .clone()
            .or_else(|| services.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        let settings = Settings {
            url: url.clone(),
            region: region.clone(),
            connect_override: options.connect_address,
            max_connections_per_node: options.max_connections_per_node,
            max_pending_connects: options.max_pending_connects,
            connect_timeout: options.connect_timeout,
            request_timeout: options.request_timeout,
            idle_timeout: options.idle_timeout,
            refresh_interval: options.refresh_interval,
            health_interval: options.health_interval,
            auth: AuthPolicy {
                source: if options.provider.is_some() {
                    CredentialSource::Foreign
                } else {
                    CredentialSource::Ours
                },
                push: options.push_reauth,
                period: options.reauth_interval,
            },
            user_agent: format!("cross-account-dynamodb-dax/{}", env!("CARGO_PKG_VERSION")),
        };
        let (ours, _) = self.shared_with_cache();
        let (shared_provider, rotations) = match &options.provider {
            Some(p) => (p.clone(), None),
            None => (ours, Some(self.subscribe())),
        };
        let sleep = services
            .sleep_impl()
            .or_else(default_async_sleep)
            .ok_or_else(|| {
                Error::invalid_input(
                    "DAX client",
                    "no async sleep implementation: give the SdkConfig a sleep_impl or enable tokio",
                )
            })?;
        let shared = Shared::new(
            settings,
            tls,
            shared_provider.clone(),
            rotations,
            services.time_source().unwrap_or_default(),
            sleep,
        );
        let forward_client = (services.http_client().is_some()
            || cfg!(feature = "default-https-client"))
        .then(|| SharedHttpClient::new(self.healing_http_client()));
        let client = DaxHttpClient {
            shared,
            forward: Forwarder {
                endpoint: forward_endpoint,
                region: region.clone(),
                client: forward_client,
                creds: shared_provider.clone(),
            },
        };
        let mut builder = aws_sdk_dynamodb::config::Builder::from(services);
        builder.set_credentials_provider(Some(shared_provider));
        Ok(builder
            .region(aws_types::region::Region::new(region))
            .endpoint_url(url.to_url())
            .http_client(client)
            .allow_no_auth()
            .auth_scheme_preference([AuthSchemeId::from("noAuth")])
            .interceptor(DaxInterceptor)
            .retry_classifier(RetryOnExpiredToken::new()))
    }
}

/// A zero duration would fail every request: keep the default instead.
fn positive(d: Duration, default: Duration) -> Duration {
    if d.is_zero() {
        default
    } else {
        d
    }
}

impl CrossAccountPool {
    /// A DAX client for the role (see [`AssumedRoleCredentials::dax`]); the role is assumed
    /// on first use, like [`dynamodb`](Self::dynamodb).
    ///
    /// ```no_run
    /// # async fn f(pool: cross_account_dynamodb::CrossAccountPool) -> Result<(), Box<dyn std::error::Error>> {
    /// use cross_account_dynamodb::RoleSpec;
    /// let dax = pool
    ///     .dax(
    ///         RoleSpec::new("arn:aws:iam::111111111111:role/Reader"),
    ///         "daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com",
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn dax(
        &self,
        spec: RoleSpec,
        endpoint: &str,
    ) -> Result<aws_sdk_dynamodb::Client, Error> {
        ClusterUrl::parse(endpoint)?;
        self.credentials(spec).await?.dax(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_shows_no_certificate_bytes() {
        let o = DaxOptions::new().ca_pem(b"SECRET-LOOKING-PEM".to_vec());
        let d = format!("{o:?}");
        assert!(d.contains("extra_ca_certificates: 1"));
        assert!(!d.contains("SECRET-LOOKING-PEM"));
    }

    #[test]
    fn zero_durations_keep_the_default() {
        let o = DaxOptions::new().request_timeout(Duration::ZERO);
        assert_eq!(o.request_timeout, Duration::from_secs(60));
    }

    #[test]
    fn options_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<DaxOptions>();
        check::<crate::dax::transport::DaxError>();
    }
}
