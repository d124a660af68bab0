//! The state every handler is handed.

use std::sync::Arc;

use crate::config::Config;
use crate::keystore::KeyFile;
use crate::store::Store;

use super::metrics;

/// Shared state handed to every handler.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// Verified org API keys by hash (`server.auth_cache_entries`), invalidated by every write to the keys.
    pub auth_cache: crate::store::Memo<super::auth::VerifiedKey>,
    pub keys: Arc<KeyFile>,
    /// SHA-256 (hex) of the server admin keys: the one from `init` and the optional configured one.
    pub admin_key_hashes: Vec<String>,
    pub metrics: metrics::Metrics,
    /// Runs in progress.
    pub runs: Arc<crate::runs::engine::RunManager>,
    /// The OpenAI-compatible gateway.
    pub gateway: Arc<crate::gateway::Gateway>,
    /// API request rates and failed-authentication throttling (`[limits]`).
    pub limits: super::ratelimit::RateLimits,
}

impl AppState {
    /// Constant-time comparison against the server admin key hashes.
    pub fn is_server_admin(&self, hash: &str) -> bool {
        self.admin_key_hashes.iter().fold(false, |found, h| {
            let same = h.len() == hash.len() && h.bytes().zip(hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            found | same
        })
    }
}
