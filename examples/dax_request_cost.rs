//! Instructions per GetItem over the DAX transport, for `scripts/bench-instructions.sh`'s DAX
//! counterpart (callgrind counts instructions, which stay put on a busy machine). N GetItem
//! calls through `creds.dax(..)` to a minimal in-process DAX server over loopback TCP (the one
//! of `tests/support/mini_dax.rs`, shared with `benches/dax_transport.rs`), on one current-thread runtime, so the server's work is in the
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
#[path = "../tests/support/mini_dax.rs"]
mod mini_dax;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use cross_account_dynamodb::{AssumedRoleCredentials, DaxOptions};
use fake_sts::{FakeSts, Reply};
use mini_dax::{dax_server, item, Store, TABLE};

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
