//! [`DaxTransport`] and its builder: the public way to put `aws_sdk_dynamodb::Client` on DAX.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::{default_async_sleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_runtime_api::client::auth::AuthSchemeId;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use tokio::sync::watch;

use crate::auth::{AuthPolicy, CredentialSource};
use crate::endpoint::ClusterEndpoint;
use crate::forward::Forwarder;
use crate::http::{DaxHttpClient, DaxInterceptor};
use crate::tls::Tls;
use crate::{ConfigError, CredentialsSource, DaxOptions, Runtime, Settings, Shared};

/// Told the access key id a DAX node refused: see
/// [`DaxTransportBuilder::on_key_rejected`].
pub(crate) type KeyRejected = Arc<dyn Fn(&str) + Send + Sync>;

/// The DAX transport: the `HttpClient` under an `aws_sdk_dynamodb::Client` that runs the ten
/// data operations over DAX and forwards the others to DynamoDB. Cheap to clone (one `Arc`);
/// every clone shares the connection pools, discovery and caches.
///
/// Build one with [`DaxTransport::builder`], then [`apply`](Self::apply) it to a DynamoDB
/// config builder: that installs the HTTP client, the endpoint, the region, the typed side
/// channel's interceptor and the `noAuth` scheme (connections are authorized by the DAX
/// protocol, not by SigV4 on each request).
///
/// ```no_run
/// # async fn f(sdk: aws_types::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
/// use xacct_dax_transport::DaxTransport;
///
/// let transport = DaxTransport::builder("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com")
///     .configure(&sdk) // region, time, sleep, HTTP client for forwarded operations
///     .credentials_provider(sdk.credentials_provider().expect("credentials"))
///     .build()?;
/// let dax = aws_sdk_dynamodb::Client::from_conf(
///     transport.apply(aws_sdk_dynamodb::config::Builder::from(&sdk)).build(),
/// );
/// let tables = dax.describe_table().table_name("orders").send().await?; // forwarded
/// # Ok(()) }
/// ```
///
/// # Direct calls
///
/// The ten data operations can also run on the transport itself: [`get_item`](Self::get_item),
/// [`put_item`](Self::put_item), [`update_item`](Self::update_item),
/// [`delete_item`](Self::delete_item), [`query`](Self::query), [`scan`](Self::scan),
/// [`batch_get_item`](Self::batch_get_item), [`batch_write_item`](Self::batch_write_item),
/// [`transact_get_items`](Self::transact_get_items) and
/// [`transact_write_items`](Self::transact_write_items) take the SDK's input type and return
/// its output type. They skip the SDK client's per-request machinery (runtime plugins,
/// interceptors, type-erased boxes), which is about five sixths of a GetItem's client-side
/// cost (BENCHMARKS.md): for hot paths. They share the nodes, connections, authorization,
/// caches and telemetry of requests through clients of this transport. The differences:
/// * errors are a [`DirectError`](crate::DirectError) (the DynamoDB error code, or the
///   [`DaxError`](crate::DaxError)), not the SDK's per-operation error types;
/// * retries follow [`DaxTransportBuilder::retry_config`] (the `SdkConfig`'s, through
///   `configure`): throttling, 5xx errors and transport failures that are safe to repeat, with
///   the SDK's jittered exponential backoff, each on another node when one is up; a
///   TransactWriteItems without a `ClientRequestToken` gets one, the same on every attempt;
/// * no SDK interceptor runs (yours included), and the SDK's operation metrics are not
///   recorded: the transport's own `xacct.dax.op.duration` and `xacct.dax.op.errors` are.
///
/// ```no_run
/// # async fn f(transport: xacct_dax_transport::DaxTransport) -> Result<(), Box<dyn std::error::Error>> {
/// use aws_sdk_dynamodb::operation::get_item::GetItemInput;
/// use aws_sdk_dynamodb::types::AttributeValue;
///
/// let input = GetItemInput::builder()
///     .table_name("orders")
///     .key("pk", AttributeValue::S("order#1".into()))
///     .build()?;
/// let item = transport.get_item(input).await?.item;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DaxTransport {
    client: DaxHttpClient,
}

