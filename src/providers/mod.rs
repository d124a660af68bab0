//! Judge calls to the customers' LLM providers, on the customers' own keys.
//!
//! Every provider is reached through one shared [`http_client`] and one entry point, [`complete`], which maps a
//! [`ChatRequest`] to the provider's wire format (`openai`, `anthropic`, `google`), reads the text and token usage
//! back and classifies every failure into an [`ErrorKind`] the scheduler can act on (retry, give up, mark the key as
//! failing). Retries are deliberately not done here: the scheduler owns them, so one policy governs every provider.
//!
//! The key only ever travels in a request header marked sensitive. It is never put in a URL, and every message built
//! from a provider's answer is scrubbed of anything that looks like it (see [`scrub_secret`]).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use crate::domain::Provider;
use crate::domain::{Code, Secret};

mod anthropic;
mod classify;
pub mod destination;
pub mod gateway;
mod google;
mod openai;
pub mod pricing;
mod retry;

#[cfg(test)]
mod tests_classify;
#[cfg(test)]
mod tests_openapi;
#[cfg(test)]
mod tests_wire;

pub use anthropic::anthropic_body;
pub use classify::{scrub_secret, MAX_UPSTREAM_SUMMARY_CHARS};
pub use destination::DestinationPolicy;
pub use google::{gemini_schema, google_body};
pub use openai::openai_body;
pub use retry::retry_after;

/// Where and how a key reaches its provider (from the key's metadata).
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    pub base_url: Option<String>,
    pub endpoint: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
}

/// A judge call: system + user prompt, temperature 0, and optionally the JSON schema the reply must follow.
/// A target call (a run producing its outputs) also carries the caller's sampling parameters.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    pub model: String,
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub temperature: f32,
    pub json_schema: Option<serde_json::Value>,
    /// Sampling parameters beyond temperature; empty for judge calls (their bodies stay as they were).
    pub sampling: Sampling,
    /// Earlier turns of a conversation, sent in order before `user` (a red team's multi-turn attempt); empty
    /// for every other call, whose bodies stay one user message.
    pub history: Vec<Turn>,
}

/// One earlier turn of a conversation: what the user said, or what the assistant answered.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Turn {
    pub assistant: bool,
    pub text: String,
}

impl Turn {
    /// The chat role as OpenAI and Anthropic name it.
    pub fn role(&self) -> &'static str {
        if self.assistant {
            "assistant"
        } else {
            "user"
        }
    }
}

/// `top_p`, `stop` and `seed` of a target's `params`, each sent only when set (in each provider's own field).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Sampling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

impl Sampling {
    pub fn is_empty(&self) -> bool {
        *self == Sampling::default()
    }
}

/// What the judge said and what it cost, in the provider's own token counts (the only ones that get billed).
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Failure classes the scheduler acts on: each maps to one contract code and one retry decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Auth,
    Quota,
    ModelNotFound,
    Unreachable,
    RateLimited,
    Overloaded,
    Server,
    Timeout,
    BadResponse,
    /// A well-formed 2xx answer with nothing to read: a refusal, an empty reply, a safety block. Asking again
    /// pays for the same refusal, so it is not retried; for a judge it is an unparseable verdict.
    NoAnswer,
    InvalidRequest,
}

impl ErrorKind {
    /// Stable lower-case label for metrics and logs, independent of the coarser contract code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Quota => "quota",
            ErrorKind::ModelNotFound => "model_not_found",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::NoAnswer => "no_answer",
            ErrorKind::InvalidRequest => "invalid_request",
        }
    }
}

/// A failed provider call. `message` is safe to show to the customer and to log: it never holds the key.
#[derive(Clone, Debug)]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    /// Lets callers build errors of their own (e.g. a missing key) that flow through the same contract mapping.
    pub fn new(kind: ErrorKind, status: Option<u16>, message: impl Into<String>) -> Self {
        Self { kind, status, message: message.into(), retry_after: None }
    }

    /// The API contract's error code, so the customer sees the same code whichever provider failed.
    pub fn code(&self) -> Code {
        match self.kind {
            ErrorKind::Auth => Code::ByokAuthFailed,
            ErrorKind::Quota => Code::ByokQuotaExceeded,
            ErrorKind::ModelNotFound => Code::ByokModelNotFound,
            ErrorKind::Unreachable => Code::ByokEndpointUnreachable,
            ErrorKind::RateLimited => Code::ByokRateLimited,
            ErrorKind::NoAnswer => Code::JudgeUnparseable,
            ErrorKind::Overloaded
            | ErrorKind::Server
            | ErrorKind::Timeout
            | ErrorKind::BadResponse
            | ErrorKind::InvalidRequest => Code::ByokProviderError,
        }
    }

    /// Only transient failures are worth another try; retrying a bad key, an empty wallet, a missing model, a
    /// rejected request or an address that does not answer only burns the customer's time and rate limit.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::BadResponse
        )
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

