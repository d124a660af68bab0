//! The run engine. A run's items are scored in chunks: heuristics are computed in place on the blocking pool
//! (spread over the cores), and each chunk's results are written in one transaction on the store's writer thread
//! while the next chunk is being scored. Progress is published on a watch channel (SSE, `wait_s`).
//! A run interrupted by a stop or a crash is resumed at the next start from the items that have no result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::model::{text_of, GateSpec, Item, RunStatus, Score, ScoreError, Summary};
use super::repo::{self, ResultRow};
use super::summary::{Aggregator, Outcome};
use crate::error::{Error, Result};
use crate::scoring::heuristics::ItemView;
use crate::scoring::{compile, Compiled, CompiledScorer};
use crate::store::{now, Store};

/// Items scored and written per batch.
pub const CHUNK: usize = 8192;

/// What watchers of a run see.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub status: RunStatus,
    pub done: u64,
    pub total: u64,
    pub summary: Option<Summary>,
}

pub(super) struct Active {
    pub(super) tx: watch::Sender<Snapshot>,
    pub(super) cancel: CancellationToken,
}

/// Owns the runs in progress.
pub struct RunManager {
    store: Store,
    judge: Arc<crate::judge::Judge>,
    rt: tokio::runtime::Handle,
    active: Mutex<HashMap<String, Arc<Active>>>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl RunManager {
    /// `rt` is where run tasks live, so they do not ride on whichever HTTP worker accepted the run.
    pub fn new(
        store: Store,
        judge: Arc<crate::judge::Judge>,
        rt: tokio::runtime::Handle,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self { store, judge, rt, active: Mutex::new(HashMap::new()), shutdown, tracker: TaskTracker::new() })
    }

    /// The judge scheduler runs use.
    pub fn judge(&self) -> &Arc<crate::judge::Judge> {
        &self.judge
    }

    /// Start (or resume) a run. `items` are the run's items when the caller still has them in memory.
    pub fn start(self: &Arc<Self>, run_id: String, total: u64, items: Option<Vec<Item>>) -> watch::Receiver<Snapshot> {
        let (tx, rx) = watch::channel(Snapshot { status: RunStatus::Queued, done: 0, total, summary: None });
        let active = Arc::new(Active { tx, cancel: self.shutdown.child_token() });
        if let Ok(mut map) = self.active.lock() {
            map.insert(run_id.clone(), active.clone());
        }
        let me = self.clone();
        self.tracker.spawn_on(
            async move {
                let result = me.execute(&run_id, items, &active).await;
                if let Err(e) = result {
                    if me.shutdown.is_cancelled() {
                        tracing::info!(run = %run_id, "run paused by shutdown; it resumes at the next start");
                    } else {
                        tracing::error!(run = %run_id, error = %e, "run failed");
                        let msg = e.to_string();
                        let id = run_id.clone();
                        let _ = me
                            .store
                            .write(move |c| repo::finish_run(c, &id, RunStatus::Failed, None, Some(&msg), &now()))
                            .await;
                        active.tx.send_modify(|s| s.status = RunStatus::Failed);
                    }
                }
                if !me.shutdown.is_cancelled() {
                    me.judge.release_request_key(&run_id);
                }
                if let Ok(mut map) = me.active.lock() {
                    map.remove(&run_id);
                }
            },
            &self.rt,
        );
        rx
    }

    /// Follow a run that is in progress here.
    pub fn subscribe(&self, run_id: &str) -> Option<watch::Receiver<Snapshot>> {
        self.active.lock().ok()?.get(run_id).map(|a| a.tx.subscribe())
    }

    /// Ask a run in progress to stop after its current chunk.
    pub fn cancel(&self, run_id: &str) {
        if let Some(a) = self.active.lock().ok().and_then(|m| m.get(run_id).cloned()) {
            a.cancel.cancel();
        }
    }

