//! Issue benchmark for the OpenAI-compatible gateway (issue 10, "Speed"): the real release binary on loopback, a
//! lean zero-latency fake OpenAI upstream in this process (one actix worker, a canned answer; streams use the test
//! fake's real chunk frames) and a single-threaded load generator, all on the same host. Calls go through a member
//! key with rate limits and a budget set, so auth, limits, budget reservation, usage rows and the request log are all
//! on; every prompt is distinct, so each call is a cache miss that also writes the cache. Reports:
//! 1. added latency (gateway − direct to the fake) p50/p99 at concurrency 1 (targets ≤ 100 µs / ≤ 300 µs);
//! 2. cache-hit latency p50/p99 (target p99 ≤ 300 µs);
//! 3. added time to the first streamed chunk p50/p99 (target ≤ 300 µs);
//! 4. open-loop throughput at 2,000 and 5,000 requests/s (or the most reached): achieved rate, p50/p99, errors, the
//!    server's CPU µs per request (target p99 ≤ 1 ms at 2,000/s; ≥ 5,000/s);
//! 5. 500 concurrent streams: all complete with every chunk, the server's RSS meanwhile (target ≤ 100 MB);
//! 6. the server's peak RSS (VmHWM).
//!
//! Run: `cargo bench --bench gateway` (about a minute; env SEQ=N for the sequential sample size, SECS=S for each
//! throughput phase). The gateway's per-(org, provider) concurrency is raised to 1,000 for the 500 streams, the
//! loopback is listed in `providers.allowed_hosts` and the server-wide request rates are lifted.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)] // A benchmark may stop hard and sleep.

#[path = "../tests/support/fake_stream.rs"]
mod fake_stream;

#[path = "support/server.rs"]
mod server;

use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

use server::{cpu_seconds, proc_mb, Res, Served};

/// Pause between the frames of a `user: "slow"` stream, so that 500 of them are open at once.
const SLOW_FRAME_DELAY: Duration = Duration::from_millis(40);
/// In-flight cap of the open-loop load generator; calls due beyond it are counted as not sent.
const MAX_IN_FLIGHT: usize = 512;

/// The fake upstream: OpenAI's chat completion, whole (canned bytes) or streamed.
fn start_fake() -> Res<String> {
    let answer = web::Bytes::from(serde_json::to_vec(&json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is the capital.", "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}, "system_fingerprint": "fp_bench"}))?);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let cancelled = Arc::new(AtomicU64::new(0));
            let server = HttpServer::new(move || {
                let (answer, cancelled) = (answer.clone(), cancelled.clone());
                App::new().route(
                    "/v1/chat/completions",
                    web::post().to(move |body: web::Bytes| {
                        let (answer, cancelled) = (answer.clone(), cancelled.clone());
                        async move {
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            if v["stream"] != true {
                                return HttpResponse::Ok().content_type("application/json").body(answer);
                            }
                            let include = v["stream_options"]["include_usage"] == true;
                            let frames = fake_stream::openai_frames(
                                "chatcmpl-bench",
                                "gpt-4o-mini",
                                "Paris is the capital of France.",
                                None,
                                (12, 8),
                                include,
                            );
                            let delay = if v["user"] == "slow" { SLOW_FRAME_DELAY } else { Duration::ZERO };
                            fake_stream::sse(frames, delay, cancelled)
                        }
                    }),
                )
            })
            .workers(1)
            .max_connections(10_000)
            .backlog(4096)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    Ok(format!("http://{}", rx.recv()?))
}

