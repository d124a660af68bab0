//! Usage rows: one per (org, run, provider, model, key, day), added to as calls happen.

use rusqlite::{params, Connection};
use serde::Serialize;
use utoipa::ToSchema;

use super::book::{Line, LineKey};
use crate::domain::Usage;
use crate::error::Result;

/// Add a batch of usage deltas.
pub fn add(conn: &Connection, org: &str, run: &str, lines: &[(LineKey, Line)]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO usage (org_id, run_id, provider, model, key_ref, day, calls, input_tokens, output_tokens, cost_usd, cache_hits, price_known, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (org_id, run_id, source, provider, model, key_ref, day) DO UPDATE SET
             calls = calls + excluded.calls, input_tokens = input_tokens + excluded.input_tokens,
             output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd,
             cache_hits = cache_hits + excluded.cache_hits, price_known = min(price_known, excluded.price_known)",
    )?;
    for ((provider, model, key), l) in lines {
        stmt.execute(params![
            org,
            run,
            provider,
            model,
            key,
            day,
            l.calls as i64,
            l.input_tokens as i64,
            l.output_tokens as i64,
            l.cost_usd,
            l.cache_hits as i64,
            l.price_known,
            l.source.as_str()
        ])?;
    }
    Ok(())
}

/// The `run_id` of gateway usage rows: gateway calls belong to no run, and no run id looks like this.
pub const GATEWAY_RUN: &str = "gateway";

/// Add one gateway call (or cache hit) to the org's usage, with source `gateway`.
pub fn add_gateway(conn: &Connection, org: &str, key: &LineKey, l: &Line) -> Result<()> {
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO usage (org_id, run_id, provider, model, key_ref, day, calls, input_tokens, output_tokens, cost_usd, cache_hits, price_known, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'gateway')
         ON CONFLICT (org_id, run_id, source, provider, model, key_ref, day) DO UPDATE SET
             calls = calls + excluded.calls, input_tokens = input_tokens + excluded.input_tokens,
             output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd,
             cache_hits = cache_hits + excluded.cache_hits, price_known = min(price_known, excluded.price_known)",
    )?;
    stmt.execute(params![
        org,
        GATEWAY_RUN,
        key.0,
        key.1,
        key.2,
        day,
        l.calls as i64,
        l.input_tokens as i64,
        l.output_tokens as i64,
        l.cost_usd,
        l.cache_hits as i64,
        l.price_known
    ])?;
    Ok(())
}

/// What a run has spent so far (to resume its totals).
pub fn run_total(conn: &Connection, run: &str) -> Result<Usage> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(calls), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
                coalesce(sum(cost_usd), 0), coalesce(sum(cache_hits), 0) FROM usage WHERE run_id = ?1",
        [run],
        |r| {
            Ok(Usage {
                calls: r.get::<_, i64>(0)? as u64,
                input_tokens: r.get::<_, i64>(1)? as u64,
                output_tokens: r.get::<_, i64>(2)? as u64,
                cost_usd: r.get(3)?,
                cache_hits: r.get::<_, i64>(4)? as u64,
            })
        },
    )?)
}

/// One row of the usage report.
#[derive(Serialize, ToSchema)]
pub struct UsageRow {
    /// `judge` (runs' scorers), `target` (runs producing their outputs) or `gateway`.
    pub source: String,
    pub provider: String,
    pub model: String,
    /// A provider key id, `request` (a run's own key) or `fallback`.
    pub key_id: String,
    pub key_name: Option<String>,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub cache_hits: u64,
    /// False when some calls used a model with no known price (counted at 0).
    pub price_known: bool,
}

/// One day of the usage report.
#[derive(Serialize, ToSchema)]
pub struct DayRow {
    pub day: String,
    pub provider: String,
    pub model: String,
    pub key_id: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub cache_hits: u64,
}

/// Totals by provider, model and key between two days (inclusive), and the same by day.
pub fn report(conn: &Connection, org: &str, from: &str, to: &str) -> Result<(Vec<UsageRow>, Vec<DayRow>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.provider, u.model, u.key_ref, k.name, sum(u.calls), sum(u.input_tokens), sum(u.output_tokens),
                sum(u.cost_usd), sum(u.cache_hits), min(u.price_known), u.source
         FROM usage u LEFT JOIN provider_keys k ON k.id = u.key_ref
         WHERE u.org_id = ?1 AND u.day >= ?2 AND u.day <= ?3
         GROUP BY u.source, u.provider, u.model, u.key_ref ORDER BY sum(u.cost_usd) DESC, u.source, u.provider, u.model",
    )?;
    let rows = stmt
        .query_map(params![org, from, to], |r| {
            Ok(UsageRow {
                source: r.get(10)?,
                provider: r.get(0)?,
                model: r.get(1)?,
                key_id: r.get(2)?,
                key_name: r.get(3)?,
                calls: r.get::<_, i64>(4)? as u64,
                input_tokens: r.get::<_, i64>(5)? as u64,
                output_tokens: r.get::<_, i64>(6)? as u64,
                cost_usd: r.get(7)?,
                cache_hits: r.get::<_, i64>(8)? as u64,
                price_known: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT day, provider, model, key_ref, sum(calls), sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(cache_hits)
         FROM usage WHERE org_id = ?1 AND day >= ?2 AND day <= ?3
         GROUP BY day, provider, model, key_ref ORDER BY day, provider, model",
    )?;
    let days = stmt
        .query_map(params![org, from, to], |r| {
            Ok(DayRow {
                day: r.get(0)?,
                provider: r.get(1)?,
                model: r.get(2)?,
                key_id: r.get(3)?,
                calls: r.get::<_, i64>(4)? as u64,
                input_tokens: r.get::<_, i64>(5)? as u64,
                output_tokens: r.get::<_, i64>(6)? as u64,
                cost_usd: r.get(7)?,
                cache_hits: r.get::<_, i64>(8)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, days))
}
