//! Shared set-up of the DAX client tests: account A's role assumed from B, a gateway that
//! verifies every connection's key against the stack, and tables created through a client.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use cross_account_dynamodb::{AssumedRoleCredentials, AuthVerifier, DaxGateway, TlsConfig};

use std::sync::Arc;

use super::stack_keys::StackKeys;
use super::{unique_name, Stack};

/// Account A's cross-account role, assumed from B's user with the ExternalId (session name
/// `<session_prefix>-<unique>`).
pub async fn assume_role(stack: &Stack, session_prefix: &str) -> AssumedRoleCredentials {
    AssumedRoleCredentials::builder(stack.role_arn())
        .external_id(stack.external_id())
        .session_name(unique_name(session_prefix))
        .configure(&stack.b_config().await)
        .build()
        .await
        .expect("assume the cross-account role")
}

/// A gateway of `nodes` nodes forwarding as account A, verifying every connection's key
/// against the stack (as DAX checks IAM), over TLS when `tls` is given.
pub async fn verified_gateway(stack: &Stack, nodes: usize, tls: Option<TlsConfig>) -> DaxGateway {
    let backend = stack.sdk_config(stack.a_credentials()).await;
    let mut b = DaxGateway::builder()
        .backend(&backend)
        .nodes(nodes)
        .auth(AuthVerifier::KeyStore(Arc::new(StackKeys::new(
            stack.control_url(),
        ))));
    if let Some(tls) = tls {
        b = b.tls(tls);
    }
    b.start().await.expect("start the gateway")
}

/// Creates an on-demand table `name` with key `hash` (and `range`) through `client`. Through a
/// DAX client this also proves forwarding: CreateTable is not a DAX operation.
pub async fn create_table(
    client: &Client,
    name: &str,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, t, kind) in std::iter::once((hash.0, hash.1, KeyType::Hash))
        .chain(range.map(|(a, t)| (a, t, KeyType::Range)))
    {
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(t)
                    .build()
                    .expect("attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr)
                    .key_type(kind)
                    .build()
                    .expect("key schema element"),
            );
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("CreateTable {name}: {e:?}"));
}
