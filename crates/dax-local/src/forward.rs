//! Serving one request: decode with the codec's server decoders, decompile the expressions,
//! call the backend's typed operation, encode the reply (or the DAX error reply).
//!
//! The steps all data operations share are generic over the protocol's
//! [`Operation`](codec::Operation) ([`Backend::serve`] dispatches from the protocol's list of
//! operations); what differs per operation (its log entry and its backend call) is its
//! [`Forward`] implementation.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Get, ReturnValue, Select, TransactGetItem};

use super::cache::{self, Cached, Caches};
use super::errors::{from_sdk, transact_get_reasons, validation, with_reasons};
use super::faults::Faults;
use super::log::{FaultKind, Outcome};
use super::schema::Schemas;
use xacct_dax_protocol::codec::{
    self, op, Catalog, CodecError, Item, Method, Operation, ProjectionPaths, ServiceError,
};
use xacct_dax_protocol::expr::{self, CompiledExpressions};

/// A reply ready to write, and what the request log should say about it.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) reply: Vec<u8>,
    pub(crate) outcome: Outcome,
}

/// Where a request is served: the fault switches, the node it came in on, and the nodes a
/// write through the gateway updates (the leader first, then every other live node: see the
/// replication rule in `docs/dax-local-cache.md`).
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) faults: &'a Faults,
    pub(crate) node: Option<usize>,
    pub(crate) write_nodes: Vec<usize>,
}

/// Tables and keys of a request, for the request log.
pub(crate) type Note<'a> = &'a (dyn Fn(Vec<String>, Vec<Item>) + Send + Sync);

/// The backend: the DynamoDB client and the shared catalog.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) schemas: Arc<Schemas>,
    /// Every node's caches (holding nothing with the cache off).
    pub(crate) caches: Caches,
    request_ids: AtomicU64,
}

/// A fluent builder with the given fields copied from a decoded input. The SDK's operation
/// inputs cannot be turned back into builders, so each operation's [`Forward::forward`] lists
/// the fields the DAX decoders set (expressions are set separately, from the decompiled text).
macro_rules! fluent {
    ($builder:expr, $input:expr, { $($set:ident : $field:ident),* $(,)? }) => {{
        let i = $input;
        $builder $(.$set(i.$field))*
    }};
}

