//! Serving one request: decode with the codec's server decoders, decompile the expressions,
//! call the backend's typed operation, encode the reply (or the DAX error reply).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::Select;
use bytes::Bytes;

use super::errors::{from_sdk, transact_get_reasons, validation, with_reasons};
use super::faults::Faults;
use super::log::{FaultKind, Outcome};
use super::schema::Schemas;
use crate::dax::codec::{self, Catalog, CodecError, Item, Method, ProjectionPaths, ServiceError};
use crate::dax::expr;

/// A reply ready to write, and what the request log should say about it.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) reply: Vec<u8>,
    pub(crate) outcome: Outcome,
}

/// Tables and keys of a request, for the request log.
pub(crate) type Note<'a> = &'a (dyn Fn(Vec<String>, Vec<Item>) + Send + Sync);

/// The backend: the DynamoDB client and the shared catalog.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) schemas: Arc<Schemas>,
    request_ids: AtomicU64,
}

/// A fluent builder with the given fields copied from a decoded input. The SDK's operation
/// inputs cannot be turned back into builders, so each handler lists the fields the DAX
/// decoders set (expressions are set separately, from the decompiled text).
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
fn decompile(e: &codec::Expressions) -> Result<expr::Expressions, Box<ServiceError>> {
    let c = expr::CompiledExpressions {
        condition: e.condition.clone().map(Bytes::from),
        key_condition: e.key_condition.clone().map(Bytes::from),
        filter: e.filter.clone().map(Bytes::from),
        update: e.update.clone().map(Bytes::from),
        projection: None,
    };
    expr::decompile_bare(&c).map_err(|err| {
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

fn projection(e: &codec::Expressions) -> Result<Option<ProjectionPaths>, Box<ServiceError>> {
    e.projection
        .as_deref()
        .map(ProjectionPaths::from_compiled)
        .transpose()
        .map_err(|err| Box::new(validation(format!("invalid ProjectionExpression: {err}"))))
}

/// Early return of a DAX error reply from inside a handler.
macro_rules! tri {
    ($self:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return Ok($self.error(*err)),
        }
    };
}

impl Backend {
    pub(crate) fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Backend {
            schemas: Arc::new(Schemas::new(client.clone())),
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
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        match method {
            Method::DefineKeySchema => {
                let table = codec::decode_define_key_schema_request(frame)?;
                note(vec![table.clone()], vec![]);
                let schema = tri!(self, self.schemas.load(&table).await);
                Ok(self.reply(|out| {
                    codec::encode_define_key_schema_response(&schema, out);
                    Ok(())
                }))
            }
            Method::DefineAttributeListId => {
                let names = codec::decode_define_attribute_list_id_request(frame)?;
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let id = tri!(
                    self,
                    self.schemas
                        .attribute_list_id(&refs)
                        .ok_or_else(|| Box::new(validation("attribute list cannot be registered")))
                );
                Ok(self.reply(|out| {
                    codec::encode_define_attribute_list_id_response(id, out);
                    Ok(())
                }))
            }
            Method::DefineAttributeList => {
                let id = codec::decode_define_attribute_list_request(frame)?;
                let names = tri!(
                    self,
                    self.schemas
                        .attribute_names(id)
                        .ok_or_else(|| Box::new(validation(format!(
                            "unknown attribute list id {id}"
                        ))))
                );
                Ok(self.reply(|out| {
                    codec::encode_define_attribute_list_response(&names, out);
                    Ok(())
                }))
            }
            Method::GetItem => self.get_item(frame, note, faults).await,
            Method::PutItem => self.put_item(frame, note, faults).await,
            Method::DeleteItem => self.delete_item(frame, note, faults).await,
            Method::UpdateItem => self.update_item(frame, note, faults).await,
            Method::Query => self.query(frame, note, faults).await,
            Method::Scan => self.scan(frame, note, faults).await,
            Method::BatchGetItem => self.batch_get(frame, note, faults).await,
            Method::BatchWriteItem => self.batch_write(frame, note, faults).await,
            Method::TransactGetItems => self.transact_get(frame, note, faults).await,
            Method::TransactWriteItems => self.transact_write(frame, note, faults).await,
            _ => Err(CodecError::invalid("method", "not served here")),
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

    async fn get_item(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_get_item_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(
            vec![table.clone()],
            vec![input.key().cloned().unwrap_or_default()],
        );
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let paths = tri!(self, projection(&exprs));
        let send = input.clone();
        let res = fluent!(self.client.get_item(), send, {
            set_table_name: table_name,
            set_key: key,
            set_consistent_read: consistent_read,
            set_return_consumed_capacity: return_consumed_capacity,
        })
        .set_expression_attribute_names(non_empty(text.expression_attribute_names))
        .send()
        .await;
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_get_item_response(
                    &out,
                    &input,
                    paths.as_ref(),
                    self.schemas.as_ref(),
                    o,
                )
            }),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn put_item(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_put_item_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(
            vec![table.clone()],
            vec![self.key_of(&table, input.item().unwrap_or(&Item::new()))],
        );
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let send = input.clone();
        let res = fluent!(self.client.put_item(), send, {
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
        Ok(match res {
            Ok(out) => self
                .reply(|o| codec::encode_put_item_response(&out, &input, self.schemas.as_ref(), o)),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn delete_item(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_delete_item_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(
            vec![table.clone()],
            vec![input.key().cloned().unwrap_or_default()],
        );
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let send = input.clone();
        let res = fluent!(self.client.delete_item(), send, {
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
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_delete_item_response(&out, &input, self.schemas.as_ref(), o)
            }),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn update_item(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_update_item_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(
            vec![table.clone()],
            vec![input.key().cloned().unwrap_or_default()],
        );
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let send = input.clone();
        let res = fluent!(self.client.update_item(), send, {
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
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_update_item_response(&out, &input, self.schemas.as_ref(), o)
            }),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn query(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_query_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(vec![table.clone()], vec![]);
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let paths = tri!(self, projection(&exprs));
        let send = whole_items(input.clone());
        let res = fluent!(self.client.query(), send, {
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
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_query_response(&out, &input, paths.as_ref(), self.schemas.as_ref(), o)
            }),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn scan(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_scan_request(frame, c))
                .await?
        );
        let table = input.table_name().unwrap_or_default().to_owned();
        note(vec![table.clone()], vec![]);
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let text = tri!(self, decompile(&exprs));
        let paths = tri!(self, projection(&exprs));
        let send = whole_items(input.clone());
        let res = fluent!(self.client.scan(), send, {
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
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_scan_response(&out, &input, paths.as_ref(), self.schemas.as_ref(), o)
            }),
            Err(e) => self.backend_error(&e, &[&table]),
        })
    }

    async fn batch_get(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_batch_get_item_request(frame, c))
                .await?
        );
        let items = input.request_items().cloned().unwrap_or_default();
        let mut tables: Vec<String> = items.keys().cloned().collect();
        tables.sort();
        let keys = tables
            .iter()
            .flat_map(|t| items[t].keys().iter().cloned())
            .collect();
        note(tables.clone(), keys);
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let mut paths = HashMap::new();
        let mut send = items.clone();
        for (table, ka) in send.iter_mut() {
            let e = exprs.get(table).cloned().unwrap_or_default();
            if let Some(p) = tri!(self, projection(&e)) {
                paths.insert(table.clone(), p);
            }
            let text = tri!(self, decompile(&e));
            ka.projection_expression = None;
            ka.expression_attribute_names = non_empty(text.expression_attribute_names);
        }
        if faults.unprocessed() {
            let out = BatchGetItemOutput::builder()
                .set_unprocessed_keys(Some(items))
                .build();
            let mut h = self.reply(|o| {
                codec::encode_batch_get_item_response(&out, &paths, self.schemas.as_ref(), o)
            });
            h.outcome = Outcome::Fault(FaultKind::Unprocessed);
            return Ok(h);
        }
        let res = self
            .client
            .batch_get_item()
            .set_request_items(Some(send))
            .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
            .send()
            .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_batch_get_item_response(&out, &paths, self.schemas.as_ref(), o)
            }),
            Err(e) => self.backend_error(&e, &names),
        })
    }

    async fn batch_write(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let input = tri!(
            self,
            self.decode(|c| codec::decode_batch_write_item_request(frame, c))
                .await?
        );
        let items = input.request_items().cloned().unwrap_or_default();
        let mut tables: Vec<String> = items.keys().cloned().collect();
        tables.sort();
        let mut keys = Vec::new();
        for t in &tables {
            for w in &items[t] {
                if let Some(p) = w.put_request() {
                    keys.push(self.key_of(t, p.item()));
                } else if let Some(d) = w.delete_request() {
                    keys.push(d.key().clone());
                }
            }
        }
        note(tables.clone(), keys);
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        if faults.unprocessed() {
            let out = BatchWriteItemOutput::builder()
                .set_unprocessed_items(Some(items))
                .build();
            let mut h = self
                .reply(|o| codec::encode_batch_write_item_response(&out, self.schemas.as_ref(), o));
            h.outcome = Outcome::Fault(FaultKind::Unprocessed);
            return Ok(h);
        }
        let res = fluent!(self.client.batch_write_item(), input, {
            set_request_items: request_items,
            set_return_consumed_capacity: return_consumed_capacity,
            set_return_item_collection_metrics: return_item_collection_metrics,
        })
        .send()
        .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        Ok(match res {
            Ok(out) => self
                .reply(|o| codec::encode_batch_write_item_response(&out, self.schemas.as_ref(), o)),
            Err(e) => self.backend_error(&e, &names),
        })
    }

    async fn transact_get(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_transact_get_items_request(frame, c))
                .await?
        );
        let gets: Vec<_> = input
            .transact_items()
            .iter()
            .map(|t| t.get().cloned())
            .collect();
        let tables: Vec<String> = gets
            .iter()
            .map(|g| {
                g.as_ref()
                    .map(|g| g.table_name().to_owned())
                    .unwrap_or_default()
            })
            .collect();
        note(
            dedup(&tables),
            gets.iter()
                .map(|g| g.as_ref().map(|g| g.key().clone()).unwrap_or_default())
                .collect(),
        );
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let mut paths = Vec::with_capacity(gets.len());
        let mut send = input.transact_items().to_vec();
        for (i, t) in send.iter_mut().enumerate() {
            let e = exprs.get(i).cloned().unwrap_or_default();
            paths.push(tri!(self, projection(&e)));
            let text = tri!(self, decompile(&e));
            if let Some(g) = t.get.as_mut() {
                g.projection_expression = None;
                g.expression_attribute_names = non_empty(text.expression_attribute_names);
            }
        }
        let res = self
            .client
            .transact_get_items()
            .set_transact_items(Some(send))
            .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
            .send()
            .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        Ok(match res {
            Ok(out) => self.reply(|o| {
                codec::encode_transact_get_items_response(
                    &out,
                    &input,
                    &paths,
                    self.schemas.as_ref(),
                    o,
                )
            }),
            Err(e) => match transact_get_reasons(&e) {
                Some(reasons) => self.error(with_reasons(
                    from_sdk(&e),
                    reasons,
                    &tables,
                    self.schemas.as_ref(),
                )),
                None => self.backend_error(&e, &names),
            },
        })
    }

    async fn transact_write(
        &self,
        frame: &[u8],
        note: Note<'_>,
        faults: &Faults,
    ) -> Result<Handled, CodecError> {
        let (input, exprs) = tri!(
            self,
            self.decode(|c| codec::decode_transact_write_items_request(frame, c))
                .await?
        );
        let tables: Vec<String> = input
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
            .collect();
        let keys = codec::transact_write_keys(&input, self.schemas.as_ref()).unwrap_or_default();
        note(dedup(&tables), keys);
        if let Some(h) = self.throttled(faults) {
            return Ok(h);
        }
        let mut send = input.transact_items().to_vec();
        for (i, t) in send.iter_mut().enumerate() {
            let e = exprs.get(i).cloned().unwrap_or_default();
            let text = tri!(self, decompile(&e));
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
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(send))
            .set_return_consumed_capacity(input.return_consumed_capacity().cloned())
            .set_return_item_collection_metrics(input.return_item_collection_metrics().cloned())
            .set_client_request_token(input.client_request_token().map(str::to_owned))
            .send()
            .await;
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        Ok(match res {
            Ok(out) => self.reply(|o| codec::encode_transact_write_items_response(&out, o)),
            Err(e) => {
                let reasons = match &e {
                    SdkError::ServiceError(se) => match se.err() {
                        TransactWriteItemsError::TransactionCanceledException(c) => {
                            Some(c.cancellation_reasons())
                        }
                        _ => None,
                    },
                    _ => None,
                };
                match reasons {
                    Some(r) => self.error(with_reasons(
                        from_sdk(&e),
                        r,
                        &tables,
                        self.schemas.as_ref(),
                    )),
                    None => self.backend_error(&e, &names),
                }
            }
        })
    }
}

fn dedup(tables: &[String]) -> Vec<String> {
    let mut t = tables.to_vec();
    t.sort();
    t.dedup();
    t
}
