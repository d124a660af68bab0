//! Accepting a run of any kind: store it with its items (in batches, so the writer is never held for long), open
//! it for the engine, start it, and answer 202 at once or 200 with the finished run within `wait_s`. Shared by
//! `POST …/runs`, `POST …/failure-analysis` and `POST …/security/audit`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::http::auth::Caller;
use crate::http::AppState;
use crate::judge::keys::RequestKey;
use crate::runs::inline::Inline;
use crate::runs::model::Run;
use crate::runs::repo::{self, RunSpec};
use crate::store::{new_id, now};
use crate::usage::audit;

/// Longest a client may hold a run request open with `wait_s`.
pub const MAX_WAIT_S: f64 = 3600.0;

/// A run to accept.
pub struct Submission {
    pub project_id: String,
    pub spec: RunSpec,
    /// Inline items (encoded: see [`crate::runs::inline`]), or `None` with `dataset_id`.
    pub items: Option<Inline>,
    /// A stored dataset's id or name.
    pub dataset_id: Option<String>,
    pub provider_key: Option<RequestKey>,
    /// An HTTP target's headers, held in memory for the run.
    pub target_headers: crate::targets::Headers,
    pub wait_s: Option<f64>,
    /// The audit log's action (`run.create`, …) and what it records besides the project and the item count.
    pub action: &'static str,
    pub audit: Value,
}

/// Items a kind of run built itself, encoded for [`Submission::items`] (on the blocking pool: CPU work).
pub async fn encode_items(items: Option<Vec<crate::domain::Item>>) -> Result<Option<Inline>> {
    match items {
        None => Ok(None),
        Some(items) => crate::telemetry::spawn_blocking_in_span(move || Inline::encode(&items).map(Some))
            .await
            .map_err(Error::internal)?,
    }
}

/// `wait_s` within 0..=[`MAX_WAIT_S`].
pub fn validate_wait(wait_s: Option<f64>) -> Result<()> {
    match wait_s {
        Some(w) if !(0.0..=MAX_WAIT_S).contains(&w) => {
            Err(Error::field("wait_s", format!("wait_s must be between 0 and {MAX_WAIT_S} (MAX_WAIT_S)")))
        }
        _ => Ok(()),
    }
}

/// Refuses a submission now (400 `BYOK_NO_KEY`, the message starting with `who`) when `spec` — a judge or the
/// red team's attacker — has no usable key in the org, instead of every item erroring `BYOK_NO_KEY` once the run
/// is under way. The rule is the run's own ([`crate::judge::Judge::prepare`]): the spec's `key_id` (which must be
/// one of the org's keys), else the org's default key for the provider, else the server's key, as the org's
/// `provider_mode` allows. A key that exists but is marked failing is not refused here (the run reports it).
pub async fn require_key(
    state: &web::Data<AppState>,
    org_id: &str,
    run_model: Option<&str>,
    spec: crate::scoring::judge::JudgeSpec,
    who: &str,
) -> Result<()> {
    let (prepared, _) = state.runs.judge().prepare(org_id, "", run_model, false, std::slice::from_ref(&spec)).await?;
    match prepared.first().map(|p| &p.target) {
        Some(Err(e)) if e.code == crate::domain::Code::ByokNoKey => {
            Err(Error::Coded { code: e.code, message: format!("{who}: {}", e.message) })
        }
        _ => Ok(()),
    }
}

/// A request's own provider key: its secret and connection fields, errors naming `provider_key.FIELD`.
pub async fn validate_provider_key(k: &RequestKey, policy: &crate::providers::DestinationPolicy) -> Result<()> {
    crate::byok::model::validate_secret(&k.key)
        .map_err(|_| Error::field("provider_key.key", "provider_key.key must be 1-4096 characters without spaces"))?;
    let conn = crate::byok::model::Connection {
        base_url: k.base_url.clone(),
        endpoint: k.endpoint.clone(),
        deployment: k.deployment.clone(),
        api_version: k.api_version.clone(),
        default_model: k.default_model.clone(),
    };
    conn.validate(k.provider).map_err(|e| match e {
        Error::Validation { message, details } => {
            let f = details["field"].as_str().unwrap_or("").to_string();
            Error::field(&format!("provider_key.{f}"), message)
        }
        other => other,
    })?;
    crate::byok::destination::check(policy, &conn, &["base_url", "endpoint"], "provider_key.").await
}

