//! The verdict cache: a judge reply reused for an identical request (same org, provider, model, prompt and
//! parameters) within `judge.cache_ttl_s`. Never shared across orgs: the org is part of the key.

use serde_json::json;

use super::Judge;
use crate::domain::Provider;
use crate::providers::ChatRequest;

impl Judge {
    pub(super) async fn cache_get(&self, key: &str) -> Option<String> {
        match self.backend.cache_get(key.to_string(), self.cfg.cache_ttl_s as i64).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "the verdict cache could not be read; asking the judge");
                None
            }
        }
    }

    pub(super) async fn cache_put(&self, org: &str, key: String, text: String) {
        if let Err(e) = self.backend.cache_put(org.to_string(), key, text).await {
            tracing::warn!(error = %e, "a verdict could not be cached");
        }
    }
}

/// Never shared across orgs: the org is part of the key. `sample` (the index of a repeated verdict) is part of it
/// too, so k samples of one item are k cached verdicts; a single verdict keeps the key it always had.
pub(super) fn cache_key(org: &str, provider: Provider, req: &ChatRequest, sample: Option<u32>) -> String {
    let mut material = json!([
        org,
        provider.as_str(),
        req.model,
        req.system,
        req.user,
        req.temperature,
        req.max_tokens,
        req.json_schema
    ]);
    if let (Some(i), Some(list)) = (sample, material.as_array_mut()) {
        list.push(json!({"sample": i}));
    }
    // Sampling parameters (run targets only) join the key only when set, so judge keys stay as they always were.
    if let (false, Some(list)) = (req.sampling.is_empty(), material.as_array_mut()) {
        list.push(json!({"sampling": req.sampling}));
    }
    // Earlier turns (multi-turn target calls only) join the key only when there are any.
    if let (false, Some(list)) = (req.history.is_empty(), material.as_array_mut()) {
        list.push(json!({"history": req.history}));
    }
    let material = material.to_string();
    crate::tenancy::apikey::hex(ring::digest::digest(&ring::digest::SHA256, material.as_bytes()).as_ref())
}
