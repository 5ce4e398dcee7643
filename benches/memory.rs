//! Heap bytes per provider and per pooled role, measured with a counting global allocator
//! (live bytes before and after, divided by the count). `cargo bench --bench memory`.

#[path = "../tests/support/fake_sts.rs"]
mod fake_sts;

#[path = "support/live_bytes.rs"]
mod live_bytes;

use live_bytes::{live_bytes, LiveBytes};

use std::time::Duration;

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use cross_account_dynamodb::{AssumedRoleCredentials, CrossAccountPool, RoleSpec};
use fake_sts::{FakeSts, Reply};

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

const N: usize = 1000;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run either way.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sts = FakeSts::new(SystemTimeSource::new(), TokioSleep::new());
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    let sdk = sts.sdk_config(1);
    rt.block_on(async {
        // warm up lazily initialised statics (tracing callsites, TLS, the SDK's own)
        let warm = AssumedRoleCredentials::builder("arn:aws:iam::111111111111:role/warm")
            .configure(&sdk)
            .build()
            .await
            .unwrap();
        drop(warm);
        tokio::task::yield_now().await;

        let before = live_bytes();
        let mut providers = Vec::with_capacity(N);
        let vec_bytes = live_bytes() - before;
        for i in 0..N {
            providers.push(
                AssumedRoleCredentials::builder(format!("arn:aws:iam::111111111111:role/r{i}"))
                    .configure(&sdk)
                    .build()
                    .await
                    .unwrap(),
            );
        }
        tokio::task::yield_now().await;
        let per_provider = (live_bytes() - before - vec_bytes) / N as isize;
        drop(providers);

        // The anchor: aws-config's AssumeRoleProvider (it caches nothing itself; the cache
        // lives in each client's identity cache, not counted here).
        let before = live_bytes();
        let mut anchors = Vec::with_capacity(N);
        let vec_bytes = live_bytes() - before;
        for i in 0..N {
            anchors.push(
                aws_config::sts::AssumeRoleProvider::builder(format!(
                    "arn:aws:iam::111111111111:role/a{i}"
                ))
                .configure(&sdk)
                .build()
                .await,
            );
        }
        let per_anchor = (live_bytes() - before - vec_bytes) / N as isize;
        drop(anchors);

        let pool = CrossAccountPool::builder().configure(&sdk).max_roles(N).build();
        pool.credentials(RoleSpec::new("arn:aws:iam::111111111111:role/warm-pool"))
            .await
            .unwrap();
        let before = live_bytes();
        for i in 0..N {
            pool.credentials(RoleSpec::new(format!("arn:aws:iam::222222222222:role/p{i}")))
                .await
                .unwrap();
        }
        let per_role = (live_bytes() - before) / N as isize;
        println!("memory: {per_provider} heap bytes per provider (with its STS client and first credentials, {N} providers)");
        println!("memory: {per_role} heap bytes per pooled role ({N} roles in one pool)");
        println!("memory: {per_anchor} heap bytes per aws-config AssumeRoleProvider (anchor, no credentials held)");
    });
}
