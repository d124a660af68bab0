//! How one target of a chat request is called and its answer read back: the provider's body (OpenAI-style
//! providers get the caller's request as it is, with the routed model; Anthropic and Gemini get it translated),
//! and the answer turned into OpenAI's shape.

use serde_json::Value;

use crate::providers::gateway::Operation;

use super::common::{RequestContext, ResponseMeta};
use super::error::GatewayError;
use super::openai::ChatCompletionRequest;
use super::resolve::{name_of, Resolved};
use super::routing::Wire;

/// How one target is called and its answer read back.
pub(crate) struct Plan {
    pub op: Operation,
    pub body: Value,
    pub wire: Wire,
    pub ctx: RequestContext,
    /// The model as the provider names it.
    pub model: String,
    /// Whether the caller asked for the trailing usage chunk (usage is always asked of the provider).
    pub include_usage: bool,
    pub meta: ResponseMeta,
}

/// The provider's request for target `r`.
pub(crate) fn plan(
    req: &ChatCompletionRequest,
    raw: &Value,
    r: &Resolved,
    stream: bool,
    meta: ResponseMeta,
) -> Result<Plan, GatewayError> {
    let include_usage = req.include_usage();
    let wire = name_of(r.provider).wire();
    let (body, ctx, model) = match wire {
        Wire::OpenAi => {
            let mut body = raw.clone();
            if let Value::Object(map) = &mut body {
                map.insert("model".into(), Value::String(r.model.clone()));
                // Usage is needed for cost and limits. OpenAI-compatible servers vary in what they accept, so they
                // get the request as the caller wrote it.
                if stream && r.provider != crate::domain::Provider::OpenaiCompatible {
                    let opts = map.entry("stream_options").or_insert_with(|| Value::Object(Default::default()));
                    if let Value::Object(o) = opts {
                        o.insert("include_usage".into(), Value::Bool(true));
                    }
                }
            }
            (body, RequestContext { stream, include_usage, structured_tool: None }, r.model.clone())
        }
        Wire::Anthropic => {
            let p = super::to_anthropic::to_anthropic(req, &r.model)?;
            let mut b = p.body;
            b.stream = stream.then_some(true);
            let mut ctx = p.context;
            ctx.include_usage = true;
            (serde_json::to_value(b).map_err(|e| GatewayError::upstream(e.to_string()))?, ctx, r.model.clone())
        }
        Wire::Gemini => {
            let p = super::to_gemini::to_gemini(req, &r.model)?;
            let mut ctx = p.context;
            ctx.include_usage = true;
            (serde_json::to_value(p.body).map_err(|e| GatewayError::upstream(e.to_string()))?, ctx, p.model)
        }
    };
    Ok(Plan { op: Operation::Chat { stream }, body, wire, ctx, model, include_usage, meta })
}

/// A whole provider answer in OpenAI's shape (OpenAI-style answers pass through untouched).
pub(crate) fn translate(plan: &Plan, v: Value) -> Result<Value, GatewayError> {
    let bad = |e: serde_json::Error| GatewayError::upstream(format!("the answer has an unexpected shape: {e}"));
    let out = match plan.wire {
        Wire::OpenAi => return Ok(v),
        Wire::Anthropic => {
            let resp: super::anthropic::MessagesResponse = serde_json::from_value(v).map_err(bad)?;
            serde_json::to_value(super::from_anthropic::anthropic_to_openai(&resp, &plan.ctx, &plan.meta)?)
        }
        Wire::Gemini => {
            let resp: super::gemini::GenerateContentResponse = serde_json::from_value(v).map_err(bad)?;
            serde_json::to_value(super::from_gemini::gemini_to_openai(&resp, &plan.meta, &plan.model)?)
        }
    };
    out.map_err(|e| GatewayError::upstream(e.to_string()))
}

/// (prompt, completion) tokens of an OpenAI-shaped answer or chunk.
pub(crate) fn usage_of(v: &Value) -> (u64, u64) {
    let n = |f: &str| v.pointer(&format!("/usage/{f}")).and_then(Value::as_u64).unwrap_or(0);
    (n("prompt_tokens"), n("completion_tokens"))
}
