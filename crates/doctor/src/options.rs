//! What to check: [`Options`].

use std::fmt;

use aws_types::SdkConfig;

/// What [`run`](crate::run) checks.
///
/// Build it with [`Options::new`] and the setters, or as a struct literal with
/// `..Default::default()`. `Debug` never prints the ExternalId.
///
/// ```
/// use xacct_doctor::Options;
///
/// let options = Options::new("arn:aws:iam::111111111111:role/CrossAccountDynamoRole")
///     .external_id("s3cret-id")
///     .table("orders")
///     .dax("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com");
/// assert_eq!(options.table.as_deref(), Some("orders"));
/// assert!(!format!("{options:?}").contains("s3cret-id"));
/// ```
#[derive(Clone, Default)]
pub struct Options {
    /// The role in account A (`arn:aws:iam::A:role/NAME`).
    pub role_arn: String,
    /// The ExternalId to send with AssumeRole (never printed).
    pub external_id: Option<String>,
    /// The role session name (default `xacct-doctor`).
    pub session_name: Option<String>,
    /// DurationSeconds for AssumeRole (default: STS's, one hour).
    pub duration_seconds: Option<i32>,
    /// The region (default: the default chain's).
    pub region: Option<String>,
    /// A table in account A to probe (DescribeTable, then GetItem on a key that need not exist).
    pub table: Option<String>,
    /// A DAX cluster endpoint (`dax://host[:port]` or `daxs://host[:port]`).
    pub dax: Option<String>,
    /// Extra CA certificates (PEM) to trust for `daxs://`, besides the system's.
    pub dax_ca_pem: Option<Vec<u8>>,
    /// The source configuration (credentials, endpoint, region, sleep, time). `None`: loaded
    /// from the default chain (`aws_config::defaults`), which honours `AWS_ENDPOINT_URL`.
    pub source: Option<SdkConfig>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("role_arn", &self.role_arn)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "** redacted **"),
            )
            .field("session_name", &self.session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("region", &self.region)
            .field("table", &self.table)
            .field("dax", &self.dax)
            .field("dax_ca_pem", &self.dax_ca_pem.as_ref().map(Vec::len))
            .field("source", &self.source.as_ref().map(|_| "SdkConfig"))
            .finish()
    }
}

impl Options {
    /// Options for this role ARN; everything else unset.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::111111111111:role/R");
    /// assert_eq!(o.role_arn, "arn:aws:iam::111111111111:role/R");
    /// ```
    pub fn new(role_arn: impl Into<String>) -> Options {
        Options {
            role_arn: role_arn.into(),
            ..Options::default()
        }
    }

    /// Sends this ExternalId with AssumeRole (and checks that the role requires it).
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").external_id("x");
    /// assert!(o.external_id.is_some());
    /// ```
    pub fn external_id(mut self, external_id: impl Into<String>) -> Options {
        self.external_id = Some(external_id.into());
        self
    }

    /// The role session name.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").session_name("svc");
    /// assert_eq!(o.session_name.as_deref(), Some("svc"));
    /// ```
    pub fn session_name(mut self, name: impl Into<String>) -> Options {
        self.session_name = Some(name.into());
        self
    }

    /// AssumeRole's DurationSeconds.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").duration_seconds(900);
    /// assert_eq!(o.duration_seconds, Some(900));
    /// ```
    pub fn duration_seconds(mut self, seconds: i32) -> Options {
        self.duration_seconds = Some(seconds);
        self
    }

    /// AssumeRole's DurationSeconds, as a `Duration` (whole seconds; saturates at `i32::MAX`).
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R")
    ///     .duration(std::time::Duration::from_secs(3600));
    /// assert_eq!(o.duration_seconds, Some(3600));
    /// ```
    pub fn duration(self, duration: std::time::Duration) -> Options {
        let secs = i32::try_from(duration.as_secs()).unwrap_or(i32::MAX);
        self.duration_seconds(secs)
    }

    /// The region.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").region("eu-west-1");
    /// assert_eq!(o.region.as_deref(), Some("eu-west-1"));
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Options {
        self.region = Some(region.into());
        self
    }

    /// A table to probe.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").table("orders");
    /// assert_eq!(o.table.as_deref(), Some("orders"));
    /// ```
    pub fn table(mut self, table: impl Into<String>) -> Options {
        self.table = Some(table.into());
        self
    }

    /// A DAX endpoint to check.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").dax("dax://10.0.0.1:8111");
    /// assert_eq!(o.dax.as_deref(), Some("dax://10.0.0.1:8111"));
    /// ```
    pub fn dax(mut self, endpoint: impl Into<String>) -> Options {
        self.dax = Some(endpoint.into());
        self
    }

    /// Extra CA certificates (PEM) for `daxs://`.
    ///
    /// ```
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").dax_ca_pem(b"-----BEGIN CERTIFICATE-----".to_vec());
    /// assert!(o.dax_ca_pem.is_some());
    /// ```
    pub fn dax_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Options {
        self.dax_ca_pem = Some(pem.into());
        self
    }

    /// The source configuration to use instead of the default chain.
    ///
    /// ```
    /// let sdk = aws_types::SdkConfig::builder().build();
    /// let o = xacct_doctor::Options::new("arn:aws:iam::1:role/R").source(sdk);
    /// assert!(o.source.is_some());
    /// ```
    pub fn source(mut self, sdk: SdkConfig) -> Options {
        self.source = Some(sdk);
        self
    }
}
