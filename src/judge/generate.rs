//! Calls that produce a run's outputs (a run's provider target): the same key resolution, lanes, caps, retries,
//! backoff, 429 pacing, cache and usage book as judge calls, booked as usage source `target`, the reply taken as
//! it is (no verdict to parse).

use super::keys::{Candidates, OrgSettings, Target, Wanted};
use super::{err, Judge, RunCtx};
use crate::domain::{Code, Provider, ScoreError};
use crate::providers::ChatRequest;
use crate::usage::book::{Line, Source};

/// A target's answer and what it cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Generated {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// Served from the cache (no call, no cost).
    pub cached: bool,
}

impl Judge {
    /// Resolve a provider target's key, endpoint and model once for the run, in the usual order (the run's own
    /// `provider_key`, the target's `key_id`, the org's default key, the server's key). The outer error is the
    /// store's; the inner one is why every item of the run fails (no key, a failing key, a lost request key).
    pub async fn prepare_target(
        &self,
        org: &str,
        run_id: &str,
        had_request_key: bool,
        provider: Provider,
        key_id: Option<&str>,
        model: &str,
    ) -> crate::error::Result<(Result<Target, ScoreError>, OrgSettings)> {
        let (keys, settings) = self.backend.keys_and_settings(org).await?;
        let request = self.request_keys.lock().ok().and_then(|m| m.get(run_id).cloned());
        if had_request_key && request.is_none() {
            let lost = err(
                Code::ByokNoKey,
                "the run's own provider_key was held in memory only and the server restarted before the run ended; submit the run again",
            );
            return Ok((Err(lost), settings));
        }
        let cands = Candidates {
            keys,
            fallback: self.fallback.clone(),
            request,
            settings: settings.clone(),
            server_model_overrides: self.cfg.model_overrides.clone(),
        };
        let want = Wanted { provider: Some(provider), key_id, kind: "target", model: Some(model) };
        Ok((self.resolve(org, run_id, &cands, want, None), settings))
    }

    /// One target call: from the cache when the run allows it, else one call with the scheduler's retries.
    /// Refused once the run's cost limit is reached, like a judge call.
    pub async fn generate(&self, ctx: &RunCtx, target: &Target, req: &ChatRequest) -> Result<Generated, ScoreError> {
        let key = (self.cfg.cache_ttl_s > 0).then(|| super::cache::cache_key(&ctx.org_id, target.provider, req, None));
        if let (true, Some(k)) = (ctx.use_cache, &key) {
            if let Some(text) = self.cache_get(k).await {
                ctx.record(
                    target,
                    Line { source: Source::Target, cache_hits: 1, price_known: true, ..Default::default() },
                );
                self.metrics.cache_hits.inc();
                return Ok(Generated { text, cached: true, ..Default::default() });
            }
        }
        let (text, line) = self.call_as(ctx, target, req, Source::Target).await?;
        // A run that does not read the cache does not fill it either: the red team's answers may be leaks, and
        // each attack is a measurement of the target as it answers now.
        if let (true, Some(k)) = (ctx.use_cache, key) {
            self.cache_put(&ctx.org_id, k, text.clone()).await;
        }
        Ok(Generated {
            text,
            input_tokens: line.input_tokens,
            output_tokens: line.output_tokens,
            cost_usd: line.cost_usd,
            cached: false,
        })
    }

    /// Book a call made outside the scheduler (an HTTP target) to the run's usage, so the run's totals and its
    /// cost limit see it.
    pub fn book_external(&self, ctx: &RunCtx, provider: &str, model: &str, line: Line) {
        if let Ok(mut b) = ctx.book.lock() {
            b.add((provider.to_string(), model.to_string(), "target".to_string()), line);
        }
    }

    /// Whether the run's cost limit is reached (an HTTP target checks before each call).
    pub fn over_cost_limit(&self, ctx: &RunCtx) -> Option<ScoreError> {
        let limit = ctx.cost_limit?;
        let spent = ctx.spent();
        (spent >= limit)
            .then(|| err(Code::CostLimitExceeded, format!("the run has spent ${spent:.4} of its ${limit:.4} limit")))
    }
}