fn non_empty<K, V>(m: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

/// The request's expressions to forward, back as text: names bare where DynamoDB allows it,
/// `#n` placeholders for the rest (`expr::decompile_bare`).
///
/// The projection is **not** forwarded: like a DAX node, which projects from the whole item it
/// holds, the gateway reads whole items and the reply encoder extracts the projected paths
/// ([`ProjectionPaths`]). Forwarding it would be wrong for list indexes: DynamoDB compacts a
/// projected list (`l[1]` comes back as a one-element list), while DAX replies carry each
/// path's value by its position in the projection.
fn decompile(e: &CompiledExpressions) -> Result<expr::Expressions, Box<ServiceError>> {
    let mut forwarded = e.clone(); // `Bytes` clones share the buffers
    forwarded.projection = None;
    expr::decompile_bare(&forwarded).map_err(|err| {
        Box::new(validation(format!(
            "the request's expressions cannot be decompiled for the backend: {err}"
        )))
    })
}

/// Query/Scan inputs read whole items (see [`decompile`]): `SPECIFIC_ATTRIBUTES` names the
/// projection, which is not forwarded, so it becomes the default.
trait WholeItems {
    fn select_mut(&mut self) -> &mut Option<Select>;
}

impl WholeItems for QueryInput {
    fn select_mut(&mut self) -> &mut Option<Select> {
        &mut self.select
    }
}

impl WholeItems for ScanInput {
    fn select_mut(&mut self) -> &mut Option<Select> {
        &mut self.select
    }
}

fn whole_items<T: WholeItems>(mut input: T) -> T {
    if *input.select_mut() == Some(Select::SpecificAttributes) {
        *input.select_mut() = None;
    }
    input
}

/// The paths of a request's projection: the reply encoder projects the whole items the backend
/// returns (see [`decompile`]).
fn projection(e: &CompiledExpressions) -> Result<Option<ProjectionPaths>, Box<ServiceError>> {
    e.projection_paths()
        .map_err(|err| Box::new(validation(format!("invalid ProjectionExpression: {err}"))))
}

/// The value of `$result`, or an early return of its error as a DAX error reply, passed
/// through `$wrap` when given (`Ok` where the function returns a `Result`).
macro_rules! or_reply {
    ($backend:expr, $result:expr $(, $wrap:path)?) => {
        match $result {
            Ok(v) => v,
            Err(err) => return $($wrap)?($backend.error(*err)),
        }
    };
}

impl Backend {
    pub(crate) fn new(client: aws_sdk_dynamodb::Client, caches: Caches) -> Self {
        Backend {
            schemas: Arc::new(Schemas::new(client.clone())),
            caches,
            client,
            request_ids: AtomicU64::new(1),
        }
    }

    /// An error reply (request id filled in when the backend gave none).
    pub(crate) fn error(&self, mut err: ServiceError) -> Handled {
        if err.request_id.is_none() {
            err.request_id = Some(format!(
                "dax-gateway-{}",
                self.request_ids.fetch_add(1, Ordering::Relaxed)
            ));
        }
        let mut reply = Vec::new();
        err.encode(&mut reply);
        Handled {
            reply,
            outcome: Outcome::ServiceError(err.exception_name().unwrap_or("Unknown").to_owned()),
        }
    }

    fn fault(&self, err: ServiceError, kind: FaultKind) -> Handled {
        let mut h = self.error(err);
        h.outcome = Outcome::Fault(kind);
        h
    }

    /// A success reply from an encoder; an output the codec cannot encode is an
    /// InternalServerError reply.
    fn reply(&self, enc: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>) -> Handled {
        let mut reply = Vec::new();
        match enc(&mut reply) {
            Ok(()) => Handled {
                reply,
                outcome: Outcome::Ok,
            },
            Err(e) => self.error(ServiceError::from_exception(
                "InternalServerError",
                format!("the gateway cannot encode the backend's reply: {e}"),
            )),
        }
    }

    /// The backend error as a DAX error reply; a missing table is forgotten.
    fn backend_error<E, R>(&self, err: &SdkError<E, R>, tables: &[&str]) -> Handled
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let e = from_sdk(err);
        if e.exception_name() == Some("ResourceNotFoundException") {
            for t in tables {
                self.schemas.forget(t);
            }
        }
        self.error(e)
    }

    /// Runs a decoder, describing tables the catalog does not know yet. `Ok(Err(_))` is the
    /// error reply for a table that cannot be described; `Err` a frame that does not decode.
    async fn decode<T>(
        &self,
        f: impl Fn(&dyn Catalog) -> Result<T, CodecError>,
    ) -> Result<Result<T, Box<ServiceError>>, CodecError> {
        let mut loaded = 0;
        loop {
            match f(self.schemas.as_ref()) {
                Err(CodecError::MissingKeySchema { table }) if loaded <= 100 => {
                    loaded += 1;
                    if let Err(e) = self.schemas.load(&table).await {
                        return Ok(Err(e));
                    }
                }
                other => return other.map(Ok),
            }
        }
    }

    fn key_of(&self, table: &str, item: &Item) -> Item {
        self.schemas
            .key_schema(table)
            .map(|s| s.key_of(item))
            .unwrap_or_default()
    }

    /// Serves one request (everything but `authorizeConnection` and `endpoints`). `Err` means
    /// the frame does not decode: the connection must be closed without a reply.
    pub(crate) async fn serve(
        &self,
        method: Method,
        frame: &[u8],
        note: Note<'_>,
        ctx: &Ctx<'_>,
    ) -> Result<Handled, CodecError> {
        match method {
            Method::DefineKeySchema => {
                let table = codec::decode_define_key_schema_request(frame)?;
                note(vec![table.clone()], vec![]);
                let schema = or_reply!(self, self.schemas.load(&table).await, Ok);
                return Ok(self.reply(|out| {
                    codec::encode_define_key_schema_response(&schema, out);
                    Ok(())
                }));
            }
            Method::DefineAttributeListId => {
                let names = codec::decode_define_attribute_list_id_request(frame)?;
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let id = or_reply!(
                    self,
                    self.schemas
                        .attribute_list_id(&refs)
                        .ok_or_else(|| Box::new(validation("attribute list cannot be registered"))),
                    Ok
                );
                return Ok(self.reply(|out| {
                    codec::encode_define_attribute_list_id_response(id, out);
                    Ok(())
                }));
            }
            Method::DefineAttributeList => {
                let id = codec::decode_define_attribute_list_request(frame)?;
                let names = or_reply!(
                    self,
                    self.schemas
                        .attribute_names(id)
                        .ok_or_else(|| Box::new(validation(format!(
                            "unknown attribute list id {id}"
                        )))),
                    Ok
                );
                return Ok(self.reply(|out| {
                    codec::encode_define_attribute_list_response(&names, out);
                    Ok(())
                }));
            }
            _ => {}
        }
        macro_rules! data_operations {
            ($($op:ident),*) => {
                match method {
                    $(Method::$op => self.forward::<op::$op>(frame, note, ctx).await,)*
                    _ => Err(CodecError::invalid("method", "not served here")),
                }
            };
        }
        xacct_dax_protocol::for_each_operation!(data_operations)
    }

    /// The steps every data operation shares: decode (describing unknown tables), log, the
    /// throttle fault; then the operation's own [`Forward::forward`].
    async fn forward<O: Forward>(
        &self,
        frame: &[u8],
        note: Note<'_>,
        ctx: &Ctx<'_>,
    ) -> Result<Handled, CodecError> {
        self.caches.count_request(ctx.node);
        let (input, exprs) = or_reply!(
            self,
            self.decode(|c| O::decode_request(frame, c)).await?,
            Ok
        );
        let (tables, keys) = O::logged(self, &input);
        note(tables, keys);
        if let Some(h) = self.throttled(ctx.faults) {
            return Ok(h);
        }
        Ok(O::forward(self, input, exprs, ctx).await)
    }

    /// The backend's answer to `input` as a reply: the output encoded (with the request's
    /// projection), or the error (see [`Backend::backend_error`]).
    fn respond<O, E, R>(
        &self,
        result: Result<O::Output, SdkError<E, R>>,
        input: &O::Input,
        projection: &O::Projection,
        tables: &[&str],
    ) -> Handled
    where
        O: Operation,
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match result {
            Ok(out) => self
                .reply(|o| O::encode_response(&out, input, projection, self.schemas.as_ref(), o)),
            Err(e) => self.backend_error(&e, tables),
        }
    }

    /// Reads items back after a write (TransactGetItems, strongly consistent, 100 at a time)
    /// and puts them, or "not found", into the item caches of `nodes`. An item that cannot be
    /// read back is dropped from those caches instead.
    async fn refresh(&self, nodes: &[usize], keys: Vec<(String, Item)>) {
        for chunk in keys.chunks(100) {
            let gets: Vec<TransactGetItem> = chunk
                .iter()
                .filter_map(|(table, key)| {
                    let get = Get::builder()
                        .table_name(table)
                        .set_key(Some(key.clone()))
                        .build()
                        .ok()?;
                    Some(TransactGetItem::builder().get(get).build())
                })
                .collect();
            let res = self
                .client
                .transact_get_items()
                .set_transact_items(Some(gets))
                .send()
                .await;
            match res {
                Ok(out) if out.responses().len() == chunk.len() => {
                    for ((table, key), r) in chunk.iter().zip(out.responses()) {
                        self.caches
                            .write_through(nodes, table, key, r.item().cloned());
                    }
                }
                _ => {
                    for (table, key) in chunk {
                        self.caches.invalidate(nodes, table, key);
                    }
                }
            }
        }
    }

    fn throttled(&self, faults: &Faults) -> Option<Handled> {
        faults.throttle().then(|| {
            self.fault(
                ServiceError::from_exception(
                    "ProvisionedThroughputExceededException",
                    "The level of configured provisioned throughput for the table was exceeded \
                     (injected by the DAX gateway's throttle switch)",
                ),
                FaultKind::Throttle,
            )
        })
    }
}

