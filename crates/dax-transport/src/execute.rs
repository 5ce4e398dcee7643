//! Running one attempt of a prepared operation: node choice, connection, the control calls
//! the codec asks for, the request, the reply, and what a failure means for a retry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::cluster::Node;
use super::connection::{CallError, Connection};
use super::error::{DaxError, Kind};
use super::metadata::Missing;
use super::ops::{DaxOutput, Failure, Prepared};
use super::{timeout, Shared};
use xacct_dax_protocol::codec::ServiceError;

/// Per-attempt limits (the SDK's connect/read timeouts win over the transport's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) request: Duration,
}

/// Runs a prepared operation: one attempt.
pub(crate) async fn execute(
    shared: &Arc<Shared>,
    op: &Prepared,
    invocation: Option<String>,
    limits: Limits,
) -> Result<DaxOutput, Failure> {
    let avoid = invocation.as_deref().and_then(|id| shared.last_node(id));
    let (result, node) = execute_avoiding(shared, op, avoid, limits).await;
    // Only a failed attempt is followed by a retry that asks which node to avoid: the
    // successful path touches the map only to clear an earlier failure.
    if let (Some(id), Some(node)) = (invocation, node) {
        match &result {
            Err(_) => shared.remember_node(id, node),
            Ok(_) if avoid.is_some() => shared.forget_node(&id),
            Ok(_) => {}
        }
    }
    result
}

/// One attempt on a node other than `avoid` (the node of the previous failed attempt) when
/// another is up; also returns the node it used, if it got that far.
pub(crate) async fn execute_avoiding(
    shared: &Arc<Shared>,
    op: &Prepared,
    avoid: Option<SocketAddr>,
    limits: Limits,
) -> (Result<DaxOutput, Failure>, Option<SocketAddr>) {
    let node = match shared.cluster.pick(shared, op.write, avoid).await {
        Ok(node) => node,
        Err(error) => {
            let failure = Failure::Transport {
                error,
                retry_safe: true,
            };
            return (Err(failure), None);
        }
    };
    tracing::Span::current().record("node", tracing::field::display(node.addr));
    (attempt(shared, op, &node, limits).await, Some(node.addr))
}

/// One attempt on `node`: connection, control calls, request, reply.
async fn attempt(
    shared: &Arc<Shared>,
    op: &Prepared,
    node: &Node,
    limits: Limits,
) -> Result<DaxOutput, Failure> {
    let not_sent = |error: DaxError| Failure::Transport {
        error,
        retry_safe: true,
    };
    let mut conn = match node.pool.checkout(shared, limits.connect).await {
        Ok(c) => c,
        Err(e) => {
            if e.kind() == Kind::Connect {
                node.mark_down();
            }
            return Err(not_sent(e));
        }
    };

    // Encode, making the control calls the codec asks for first (on this connection).
    let mut frame = Vec::with_capacity(256);
    let mut rounds = 0;
    loop {
        frame.clear();
        match (op.encode)(&shared.metadata, &mut frame) {
            Ok(()) => break,
            Err(e) => match Missing::of(&e) {
                Some(m) if rounds < 16 => {
                    rounds += 1;
                    resolve(shared, node, &mut conn, &m, limits, false, op).await?;
                }
                _ => {
                    node.pool.checkin(conn, shared.time.now());
                    return Err(Failure::validation(e.to_string()));
                }
            },
        }
    }

    let sent = timeout(
        &shared.sleep,
        limits.request,
        shared.send(&mut conn, &frame, op.method),
    )
    .await;
    let reply = match sent {
        Ok(Ok(reply)) => reply,
        Ok(Err(CallError::Before(e))) => return Err(not_sent(e)),
        Ok(Err(CallError::Write(e) | CallError::Read(e))) => {
            node.mark_down();
            return Err(in_flight(e, op));
        }
        Err(()) => {
            return Err(in_flight(
                DaxError::new(
                    Kind::Timeout,
                    format!(
                        "no reply from DAX node {} within {:?} (request timeout)",
                        node.addr, limits.request
                    ),
                ),
                op,
            ))
        }
    };

    // Decode, learning unknown attribute lists on the way.
    let mut rounds = 0;
    let outcome = loop {
        match (op.decode)(&reply, &shared.metadata) {
            Ok(r) => break r,
            Err(e) => match Missing::of(&e) {
                Some(m) if rounds < 16 => {
                    rounds += 1;
                    resolve(shared, node, &mut conn, &m, limits, true, op).await?;
                }
                _ => {
                    return Err(in_flight(
                        DaxError::new(
                            Kind::Protocol,
                            format!("DAX node {} sent a reply that does not decode", node.addr),
                        )
                        .with_source(e),
                        op,
                    ))
                }
            },
        }
    };
    match outcome {
        Ok(out) => {
            node.pool.checkin(conn, shared.time.now());
            Ok(out)
        }
        Err(service) => {
            let (f, conn_ok) = service_failure(shared, node, &mut conn, *service, op, limits).await;
            if conn_ok {
                // The error reply was read whole: the stream is still in step.
                node.pool.checkin(conn, shared.time.now());
            }
            Err(f)
        }
    }
}

/// A failure after the request's bytes were (maybe) written: retryable only if idempotent;
/// otherwise the write's outcome is unknown.
fn in_flight(e: DaxError, op: &Prepared) -> Failure {
    if op.idempotent {
        Failure::Transport {
            error: e,
            retry_safe: true,
        }
    } else {
        Failure::Transport {
            error: DaxError::new(
                Kind::OutcomeUnknown,
                format!(
                    "the outcome of this write is unknown: {e}; it was not retried because it may \
                     have been applied (read the item to find out)"
                ),
            )
            .with_source(e),
            retry_safe: false,
        }
    }
}

