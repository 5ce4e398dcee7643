//! OpenTelemetry metrics on stdout: the SDK's telemetry provider wired to OpenTelemetry once
//! (`aws-smithy-observability-otel`), and this crate's metrics arrive through it with no
//! further set-up, next to the SDK's own. Runs a cross-account AssumeRole, a forced refresh
//! (a rotation) and a GetItem, then flushes the OpenTelemetry pipeline to stdout
//! (`opentelemetry-stdout`).
//!
//! Local stack (default): `scripts/demo.sh` exports its variables, or
//! `set -a; . "$(scripts/stack/stack.sh env)"; set +a; cargo run --example otel_stdout`.
//! Real AWS: `XACCT_ROLE_ARN`, `XACCT_TABLE` (and `XACCT_EXTERNAL_ID`, `XACCT_REGION`), as for
//! the quickstart.

// Examples are applications: they may read the real clock and sleep.
#![allow(clippy::disallowed_methods)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_observability::global::set_telemetry_provider;
use aws_smithy_observability::TelemetryProvider;
use aws_smithy_observability_otel::meter::OtelMeterProvider;
use cross_account_dynamodb::AssumedRoleCredentials;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::runtime;
use support::{target, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // 1. Once per process, for every SDK client (and so for this crate too): OpenTelemetry's
    //    SDK with a stdout exporter, behind the smithy bridge, as the SDK's global provider.
    let exporter = opentelemetry_stdout::MetricsExporter::default();
    let reader = PeriodicReader::builder(exporter, runtime::Tokio)
        .with_interval(Duration::from_secs(3600)) // exported on flush below
        .build();
    let otel = Arc::new(OtelMeterProvider::new(
        SdkMeterProvider::builder().with_reader(reader).build(),
    ));
    set_telemetry_provider(
        TelemetryProvider::builder()
            .meter_provider(otel.clone())
            .build(),
    )?;

    // 2. The usual cross-account work.
    let t = target("ROLE_ARN", true).await?;
    let table = t.setting("TABLE", "TABLE")?;
    let mut builder = AssumedRoleCredentials::builder(&t.role_arn)
        .session_name("otel-stdout")
        .configure(&t.source);
    if let Some(id) = &t.external_id {
        builder = builder.external_id(id);
    }
    let creds = builder.build().await?;
    let rotation = creds.refresh_now().await?;
    println!(
        "assumed {} on {}; refreshed to generation {}",
        creds.role_arn(),
        t.place,
        rotation.generation
    );
    creds
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("otel-stdout".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await?;
    println!("GetItem on {table} done; exporting metrics:");

    // 3. Export now (a service would leave this to the periodic reader). The flush waits for the
    //    reader's task, so it runs off the async worker.
    let flush = otel.clone();
    tokio::task::spawn_blocking(move || flush.flush()).await??;
    Ok(())
}