/// How the gateway forwards one DAX data operation to the backend. The backend call is each
/// operation's own: the SDK's fluent builders differ in their fields, and an SDK input cannot
/// be turned back into a builder (see [`fluent!`]).
trait Forward: Operation {
    /// The request's tables and keys, for the request log.
    fn logged(backend: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>);

    /// Calls the backend with the decoded request (expressions back as text); the reply.
    fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: Self::Expressions,
        ctx: &Ctx<'_>,
    ) -> impl Future<Output = Handled> + Send;
}

fn single_table(table: Option<&str>) -> String {
    table.unwrap_or_default().to_owned()
}

impl Forward for op::GetItem {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        (
            vec![single_table(input.table_name())],
            vec![input.key().cloned().unwrap_or_default()],
        )
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let paths = or_reply!(backend, projection(&exprs));
        // Eventually consistent reads go through the node's item cache.
        let cached = backend.caches.items_on() && input.consistent_read != Some(true);
        // The key is copied only when the cache needs it (not on the pass-through path).
        let key = cached.then(|| input.key().cloned().unwrap_or_default());
        if let Some(key) = &key {
            if let Some(hit) = backend.caches.get_item(ctx.node, &table, key) {
                let out = GetItemOutput::builder().set_item(hit).build();
                return backend.reply(|o| {
                    Self::encode_response(&out, &input, &paths, backend.schemas.as_ref(), o)
                });
            }
        }
        let send = input.clone();
        let res = fluent!(backend.client.get_item(), send, {
            set_table_name: table_name,
            set_key: key,
            set_consistent_read: consistent_read,
            set_return_consumed_capacity: return_consumed_capacity,
        })
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .send()
        .await;
        if let (Some(key), Ok(out)) = (&key, &res) {
            // whole items: the projection is applied by the reply encoder
            backend
                .caches
                .fill_item(ctx.node, &table, key, out.item.clone());
        }
        backend.respond::<Self, _, _>(res, &input, &paths, &[&table])
    }
}