/// One control call for missing metadata (single flight across requests).
async fn resolve(
    shared: &Shared,
    node: &Node,
    conn: &mut Connection,
    m: &Missing,
    limits: Limits,
    request_sent: bool,
    op: &Prepared,
) -> Result<(), Failure> {
    if shared.metadata.has(m) {
        return Ok(());
    }
    let gate = shared.metadata.gate(m);
    let _held = gate.lock().await;
    // The gate leaves the map however this call ends: answered, failed, or dropped mid-call.
    let _release = shared.metadata.release_on_drop(m);
    if shared.metadata.has(m) {
        return Ok(());
    }
    let fail = |e: DaxError| {
        if request_sent {
            in_flight(e, op)
        } else {
            Failure::Transport {
                error: e,
                retry_safe: true,
            }
        }
    };
    let (method, frame) = m.request();
    let reply = match timeout(
        &shared.sleep,
        limits.request,
        shared.send(conn, &frame, method),
    )
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            node.mark_down();
            return Err(fail(e.into_inner()));
        }
        Err(()) => {
            return Err(fail(DaxError::new(
                Kind::Timeout,
                format!(
                    "no reply to {} from DAX node {} in time",
                    method.name(),
                    node.addr
                ),
            )))
        }
    };
    match shared.metadata.store(m, &reply) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(service)) if service.is_auth_error() => {
            conn.auth_marked = true;
            shared.key_rejected(conn);
            Err(Failure::Transport {
                error: DaxError::new(
                    Kind::Auth,
                    format!(
                        "DAX node {} rejected the connection's authorization; it re-authorizes before its next request",
                        node.addr
                    ),
                )
                .with_source(*service),
                retry_safe: !request_sent,
            })
        }
        Ok(Err(service)) => Err(plain_service(&service)),
        Err(e) => Err(fail(
            DaxError::new(
                Kind::Protocol,
                format!("bad {} reply from DAX node {}", method.name(), node.addr),
            )
            .with_source(e),
        )),
    }
}

fn plain_service(s: &ServiceError) -> Failure {
    Failure::Service {
        name: s
            .exception_name()
            .unwrap_or("InternalServerError")
            .to_owned(),
        message: s.message.clone(),
        status: s.http_status(),
        reasons: None,
    }
}

/// What a DAX error reply becomes, and whether the connection is still usable.
async fn service_failure(
    shared: &Shared,
    node: &Node,
    conn: &mut Connection,
    service: ServiceError,
    op: &Prepared,
    limits: Limits,
) -> (Failure, bool) {
    if service.is_auth_error() {
        conn.auth_marked = true;
        shared.key_rejected(conn);
        let f = Failure::Transport {
            error: DaxError::new(
                Kind::Auth,
                format!(
                    "DAX node {} rejected the connection's authorization; it re-authorizes before its next request",
                    node.addr
                ),
            )
            .with_source(service),
            retry_safe: true,
        };
        return (f, true);
    }
    if op.write && !op.idempotent && service.is_write_outcome_ambiguous() {
        let f = Failure::Transport {
            error: DaxError::new(
                Kind::OutcomeUnknown,
                "the DAX node could not say whether this write was applied; it was not retried",
            )
            .with_source(service),
            retry_safe: false,
        };
        return (f, true);
    }
    let mut reasons = None;
    let mut conn_ok = true;
    if service.cancellation_reasons.is_some() {
        for _ in 0..16 {
            let keys = match &op.keys {
                Some(k) => k(&shared.metadata),
                None => Ok(Vec::new()),
            };
            let r = keys.and_then(|k| service.sdk_cancellation_reasons(&k, &shared.metadata));
            match r {
                Ok(r) => {
                    reasons = r;
                    break;
                }
                Err(e) => match Missing::of(&e) {
                    Some(m) => {
                        if resolve(shared, node, conn, &m, limits, true, op)
                            .await
                            .is_err()
                        {
                            conn_ok = false;
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
    }
    let mut f = plain_service(&service);
    if let Failure::Service { reasons: r, .. } = &mut f {
        *r = reasons;
    }
    (f, conn_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{prepare, DaxInput};
    use aws_sdk_dynamodb::operation::get_item::GetItemInput;
    use aws_sdk_dynamodb::operation::put_item::PutItemInput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::collections::HashMap;

    #[test]
    fn a_failure_after_writing_is_retryable_only_when_idempotent() {
        let k = || HashMap::from([("pk".to_owned(), AttributeValue::S("k".into()))]);
        let get = prepare(DaxInput::GetItem(Arc::new(
            GetItemInput::builder()
                .table_name("t")
                .set_key(Some(k()))
                .build()
                .unwrap(),
        )))
        .unwrap();
        let put = prepare(DaxInput::PutItem(Arc::new(
            PutItemInput::builder()
                .table_name("t")
                .set_item(Some(k()))
                .build()
                .unwrap(),
        )))
        .unwrap();
        let e = || DaxError::new(Kind::Io, "reset");
        match in_flight(e(), &put) {
            Failure::Transport { error, retry_safe } => {
                assert!(error.is_outcome_unknown() && !retry_safe);
                assert!(error
                    .to_string()
                    .contains("outcome of this write is unknown"));
            }
            f => panic!("{f:?}"),
        }
        match in_flight(e(), &get) {
            Failure::Transport { error, retry_safe } => {
                assert!(!error.is_outcome_unknown() && retry_safe)
            }
            f => panic!("{f:?}"),
        }
    }
}