/// An org with an openai key on the fake and a member key with limits; returns the member key.
fn set_up(base: &str, admin: &str, fake: &str) -> Res<String> {
    let c = reqwest::blocking::Client::new();
    let post = |path: &str, key: &str, body: Value| -> Res<Value> {
        let r = c.post(format!("{base}{path}")).header("X-API-Key", key).json(&body).send()?;
        let status = r.status();
        let v: Value = r.json()?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {v}").into());
        }
        Ok(v)
    };
    let org = post("/v1/orgs", admin, json!({"name": "bench"}))?;
    let org_admin = org["admin_api_key"].as_str().ok_or("no org key")?.to_string();
    let byok = json!({"provider": "openai", "name": "o", "key": "sk-bench-123456", "base_url": format!("{fake}/v1")});
    post("/v1/byok-keys", &org_admin, byok)?;
    let member = post("/v1/api-keys", &org_admin, json!({"name": "bench", "role": "member"}))?;
    let id = member["id"].as_str().ok_or("no key id")?;
    let limits = json!({"limits": {"requests_per_min": 100_000_000, "tokens_per_min": 1_000_000_000u64,
                                    "budget_usd": 1_000_000.0, "budget_period": "month"}});
    let r = c.patch(format!("{base}/v1/api-keys/{id}")).header("X-API-Key", &org_admin).json(&limits).send()?;
    if !r.status().is_success() {
        return Err(format!("PATCH limits: {}", r.status()).into());
    }
    Ok(member["key"].as_str().ok_or("no key")?.to_string())
}

fn chat_body(i: u64, stream: bool, user: &str) -> Vec<u8> {
    let mut b = json!({"model": "gpt-4o-mini", "max_tokens": 16, "user": user,
                       "messages": [{"role": "user", "content": format!("what is the capital of France? #{i}")}]});
    if stream {
        b["stream"] = json!(true);
        b["stream_options"] = json!({"include_usage": true});
    }
    serde_json::to_vec(&b).unwrap()
}

