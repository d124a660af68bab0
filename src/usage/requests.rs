//! The gateway's request log: one row per gateway call with who, where, what it cost and how long it took. The
//! prompt and the completion are kept only for calls of a project that opted in (`gateway_log_content`), cut to
//! `gateway.log_content_max_bytes` each. Written in batches by the gateway's background writer.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Result;

/// One gateway call.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RequestRow {
    pub id: String,
    pub at: String,
    /// The answer's `x-request-id`.
    pub request_id: String,
    /// The gavel API key that made the call.
    pub api_key_id: String,
    /// From `x-gavel-project`.
    pub project: Option<String>,
    /// `chat.completions`, `messages` or `embeddings`.
    pub endpoint: String,
    /// The provider that served the call (the alias's target that answered).
    pub provider: Option<String>,
    /// The model as the provider names it (`x-gavel-model`).
    pub model: Option<String>,
    /// The `model` the caller asked for: an alias, `provider/model` or a native name, as written (cut to
    /// `MAX_MODEL_NAME_LEN`). Differs from `model` when an alias or prefix was routed; absent on rows logged
    /// before it was recorded and on bodies with no `model`.
    pub requested_model: Option<String>,
    /// `byok` or `managed`.
    pub key_source: Option<String>,
    /// The provider key id (`pk_…`) or `fallback`.
    pub key_ref: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    pub error_code: Option<String>,
    pub stream: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// From the request's arrival to the end of the answer.
    pub latency_ms: u64,
    /// Time spent in gavel itself (everything but waiting for the provider).
    pub overhead_ms: u64,
    /// `hit`, `miss` or `bypass`.
    pub cache: String,
    /// Provider calls made (retries and fallbacks included).
    pub attempts: u32,
    /// The call's text, only for a project that opted in to content logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<LoggedContent>,
}

/// A logged call's text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoggedContent {
    /// The request's messages (chat) or input (embeddings), as JSON text.
    pub prompt: String,
    /// The answer's text and tool-call arguments, as streamed or whole; empty for embeddings.
    pub completion: String,
    /// True when either text was cut to `gateway.log_content_max_bytes`.
    pub truncated: bool,
}

/// Inserts one row (the writer calls this inside its batch transaction).
pub fn insert(conn: &Connection, org_id: &str, r: &RequestRow) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO gateway_requests (id, org_id, at, api_key_id, project, endpoint, provider, model, key_source,
             key_ref, status, error_code, stream, input_tokens, output_tokens, cost_usd, latency_ms, overhead_ms,
             cache, attempts, request_id, content, requested_model)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
                 ?23)",
    )?;
    let content = r.content.as_ref().map(|c| {
        serde_json::json!({"prompt": c.prompt, "completion": c.completion, "truncated": c.truncated}).to_string()
    });
    stmt.execute(params![
        r.id,
        org_id,
        r.at,
        r.api_key_id,
        r.project,
        r.endpoint,
        r.provider,
        r.model,
        r.key_source,
        r.key_ref,
        r.status,
        r.error_code,
        r.stream,
        r.input_tokens as i64,
        r.output_tokens as i64,
        r.cost_usd,
        r.latency_ms as i64,
        r.overhead_ms as i64,
        r.cache,
        r.attempts,
        r.request_id,
        content,
        r.requested_model,
    ])?;
    Ok(())
}

/// Which rows of the request log a page shows; `None` fields do not filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The model, exactly: the served one or the one the caller asked for (an alias matches its calls).
    pub model: Option<String>,
    /// The project (`x-gavel-project`), exactly.
    pub project: Option<String>,
    /// `hit`, `miss` or `bypass`.
    pub cache: Option<String>,
    /// Inclusive range of HTTP statuses.
    pub status: Option<(u16, u16)>,
}

/// The org's request log, newest first, `limit + 1` rows for the page's cursor.
pub fn list(conn: &Connection, org_id: &str, before: Option<&str>, limit: u32, f: &Filter) -> Result<Vec<RequestRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, api_key_id, project, endpoint, provider, model, key_source, key_ref, status, error_code,
                stream, input_tokens, output_tokens, cost_usd, latency_ms, overhead_ms, cache, attempts, request_id,
                content, requested_model
         FROM gateway_requests WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2)
           AND (?4 IS NULL OR model = ?4 OR requested_model = ?4) AND (?5 IS NULL OR project = ?5) AND (?6 IS NULL OR cache = ?6)
           AND (?7 IS NULL OR status BETWEEN ?7 AND ?8)
         ORDER BY id DESC LIMIT ?3",
    )?;
    let (lo, hi) = f.status.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    let rows = stmt
        .query_map(params![org_id, before, limit + 1, f.model, f.project, f.cache, lo, hi], |r| {
            Ok(RequestRow {
                id: r.get(0)?,
                at: r.get(1)?,
                api_key_id: r.get(2)?,
                project: r.get(3)?,
                endpoint: r.get(4)?,
                provider: r.get(5)?,
                model: r.get(6)?,
                requested_model: r.get(21)?,
                key_source: r.get(7)?,
                key_ref: r.get(8)?,
                status: r.get(9)?,
                error_code: r.get(10)?,
                stream: r.get(11)?,
                input_tokens: r.get::<_, i64>(12)? as u64,
                output_tokens: r.get::<_, i64>(13)? as u64,
                cost_usd: r.get(14)?,
                latency_ms: r.get::<_, i64>(15)? as u64,
                overhead_ms: r.get::<_, i64>(16)? as u64,
                cache: r.get(17)?,
                attempts: r.get(18)?,
                request_id: r.get(19)?,
                // A row that cannot be read back as content (it never should) shows none rather than failing the page.
                content: r.get::<_, Option<String>>(20)?.and_then(|t| serde_json::from_str(&t).ok()),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What an API key's gateway calls have cost since `since` (RFC 3339), for its budget.
pub fn spent_since(conn: &Connection, api_key_id: &str, since: &str) -> Result<f64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(cost_usd), 0) FROM gateway_requests WHERE api_key_id = ?1 AND at >= ?2",
        params![api_key_id, since],
        |r| r.get(0),
    )?)
}
