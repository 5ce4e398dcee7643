//! Transport failures ([`DaxError`]) and how every failure reaches the SDK: DAX error replies
//! as DynamoDB JSON error bodies (the SDK's own parsing, typed errors and retry classification
//! apply), transport failures as `ConnectorError`s whose kind says whether a retry is safe.

use std::fmt;

use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::retry::ErrorKind;
use serde_json::{json, Map, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A DAX transport failure, found in the source chain of the SDK error a request returns.
///
/// One level of `Display`; the cause (an I/O error, a TLS error, a codec error) is the
/// `source()`. Use the predicates to decide what to do.
///
/// ```no_run
/// # async fn f(dax: aws_sdk_dynamodb::Client) {
/// use xacct_dax_transport::DaxError;
///
/// if let Err(e) = dax.get_item().table_name("t").send().await {
///     let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
///     while let Some(c) = cause {
///         if let Some(dax) = c.downcast_ref::<DaxError>() {
///             if dax.is_tls() {
///                 eprintln!("check the CA certificates and the cluster hostname: {dax}");
///             }
///         }
///         cause = c.source();
///     }
/// }
/// # }
/// ```
#[derive(thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct DaxError {
    kind: Kind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Could not connect (refused, unreachable, DNS): nothing was sent.
    Connect,
    /// TLS handshake or certificate failure: nothing was sent.
    Tls,
    /// Connect, pool wait or request timed out.
    Timeout,
    /// The node rejected the connection's authorization.
    Auth,
    /// A write's bytes may have reached the node, and the connection failed before the answer.
    OutcomeUnknown,
    /// I/O failure on an established connection.
    Io,
    /// The node sent something this client cannot decode.
    Protocol,
    /// The request cannot be sent over DAX (no typed input, no node known, ...).
    Unsupported,
    /// The credentials could not be loaded.
    Credentials,
}

impl Kind {
    /// The `error.type` of a metric.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Connect => "connect",
            Kind::Tls => "tls",
            Kind::Timeout => "timeout",
            Kind::Auth => "auth",
            Kind::OutcomeUnknown => "outcome_unknown",
            Kind::Io => "io",
            Kind::Protocol => "protocol",
            Kind::Unsupported => "unsupported",
            Kind::Credentials => "credentials",
        }
    }
}

impl fmt::Debug for DaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaxError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl DaxError {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        DaxError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// A TLS handshake or certificate check failed (unknown CA, wrong hostname).
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn check_ca_and_hostname(e: &DaxError) -> bool { e.is_tls() }
    /// ```
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// A connect, pool-wait or request timeout elapsed.
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn slow_cluster(e: &DaxError) -> bool { e.is_timeout() }
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }

    /// The node rejected the connection's authorization (the connection re-authorizes before
    /// its next use).
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn check_iam_on_the_cluster(e: &DaxError) -> bool { e.is_auth() }
    /// ```
    pub fn is_auth(&self) -> bool {
        self.kind == Kind::Auth
    }

    /// A write may or may not have been applied: the connection failed after its bytes were
    /// written. It is not retried; read the item back to know.
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn read_back_before_retrying(e: &DaxError) -> bool { e.is_outcome_unknown() }
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        self.kind == Kind::OutcomeUnknown
    }

    /// No connection to the node could be made (nothing was sent).
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn cluster_unreachable(e: &DaxError) -> bool { e.is_connect() }
    /// ```
    pub fn is_connect(&self) -> bool {
        self.kind == Kind::Connect
    }

    /// The node's reply could not be decoded (the connection was closed).
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn report_a_bug(e: &DaxError) -> bool { e.is_protocol() }
    /// ```
    pub fn is_protocol(&self) -> bool {
        self.kind == Kind::Protocol
    }

    /// The request could not be sent over DAX at all (for instance a client built without
    /// this crate's DAX interceptor).
    ///
    /// ```
    /// # use xacct_dax_transport::DaxError;
    /// fn wrong_client_setup(e: &DaxError) -> bool { e.is_unsupported() }
    /// ```
    pub fn is_unsupported(&self) -> bool {
        self.kind == Kind::Unsupported
    }

    /// The `ConnectorError` the SDK sees. `retry_safe`: the request provably was not sent, or
    /// the operation is idempotent.
    pub(crate) fn into_connector_error(self, retry_safe: bool) -> ConnectorError {
        match self.kind {
            Kind::Auth => ConnectorError::other(self.into(), Some(ErrorKind::TransientError)),
            Kind::OutcomeUnknown | Kind::Unsupported => ConnectorError::other(self.into(), None),
            Kind::Tls => ConnectorError::other(self.into(), None),
            Kind::Timeout if retry_safe => ConnectorError::timeout(self.into()),
            _ if retry_safe => ConnectorError::io(self.into()),
            _ => ConnectorError::other(self.into(), None),
        }
    }
}

