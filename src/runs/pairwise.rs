//! Pairwise judging of two runs: for every item the two runs share (matched by item key, as a comparison matches
//! them), the judge is asked which output is better, once with run A's output first and once with run B's first.
//! Only a preference that survives the swap counts (see `scoring::pairwise`); the report is A's win rate with its
//! Wilson 95 % interval, and the losses and ties.

use std::sync::Mutex;

use futures_util::StreamExt;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::model::{text_of, Item, Run, Usage};
use crate::error::{Error, Result};
use crate::judge::{Judge, RunCtx};
use crate::scoring::judge::{self as judge_spec, JudgeSpec};
use crate::scoring::pairwise::{self, Tally};

/// Most item pairs one pairwise request judges (each costs two judge calls); the rest are counted, not judged.
pub const MAX_PAIRWISE_PAIRS: u32 = 500;

/// Pairs judged at once; the judge's lanes bound the calls in flight further.
const PAIRS_AT_ONCE: usize = 16;
/// Room for a preference and a short reason.
const PREFERENCE_MAX_TOKENS: u32 = 400;

/// `POST /v1/runs/{id}/pairwise`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairwiseRequest {
    /// Run B: the run whose outputs the path's run (A) is compared with.
    pub against: String,
    /// The pairwise judge: `{type: "pairwise", config: {rubric, model?, provider?, key_id?}}` or just the config.
    #[schema(value_type = Object)]
    pub scorer: Value,
    /// Judge at most this many matched pairs (1..=MAX_PAIRWISE_PAIRS, default MAX_PAIRWISE_PAIRS), in item order.
    #[serde(default)]
    pub max_pairs: Option<u32>,
    /// Reuse cached verdicts (default true).
    #[serde(default)]
    pub cache: Option<bool>,
}

/// The answer of a pairwise comparison.
#[derive(Serialize, ToSchema)]
pub struct PairwiseReport {
    /// Run A (the path's run).
    pub a: String,
    /// Run B (`against`).
    pub b: String,
    /// Items the two runs share (by item key).
    pub matched: u64,
    #[serde(flatten)]
    pub tally: Tally,
    /// Pairs not judged: a call failed or a reply was unreadable in either order.
    pub errors: u64,
    /// The first such failure, for the reader.
    pub first_error: Option<String>,
    pub usage: Usage,
}

/// The pairwise scorer's config as a judge spec (`pairwise` takes `rubric`, `model`, `provider`, `key_id`).
pub fn spec_of(scorer: &Value) -> Result<JudgeSpec> {
    let config = match scorer.get("type") {
        Some(Value::String(t)) if t == "pairwise" => scorer.get("config").cloned().unwrap_or(Value::Null),
        Some(other) => {
            return Err(Error::field("scorer.type", format!("the scorer type is {other}; use \"pairwise\"")))
        }
        None => scorer.clone(),
    };
    if let Some(map) = config.as_object() {
        if let Some(k) = map.keys().find(|k| !["rubric", "model", "provider", "key_id"].contains(&k.as_str())) {
            return Err(Error::field(
                &format!("scorer.config.{k}"),
                format!("unknown field `{k}`; a pairwise judge takes rubric, model, provider, key_id"),
            ));
        }
    }
    judge_spec::compile("llm_judge", &config)
        .map_err(|(field, message)| Error::field(&format!("scorer.{field}"), message))
}

/// One matched pair: the input, A's output, B's output.
pub struct Pair {
    pub input: String,
    pub a: String,
    pub b: String,
}

/// (pairs matched, the first `limit` of them in A's item order).
pub fn matched_pairs(conn: &Connection, a: &str, b: &str, limit: u32) -> Result<(u64, Vec<Pair>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT ai.item, bi.item FROM run_items ai
         JOIN run_items bi ON bi.run_id = ?2 AND bi.item_key = ai.item_key
         WHERE ai.run_id = ?1 ORDER BY ai.idx",
    )?;
    let mut rows = stmt.query(params![a, b])?;
    let (mut matched, mut pairs) = (0u64, Vec::new());
    while let Some(r) = rows.next()? {
        matched += 1;
        if pairs.len() < limit as usize {
            let (ai, bi): (String, String) = (r.get(0)?, r.get(1)?);
            let ai: Item = serde_json::from_str(&ai).map_err(Error::internal)?;
            let bi: Item = serde_json::from_str(&bi).map_err(Error::internal)?;
            pairs.push(Pair {
                input: text_of(&ai.input).into_owned(),
                a: text_of(&ai.output).into_owned(),
                b: text_of(&bi.output).into_owned(),
            });
        }
    }
    Ok((matched, pairs))
}

/// Judge every pair in both orders. Returns the report and the usage lines to book against run A.
pub async fn judge_pairs(
    judge: &Judge,
    org: &str,
    (a, b): (&Run, &Run),
    spec: JudgeSpec,
    (matched, pairs): (u64, Vec<Pair>),
    use_cache: bool,
) -> Result<(PairwiseReport, Vec<(crate::usage::book::LineKey, crate::usage::book::Line)>)> {
    let (prepared, settings) = judge.prepare(org, &a.id, None, false, std::slice::from_ref(&spec)).await?;
    let prepared = prepared.into_iter().next().ok_or_else(|| Error::internal(anyhow::anyhow!("no judge prepared")))?;
    if let Err(e) = &prepared.target {
        return Err(Error::field("scorer", format!("{}: {}", e.code, e.message)));
    }
    let ctx = RunCtx {
        run_id: a.id.clone(),
        org_id: org.to_string(),
        use_cache,
        cost_limit: settings.cost_limit_usd,
        book: Mutex::new(crate::usage::book::Book::default()),
        unreachable: Mutex::new(Default::default()),
    };
    let rubric = spec.rubric.clone().unwrap_or_default();
    let readable = |t: &str| pairwise::parse_preference(t).map(|_| ());
    let (ctx_ref, prepared_ref, rubric_ref) = (&ctx, &prepared, rubric.as_str());
    let verdicts: Vec<_> = futures_util::stream::iter(pairs.iter())
        .map(|p| async move {
            let (s1, u1) = pairwise::prompts(rubric_ref, &p.input, &p.a, &p.b);
            let (s2, u2) = pairwise::prompts(rubric_ref, &p.input, &p.b, &p.a);
            let (ab, ba) = futures_util::future::join(
                judge.ask(ctx_ref, prepared_ref, s1, u1, None, PREFERENCE_MAX_TOKENS, &readable),
                judge.ask(ctx_ref, prepared_ref, s2, u2, None, PREFERENCE_MAX_TOKENS, &readable),
            )
            .await;
            let read = |r: std::result::Result<String, crate::domain::ScoreError>| {
                r.map_err(|e| format!("{}: {}", e.code, e.message)).and_then(|t| pairwise::parse_preference(&t))
            };
            (read(ab), read(ba))
        })
        .buffered(PAIRS_AT_ONCE)
        .collect()
        .await;
    let mut tally = Tally::default();
    let (mut errors, mut first_error) = (0u64, None);
    for v in verdicts {
        match v {
            (Ok(ab), Ok(ba)) => tally.add(ab, ba),
            (Err(e), _) | (_, Err(e)) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let mut book = ctx.book.into_inner().unwrap_or_else(|p| p.into_inner());
    let lines = book.take_pending();
    let report =
        PairwiseReport { a: a.id.clone(), b: b.id.clone(), matched, tally, errors, first_error, usage: book.total };
    Ok((report, lines))
}