/// The 202 answer.
pub fn accepted(run: &Run) -> HttpResponse {
    HttpResponse::Accepted().json(json!({
        "id": run.id,
        "status": run.status,
        "status_url": format!("/v1/runs/{}", run.id),
        "progress": run.progress,
    }))
}

/// See the module documentation.
pub async fn accept(state: &web::Data<AppState>, c: &Caller, sub: Submission) -> Result<HttpResponse> {
    let wait_s = sub.wait_s;
    let (run_id, mut rx) = submit(state, c, sub).await?;
    if let Some(w) = wait_s.filter(|w| *w > 0.0) {
        tokio::time::timeout(Duration::try_from_secs_f64(w).unwrap_or_default(), rx.wait_for(|s| s.status.is_final()))
            .await
            .ok();
    }
    let (org, rid) = (c.org_id.clone(), run_id.clone());
    let run = state.store.read(move |conn| repo::get_run(conn, &org, &rid)).await?;
    if run.status.is_final() {
        Ok(HttpResponse::Ok().json(run))
    } else {
        Ok(accepted(&run))
    }
}

/// Store a run with its items, open it and start it; answers its id and its progress channel.
pub async fn submit(
    state: &web::Data<AppState>,
    c: &Caller,
    sub: Submission,
) -> Result<(String, tokio::sync::watch::Receiver<crate::runs::engine::Snapshot>)> {
    let Submission {
        project_id,
        spec,
        items,
        dataset_id,
        provider_key,
        target_headers,
        wait_s: _,
        action,
        audit: details,
    } = sub;
    let run_id = new_id("run");
    let (rid, org, pid) = (run_id.clone(), c.org_id.clone(), project_id.clone());
    let n_inline = items.as_ref().map_or(0, Inline::len);
    let (total, ds) = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let ds = match &dataset_id {
                Some(d) => Some(repo::find_dataset(&tx, &pid, d)?.id),
                None => None,
            };
            let total = repo::insert_run(&tx, &rid, &org, &pid, &spec, n_inline, ds.as_deref(), &now())?;
            tx.commit()?;
            Ok((total, ds))
        })
        .await?;
    // Items go in batches, each its own transaction, so other writers get the writer between them; the run is
    // opened for the engine (and announced) only once every item is stored. Inline items come encoded (their
    // JSON text, made while the body was read), so the writer only writes.
    let started = std::time::Instant::now();
    let items = items.map(|i| Arc::new(i.items));
    for from in (0..total as usize).step_by(repo::ACCEPT_BATCH) {
        let (rid, items, ds) = (run_id.clone(), items.clone(), ds.clone());
        state
            .store
            .write(move |conn| {
                let n = repo::ACCEPT_BATCH.min(total as usize - from);
                let batch = match (&items, &ds) {
                    (Some(v), _) => repo::ItemBatch::Encoded { items: &v[from..(from + n).min(v.len())], from },
                    (None, Some(d)) => repo::ItemBatch::Dataset { id: d, from, n },
                    (None, None) => {
                        return Err(Error::internal(anyhow::anyhow!("a run with neither items nor dataset")))
                    }
                };
                repo::insert_run_items(conn, &rid, batch)
            })
            .await?;
    }
    tracing::debug!(run = %run_id, items = total, ms = started.elapsed().as_secs_f64() * 1e3, "run items stored");
    let (rid, org, actor) = (run_id.clone(), c.org_id.clone(), c.actor());
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            repo::open_run(&tx, &rid)?;
            let mut d = json!({"project": project_id, "items": total});
            if let (Some(d), Value::Object(extra)) = (d.as_object_mut(), details) {
                d.extend(extra);
            }
            audit::record(&tx, Some(&org), &actor, action, "run", Some(&rid), d)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    let items = match items {
        // Every write is done with its share of the list, so it is ours alone again.
        Some(a) => Some(Arc::try_unwrap(a).map_err(|_| Error::internal(anyhow::anyhow!("run items still shared")))?),
        None => None,
    };
    if let Some(k) = provider_key {
        state.runs.judge().hold_request_key(&run_id, k);
    }
    if !target_headers.is_empty() {
        state.runs.vault().hold(&run_id, target_headers);
    }
    let rx = state.runs.start(run_id.clone(), total, items);
    Ok((run_id, rx))
}
