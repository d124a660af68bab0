//! The engine's path for runs with model-graded scorers. Items flow through a bounded window (so memory stays
//! flat and other runs get their turn in the judge lanes); each item's heuristics are computed in place and its
//! judge scores go to the scheduler; an item's result is written once all its scores are final, in batches that
//! also carry the usage they cost. On shutdown the window drains (bounded) and the rest resumes at the next start.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use super::engine::{finish, score_item, Active, Source};
use super::model::{Item, Score, Usage};
use super::repo::{self, ResultRow, RunWork};
use super::summary::Aggregator;
use crate::error::{Error, Result};
use crate::judge::{Judge, Prepared, RunCtx};
use crate::scoring::{Compiled, CompiledScorer};
use crate::store::Store;
use crate::usage::book::Book;

/// Items in flight per run: enough to keep a lane at its cap, few enough to stay fair and small.
const WINDOW_PER_SLOT: usize = 3;
/// Results are written when this many are ready, or after FLUSH_EVERY.
const FLUSH_AT: usize = 256;
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How long in-flight judge calls may finish after a shutdown begins.
const DRAIN: Duration = Duration::from_secs(20);

pub(super) struct Job<'a> {
    pub store: &'a Store,
    pub judge: &'a Arc<Judge>,
    pub shutdown: &'a CancellationToken,
    pub run_id: &'a str,
    pub work: &'a RunWork,
    pub scorers: Arc<Vec<CompiledScorer>>,
}

impl Job<'_> {
    pub(super) async fn run(
        self,
        mut source: Source,
        mut agg: Aggregator,
        spent: Usage,
        active: &Active,
    ) -> Result<()> {
        let specs: Vec<_> = self
            .scorers
            .iter()
            .filter_map(|s| match &s.kind {
                Compiled::Judge(j) => Some(j.clone()),
                Compiled::Heuristic(_) => None,
            })
            .collect();
        let spec = &self.work.spec;
        let (prepared, settings) =
            self.judge.prepare(&self.work.org_id, self.run_id, spec.model.as_deref(), spec.request_key, &specs).await?;
        let prepared = Arc::new(prepared);
        let ctx = Arc::new(RunCtx {
            run_id: self.run_id.to_string(),
            org_id: self.work.org_id.clone(),
            use_cache: spec.cache,
            cost_limit: spec.cost_limit_usd.or(settings.cost_limit_usd),
            book: Mutex::new(Book::resumed(spent)),
            unreachable: Mutex::new(Default::default()),
        });
        let window = (self.judge_cap() * WINDOW_PER_SLOT).max(32);
        let mut buffer: std::collections::VecDeque<(u64, Item)> = Default::default();
        let mut exhausted = false;
        let mut inflight = FuturesUnordered::new();
        let mut rows: Vec<ResultRow> = Vec::new();
        let mut last_flush = Instant::now();
        let mut cancelled = false;
        let mut draining_since: Option<Instant> = None;
        loop {
            if active.cancel.is_cancelled() && draining_since.is_none() {
                if self.shutdown.is_cancelled() {
                    draining_since = Some(Instant::now());
                } else {
                    cancelled = true;
                    break;
                }
            }
            while draining_since.is_none() && inflight.len() < window {
                if buffer.is_empty() && !exhausted {
                    match source.next(self.store, self.run_id).await? {
                        Some(batch) => buffer.extend(batch),
                        None => exhausted = true,
                    }
                }
                let Some((idx, item)) = buffer.pop_front() else { break };
                let (scorers, prepared, ctx, judge) =
                    (self.scorers.clone(), prepared.clone(), ctx.clone(), self.judge.clone());
                inflight.push(async move {
                    let scores = score_all(&judge, &ctx, &scorers, &prepared, &item).await;
                    (idx, scores)
                });
            }
            if inflight.is_empty() {
                break;
            }
            let next = tokio::select! {
                r = inflight.next() => r,
                _ = tokio::time::sleep(FLUSH_EVERY) => None,
                _ = active.cancel.cancelled(), if draining_since.is_none() => None,
            };
            if let Some((idx, scores)) = next {
                let outcome = agg.add(&scores);
                rows.push(ResultRow {
                    idx,
                    outcome,
                    scores_json: serde_json::to_string(&scores).map_err(Error::internal)?,
                });
            }
            if rows.len() >= FLUSH_AT || (!rows.is_empty() && last_flush.elapsed() >= FLUSH_EVERY) {
                self.flush(&mut rows, &ctx, active).await?;
                last_flush = Instant::now();
            }
            if draining_since.is_some_and(|t| t.elapsed() > DRAIN) {
                break;
            }
        }
        drop(inflight);
        self.flush(&mut rows, &ctx, active).await?;
        if draining_since.is_some() {
            return Err(Error::Unavailable("shutting down".into()));
        }
        let book =
            std::mem::take(&mut *ctx.book.lock().map_err(|_| Error::internal(anyhow::anyhow!("usage lock poisoned")))?);
        agg.usage = book.total.clone();
        self.audit_key_use(&book).await?;
        finish(self.store, self.run_id, self.work, &agg, cancelled, &active.tx).await
    }

    fn judge_cap(&self) -> usize {
        self.judge.cap()
    }

    async fn flush(&self, rows: &mut Vec<ResultRow>, ctx: &RunCtx, active: &Active) -> Result<()> {
        let pending = ctx.book.lock().map(|mut b| b.take_pending()).unwrap_or_default();
        if rows.is_empty() && pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(rows);
        let (rid, org) = (self.run_id.to_string(), self.work.org_id.clone());
        let done = self.store.write(move |c| repo::insert_results(c, &rid, &batch, Some((&org, &pending)))).await?;
        active.tx.send_modify(|s| s.done = done);
        Ok(())
    }

    /// One audit row per stored key per run (not per call), and the key's last use.
    async fn audit_key_use(&self, book: &Book) -> Result<()> {
        let per_key: Vec<_> = book.per_key.iter().map(|(k, l)| (k.clone(), l.clone())).collect();
        if per_key.is_empty() {
            return Ok(());
        }
        let (org, run) = (self.work.org_id.clone(), self.run_id.to_string());
        self.store
            .write(move |c| {
                let tx = c.transaction()?;
                let now = crate::store::now();
                for (key, l) in &per_key {
                    crate::byok::repo::touch(&tx, key, &now)?;
                    crate::usage::audit::record(
                        &tx,
                        Some(&org),
                        "judge",
                        "byok_key.use",
                        "byok_key",
                        Some(key),
                        serde_json::json!({"run": run, "calls": l.calls, "input_tokens": l.input_tokens, "output_tokens": l.output_tokens, "cost_usd": l.cost_usd, "cache_hits": l.cache_hits}),
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// Every score of one item, in the run's scorer order.
pub async fn score_all(
    judge: &Judge,
    ctx: &RunCtx,
    scorers: &[CompiledScorer],
    prepared: &[Prepared],
    item: &Item,
) -> Vec<Score> {
    let mut heuristic = score_item(scorers, item).into_iter();
    let judged = futures_util::future::join_all(
        scorers
            .iter()
            .filter(|s| matches!(s.kind, Compiled::Judge(_)))
            .zip(prepared)
            .map(|(s, p)| judge.score(ctx, &s.name, p, item)),
    )
    .await;
    let mut judged = judged.into_iter();
    scorers
        .iter()
        .filter_map(|s| match s.kind {
            Compiled::Heuristic(_) => heuristic.next(),
            Compiled::Judge(_) => judged.next(),
        })
        .collect()
}