impl DaxTransport {
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.client.shared
    }
}

impl fmt::Debug for DaxTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaxTransport")
            .field("shared", &self.client.shared)
            .finish()
    }
}

/// A [`DaxTransport`] that does not keep it alive: for caches that hand out the same
/// transport while someone still uses it (a client built from it counts as a use).
///
/// ```
/// use aws_credential_types::Credentials;
/// use xacct_dax_transport::DaxTransport;
///
/// let transport = DaxTransport::builder("dax://127.0.0.1:8111")
///     .credentials_provider(Credentials::for_tests())
///     .region("us-east-1")
///     .build()?;
/// let weak = transport.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(transport);
/// assert!(weak.upgrade().is_none());
/// # Ok::<(), xacct_dax_transport::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct WeakDaxTransport(Weak<Shared>);

impl WeakDaxTransport {
    /// The transport, if anything still uses it.
    ///
    /// ```
    /// # use aws_credential_types::Credentials;
    /// # let transport = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    /// #     .credentials_provider(Credentials::for_tests()).region("us-east-1").build()?;
    /// let again = transport.downgrade().upgrade().expect("still in use");
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn upgrade(&self) -> Option<DaxTransport> {
        self.0.upgrade().map(|shared| DaxTransport {
            client: DaxHttpClient { shared },
        })
    }
}

impl DaxTransport {
    /// A builder for the cluster at `endpoint` (`dax://host[:port]` or `daxs://host[:port]`).
    ///
    /// ```
    /// let builder = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111");
    /// ```
    pub fn builder(endpoint: impl Into<String>) -> DaxTransportBuilder {
        DaxTransportBuilder {
            endpoint: endpoint.into(),
            options: DaxOptions::default(),
            provider: None,
            rotations: None,
            on_key_rejected: None,
            region: None,
            forward_endpoint: None,
            forward_client: None,
            time: None,
            sleep: None,
            user_agent: None,
            retry: None,
        }
    }

    /// Puts a DynamoDB config builder on this transport: HTTP client, endpoint, region,
    /// credentials provider, the interceptor of the typed side channel and the `noAuth`
    /// scheme. Keep those; customise the rest (retry, timeouts, more interceptors) with the
    /// SDK's own methods.
    ///
    /// ```
    /// use aws_credential_types::Credentials;
    /// use xacct_dax_transport::DaxTransport;
    ///
    /// let transport = DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .credentials_provider(Credentials::for_tests())
    ///     .region("us-east-1")
    ///     .build()?;
    /// let config = transport
    ///     .apply(aws_sdk_dynamodb::Config::builder())
    ///     .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
    ///     .build();
    /// assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn apply(
        &self,
        builder: aws_sdk_dynamodb::config::Builder,
    ) -> aws_sdk_dynamodb::config::Builder {
        builder
            .credentials_provider(self.client.shared.creds.clone())
            .region(aws_types::region::Region::new(self.region().to_owned()))
            .endpoint_url(self.client.shared.settings.url.to_url())
            .http_client(self.client.clone())
            .allow_no_auth()
            .auth_scheme_preference([AuthSchemeId::from("noAuth")])
            .interceptor(DaxInterceptor)
    }

    /// The signing region connections are authorized for.
    ///
    /// ```
    /// # use aws_credential_types::Credentials;
    /// let t = xacct_dax_transport::DaxTransport::builder("dax://my.abc.dax-clusters.eu-west-1.amazonaws.com")
    ///     .credentials_provider(Credentials::for_tests())
    ///     .build()?;
    /// assert_eq!(t.region(), "eu-west-1");
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn region(&self) -> &str {
        &self.client.shared.settings.region
    }

    /// A handle that does not keep the transport alive (see [`WeakDaxTransport`]).
    ///
    /// ```
    /// # use aws_credential_types::Credentials;
    /// # let transport = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    /// #     .credentials_provider(Credentials::for_tests()).region("us-east-1").build()?;
    /// let weak = transport.downgrade();
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn downgrade(&self) -> WeakDaxTransport {
        WeakDaxTransport(Arc::downgrade(&self.client.shared))
    }

    /// Whether two handles are the same transport (same pools, discovery and caches).
    ///
    /// ```
    /// # use aws_credential_types::Credentials;
    /// # let transport = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    /// #     .credentials_provider(Credentials::for_tests()).region("us-east-1").build()?;
    /// assert!(transport.same_as(&transport.clone()));
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn same_as(&self, other: &DaxTransport) -> bool {
        Arc::ptr_eq(&self.client.shared, &other.client.shared)
    }
}

