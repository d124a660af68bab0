//! `[limits]`: API request rates (see `http::ratelimit`), apart from config.rs to keep that file's size in check.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests per second one API key may make, sustained; 0 disables the per-key limit.
    pub requests_per_s_per_key: f64,
    /// Requests one API key may make at once above its rate.
    pub burst_per_key: u32,
    /// Requests per second all keys of one org may make together; 0 disables the per-org limit.
    pub requests_per_s_per_org: f64,
    /// Requests an org may make at once above its rate.
    pub burst_per_org: u32,
    /// Failed authentications per minute one client address may make before it gets 429; 0 disables.
    pub auth_failures_per_min_per_ip: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_s_per_key: 50.0,
            burst_per_key: 100,
            requests_per_s_per_org: 200.0,
            burst_per_org: 400,
            auth_failures_per_min_per_ip: 10,
        }
    }
}

impl LimitsConfig {
    /// Each problem names its key.
    pub(super) fn validate(&self) -> Result<(), String> {
        for (key, rate) in [
            ("limits.requests_per_s_per_key", self.requests_per_s_per_key),
            ("limits.requests_per_s_per_org", self.requests_per_s_per_org),
        ] {
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(format!("{key}: must be a non-negative number (0 disables)"));
            }
        }
        for (key, burst) in [("limits.burst_per_key", self.burst_per_key), ("limits.burst_per_org", self.burst_per_org)]
        {
            if burst == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        Ok(())
    }
}