    /// Resume every run left queued or running by the previous process.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<usize> {
        let ids = self.store.read(repo::unfinished_runs).await?;
        for id in &ids {
            let rid = id.clone();
            let total = self.store.read(move |c| repo::run_work(c, &rid).map(|w| w.total)).await?;
            tracing::info!(run = %id, "resuming an unfinished run");
            self.start(id.clone(), total, None);
        }
        Ok(ids.len())
    }

    /// Stop taking new work and wait (bounded) for runs to reach a chunk boundary.
    pub async fn shutdown(&self, within: std::time::Duration) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(within, self.tracker.wait()).await.is_err() {
            tracing::warn!("runs did not pause within {within:?}; they resume at the next start");
        }
    }

    async fn execute(&self, run_id: &str, items: Option<Vec<Item>>, active: &Active) -> Result<()> {
        let rid = run_id.to_string();
        let work = self.store.read(move |c| repo::run_work(c, &rid)).await?;
        let scorers: Vec<CompiledScorer> =
            work.spec.scorers.iter().map(|s| compile(s, "")).collect::<Result<Vec<_>>>()?;
        let scorers = Arc::new(scorers);
        let mut agg = Aggregator::new(work.spec.scorers.iter().map(|s| s.name.clone()).collect());
        let rid = run_id.to_string();
        self.store.write(move |c| repo::mark_running(c, &rid, &now())).await?;
        if items.is_none() {
            let rid = run_id.to_string();
            let base = agg;
            agg = self
                .store
                .read(move |c| {
                    let mut a = base;
                    repo::stored_scores(c, &rid, |scores| {
                        a.add(&scores);
                    })?;
                    Ok(a)
                })
                .await?;
        }
        active.tx.send_modify(|s| {
            s.status = RunStatus::Running;
            s.done = agg.done();
        });

        let source = Source::new(items);
        if scorers.iter().any(|s| matches!(s.kind, Compiled::Judge(_))) {
            let rid = run_id.to_string();
            let spent = self.store.read(move |c| crate::usage::repo::run_total(c, &rid)).await?;
            let job = super::judged::Job {
                store: &self.store,
                judge: &self.judge,
                shutdown: &self.shutdown,
                run_id,
                work: &work,
                scorers,
            };
            return job.run(source, agg, spent, active).await;
        }
        let mut source = source;
        let mut pending_write: Option<tokio::task::JoinHandle<Result<u64>>> = None;
        let mut cancelled = false;
        let started = std::time::Instant::now();
        let (mut score_time, mut write_wait) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        loop {
            if active.cancel.is_cancelled() {
                if self.shutdown.is_cancelled() {
                    if let Some(w) = pending_write.take() {
                        let _ = w.await;
                    }
                    return Err(Error::Unavailable("shutting down".into()));
                }
                cancelled = true;
                break;
            }
            let Some(batch) = source.next(&self.store, run_id).await? else { break };
            let s = scorers.clone();
            let t = std::time::Instant::now();
            let scored = crate::telemetry::spawn_blocking_in_span(move || score_batch(&s, &batch))
                .await
                .map_err(Error::internal)??;
            score_time += t.elapsed();
            let mut rows = Vec::with_capacity(scored.len());
            for (idx, scores, json) in scored {
                let outcome = agg.add(&scores);
                rows.push(ResultRow { idx, outcome, scores_json: json });
            }
            if let Some(w) = pending_write.take() {
                let t = std::time::Instant::now();
                let done = w.await.map_err(Error::internal)??;
                write_wait += t.elapsed();
                active.tx.send_modify(|s| s.done = done);
            }
            let (store, rid) = (self.store.clone(), run_id.to_string());
            pending_write =
                Some(tokio::spawn(
                    async move { store.write(move |c| repo::insert_results(c, &rid, &rows, None)).await },
                ));
        }
        if let Some(w) = pending_write.take() {
            let t = std::time::Instant::now();
            let done = w.await.map_err(Error::internal)??;
            write_wait += t.elapsed();
            active.tx.send_modify(|s| s.done = done);
        }
        tracing::debug!(
            run = %run_id,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            score_ms = score_time.as_secs_f64() * 1e3,
            write_wait_ms = write_wait.as_secs_f64() * 1e3,
            "run scored"
        );
        finish(&self.store, run_id, &work, &agg, cancelled, &active.tx).await
    }
}

/// Where a run's next items come from: memory for a fresh run, the store for a resumed one.
pub(super) enum Source {
    Memory { items: Vec<Item>, next: usize },
    Store { after: Option<u64> },
}

impl Source {
    fn new(items: Option<Vec<Item>>) -> Self {
        match items {
            Some(items) => Source::Memory { items, next: 0 },
            None => Source::Store { after: None },
        }
    }

