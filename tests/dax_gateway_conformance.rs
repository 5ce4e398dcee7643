//! Conformance: the official DAX clients through the gateway (1 node, AcceptAll) to the local
//! stack, against the same matrix run straight at the stack with the Rust SDK and botocore.
//! Every row must meet its declared outcome on every side and the sides must agree (the judge of
//! `tests/support/matrix`); known differences are checked as declared.
#![allow(clippy::disallowed_methods)]

mod support;

use cross_account_dynamodb::TlsConfig;
use support::gateway as gw;
use support::matrix::{self, judge, run_script, Matrix, ScriptArgs};
use support::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_through_the_gateway_agree_with_the_sdk() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack).await.start().await.expect("gateway");
    let scripts: Vec<_> = [
        ("python-dax", gateway.endpoint().to_owned()),
        ("node-dax", gateway.endpoint().to_owned()),
        ("botocore", stack.endpoint().to_owned()),
    ]
    .into_iter()
    .map(|(side, endpoint)| {
        let m = Matrix::fresh(side);
        let args = ScriptArgs::for_stack(stack, &endpoint);
        tokio::task::spawn_blocking(move || (side, run_script(side, &m, &args)))
    })
    .collect();
    let (m, sdk) = matrix::run_sdk_side(stack).await;
    let mut sides = vec![("sdk", sdk)];
    for s in scripts {
        sides.push(s.await.expect("runner"));
    }
    let summary = judge(&m, &sides).unwrap_or_else(|report| panic!("{report}"));
    println!("{summary}");
    assert_eq!(summary.rows, m.rows.len());
    assert_eq!(summary.sides.len(), 4);
    assert!(summary.known_differences >= 3, "{summary}");

    // Every data row went through the gateway once per DAX side (plus the clients' retries).
    let log = gateway.request_log();
    let data_ok = log.iter().filter(|r| r.outcome.is_ok()).count();
    assert!(data_ok >= m.rows.len(), "{data_ok} ok records");
    gateway.shutdown().await;
}

/// The same matrix over `daxs://` (the generated test CA) through three nodes: reads spread
/// over replicas, writes on the leader, every row still agrees with the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_over_tls_through_three_nodes_agree_with_the_sdk() {
    let stack = Stack::shared();
    let gateway = gw::builder(stack)
        .await
        .nodes(3)
        .tls(TlsConfig::self_signed("localhost"))
        .start()
        .await
        .expect("gateway");
    let ca = gateway.ca_pem_path().unwrap().to_owned();
    let scripts: Vec<_> = ["python-dax", "node-dax"]
        .into_iter()
        .map(|side| {
            let m = Matrix::fresh(side);
            let mut args = ScriptArgs::for_stack(stack, gateway.endpoint());
            args.ca_file = Some(ca.clone());
            tokio::task::spawn_blocking(move || (side, run_script(side, &m, &args)))
        })
        .collect();
    let (m, sdk) = matrix::run_sdk_side(stack).await;
    let mut sides = vec![("sdk", sdk)];
    for s in scripts {
        sides.push(s.await.expect("runner"));
    }
    let summary = judge(&m, &sides).unwrap_or_else(|report| panic!("{report}"));
    println!("over TLS, 3 nodes: {summary}");
    assert_eq!(summary.sides.len(), 3);
    let log = gateway.request_log();
    let nodes: std::collections::HashSet<_> = log
        .iter()
        .filter(|r| r.outcome.is_ok())
        .filter_map(|r| r.node())
        .collect();
    assert_eq!(nodes.len(), 3, "every node served: {nodes:?}");
    gateway.shutdown().await;
}