/// Builds a [`DaxTransport`]. Only the credentials are required (and a region, when neither
/// the cluster hostname nor the `SdkConfig` names one).
///
/// ```
/// use std::time::Duration;
/// use aws_credential_types::Credentials;
/// use xacct_dax_transport::{DaxOptions, DaxTransport};
///
/// let (tx, rx) = tokio::sync::watch::channel(0u64); // bumped on every credentials rotation
/// let transport = DaxTransport::builder("dax://127.0.0.1:8111")
///     .credentials_provider(Credentials::for_tests())
///     .rotations(rx)
///     .on_key_rejected(|key_id| eprintln!("a DAX node refused {key_id}"))
///     .region("us-east-1")
///     .options(DaxOptions::new().request_timeout(Duration::from_secs(2)))
///     .build()?;
/// # drop(tx);
/// # Ok::<(), xacct_dax_transport::ConfigError>(())
/// ```
#[must_use]
pub struct DaxTransportBuilder {
    endpoint: String,
    options: DaxOptions,
    provider: Option<SharedCredentialsProvider>,
    rotations: Option<Box<dyn RotationChange>>,
    on_key_rejected: Option<KeyRejected>,
    region: Option<String>,
    forward_endpoint: Option<String>,
    forward_client: Option<SharedHttpClient>,
    time: Option<SharedTimeSource>,
    sleep: Option<SharedAsyncSleep>,
    user_agent: Option<String>,
    retry: Option<RetryConfig>,
}

