//! [`ConfigError`]: a DAX client configuration that cannot work, found before any I/O.

/// A DAX client configuration that cannot work: a bad endpoint URL, an unusable CA
/// certificate, a zero where zero has no meaning, a missing region. Found by
/// [`DaxTransportBuilder::build`](crate::DaxTransportBuilder::build), before any I/O.
///
/// [`what`](Self::what) names the setting (for a zero or out-of-range value, the setter), and
/// the message says what to write instead.
///
/// ```
/// use xacct_dax_transport::{DaxOptions, DaxTransport};
/// use aws_credential_types::Credentials;
///
/// let err = DaxTransport::builder("http://my-cluster:8111")
///     .credentials_provider(Credentials::for_tests())
///     .region("us-east-1")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.what(), "DAX endpoint");
/// assert!(err.to_string().contains("dax://"));
///
/// let err = DaxTransport::builder("dax://127.0.0.1:8111")
///     .credentials_provider(Credentials::for_tests())
///     .region("us-east-1")
///     .options(DaxOptions::new().max_connections_per_node(0))
///     .build()
///     .unwrap_err();
/// assert_eq!(err.what(), "DaxOptions::max_connections_per_node");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {problem}")]
#[non_exhaustive]
pub struct ConfigError {
    what: &'static str,
    problem: String,
}

impl ConfigError {
    pub(crate) fn invalid(what: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            what,
            problem: problem.into(),
        }
    }

    /// The setting that is wrong: `DAX endpoint`, `DAX CA certificate`, `DAX region`, or a
    /// setter such as `DaxOptions::request_timeout`.
    ///
    /// ```
    /// # use xacct_dax_transport::{DaxTransport};
    /// # use aws_credential_types::Credentials;
    /// let err = DaxTransport::builder("dax://cluster:8111")
    ///     .credentials_provider(Credentials::for_tests())
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.what(), "DAX region");
    /// ```
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// What is wrong with it and what to do instead.
    ///
    /// ```
    /// # use xacct_dax_transport::{DaxTransport};
    /// # use aws_credential_types::Credentials;
    /// let err = DaxTransport::builder("dax://cluster:0")
    ///     .credentials_provider(Credentials::for_tests())
    ///     .region("us-east-1")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.problem().contains("port"));
    /// ```
    pub fn problem(&self) -> &str {
        &self.problem
    }
}
