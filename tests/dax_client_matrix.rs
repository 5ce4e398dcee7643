//! The DAX conformance matrix (`tests/fixtures/dax-conformance/matrix.json`) run with our Rust DAX client
//! (side `rust-dax`: the ordinary `aws_sdk_dynamodb::Client` over our DAX transport, assumed-role
//! credentials for account A, through the DAX gateway to the local stack) and with the plain
//! Rust SDK straight to the stack (side `sdk`): every row meets its declared outcome on both
//! sides, the sides agree, and the known differences are exactly as documented.
#![allow(clippy::disallowed_methods)]

mod support;

use support::matrix::{self, create_tables, delete_tables, judge, run_rust, stack_client, Matrix};
use support::{dax_client, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_holds_on_our_dax_client_and_agrees_with_the_http_path() {
    let stack = Stack::shared();
    let creds = dax_client::assume_role(stack, "dax-matrix").await;
    let gw = dax_client::verified_gateway(stack, 2, None).await;
    let dax = creds.dax(gw.endpoint()).unwrap();

    let admin = stack_client(stack).await;
    let m = Matrix::fresh("rust-dax");
    create_tables(&admin, &m).await;
    let t = std::time::Instant::now();
    let rust_dax = run_rust(&dax, &m).await;
    let dax_time = t.elapsed();
    delete_tables(&admin, &m).await;

    let t = std::time::Instant::now();
    let (_, sdk) = matrix::run_sdk_side(stack).await;
    let sdk_time = t.elapsed();

    // Every data row went through the gateway, on the assumed role's key.
    let key = creds.status().access_key_id.unwrap();
    let log = gw.request_log();
    assert!(log
        .iter()
        .all(|r| r.access_key_id.as_deref() == Some(key.as_str())));
    assert!(
        log.len() >= m.rows.len(),
        "{} requests for {} rows",
        log.len(),
        m.rows.len()
    );

    match judge(&m, &[("sdk", sdk), ("rust-dax", rust_dax)]) {
        Ok(summary) => {
            println!("{summary}; rust-dax {dax_time:?}, sdk {sdk_time:?}");
            assert_eq!(summary.rows, m.rows.len());
            assert!(summary.known_differences >= 1);
        }
        Err(report) => panic!("{report}"),
    }
    gw.shutdown().await;
}
