//! Calls to an HTTP target (the customer's own OpenAI-compatible or plain HTTP endpoint): the body from its
//! template, its headers from memory, the destination policy of provider keys, the answer at its response path.
//! Failures carry the provider codes (`BYOK_AUTH_FAILED` for 401/403, `BYOK_RATE_LIMITED`, `BYOK_PROVIDER_ERROR`,
//! `BYOK_ENDPOINT_UNREACHABLE`), and no message ever holds a header value.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde_json::{json, Value};

use super::path::ResponsePath;
use super::spec::Headers;
use super::template::JsonTemplate;
use crate::domain::{Code, Item, ScoreError};
use crate::judge::ExternalFailure;
use crate::providers::{ErrorKind, ProviderClient, Turn};

/// Replies bigger than this are refused (a target's answer is text, not a download).
pub const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;
/// Characters of a failing reply quoted in the error.
const SNIPPET_CHARS: usize = 200;

/// A ready HTTP target.
pub struct HttpCall {
    pub url: url::Url,
    pub body: Option<JsonTemplate>,
    pub path: ResponsePath,
}

/// What the endpoint answered.
#[derive(Debug, Default)]
pub struct Reply {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

fn fail(code: Code, message: String, headers: &Headers) -> ScoreError {
    let mut m = message;
    for (_, v) in headers {
        m = crate::providers::scrub_secret(&m, v);
    }
    ScoreError::new(code, m)
}

/// A failure that no retry can mend (a bad header, a policy refusal, an answer without the response path).
fn final_failure(error: ScoreError) -> ExternalFailure {
    ExternalFailure { error, kind: ErrorKind::InvalidRequest, retry_after: None }
}

/// An answer's status as the retry policy reads it: the codes a provider's own answer would map to.
fn status_kind(status: u16) -> (Code, ErrorKind) {
    match status {
        401 | 403 => (Code::ByokAuthFailed, ErrorKind::Auth),
        402 => (Code::ByokQuotaExceeded, ErrorKind::Quota),
        429 => (Code::ByokRateLimited, ErrorKind::RateLimited),
        408 | 504 => (Code::ByokProviderError, ErrorKind::Timeout),
        502 | 503 | 529 => (Code::ByokProviderError, ErrorKind::Overloaded),
        500..=599 => (Code::ByokProviderError, ErrorKind::Server),
        _ => (Code::ByokProviderError, ErrorKind::InvalidRequest),
    }
}

impl HttpCall {
    /// The request body for `item` after `history` (earlier turns of a multi-turn attempt, else empty): the
    /// template (its `{{messages}}` is the conversation as OpenAI chat messages), or an OpenAI chat body.
    pub fn body_for(&self, item: &Item, history: &[Turn]) -> Value {
        let mut messages: Vec<Value> = history.iter().map(|t| json!({"role": t.role(), "content": t.text})).collect();
        messages.push(json!({"role": "user", "content": crate::domain::text_of(&item.input)}));
        match &self.body {
            Some(t) => t.render_with(item, &messages),
            None => json!({ "messages": messages }),
        }
    }

    /// The lane this target's calls share (one per org and host, see `Judge::call_external`).
    pub fn host(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or("")),
            None => self.url.host_str().unwrap_or("").to_string(),
        }
    }

    /// One POST. Retrying is the scheduler's business (`Judge::call_external`): the failure says what kind it was
    /// and how long the endpoint asked to wait.
    pub async fn call(
        &self,
        client: &ProviderClient,
        headers: &Headers,
        item: &Item,
        history: &[Turn],
    ) -> Result<Reply, ExternalFailure> {
        let host = self.url.host_str().unwrap_or("").to_string();
        client.policy().check_url_resolving(&self.url, false).await.map_err(|r| {
            final_failure(ScoreError::new(Code::ByokEndpointUnreachable, format!("target {host}: {r}")))
        })?;
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers.iter() {
            let (Ok(n), Ok(mut v)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value.expose_secret()))
            else {
                let e = ScoreError::new(Code::ValidationFailed, format!("target header {name} cannot be sent"));
                return Err(final_failure(e));
            };
            v.set_sensitive(true);
            map.insert(n, v);
        }
        let body = self.body_for(item, history);
        let req = client.http().post(self.url.clone()).headers(map);
        let req = match &body {
            Value::String(text) => req.header(CONTENT_TYPE, "text/plain; charset=utf-8").body(text.clone()),
            other => req.json(other),
        };
        let resp = req.send().await.map_err(|e| {
            let (code, kind, what) = if e.is_timeout() {
                (Code::ByokProviderError, ErrorKind::Timeout, "timed out")
            } else {
                (Code::ByokEndpointUnreachable, ErrorKind::Unreachable, "could not be reached")
            };
            ExternalFailure { error: fail(code, format!("target {host} {what}"), headers), kind, retry_after: None }
        })?;
        let status = resp.status().as_u16();
        let retry_after = crate::providers::retry_after(resp.headers());
        let bytes = read_limited(resp).await.map_err(|why| ExternalFailure {
            error: fail(Code::ByokProviderError, format!("target {host}: {why}"), headers),
            kind: ErrorKind::Server,
            retry_after: None,
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !(200..300).contains(&status) {
            let (code, kind) = status_kind(status);
            let snippet: String = text.chars().take(SNIPPET_CHARS).collect();
            let error = fail(code, format!("target {host} answered {status}: {snippet}"), headers);
            return Err(ExternalFailure { error, kind, retry_after });
        }
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let answer = if self.path.as_str().is_empty() {
            Some(text.clone())
        } else {
            json.as_ref().and_then(|v| self.path.extract(v))
        };
        let Some(answer) = answer else {
            let snippet: String = text.chars().take(SNIPPET_CHARS).collect();
            return Err(final_failure(fail(
                Code::ByokProviderError,
                format!(
                    "target {host} answered {status} with nothing at response_path {:?}: {snippet}",
                    self.path.as_str()
                ),
                headers,
            )));
        };
        let usage = |f: &str| {
            json.as_ref().and_then(|v| v.pointer(&format!("/usage/{f}"))).and_then(Value::as_u64).unwrap_or(0)
        };
        Ok(Reply { text: answer, input_tokens: usage("prompt_tokens"), output_tokens: usage("completion_tokens") })
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| "the reply was cut off".to_string())? {
        if buf.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(format!("the reply is over {MAX_REPLY_BYTES} bytes (MAX_REPLY_BYTES)"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}
