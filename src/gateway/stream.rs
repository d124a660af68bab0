//! A provider's stream, forwarded as it arrives: bytes → [`SseParser`] → (OpenAI-style: the chunks as they are;
//! Anthropic, Gemini: a [`ChunkTranslator`]) → OpenAI chunk texts. The stream owns the provider's response: when
//! the caller goes away, the HTTP server drops the stream, which drops the response and so ends the upstream
//! request; the [`Finish`] guard then books what was used (the reservation in full, since the provider may have
//! billed the whole answer) and queues the request-log row.
//!
//! Usage is always asked of the provider (for cost and limits); the trailing usage chunk reaches the caller only
//! when it asked for it with `stream_options.include_usage`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::domain::{Code, Secret};
use crate::providers::gateway::stream_failure;

use super::common::ChunkTranslator;
use super::error::GatewayError;
use super::limits::Reservation;
use super::plan::{usage_of, Plan};
use super::resolve::Resolved;
use super::routing::Wire;
use super::serve::{Draft, Failure, Gateway, Meta, Upstream};
use super::sse::{SseEvent, SseParser};

/// One item of a gateway stream: an OpenAI chunk as JSON text, or the failure that ended the stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamItem {
    Chunk(String),
    Failed(Failure),
}

/// The items and the headers' view at the start.
pub struct StreamItems {
    pub meta: Meta,
    pub items: Pin<Box<dyn Stream<Item = StreamItem>>>,
}

/// Books the stream's usage and queues its log row when the stream ends or is dropped.
struct Finish {
    gateway: Arc<Gateway>,
    draft: Option<Draft>,
    reservation: Option<Reservation>,
    model: String,
    completed: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let Some(mut d) = self.draft.take() else { return };
        let (i, o) = (d.row.input_tokens, d.row.output_tokens);
        let (cost, known) = self.gateway.cost(&self.model, i, o);
        d.price_known = known;
        d.meta.cost_usd = Some(cost);
        if !self.completed && d.row.error_code.is_none() {
            // The caller went away mid-stream: 499 as nginx logs it; the reservation is booked in full.
            d.row.status = 499;
            d.row.error_code = Some("CLIENT_CLOSED".into());
        } else if let Some(r) = self.reservation.take() {
            r.settle(cost);
        }
        self.gateway.limiter.take_tokens(&d.row.api_key_id, i + o);
        d.finish(&self.gateway);
    }
}

enum Translate {
    Pass,
    Chunks(Box<dyn ChunkTranslator>),
}

struct State {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>>>>,
    parser: SseParser,
    translate: Translate,
    include_usage: bool,
    pending: VecDeque<StreamItem>,
    ended: bool,
    /// A pass-through chunk carried a finish_reason: the answer is whole even if `[DONE]` never comes.
    saw_finish: bool,
    secret: Secret,
    provider: crate::domain::Provider,
    fin: Finish,
}

impl State {
    fn draft(&mut self) -> Option<&mut Draft> {
        self.fin.draft.as_mut()
    }

    fn fail(&mut self, f: Failure) {
        if let Some(d) = self.draft() {
            d.row.status = f.status;
            d.row.error_code = Some(f.code.as_str().to_owned());
        }
        self.pending.push_back(StreamItem::Failed(f));
        self.ended = true;
    }

    fn gateway_error(&mut self, e: &GatewayError) {
        let f = Failure::from_gateway(e, Some(&self.secret));
        self.fail(f);
    }

    /// Forwards one chunk, noting its usage; a usage-only chunk reaches only callers who asked for it.
    fn chunk(&mut self, text: String, v: &Value) {
        if v.get("usage").is_some_and(Value::is_object) {
            let (i, o) = usage_of(v);
            if let Some(d) = self.draft() {
                d.row.input_tokens = i;
                d.row.output_tokens = o;
            }
        }
        if let Some(c) = self.draft().and_then(|d| d.content.as_mut()) {
            c.chunk(v);
        }
        let usage_only = v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
        if usage_only && !self.include_usage {
            return;
        }
        self.pending.push_back(StreamItem::Chunk(text));
    }

