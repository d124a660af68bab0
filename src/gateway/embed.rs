//! `POST /v1/embeddings`: OpenAI-style providers take the request as it is (the routed model put in); Google's
//! `batchEmbedContents` goes through the translation core; Anthropic has no embeddings and is skipped.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::domain::{Code, Provider};
use crate::providers::gateway::{self as upstream, Operation};

use super::embeddings::{embeddings_to_gemini, gemini_embeddings_to_openai};
use super::openai::EmbeddingsRequest;
use super::resolve::Unusable;
use super::serve::{caller_at_fault, input_estimate, no_key, CallInfo, Failure, Gateway, Meta};

impl Gateway {
    /// See the module documentation.
    pub async fn embeddings(self: &Arc<Self>, info: &CallInfo, raw: Value) -> Result<(Value, Meta), Failure> {
        let mut d = self.draft(info, "embeddings", false, &raw);
        let req = match <EmbeddingsRequest as serde::Deserialize>::deserialize(&raw) {
            Ok(r) => r,
            Err(e) => {
                let f =
                    Failure::new(Code::ValidationFailed, format!("the request body is not an embeddings request: {e}"));
                return Err(self.failed(d, f));
            }
        };
        let view = match self.view(&info.org_id, &info.api_key_id, info.project.as_deref()).await {
            Ok(v) => v,
            Err(f) => return Err(self.failed(d, f)),
        };
        self.keep_content(&mut d, &view, raw.get("input"));
        let targets = match self.targets(&req.model, &view) {
            Ok(t) => t,
            Err(f) => return Err(self.failed(d, f)),
        };
        let estimate = input_estimate(&raw);
        let reservation = match self.admit(info, &view, self.max_cost(&targets, estimate, 0)).await {
            Ok(r) => r,
            Err(f) => return Err(self.failed(d, f)),
        };
        let (mut last, mut reasons): (Option<Failure>, Vec<String>) = (None, Vec::new());
        for target in &targets {
            let r = match self.choose(&view, &info.org_id, target) {
                Ok(r) if r.provider == Provider::Anthropic => {
                    reasons.push("anthropic has no embeddings API".into());
                    continue;
                }
                Ok(r) => r,
                Err(Unusable::NoKey(why)) => {
                    reasons.push(why);
                    continue;
                }
                Err(Unusable::Failing { code, message }) => {
                    last = Some(Failure::new(code, message));
                    continue;
                }
            };
            d.target(&r);
            let google = r.provider == Provider::Google;
            let body = if google {
                match embeddings_to_gemini(&req, &r.model).map(serde_json::to_value) {
                    Ok(Ok(b)) => b,
                    Ok(Err(e)) => return Err(self.failed(d, Failure::new(Code::Internal, e.to_string()))),
                    Err(e) => return Err(self.failed(d, Failure::from_gateway(&e, None))),
                }
            } else {
                let mut b = raw.clone();
                if let Value::Object(m) = &mut b {
                    m.insert("model".into(), Value::String(r.model.clone()));
                }
                b
            };
            let up = match self.call_target(&info.org_id, &r, Operation::Embeddings, &body, &mut d).await {
                Ok(up) => up,
                Err(e) if caller_at_fault(&e) => return Err(self.failed(d, Failure::from_provider(&e))),
                Err(e) => {
                    last = Some(Failure::from_provider(&e));
                    continue;
                }
            };
            let t = Instant::now();
            let read = upstream::read_json(up.resp, r.provider, &r.secret).await;
            d.upstream += t.elapsed();
            let v = match read {
                Ok(v) => v,
                Err(e) => {
                    last = Some(Failure::from_provider(&e));
                    continue;
                }
            };
            let answer = if google {
                let base64 = req.encoding_format.as_deref() == Some("base64");
                serde_json::from_value(v)
                    .map(|resp| gemini_embeddings_to_openai(&resp, &r.model, base64))
                    .and_then(serde_json::to_value)
                    .map_err(|e| {
                        Failure::new(
                            Code::ByokProviderError,
                            format!("google's embeddings have an unexpected shape: {e}"),
                        )
                    })
            } else {
                Ok(v)
            };
            let body = match answer {
                Ok(b) => b,
                Err(f) => {
                    last = Some(f);
                    continue;
                }
            };
            let tokens = body.pointer("/usage/prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
            let (cost, known) = self.cost(&r.model, tokens, 0);
            if let Some(res) = reservation {
                res.settle(cost);
            }
            self.limiter.take_tokens(&info.api_key_id, tokens);
            d.row.input_tokens = tokens;
            d.price_known = known;
            d.meta.cost_usd = Some(cost);
            let meta = d.snapshot();
            d.finish(self);
            return Ok((body, meta));
        }
        if let Some(res) = reservation {
            res.settle(0.0);
        }
        let f = last.unwrap_or_else(|| no_key(&req.model, &reasons));
        Err(self.failed(d, f))
    }
}
