//! The shared fuzz loop: seeds, mutations, the case count and the report line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Generated cases per target when `FUZZ_CASES` is unset: small, so the ordinary `cargo test` stays fast.
const DEFAULT_CASES: u32 = 256;

/// One edit of a seed. Indexes are proportional, so one edit list fits any seed length.
#[derive(Clone, Debug)]
enum Op {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Token(Index, Index),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Splice(Index, Index, Index),
    Truncate(Index),
}

/// Either random bytes or a seed with a few edits.
#[derive(Clone, Debug)]
enum Input {
    Random(Vec<u8>),
    Mutated(Index, Vec<Op>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Op::Flip(i, b)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Op::Insert(i, b)),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Op::Token(i, t)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Op::Delete(i, n)),
        1 => (any::<Index>(), 1usize..256).prop_map(|(i, n)| Op::Duplicate(i, n)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(s, a, b)| Op::Splice(s, a, b)),
        1 => (any::<Index>()).prop_map(Op::Truncate),
    ]
}

fn input(max_len: usize) -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..max_len.min(2048)).prop_map(Input::Random),
        3 => (any::<Index>(), vec(op(), 1..8)).prop_map(|(s, ops)| Input::Mutated(s, ops)),
    ]
}

fn at(i: &Index, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        i.index(len + 1)
    }
}

fn apply(seeds: &[Vec<u8>], tokens: &[&[u8]], seed: &Index, ops: &[Op], max_len: usize) -> Vec<u8> {
    let mut b = seeds[seed.index(seeds.len())].clone();
    for op in ops {
        match op {
            Op::Flip(i, x) => {
                if !b.is_empty() {
                    let p = i.index(b.len());
                    b[p] ^= x | 1;
                }
            }
            Op::Insert(i, bytes) => {
                let p = at(i, b.len());
                b.splice(p..p, bytes.iter().copied());
            }
            Op::Token(i, t) => {
                if !tokens.is_empty() {
                    let p = at(i, b.len());
                    b.splice(p..p, tokens[t.index(tokens.len())].iter().copied());
                }
            }
            Op::Delete(i, n) => {
                let p = at(i, b.len());
                let end = (p + n).min(b.len());
                b.drain(p..end);
            }
            Op::Duplicate(i, n) => {
                let p = at(i, b.len());
                let end = (p + n).min(b.len());
                let chunk = b[p..end].to_vec();
                b.splice(end..end, chunk);
            }
            Op::Splice(s, a, e) => {
                let other = &seeds[s.index(seeds.len())];
                let from = at(a, other.len());
                let p = at(e, b.len());
                b.truncate(p);
                b.extend_from_slice(&other[from..]);
            }
            Op::Truncate(i) => {
                let p = at(i, b.len());
                b.truncate(p);
            }
        }
        b.truncate(max_len);
    }
    b
}

/// The seed corpus of `target`, in name order.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "corpus {} is empty", dir.display());
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES)
}

/// Runs `check` on every seed, then on `FUZZ_CASES` generated inputs of at most `max_len` bytes. A panic in
/// `check` (the parser's or an assertion's) fails the target with the shrunk input; the report line gives the
/// executions, the slowest one and the largest input.
pub fn fuzz(target: &str, seeds: Vec<Vec<u8>>, tokens: &[&[u8]], max_len: usize, check: impl Fn(&[u8])) {
    let started = Instant::now();
    let runs = AtomicU64::new(0);
    let slowest = std::sync::Mutex::new(Duration::ZERO);
    let timed = |bytes: &[u8]| {
        let t = Instant::now();
        check(bytes);
        let took = t.elapsed();
        runs.fetch_add(1, Ordering::Relaxed);
        let mut s = slowest.lock().unwrap();
        *s = (*s).max(took);
    };
    for seed in &seeds {
        timed(seed);
    }
    let cases = cases();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&input(max_len), |case| {
        let bytes = match &case {
            Input::Random(b) => b.clone(),
            Input::Mutated(seed, ops) => apply(&seeds, tokens, seed, ops, max_len),
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| timed(&bytes))).map_err(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            TestCaseError::fail(format!("panic on input {:?}: {what}", String::from_utf8_lossy(&bytes)))
        })
    });
    println!(
        "fuzz {target}: {} executions ({} seeds + {cases} cases) in {:.1} s, slowest {} ms",
        runs.load(Ordering::Relaxed),
        seeds.len(),
        started.elapsed().as_secs_f64(),
        slowest.lock().unwrap().as_millis()
    );
    if let Err(e) = result {
        panic!("fuzz {target} failed: {e}");
    }
}
