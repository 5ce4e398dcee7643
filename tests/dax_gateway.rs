//! The local DAX gateway: the official Python and Node clients through a 1-node gateway to
//! the local stack (smoke), and the protocol edges with raw frames.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use cross_account_dynamodb::dax::codec::{
    decode_endpoints_response, decode_get_item_response, encode_endpoints_request,
    encode_get_item_request, encode_preamble, response_frame_len, sign_authorization,
    CompiledExpressions, KeyAttribute, KeySchema, MemoryCatalog, Method, Preamble, SessionId,
    SigningInputs, DAX_HOST, ROLE_LEADER, ROLE_REPLICA,
};
use cross_account_dynamodb::dax::gateway::{Outcome, RejectReason};
use cross_account_dynamodb::AuthVerifier;
use serde_json::json;
use support::gateway::{self as gw, ClientRun, Official};
use support::Stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Milestone smoke: Put / Get / Update / Query / conditional failure / a missing table with
/// each official client, through one node, and the request log saw them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_put_and_get_through_one_node() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.expect("gateway");
    let mut runs = Vec::new();
    for client in Official::BOTH {
        let table = support::unique_name(&format!("gw-smoke-{}", client.name()));
        let key = json!({"pk": {"S": "k1"}});
        let ops = json!([
            gw::create_hash_table(&table),
            {"op": "PutItem", "params": {"TableName": table,
                "Item": {"pk": {"S": "k1"}, "n": {"N": "1"}, "b": {"B": "AAEC"}, "ss": {"SS": ["x", "y"]},
                    "l": {"L": [{"S": "a"}, {"S": "b"}]}, "m": {"M": {"k": {"N": "7"}, "z": {"S": "no"}}}}}},
            {"op": "GetItem", "params": {"TableName": table, "Key": key}},
            {"op": "UpdateItem", "params": {"TableName": table, "Key": key,
                "UpdateExpression": "SET #n = #n + :one", "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": "41"}}, "ReturnValues": "UPDATED_NEW"}},
            {"op": "Query", "params": {"TableName": table, "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "k1"}}, "ProjectionExpression": "n"}},
            {"op": "PutItem", "params": {"TableName": table, "Item": {"pk": {"S": "k1"}},
                "ConditionExpression": "attribute_not_exists(pk)"}},
            {"op": "GetItem", "params": {"TableName": format!("{table}-missing"), "Key": key}},
            {"op": "GetItem", "params": {"TableName": table, "Key": key,
                "ProjectionExpression": "l[1], m.k, #s", "ExpressionAttributeNames": {"#s": "ss"}}},
            gw::delete_table(&table),
        ]);
        let run = ClientRun::new(client, gateway.endpoint(), stack);
        runs.push((client, tokio::spawn(gw::run(run, ops))));
    }
    for (client, h) in runs {
        let r = h.await.unwrap();
        let who = client.name();
        gw::output(&r[1]);
        let item = &gw::output(&r[2])["Item"];
        assert_eq!(item["n"], json!({"N": "1"}), "{who}: {item}");
        assert_eq!(item["b"], json!({"B": "AAEC"}), "{who}: {item}");
        assert_eq!(item["pk"], json!({"S": "k1"}), "{who}: {item}");
        assert_eq!(
            gw::output(&r[3])["Attributes"],
            json!({"n": {"N": "42"}}),
            "{who}"
        );
        assert_eq!(
            gw::output(&r[4])["Items"],
            json!([{"n": {"N": "42"}}]),
            "{who}"
        );
        assert_eq!(
            gw::error_code(&r[5]),
            "ConditionalCheckFailedException",
            "{who}"
        );
        assert_eq!(gw::error_code(&r[6]), "ResourceNotFoundException", "{who}");
        // a list index in a projection (forwarded as `l[1]`, not `#n[1]`)
        assert_eq!(
            gw::output(&r[7])["Item"],
            json!({"l": {"L": [{"S": "b"}]}, "m": {"M": {"k": {"N": "7"}}}, "ss": {"SS": ["x", "y"]}}),
            "{who}"
        );
        gw::output(&r[8]);
    }
    let log = gateway.request_log();
    for m in [
        Method::Endpoints,
        Method::DefineKeySchema,
        Method::PutItem,
        Method::GetItem,
        Method::UpdateItem,
        Method::Query,
    ] {
        assert!(log.iter().any(|r| r.method == m), "no {m:?} in the log");
    }
    let puts: Vec<_> = log
        .iter()
        .filter(|r| r.method == Method::PutItem && r.outcome.is_ok())
        .collect();
    assert_eq!(puts.len(), 2, "one successful put per client: {puts:#?}");
    assert!(puts.iter().all(|r| r.node() == Some(0)
        && r.keys
            == [HashMap::from([(
                "pk".to_owned(),
                AttributeValue::S("k1".into())
            )])]));
    assert!(log
        .iter()
        .any(|r| r.outcome == Outcome::ServiceError("ConditionalCheckFailedException".into())));
    assert!(gateway.auth_log().iter().all(|a| a.accepted()));
    let dump = format!(
        "{gateway:?}{:?}{:?}",
        gateway.auth_log(),
        gateway.request_log()
    );
    assert!(
        !dump.contains(stack.var("A_SECRET_ACCESS_KEY")),
        "the backend's secret key never shows in Debug"
    );
    assert!(!gateway.auth_log().is_empty());
    gateway.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Raw frames: what the official clients cannot be made to send.

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut pre = Vec::new();
    encode_preamble(
        &Preamble {
            session_id: SessionId::Text("0".into()),
            user_agent: None,
        },
        &mut pre,
    );
    s.write_all(&pre).await.unwrap();
    s
}

