//! Heap allocations per GetItem request encode and per GetItem reply decode (the 11-attribute
//! item of the `codec` bench), counted by a counting global allocator; and, with
//! `CODEC_LOOP=N`, just N encode + decode rounds (for `valgrind --tool=callgrind`).
//!
//! `cargo bench -p xacct-dax-protocol --bench codec_allocs`; results in BENCHMARKS.md ("DAX codec").

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
use xacct_dax_protocol::codec::*;

#[path = "support/items.rs"]
mod items;
use items::{n, s, small_item};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn count<R>(rounds: u64, mut f: impl FnMut() -> R) -> (f64, f64) {
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..rounds {
        black_box(f());
    }
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    (
        (a1 - a0) as f64 / rounds as f64,
        (b1 - b0) as f64 / rounds as f64,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let catalog = MemoryCatalog::assigning(100);
    catalog.insert_key_schema(
        "t",
        KeySchema::composite(KeyAttribute::new("pk", T::S), KeyAttribute::new("sk", T::N)),
    );
    let key: HashMap<String, AttributeValue> =
        [("pk".to_owned(), s("k1")), ("sk".to_owned(), n("3.14"))].into();
    let get = GetItemInput::builder()
        .table_name("t")
        .set_key(Some(key))
        .build()?;
    let exprs = CompiledExpressions::default();
    let mut reply = Vec::new();
    let output = GetItemOutput::builder()
        .set_item(Some(small_item("k1", "3.14")))
        .build();
    encode_get_item_response(&output, &get, None, &catalog, &mut reply)?;
    let mut frame = Vec::with_capacity(64);

    if let Some(rounds) = std::env::var("CODEC_LOOP")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        for _ in 0..rounds {
            frame.clear();
            encode_get_item_request(black_box(&get), &exprs, &catalog, &mut frame)?;
            black_box(decode_get_item_response(black_box(&reply), &get, None, &catalog)?.ok());
        }
        return Ok(());
    }

    // Warm up (first calls fill thread-locals such as the hasher's keys).
    for _ in 0..100 {
        frame.clear();
        encode_get_item_request(&get, &exprs, &catalog, &mut frame)?;
        black_box(decode_get_item_response(&reply, &get, None, &catalog)?.ok());
    }
    const ROUNDS: u64 = 10_000;
    let (enc, enc_b) = count(ROUNDS, || {
        frame.clear();
        encode_get_item_request(&get, &exprs, &catalog, &mut frame)
    });
    let (dec, dec_b) = count(ROUNDS, || {
        decode_get_item_response(&reply, &get, None, &catalog)
    });
    let decoded =
        decode_get_item_response(&reply, &get, None, &catalog)?.map_err(|e| format!("{e:?}"))?;
    if decoded.item() != output.item() {
        return Err("decoded item differs from the encoded one".into());
    }
    println!(
        "GetItem request encode ({} B frame): {enc:.1} allocations, {enc_b:.0} bytes per call",
        frame.len()
    );
    println!("GetItem reply decode (11 attributes, {} B): {dec:.1} allocations, {dec_b:.0} bytes per call (the decoded item, output included)", reply.len());
    Ok(())
}
