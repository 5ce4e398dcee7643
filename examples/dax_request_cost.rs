//! Instructions per GetItem over the DAX transport, for `scripts/bench-instructions.sh`'s DAX
//! counterpart (callgrind counts instructions, which stay put on a busy machine). N GetItem
//! calls through `creds.dax(..)` to a minimal in-process DAX server over loopback TCP (the one
//! of `benches/dax_transport.rs`), on one current-thread runtime, so the server's work is in the
//! count too (the same in every variant):
//!
//! ```text
//! dax_request_cost dax[+meter] N
//! ```
//!
//! `+meter` sets the in-memory meter of `tests/support/meter.rs` as the SDK's global telemetry
//! provider first.

// Runs real sockets on the real clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;
#[allow(dead_code)]
#[path = "../tests/support/meter.rs"]
mod meter;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use cross_account_dynamodb::dax::codec::*;
use cross_account_dynamodb::{AssumedRoleCredentials, DaxOptions};
use fake_sts::{FakeSts, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TABLE: &str = "bench";

type Store = Arc<Mutex<HashMap<String, Item>>>;

fn item(pk: &str) -> Item {
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

async fn dax_server(store: Store) -> SocketAddr {
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

async fn dax_conn(
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

fn serve(
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (variant, n) = match args.as_slice() {
        [v, n] => (v.clone(), n.parse::<u64>().expect("N is a number")),
        _ => {
            eprintln!("usage: dax_request_cost dax[+meter] N");
            std::process::exit(2);
        }
    };
    if variant == "dax+meter" {
        meter::MemoryMeter::install();
    } else if variant != "dax" {
        panic!("unknown variant {variant}");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dax = rt.block_on(async {
        let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
        sts.set(Reply::Ok(Duration::from_secs(3600)));
        let creds = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/Bench")
            .session_name("bench")
            .configure(&sts.sdk_config(3))
            .build()
            .await
            .unwrap();
        let store: Store = Arc::default();
        store.lock().unwrap().insert("k".into(), item("k"));
        let addr = dax_server(store).await;
        creds
            .dax_with(
                &format!("dax://{addr}"),
                DaxOptions::new().signing_region("us-east-1"),
            )
            .unwrap()
    });
    let get = || {
        rt.block_on(
            dax.get_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S("k".into()))
                .send(),
        )
        .unwrap()
    };
    // warm-up outside the measured difference: discovery, connection, metadata
    get();
    get();
    for _ in 0..n {
        get();
    }
}