    pub(super) async fn next(&mut self, store: &Store, run_id: &str) -> Result<Option<Vec<(u64, Item)>>> {
        match self {
            Source::Memory { items, next } => {
                if *next >= items.len() {
                    return Ok(None);
                }
                let end = (*next + CHUNK).min(items.len());
                let batch: Vec<(u64, Item)> =
                    (*next..end).map(|i| (i as u64, std::mem::replace(&mut items[i], Item::placeholder()))).collect();
                *next = end;
                Ok(Some(batch))
            }
            Source::Store { after } => {
                let (rid, a) = (run_id.to_string(), *after);
                let batch = store.read(move |c| repo::pending_items(c, &rid, a, CHUNK as u32)).await?;
                if batch.is_empty() {
                    return Ok(None);
                }
                *after = batch.last().map(|(i, _)| *i);
                Ok(Some(batch))
            }
        }
    }
}

/// Score one item with every heuristic scorer (judge scorers are left out: the judge path adds them).
pub fn score_item(scorers: &[CompiledScorer], item: &Item) -> Vec<Score> {
    let output = text_of(&item.output);
    let input = text_of(&item.input);
    let view = ItemView { input: &input, output: &output, expected: item.expected.as_ref(), context: &item.context };
    scorers
        .iter()
        .filter_map(|s| match &s.kind {
            Compiled::Heuristic(h) => {
                let o = h.score(&view);
                Some(Score {
                    scorer: s.name.clone(),
                    score: o.score,
                    pass: o.pass,
                    reason: o.reason,
                    error: o.error.map(|e| ScoreError { code: e.code, message: e.message }),
                })
            }
            Compiled::Judge(_) => None,
        })
        .collect()
}

/// Score a batch across the available cores; returns (index, scores, scores as JSON) in item order.
fn score_batch(scorers: &[CompiledScorer], batch: &[(u64, Item)]) -> Result<Vec<(u64, Vec<Score>, String)>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let per = batch.len().div_ceil(threads).max(1);
    let work = |part: &[(u64, Item)]| -> Result<Vec<(u64, Vec<Score>, String)>> {
        part.iter()
            .map(|(i, item)| {
                let scores = score_item(scorers, item);
                let json = serde_json::to_string(&scores).map_err(Error::internal)?;
                Ok((*i, scores, json))
            })
            .collect()
    };
    if threads == 1 || batch.len() < 256 {
        return work(batch);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = batch.chunks(per).map(|part| scope.spawn(move || work(part))).collect();
        let mut out = Vec::with_capacity(batch.len());
        for h in handles {
            out.extend(h.join().map_err(|_| Error::internal(anyhow::anyhow!("a scorer panicked")))??);
        }
        Ok(out)
    })
}

/// Put a run in its final state and tell its watchers.
pub(super) async fn finish(
    store: &Store,
    run_id: &str,
    work: &repo::RunWork,
    agg: &Aggregator,
    cancelled: bool,
    active_tx: &watch::Sender<Snapshot>,
) -> Result<()> {
    let status = if cancelled { RunStatus::Cancelled } else { RunStatus::Completed };
    let summary = agg.finish(work.total, &work.spec.gate, status);
    let (rid, sum) = (run_id.to_string(), summary.clone());
    store.write(move |c| repo::finish_run(c, &rid, status, Some(&sum), None, &now())).await?;
    tracing::info!(run = %run_id, status = status.as_str(), pass_rate = summary.pass_rate, "run finished");
    active_tx.send_modify(|s| {
        s.status = status;
        s.done = agg.done();
        s.summary = Some(summary);
    });
    Ok(())
}

/// Run a whole evaluation in memory with the same scoring and summary code, for `gavel eval --local`.
pub fn run_local(
    scorers: &[CompiledScorer],
    items: Vec<Item>,
    gate: &GateSpec,
) -> Result<(Summary, Vec<super::model::ItemResult>)> {
    let names = scorers.iter().map(|s| s.name.clone()).collect();
    let mut agg = Aggregator::new(names);
    let total = items.len() as u64;
    let mut results = Vec::with_capacity(items.len());
    let batch: Vec<(u64, Item)> = items.into_iter().enumerate().map(|(i, it)| (i as u64, it)).collect();
    let scored = score_batch(scorers, &batch)?;
    for ((idx, scores, _), (_, item)) in scored.into_iter().zip(batch) {
        let outcome = agg.add(&scores);
        results.push(super::model::ItemResult {
            index: idx,
            item,
            passed: outcome == Outcome::Passed,
            errored: outcome == Outcome::Errored,
            scores,
        });
    }
    Ok((agg.finish(total, gate, RunStatus::Completed), results))
}
