//! `POST /v1/chat/completions` (and, through the ingress translators, `/v1/messages`): one OpenAI-shaped request
//! in, the targets tried in order, one OpenAI-shaped answer (or stream of chunks) out.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::providers::gateway as upstream;

use super::common::ResponseMeta;
use super::openai::ChatCompletionRequest;
use super::plan::{plan, translate, usage_of};
use super::prepare::Prepared;
use super::resolve::Unusable;
use super::serve::{caller_at_fault, internal, no_key, CallInfo, Failure, Gateway, Meta};
use super::stream::{self as streaming, StreamItems};

/// Output tokens a caller's answer is assumed to need when the request sets no cap and the budget must be reserved.
fn output_cap(req: &ChatCompletionRequest, default: u32) -> u64 {
    u64::from(req.max_output_tokens().unwrap_or(default))
}

/// Frees a reservation whose call cost nothing (refused, failed, or served from cache).
fn release(r: Option<super::limits::Reservation>) {
    if let Some(r) = r {
        r.settle(0.0);
    }
}

/// A gateway answer: a whole chat completion, or a stream of chunks.
pub enum Answer {
    Whole { body: Value, meta: Meta },
    Stream { items: StreamItems, meta: Meta },
}

impl Gateway {
    /// See the module documentation. `endpoint` names the route in the request log.
    pub async fn chat(self: &Arc<Self>, info: &CallInfo, raw: Value, endpoint: &str) -> Result<Answer, Failure> {
        let started = Instant::now();
        let stream = raw.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let mut d = self.draft(info, endpoint, stream, &raw);
        d.started = started;
        // Read from the tree in place: a copy of the whole request per call is not needed.
        let req = match <ChatCompletionRequest as serde::Deserialize>::deserialize(&raw) {
            Ok(r) => r,
            Err(e) => {
                let f = Failure::new(
                    crate::domain::Code::ValidationFailed,
                    format!("the request body is not a chat completion request: {e}"),
                );
                return Err(self.failed(d, f));
            }
        };
        let prepared = match self.prepare(info, raw, &req.model, stream).await {
            Ok(p) => p,
            Err(f) => return Err(self.failed(d, f)),
        };
        let Prepared { raw, view, targets, estimate, mut first } = prepared;
        self.keep_content(&mut d, &view, raw.get("messages"));
        let targets = match targets {
            Ok(t) => t,
            Err(f) => return Err(self.failed(d, f)),
        };
        let max_cost = self.max_cost(&targets, estimate, output_cap(&req, self.cfg.budget_default_output_tokens));
        let reservation = match self.admit(info, &view, max_cost).await {
            Ok(r) => r,
            Err(f) => return Err(self.failed(d, f)),
        };
        let (mut last, mut reasons): (Option<Failure>, Vec<String>) = (None, Vec::new());
        for (i, target) in targets.iter().enumerate() {
            let (r, looked_up) = match first.take_if(|p| p.index == i) {
                Some(p) => (p.resolved, Some((p.key, p.cached))),
                None => match self.choose(&view, &info.org_id, target) {
                    Ok(r) => (r, None),
                    Err(e) => {
                        match e {
                            Unusable::NoKey(why) => reasons.push(why),
                            Unusable::Failing { code, message } => last = Some(Failure::new(code, message)),
                        }
                        continue;
                    }
                },
            };
            d.target(&r);
            // The first usable target was looked up in the same read as the view; a fallback target is now.
            let (cache_key, cached) = match looked_up {
                Some((key, cached)) => (Some(key), cached),
                None => {
                    let key = (!stream && self.cfg.cache_ttl_s > 0)
                        .then(|| super::cache_key::cache_key(&info.org_id, r.provider.as_str(), &r.model, &raw));
                    let cached = match (info.cache_read, &key) {
                        (true, Some(key)) => self.cache_read(&info.org_id, key).await,
                        _ => None,
                    };
                    (key, cached)
                }
            };
            if let Some(body) = cached {
                let (i, o) = usage_of(&body);
                d.row.input_tokens = i;
                d.row.output_tokens = o;
                d.meta.cache = "hit";
                d.meta.cost_usd = Some(0.0);
                if let Some(c) = &mut d.content {
                    c.answer(&body);
                }
                release(reservation);
                let meta = d.snapshot();
                d.finish(self);
                return Ok(Answer::Whole { body, meta });
            }
            // Only a call that goes to the provider needs its body (a copy or a translation of the request).
            let meta = ResponseMeta::new(format!("chatcmpl-{}", info.request_id), chrono::Utc::now().timestamp());
            let plan = match plan(&req, &raw, &r, stream, meta) {
                Ok(p) => p,
                Err(e) => {
                    release(reservation);
                    return Err(self.failed(d, Failure::from_gateway(&e, None)));
                }
            };
            let up = match self.call_target(&info.org_id, &r, plan.op, &plan.body, &mut d).await {
                Ok(up) => up,
                Err(e) if caller_at_fault(&e) => {
                    release(reservation);
                    return Err(self.failed(d, Failure::from_provider(&e)));
                }
                Err(e) => {
                    last = Some(Failure::from_provider(&e));
                    continue;
                }
            };
            if stream {
                let items = streaming::start(self.clone(), up, plan, r, d, reservation);
                return Ok(Answer::Stream { meta: items.meta.clone(), items });
            }
            let t = Instant::now();
            let read = upstream::read_json(up.resp, r.provider, &r.secret).await;
            d.upstream += t.elapsed();
            drop(up.permit);
            let answer = match read {
                Ok(v) => translate(&plan, v).map_err(|e| Failure::from_gateway(&e, Some(&r.secret))),
                Err(e) => Err(Failure::from_provider(&e)),
            };
            let body = match answer {
                Ok(b) => b,
                Err(f) => {
                    last = Some(f);
                    continue;
                }
            };
            let (i, o) = usage_of(&body);
            let (cost, known) = self.cost(&plan.model, i, o);
            if let Some(res) = reservation {
                res.settle(cost);
            }
            self.limiter.take_tokens(&info.api_key_id, i + o);
            if let (true, Some(key)) = (info.cache_write, cache_key) {
                let answer = body.to_string();
                self.answers.put(&info.org_id, key.clone(), body.clone(), answer.len());
                self.present.insert(&key);
                self.recorder.send(super::record::Write::Cache {
                    key,
                    org_id: info.org_id.clone(),
                    provider: r.provider.as_str().to_owned(),
                    model: r.model.clone(),
                    answer,
                });
            }
            d.row.input_tokens = i;
            d.row.output_tokens = o;
            d.price_known = known;
            d.meta.cost_usd = Some(cost);
            if let Some(c) = &mut d.content {
                c.answer(&body);
            }
            let meta = d.snapshot();
            d.finish(self);
            return Ok(Answer::Whole { body, meta });
        }
        release(reservation);
        let f = last.unwrap_or_else(|| no_key(&req.model, &reasons));
        Err(self.failed(d, f))
    }

    async fn cache_read(&self, org_id: &str, key: &str) -> Option<Value> {
        let (org, key, ttl) = (org_id.to_owned(), key.to_owned(), self.cfg.cache_ttl_s);
        match self.store.read(move |c| Ok(super::prepare::cached_answer(c, &org, &key, ttl))).await {
            Ok(answer) => answer,
            Err(e) => {
                drop(internal(e));
                None
            }
        }
    }
}