#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl Target {
    fn post(&self, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.client.post(&self.url).bearer_auth(&self.key).header("content-type", "application/json").body(body)
    }

    /// One whole call: (latency, ok, `x-gavel-cache`, or what went wrong).
    async fn call(&self, body: Vec<u8>) -> (Duration, bool, String) {
        let t = Instant::now();
        match self.post(body).send().await {
            Ok(r) => {
                let status = r.status();
                let cache = r.headers().get("x-gavel-cache").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                match r.bytes().await {
                    Ok(_) if status.is_success() => (t.elapsed(), true, cache),
                    Ok(b) => (t.elapsed(), false, format!("{status} {}", String::from_utf8_lossy(&b))),
                    Err(e) => (t.elapsed(), false, format!("reading the body: {e}")),
                }
            }
            Err(e) => (t.elapsed(), false, format!("{e}")),
        }
    }

    /// One streamed call: (time to the first body chunk, `data:` frames, ended with `[DONE]`).
    async fn stream(&self, body: Vec<u8>) -> Option<(Duration, usize, bool)> {
        let t = Instant::now();
        let mut r = self.post(body).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        let mut first = None;
        let mut text = Vec::new();
        while let Some(chunk) = r.chunk().await.ok()? {
            first.get_or_insert_with(|| t.elapsed());
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&text);
        let frames = text.lines().filter(|l| l.starts_with("data: ")).count();
        Some((first?, frames, text.trim_end().ends_with("data: [DONE]")))
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn sorted(mut v: Vec<Duration>) -> Vec<Duration> {
    v.sort();
    v
}

/// Open loop at `rate` calls/s for `secs`: (achieved calls/s, sorted latencies, errors, not sent for the cap).
async fn open_loop(t: &Target, rate: f64, secs: f64, seq: &mut u64) -> (f64, Vec<Duration>, u64, u64) {
    let lat = Rc::new(std::cell::RefCell::new(Vec::new()));
    let errors = Rc::new(std::cell::Cell::new(0u64));
    let first_error = Rc::new(std::cell::RefCell::new(None::<String>));
    let in_flight = Rc::new(std::cell::Cell::new(0usize));
    let (mut sent, mut skipped) = (0u64, 0u64);
    let local = tokio::task::LocalSet::new();
    let start = Instant::now();
    local
        .run_until(async {
            let mut tick = tokio::time::interval(Duration::from_micros(500));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let elapsed = start.elapsed().as_secs_f64();
                if elapsed >= secs {
                    break;
                }
                let due = (elapsed * rate) as u64;
                while sent + skipped < due {
                    if in_flight.get() >= MAX_IN_FLIGHT {
                        skipped += 1;
                        continue;
                    }
                    sent += 1;
                    *seq += 1;
                    let (t, lat, errors, in_flight) = (t.clone(), lat.clone(), errors.clone(), in_flight.clone());
                    let first_error = first_error.clone();
                    let body = chat_body(*seq, false, "bench");
                    in_flight.set(in_flight.get() + 1);
                    tokio::task::spawn_local(async move {
                        let (d, ok, what) = t.call(body).await;
                        in_flight.set(in_flight.get() - 1);
                        if ok {
                            lat.borrow_mut().push(d);
                        } else {
                            errors.set(errors.get() + 1);
                            first_error.borrow_mut().get_or_insert(what);
                        }
                    });
                }
            }
            while in_flight.get() > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
    let wall = start.elapsed().as_secs_f64();
    if let Some(e) = first_error.take() {
        println!("   first error: {e}");
    }
    let lat = sorted(lat.take());
    ((lat.len() as u64) as f64 / wall, lat, errors.get(), skipped)
}

fn main() -> Res<()> {
    let seq_n: u64 = std::env::var("SEQ").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let secs: f64 = std::env::var("SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(4.0);
    let fake = start_fake()?;
    let dir = tempfile::tempdir()?;
    let gavel = Served::start(
        &dir.path().join("data"),
        "warn",
        &[
            ("GAVEL_GATEWAY__MAX_CONCURRENCY_PER_ORG_PROVIDER", "1000".into()),
            // The fake upstream is on the loopback, which provider keys may name only when it is listed; and the
            // server-wide per-key and per-org request rates would otherwise refuse the load itself.
            ("GAVEL_PROVIDERS__ALLOWED_HOSTS", r#"["127.0.0.0/8"]"#.into()),
            ("GAVEL_LIMITS__REQUESTS_PER_S_PER_KEY", "1000000".into()),
            ("GAVEL_LIMITS__BURST_PER_KEY", "1000000".into()),
            ("GAVEL_LIMITS__REQUESTS_PER_S_PER_ORG", "1000000".into()),
            ("GAVEL_LIMITS__BURST_PER_ORG", "1000000".into()),
        ],
    )?;
    let pid = gavel.pid;
    let key = set_up(&gavel.base, &gavel.admin, &fake)?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(2048).timeout(Duration::from_secs(60)).build()?;
    let direct = Target { client: client.clone(), url: format!("{fake}/v1/chat/completions"), key: "sk-x".into() };
    let gw = Target { client, url: format!("{}/v1/chat/completions", gavel.base), key };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    println!("gateway bench: gavel (pid {pid}) at {}, fake upstream at {fake}", gavel.base);
    let mut seq = 0u64;
    rt.block_on(async {
        // Warm-up: connections, the key and org caches, SQLite pages.
        for _ in 0..300 {
            seq += 1;
            let (_, ok, what) = gw.call(chat_body(seq, false, "bench")).await;
            assert!(ok, "warm-up call through the gateway failed: {what}");
            direct.call(chat_body(seq, false, "bench")).await;
        }

        // 1. Added latency at concurrency 1, direct and gateway calls interleaved.
        let (mut d, mut g) = (Vec::new(), Vec::new());
        for _ in 0..seq_n {
            seq += 1;
            d.push(direct.call(chat_body(seq, false, "bench")).await.0);
            let (lat, ok, cache) = gw.call(chat_body(seq, false, "bench")).await;
            assert!(ok && cache == "miss", "gateway call failed or hit the cache: {cache}");
            g.push(lat);
        }
        let (d, g) = (sorted(d), sorted(g));
        println!(
            "1. concurrency 1, {seq_n} calls each: direct p50 {:.0} µs p99 {:.0} µs; gateway p50 {:.0} µs p99 {:.0} µs; \
             ADDED p50 {:.0} µs p99 {:.0} µs (targets 100 / 300)",
            pct(&d, 0.5),
            pct(&d, 0.99),
            pct(&g, 0.5),
            pct(&g, 0.99),
            pct(&g, 0.5) - pct(&d, 0.5),
            pct(&g, 0.99) - pct(&d, 0.99)
        );

        // 2. Cache hits: one miss, wait for the background writer, then the same request again and again.
        let cached = chat_body(0, false, "cached");
        gw.call(cached.clone()).await;
        for _ in 0..200 {
            if gw.call(cached.clone()).await.2 == "hit" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut h = Vec::new();
        for _ in 0..seq_n {
            let (lat, ok, cache) = gw.call(cached.clone()).await;
            assert!(ok && cache == "hit", "expected a cache hit, got {cache}");
            h.push(lat);
        }
        let h = sorted(h);
        println!("2. cache hits, {seq_n} calls: p50 {:.0} µs p99 {:.0} µs (target p99 300)", pct(&h, 0.5), pct(&h, 0.99));

        // 3. Time to the first streamed chunk, interleaved.
        let n = seq_n / 3;
        let (mut d, mut g) = (Vec::new(), Vec::new());
        for _ in 0..n {
            seq += 1;
            d.push(direct.stream(chat_body(seq, true, "bench")).await.expect("direct stream").0);
            let (ttft, _, done) = gw.stream(chat_body(seq, true, "bench")).await.expect("gateway stream");
            assert!(done, "a gateway stream did not end with [DONE]");
            g.push(ttft);
        }
        let (d, g) = (sorted(d), sorted(g));
        println!(
            "3. streams, {n} each: first chunk direct p50 {:.0} µs p99 {:.0} µs; gateway p50 {:.0} µs p99 {:.0} µs; \
             ADDED p50 {:.0} µs p99 {:.0} µs (target 300)",
            pct(&d, 0.5),
            pct(&d, 0.99),
            pct(&g, 0.5),
            pct(&g, 0.99),
            pct(&g, 0.5) - pct(&d, 0.5),
            pct(&g, 0.99) - pct(&d, 0.99)
        );

        // 4. Open-loop throughput.
        let (rate, lat, errors, skipped) = open_loop(&direct, 5000.0, secs, &mut seq).await;
        println!(
            "4. direct to the fake at 5000/s (the load generator's own reach): {rate:.0}/s, p50 {:.0} µs p99 {:.0} µs, \
             {errors} errors, {skipped} not sent",
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
        for target in [2000.0, 5000.0] {
            let cpu = cpu_seconds(pid);
            let (rate, lat, errors, skipped) = open_loop(&gw, target, secs, &mut seq).await;
            let cpu_us = (cpu_seconds(pid) - cpu) * 1e6 / lat.len().max(1) as f64;
            println!(
                "4. gateway at {target:.0}/s for {secs} s: achieved {rate:.0}/s, p50 {:.0} µs p99 {:.0} µs, {errors} \
                 errors, {skipped} not sent (in flight ≥ {MAX_IN_FLIGHT}); server CPU {cpu_us:.0} µs/request; \
                 RSS {:.0} MB",
                pct(&lat, 0.5),
                pct(&lat, 0.99),
                proc_mb(pid, "VmRSS:")
            );
        }

        // 5. 500 concurrent slow streams.
        let expected = direct.stream(chat_body(1, true, "slow")).await.expect("direct slow stream").1;
        let rss_peak = Rc::new(std::cell::Cell::new(0f64));
        let done = Rc::new(std::cell::Cell::new(false));
        let local = tokio::task::LocalSet::new();
        let started = Instant::now();
        let results = local
            .run_until(async {
                let sampler = {
                    let (rss_peak, done) = (rss_peak.clone(), done.clone());
                    tokio::task::spawn_local(async move {
                        while !done.get() {
                            rss_peak.set(rss_peak.get().max(proc_mb(pid, "VmRSS:")));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    })
                };
                let calls: Vec<_> = (0..500u64)
                    .map(|i| {
                        let gw = gw.clone();
                        tokio::task::spawn_local(async move { gw.stream(chat_body(1_000_000 + i, true, "slow")).await })
                    })
                    .collect();
                let mut out = Vec::new();
                for c in calls {
                    out.push(c.await.ok().flatten());
                }
                done.set(true);
                sampler.await.ok();
                out
            })
            .await;
        let complete = results.iter().filter(|r| matches!(r, Some((_, frames, true)) if *frames == expected)).count();
        println!(
            "5. 500 concurrent streams ({expected} frames each, {} ms apart): {complete}/500 complete with every frame \
             in {:.2} s; server RSS peak meanwhile {:.0} MB (target 100)",
            SLOW_FRAME_DELAY.as_millis(),
            started.elapsed().as_secs_f64(),
            rss_peak.get()
        );
    });
    println!("6. server peak RSS (VmHWM) {:.0} MB, total CPU {:.1} s", proc_mb(pid, "VmHWM:"), cpu_seconds(pid));
    gavel.stop();
    Ok(())
}