// PutItem, DeleteItem and UpdateItem (and Query and Scan below) have the same shape, but each
// calls its own SDK fluent builder: distinct types without a common trait, so each lists the
// fields it copies.
impl Forward for op::PutItem {
    fn logged(backend: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        let table = single_table(input.table_name());
        let key = backend.key_of(&table, input.item().unwrap_or(&Item::new()));
        (vec![table], vec![key])
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let send = input.clone();
        let res = fluent!(backend.client.put_item(), send, {
            set_table_name: table_name,
            set_item: item,
            set_return_values: return_values,
            set_return_consumed_capacity: return_consumed_capacity,
            set_return_item_collection_metrics: return_item_collection_metrics,
            set_return_values_on_condition_check_failure: return_values_on_condition_check_failure,
        })
        .set_condition_expression(text.condition)
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .set_expression_attribute_values(non_empty(text.expression_attribute_values))
        .send()
        .await;
        if res.is_ok() {
            // write-through: the item as written
            let item = input.item().cloned().unwrap_or_default();
            let key = backend.key_of(&table, &item);
            backend
                .caches
                .write_through(&ctx.write_nodes, &table, &key, Some(item));
        }
        backend.respond::<Self, _, _>(res, &input, &(), &[&table])
    }
}

impl Forward for op::DeleteItem {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        (
            vec![single_table(input.table_name())],
            vec![input.key().cloned().unwrap_or_default()],
        )
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let send = input.clone();
        let res = fluent!(backend.client.delete_item(), send, {
            set_table_name: table_name,
            set_key: key,
            set_return_values: return_values,
            set_return_consumed_capacity: return_consumed_capacity,
            set_return_item_collection_metrics: return_item_collection_metrics,
            set_return_values_on_condition_check_failure: return_values_on_condition_check_failure,
        })
        .set_condition_expression(text.condition)
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .set_expression_attribute_values(non_empty(text.expression_attribute_values))
        .send()
        .await;
        if res.is_ok() {
            // write-through: the key is now "not found"
            let key = input.key().cloned().unwrap_or_default();
            backend
                .caches
                .write_through(&ctx.write_nodes, &table, &key, None);
        }
        backend.respond::<Self, _, _>(res, &input, &(), &[&table])
    }
}

