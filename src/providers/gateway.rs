//! Raw calls for the OpenAI-compatible gateway: the body is already in the provider's shape (the gateway's
//! translation core made it), so this only knows where each provider listens, how it takes its key, and how its
//! failures are classified. The answer comes back unread ([`send`]) so a stream can be forwarded as it arrives;
//! [`read_json`] reads a whole one within [`MAX_ANSWER_BYTES`].
//!
//! Failures go through the same classifier as judge calls, so the gateway's codes (`BYOK_AUTH_FAILED`,
//! `BYOK_RATE_LIMITED`, ...) and retry hints agree with the judge's, and every message is scrubbed of the key.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{
    anthropic, auth_headers, classify, google, openai, DestinationPolicy, Endpoint, ErrorKind, ProviderClient,
    ProviderError,
};
use crate::domain::{Provider, Secret};

/// The largest non-streaming answer read; chat answers and embedding batches are far smaller.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The most of a failed answer's body read for its classification; error bodies are small, a proxy's HTML page
/// need not be read to the end.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// What a gateway call asks of the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Chat (OpenAI's chat completions, Anthropic's messages, Gemini's generateContent), streamed or not.
    Chat { stream: bool },
    /// Embeddings (OpenAI's `/embeddings`, Gemini's `batchEmbedContents`).
    Embeddings,
}

/// The client for gateway calls: no overall timeout (a stream may rightly last minutes), but a bound on the wait
/// for each next byte, so a provider that goes silent frees the caller.
/// Fails only if the TLS backend cannot be initialised (it does not with the bundled rustls); start-up reports it.
/// Made by the same factory as the judge's client, so the destination policy holds for gateway calls too.
pub fn streaming_client(
    connect_timeout: Duration,
    read_timeout: Duration,
    policy: Arc<DestinationPolicy>,
) -> reqwest::Result<ProviderClient> {
    let http = super::client_builder(&policy, connect_timeout).read_timeout(read_timeout).build()?;
    Ok(ProviderClient { http, policy })
}

fn invalid(provider: Provider, what: &str, key: &Secret) -> ProviderError {
    ProviderError::new(
        ErrorKind::InvalidRequest,
        None,
        format!("{}: {}", provider.as_str(), super::scrub_secret(what, key)),
    )
}

/// Where `op` for `model` goes at this provider.
pub fn url(provider: Provider, endpoint: &Endpoint, model: &str, op: Operation) -> Result<url::Url, String> {
    match (provider, op) {
        (Provider::Anthropic, Operation::Chat { .. }) => anthropic::url(endpoint),
        (Provider::Anthropic, Operation::Embeddings) => Err("Anthropic has no embeddings API".into()),
        (Provider::Google, Operation::Chat { stream: false }) => google::url_for(endpoint, model, "generateContent"),
        (Provider::Google, Operation::Chat { stream: true }) => {
            let mut url = google::url_for(endpoint, model, "streamGenerateContent")?;
            url.query_pairs_mut().append_pair("alt", "sse");
            Ok(url)
        }
        (Provider::Google, Operation::Embeddings) => google::url_for(endpoint, model, "batchEmbedContents"),
        (Provider::AzureOpenai, Operation::Chat { .. }) => {
            openai::azure_url_for(endpoint, model, &["chat", "completions"])
        }
        (Provider::AzureOpenai, Operation::Embeddings) => openai::azure_url_for(endpoint, model, &["embeddings"]),
        (other, Operation::Chat { .. }) => openai::url_for(other, endpoint, "/chat/completions"),
        (other, Operation::Embeddings) => openai::url_for(other, endpoint, "/embeddings"),
    }
}

fn host_of(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(port)) => format!("{h}:{port}"),
        (h, _) => h.unwrap_or("").to_owned(),
    }
}

/// Sends `body` and returns the successful answer unread; a non-2xx answer is read (bounded) and classified.
pub async fn send(
    client: &ProviderClient,
    provider: Provider,
    endpoint: &Endpoint,
    key: &Secret,
    model: &str,
    op: Operation,
    body: &Value,
) -> Result<reqwest::Response, ProviderError> {
    let url = url(provider, endpoint, model, op).map_err(|m| invalid(provider, &m, key))?;
    let host = host_of(&url);
    let headers = auth_headers(provider, key)?;
    client.check(provider, &url).await?;
    let resp = client
        .http
        .post(url)
        .headers(headers)
        .json(body)
        .send()
        .await
        .map_err(|e| classify::transport_error(provider, &host, &e, key))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let headers = resp.headers().clone();
    let body = read_bounded(resp, MAX_ERROR_BODY_BYTES).await.unwrap_or_default();
    Err(classify::http_error(provider, status.as_u16(), &headers, &body, key))
}

/// Reads at most `max` bytes of an answer (what is beyond is dropped).
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= max {
            break;
        }
    }
    Ok(buf)
}

/// Reads a whole successful answer as JSON.
pub async fn read_json(mut resp: reqwest::Response, provider: Provider, key: &Secret) -> Result<Value, ProviderError> {
    let status = resp.status().as_u16();
    let host = resp.url().host_str().unwrap_or("").to_owned();
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify::transport_error(provider, &host, &e, key))? {
        if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ProviderError::new(
                ErrorKind::BadResponse,
                Some(status),
                format!("{} answered with a body over MAX_ANSWER_BYTES ({MAX_ANSWER_BYTES})", provider.as_str()),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&buf).map_err(|_| {
        let snippet = String::from_utf8_lossy(&buf[..buf.len().min(120)]).into_owned();
        let msg = format!(
            "{} answered {status} with a body that is not JSON: {}",
            provider.as_str(),
            classify::summarise(&snippet, key)
        );
        ProviderError::new(ErrorKind::BadResponse, Some(status), classify::cap(&msg))
    })
}

/// A stream that broke after it started (the connection dropped, the provider went silent).
pub fn stream_failure(provider: Provider, e: &reqwest::Error, key: &Secret) -> ProviderError {
    let host = e.url().and_then(|u| u.host_str()).unwrap_or("").to_owned();
    classify::transport_error(provider, &host, e, key)
}
