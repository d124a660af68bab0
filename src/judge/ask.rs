//! A free-form judge question (pairwise judging): the same scheduler, keys, cache and usage book as verdicts, for
//! prompts whose reply the caller reads itself.

use super::cache::cache_key;
use super::{Judge, Prepared, RunCtx, VERDICT_MAX_TOKENS};
use crate::domain::ScoreError;
use crate::providers::ChatRequest;

impl Judge {
    /// One reply to (`system`, `user`) on the prepared scorer's target, from the verdict cache when the context
    /// allows it; `accept` says whether a reply is readable, so that only readable replies are cached.
    pub async fn ask(
        &self,
        ctx: &RunCtx,
        prepared: &Prepared,
        system: String,
        user: String,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String, ScoreError> {
        let target = prepared.target.as_ref().map_err(Clone::clone)?;
        let req = ChatRequest {
            model: target.model.clone(),
            system,
            user,
            max_tokens: VERDICT_MAX_TOKENS,
            temperature: 0.0,
            json_schema: None,
        };
        let key = (self.cfg.cache_ttl_s > 0).then(|| cache_key(&ctx.org_id, target.provider, &req, None));
        if let (true, Some(k)) = (ctx.use_cache, &key) {
            if let Some(text) = self.cache_get(k).await {
                if accept(&text) {
                    ctx.record(
                        target,
                        crate::usage::book::Line { cache_hits: 1, price_known: true, ..Default::default() },
                    );
                    return Ok(text);
                }
            }
        }
        let text = self.call(ctx, target, &req).await?;
        if let (true, Some(k)) = (accept(&text), key) {
            self.cache_put(&ctx.org_id, k, text.clone()).await;
        }
        Ok(text)
    }
}
