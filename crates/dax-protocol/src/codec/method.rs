//! Method ids and arities (docs/dax-protocol.md §4.1).

/// A DAX method: its wire id, how many positional arguments its request carries, and how many
/// top-level result items follow a success header.
///
/// ```
/// use xacct_dax_protocol::codec::Method;
///
/// assert_eq!(Method::from_id(263244906), Some(Method::GetItem));
/// assert_eq!(Method::GetItem.arity(), 3);
/// assert_eq!(Method::BatchWriteItem.result_items(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `authorizeConnection` (no reply).
    AuthorizeConnection,
    /// `endpoints` (cluster discovery).
    Endpoints,
    /// `defineKeySchema`.
    DefineKeySchema,
    /// `defineAttributeListId`.
    DefineAttributeListId,
    /// `defineAttributeList`.
    DefineAttributeList,
    /// `getItem`.
    GetItem,
    /// `putItem`.
    PutItem,
    /// `deleteItem`.
    DeleteItem,
    /// `updateItem`.
    UpdateItem,
    /// `query`.
    Query,
    /// `scan`.
    Scan,
    /// `batchGetItem`.
    BatchGetItem,
    /// `batchWriteItem`.
    BatchWriteItem,
    /// `transactGetItems`.
    TransactGetItems,
    /// `transactWriteItems`.
    TransactWriteItems,
}

/// The DAX service id: the first item of every request.
pub(crate) const SERVICE_ID: u64 = 1;

impl Method {
    /// Every method, in protocol-doc order.
    pub const ALL: [Method; 15] = [
        Method::AuthorizeConnection,
        Method::Endpoints,
        Method::DefineKeySchema,
        Method::DefineAttributeListId,
        Method::DefineAttributeList,
        Method::GetItem,
        Method::PutItem,
        Method::DeleteItem,
        Method::UpdateItem,
        Method::Query,
        Method::Scan,
        Method::BatchGetItem,
        Method::BatchWriteItem,
        Method::TransactGetItems,
        Method::TransactWriteItems,
    ];

    /// The wire id (a signed 32-bit value).
    pub const fn id(self) -> i32 {
        match self {
            Method::AuthorizeConnection => 1489122155,
            Method::Endpoints => 455855874,
            Method::DefineKeySchema => -742646399,
            Method::DefineAttributeListId => -1230579644,
            Method::DefineAttributeList => 670678385,
            Method::GetItem => 263244906,
            Method::PutItem => -2106490455,
            Method::DeleteItem => 1013539361,
            Method::UpdateItem => 1425579023,
            Method::Query => -931250863,
            Method::Scan => -1875390620,
            Method::BatchGetItem => -697851100,
            Method::BatchWriteItem => 116217951,
            Method::TransactGetItems => 1866287579,
            Method::TransactWriteItems => -1160037738,
        }
    }

    /// The method with this wire id.
    pub fn from_id(id: i64) -> Option<Method> {
        Method::ALL.into_iter().find(|m| i64::from(m.id()) == id)
    }

    /// Number of positional request arguments (kwargs included).
    pub const fn arity(self) -> usize {
        match self {
            Method::AuthorizeConnection => 5,
            Method::Endpoints => 0,
            Method::DefineKeySchema
            | Method::DefineAttributeListId
            | Method::DefineAttributeList => 1,
            Method::GetItem | Method::DeleteItem | Method::UpdateItem | Method::Query => 3,
            Method::PutItem | Method::TransactGetItems => 4,
            Method::Scan | Method::BatchGetItem | Method::BatchWriteItem => 2,
            Method::TransactWriteItems => 9,
        }
    }

    /// Top-level items after a success header: 0 for `authorizeConnection` (no reply at all),
    /// 2 for BatchGetItem (an `array(2)` head followed by three values: the third is its own
    /// top-level item), 3 for BatchWriteItem, else 1.
    pub const fn result_items(self) -> usize {
        match self {
            Method::AuthorizeConnection => 0,
            Method::BatchGetItem => 2,
            Method::BatchWriteItem => 3,
            _ => 1,
        }
    }

    /// Whether the server replies at all.
    pub const fn has_response(self) -> bool {
        !matches!(self, Method::AuthorizeConnection)
    }

    /// The protocol name (`getItem`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Method::AuthorizeConnection => "authorizeConnection",
            Method::Endpoints => "endpoints",
            Method::DefineKeySchema => "defineKeySchema",
            Method::DefineAttributeListId => "defineAttributeListId",
            Method::DefineAttributeList => "defineAttributeList",
            Method::GetItem => "getItem",
            Method::PutItem => "putItem",
            Method::DeleteItem => "deleteItem",
            Method::UpdateItem => "updateItem",
            Method::Query => "query",
            Method::Scan => "scan",
            Method::BatchGetItem => "batchGetItem",
            Method::BatchWriteItem => "batchWriteItem",
            Method::TransactGetItems => "transactGetItems",
            Method::TransactWriteItems => "transactWriteItems",
        }
    }
}
