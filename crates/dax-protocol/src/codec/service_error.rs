//! DAX error replies (docs/dax-protocol.md §7): code arrays ⇄ DynamoDB exception names,
//! retryability, transaction cancellation reasons.
//!
//! Layout: `codes: [int…]`, `message: text`, `details: null | [requestId, errorCode, httpStatus,
//! (cancellationReasons)?]`, where the reasons are a flat array of `code, message, item` triples
//! (item = VALUES bytes of the old item for ALL_OLD, else null).

use aws_sdk_dynamodb::types::CancellationReason;
use minicbor::data::Type;

use super::attribute_list::decode_values;
use super::catalog::Catalog;
use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::value::Item;

/// Known code sequences, most specific first (GO2 `error.go`, PY `DaxError.py`, NJ3).
const TABLE: &[(&[i64], &str)] = &[
    (
        &[4, 37, 38, 39, 40],
        "ProvisionedThroughputExceededException",
    ),
    (&[4, 37, 38, 39, 41], "ResourceNotFoundException"),
    (&[4, 37, 38, 39, 43], "ConditionalCheckFailedException"),
    (&[4, 37, 38, 39, 45], "ResourceInUseException"),
    (&[4, 37, 38, 39, 46], "ValidationException"),
    (&[4, 37, 38, 39, 47], "InternalServerError"),
    (
        &[4, 37, 38, 39, 48],
        "ItemCollectionSizeLimitExceededException",
    ),
    (&[4, 37, 38, 39, 49], "LimitExceededException"),
    (&[4, 37, 38, 39, 50], "ThrottlingException"),
    (&[4, 37, 38, 39, 57], "TransactionConflictException"),
    (&[4, 37, 38, 39, 58], "TransactionCanceledException"),
    (&[4, 37, 38, 39, 59], "TransactionInProgressException"),
    (&[4, 37, 38, 39, 60], "IdempotentParameterMismatchException"),
    (&[4, 37, 38, 39, 61], "RequestLimitExceeded"),
    (&[4, 37, 38, 42], "AccessDeniedException"),
    (&[4, 37, 38, 44], "NotImplementedException"),
    (&[4, 23, 24], "ResourceNotFoundException"),
    (&[4, 23, 35], "ResourceInUseException"),
    (&[4, 23, 31, 33], "AuthenticationRequiredException"),
    (&[3, 37, 54], "InternalServerError"),
];

const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// One transaction cancellation reason as it travels (the item still attribute-list encoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancellationReasonRaw {
    /// DynamoDB reason code (`None`, `ConditionalCheckFailed`, ...).
    pub code: Option<String>,
    /// Reason message.
    pub message: Option<String>,
    /// VALUES content of the old item (ReturnValuesOnConditionCheckFailure = ALL_OLD).
    pub item: Option<Vec<u8>>,
}

/// An error reply from a DAX node.
///
/// ```
/// use xacct_dax_protocol::codec::ServiceError;
///
/// let e = ServiceError::new(vec![4, 37, 38, 39, 43], "The conditional request failed");
/// assert_eq!(e.exception_name(), Some("ConditionalCheckFailedException"));
/// assert!(!e.is_retryable());
/// assert_eq!(e.http_status(), 400);
/// let throttled = ServiceError::from_exception("ThrottlingException", "slow down");
/// assert_eq!(throttled.codes, [4, 37, 38, 39, 50]);
/// assert!(throttled.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DAX error {}: {message}", self.exception_name().unwrap_or("(unknown code)"))]
#[non_exhaustive]
pub struct ServiceError {
    /// The code sequence; `codes[0]` is the class (1 retryable, 2 cluster recovering,
    /// 3 non-retryable server error, 4 client error).
    pub codes: Vec<i64>,
    /// Human-readable message.
    pub message: String,
    /// Request id from the details, if any.
    pub request_id: Option<String>,
    /// DynamoDB exception name from the details, if any (preferred over the code table).
    pub error_code: Option<String>,
    /// HTTP status from the details, if any.
    pub status: Option<u16>,
    /// Transaction cancellation reasons (TransactionCanceledException only).
    pub cancellation_reasons: Option<Vec<CancellationReasonRaw>>,
}