impl Forward for op::UpdateItem {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        (
            vec![single_table(input.table_name())],
            vec![input.key().cloned().unwrap_or_default()],
        )
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let mut send = input.clone();
        // With the cache on, the update asks for the whole new item (ALL_NEW) to cache it, and
        // the reply carries what the client asked for. ALL_OLD / UPDATED_OLD / UPDATED_NEW
        // cannot be cut from the new item: those are forwarded as asked and the new item is
        // read back (strongly consistent) to cache it.
        let asked = input.return_values().cloned();
        let whole = backend.caches.items_on()
            && matches!(asked, None | Some(ReturnValue::None | ReturnValue::AllNew));
        if whole {
            send.return_values = Some(ReturnValue::AllNew);
        }
        let res = fluent!(backend.client.update_item(), send, {
            set_table_name: table_name,
            set_key: key,
            set_return_values: return_values,
            set_return_consumed_capacity: return_consumed_capacity,
            set_return_item_collection_metrics: return_item_collection_metrics,
            set_return_values_on_condition_check_failure: return_values_on_condition_check_failure,
        })
        .set_update_expression(text.update)
        .set_condition_expression(text.condition)
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .set_expression_attribute_values(non_empty(text.expression_attribute_values))
        .send()
        .await;
        let key = input.key().cloned().unwrap_or_default();
        let res = match res {
            Ok(mut out) if whole => {
                let item = out.attributes.clone();
                backend
                    .caches
                    .write_through(&ctx.write_nodes, &table, &key, item);
                if asked != Some(ReturnValue::AllNew) {
                    out.attributes = None;
                }
                Ok(out)
            }
            Ok(out) => {
                if backend.caches.items_on() {
                    backend
                        .refresh(&ctx.write_nodes, vec![(table.clone(), key)])
                        .await;
                }
                Ok(out)
            }
            err => err,
        };
        backend.respond::<Self, _, _>(res, &input, &(), &[&table])
    }
}

impl Forward for op::Query {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        (vec![single_table(input.table_name())], vec![])
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let paths = or_reply!(backend, projection(&exprs));
        let cached = backend.caches.queries_on() && input.consistent_read != Some(true);
        let qkey = cached.then(|| cache::query_key(&input, &exprs));
        if let Some(k) = &qkey {
            if let Some(Cached::Query(out)) = backend.caches.get_query(ctx.node, k) {
                return backend.reply(|o| {
                    Self::encode_response(&out, &input, &paths, backend.schemas.as_ref(), o)
                });
            }
        }
        let send = whole_items(input.clone());
        let res = fluent!(backend.client.query(), send, {
            set_table_name: table_name,
            set_index_name: index_name,
            set_select: select,
            set_limit: limit,
            set_consistent_read: consistent_read,
            set_scan_index_forward: scan_index_forward,
            set_exclusive_start_key: exclusive_start_key,
            set_return_consumed_capacity: return_consumed_capacity,
        })
        .set_key_condition_expression(text.key_condition)
        .set_filter_expression(text.filter)
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .set_expression_attribute_values(non_empty(text.expression_attribute_values))
        .send()
        .await;
        if let (Some(k), Ok(out)) = (qkey, &res) {
            let mut keep = out.clone();
            keep.consumed_capacity = None; // a hit reports no capacity
            backend.caches.fill_query(ctx.node, k, Cached::Query(keep));
        }
        backend.respond::<Self, _, _>(res, &input, &paths, &[&table])
    }
}

impl Forward for op::Scan {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        (vec![single_table(input.table_name())], vec![])
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: CompiledExpressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let table = single_table(input.table_name());
        let text = or_reply!(backend, decompile(&exprs));
        let paths = or_reply!(backend, projection(&exprs));
        let cached = backend.caches.queries_on() && input.consistent_read != Some(true);
        let qkey = cached.then(|| cache::scan_key(&input, &exprs));
        if let Some(k) = &qkey {
            if let Some(Cached::Scan(out)) = backend.caches.get_query(ctx.node, k) {
                return backend.reply(|o| {
                    Self::encode_response(&out, &input, &paths, backend.schemas.as_ref(), o)
                });
            }
        }
        let send = whole_items(input.clone());
        let res = fluent!(backend.client.scan(), send, {
            set_table_name: table_name,
            set_index_name: index_name,
            set_select: select,
            set_limit: limit,
            set_consistent_read: consistent_read,
            set_exclusive_start_key: exclusive_start_key,
            set_segment: segment,
            set_total_segments: total_segments,
            set_return_consumed_capacity: return_consumed_capacity,
        })
        .set_filter_expression(text.filter)
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .set_expression_attribute_values(non_empty(text.expression_attribute_values))
        .send()
        .await;
        if let (Some(k), Ok(out)) = (qkey, &res) {
            let mut keep = out.clone();
            keep.consumed_capacity = None; // a hit reports no capacity
            backend.caches.fill_query(ctx.node, k, Cached::Scan(keep));
        }
        backend.respond::<Self, _, _>(res, &input, &paths, &[&table])
    }
}

