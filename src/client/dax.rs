//! DAX clients: the same `aws_sdk_dynamodb::Client`, running over the DAX transport
//! (`xacct-dax-transport`), authenticated with these self-refreshing credentials.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use xacct_dax_transport::{ConfigError, DaxOptions, DaxTransport, WeakDaxTransport};

use super::RetryOnExpiredToken;
use crate::{AssumedRoleCredentials, CrossAccountPool, Error, RoleSpec};

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::invalid_input(e.what(), e.problem())
    }
}

impl AssumedRoleCredentials {
    /// A DynamoDB client that runs over DAX: the ten data operations (GetItem, PutItem,
    /// UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem, TransactGetItems,
    /// TransactWriteItems, paginators included) go to the cluster at `endpoint`
    /// (`dax://host[:port]` or `daxs://host[:port]`); every other operation is forwarded to
    /// DynamoDB. Connections authorize with these credentials and re-authorize with every
    /// rotation before their next request, and a key a node refuses is invalidated here (the
    /// next request authorizes with fresh credentials). Sync, no I/O: nodes are discovered on
    /// first use. Asked again with the same endpoint and options while a client of the first
    /// call is alive, it returns a client on the same transport: one discovery, one set of
    /// connections, one upkeep task.
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
        let transport = self.dax_transport(endpoint, options)?;
        Ok(transport
            .apply(aws_sdk_dynamodb::config::Builder::from(
                self.inner().services(),
            ))
            .retry_classifier(RetryOnExpiredToken::new()))
    }

    /// The DAX transport behind [`dax_with`](Self::dax_with) for `endpoint` and `options`:
    /// the one already in use by a client built from these credentials with the same endpoint
    /// and options (same connections), else a new one. Its
    /// [direct calls](crate::dax::transport::DaxTransport#direct-calls) (`get_item`,
    /// `put_item`, ...) run the ten data operations without the SDK client's per-request
    /// machinery, for hot paths, with these credentials and their rotations.
    ///
    /// ```no_run
    /// # async fn f(creds: cross_account_dynamodb::AssumedRoleCredentials) -> Result<(), Box<dyn std::error::Error>> {
    /// use aws_sdk_dynamodb::operation::get_item::GetItemInput;
    /// use aws_sdk_dynamodb::types::AttributeValue;
    /// use cross_account_dynamodb::DaxOptions;
    ///
    /// let dax = creds.dax_transport("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com", DaxOptions::default())?;
    /// let input = GetItemInput::builder()
    ///     .table_name("orders")
    ///     .key("pk", AttributeValue::S("order#1".into()))
    ///     .build()?;
    /// let item = dax.get_item(input).await?.item;
    /// # Ok(()) }
    /// ```
    pub fn dax_transport(
        &self,
        endpoint: &str,
        options: DaxOptions,
    ) -> Result<DaxTransport, Error> {
        let owner = Arc::as_ptr(self.inner()) as usize;
        let mut transports = TRANSPORTS.lock().unwrap_or_else(PoisonError::into_inner);
        transports.retain(|t| t.transport.upgrade().is_some());
        let found = transports
            .iter()
            .filter(|t| t.owner == owner && t.endpoint == endpoint && t.options == options)
            .find_map(|t| t.transport.upgrade());
        if let Some(transport) = found {
            return Ok(transport);
        }
        let transport = self.new_dax_transport(endpoint, options.clone())?;
        transports.push(InUse {
            owner,
            endpoint: endpoint.to_owned(),
            options,
            transport: transport.downgrade(),
        });
        Ok(transport)
    }

    fn new_dax_transport(
        &self,
        endpoint: &str,
        options: DaxOptions,
    ) -> Result<DaxTransport, Error> {
        let services = self.inner().services();
        let (ours, _) = self.shared_with_cache();
        let forward_client = (services.http_client().is_some()
            || cfg!(feature = "default-https-client"))
        .then(|| SharedHttpClient::new(self.invalidating_http_client()));
        let rejected = self.clone();
        let mut transport = DaxTransport::builder(endpoint)
            .configure(services)
            .options(options)
            .credentials_provider(ours)
            .rotations(self.subscribe())
            .on_key_rejected(move |key_id| {
                rejected.invalidate(key_id);
            })
            .user_agent(format!(
                "cross-account-dynamodb-dax/{}",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(client) = forward_client {
            transport = transport.forward_http_client(client);
        }
        Ok(transport.build()?)
    }
}

/// Transports in use, by owner (the credentials' shared state), endpoint and options, so that
/// `dax(..)` asked again shares the connection pools, discovery and upkeep task instead of
/// starting another set. Entries hold no transport alive; dead ones are dropped on each look-up.
static TRANSPORTS: Mutex<Vec<InUse>> = Mutex::new(Vec::new());

struct InUse {
    owner: usize,
    endpoint: String,
    options: DaxOptions,
    transport: WeakDaxTransport,
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
        // A bad endpoint fails before the role is assumed.
        xacct_dax_transport::check_endpoint(endpoint)?;
        self.credentials(spec).await?.dax(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_become_invalid_input_naming_the_setter() {
        let e: Error = xacct_dax_transport::check_endpoint("http://cluster:8111")
            .unwrap_err()
            .into();
        assert!(e.is_invalid_input());
        assert!(
            e.to_string()
                .starts_with("invalid DAX endpoint: `http://cluster:8111`"),
            "{e}"
        );
    }
}