    fn event(&mut self, ev: &SseEvent) {
        if self.ended {
            return;
        }
        match &mut self.translate {
            Translate::Pass => {
                if ev.is_done() {
                    self.finish_ok();
                    return;
                }
                let v: Value = match serde_json::from_str(&ev.data) {
                    Ok(v) => v,
                    Err(_) => {
                        return self
                            .gateway_error(&GatewayError::Upstream { message: "a stream event is not JSON".into() })
                    }
                };
                if let Some(err) = v.get("error") {
                    let message = err.get("message").and_then(Value::as_str).unwrap_or("unknown error").to_owned();
                    let kind = err.get("type").and_then(Value::as_str).unwrap_or("api_error").to_owned();
                    return self.gateway_error(&GatewayError::UpstreamReported { kind, message });
                }
                let finished = v
                    .get("choices")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| cs.iter().any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null())));
                self.saw_finish |= finished;
                self.chunk(ev.data.clone(), &v);
            }
            Translate::Chunks(t) => match t.feed(ev) {
                Ok(chunks) => self.chunks(chunks),
                Err(e) => self.gateway_error(&e),
            },
        }
    }

    fn chunks(&mut self, chunks: Vec<super::openai::ChatCompletionChunk>) {
        for c in chunks {
            let v = serde_json::to_value(&c).unwrap_or(Value::Null);
            self.chunk(v.to_string(), &v);
        }
    }

    fn finish_ok(&mut self) {
        self.ended = true;
        self.fin.completed = true;
    }

    /// The provider's body ended.
    fn end_of_body(&mut self) {
        match self.parser.finish() {
            Ok(Some(ev)) => self.event(&ev),
            Ok(None) => {}
            Err(e) => return self.gateway_error(&e),
        }
        if self.ended {
            return;
        }
        let tail = match &mut self.translate {
            Translate::Pass if self.saw_finish => Ok(Vec::new()),
            Translate::Pass => Err(GatewayError::upstream("the provider's stream ended before the answer finished")),
            Translate::Chunks(t) => t.finish(),
        };
        match tail {
            Ok(chunks) => {
                self.chunks(chunks);
                self.finish_ok();
            }
            Err(e) => self.gateway_error(&e),
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        match self.parser.push(b) {
            Ok(events) => {
                for ev in &events {
                    self.event(ev);
                }
            }
            Err(e) => self.gateway_error(&e),
        }
    }
}

/// Turns a provider's streaming answer into the gateway's stream.
pub(crate) fn start(
    gateway: Arc<Gateway>,
    up: Upstream,
    plan: Plan,
    r: Resolved,
    mut draft: Draft,
    reservation: Option<Reservation>,
) -> StreamItems {
    let meta = draft.snapshot();
    let translate = match plan.wire {
        Wire::OpenAi => Translate::Pass,
        Wire::Anthropic => Translate::Chunks(Box::new(super::from_anthropic::AnthropicStreamTranslator::new(
            plan.ctx.clone(),
            plan.meta.clone(),
        ))),
        Wire::Gemini => Translate::Chunks(Box::new(super::from_gemini::GeminiStreamTranslator::new(
            plan.ctx.clone(),
            plan.meta.clone(),
            &plan.model,
        ))),
    };
    let state = State {
        body: Box::pin(up.resp.bytes_stream()),
        parser: SseParser::new(),
        translate,
        include_usage: plan.include_usage,
        pending: VecDeque::new(),
        ended: false,
        saw_finish: false,
        secret: r.secret.clone(),
        provider: r.provider,
        fin: Finish {
            gateway,
            draft: Some(draft),
            reservation,
            model: plan.model.clone(),
            completed: false,
            _permit: up.permit,
        },
    };
    let items = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                return Some((item, st));
            }
            if st.ended {
                return None;
            }
            let t = Instant::now();
            let next = st.body.next().await;
            if let Some(d) = st.draft() {
                d.upstream += t.elapsed();
            }
            match next {
                Some(Ok(b)) => st.bytes(&b),
                Some(Err(e)) => {
                    let pe = stream_failure(st.provider, &e, &st.secret);
                    let mut f = Failure::from_provider(&pe);
                    f.message = format!("the stream broke: {}", f.message);
                    if f.code == Code::ValidationFailed {
                        f.code = Code::ByokProviderError;
                    }
                    st.fail(f);
                }
                None => st.end_of_body(),
            }
        }
    });
    StreamItems { meta, items: Box::pin(items) }
}
