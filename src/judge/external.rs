//! Calls to a customer's own HTTP endpoint (a run's or the red team's `url` target) under the scheduler's
//! discipline, without its provider adapters: a lane per (org, host) with its own cap
//! (`judge.max_concurrency_per_org_http_target`), one pace per lane after a 429 (`Retry-After` honoured), the one
//! retry policy, and the process-wide limit that SIGTERM closes. The request itself is the caller's closure, so the
//! scheduler knows nothing of targets (targets import the judge, never the reverse).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use super::lane::Lane;
use super::{err, retry, Judge, RunCtx, STOPPING};
use crate::domain::{Code, ScoreError};
use crate::providers::ErrorKind;

/// Why one attempt failed: the error the item gets if it is the last, and what the retry policy needs to know.
#[derive(Debug)]
pub struct ExternalFailure {
    pub error: ScoreError,
    pub kind: ErrorKind,
    pub retry_after: Option<Duration>,
}

impl ExternalFailure {
    /// Failures worth another attempt: the same kinds the provider adapters retry.
    fn retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::RateLimited | ErrorKind::Overloaded | ErrorKind::Server | ErrorKind::Timeout)
    }
}

impl Judge {
    fn http_lane(&self, org: &str, host: &str) -> Arc<Lane> {
        let mut lanes = self.http_lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .entry((org.to_string(), host.to_string()))
            .or_insert_with(|| Lane::new(self.cfg.max_concurrency_per_org_http_target))
            .clone()
    }

    /// Calls in flight and the current limit of an HTTP target's lane (tests, metrics).
    pub fn http_lane_figures(&self, org: &str, host: &str) -> (usize, f64) {
        self.http_lane(org, host).figures()
    }

    /// Runs `attempt` until it succeeds or the retry policy gives up, each attempt holding a slot of the
    /// (org, `host`) lane and of the process. A 429 slows the whole lane, not just this item. A rejected
    /// credential (401/403) is not retried: the headers are the run's, so every other item would fail alike.
    pub async fn call_external<T, F, Fut>(&self, ctx: &RunCtx, host: &str, mut attempt: F) -> Result<T, ScoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ExternalFailure>>,
    {
        let lane = self.http_lane(&ctx.org_id, host);
        let policy = self.retry_policy();
        let started = Instant::now();
        let mut attempts = retry::Attempts::default();
        loop {
            let permit = lane.acquire(&ctx.run_id).await;
            let global = self.global.acquire().await.map_err(|_| err(Code::Unavailable, STOPPING))?;
            lane.wait_turn().await;
            let result = attempt().await;
            drop(global);
            let failure = match result {
                Ok(v) => {
                    lane.on_success();
                    return Ok(v);
                }
                Err(f) => f,
            };
            drop(permit);
            if failure.kind == ErrorKind::RateLimited {
                lane.on_rate_limited(failure.retry_after);
            }
            let jitter = rand::thread_rng().gen_range(0.0..=1.0);
            let retryable = failure.retryable();
            let next =
                policy.next(&mut attempts, failure.kind, retryable, failure.retry_after, started.elapsed(), jitter);
            match next {
                retry::Next::MarkFailing | retry::Next::GiveUp => return Err(failure.error),
                retry::Next::RetryAfter(delay) => {
                    tracing::debug!(host, kind = ?failure.kind, delay_ms = delay.as_millis() as u64, "retrying an HTTP target call");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