/// A DAX error reply as a DynamoDB JSON error body: `(status, body)`.
pub(crate) fn error_body(
    name: &str,
    message: &str,
    status: u16,
    reasons: Option<&[CancellationReason]>,
) -> (u16, Vec<u8>) {
    let mut body = Map::new();
    body.insert(
        "__type".into(),
        Value::String(format!("com.amazonaws.dynamodb.v20120810#{name}")),
    );
    body.insert("message".into(), Value::String(message.to_owned()));
    if let Some(reasons) = reasons {
        let list: Vec<Value> = reasons
            .iter()
            .map(|r| {
                let mut m = Map::new();
                if let Some(c) = r.code() {
                    m.insert("Code".into(), json!(c));
                }
                if let Some(msg) = r.message() {
                    m.insert("Message".into(), json!(msg));
                }
                if let Some(item) = r.item() {
                    m.insert(
                        "Item".into(),
                        Value::Object(
                            item.iter()
                                .map(|(k, v)| (k.clone(), attribute_value_json(v)))
                                .collect(),
                        ),
                    );
                }
                Value::Object(m)
            })
            .collect();
        body.insert("CancellationReasons".into(), Value::Array(list));
    }
    let status = if (400..600).contains(&status) {
        status
    } else {
        400
    };
    (status, Value::Object(body).to_string().into_bytes())
}

/// An AttributeValue in DynamoDB JSON (for cancellation-reason items in error bodies).
pub(crate) fn attribute_value_json(v: &AttributeValue) -> Value {
    use aws_smithy_types::base64;
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64::encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({
            "BS": v.iter().map(|b| base64::encode(b.as_ref())).collect::<Vec<_>>()
        }),
        AttributeValue::L(l) => {
            json!({ "L": l.iter().map(attribute_value_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(m) => json!({
            "M": m.iter().map(|(k, v)| (k.clone(), attribute_value_json(v))).collect::<Map<_, _>>()
        }),
        _ => json!({ "NULL": true }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_carry_the_dynamodb_type_and_reasons() {
        let reason = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .message("The conditional request failed")
            .item("pk", AttributeValue::S("a\"b".into()))
            .item("n", AttributeValue::N("1.5".into()))
            .item("bin", AttributeValue::B(vec![1u8, 2, 3].into()))
            .build();
        let none = CancellationReason::builder().code("None").build();
        let (status, body) = error_body(
            "TransactionCanceledException",
            "Transaction cancelled",
            400,
            Some(&[none, reason]),
        );
        assert_eq!(status, 400);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        );
        assert_eq!(v["CancellationReasons"][0]["Code"], "None");
        assert_eq!(v["CancellationReasons"][1]["Item"]["pk"]["S"], "a\"b");
        assert_eq!(v["CancellationReasons"][1]["Item"]["n"]["N"], "1.5");
        assert_eq!(v["CancellationReasons"][1]["Item"]["bin"]["B"], "AQID");
        assert_eq!(error_body("X", "m", 200, None).0, 400);
    }

    #[test]
    fn connector_errors_retry_only_what_is_safe() {
        let e = DaxError::new(Kind::Connect, "refused").into_connector_error(true);
        assert!(e.is_io());
        let e = DaxError::new(Kind::Io, "reset").into_connector_error(false);
        assert!(e.is_other() && e.as_other().is_none());
        let e = DaxError::new(Kind::OutcomeUnknown, "reset").into_connector_error(true);
        assert!(e.as_other().is_none());
        let e = DaxError::new(Kind::Timeout, "slow").into_connector_error(true);
        assert!(e.is_timeout());
        let e = DaxError::new(Kind::Auth, "auth").into_connector_error(false);
        assert_eq!(e.as_other(), Some(ErrorKind::TransientError));
        let e = DaxError::new(Kind::Tls, "unknown CA").into_connector_error(true);
        assert!(!e.is_io() && e.as_other().is_none());
    }

    #[test]
    fn predicates_and_display() {
        let e = DaxError::new(Kind::Tls, "TLS handshake with node 127.0.0.1:1 failed")
            .with_source(std::io::Error::other("invalid peer certificate"));
        assert!(e.is_tls() && !e.is_timeout() && !e.is_auth() && !e.is_outcome_unknown());
        assert_eq!(e.to_string(), "TLS handshake with node 127.0.0.1:1 failed");
        assert!(std::error::Error::source(&e).is_some());
        assert!(DaxError::new(Kind::OutcomeUnknown, "x").is_outcome_unknown());
    }
}