/// The tables of a batch request, sorted.
fn sorted_tables<V>(items: &HashMap<String, V>) -> Vec<String> {
    let mut tables: Vec<String> = items.keys().cloned().collect();
    tables.sort();
    tables
}

impl Forward for op::BatchGetItem {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        let empty = HashMap::new();
        let items = input.request_items().unwrap_or(&empty);
        let tables = sorted_tables(items);
        let keys = tables
            .iter()
            .flat_map(|t| items[t].keys().iter().cloned())
            .collect();
        (tables, keys)
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: Self::Expressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let items = input.request_items().cloned().unwrap_or_default();
        let tables = sorted_tables(&items);
        let mut paths = HashMap::new();
        let mut send = items.clone();
        for (table, ka) in send.iter_mut() {
            let e = exprs.get(table).cloned().unwrap_or_default();
            if let Some(p) = or_reply!(backend, projection(&e)) {
                paths.insert(table.clone(), p);
            }
            let text = or_reply!(backend, decompile(&e));
            ka.projection_expression = None;
            ka.expression_attribute_names = non_empty(text.expression_attribute_names);
        }
        if ctx.faults.unprocessed() {
            let out = BatchGetItemOutput::builder()
                .set_unprocessed_keys(Some(items))
                .build();
            let mut h = backend.reply(|o| {
                Self::encode_response(&out, &input, &paths, backend.schemas.as_ref(), o)
            });
            h.outcome = Outcome::Fault(FaultKind::Unprocessed);
            return h;
        }
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        // Eventually consistent tables: keys the node's item cache holds are served from it,
        // the rest are read and cached.
        let cache_on = backend.caches.items_on();
        let mut hits: HashMap<String, Vec<Item>> = HashMap::new();
        if cache_on {
            for (table, ka) in send.iter_mut() {
                if ka.consistent_read == Some(true) {
                    continue;
                }
                let mut missing = Vec::new();
                for k in std::mem::take(&mut ka.keys) {
                    match backend.caches.get_item(ctx.node, table, &k) {
                        Some(Some(item)) => hits.entry(table.clone()).or_default().push(item),
                        Some(None) => {}
                        None => missing.push(k),
                    }
                }
                ka.keys = missing;
            }
            send.retain(|_, ka| !ka.keys.is_empty());
        }
        let mut out = if send.is_empty() {
            BatchGetItemOutput::builder()
                .set_responses(Some(HashMap::new()))
                .build()
        } else {
            let res = backend
                .client
                .batch_get_item()
                .set_request_items(Some(send.clone()))
                .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
                .send()
                .await;
            match res {
                Ok(out) => out,
                Err(e) => return backend.backend_error(&e, &names),
            }
        };
        if cache_on {
            for (table, ka) in &send {
                if ka.consistent_read == Some(true) {
                    continue;
                }
                let unprocessed: Vec<cache::CacheKey> = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(table))
                    .map(|u| u.keys.iter().map(|k| cache::item_key(table, k)).collect())
                    .unwrap_or_default();
                let found: HashMap<cache::CacheKey, &Item> = out
                    .responses()
                    .and_then(|r| r.get(table))
                    .map(|items| {
                        items
                            .iter()
                            .map(|i| (cache::item_key(table, &backend.key_of(table, i)), i))
                            .collect()
                    })
                    .unwrap_or_default();
                for k in &ka.keys {
                    let ck = cache::item_key(table, k);
                    if !unprocessed.contains(&ck) {
                        let item = found.get(&ck).map(|i| (*i).clone());
                        backend.caches.fill_item(ctx.node, table, k, item);
                    }
                }
            }
        }
        if !hits.is_empty() {
            let responses = out.responses.get_or_insert_with(HashMap::new);
            for (table, items) in hits {
                responses.entry(table).or_default().extend(items);
            }
        }
        backend.reply(|o| Self::encode_response(&out, &input, &paths, backend.schemas.as_ref(), o))
    }
}

impl Forward for op::BatchWriteItem {
    fn logged(backend: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        let empty = HashMap::new();
        let items = input.request_items().unwrap_or(&empty);
        let tables = sorted_tables(items);
        let mut keys = Vec::new();
        for t in &tables {
            for w in &items[t] {
                if let Some(p) = w.put_request() {
                    keys.push(backend.key_of(t, p.item()));
                } else if let Some(d) = w.delete_request() {
                    keys.push(d.key().clone());
                }
            }
        }
        (tables, keys)
    }

