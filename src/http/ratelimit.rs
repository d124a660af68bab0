//! API rate limits: token buckets per API key and per org, and throttling of failed authentication per client
//! address, so one key cannot flood the server and nobody can try keys at full speed.
//!
//! The buckets live in memory (a restart refills them, which is harmless) and run on tokio's clock, so their
//! tests run on a paused clock. They are checked where authentication happens ([`crate::http::auth`]), so every
//! authenticated route, the gateway's included, passes them exactly once per request; routes without
//! authentication (`/healthz`, `/readyz`, `/metrics`, the dashboard) are not limited. The gateway's own per-key
//! limits (`requests_per_min`, `tokens_per_min`, budgets) come on top, as the key's owner set them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::LimitsConfig;
use crate::error::Error;

/// Buckets kept at most per table before full ones are dropped; a full bucket is the same as no bucket, so dropping
/// them changes nothing but memory.
const MAX_TRACKED: usize = 50_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    level: f64,
    at: Instant,
}

/// One table of token buckets sharing a rate and a burst.
#[derive(Debug)]
pub struct Buckets {
    per_s: f64,
    burst: f64,
    table: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    /// `per_s` tokens a second up to `burst`; a rate of 0 disables the table.
    pub fn new(per_s: f64, burst: u32) -> Buckets {
        Buckets { per_s, burst: f64::from(burst.max(1)), table: Mutex::new(HashMap::new()) }
    }

    fn enabled(&self) -> bool {
        self.per_s > 0.0
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.level = (b.level + elapsed * self.per_s).min(self.burst);
        b.at = now;
    }

    fn wait_for_one(&self, level: f64) -> Duration {
        let missing = (1.0 - level).max(0.0);
        Duration::from_millis(((missing / self.per_s) * 1000.0).ceil() as u64)
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        self.update(key, true)
    }

    /// Whether `key`'s bucket has a token, without taking it.
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.update(key, false)
    }

    fn update(&self, key: &str, take: bool) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut table) = self.table.lock() else { return Ok(()) };
        if table.len() >= MAX_TRACKED && !table.contains_key(key) {
            table.retain(|_, b| {
                let mut b2 = *b;
                self.refill(&mut b2, now);
                b2.level < self.burst
            });
        }
        let b = table.entry(key.to_owned()).or_insert(Bucket { level: self.burst, at: now });
        self.refill(b, now);
        if b.level >= 1.0 {
            if take {
                b.level -= 1.0;
            }
            Ok(())
        } else {
            Err(self.wait_for_one(b.level))
        }
    }
}

/// The server's limits, built from `[limits]`.
#[derive(Debug)]
pub struct RateLimits {
    per_key: Buckets,
    per_org: Buckets,
    auth_failures: Buckets,
}

fn retry_s(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

impl RateLimits {
    pub fn new(cfg: &LimitsConfig) -> RateLimits {
        RateLimits {
            per_key: Buckets::new(cfg.requests_per_s_per_key, cfg.burst_per_key),
            per_org: Buckets::new(cfg.requests_per_s_per_org, cfg.burst_per_org),
            auth_failures: Buckets::new(
                f64::from(cfg.auth_failures_per_min_per_ip) / 60.0,
                cfg.auth_failures_per_min_per_ip,
            ),
        }
    }

    /// Refuses a client address that failed authentication too often lately, before its key is even looked at, so
    /// guessing goes no faster than `limits.auth_failures_per_min_per_ip`. Other addresses are not affected.
    pub fn check_client(&self, ip: Option<IpAddr>) -> Result<(), Error> {
        let Some(ip) = ip else { return Ok(()) };
        self.auth_failures.peek(&ip.to_string()).map_err(|wait| {
            Error::rate_limited(
                "too many failed authentications from this address (limits.auth_failures_per_min_per_ip); wait and retry",
                retry_s(wait),
            )
        })
    }

    /// Counts a failed authentication against the client's address.
    pub fn failed_auth(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            let _throttled = self.auth_failures.take(&ip.to_string()).is_err();
        }
    }

    /// One request of an authenticated caller: a token from its key's bucket, then from its org's.
    pub fn admit(&self, key_id: &str, org_id: Option<&str>) -> Result<(), Error> {
        self.per_key.take(key_id).map_err(|wait| {
            Error::rate_limited(
                "this API key is over its request rate (limits.requests_per_s_per_key, limits.burst_per_key)",
                retry_s(wait),
            )
        })?;
        if let Some(org) = org_id {
            self.per_org.take(org).map_err(|wait| {
                Error::rate_limited(
                    "this org is over its request rate (limits.requests_per_s_per_org, limits.burst_per_org)",
                    retry_s(wait),
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let b = Buckets::new(2.0, 5);
        for _ in 0..5 {
            b.take("k").unwrap();
        }
        let wait = b.take("k").unwrap_err();
        assert_eq!(wait, Duration::from_millis(500), "one token every 1/2 s");
        b.take("other").unwrap();
        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(b.take("k").is_err());
        tokio::time::advance(Duration::from_millis(1)).await;
        b.take("k").unwrap();
        assert!(b.take("k").is_err());
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..5 {
            b.take("k").unwrap();
        }
        assert!(b.take("k").is_err(), "refills up to the burst, no further");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_rate_disables_and_peek_takes_nothing() {
        let off = Buckets::new(0.0, 1);
        for _ in 0..1000 {
            off.take("k").unwrap();
        }
        let b = Buckets::new(1.0, 1);
        for _ in 0..10 {
            b.peek("k").unwrap();
        }
        b.take("k").unwrap();
        assert!(b.peek("k").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_auth_throttles_only_that_address() {
        let cfg = LimitsConfig { auth_failures_per_min_per_ip: 10, ..LimitsConfig::default() };
        let limits = RateLimits::new(&cfg);
        let (bad, good): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..10 {
            limits.check_client(Some(bad)).unwrap();
            limits.failed_auth(Some(bad));
        }
        let e = limits.check_client(Some(bad)).unwrap_err();
        assert!(matches!(e, Error::RateLimited { retry_after_s: 6, .. }), "{e:?}");
        assert!(e.to_string().contains("limits.auth_failures_per_min_per_ip"));
        limits.check_client(Some(good)).unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        limits.check_client(Some(bad)).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn keys_and_orgs_have_buckets_of_their_own() {
        let cfg = LimitsConfig {
            requests_per_s_per_key: 1.0,
            burst_per_key: 2,
            requests_per_s_per_org: 1.0,
            burst_per_org: 3,
            ..LimitsConfig::default()
        };
        let limits = RateLimits::new(&cfg);
        limits.admit("k1", Some("o")).unwrap();
        limits.admit("k1", Some("o")).unwrap();
        let e = limits.admit("k1", Some("o")).unwrap_err();
        assert!(e.to_string().contains("limits.requests_per_s_per_key"), "{e}");
        limits.admit("k2", Some("o")).unwrap();
        let e = limits.admit("k3", Some("o")).unwrap_err();
        assert!(e.to_string().contains("limits.requests_per_s_per_org"), "{e}");
        limits.admit("k4", Some("other")).unwrap();
    }
}
