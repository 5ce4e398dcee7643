//! [`DaxOptions`]: everything about a DAX client beyond its endpoint and credentials.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::ConfigError;

/// A provider set with [`DaxOptions::credentials_provider`]; options compare equal only when
/// they hold the very same one (clones of one `DaxOptions`).
#[derive(Clone)]
pub(crate) struct ForeignProvider(pub(crate) Arc<SharedCredentialsProvider>);

impl PartialEq for ForeignProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ForeignProvider {}

/// Settings of a DAX client beyond the endpoint: what tests and private networks need.
///
/// Defaults (the Go client's, docs/dax-protocol.md §1.7): request timeout 60 s, connect timeout
/// 5 s (the SDK's `connect_timeout` / `read_timeout` win when set), `endpoints` refresh every
/// 4 s, health checks every 5 s, idle connections closed after 30 s, at most 10 connects in
/// progress and 100 connections per node, re-authorization on every credentials rotation and
/// at least every 150 s.
///
/// A zero count or duration has no meaning here: building a client with one fails with a
/// [`ConfigError`] naming the setter (`DaxOptions::request_timeout`, ...), before any I/O.
/// Options compare equal when every setting is equal (with a
/// [`credentials_provider`](Self::credentials_provider), only clones of the same options are),
/// and `cross-account-dynamodb` hands clients built with equal options the same transport.
///
/// ```
/// use std::time::Duration;
/// use xacct_dax_transport::DaxOptions;
///
/// let options = DaxOptions::new()
///     .ca_pem(b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_vec())
///     .connect_address("127.0.0.1:9111".parse().unwrap())
///     .request_timeout(Duration::from_secs(2))
///     .signing_region("eu-west-1");
/// assert_eq!(options.get_signing_region(), Some("eu-west-1"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct DaxOptions {
    pub(crate) ca_pems: Vec<Vec<u8>>,
    pub(crate) connect_address: Option<SocketAddr>,
    pub(crate) region: Option<String>,
    pub(crate) dynamodb_endpoint: Option<String>,
    pub(crate) max_connections_per_node: usize,
    pub(crate) max_pending_connects: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) refresh_interval: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) reauth_interval: Duration,
    pub(crate) push_reauth: bool,
    pub(crate) provider: Option<ForeignProvider>,
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
    /// let options = xacct_dax_transport::DaxOptions::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates in this PEM document too (`daxs://`), besides the system's.
    ///
    /// ```
    /// # fn f(pem: Vec<u8>) {
    /// let options = xacct_dax_transport::DaxOptions::new().ca_pem(pem);
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
    /// let options = xacct_dax_transport::DaxOptions::new()
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
    /// let options = xacct_dax_transport::DaxOptions::new().signing_region("us-west-2");
    /// ```
    pub fn signing_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The region set with [`signing_region`](Self::signing_region), if any.
    ///
    /// ```
    /// assert_eq!(xacct_dax_transport::DaxOptions::new().get_signing_region(), None);
    /// ```
    pub fn get_signing_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Where operations DAX does not serve (DescribeTable, CreateTable, PartiQL, ...) go
    /// (default: the `SdkConfig`'s `endpoint_url`, else `https://dynamodb.<region>.amazonaws.com`).
    ///
    /// ```
    /// let options = xacct_dax_transport::DaxOptions::new()
    ///     .dynamodb_endpoint("https://vpce-0abc-dynamodb.us-east-1.vpce.amazonaws.com");
    /// ```
    pub fn dynamodb_endpoint(mut self, url: impl Into<String>) -> Self {
        self.dynamodb_endpoint = Some(url.into());
        self
    }

    /// At most this many connections per node (default 100).
    ///
    /// ```
    /// let options = xacct_dax_transport::DaxOptions::new().max_connections_per_node(16);
    /// ```
    pub fn max_connections_per_node(mut self, n: usize) -> Self {
        self.max_connections_per_node = n;
        self
    }

    /// At most this many connects in progress per node (default 10).
    ///
    /// ```
    /// let options = xacct_dax_transport::DaxOptions::new().max_pending_connects(4);
    /// ```
    pub fn max_pending_connects(mut self, n: usize) -> Self {
        self.max_pending_connects = n;
        self
    }

    /// Connect timeout, which also bounds the wait for a free connection (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().connect_timeout(Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Request timeout: from writing a request to the end of its reply (default 60 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().request_timeout(Duration::from_secs(2));
    /// ```
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Idle connections are closed after this long (default 30 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().idle_timeout(Duration::from_secs(10));
    /// ```
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// How often the node list is refreshed with `endpoints` (default 4 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().refresh_interval(Duration::from_secs(1));
    /// ```
    pub fn refresh_interval(mut self, d: Duration) -> Self {
        self.refresh_interval = d;
        self
    }

    /// How often every node is health-checked (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().health_check_interval(Duration::from_secs(1));
    /// ```
    pub fn health_check_interval(mut self, d: Duration) -> Self {
        self.health_interval = d;
        self
    }

    /// A connection re-authorizes at least this often (default 150 s, as the Python and Node
    /// clients do): the backstop behind the rotation push.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = xacct_dax_transport::DaxOptions::new().reauth_interval(Duration::from_secs(60));
    /// ```
    pub fn reauth_interval(mut self, d: Duration) -> Self {
        self.reauth_interval = d;
        self
    }

    /// Whether a credentials rotation makes every connection re-authorize before its next
    /// request (default on). Off, connections re-authorize only periodically and after an
    /// auth error reply, as the official clients do: for comparison tests.
    ///
    /// ```
    /// let official_behaviour = xacct_dax_transport::DaxOptions::new().push_reauth(false);
    /// ```
    pub fn push_reauth(mut self, on: bool) -> Self {
        self.push_reauth = on;
        self
    }
}

