//! No span field, event field or metric attribute of this workspace's crates carries a secret
//! access key, a session token or an external id. Known secrets are planted (the fake STS's
//! issued keys, secrets in its error bodies, external ids; the local stack's real session keys
//! over DAX), every span and event of our crates is captured with all its fields by a
//! `tracing` layer, and every metric attribute by the in-memory meter. The same capture checks
//! the span tree: background refreshes are root spans, DAX requests nest under the SDK's own
//! request spans. Sets global providers: one test in this binary.
#![allow(clippy::disallowed_methods)] // real-time polling for the background task

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::test_util::tick_advance_sleep::{
    tick_advance_time_and_sleep, TickAdvanceTime,
};
use cross_account_dynamodb::AssumedRoleCredentials;
use support::fake_sts::{FakeSts, Reply};
use support::meter::MemoryMeter;
use support::{dax_client, Stack};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const ROLE: &str = "arn:aws:iam::111111111111:role/SecretsTelemetryRole";
const EXTERNAL_ID: &str = "planted-external-id-5f3a9c";

/// One span of our crates: its name, parent's name (if any) and every field as text.
#[derive(Debug, Clone)]
struct Captured {
    name: String,
    parent: Option<String>,
    fields: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<(u64, Captured)>>>,
    /// Every field of every span and event of our crates, as text.
    text: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

fn ours(target: &str) -> bool {
    target.starts_with("cross_account_dynamodb") || target.starts_with("xacct_dax")
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !ours(attrs.metadata().target()) {
            return;
        }
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.name().to_owned());
        let mut text = self.text.lock().unwrap();
        for (k, v) in &fields {
            text.push(format!("{k}={v}"));
        }
        self.spans.lock().unwrap().push((
            id.into_u64(),
            Captured {
                name: attrs.metadata().name().to_owned(),
                parent,
                fields,
            },
        ));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if !ctx.metadata(id).is_some_and(|m| ours(m.target())) {
            return;
        }
        let mut fields = Vec::new();
        values.record(&mut Fields(&mut fields));
        let mut text = self.text.lock().unwrap();
        for (k, v) in &fields {
            text.push(format!("{k}={v}"));
        }
        let mut spans = self.spans.lock().unwrap();
        if let Some((_, s)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            s.fields.extend(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !ours(event.metadata().target()) {
            return;
        }
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let mut text = self.text.lock().unwrap();
        for (k, v) in fields {
            text.push(format!("{k}={v}"));
        }
    }
}

/// Waits until `cond` holds (bounded), moving the injected clock 1 ms a turn: the background
/// task runs on another worker and may register its sleep after the clock moved.
async fn eventually(time: &TickAdvanceTime, what: &str, cond: impl Fn() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        time.tick(Duration::from_millis(1)).await;
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened: {what}");
}

impl Capture {
    fn spans(&self) -> Vec<Captured> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }
    fn field<'a>(s: &'a Captured, name: &str) -> Option<&'a str> {
        s.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_span_or_metric_attribute_carries_a_secret() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(capture.clone()))
        .unwrap();
    let meter = MemoryMeter::install();
    let mut secrets: Vec<String> = vec![EXTERNAL_ID.to_owned()];

    // Credentials: success, a failure whose error body carries planted secrets, a scheduled
    // rotation, reads past the refresh point.
    let (time, sleep) = tick_advance_time_and_sleep();
    let sts = FakeSts::new(time.clone(), sleep);
    sts.set(Reply::Ok(Duration::from_secs(3600)));
    sts.plant_secrets(true);
    let creds = AssumedRoleCredentials::builder(ROLE)
        .session_name("secrets")
        .external_id(EXTERNAL_ID)
        .configure(&sts.sdk_config(1))
        .build()
        .await
        .unwrap();
    sts.script([Reply::AccessDeniedEchoingExternalId, Reply::Internal]);
    creds.refresh_now().await.unwrap_err();
    creds.refresh_now().await.unwrap_err();
    let next = creds.status().next_refresh.unwrap();
    let now = aws_smithy_async::time::TimeSource::now(&time);
    time.tick(next.duration_since(now).unwrap()).await;
    eventually(&time, "the scheduled rotation", || {
        creds.status().generation == 2
    })
    .await;
    let _ = creds.provide_credentials().await.unwrap();
    for n in 1..=sts.issued() {
        let (secret, token) = FakeSts::secrets_of(n);
        secrets.extend([secret, token]);
    }
    let (secret, token) = FakeSts::secrets_of(FakeSts::PLANTED);
    secrets.extend([secret, token]);

    // DAX: the stack's real session keys, connect, authorize, a rotation, re-authorize.
    let stack = Stack::shared();
    secrets.push(stack.external_id().to_owned());
    let dax_creds = dax_client::assume_role(stack, "secrets-telemetry").await;
    let gw = dax_client::verified_gateway(stack, 1, None).await;
    let dax = dax_creds.dax(gw.endpoint()).unwrap();
    let get = || {
        dax.get_item()
            .table_name(stack.table())
            .key("pk", AttributeValue::S("secrets-telemetry".into()))
            .key("sk", AttributeValue::N("1".into()))
            .send()
    };
    for _ in 0..2 {
        let c = dax_creds.credentials().await.unwrap();
        secrets.push(c.secret_access_key().to_owned());
        secrets.push(c.session_token().unwrap().to_owned());
        get().await.unwrap();
        dax_creds.refresh_now().await.unwrap();
    }
    get().await.unwrap();
    let c = dax_creds.credentials().await.unwrap();
    secrets.push(c.secret_access_key().to_owned());
    secrets.push(c.session_token().unwrap().to_owned());

    // The capture works (positive controls), then: no secret anywhere.
    let spans = capture.spans();
    for name in [
        "assume_role",
        "dax.request",
        "dax.connect",
        "dax.authorize",
        "dax.reauthorize",
    ] {
        assert!(
            spans.iter().any(|s| s.name == name),
            "no {name} span: {spans:#?}"
        );
    }
    let text = capture.text.lock().unwrap().clone();
    assert!(
        text.iter().any(|t| t.contains(ROLE)),
        "the capture sees the role ARN"
    );
    let attrs = meter.all_attribute_text();
    assert!(
        attrs.iter().any(|a| a == ROLE),
        "the meter sees the role ARN"
    );
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {secret}");
        for t in &text {
            assert!(
                !t.contains(secret.as_str()),
                "a span or event field carries a secret: {t}"
            );
        }
        for a in &attrs {
            assert!(
                !a.contains(secret.as_str()),
                "a metric attribute carries a secret: {a}"
            );
        }
    }

    // The span tree: background refreshes are roots; caller refreshes nest under the caller's
    // span (none here: roots too); DAX requests nest under the SDK's request spans.
    let scheduled: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "assume_role" && Capture::field(s, "reason") == Some("scheduled"))
        .collect();
    assert!(!scheduled.is_empty());
    assert!(
        scheduled.iter().all(|s| s.parent.is_none()),
        "{scheduled:#?}"
    );
    let failed = spans
        .iter()
        .find(|s| s.name == "assume_role" && Capture::field(s, "outcome") == Some("failure"))
        .expect("a failed refresh span");
    assert_eq!(Capture::field(failed, "error.kind"), Some("access_denied"));
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "dax.request").collect();
    assert!(requests.iter().all(|s| s.parent.is_some()), "{requests:#?}");
    assert!(requests
        .iter()
        .all(|s| Capture::field(s, "operation") == Some("GetItem")
            && Capture::field(s, "node").is_some()
            && Capture::field(s, "attempt") == Some("1")));
    let reauth = spans
        .iter()
        .find(|s| s.name == "dax.reauthorize")
        .expect("a re-authorization");
    assert_eq!(Capture::field(reauth, "reason"), Some("rotation"));
}
