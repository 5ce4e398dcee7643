//! Cost of compiling DynamoDB expressions into DAX trees (and back).
//!
//! `cargo bench --bench dax_expr`; figures in BENCHMARKS.md.

use aws_sdk_dynamodb::types::AttributeValue;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use xacct_dax_protocol::expr::{compile, decompile, Expressions};

/// An UpdateItem's expressions as services write them: a counter, a timestamp, a list append
/// with a default, a removal, guarded by a condition.
fn typical_update() -> Expressions {
    Expressions::new()
        .update(
            "SET #c = if_not_exists(#c, :zero) + :one, updated_at = :now, \
             tags = list_append(if_not_exists(tags, :empty), :t) REMOVE obsolete",
        )
        .condition("attribute_exists(pk) AND #c < :max")
        .name("#c", "count")
        .value(":zero", AttributeValue::N("0".into()))
        .value(":one", AttributeValue::N("1".into()))
        .value(":max", AttributeValue::N("1000".into()))
        .value(":now", AttributeValue::S("2026-11-21T08:45:05Z".into()))
        .value(":empty", AttributeValue::L(vec![]))
        .value(
            ":t",
            AttributeValue::L(vec![AttributeValue::S("new".into())]),
        )
}

fn bench(c: &mut Criterion) {
    let update_only = Expressions::new()
        .update("SET a = a + :one, b = :now REMOVE c")
        .value(":one", AttributeValue::N("1".into()))
        .value(":now", AttributeValue::S("2026-11-21T08:45:05Z".into()));
    c.bench_function("compile/update_small", |b| {
        b.iter(|| compile(black_box(&update_only)))
    });
    let typical = typical_update();
    c.bench_function("compile/update_and_condition", |b| {
        b.iter(|| compile(black_box(&typical)))
    });
    let compiled = compile(&typical).expect("compiles");
    c.bench_function("decompile/update_and_condition", |b| {
        b.iter(|| decompile(black_box(&compiled)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