impl DaxOptions {
    /// Authorizes connections with this provider instead of the one the client is built with
    /// (with `cross-account-dynamodb`, its `AssumedRoleCredentials`): for example a provider of
    /// your own that already assumes the role. Such a provider cannot announce its rotations, so its access key id is compared
    /// before every request and a connection re-authorizes when it changed; the periodic
    /// re-authorization still applies. Forwarded (non-DAX) operations are signed with it too.
    ///
    /// ```
    /// use aws_credential_types::Credentials;
    /// use xacct_dax_transport::DaxOptions;
    ///
    /// let options = DaxOptions::new()
    ///     .credentials_provider(Credentials::new("AKID", "secret", None, None, "example"));
    /// assert!(!format!("{options:?}").contains("secret"));
    /// ```
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.provider = Some(ForeignProvider(Arc::new(SharedCredentialsProvider::new(
            provider,
        ))));
        self
    }
}

impl DaxOptions {
    /// Checks every value: a zero count or duration, where zero has no meaning, is an error
    /// naming its setter (never silently replaced).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let counts = [
            (
                "DaxOptions::max_connections_per_node",
                self.max_connections_per_node,
            ),
            (
                "DaxOptions::max_pending_connects",
                self.max_pending_connects,
            ),
        ];
        for (setter, n) in counts {
            if n == 0 {
                return Err(ConfigError::invalid(
                    setter,
                    "0 would allow no connection at all; give 1 or more",
                ));
            }
        }
        let durations = [
            ("DaxOptions::connect_timeout", self.connect_timeout),
            ("DaxOptions::request_timeout", self.request_timeout),
            ("DaxOptions::idle_timeout", self.idle_timeout),
            ("DaxOptions::refresh_interval", self.refresh_interval),
            ("DaxOptions::health_check_interval", self.health_interval),
            ("DaxOptions::reauth_interval", self.reauth_interval),
        ];
        for (setter, d) in durations {
            if d.is_zero() {
                return Err(ConfigError::invalid(
                    setter,
                    "a zero duration would fail or spin on every request; give a positive duration",
                ));
            }
        }
        Ok(())
    }
}