impl ServiceError {
    /// An error with these codes and message, no details.
    pub fn new(codes: Vec<i64>, message: impl Into<String>) -> Self {
        ServiceError {
            codes,
            message: message.into(),
            request_id: None,
            error_code: None,
            status: None,
            cancellation_reasons: None,
        }
    }

    /// Server side: the error for a DynamoDB exception name, with its code sequence and the
    /// name and status in the details (as the Go client expects them). Unknown names get the
    /// generic `[4, 37, 38, 39, 46]` ValidationException codes but keep their own name.
    pub fn from_exception(name: &str, message: impl Into<String>) -> Self {
        let codes = TABLE
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(vec![4, 37, 38, 39, 46], |(c, _)| c.to_vec());
        let mut e = ServiceError::new(codes, message);
        e.status = Some(if e.codes[0] == 4 { 400 } else { 500 });
        e.error_code = Some(name.to_owned());
        e
    }

    /// The DynamoDB exception name: the details' error code, else the code table (exact
    /// sequence, then the Go client's positional match), else `None`.
    pub fn exception_name(&self) -> Option<&str> {
        if let Some(c) = self.error_code.as_deref().filter(|c| !c.is_empty()) {
            return Some(c);
        }
        if let Some((_, n)) = TABLE.iter().find(|(c, _)| *c == self.codes.as_slice()) {
            return Some(n);
        }
        let c = &self.codes;
        // Go matches codes[1], codes[3], codes[4] and ignores codes[2].
        if c.len() >= 5 && c[1] == 37 && c[3] == 39 {
            return TABLE
                .iter()
                .find(|(t, _)| t.len() == 5 && t[4] == c[4])
                .map(|(_, n)| *n);
        }
        if c.len() >= 4 && c[1] == 37 {
            return TABLE
                .iter()
                .find(|(t, _)| t.len() == 4 && t[1] == 37 && t[3] == c[3])
                .map(|(_, n)| *n);
        }
        None
    }