/// An HTTP client for provider calls together with the destination policy it enforces.
///
/// The policy sits in two places because reqwest consults a resolver only for host names: the client's DNS
/// resolver drops refused answers at every connection, and [`ProviderClient::check`] covers IP-literal URLs (and
/// the port rules) before a request is sent.
#[derive(Clone, Debug)]
pub struct ProviderClient {
    http: reqwest::Client,
    policy: Arc<DestinationPolicy>,
}

impl ProviderClient {
    /// The destination policy this client enforces (key creation checks against the same one).
    pub fn policy(&self) -> &Arc<DestinationPolicy> {
        &self.policy
    }

    /// Refuses a destination the policy does not allow, as `BYOK_ENDPOINT_UNREACHABLE` with the policy's reason.
    pub async fn check(&self, provider: Provider, url: &url::Url) -> Result<(), ProviderError> {
        self.policy.check_url_resolving(url, false).await.map_err(|r| {
            ProviderError::new(ErrorKind::Unreachable, None, classify::cap(&format!("{}: {r}", provider.as_str())))
        })
    }

    /// The underlying client, policy resolver included.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The one client factory for provider calls (the judge's [`http_client`] and the gateway's
/// [`gateway::streaming_client`] both come from here): user agent, no redirects, no reqwest retries, rustls, and
/// the destination policy's resolver.
///
/// Redirects are refused because following one would resend the key to wherever a misconfigured base URL points
/// (and around the policy); reqwest's own retries are off because the scheduler owns retries.
pub(crate) fn client_builder(policy: &Arc<DestinationPolicy>, connect_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .dns_resolver(Arc::new(destination::PolicyResolver::new(policy.clone())))
        .use_rustls_tls()
}

/// The one shared HTTP client of judge calls, so every one gets the same timeouts, connection pool, user agent
/// and destination policy.
///
/// Fails only if the TLS backend cannot be initialised, which with the bundled rustls and web PKI roots does not
/// happen; the caller reports it at start-up rather than panicking.
pub fn http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
    policy: Arc<DestinationPolicy>,
) -> reqwest::Result<ProviderClient> {
    let http = client_builder(&policy, connect_timeout).timeout(request_timeout).build()?;
    Ok(ProviderClient { http, policy })
}

/// Lets callers run without naming a model: the cheap, fast model of each provider that judges well enough.
/// Azure and OpenAI-compatible servers have no universal model name, so they must be configured.
pub fn default_model(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Openai => Some("gpt-4o-mini"),
        Provider::Anthropic => Some("claude-3-5-haiku-latest"),
        Provider::Google => Some("gemini-2.0-flash"),
        Provider::Groq => Some("llama-3.3-70b-versatile"),
        Provider::AzureOpenai | Provider::OpenaiCompatible => None,
    }
}

/// Answers bigger than this are not judge verdicts; refusing them keeps a broken server from exhausting memory.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A fully prepared request: where to send it and what to send. Debug is safe: the key header is sensitive.
#[derive(Debug)]
struct Call {
    url: url::Url,
    headers: HeaderMap,
    body: serde_json::Value,
    model: String,
}

/// One call, so the scheduler needs nothing provider-specific: it gets text and usage back, or a classified error.
pub async fn complete(
    client: &ProviderClient,
    provider: Provider,
    endpoint: &Endpoint,
    key: &Secret,
    req: &ChatRequest,
) -> Result<ChatResponse, ProviderError> {
    let call = prepare(provider, endpoint, key, req)?;
    let started = Instant::now();
    let host = match (call.url.host_str(), call.url.port()) {
        (Some(h), Some(port)) => format!("{h}:{port}"),
        (h, _) => h.unwrap_or("").to_owned(),
    };
    client.check(provider, &call.url).await?;
    let sent = client.http.post(call.url).headers(call.headers).json(&call.body).send().await;
    let resp = sent.map_err(|e| classify::transport_error(provider, &host, &e, key))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = read_body(resp).await.map_err(|e| classify::transport_error(provider, &host, &e, key))?;
    tracing::debug!(
        provider = provider.as_str(),
        model = %call.model,
        status = status.as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "provider call"
    );
    let Some(body) = body else {
        return Err(ProviderError::new(
            ErrorKind::BadResponse,
            Some(status.as_u16()),
            format!("{} answered {} with a body over {} bytes", provider.as_str(), status.as_u16(), MAX_BODY_BYTES),
        ));
    };
    if !status.is_success() {
        return Err(classify::http_error(provider, status.as_u16(), &headers, &body, key));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        let snippet = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let snippet = classify::summarise(&snippet, key);
        let msg = format!("{} answered {} with a body that is not JSON: {snippet}", provider.as_str(), status.as_u16());
        ProviderError::new(ErrorKind::BadResponse, Some(status.as_u16()), classify::cap(&msg))
    })?;
    let parsed = match provider {
        Provider::Anthropic => anthropic::parse(&json, &call.model, anthropic::wraps(req.json_schema.as_ref())),
        Provider::Google => google::parse(&json, &call.model),
        _ => openai::parse(&json, &call.model),
    };
    parsed.map_err(|msg| {
        let msg = format!("{} answered {} but {}", provider.as_str(), status.as_u16(), classify::summarise(&msg, key));
        ProviderError::new(ErrorKind::NoAnswer, Some(status.as_u16()), classify::cap(&msg))
    })
}

