//! The verdict cache: a judge reply reused for an identical request (same org, provider, model, prompt and
//! parameters) within `judge.cache_ttl_s`. Never shared across orgs: the org is part of the key.

use rusqlite::{params, OptionalExtension};
use serde_json::json;

use super::Judge;
use crate::byok::Provider;
use crate::providers::ChatRequest;

impl Judge {
    pub(super) async fn cache_get(&self, key: &str) -> Option<String> {
        let (k, ttl) = (key.to_string(), self.cfg.cache_ttl_s as i64);
        self.store
            .read(move |c| {
                let now = chrono::Utc::now().timestamp();
                Ok(c.query_row(
                    "SELECT verdict FROM judge_cache WHERE key = ?1 AND created_at > ?2",
                    params![k, now - ttl],
                    |r| r.get::<_, String>(0),
                )
                .optional()?)
            })
            .await
            .ok()
            .flatten()
    }

    pub(super) async fn cache_put(&self, org: &str, key: String, text: String) {
        let org = org.to_string();
        let _ = self
            .store
            .write(move |c| {
                c.execute(
                    "INSERT INTO judge_cache (key, org_id, verdict, created_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key) DO UPDATE SET verdict = excluded.verdict, created_at = excluded.created_at",
                    params![key, org, text, chrono::Utc::now().timestamp()],
                )?;
                Ok(())
            })
            .await;
    }
}

/// Never shared across orgs: the org is part of the key.
pub(super) fn cache_key(org: &str, provider: Provider, req: &ChatRequest) -> String {
    let material = json!([
        org,
        provider.as_str(),
        req.model,
        req.system,
        req.user,
        req.temperature,
        req.max_tokens,
        req.json_schema
    ])
    .to_string();
    crate::tenancy::apikey::hex(ring::digest::digest(&ring::digest::SHA256, material.as_bytes()).as_ref())
}