/// Reads one reply frame for `method` (None: the connection closed first).
async fn reply(s: &mut TcpStream, method: Method) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    loop {
        if let Some(n) = response_frame_len(method, &buf).unwrap() {
            return Some(buf[..n].to_vec());
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("reply in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn auth_frame(key: &str, secret: &str, at: SystemTime) -> Vec<u8> {
    let mut f = Vec::new();
    sign_authorization(
        &SigningInputs {
            access_key_id: key,
            secret_access_key: secret,
            session_token: Some("token-never-logged"),
            region: "us-east-1",
            time: at,
            host: DAX_HOST,
        },
        None,
    )
    .encode(&mut f);
    f
}

fn endpoints_frame() -> Vec<u8> {
    let mut f = Vec::new();
    encode_endpoints_request(&mut f);
    f
}

/// StaticSecrets: no auth, a bad signature and a stale signing date are refused with
/// AuthenticationRequiredException; a good signature is served; the auth log records each.
#[tokio::test]
async fn static_secrets_gate_every_request() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack)
        .await
        .nodes(2)
        .auth(AuthVerifier::StaticSecrets(HashMap::from([(
            "AKIDGOOD".to_owned(),
            "good-secret".to_owned(),
        )])))
        .start()
        .await
        .unwrap();
    let addr = gateway.node_addr(0).unwrap();
    let now = SystemTime::now();
    let cases = [
        (None, "never authorized"),
        (Some(auth_frame("AKIDGOOD", "wrong", now)), "bad signature"),
        (
            Some(auth_frame(
                "AKIDGOOD",
                "good-secret",
                now - Duration::from_secs(3600),
            )),
            "stale date",
        ),
        (Some(auth_frame("AKIDOTHER", "x", now)), "unknown key"),
    ];
    for (auth, why) in cases {
        let mut s = connect(addr).await;
        if let Some(a) = auth {
            s.write_all(&a).await.unwrap();
        }
        s.write_all(&endpoints_frame()).await.unwrap();
        let frame = reply(&mut s, Method::Endpoints).await.expect("a reply");
        let err = decode_endpoints_response(&frame).unwrap().unwrap_err();
        assert_eq!(err.codes, [4, 23, 31, 33], "{why}");
        assert_eq!(err.message, "Connection requires authentication", "{why}");
        assert_eq!(
            err.exception_name(),
            Some("AuthenticationRequiredException"),
            "{why}"
        );
    }
    let mut s = connect(addr).await;
    s.write_all(&auth_frame("AKIDGOOD", "good-secret", now))
        .await
        .unwrap();
    s.write_all(&endpoints_frame()).await.unwrap();
    let eps = decode_endpoints_response(&reply(&mut s, Method::Endpoints).await.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].role, ROLE_LEADER);
    assert_eq!(eps[0].port, addr.port());
    assert_eq!(eps[1].port, gateway.node_addr(1).unwrap().port());

    let auth = gateway.auth_log();
    let reasons: Vec<_> = auth.iter().map(|a| a.rejected.clone()).collect();
    assert_eq!(
        reasons,
        [
            Some(RejectReason::BadSignature),
            Some(RejectReason::SigningDateSkewed),
            Some(RejectReason::UnknownKey),
            None
        ]
    );
    let log = gateway.request_log();
    assert_eq!(
        log.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>(),
        [
            Outcome::Rejected(RejectReason::NotAuthorized),
            Outcome::Rejected(RejectReason::BadSignature),
            Outcome::Rejected(RejectReason::SigningDateSkewed),
            Outcome::Rejected(RejectReason::UnknownKey),
            Outcome::Ok
        ]
    );
    assert_eq!(
        log[4].access_key_id.as_deref(),
        Some("AKIDGOOD"),
        "the accepted key is recorded"
    );
    let dump = format!("{auth:?}{log:?}{:?}", gateway);
    assert!(!dump.contains("good-secret") && !dump.contains("token-never-logged"));
    gateway.shutdown().await;
}

