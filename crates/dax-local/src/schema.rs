//! Key schemas (from DescribeTable, once per table) and the attribute-list registry, shared by
//! every node of a gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};

use super::errors::from_sdk;
use xacct_dax_protocol::codec::{Catalog, KeyAttribute, KeySchema, MemoryCatalog, ServiceError};

/// First attribute-list id handed out (the official servers' numbering; 1 is the empty list).
const FIRST_LIST_ID: i64 = 100;

/// The gateway's [`Catalog`]: key schemas filled from DescribeTable, attribute lists assigned
/// on demand.
#[derive(Debug)]
pub(crate) struct Schemas {
    client: aws_sdk_dynamodb::Client,
    schemas: Mutex<HashMap<String, Arc<KeySchema>>>,
    /// One async lock per table being described (single flight).
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    lists: MemoryCatalog,
}

impl Schemas {
    pub(crate) fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Schemas {
            client,
            schemas: Mutex::default(),
            loading: Mutex::default(),
            lists: MemoryCatalog::assigning(FIRST_LIST_ID),
        }
    }

    fn cached(&self, table: &str) -> Option<Arc<KeySchema>> {
        self.schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
            .cloned()
    }

    /// Forgets a table's schema (it was not found: it may be created again with another one).
    pub(crate) fn forget(&self, table: &str) {
        self.schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(table);
    }

    /// The key schema of `table`, described once; a missing table or a backend failure is the
    /// DAX error reply to send.
    pub(crate) async fn load(&self, table: &str) -> Result<Arc<KeySchema>, Box<ServiceError>> {
        if let Some(s) = self.cached(table) {
            return Ok(s);
        }
        let gate = self
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(table.to_owned())
            .or_default()
            .clone();
        let _held = gate.lock().await;
        if let Some(s) = self.cached(table) {
            return Ok(s);
        }
        let out = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| Box::new(from_sdk(&e)))?;
        let desc = out.table().ok_or_else(|| {
            Box::new(ServiceError::from_exception(
                "InternalServerError",
                "DescribeTable returned no table",
            ))
        })?;
        let schema = key_schema(desc).ok_or_else(|| {
            Box::new(ServiceError::from_exception(
                "InternalServerError",
                format!("DescribeTable of {table} gave no usable key schema"),
            ))
        })?;
        let schema = Arc::new(schema);
        self.schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(table.to_owned(), schema.clone());
        Ok(schema)
    }
}

fn key_schema(desc: &aws_sdk_dynamodb::types::TableDescription) -> Option<KeySchema> {
    let ty = |name: &str| -> Option<ScalarAttributeType> {
        desc.attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name)
            .map(|d| d.attribute_type().clone())
    };
    let mut hash = None;
    let mut range = None;
    for k in desc.key_schema() {
        let attr = KeyAttribute::new(k.attribute_name(), ty(k.attribute_name())?);
        match k.key_type() {
            KeyType::Hash => hash = Some(attr),
            KeyType::Range => range = Some(attr),
            _ => return None,
        }
    }
    Some(match (hash?, range) {
        (h, Some(r)) => KeySchema::composite(h, r),
        (h, None) => KeySchema::hash_only(h),
    })
}

impl Catalog for Schemas {
    fn key_schema(&self, table: &str) -> Option<Arc<KeySchema>> {
        self.cached(table)
    }

    fn attribute_list_id(&self, names: &[&str]) -> Option<i64> {
        if names.is_empty() {
            return Some(xacct_dax_protocol::codec::EMPTY_ATTRIBUTE_LIST_ID);
        }
        self.lists.attribute_list_id(names)
    }

    fn attribute_names(&self, id: i64) -> Option<Arc<[String]>> {
        if id == xacct_dax_protocol::codec::EMPTY_ATTRIBUTE_LIST_ID {
            return Some(Arc::from(Vec::<String>::new()));
        }
        self.lists.attribute_names(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{AttributeDefinition, KeySchemaElement, TableDescription};

    #[test]
    fn describe_table_becomes_a_key_schema() {
        let desc = TableDescription::builder()
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            )
            .build();
        let s = key_schema(&desc).unwrap();
        assert_eq!(
            s,
            KeySchema::composite(
                KeyAttribute::new("pk", ScalarAttributeType::S),
                KeyAttribute::new("sk", ScalarAttributeType::N)
            )
        );
        let no_defs = TableDescription::builder()
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .build();
        assert!(key_schema(&no_defs).is_none());
    }
}
