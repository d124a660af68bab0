//! The judge scheduler's own CPU cost per call, without HTTP, JSON or SQLite: a lane slot acquired in round-robin
//! order between runs, the pace check, the success bookkeeping, the slot released, and the usage booked.
//!
//! Run: `cargo bench --bench scheduler_overhead` (target: ≤ 100 µs per call).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)] // A benchmark may stop hard and sleep.

use std::time::Instant;

use gavel::judge::lane::Lane;
use gavel::usage::book::{Book, Line};

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let calls: u64 = 500_000;
    let lane = Lane::new(20);
    let mut book = Book::default();
    let runs = ["run-a", "run-b", "run-c"];
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    rt.block_on(async {
        for i in 0..calls {
            let permit = lane.acquire(runs[(i % 3) as usize]).await;
            lane.wait_turn().await;
            lane.on_success();
            drop(permit);
            book.add(
                ("openai".into(), "gpt-4o-mini".into(), "pk_bench".into()),
                Line {
                    source: Default::default(),
                    calls: 1,
                    input_tokens: 180,
                    output_tokens: 20,
                    cost_usd: 0.00004,
                    cache_hits: 0,
                    price_known: true,
                },
            );
        }
    });
    let cpu = cpu_seconds() - cpu0;
    let wall = started.elapsed().as_secs_f64();
    println!(
        "scheduler overhead: {:.2} µs CPU per call ({calls} calls, {cpu:.2} s CPU, {wall:.2} s wall)",
        cpu * 1e6 / calls as f64
    );
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