    async fn forward(backend: &Backend, input: Self::Input, _: (), ctx: &Ctx<'_>) -> Handled {
        let tables = sorted_tables(input.request_items().unwrap_or(&HashMap::new()));
        let catalog = backend.schemas.as_ref();
        if ctx.faults.unprocessed() {
            let out = BatchWriteItemOutput::builder()
                .set_unprocessed_items(Some(input.request_items().cloned().unwrap_or_default()))
                .build();
            let mut h =
                backend.reply(|o| codec::encode_batch_write_item_response(&out, catalog, o));
            h.outcome = Outcome::Fault(FaultKind::Unprocessed);
            return h;
        }
        let written = backend
            .caches
            .items_on()
            .then(|| input.request_items().cloned().unwrap_or_default());
        // The input moves into the call: the reply encoder does not need it.
        let res = fluent!(backend.client.batch_write_item(), input, {
            set_request_items: request_items,
            set_return_consumed_capacity: return_consumed_capacity,
            set_return_item_collection_metrics: return_item_collection_metrics,
        })
        .send()
        .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        if let (Some(written), Ok(out)) = (written, &res) {
            // write-through for every request DynamoDB processed
            let empty = HashMap::new();
            let unprocessed = out.unprocessed_items().unwrap_or(&empty);
            for (table, writes) in &written {
                let left = unprocessed.get(table).map(Vec::as_slice).unwrap_or(&[]);
                for w in writes.iter().filter(|w| !left.contains(w)) {
                    if let Some(p) = w.put_request() {
                        let key = backend.key_of(table, p.item());
                        let item = Some(p.item().clone());
                        backend
                            .caches
                            .write_through(&ctx.write_nodes, table, &key, item);
                    } else if let Some(d) = w.delete_request() {
                        backend
                            .caches
                            .write_through(&ctx.write_nodes, table, d.key(), None);
                    }
                }
            }
        }
        match res {
            Ok(out) => backend.reply(|o| codec::encode_batch_write_item_response(&out, catalog, o)),
            Err(e) => backend.backend_error(&e, &names),
        }
    }
}

/// The table of each transaction item, in order (empty for an item without one).
fn transact_get_tables(input: &<op::TransactGetItems as Operation>::Input) -> Vec<String> {
    input
        .transact_items()
        .iter()
        .map(|t| {
            t.get()
                .map(|g| g.table_name().to_owned())
                .unwrap_or_default()
        })
        .collect()
}

impl Forward for op::TransactGetItems {
    fn logged(_: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        let keys = input
            .transact_items()
            .iter()
            .map(|t| t.get().map(|g| g.key().clone()).unwrap_or_default())
            .collect();
        (dedup(&transact_get_tables(input)), keys)
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: Self::Expressions,
        _ctx: &Ctx<'_>,
    ) -> Handled {
        let tables = transact_get_tables(&input);
        let mut paths = Vec::with_capacity(tables.len());
        let mut send = input.transact_items().to_vec();
        for (i, t) in send.iter_mut().enumerate() {
            let e = exprs.get(i).cloned().unwrap_or_default();
            paths.push(or_reply!(backend, projection(&e)));
            let text = or_reply!(backend, decompile(&e));
            if let Some(g) = t.get.as_mut() {
                g.projection_expression = None;
                g.expression_attribute_names = non_empty(text.expression_attribute_names);
            }
        }
        let res = backend
            .client
            .transact_get_items()
            .set_transact_items(Some(send))
            .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
            .send()
            .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        match res {
            Err(e) => match transact_get_reasons(&e) {
                Some(reasons) => backend.error(with_reasons(
                    from_sdk(&e),
                    reasons,
                    &tables,
                    backend.schemas.as_ref(),
                )),
                None => backend.backend_error(&e, &names),
            },
            ok => backend.respond::<Self, _, _>(ok, &input, &paths, &names),
        }
    }
}

