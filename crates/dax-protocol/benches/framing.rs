//! Finding the end of a large reply that arrives in TLS-record-sized pieces: rescanning the
//! growing buffer from byte 0 after every read (`response_frame_len`, what the transport did)
//! against resuming where the last scan stopped (`ResponseFramer`).
//!
//! `cargo bench -p xacct-dax-protocol --bench framing`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xacct_dax_protocol::codec::{response_frame_len, Method, ResponseFramer};

/// A Query-like success reply: one array of `items` maps of a few attributes each.
fn reply(items: usize) -> Vec<u8> {
    let mut r = vec![0x80, 0x9f];
    for i in 0..items {
        r.extend_from_slice(&[0xa3, 0x61, b'p', 0x58, 24]);
        r.extend(std::iter::repeat_n(b'x', 24));
        r.extend_from_slice(&[0x61, b's', 0x1a]);
        r.extend_from_slice(&(i as u32).to_be_bytes());
        r.extend_from_slice(&[0x61, b'd', 0x59, 0x01, 0x00]);
        r.extend(std::iter::repeat_n(b'd', 256));
    }
    r.push(0xff);
    r
}

fn framing(c: &mut Criterion) {
    const RECORD: usize = 16 * 1024;
    let mut group = c.benchmark_group("reply_framing");
    for items in [1_000, 16_000] {
        let frame = reply(items);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.sample_size(10);
        let label = format!("{}KiB_in_16KiB_reads", frame.len() / 1024);
        group.bench_function(format!("rescan_from_start/{label}"), |b| {
            b.iter(|| {
                let mut end = None;
                for take in (RECORD..frame.len()).step_by(RECORD).chain([frame.len()]) {
                    end = response_frame_len(Method::Query, &frame[..take]).unwrap();
                    if end.is_some() {
                        break;
                    }
                }
                assert_eq!(end, Some(frame.len()));
            })
        });
        group.bench_function(format!("resumable_framer/{label}"), |b| {
            b.iter(|| {
                let mut framer = ResponseFramer::new(Method::Query);
                let mut end = None;
                for take in (RECORD..frame.len()).step_by(RECORD).chain([frame.len()]) {
                    end = framer.frame_len(&frame[..take]).unwrap();
                    if end.is_some() {
                        break;
                    }
                }
                assert_eq!(end, Some(frame.len()));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
