//! A judge call for a prompt built elsewhere (the failure analysis's one call per item, pairwise judging): the same target, lanes,
//! retries, verdict cache and usage book as a judge score, with the caller deciding whether the reply is usable.

use serde_json::Value;

use super::cache::cache_key;
use super::{err, Judge, Prepared, RunCtx};
use crate::domain::{Code, ScoreError};
use crate::providers::ChatRequest;
use crate::usage::book::Line;

impl Judge {
    /// One call with `system`/`user` to the prepared target. `accept` checks the reply text: a reply it refuses
    /// is `JUDGE_UNPARSEABLE` (and is not cached); a cached reply it refuses is asked again.
    #[allow(clippy::too_many_arguments)]
    pub async fn ask(
        &self,
        ctx: &RunCtx,
        prepared: &Prepared,
        system: String,
        user: String,
        schema: Option<Value>,
        max_tokens: u32,
        accept: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
    ) -> Result<String, ScoreError> {
        let target = prepared.target.as_ref().map_err(Clone::clone)?;
        let req = ChatRequest {
            model: target.model.clone(),
            system,
            user,
            max_tokens,
            temperature: 0.0,
            json_schema: schema,
            sampling: Default::default(),
            history: Vec::new(),
        };
        let key = (self.cfg.cache_ttl_s > 0).then(|| cache_key(&ctx.org_id, target.provider, &req, None));
        if let (true, Some(k)) = (ctx.use_cache, &key) {
            if let Some(text) = self.cache_get(k).await {
                if accept(&text).is_ok() {
                    ctx.record(target, Line { cache_hits: 1, price_known: true, ..Default::default() });
                    self.metrics.cache_hits.inc();
                    return Ok(text);
                }
            }
        }
        let text = self.call(ctx, target, &req).await?;
        accept(&text).map_err(|why| err(Code::JudgeUnparseable, why))?;
        if let Some(k) = key {
            self.cache_put(&ctx.org_id, k, text.clone()).await;
        }
        Ok(text)
    }
}