/// The table of each transaction item, in order (empty for an item without one).
fn transact_write_tables(input: &<op::TransactWriteItems as Operation>::Input) -> Vec<String> {
    input
        .transact_items()
        .iter()
        .map(|t| {
            t.condition_check()
                .map(|x| x.table_name())
                .or(t.put().map(|x| x.table_name()))
                .or(t.delete().map(|x| x.table_name()))
                .or(t.update().map(|x| x.table_name()))
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

impl Forward for op::TransactWriteItems {
    fn logged(backend: &Backend, input: &Self::Input) -> (Vec<String>, Vec<Item>) {
        let keys = codec::transact_write_keys(input, backend.schemas.as_ref()).unwrap_or_default();
        (dedup(&transact_write_tables(input)), keys)
    }

    async fn forward(
        backend: &Backend,
        input: Self::Input,
        exprs: Self::Expressions,
        ctx: &Ctx<'_>,
    ) -> Handled {
        let tables = transact_write_tables(&input);
        let mut send = input.transact_items().to_vec();
        for (i, t) in send.iter_mut().enumerate() {
            let e = exprs.get(i).cloned().unwrap_or_default();
            let text = or_reply!(backend, decompile(&e));
            let names = non_empty(text.expression_attribute_names);
            let values = non_empty(text.expression_attribute_values);
            if let Some(c) = t.condition_check.as_mut() {
                c.condition_expression = text.condition.unwrap_or_default();
                c.expression_attribute_names = names;
                c.expression_attribute_values = values;
            } else if let Some(p) = t.put.as_mut() {
                p.condition_expression = text.condition;
                p.expression_attribute_names = names;
                p.expression_attribute_values = values;
            } else if let Some(d) = t.delete.as_mut() {
                d.condition_expression = text.condition;
                d.expression_attribute_names = names;
                d.expression_attribute_values = values;
            } else if let Some(u) = t.update.as_mut() {
                u.update_expression = text.update.unwrap_or_default();
                u.condition_expression = text.condition;
                u.expression_attribute_names = names;
                u.expression_attribute_values = values;
            }
        }
        let res = backend
            .client
            .transact_write_items()
            .set_transact_items(Some(send))
            .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
            .set_return_item_collection_metrics(input.return_item_collection_metrics().cloned())
            .set_client_request_token(input.client_request_token().map(str::to_owned))
            .send()
            .await;
        if res.is_ok() && backend.caches.items_on() {
            // Like DAX, read back every item the transaction wrote to refresh the item cache.
            let written: Vec<(String, Item)> = input
                .transact_items()
                .iter()
                .filter_map(|t| {
                    if let Some(p) = t.put() {
                        let table = p.table_name().to_owned();
                        let key = backend.key_of(&table, p.item());
                        Some((table, key))
                    } else if let Some(u) = t.update() {
                        Some((u.table_name().to_owned(), u.key().clone()))
                    } else {
                        t.delete()
                            .map(|d| (d.table_name().to_owned(), d.key().clone()))
                    }
                })
                .collect();
            backend.refresh(&ctx.write_nodes, written).await;
        }
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        let reasons = match &res {
            Err(SdkError::ServiceError(se)) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    Some(c.cancellation_reasons())
                }
                _ => None,
            },
            _ => None,
        };
        match (reasons, &res) {
            (Some(r), Err(e)) => backend.error(with_reasons(
                from_sdk(e),
                r,
                &tables,
                backend.schemas.as_ref(),
            )),
            _ => backend.respond::<Self, _, _>(res, &input, &(), &names),
        }
    }
}

fn dedup(tables: &[String]) -> Vec<String> {
    let mut t = tables.to_vec();
    t.sort();
    t.dedup();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use xacct_dax_protocol::expr::ExpressionKind;

    /// One request from an unauthenticated client must not take the server down: a filter of a
    /// million nested NOTs (2 MB) is a ValidationException, on a tokio worker's 2 MiB stack.
    #[test]
    fn a_deeply_nested_tree_is_a_validation_error_not_a_stack_overflow() {
        let mut filter = vec![0x83, 0x01];
        for _ in 0..1_000_000 {
            filter.extend([0x82, 0x08]);
        }
        filter.extend([
            0x83, 0x00, 0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00, 0x81, 0x61, b'x',
        ]);
        let exprs = CompiledExpressions::new().with(ExpressionKind::Filter, filter);
        let err = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || decompile(&exprs).map(drop))
            .unwrap()
            .join()
            .expect("no panic")
            .unwrap_err();
        assert_eq!(err.exception_name(), Some("ValidationException"));
        assert!(err.to_string().contains("nested deeper than"), "{err}");
    }
}