    /// HTTP status: from the details, else 400 for client errors (class 4) and 500 otherwise.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or(if self.codes.first() == Some(&4) {
            400
        } else {
            500
        })
    }

    /// An authentication failure (`[*, 23, 31, *]`): re-authorize the connection, then retry.
    pub fn is_auth_error(&self) -> bool {
        self.codes.len() >= 4 && self.codes[1] == 23 && self.codes[2] == 31
    }

    /// A throttling error.
    pub fn is_throttling(&self) -> bool {
        self.exception_name()
            .is_some_and(|n| THROTTLING.contains(&n))
    }

    /// Whether retrying can succeed (the Go client's rule plus InternalServerError): class 1 or
    /// 2, throttling, InternalServerError, or AuthenticationRequired (after re-auth).
    /// ConditionalCheckFailed, Validation and TransactionCanceled are final.
    pub fn is_retryable(&self) -> bool {
        matches!(self.codes.first(), Some(1 | 2))
            || self.is_throttling()
            || self.exception_name() == Some("InternalServerError")
            || self.codes == [4, 23, 31, 33]
    }

    /// The write may or may not have happened (`[1,37,38,53]`, `[1,37,38,55]`,
    /// `[*,37,*,39,47]`): do not retry non-idempotent writes blindly (Node's rule).
    pub fn is_write_outcome_ambiguous(&self) -> bool {
        let c = &self.codes;
        c.as_slice() == [1, 37, 38, 53]
            || c.as_slice() == [1, 37, 38, 55]
            || (c.len() == 5 && c[1] == 37 && c[3] == 39 && c[4] == 47)
    }

    /// The cancellation reasons as SDK values, old items decoded and completed with the
    /// request keys (`keys[i]` = key of transaction item `i`).
    pub fn sdk_cancellation_reasons(
        &self,
        keys: &[Item],
        catalog: &dyn Catalog,
    ) -> Result<Option<Vec<CancellationReason>>, CodecError> {
        let Some(reasons) = &self.cancellation_reasons else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(reasons.len());
        for (i, r) in reasons.iter().enumerate() {
            let item = match &r.item {
                Some(content) => {
                    let mut item = decode_values(content, catalog)?;
                    if let Some(k) = keys.get(i) {
                        item.extend(k.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    Some(item)
                }
                None => None,
            };
            out.push(
                CancellationReason::builder()
                    .set_code(r.code.clone())
                    .set_message(r.message.clone())
                    .set_item(item)
                    .build(),
            );
        }
        Ok(Some(out))
    }

    /// Reads `message, details` after a non-empty code array.
    pub(crate) fn read_body(r: &mut Reader<'_>, codes: Vec<i64>) -> Result<Self, CodecError> {
        let message = if r.null_or()? {
            String::new()
        } else {
            r.str()?.into_owned()
        };
        let mut e = ServiceError::new(codes, message);
        if let Some(mut seq) = r.array_or_null()? {
            let mut i = 0;
            while r.next(&mut seq)? {
                match i {
                    0 => e.request_id = opt_text(r)?,
                    1 => e.error_code = opt_text(r)?,
                    2 => {
                        e.status = if r.null_or()? {
                            None
                        } else {
                            u16::try_from(r.u64()?).ok()
                        }
                    }
                    3 => e.cancellation_reasons = read_reasons(r)?,
                    _ => r.skip()?,
                }
                i += 1;
            }
        }
        Ok(e)
    }

    /// Appends the complete error reply frame.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.array(self.codes.len());
        for c in &self.codes {
            w.i64(*c);
        }
        w.str(&self.message);
        let n = if self.cancellation_reasons.is_some() {
            4
        } else {
            3
        };
        w.array(n);
        opt_str(&mut w, self.request_id.as_deref());
        opt_str(&mut w, self.error_code.as_deref());
        match self.status {
            Some(s) => w.u64(u64::from(s)),
            None => w.null(),
        };
        if let Some(reasons) = &self.cancellation_reasons {
            w.array(reasons.len() * 3);
            for reason in reasons {
                opt_str(&mut w, reason.code.as_deref());
                opt_str(&mut w, reason.message.as_deref());
                match &reason.item {
                    Some(b) => w.bytes(b),
                    None => w.null(),
                };
            }
        }
    }
}

fn opt_str(w: &mut Writer<'_>, s: Option<&str>) {
    match s {
        Some(s) => w.str(s),
        None => w.null(),
    };
}

fn opt_text(r: &mut Reader<'_>) -> Result<Option<String>, CodecError> {
    if r.null_or()? {
        return Ok(None);
    }
    Ok(Some(r.str()?.into_owned()))
}

fn read_reasons(r: &mut Reader<'_>) -> Result<Option<Vec<CancellationReasonRaw>>, CodecError> {
    let Some(mut seq) = r.array_or_null()? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    loop {
        if !r.next(&mut seq)? {
            break;
        }
        let code = opt_text(r)?;
        if !r.next(&mut seq)? {
            return Err(r.malformed("cancellation reasons are not triples"));
        }
        let message = opt_text(r)?;
        if !r.next(&mut seq)? {
            return Err(r.malformed("cancellation reasons are not triples"));
        }
        let item = match r.datatype()? {
            Type::Null => {
                r.null_or()?;
                None
            }
            _ => Some(r.bytes()?.into_owned()),
        };
        out.push(CancellationReasonRaw {
            code,
            message,
            item,
        });
    }
    Ok(Some(out))
}
