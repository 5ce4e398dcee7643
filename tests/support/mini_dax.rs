//! A minimal DAX server over the project's codec, in process: one leader node at its own
//! address, one table (`bench`, key `pk`), GetItem and PutItem on an in-memory store. Shared by
//! `benches/dax_transport.rs` and `examples/dax_request_cost.rs`, which measure our client
//! against it (no moto, no dax-local process on the path).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use cross_account_dynamodb::dax::codec::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The one table the server knows.
pub const TABLE: &str = "bench";

pub type Store = Arc<Mutex<HashMap<String, Item>>>;

pub fn item(pk: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        (
            "name".to_owned(),
            AttributeValue::S("a bench item of modest size".into()),
        ),
        ("count".to_owned(), AttributeValue::N("12345".into())),
        ("price".to_owned(), AttributeValue::N("19.99".into())),
        ("status".to_owned(), AttributeValue::S("ACTIVE".into())),
    ])
}

// ------------------------------------------------------------------ the DAX server

pub async fn dax_server(store: Store) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let catalog = Arc::new(MemoryCatalog::assigning(100));
    catalog.insert_key_schema(
        TABLE,
        KeySchema::hash_only(KeyAttribute::new("pk", ScalarAttributeType::S)),
    );
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::spawn(dax_conn(sock, addr, store.clone(), catalog.clone()));
        }
    });
    addr
}

pub async fn dax_conn(
    mut sock: TcpStream,
    addr: SocketAddr,
    store: Store,
    catalog: Arc<MemoryCatalog>,
) {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::new();
    let mut preambled = false;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        loop {
            if !preambled {
                match decode_preamble(&buf).unwrap() {
                    Some((_, n)) => {
                        buf.drain(..n);
                        preambled = true;
                    }
                    None => break,
                }
            }
            let Some((method, n)) = request_frame_len(&buf).unwrap() else {
                break;
            };
            let frame: Vec<u8> = buf.drain(..n).collect();
            let mut out = Vec::new();
            serve(method, &frame, addr, &store, &catalog, &mut out);
            if !out.is_empty() && sock.write_all(&out).await.is_err() {
                return;
            }
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

pub fn serve(
    method: Method,
    frame: &[u8],
    addr: SocketAddr,
    store: &Store,
    catalog: &MemoryCatalog,
    out: &mut Vec<u8>,
) {
    match method {
        Method::AuthorizeConnection => {}
        Method::Endpoints => encode_endpoints_response(
            &[Endpoint {
                node_id: 1,
                hostname: Some("localhost".into()),
                address: addr.ip(),
                port: addr.port(),
                role: ROLE_LEADER,
                availability_zone: None,
                leader_session_id: None,
            }],
            out,
        ),
        Method::DefineKeySchema => {
            let t = decode_define_key_schema_request(frame).unwrap();
            encode_define_key_schema_response(&catalog.key_schema(&t).unwrap(), out);
        }
        Method::DefineAttributeListId => {
            let names = decode_define_attribute_list_id_request(frame).unwrap();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            encode_define_attribute_list_id_response(
                catalog.attribute_list_id(&refs).unwrap(),
                out,
            );
        }
        Method::DefineAttributeList => {
            let id = decode_define_attribute_list_request(frame).unwrap();
            encode_define_attribute_list_response(&catalog.attribute_names(id).unwrap(), out);
        }
        Method::GetItem => {
            let (input, _) = decode_get_item_request(frame, catalog).unwrap();
            let pk = input.key().unwrap()["pk"].as_s().unwrap().clone();
            let found = store.lock().unwrap().get(&pk).cloned();
            let output = GetItemOutput::builder().set_item(found).build();
            encode_get_item_response(&output, &input, None, catalog, out).unwrap();
        }
        Method::PutItem => {
            let (input, _) = decode_put_item_request(frame, catalog).unwrap();
            let it = input.item().unwrap().clone();
            let pk = it["pk"].as_s().unwrap().clone();
            store.lock().unwrap().insert(pk, it);
            encode_put_item_response(&PutItemOutput::builder().build(), &input, catalog, out)
                .unwrap();
        }
        other => panic!("the bench server does not serve {other:?}"),
    }
}
