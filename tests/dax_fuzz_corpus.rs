//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through every fuzz target
//! (`fuzz/targets.rs`): every decoder over every corpus file, none may panic.
//!
//! `mutational_fuzz_on_stable` (ignored by default) is the stable-toolchain fallback for
//! `cargo fuzz`: a seeded mutational loop over the same targets and corpus. Run it with
//! `DAX_FUZZ_SECS=60 cargo test --release --test dax_fuzz_corpus -- --ignored --nocapture`.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fuzz/corpus") {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            files.push((f.display().to_string(), std::fs::read(&f).unwrap()));
        }
    }
    files.sort();
    files
}

#[test]
fn every_target_survives_every_corpus_file() {
    let files = corpus();
    assert!(
        files.len() > 1000,
        "corpus is committed ({} files)",
        files.len()
    );
    for (name, data) in &files {
        for (target, run) in targets::TARGETS {
            let r = std::panic::catch_unwind(|| run(data));
            assert!(r.is_ok(), "target {target} panicked on {name}");
        }
    }
    eprintln!(
        "{} corpus files x {} targets replayed",
        files.len(),
        targets::TARGETS.len()
    );
}

/// Truncations of every seed, the cheapest hostile inputs.
#[test]
fn every_target_survives_every_truncation_of_the_seeds() {
    let files = corpus();
    let mut runs = 0;
    for (name, data) in files.iter().step_by(7) {
        for cut in 0..data.len() {
            for (target, run) in targets::TARGETS {
                let r = std::panic::catch_unwind(|| run(&data[..cut]));
                assert!(r.is_ok(), "target {target} panicked on {name} cut at {cut}");
                runs += 1;
            }
        }
    }
    eprintln!("{runs} truncated runs");
}

fn mutate(rng: &mut fastrand::Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..rng.usize(1..=4) {
        match rng.u8(0..8) {
            0 if !d.is_empty() => {
                let i = rng.usize(..d.len());
                d[i] ^= 1 << rng.u8(0..8);
            }
            1 if !d.is_empty() => {
                let i = rng.usize(..d.len());
                d[i] = rng.u8(..);
            }
            2 => {
                let i = rng.usize(..=d.len());
                // Interesting CBOR heads: big lengths, indefinite markers, breaks, tags.
                let heads: [&[u8]; 10] = [
                    &[0x9f],
                    &[0xbf],
                    &[0xff],
                    &[0x5b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
                    &[0x9b, 0, 0, 0, 1, 0, 0, 0, 0],
                    &[0xc4],
                    &[0xc2],
                    &[0xd9, 0x0c, 0xf9],
                    &[0xfb],
                    &[0x7f],
                ];
                let h = heads[rng.usize(..heads.len())];
                d.splice(i..i, h.iter().copied());
            }
            3 if !d.is_empty() => {
                let i = rng.usize(..d.len());
                d.remove(i);
            }
            4 if !d.is_empty() => d.truncate(rng.usize(..d.len())),
            5 if !other.is_empty() => {
                let i = rng.usize(..=d.len());
                let j = rng.usize(..other.len());
                let k = rng.usize(j..=other.len());
                d.splice(i..i, other[j..k].iter().copied());
            }
            6 if d.len() > 1 => {
                let i = rng.usize(..d.len());
                let j = rng.usize(i..d.len());
                let chunk: Vec<u8> = d[i..=j].to_vec();
                d.splice(i..i, chunk);
            }
            _ => d.push(rng.u8(..)),
        }
    }
    d
}

/// The stable-toolchain stand-in for `cargo fuzz`: seeded mutations of the corpus through every
/// target. Bounded by a count, not a clock, so CI runs it every time and it is deterministic
/// (`DAX_FUZZ_EXECS`, `DAX_FUZZ_SEED` for longer or other runs).
#[test]
fn mutational_fuzz_on_stable() {
    let rounds: u64 = std::env::var("DAX_FUZZ_EXECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("DAX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xF022);
    let files = corpus();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut execs: u64 = 0;
    for _ in 0..rounds {
        let (_, a) = &files[rng.usize(..files.len())];
        let (_, b) = &files[rng.usize(..files.len())];
        let input = mutate(&mut rng, a, b);
        for (target, run) in targets::TARGETS {
            let r = std::panic::catch_unwind(|| run(&input));
            assert!(r.is_ok(), "target {target} panicked on {}", hex(&input));
            execs += 1;
        }
    }
    assert_eq!(execs, rounds * targets::TARGETS.len() as u64);
    eprintln!("stable mutational fuzz: {execs} executions (seed {seed:#x})");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
