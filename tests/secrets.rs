//! Secrets never leak: not through `Debug`, `Display`, errors, or logs, over a full refresh cycle
//! with failures, with this crate's events at TRACE and the SDK's at DEBUG.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_async::test_util::tick_advance_sleep::tick_advance_time_and_sleep;
use cross_account_dynamodb::{AssumedRoleCredentials, Error, RefreshEvent, RefreshPolicy};
use support::fake_sts::{FakeSts, Reply};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

const ROLE: &str = "arn:aws:iam::111111111111:role/CrossAccountDynamoRole";
/// Unreserved characters only, so no encoding can hide it from the search below.
const EXTERNAL_ID: &str = "xacctExternalId7d1cUnreservedOnly";

/// Everything written to the log, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn no_secret_in_logs_debug_display_or_errors_over_a_refresh_cycle() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::registry()
        .with(
            Targets::new()
                .with_target("cross_account_dynamodb", LevelFilter::TRACE)
                .with_target("aws_smithy_runtime", LevelFilter::DEBUG)
                .with_target("aws_smithy_runtime_api", LevelFilter::DEBUG)
                .with_target("aws_sdk_sts", LevelFilter::DEBUG)
                .with_target("aws_runtime", LevelFilter::DEBUG)
                .with_target("aws_sigv4", LevelFilter::DEBUG)
                .with_target("aws_config", LevelFilter::DEBUG),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        );
    let _guard = tracing::subscriber::set_default(subscriber);

    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(20)));
    let events = Arc::new(Mutex::new(Vec::<RefreshEvent>::new()));
    let seen = events.clone();
    let builder = AssumedRoleCredentials::builder(ROLE)
        .session_name("secrets-test")
        .external_id(EXTERNAL_ID)
        .configure(&sts.sdk_config(1))
        .on_refresh(move |e| seen.lock().unwrap().push(e.clone()));
    let builder_debug = format!("{builder:?}");
    let creds = builder.build().await.unwrap();

    // A full cycle: proactive refreshes, a throttled stretch, an access denial, an
    // invalidation, recovery.
    let tick = |d| {
        let time = time.clone();
        async move {
            time.tick(d).await;
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
        }
    };
    tick(Duration::from_secs(25)).await;
    sts.set(Reply::Throttling);
    tick(Duration::from_secs(12)).await;
    sts.set(Reply::AccessDenied);
    tick(Duration::from_secs(3)).await;
    let denied = creds.refresh_now().await.unwrap_err();
    sts.set(Reply::Ok(Duration::from_secs(20)));
    tick(Duration::from_secs(1)).await;
    let current = creds.status().access_key_id.unwrap();
    creds.invalidate(&current);
    let after = creds.credentials().await.unwrap();
    tick(Duration::from_secs(30)).await;
    let expired_err = {
        sts.set(Reply::Internal);
        tick(Duration::from_secs(60)).await;
        creds.credentials().await.unwrap_err()
    };

    let issued = sts.issued();
    let log = logs.text();
    // Positive controls: the cycle happened and was logged, by us and by the SDK.
    assert!(issued >= 5, "{issued} sessions issued");
    assert!(
        log.contains("refreshed credentials"),
        "no refresh event captured:\n{log}"
    );
    assert!(
        log.contains("credential refresh failed"),
        "no failure event captured"
    );
    assert!(
        log.contains("aws_smithy_runtime"),
        "no SDK event captured at DEBUG"
    );
    assert!(
        log.contains(&FakeSts::access_key_of(1)),
        "key ids are logged (they are not secret)"
    );

    let mut everything = vec![
        ("log", log),
        ("builder Debug", builder_debug),
        ("provider Debug", format!("{creds:?}")),
        ("status Debug", format!("{:?}", creds.status())),
        ("denied Display", denied.to_string()),
        ("denied Debug", format!("{denied:?}")),
        ("expired Display", expired_err.to_string()),
        ("expired Debug", format!("{expired_err:?}")),
        ("credentials Debug", format!("{after:?}")),
    ];
    for e in events.lock().unwrap().iter() {
        everything.push(("event Debug", format!("{e:?}")));
    }
    for (what, text) in &everything {
        assert!(!text.contains(EXTERNAL_ID), "{what} shows the external id");
        for n in 1..=issued {
            let (secret, token) = FakeSts::secrets_of(n);
            assert!(!text.contains(&secret), "{what} shows secret key {n}");
            assert!(!text.contains(&token), "{what} shows session token {n}");
        }
        assert!(
            !text.contains("sourceSecretKeyOfAccountB"),
            "{what} shows the source secret"
        );
    }
}

