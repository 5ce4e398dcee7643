//! Instructions per GetItem, for `scripts/bench-instructions.sh` (callgrind counts
//! instructions, which stay put when the machine is busy; timings do not). Runs N GetItem
//! calls over an in-process connector with one credentials setup:
//!
//! ```text
//! request_cost static|static-account|ours|ours-bare|anchor[+meter] N
//! ```
//!
//! `+meter` sets an in-memory meter provider (`tests/support/meter.rs`) as the SDK's global
//! telemetry provider first: the SDK's metrics and ours are then recorded. Without it the
//! provider is the SDK's no-op default.
//!
//! `ours` is a client from `creds.dynamodb()`; `ours-bare` is our provider in a plain SDK
//! config (`no_cache`, no healing HTTP client): the provider's cost alone.

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;
#[allow(dead_code)]
#[path = "../tests/support/meter.rs"]
mod meter;

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::IdentityCache;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use cross_account_dynamodb::AssumedRoleCredentials;
use fake_sts::{FakeSts, Reply};

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (variant, n) = match args.as_slice() {
        [v, n] => (v.clone(), n.parse::<u64>().expect("N is a number")),
        _ => {
            eprintln!("usage: request_cost static|static-account|ours|ours-bare|anchor[+meter] N");
            std::process::exit(2);
        }
    };
    let (variant, meter) = match variant.strip_suffix("+meter") {
        Some(v) => (v.to_owned(), Some(meter::MemoryMeter::install())),
        None => (variant, None),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let sdk = sts.sdk_config(3);
    let client = rt.block_on(async {
        let client = match variant.as_str() {
            "static" | "static-account" => {
                let mut c = Credentials::builder()
                    .access_key_id("ASIASTATIC")
                    .secret_access_key("secret")
                    .session_token("token")
                    .provider_name("static");
                if variant == "static-account" {
                    // what AssumeRole credentials carry (ours and aws-config's alike): the
                    // account id, which DynamoDB's endpoint rules use
                    c = c.account_id("111111111111");
                }
                aws_sdk_dynamodb::Client::from_conf(
                    aws_sdk_dynamodb::config::Builder::from(&sdk)
                        .credentials_provider(c.build())
                        .identity_cache(IdentityCache::no_cache())
                        .build(),
                )
            }
            "ours" | "ours-bare" => {
                let creds = AssumedRoleCredentials::builder(ROLE)
                    .configure(&sdk)
                    .build()
                    .await
                    .unwrap();
                if variant == "ours" {
                    creds.dynamodb()
                } else {
                    aws_sdk_dynamodb::Client::from_conf(
                        aws_sdk_dynamodb::config::Builder::from(&sdk)
                            .credentials_provider(creds)
                            .identity_cache(IdentityCache::no_cache())
                            .build(),
                    )
                }
            }
            "anchor" => {
                let anchor = aws_config::sts::AssumeRoleProvider::builder(ROLE)
                    .configure(&sdk)
                    .build()
                    .await;
                aws_sdk_dynamodb::Client::from_conf(
                    aws_sdk_dynamodb::config::Builder::from(&sdk)
                        .credentials_provider(SharedCredentialsProvider::new(anchor))
                        .identity_cache(IdentityCache::lazy().build())
                        .build(),
                )
            }
            other => panic!("unknown variant {other}"),
        };
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        client
    });
    // one warm-up request outside the measured difference (N=0 runs do it too)
    let get = || {
        rt.block_on(
            client
                .get_item()
                .table_name("orders")
                .key("pk", AttributeValue::S("order-1".into()))
                .key("sk", AttributeValue::N("1".into()))
                .send(),
        )
        .unwrap()
    };
    get();
    for _ in 0..n {
        get();
    }
    if let (Some(m), Some(_)) = (meter, std::env::var_os("REQUEST_COST_DUMP")) {
        let mut by_name = std::collections::BTreeMap::new();
        for r in m.records() {
            *by_name.entry((r.scope, r.name)).or_insert(0u64) += 1;
        }
        eprintln!("meters asked for: {}", m.scopes().len());
        for ((scope, name), count) in by_name {
            eprintln!("{scope} {name}: {count}");
        }
    }
}
