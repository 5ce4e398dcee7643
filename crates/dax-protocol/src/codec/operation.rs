//! The ten DAX data operations as types: one zero-sized marker per operation in [`op`], each
//! implementing [`Operation`] (its SDK types, its [`Method`] and its four codec functions), and
//! [`for_each_operation!`](crate::for_each_operation), the one list of them that clients and
//! servers generate their dispatch from.

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};

use super::catalog::Catalog;
use super::error::CodecError;
use super::method::Method;
use super::projection::ProjectionPaths;
use super::response::Reply;
use super::{request, response};
use crate::expr::CompiledExpressions;

/// One DAX data operation: its SDK input and output, its [`Method`], and the codec functions
/// of both directions (a client encodes requests and decodes responses, a server the reverse).
///
/// Implemented by the zero-sized markers in [`op`]; [`for_each_operation!`](crate::for_each_operation)
/// lists them all. Each function is also available as a free function of [`codec`](super)
/// (`encode_get_item_request`, …).
///
/// ```
/// use aws_sdk_dynamodb::operation::get_item::GetItemInput;
/// use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
/// use xacct_dax_protocol::codec::{op, KeyAttribute, KeySchema, MemoryCatalog, Method, Operation};
///
/// /// A generic round trip: any operation's request, encoded and decoded back.
/// fn round_trip<O: Operation>(input: &O::Input, catalog: &MemoryCatalog) -> O::Input {
///     let mut frame = Vec::new();
///     O::encode_request(input, &O::Expressions::default(), catalog, &mut frame).unwrap();
///     O::decode_request(&frame, catalog).unwrap().0
/// }
///
/// let catalog = MemoryCatalog::default();
/// catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
/// let input = GetItemInput::builder().table_name("t")
///     .key("pk", AttributeValue::S("k".into())).build()?;
/// assert_eq!(round_trip::<op::GetItem>(&input, &catalog).key(), input.key());
/// assert_eq!(<op::GetItem as Operation>::METHOD, Method::GetItem);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Operation: Debug + Copy + Default + Send + Sync + 'static {
    /// The SDK input.
    type Input: Clone + Debug + Send + Sync + 'static;
    /// The SDK output.
    type Output: Debug + Send + Sync + 'static;
    /// The compiled expressions a request carries besides its input: one
    /// [`CompiledExpressions`], one per table (BatchGetItem), one per item (transactions), or
    /// `()` (BatchWriteItem).
    type Expressions: Clone + Default + Debug + Send + Sync + 'static;
    /// What the reply codec needs from the request's projection: the paths of one projection,
    /// one per table, one per item, or `()` for operations whose replies carry no projected
    /// items.
    type Projection: Default + Debug + Send + Sync + 'static;

    /// The DAX method.
    const METHOD: Method;
    /// The DynamoDB operation name (as in `x-amz-target`: `GetItem`, …).
    const NAME: &'static str;

    /// The projection paths of a request's compiled expressions.
    fn projection(exprs: &Self::Expressions) -> Result<Self::Projection, CodecError>;

    /// Appends a request frame (client side); on error `out` is left as it was.
    fn encode_request(
        input: &Self::Input,
        exprs: &Self::Expressions,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError>;

    /// Reads a request frame (server side).
    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(Self::Input, Self::Expressions), CodecError>;

    /// Appends a success reply (server side) for `output`, the answer to `input`.
    fn encode_response(
        output: &Self::Output,
        input: &Self::Input,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError>;

    /// Reads a reply frame (client side): the output or the DAX error the server replied with.
    fn decode_response(
        frame: &[u8],
        input: &Self::Input,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
    ) -> Result<Reply<Self::Output>, CodecError>;
}

/// Calls `$callback!` with the names of the ten DAX data operations, comma-separated: each is a
/// marker type in [`codec::op`](crate::codec::op), a [`Method`](crate::codec::Method) variant
/// and a DynamoDB operation name. Clients and servers generate their per-operation dispatch
/// from it, so that an operation added here reaches every one of them.
///
/// ```
/// use xacct_dax_protocol::codec::{op, Method, Operation};
///
/// macro_rules! methods {
///     ($($op:ident),*) => { [$(<op::$op as Operation>::METHOD),*] };
/// }
/// let all: [Method; 10] = xacct_dax_protocol::for_each_operation!(methods);
/// assert_eq!(all[0], Method::GetItem);
/// ```
#[macro_export]
macro_rules! for_each_operation {
    ($callback:ident) => {
        $callback! {
            GetItem,
            PutItem,
            DeleteItem,
            UpdateItem,
            Query,
            Scan,
            BatchGetItem,
            BatchWriteItem,
            TransactGetItems,
            TransactWriteItems
        }
    };
}

/// The operation markers: one zero-sized type per DAX data operation, implementing
/// [`Operation`].
///
/// ```
/// use xacct_dax_protocol::codec::{op, Operation};
///
/// assert_eq!(<op::TransactWriteItems as Operation>::NAME, "TransactWriteItems");
/// ```
pub mod op {
    macro_rules! markers {
        ($($op:ident),*) => {$(
            #[doc = concat!("The `", stringify!($op), "` operation (see [`Operation`](super::Operation)).")]
            ///
            /// ```
            /// use xacct_dax_protocol::codec::{op, Method, Operation};
            ///
            #[doc = concat!("assert_eq!(<op::", stringify!($op), " as Operation>::METHOD, Method::", stringify!($op), ");")]
            /// ```
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
            pub struct $op;
        )*};
    }
    crate::for_each_operation!(markers);
}

/// The projection of a single-request operation.
fn single_projection(e: &CompiledExpressions) -> Result<Option<ProjectionPaths>, CodecError> {
    e.projection_paths()
}

impl Operation for op::GetItem {
    type Input = GetItemInput;
    type Output = GetItemOutput;
    type Expressions = CompiledExpressions;
    type Projection = Option<ProjectionPaths>;
    const METHOD: Method = Method::GetItem;
    const NAME: &'static str = "GetItem";

    fn projection(exprs: &CompiledExpressions) -> Result<Self::Projection, CodecError> {
        single_projection(exprs)
    }

    fn encode_request(
        input: &GetItemInput,
        exprs: &CompiledExpressions,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        request::encode_get_item_request(input, exprs, catalog, out)
    }

    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(GetItemInput, CompiledExpressions), CodecError> {
        request::decode_get_item_request(frame, catalog)
    }

    fn encode_response(
        output: &GetItemOutput,
        input: &GetItemInput,
        projection: &Option<ProjectionPaths>,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        response::encode_get_item_response(output, input, projection.as_ref(), catalog, out)
    }

    fn decode_response(
        frame: &[u8],
        input: &GetItemInput,
        projection: &Option<ProjectionPaths>,
        catalog: &dyn Catalog,
    ) -> Result<Reply<GetItemOutput>, CodecError> {
        response::decode_get_item_response(frame, input, projection.as_ref(), catalog)
    }
}

/// PutItem, DeleteItem and UpdateItem: one set of expressions, replies without projected
/// items. (A macro because the three differ only in their SDK types and codec functions.)
macro_rules! single_write {
    (
        $op:ident {
            input: $input:ty,
            output: $output:ty,
            encode_request: $encode_request:ident,
            decode_request: $decode_request:ident,
            encode_response: $encode_response:ident,
            decode_response: $decode_response:ident $(,)?
        }
    ) => {
        impl Operation for op::$op {
            type Input = $input;
            type Output = $output;
            type Expressions = CompiledExpressions;
            type Projection = ();
            const METHOD: Method = Method::$op;
            const NAME: &'static str = stringify!($op);

            fn projection(_: &CompiledExpressions) -> Result<(), CodecError> {
                Ok(())
            }

            fn encode_request(
                input: &$input,
                exprs: &CompiledExpressions,
                catalog: &dyn Catalog,
                out: &mut Vec<u8>,
            ) -> Result<(), CodecError> {
                request::$encode_request(input, exprs, catalog, out)
            }

            fn decode_request(
                frame: &[u8],
                catalog: &dyn Catalog,
            ) -> Result<($input, CompiledExpressions), CodecError> {
                request::$decode_request(frame, catalog)
            }

            fn encode_response(
                output: &$output,
                input: &$input,
                _: &(),
                catalog: &dyn Catalog,
                out: &mut Vec<u8>,
            ) -> Result<(), CodecError> {
                response::$encode_response(output, input, catalog, out)
            }

            fn decode_response(
                frame: &[u8],
                input: &$input,
                _: &(),
                catalog: &dyn Catalog,
            ) -> Result<Reply<$output>, CodecError> {
                response::$decode_response(frame, input, catalog)
            }
        }
    };
}

single_write! {
    PutItem {
        input: PutItemInput,
        output: PutItemOutput,
        encode_request: encode_put_item_request,
        decode_request: decode_put_item_request,
        encode_response: encode_put_item_response,
        decode_response: decode_put_item_response,
    }
}
single_write! {
    DeleteItem {
        input: DeleteItemInput,
        output: DeleteItemOutput,
        encode_request: encode_delete_item_request,
        decode_request: decode_delete_item_request,
        encode_response: encode_delete_item_response,
        decode_response: decode_delete_item_response,
    }
}
single_write! {
    UpdateItem {
        input: UpdateItemInput,
        output: UpdateItemOutput,
        encode_request: encode_update_item_request,
        decode_request: decode_update_item_request,
        encode_response: encode_update_item_response,
        decode_response: decode_update_item_response,
    }
}

/// Query and Scan: one set of expressions, pages of projected or whole items. (A macro because
/// the two differ only in their SDK types and codec functions.)
macro_rules! read_page {
    (
        $op:ident {
            input: $input:ty,
            output: $output:ty,
            encode_request: $encode_request:ident,
            decode_request: $decode_request:ident,
            encode_response: $encode_response:ident,
            decode_response: $decode_response:ident $(,)?
        }
    ) => {
        impl Operation for op::$op {
            type Input = $input;
            type Output = $output;
            type Expressions = CompiledExpressions;
            type Projection = Option<ProjectionPaths>;
            const METHOD: Method = Method::$op;
            const NAME: &'static str = stringify!($op);

            fn projection(exprs: &CompiledExpressions) -> Result<Self::Projection, CodecError> {
                single_projection(exprs)
            }

            fn encode_request(
                input: &$input,
                exprs: &CompiledExpressions,
                catalog: &dyn Catalog,
                out: &mut Vec<u8>,
            ) -> Result<(), CodecError> {
                request::$encode_request(input, exprs, catalog, out)
            }

            fn decode_request(
                frame: &[u8],
                catalog: &dyn Catalog,
            ) -> Result<($input, CompiledExpressions), CodecError> {
                request::$decode_request(frame, catalog)
            }

            fn encode_response(
                output: &$output,
                input: &$input,
                projection: &Option<ProjectionPaths>,
                catalog: &dyn Catalog,
                out: &mut Vec<u8>,
            ) -> Result<(), CodecError> {
                response::$encode_response(output, input, projection.as_ref(), catalog, out)
            }

            fn decode_response(
                frame: &[u8],
                input: &$input,
                projection: &Option<ProjectionPaths>,
                catalog: &dyn Catalog,
            ) -> Result<Reply<$output>, CodecError> {
                response::$decode_response(frame, input, projection.as_ref(), catalog)
            }
        }
    };
}

read_page! {
    Query {
        input: QueryInput,
        output: QueryOutput,
        encode_request: encode_query_request,
        decode_request: decode_query_request,
        encode_response: encode_query_response,
        decode_response: decode_query_response,
    }
}
read_page! {
    Scan {
        input: ScanInput,
        output: ScanOutput,
        encode_request: encode_scan_request,
        decode_request: decode_scan_request,
        encode_response: encode_scan_response,
        decode_response: decode_scan_response,
    }
}

impl Operation for op::BatchGetItem {
    type Input = BatchGetItemInput;
    type Output = BatchGetItemOutput;
    /// By table name.
    type Expressions = HashMap<String, CompiledExpressions>;
    /// By table name; tables without a projection are absent.
    type Projection = HashMap<String, ProjectionPaths>;
    const METHOD: Method = Method::BatchGetItem;
    const NAME: &'static str = "BatchGetItem";

    fn projection(exprs: &Self::Expressions) -> Result<Self::Projection, CodecError> {
        let mut paths = HashMap::new();
        for (table, e) in exprs {
            if let Some(p) = e.projection_paths()? {
                paths.insert(table.clone(), p);
            }
        }
        Ok(paths)
    }

    fn encode_request(
        input: &BatchGetItemInput,
        exprs: &Self::Expressions,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        request::encode_batch_get_item_request(input, exprs, catalog, out)
    }

    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(BatchGetItemInput, Self::Expressions), CodecError> {
        request::decode_batch_get_item_request(frame, catalog)
    }

    fn encode_response(
        output: &BatchGetItemOutput,
        _: &BatchGetItemInput,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        response::encode_batch_get_item_response(output, projection, catalog, out)
    }

    fn decode_response(
        frame: &[u8],
        input: &BatchGetItemInput,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
    ) -> Result<Reply<BatchGetItemOutput>, CodecError> {
        response::decode_batch_get_item_response(frame, input, projection, catalog)
    }
}

impl Operation for op::BatchWriteItem {
    type Input = BatchWriteItemInput;
    type Output = BatchWriteItemOutput;
    /// None: batch writes take no expressions.
    type Expressions = ();
    type Projection = ();
    const METHOD: Method = Method::BatchWriteItem;
    const NAME: &'static str = "BatchWriteItem";

    fn projection(_: &()) -> Result<(), CodecError> {
        Ok(())
    }

    fn encode_request(
        input: &BatchWriteItemInput,
        _: &(),
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        request::encode_batch_write_item_request(input, catalog, out)
    }

    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(BatchWriteItemInput, ()), CodecError> {
        Ok((
            request::decode_batch_write_item_request(frame, catalog)?,
            (),
        ))
    }

    fn encode_response(
        output: &BatchWriteItemOutput,
        _: &BatchWriteItemInput,
        _: &(),
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        response::encode_batch_write_item_response(output, catalog, out)
    }

    fn decode_response(
        frame: &[u8],
        input: &BatchWriteItemInput,
        _: &(),
        catalog: &dyn Catalog,
    ) -> Result<Reply<BatchWriteItemOutput>, CodecError> {
        response::decode_batch_write_item_response(frame, input, catalog)
    }
}

impl Operation for op::TransactGetItems {
    type Input = TransactGetItemsInput;
    type Output = TransactGetItemsOutput;
    /// By item position.
    type Expressions = Vec<CompiledExpressions>;
    /// By item position.
    type Projection = Vec<Option<ProjectionPaths>>;
    const METHOD: Method = Method::TransactGetItems;
    const NAME: &'static str = "TransactGetItems";

    fn projection(exprs: &Self::Expressions) -> Result<Self::Projection, CodecError> {
        exprs
            .iter()
            .map(CompiledExpressions::projection_paths)
            .collect()
    }

    fn encode_request(
        input: &TransactGetItemsInput,
        exprs: &Self::Expressions,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        request::encode_transact_get_items_request(input, exprs, catalog, out)
    }

    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(TransactGetItemsInput, Self::Expressions), CodecError> {
        request::decode_transact_get_items_request(frame, catalog)
    }

    fn encode_response(
        output: &TransactGetItemsOutput,
        input: &TransactGetItemsInput,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        response::encode_transact_get_items_response(output, input, projection, catalog, out)
    }

    fn decode_response(
        frame: &[u8],
        input: &TransactGetItemsInput,
        projection: &Self::Projection,
        catalog: &dyn Catalog,
    ) -> Result<Reply<TransactGetItemsOutput>, CodecError> {
        response::decode_transact_get_items_response(frame, input, projection, catalog)
    }
}

impl Operation for op::TransactWriteItems {
    type Input = TransactWriteItemsInput;
    type Output = TransactWriteItemsOutput;
    /// By item position.
    type Expressions = Vec<CompiledExpressions>;
    type Projection = ();
    const METHOD: Method = Method::TransactWriteItems;
    const NAME: &'static str = "TransactWriteItems";

    fn projection(_: &Self::Expressions) -> Result<(), CodecError> {
        Ok(())
    }

    fn encode_request(
        input: &TransactWriteItemsInput,
        exprs: &Self::Expressions,
        catalog: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        request::encode_transact_write_items_request(input, exprs, catalog, out)
    }

    fn decode_request(
        frame: &[u8],
        catalog: &dyn Catalog,
    ) -> Result<(TransactWriteItemsInput, Self::Expressions), CodecError> {
        request::decode_transact_write_items_request(frame, catalog)
    }

    fn encode_response(
        output: &TransactWriteItemsOutput,
        _: &TransactWriteItemsInput,
        _: &(),
        _: &dyn Catalog,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        response::encode_transact_write_items_response(output, out)
    }

    fn decode_response(
        frame: &[u8],
        input: &TransactWriteItemsInput,
        _: &(),
        catalog: &dyn Catalog,
    ) -> Result<Reply<TransactWriteItemsOutput>, CodecError> {
        response::decode_transact_write_items_response(frame, input, catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_data_method_once() {
        macro_rules! check {
            ($($op:ident),*) => {{
                let methods = [$(<op::$op as Operation>::METHOD),*];
                let names = [$(<op::$op as Operation>::NAME),*];
                $(assert_eq!(<op::$op as Operation>::METHOD, Method::$op);)*
                (methods, names)
            }};
        }
        let (methods, names) = crate::for_each_operation!(check);
        let data: Vec<Method> = Method::ALL[5..].to_vec();
        let mut sorted = methods.to_vec();
        sorted.sort_by_key(|m| Method::ALL.iter().position(|x| x == m));
        assert_eq!(sorted, data);
        for (m, n) in methods.iter().zip(names) {
            let mut expected = m.name().to_owned();
            expected[..1].make_ascii_uppercase();
            assert_eq!(n, expected);
        }
    }
}
