//! Issue 15 benchmark for the coordination layer (src/cluster): a throwaway PostgreSQL on loopback
//! (tests/support/postgres.rs), 3 replica pools draining one lane through claim → zero-latency "call" → complete.
//! Reports the claim-to-commit overhead per task (the claim's time shared over its batch plus the completing
//! transaction; goal p99 ≤ 10 ms) and tasks/s across the 3 replicas (goal ≥ 500/s).
//!
//! Run: `cargo bench --profile dev --bench cluster` (env TASKS=N, default 6000).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::disallowed_methods, unreachable_pub)]

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use gavel::cluster::{connect, queue, replica_id, schema, Lane};
use serde_json::json;

/// Replicas (pools) and claiming workers per replica.
const REPLICAS: usize = 3;
const WORKERS: usize = 2;
/// Tasks per claim.
const BATCH: i64 = 10;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let n: usize = std::env::var("TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(6000);
    let Some(pg) = postgres::Postgres::start() else { return };
    let admin = connect(&pg.url(), 2).unwrap();
    schema::migrate(&admin).await.unwrap();
    let lane = Lane::new("org-bench", "fake");
    let tasks: Vec<queue::NewTask> =
        (0..n).map(|i| queue::NewTask { item_id: format!("i{i:06}"), payload: json!({"i": i}) }).collect();
    let mut c = admin.get().await.unwrap();
    let tx = c.transaction().await.unwrap();
    queue::enqueue(&tx, &lane, "bench", &tasks).await.unwrap();
    tx.commit().await.unwrap();

    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..REPLICAS {
        let pool = connect(&pg.url(), WORKERS + 1).unwrap();
        let me = replica_id();
        for _ in 0..WORKERS {
            let (pool, me, lane) = (pool.clone(), me.clone(), lane.clone());
            handles.push(tokio::spawn(async move {
                let mut over = Vec::new();
                loop {
                    let t = Instant::now();
                    let got = queue::claim(&pool, &lane, &me, BATCH, queue::DEFAULT_LEASE).await.unwrap();
                    if got.is_empty() {
                        return over;
                    }
                    let share = t.elapsed() / got.len() as u32;
                    for task in &got {
                        let result = json!({"score": 1, "item": task.item_id}); // the zero-latency call
                        let t = Instant::now();
                        queue::complete(&pool, task, &me, &result).await.unwrap();
                        over.push(share + t.elapsed());
                    }
                }
            }));
        }
    }
    let mut over = Vec::new();
    for h in handles {
        over.extend(h.await.unwrap());
    }
    let wall = start.elapsed();
    assert_eq!(over.len(), n);
    assert_eq!(queue::results(&admin, "bench").await.unwrap().len(), n, "one result per task");
    println!(
        "cluster: {n} tasks, {REPLICAS} replicas x {WORKERS} workers, batch {BATCH}: claim-to-commit p50 {:.2} ms, \
         p99 {:.2} ms (goal <= 10 ms); {:.0} tasks/s (goal >= 500/s)",
        pct(&mut over, 0.50).as_secs_f64() * 1e3,
        pct(&mut over, 0.99).as_secs_f64() * 1e3,
        n as f64 / wall.as_secs_f64()
    );
}