impl fmt::Debug for DaxTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaxTransportBuilder")
            .field("endpoint", &self.endpoint)
            .field("options", &self.options)
            .field("provider", &self.provider.is_some())
            .field("rotations", &self.rotations.is_some())
            .field("on_key_rejected", &self.on_key_rejected.is_some())
            .field("region", &self.region)
            .field("forward_endpoint", &self.forward_endpoint)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl DaxTransportBuilder {
    /// Takes the region, the time source, the sleep, the `endpoint_url` (for forwarded
    /// operations), the HTTP client (for forwarded operations) and the retry configuration
    /// (for [direct calls](DaxTransport#direct-calls)) from an `SdkConfig`.
    /// Values set on this builder win, whatever the order.
    ///
    /// ```
    /// let sdk = aws_types::SdkConfig::builder()
    ///     .region(aws_types::region::Region::new("us-east-1"))
    ///     .build();
    /// let builder = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").configure(&sdk);
    /// ```
    pub fn configure(mut self, sdk: &SdkConfig) -> Self {
        if self.region.is_none() {
            self.region = sdk.region().map(|r| r.to_string());
        }
        if self.time.is_none() {
            self.time = sdk.time_source();
        }
        if self.sleep.is_none() {
            self.sleep = sdk.sleep_impl();
        }
        if self.forward_endpoint.is_none() {
            self.forward_endpoint = sdk.endpoint_url().map(str::to_owned);
        }
        if self.forward_client.is_none() {
            self.forward_client = sdk.http_client();
        }
        if self.retry.is_none() {
            self.retry = sdk.retry_config().cloned();
        }
        self
    }

    /// The attempts and backoff of [direct calls](DaxTransport#direct-calls) (default: the
    /// `SdkConfig`'s, given to [`configure`](Self::configure), else the SDK's standard: 3
    /// attempts, backoff from 1 s). Requests through an `aws_sdk_dynamodb::Client` follow that
    /// client's own retry configuration.
    ///
    /// ```
    /// use aws_smithy_types::retry::RetryConfig;
    /// use std::time::Duration;
    ///
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").retry_config(
    ///     RetryConfig::standard().with_max_attempts(5).with_initial_backoff(Duration::from_millis(20)),
    /// );
    /// ```
    pub fn retry_config(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The settings beyond endpoint and credentials.
    ///
    /// ```
    /// use xacct_dax_transport::{DaxOptions, DaxTransport};
    /// let b = DaxTransport::builder("dax://127.0.0.1:8111").options(DaxOptions::new().push_reauth(false));
    /// ```
    pub fn options(mut self, options: DaxOptions) -> Self {
        self.options = options;
        self
    }

    /// The credentials connections authorize with and forwarded operations are signed with
    /// (required; [`DaxOptions::credentials_provider`] wins when set).
    ///
    /// ```
    /// use aws_credential_types::Credentials;
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .credentials_provider(Credentials::for_tests());
    /// ```
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.provider = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// A signal sent on every credentials rotation (any value: only the change counts). Every
    /// pooled connection, idle ones included, then re-authorizes with the new key before its
    /// next request. Without one, the access key id is compared before each request instead.
    ///
    /// ```
    /// let (tx, rx) = tokio::sync::watch::channel(());
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").rotations(rx);
    /// tx.send_replace(()); // a rotation
    /// ```
    pub fn rotations<T: Send + Sync + 'static>(mut self, signal: watch::Receiver<T>) -> Self {
        self.rotations = Some(Box::new(signal));
        self
    }

    /// Called with the access key id a DAX node refused (an authentication error reply), so
    /// that the credentials provider can drop that key and fetch another. The connection
    /// re-authorizes before its next request either way.
    ///
    /// ```
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .on_key_rejected(|key_id| tracing::warn!(key_id, "DAX refused the key"));
    /// ```
    pub fn on_key_rejected(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_key_rejected = Some(Arc::new(f));
        self
    }

    /// The fallback signing region, used when [`DaxOptions::signing_region`] is unset and the
    /// cluster hostname names none.
    ///
    /// ```
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").region("eu-west-1");
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The HTTP client forwarded operations (DescribeTable, CreateTable, ...) go through
    /// (default: the `SdkConfig`'s; without one, forwarded operations fail with a clear error).
    ///
    /// ```no_run
    /// # fn f(http: aws_smithy_runtime_api::client::http::SharedHttpClient) {
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").forward_http_client(http);
    /// # }
    /// ```
    pub fn forward_http_client(mut self, client: SharedHttpClient) -> Self {
        self.forward_client = Some(client);
        self
    }

    /// The time source (default: the `SdkConfig`'s, else the system clock).
    ///
    /// ```
    /// use aws_smithy_async::time::SharedTimeSource;
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .time_source(SharedTimeSource::default());
    /// ```
    pub fn time_source(mut self, time: SharedTimeSource) -> Self {
        self.time = Some(time);
        self
    }

    /// The sleep implementation (default: the `SdkConfig`'s, else tokio's).
    ///
    /// ```
    /// use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()));
    /// ```
    pub fn sleep_impl(mut self, sleep: SharedAsyncSleep) -> Self {
        self.sleep = Some(sleep);
        self
    }

    /// The user agent sent in `authorizeConnection` (default
    /// `xacct-dax-transport/<version>`).
    ///
    /// ```
    /// let b = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111").user_agent("my-service/1.0");
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Checks everything and builds the transport. Sync, no I/O: nodes are discovered on
    /// first use.
    ///
    /// ```
    /// use aws_credential_types::Credentials;
    /// let transport = xacct_dax_transport::DaxTransport::builder("dax://127.0.0.1:8111")
    ///     .credentials_provider(Credentials::for_tests())
    ///     .region("us-east-1")
    ///     .build()?;
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn build(self) -> Result<DaxTransport, ConfigError> {
        let endpoint = self.endpoint;
        let url = ClusterEndpoint::parse(&endpoint)?;
        let options = self.options;
        options.validate()?;
        let region = options
            .region
            .clone()
            .or_else(|| url.region().map(str::to_owned))
            .or(self.region)
            .ok_or_else(|| {
                ConfigError::invalid(
                    "DAX region",
                    format!(
                        "none for `{endpoint}`: the hostname names no region and none was configured; \
                         set DaxOptions::signing_region or the SdkConfig's region"
                    ),
                )
            })?;
        let tls = if url.tls {
            Some(Tls::new(&url.host, &options.ca_pems)?)
        } else {
            None
        };
        let (provider, rotations) = match (&options.provider, self.provider) {
            (Some(foreign), _) => (SharedCredentialsProvider::clone(&foreign.0), None),
            (None, Some(p)) => (p, self.rotations),
            (None, None) => {
                return Err(ConfigError::invalid(
                    "DAX credentials",
                    "none: give DaxTransportBuilder::credentials_provider (or DaxOptions::credentials_provider)",
                ))
            }
        };
        let sleep = self.sleep.or_else(default_async_sleep).ok_or_else(|| {
            ConfigError::invalid(
                "DAX sleep implementation",
                "none: give the SdkConfig a sleep_impl, or build inside a tokio runtime",
            )
        })?;
        let forward_endpoint = options
            .dynamodb_endpoint
            .clone()
            .or(self.forward_endpoint)
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
                source: if rotations.is_some() {
                    CredentialSource::Signalled
                } else {
                    CredentialSource::KeyIdCompared
                },
                push: options.push_reauth,
                period: options.reauth_interval,
            },
            user_agent: self
                .user_agent
                .unwrap_or_else(|| format!("xacct-dax-transport/{}", env!("CARGO_PKG_VERSION"))),
            retry: self.retry.unwrap_or_else(RetryConfig::standard),
        };
        let forward = Forwarder {
            endpoint: forward_endpoint,
            region: region.clone(),
            client: self.forward_client,
            creds: provider.clone(),
        };
        let shared = Shared::new(
            settings,
            tls,
            CredentialsSource {
                provider,
                rotations: rotations.map(RotationCounter::new),
                on_key_rejected: self.on_key_rejected,
            },
            forward,
            Runtime {
                time: self.time.unwrap_or_default(),
                sleep,
            },
        );
        Ok(DaxTransport {
            client: DaxHttpClient { shared },
        })
    }
}

