//! The OpenAI-compatible gateway. Its core is pure: wire types, translation both ways between OpenAI's chat shape
//! and Anthropic's and Gemini's, stream translation, the `/v1/messages` ingress, error shapes, model routing and the
//! cache key; no HTTP, no store, no clock there (callers pass ids and times in, [`ResponseMeta`]), so every one of
//! those functions is repeatable and testable on recorded payloads. Around it, the service ([`Gateway`]): key
//! resolution, limits, retries and fallbacks, the cache, streams and the records (see docs/gateway.md). Its HTTP
//! handlers are in `http/routes/gateway.rs`; nothing here knows actix.
//!
//! Request path for `POST /v1/chat/completions`: [`resolve_model`] → per target, [`ProviderName::wire`] picks
//! the body (`OpenAi`: the request as it is, [`to_anthropic`], [`to_gemini`]) → the answer through
//! [`anthropic_to_openai`] / [`gemini_to_openai`], or a stream through an [`SseParser`] and a
//! [`ChunkTranslator`] ([`AnthropicStreamTranslator`], [`GeminiStreamTranslator`]) framed by [`openai_sse_frame`].
//! `POST /v1/messages`: [`anthropic_request_to_openai`] → the same path → [`openai_response_to_anthropic`] or an
//! [`AnthropicStreamWriter`] framed by [`anthropic_sse_frame`].

mod answers;
pub mod anthropic;
mod cache_key;
mod catalog;
mod chat;
mod common;
mod content;
pub mod egress;
mod embed;
mod embeddings;
mod error;
mod from_anthropic;
mod from_gemini;
pub mod gemini;
mod gemini_schema;
mod ingress;
mod ingress_stream;
mod limits;
mod metrics;
pub mod openai;
mod plan;
mod prepare;
mod present;
mod record;
mod resolve;
mod routing;
mod secrets;
mod serve;
mod sse;
mod stream;
mod to_anthropic;
mod to_gemini;
mod view;

#[cfg(test)]
mod tests_anthropic;
#[cfg(test)]
mod tests_gemini;
#[cfg(test)]
mod tests_ingress;
#[cfg(test)]
mod tests_misc;
#[cfg(test)]
mod tests_openapi;
#[cfg(test)]
mod tests_sse;
#[cfg(test)]
mod tests_support;

pub use cache_key::{cache_key, canonical_json};
pub use chat::Answer;
pub use common::{ChunkTranslator, RequestContext, ResponseMeta, StructuredTool, STRUCTURED_OUTPUT_TOOL};
pub use embeddings::{embeddings_to_gemini, gemini_embeddings_to_openai, MAX_EMBED_INPUTS};
pub use error::{anthropic_error_body, anthropic_error_type, openai_error_body, openai_error_type, GatewayError};
pub use from_anthropic::{anthropic_finish_reason, anthropic_to_openai, anthropic_usage, AnthropicStreamTranslator};
pub use from_gemini::{gemini_finish_reason, gemini_to_openai, gemini_usage, GeminiStreamTranslator, MAX_CANDIDATES};
pub use gemini_schema::{gemini_schema, MAX_SCHEMA_DEPTH};
pub use ingress::{
    anthropic_request_to_openai, openai_response_to_anthropic, openai_stop_reason, openai_usage_to_anthropic,
};
pub use ingress_stream::AnthropicStreamWriter;
pub use limits::{period_start, Limiter, Refusal, Reservation};
pub use record::purge_cache;
pub use resolve::{OrgView, Resolved};
pub use routing::{
    native_provider, resolve_model, validate_targets, AliasTable, ProviderName, RouteTarget, Wire, MAX_ALIAS_TARGETS,
    MAX_MODEL_NAME_LEN,
};
pub use serve::{CallInfo, Failure, Gateway, Meta};
pub use sse::{anthropic_sse_frame, openai_sse_frame, SseEvent, SseParser, MAX_SSE_EVENT_BYTES, OPENAI_SSE_DONE};
pub use stream::{StreamItem, StreamItems};
pub use to_anthropic::{to_anthropic, AnthropicPlan, DEFAULT_ANTHROPIC_MAX_TOKENS};
pub use to_gemini::{to_gemini, GeminiPlan};