/// Builds URL, headers and body without sending anything, so configuration mistakes fail before any network use.
fn prepare(provider: Provider, endpoint: &Endpoint, key: &Secret, req: &ChatRequest) -> Result<Call, ProviderError> {
    let mut req = req.clone();
    if req.model.trim().is_empty() {
        let fallback = match provider {
            Provider::AzureOpenai => endpoint.deployment.clone(),
            other => default_model(other).map(str::to_owned),
        };
        req.model = fallback.ok_or_else(|| invalid(provider, "no model configured for this key"))?;
    }
    let (url, body) = match provider {
        Provider::Anthropic => {
            (anthropic::url(endpoint).map_err(|m| invalid(provider, &scrub_secret(&m, key)))?, anthropic_body(&req))
        }
        Provider::Google => (
            google::url(endpoint, &req.model).map_err(|m| invalid(provider, &scrub_secret(&m, key)))?,
            google_body(&req),
        ),
        Provider::AzureOpenai => (
            openai::azure_url(endpoint, &req.model).map_err(|m| invalid(provider, &scrub_secret(&m, key)))?,
            openai_body(provider, &req),
        ),
        other => (
            openai::url(other, endpoint).map_err(|m| invalid(provider, &scrub_secret(&m, key)))?,
            openai_body(provider, &req),
        ),
    };
    let headers = auth_headers(provider, key)?;
    Ok(Call { url, headers, body, model: req.model })
}

/// The JSON content type and the key in the header each provider expects it in, marked sensitive so it never
/// shows in a Debug or a log.
pub(crate) fn auth_headers(provider: Provider, key: &Secret) -> Result<HeaderMap, ProviderError> {
    let mut secret = HeaderValue::from_str(key.expose_secret())
        .map_err(|_| invalid(provider, "the key holds characters that cannot be sent in an HTTP header"))?;
    secret.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match provider {
        Provider::Anthropic => {
            headers.insert(HeaderName::from_static("x-api-key"), secret);
            headers.insert(HeaderName::from_static("anthropic-version"), HeaderValue::from_static("2023-06-01"));
        }
        Provider::Google => {
            headers.insert(HeaderName::from_static("x-goog-api-key"), secret);
        }
        Provider::AzureOpenai => {
            headers.insert(HeaderName::from_static("api-key"), secret);
        }
        Provider::Openai | Provider::Groq | Provider::OpenaiCompatible => {
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| invalid(provider, "the key holds characters that cannot be sent in an HTTP header"))?;
            bearer.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, bearer);
        }
    }
    Ok(headers)
}

fn invalid(provider: Provider, what: &str) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, None, format!("{}: {what}", provider.as_str()))
}

/// Reads at most [`MAX_BODY_BYTES`]; `None` means the answer was bigger.
async fn read_body(mut resp: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf))
}

/// Joins the configured root and a path the way the providers' docs write them, tolerating a trailing slash, and
/// refuses anything but http(s) so a typo cannot send the key somewhere unexpected.
fn join_url(base: &str, path: &str) -> Result<url::Url, String> {
    let joined = format!("{}{path}", base.trim().trim_end_matches('/'));
    let url = url::Url::parse(&joined).map_err(|e| format!("invalid base URL {base:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("invalid base URL {base:?}: must be http(s)://host[:port][/path]"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("invalid base URL: it must not carry credentials, a query or a fragment".into());
    }
    Ok(url)
}

/// Temperature (or top_p) as the JSON number a person would write (0.7, not 0.699999988079071).
fn temperature(t: f32) -> serde_json::Value {
    let rounded = (f64::from(t) * 1000.0).round() / 1000.0;
    serde_json::Number::from_f64(rounded).map_or(serde_json::Value::from(0), serde_json::Value::Number)
}
