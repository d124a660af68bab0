//! Targets: what gavel calls to get a model's answer, for runs that produce their own outputs (and, later, the
//! red team). A target is a provider + model + prompt template on the org's keys (called through the judge
//! scheduler: its lanes, retries, cache and usage book, booked as source `target`) or the customer's own HTTP
//! endpoint. This module knows nothing of runs: runs import it, never the reverse.

pub mod http;
pub mod path;
pub mod spec;
pub mod template;
pub mod vault;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

pub use spec::{validate, Headers, Limits, TargetBody, TargetSpec};
pub use vault::Vault;

use crate::domain::{Code, Item, ScoreError};
use crate::judge::{Judge, RunCtx};
use crate::providers::{ChatRequest, Sampling, Turn};
use crate::usage::book::{Line, Source};
use template::Template;

/// A target ready for a run: its key resolved (or why it cannot be), its templates parsed.
pub enum Prepared {
    Provider {
        target: Result<crate::judge::keys::Target, ScoreError>,
        prompt: Template,
        system: Option<Template>,
        max_tokens: u32,
        temperature: f32,
        sampling: Sampling,
    },
    Http {
        call: http::HttpCall,
        /// The headers held for the run, or why they are gone.
        headers: Result<Arc<Headers>, ScoreError>,
        label: String,
    },
}

/// What the run's settings tell a target.
pub struct Request<'a> {
    pub org_id: &'a str,
    pub run_id: &'a str,
    pub had_request_key: bool,
    /// `runs.target_max_tokens`: max_tokens when the target's params name none.
    pub default_max_tokens: u32,
}

/// Make a stored target ready for a run. Answers the target and the org's own cost limit per run (the run's
/// own `cost_limit_usd` wins over it).
pub async fn prepare(
    judge: &Judge,
    vault: &Vault,
    spec: &TargetSpec,
    r: Request<'_>,
) -> crate::error::Result<(Prepared, Option<f64>)> {
    let parse = |t: &str| Template::parse(t).map_err(crate::error::Error::validation);
    match spec {
        TargetSpec::Provider(p) => {
            let (target, settings) = judge
                .prepare_target(r.org_id, r.run_id, r.had_request_key, p.provider, p.key_id.as_deref(), &p.model)
                .await?;
            let params = p.params.clone().unwrap_or_default();
            let prepared = Prepared::Provider {
                target,
                prompt: match &p.prompt {
                    Some(t) => parse(t)?,
                    None => Template::input(),
                },
                system: p.system_prompt.as_deref().map(parse).transpose()?,
                max_tokens: params.max_tokens.unwrap_or(r.default_max_tokens),
                temperature: params.temperature.unwrap_or(0.0),
                sampling: Sampling {
                    top_p: params.top_p,
                    stop: params.stop.map(|s| s.list()).unwrap_or_default(),
                    seed: params.seed,
                },
            };
            Ok((prepared, settings.cost_limit_usd))
        }
        TargetSpec::Http(h) => {
            let url =
                url::Url::parse(&h.url).map_err(|e| crate::error::Error::validation(format!("target url: {e}")))?;
            let body = h
                .body_template
                .clone()
                .map(template::JsonTemplate::parse)
                .transpose()
                .map_err(crate::error::Error::validation)?;
            let path = path::ResponsePath::parse(h.response_path.as_deref().unwrap_or(path::DEFAULT))
                .map_err(crate::error::Error::validation)?;
            let headers = match vault.get(r.run_id) {
                Some(held) => Ok(held),
                None if h.headers_held == 0 => Ok(Arc::new(Vec::new())),
                None => Err(ScoreError::new(
                    Code::ByokNoKey,
                    "the target's headers were held in memory only and the server restarted before the run ended; submit the run again",
                )),
            };
            let (_, settings) = judge.prepare(r.org_id, r.run_id, None, false, &[]).await?;
            Ok((
                Prepared::Http { call: http::HttpCall { url, body, path }, headers, label: spec.label() },
                settings.cost_limit_usd,
            ))
        }
    }
}

/// One item's answer from the target and what it took.
#[derive(Clone, Debug, Serialize)]
pub struct Produced {
    #[serde(skip)]
    pub output: Result<String, ScoreError>,
    pub latency_ms: u64,
    pub cost_usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScoreError>,
}

impl Produced {
    fn failed(e: ScoreError, started: Instant) -> Produced {
        Produced {
            output: Err(e.clone()),
            latency_ms: elapsed_ms(started),
            cost_usd: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            error: Some(e),
        }
    }
}

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Ask the target for `item`'s answer. Never fails as a whole: a failure is the item's, with its code.
pub async fn produce(judge: &Judge, ctx: &RunCtx, target: &Prepared, item: &Item) -> Produced {
    produce_turns(judge, ctx, target, item, &[]).await
}

/// [`produce`] in a conversation: `history` (earlier user turns and the target's answers, in order) goes before
/// the item's rendered prompt, as chat messages for a provider target and as the HTTP target's `messages`.
pub async fn produce_turns(judge: &Judge, ctx: &RunCtx, target: &Prepared, item: &Item, history: &[Turn]) -> Produced {
    let started = Instant::now();
    match target {
        Prepared::Provider { target, prompt, system, max_tokens, temperature, sampling } => {
            let t = match target {
                Ok(t) => t,
                Err(e) => return Produced::failed(e.clone(), started),
            };
            let req = ChatRequest {
                model: t.model.clone(),
                system: system.as_ref().map(|s| s.render(item)).unwrap_or_default(),
                user: prompt.render(item),
                max_tokens: *max_tokens,
                temperature: *temperature,
                json_schema: None,
                sampling: sampling.clone(),
                history: history.to_vec(),
            };
            match judge.generate(ctx, t, &req).await {
                Ok(g) => Produced {
                    output: Ok(g.text),
                    latency_ms: elapsed_ms(started),
                    cost_usd: g.cost_usd,
                    input_tokens: g.input_tokens,
                    output_tokens: g.output_tokens,
                    error: None,
                },
                Err(e) => Produced::failed(e, started),
            }
        }
        Prepared::Http { call, headers, label } => {
            let headers = match headers {
                Ok(h) => h,
                Err(e) => return Produced::failed(e.clone(), started),
            };
            if let Some(e) = judge.over_cost_limit(ctx) {
                return Produced::failed(e, started);
            }
            let mut calls = 0u64;
            let result = judge
                .call_external(ctx, &call.host(), || {
                    calls += 1;
                    call.call(judge.http(), headers, item, history)
                })
                .await;
            let mut line = Line { source: Source::Target, calls, price_known: false, ..Default::default() };
            if let Ok(r) = &result {
                line.input_tokens = r.input_tokens;
                line.output_tokens = r.output_tokens;
            }
            judge.book_external(ctx, "http", label, line);
            match result {
                Ok(r) => Produced {
                    output: Ok(r.text),
                    latency_ms: elapsed_ms(started),
                    cost_usd: 0.0,
                    input_tokens: r.input_tokens,
                    output_tokens: r.output_tokens,
                    error: None,
                },
                Err(e) => Produced::failed(e, started),
            }
        }
    }
}