/// A rotation signal of any value type, reduced to "did it change since I last looked".
trait RotationChange: Send + Sync {
    fn take_change(&mut self) -> bool;
}

impl<T: Send + Sync> RotationChange for watch::Receiver<T> {
    fn take_change(&mut self) -> bool {
        match self.has_changed() {
            Ok(true) => {
                self.borrow_and_update();
                true
            }
            // No change, or the sender is gone (no rotation will come).
            _ => false,
        }
    }
}

/// Counts rotations: the generation connections are stamped with.
pub(crate) struct RotationCounter {
    signal: Mutex<Box<dyn RotationChange>>,
    generation: AtomicU64,
}

impl fmt::Debug for RotationCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationCounter")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish()
    }
}

impl RotationCounter {
    fn new(signal: Box<dyn RotationChange>) -> Self {
        RotationCounter {
            signal: Mutex::new(signal),
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation. A caller that finds the signal locked by another takes the
    /// count as it is: the other caller is recording the same change.
    pub(crate) fn generation(&self) -> u64 {
        if let Ok(mut signal) = self.signal.try_lock() {
            if signal.take_change() {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
        }
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_moves_the_generation_once() {
        let (tx, rx) = watch::channel("a");
        let counter = RotationCounter::new(Box::new(rx));
        assert_eq!(counter.generation(), 0);
        tx.send_replace("b");
        assert_eq!(counter.generation(), 1);
        assert_eq!(counter.generation(), 1);
        tx.send_replace("c");
        tx.send_replace("d");
        assert_eq!(counter.generation(), 2, "changes seen together count once");
        drop(tx);
        assert_eq!(counter.generation(), 2);
    }

    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<DaxTransport>();
        check::<DaxTransportBuilder>();
        check::<WeakDaxTransport>();
        check::<ConfigError>();
        check::<DaxOptions>();
    }
}