/// Every level of `err`'s `source()` chain, in `Display` and in `Debug`.
fn chain_texts(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(format!("{e}"));
        out.push(format!("{e:?}"));
        cur = e.source();
    }
    out
}

/// Runs `fut` to completion, advancing the injected clock in 100 ms steps (at most 60 s).
async fn drive<T: Send + 'static>(
    time: &aws_smithy_async::test_util::tick_advance_sleep::TickAdvanceTime,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let task = tokio::spawn(fut);
    for _ in 0..600 {
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        if task.is_finished() {
            break;
        }
        time.tick(Duration::from_millis(100)).await;
    }
    task.await.unwrap()
}

#[tokio::test]
async fn no_error_chain_shows_a_secret_on_any_sts_error_path() {
    for reply in [
        Reply::Truncated,
        Reply::AccessDeniedEchoingExternalId,
        Reply::Throttling,
        Reply::Internal,
        Reply::Hang,
    ] {
        let (time, sleep) = tick_advance_time_and_sleep();
        let sts = FakeSts::new(time.clone(), sleep);
        sts.set(reply.clone());
        sts.plant_secrets(true);
        let events = Arc::new(Mutex::new(Vec::<RefreshEvent>::new()));
        let builder = || {
            let seen = events.clone();
            AssumedRoleCredentials::builder(ROLE)
                .session_name("secrets-test")
                .external_id(EXTERNAL_ID)
                .refresh_policy(RefreshPolicy::default().load_timeout(Duration::from_secs(3)))
                .configure(&sts.sdk_config(1))
                .on_refresh(move |e| seen.lock().unwrap().push(e.clone()))
        };

        let mut errors: Vec<(&str, Error)> = Vec::new();
        let b = builder();
        errors.push(("build", drive(&time, b.build()).await.unwrap_err()));
        let creds = builder().build_deferred().unwrap();
        let c = creds.clone();
        errors.push((
            "refresh_now",
            drive(&time, async move { c.refresh_now().await })
                .await
                .unwrap_err(),
        ));
        // Past the remembered error, so the caller path calls STS again.
        time.tick(Duration::from_secs(10)).await;
        let c = creds.clone();
        errors.push((
            "credentials",
            drive(&time, async move { c.credentials().await })
                .await
                .unwrap_err(),
        ));
        if let Some((_, e)) = creds.status().last_error {
            errors.push(("status.last_error", e));
        }
        for e in events.lock().unwrap().iter() {
            if let RefreshEvent::Failed { error, .. } = e {
                errors.push(("RefreshEvent::Failed", error.clone()));
            }
        }

        let issued = sts.issued();
        let mut secrets = vec![
            EXTERNAL_ID.to_owned(),
            "sourceSecretKeyOfAccountB".to_owned(),
        ];
        for n in (1..=issued + 2).chain([FakeSts::PLANTED]) {
            let (secret, token) = FakeSts::secrets_of(n);
            secrets.push(secret);
            secrets.push(token);
        }
        let mut all = String::new();
        for (what, err) in &errors {
            for text in chain_texts(err) {
                for secret in &secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{reply:?}: the {what} error chain shows a secret: {text}"
                    );
                }
                all.push_str(&text);
                all.push('\n');
            }
        }
        // Positive controls: the chain still says what happened.
        match reply {
            Reply::Truncated => assert!(all.contains("unreadable"), "{all}"),
            Reply::AccessDeniedEchoingExternalId => {
                assert!(all.contains("AccessDenied"), "{all}");
                assert!(
                    all.contains("<redacted>"),
                    "the message is kept, redacted: {all}"
                );
                assert!(all.contains("fake-error"), "the request id is kept: {all}");
            }
            Reply::Throttling => assert!(all.contains("Throttling"), "{all}"),
            Reply::Internal => assert!(all.contains("InternalFailure"), "{all}"),
            Reply::Hang => assert!(all.contains("load timeout"), "{all}"),
            _ => unreachable!(),
        }
    }
}
