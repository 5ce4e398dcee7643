//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through every fuzz target
//! (`fuzz/targets.rs`): every decoder over every corpus file, none may panic.
//!
//! `mutational_fuzz_on_stable` (a short count-bounded run by default) is the stable-toolchain fallback for
//! `cargo fuzz`: a seeded mutational loop over the same targets and corpus. Run it with
//! `DAX_FUZZ_SECS=60 cargo test --release -p xacct-dax-protocol --test fuzz_corpus -- mutational_fuzz_on_stable --nocapture`
//! (seconds per target; `DAX_FUZZ_TARGETS=server_request,expr_compile` to pick targets).

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

/// Text mutations for the expression compiler: tokens of the grammar spliced in.
fn mutate_text(rng: &mut fastrand::Rng, d: &mut Vec<u8>) {
    const TOKENS: [&str; 24] = [
        "(",
        ")",
        "NOT ",
        " AND ",
        " OR ",
        " = ",
        " <> ",
        " BETWEEN ",
        " IN (",
        ", ",
        "size(",
        "attribute_exists(",
        "begins_with(",
        "if_not_exists(",
        "list_append(",
        "SET ",
        " REMOVE ",
        " ADD ",
        " DELETE ",
        " + ",
        "[0]",
        ".",
        "#n",
        ":v",
    ];
    for _ in 0..rng.usize(1..=3) {
        let t = TOKENS[rng.usize(..TOKENS.len())].as_bytes();
        let i = rng.usize(..=d.len());
        if rng.bool() {
            d.splice(i..i, t.iter().copied());
        } else {
            // Repeat a token many times: deep nesting, long chains.
            let n = rng.usize(1..200);
            let rep: Vec<u8> = t.iter().copied().cycle().take(t.len() * n).collect();
            d.splice(i..i, rep);
        }
    }
}

/// The stable-toolchain stand-in for `cargo fuzz`: seeded mutations of the corpus through every
/// target. By default bounded by a count, not a clock, so CI runs it every time and it is
/// deterministic (`DAX_FUZZ_EXECS`, `DAX_FUZZ_SEED` for longer or other runs). With
/// `DAX_FUZZ_SECS=n` it runs each target (`DAX_FUZZ_TARGETS=a,b` to pick) for `n` seconds
/// instead and prints the executions per target. Targets with an outcome function
/// (`targets::OUTCOMES`) keep inputs with an outcome not seen before as new seeds; with
/// `DAX_FUZZ_SAVE=1` the small ones (the first 40 per target) are written to
/// `fuzz/corpus/<target>/`.
#[test]
fn mutational_fuzz_on_stable() {
    let env = |k: &str| std::env::var(k).ok();
    let rounds: u64 = env("DAX_FUZZ_EXECS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = env("DAX_FUZZ_SEED")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xF022);
    let secs: Option<u64> = env("DAX_FUZZ_SECS").and_then(|s| s.parse().ok());
    let only: Option<Vec<String>> =
        env("DAX_FUZZ_TARGETS").map(|s| s.split(',').map(str::to_owned).collect());
    let save = env("DAX_FUZZ_SAVE").is_some_and(|s| s == "1");
    let files = corpus();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total: u64 = 0;
    for (target, run) in targets::TARGETS {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|t| t == target))
        {
            continue;
        }
        let outcome = targets::OUTCOMES
            .iter()
            .find(|(n, _)| n == target)
            .map(|&(_, f)| f);
        // Seeds: the target's own corpus first, then everything.
        let own = format!("/{target}/");
        let mut pool: Vec<Vec<u8>> = files
            .iter()
            .filter(|(n, _)| n.contains(&own))
            .map(|(_, d)| d.clone())
            .collect();
        let own_len = pool.len();
        pool.extend(files.iter().map(|(_, d)| d.clone()));
        let mut seen = std::collections::HashSet::new();
        if let Some(outcome) = outcome {
            for d in &pool {
                seen.insert(outcome(d));
            }
        }
        let (seen_at_start, mut kept, mut saved) = (seen.len(), 0usize, 0usize);
        let mut rng = fastrand::Rng::with_seed(seed ^ fxhash(target.as_bytes()));
        // A test harness's time budget, not library code.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let mut execs: u64 = 0;
        let text = target.starts_with("expr_compile");
        loop {
            match secs {
                Some(s) if execs.is_multiple_of(64) && started.elapsed().as_secs() >= s => break,
                None if execs >= rounds => break,
                _ => {}
            }
            let a = &pool[if own_len > 0 && rng.bool() {
                rng.usize(..own_len)
            } else {
                rng.usize(..pool.len())
            }];
            let b = &pool[rng.usize(..pool.len())];
            let mut input = mutate(&mut rng, a, b);
            if text && rng.bool() {
                mutate_text(&mut rng, &mut input);
            }
            execs += 1;
            let result = std::panic::catch_unwind(|| match outcome {
                Some(f) => Some(f(&input)),
                None => {
                    run(&input);
                    None
                }
            });
            let Ok(result) = result else {
                panic!("target {target} panicked on {}", hex(&input));
            };
            if let Some(o) = result {
                if seen.insert(o) {
                    kept += 1;
                    if save && input.len() <= 512 && saved < 40 {
                        let name = format!("{:016x}", fxhash(&input));
                        let dir = root.join(target);
                        std::fs::create_dir_all(&dir).unwrap();
                        std::fs::write(dir.join(name), &input).unwrap();
                        saved += 1;
                    }
                    // Keep the pool bounded (a long run must not grow without limit).
                    if kept <= 10_000 {
                        pool.push(input);
                    }
                }
            }
        }
        total += execs;
        eprintln!(
            "stable mutational fuzz: {target}: {execs} executions in {:.0?} (seed {seed:#x}){}",
            started.elapsed(),
            if outcome.is_some() {
                format!(
                    ", {} outcome classes ({seen_at_start} from the corpus), {kept} new inputs kept, {saved} saved",
                    seen.len()
                )
            } else {
                String::new()
            }
        );
    }
    eprintln!("stable mutational fuzz: {total} executions in all");
}

/// FNV-1a, for file names and per-target seeds.
fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
