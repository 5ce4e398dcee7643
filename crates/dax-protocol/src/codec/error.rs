//! The codec's error type.

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a DAX frame could not be encoded or decoded.
///
/// Decoding never panics and never allocates more than the input justifies: hostile input ends
/// in [`CodecError::Malformed`], [`CodecError::Truncated`] or [`CodecError::LimitExceeded`].
/// The three `Missing*`/`Unknown*` variants are not failures of the frame: they say which
/// control call (`defineKeySchema`, `defineAttributeListId`, `defineAttributeList`) the caller
/// has to make before encoding or decoding again.
///
/// ```
/// use xacct_dax_protocol::codec::{CodecError, decode_endpoints_response};
///
/// // A success header followed by nothing: the result item is missing.
/// let err = decode_endpoints_response(&[0x80]).unwrap_err();
/// assert!(matches!(err, CodecError::Truncated));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ends inside a CBOR item (or before an item the frame requires).
    #[error("DAX frame is truncated")]
    Truncated,
    /// The input is not the CBOR this protocol position requires.
    #[error("malformed DAX frame at byte {at}: {what}")]
    Malformed {
        /// What was expected or found.
        what: String,
        /// Offset of the offending item in the decoded slice.
        at: usize,
        /// The CBOR library's error, when it produced one.
        #[source]
        source: Option<BoxError>,
    },
    /// A length, count or nesting depth exceeds the codec's hard limits.
    #[error("DAX frame exceeds the codec's limit on {what}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
    },
    /// Encoding or decoding a key needs the table's key schema (`defineKeySchema`).
    #[error("no key schema for table {table:?} (call defineKeySchema)")]
    MissingKeySchema {
        /// The table.
        table: String,
    },
    /// Encoding an item needs the id of this attribute-name list (`defineAttributeListId`).
    #[error("no attribute-list id for {names:?} (call defineAttributeListId)")]
    MissingAttributeListId {
        /// The sorted attribute names.
        names: Vec<String>,
    },
    /// Decoding an item needs the names of this attribute list (`defineAttributeList`).
    #[error("attribute list {id} is unknown (call defineAttributeList)")]
    UnknownAttributeList {
        /// The list id.
        id: i64,
    },
    /// A value handed to an encoder cannot be represented (bad number, missing key, ...).
    #[error("invalid {what}: {problem}")]
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl CodecError {
    pub(crate) fn malformed(what: impl Into<String>, at: usize) -> Self {
        CodecError::Malformed {
            what: what.into(),
            at,
            source: None,
        }
    }

    /// An input the codec cannot encode or serve: `what` names it, `problem` says why.
    ///
    /// ```
    /// let e = xacct_dax_protocol::codec::CodecError::invalid("method", "not served here");
    /// assert_eq!(e.to_string(), "invalid method: not served here");
    /// ```
    pub fn invalid(what: &'static str, problem: impl Into<String>) -> Self {
        CodecError::InvalidInput {
            what,
            problem: problem.into(),
        }
    }

    pub(crate) fn from_cbor(err: minicbor::decode::Error, at: usize) -> Self {
        if err.is_end_of_input() {
            return CodecError::Truncated;
        }
        CodecError::Malformed {
            what: "invalid CBOR".to_owned(),
            at: err.position().unwrap_or(at),
            source: Some(Box::new(err)),
        }
    }

    /// True when the error only asks for a control call (key schema or attribute list) to be
    /// made first; the same input will encode or decode once the answer is known.
    ///
    /// ```
    /// use xacct_dax_protocol::codec::CodecError;
    ///
    /// let e = CodecError::MissingKeySchema { table: "t".into() };
    /// assert!(e.is_missing_metadata());
    /// ```
    pub fn is_missing_metadata(&self) -> bool {
        matches!(
            self,
            CodecError::MissingKeySchema { .. }
                | CodecError::MissingAttributeListId { .. }
                | CodecError::UnknownAttributeList { .. }
        )
    }
}