/// A frame that does not decode gets no reply: the connection is closed.
#[tokio::test]
async fn undecodable_frames_close_the_connection() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.unwrap();
    let addr = gateway.node_addr(0).unwrap();
    // not a DAX preamble
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(reply(&mut s, Method::Endpoints).await, None);
    // an unknown method id
    let mut s = connect(addr).await;
    s.write_all(&[0x01, 0x1a, 0x00, 0x00, 0x00, 0x07])
        .await
        .unwrap();
    assert_eq!(reply(&mut s, Method::Endpoints).await, None);
    // a GetItem whose key does not match the table's schema
    let table = stack.table(); // orders: pk S, sk N
    let catalog = MemoryCatalog::default();
    catalog.insert_key_schema(
        table,
        KeySchema::hash_only(KeyAttribute::new(
            "other",
            aws_sdk_dynamodb::types::ScalarAttributeType::N,
        )),
    );
    let input = GetItemInput::builder()
        .table_name(table)
        .key("other", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    let mut f = Vec::new();
    encode_get_item_request(&input, &CompiledExpressions::new(), &catalog, &mut f).unwrap();
    let mut s = connect(addr).await;
    s.write_all(&f).await.unwrap();
    assert_eq!(reply(&mut s, Method::GetItem).await, None);
    // and the gateway still serves a good request afterwards
    let good = GetItemInput::builder()
        .table_name(table)
        .key("pk", AttributeValue::S("no-such-order".into()))
        .key("sk", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    let schema = MemoryCatalog::default();
    schema.insert_key_schema(
        table,
        KeySchema::composite(
            KeyAttribute::new("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
            KeyAttribute::new("sk", aws_sdk_dynamodb::types::ScalarAttributeType::N),
        ),
    );
    let mut f = Vec::new();
    encode_get_item_request(&good, &CompiledExpressions::new(), &schema, &mut f).unwrap();
    let mut s = connect(addr).await;
    s.write_all(&f).await.unwrap();
    let frame = reply(&mut s, Method::GetItem).await.expect("served");
    let out = decode_get_item_response(&frame, &good, None, &schema)
        .unwrap()
        .unwrap();
    assert!(out.item().is_none());
    let log = gateway.request_log();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(log[0].outcome, Outcome::Dropped);
    assert_eq!(log[1].outcome, Outcome::Ok);
    gateway.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The `dax-local` binary (crate xacct-dax-local), run as a user would.

/// `dax-local` prints `listening on dax://127.0.0.1:PORT` first, serves an official client with
/// the backend credentials from the AWS environment variables, and refuses a non-loopback
/// address unless told otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dax_local_serves_an_official_client() {
    use std::process::Command;

    let stack = Stack::shared();
    let (child, endpoint) = gw::DaxLocal::start(stack, &["--nodes", "2"]);
    let pk = support::unique_name("dax-local");
    let ops = json!([
        {"op": "PutItem", "params": {"TableName": stack.table(),
            "Item": {"pk": {"S": pk}, "sk": {"N": "1"}}}},
        {"op": "GetItem", "params": {"TableName": stack.table(),
            "Key": {"pk": {"S": pk}, "sk": {"N": "1"}}}},
    ]);
    let r = gw::run(ClientRun::new(Official::Python, &endpoint, stack), ops).await;
    assert_eq!(gw::output(&r[1])["Item"]["pk"], json!({"S": pk}));
    child.stop();

    let refused = Command::new(gw::dax_local_binary())
        .args(["--listen", "0.0.0.0:0", "--region", "us-east-1"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a loopback address"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// With `--auth-file`, a client must authorize with one of the file's keys: a listed key is
/// served, an unlisted one is refused with the DAX authentication error, and a malformed
/// file is a start-up error that does not echo the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dax_local_auth_file_admits_only_its_keys() {
    use std::process::Command;

    let stack = Stack::shared();
    let dir = std::env::temp_dir().join(support::unique_name("dax-local-auth"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys");
    std::fs::write(
        &file,
        "# the only key allowed\nAKIDLISTED0000000001 listed-secret-value\n",
    )
    .unwrap();
    let (child, endpoint) = gw::DaxLocal::start(stack, &["--auth-file", file.to_str().unwrap()]);
    let get = json!([
        {"op": "GetItem", "params": {"TableName": stack.table(),
            "Key": {"pk": {"S": "absent"}, "sk": {"N": "1"}}}},
    ]);
    let listed = ClientRun::new(Official::Python, &endpoint, stack).credentials(
        "AKIDLISTED0000000001",
        "listed-secret-value",
        None,
    );
    let r = gw::run(listed, get.clone()).await;
    gw::output(&r[0]);
    let unlisted = ClientRun::new(Official::Python, &endpoint, stack).credentials(
        "AKIDUNLISTED00000001",
        "listed-secret-value",
        None,
    );
    let r = gw::run(unlisted, get).await;
    assert!(
        gw::error_code(&r[0]).contains("Authentication"),
        "an unlisted key is refused: {}",
        r[0]
    );
    child.stop();

    std::fs::write(&file, "AKID only-two-fields-expected extra\n").unwrap();
    let bad = Command::new(gw::dax_local_binary())
        .args([
            "--region",
            "us-east-1",
            "--auth-file",
            file.to_str().unwrap(),
        ])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(stderr.contains("line 1"), "{stderr}");
    assert!(!stderr.contains("only-two-fields-expected"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// kill_node / restart_node with raw connections.

fn orders_get(stack: &Stack, pk: &str) -> (GetItemInput, MemoryCatalog, Vec<u8>) {
    let input = GetItemInput::builder()
        .table_name(stack.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    let catalog = MemoryCatalog::default();
    catalog.insert_key_schema(
        stack.table(),
        KeySchema::composite(
            KeyAttribute::new("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
            KeyAttribute::new("sk", aws_sdk_dynamodb::types::ScalarAttributeType::N),
        ),
    );
    let mut f = Vec::new();
    encode_get_item_request(&input, &CompiledExpressions::new(), &catalog, &mut f).unwrap();
    (input, catalog, f)
}

/// A kill drops the request in flight at once, closes an idle connection when it is next
/// used, refuses new connections, and moves the leader; a restart brings the node back on its
/// port as a replica.
#[tokio::test]
async fn kill_drops_in_flight_requests_and_restart_rebinds() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.nodes(2).start().await.unwrap();
    let node0 = gateway.node_addr(0).unwrap();
    let (input, catalog, get) = orders_get(stack, "kill-test");
    // an idle connection that has served one request
    let mut idle = connect(node0).await;
    idle.write_all(&get).await.unwrap();
    let frame = reply(&mut idle, Method::GetItem).await.expect("served");
    assert!(decode_get_item_response(&frame, &input, None, &catalog)
        .unwrap()
        .is_ok());
    // a request in flight (held by the slow switch) when the node dies
    gateway.faults().set_slow(Some(Duration::from_secs(5)));
    let mut busy = connect(node0).await;
    busy.write_all(&get).await.unwrap();
    let start = std::time::Instant::now();
    while !gateway
        .request_log()
        .iter()
        .any(|r| r.outcome == Outcome::InFlight)
    {
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = std::time::Instant::now();
    gateway.kill_node(0).unwrap();
    assert_eq!(reply(&mut busy, Method::GetItem).await, None, "no reply");
    assert!(
        killed_at.elapsed() < Duration::from_secs(2),
        "dropped at once, not after the slow reply"
    );
    assert_eq!(gateway.leader(), Some(1));
    assert_eq!(gateway.live_nodes(), [1]);
    assert!(TcpStream::connect(node0).await.is_err(), "refused");
    gateway.faults().set_slow(None);
    idle.write_all(&get).await.unwrap();
    assert_eq!(
        reply(&mut idle, Method::GetItem).await,
        None,
        "closed when next used"
    );
    let log = gateway.request_log();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(log[0].outcome, Outcome::Ok);
    assert_eq!(log[1].outcome, Outcome::Dropped);
    assert_eq!(log[1].node(), Some(0));

    gateway.restart_node(0).unwrap();
    let start = std::time::Instant::now();
    while gateway.live_nodes() != [0, 1] {
        assert!(start.elapsed() < Duration::from_secs(5), "not back");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut s = connect(node0).await;
    s.write_all(&endpoints_frame()).await.unwrap();
    let eps = decode_endpoints_response(&reply(&mut s, Method::Endpoints).await.unwrap())
        .unwrap()
        .unwrap();
    let roles: Vec<(u16, i64)> = eps.iter().map(|e| (e.port, e.role)).collect();
    assert_eq!(
        roles,
        [
            (node0.port(), ROLE_REPLICA),
            (gateway.node_addr(1).unwrap().port(), ROLE_LEADER)
        ]
    );
    s.write_all(&get).await.unwrap();
    assert!(
        reply(&mut s, Method::GetItem).await.is_some(),
        "serves again"
    );
    gateway.shutdown().await;
}

/// Dropping the last handle stops everything: listeners close and open connections end.
#[tokio::test]
async fn dropping_the_gateway_closes_listeners_and_connections() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.nodes(2).start().await.unwrap();
    let (discovery, node1) = (
        std::net::SocketAddr::from(([127, 0, 0, 1], gateway.port())),
        gateway.node_addr(1).unwrap(),
    );
    let mut open = connect(node1).await;
    open.write_all(&endpoints_frame()).await.unwrap();
    assert!(reply(&mut open, Method::Endpoints).await.is_some());
    let clone = gateway.clone();
    drop(gateway);
    assert!(
        TcpStream::connect(node1).await.is_ok(),
        "a clone keeps it up"
    );
    drop(clone);
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), open.read(&mut buf))
        .await
        .expect("the connection ends")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without data");
    for addr in [discovery, node1] {
        let start = std::time::Instant::now();
        while TcpStream::connect(addr).await.is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{addr} still listening"
            );
            tokio::task::yield_now().await;
        }
    }
}
