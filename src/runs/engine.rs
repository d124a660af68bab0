//! The run manager: admits runs (at most `runs.max_active` executing at once in the process and
//! `runs.max_active_per_org` per org; the others wait as `queued`), executes each on the runs runtime through the
//! [pipeline](super::pipeline), publishes progress on a watch channel (SSE, `wait_s`), and resumes at start-up the
//! runs a stop or a crash interrupted, from the items that have no result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::inline::Encoded;
use super::model::{GateSpec, Item, ItemResult, RunStatus, Summary};
use super::pipeline::{prepare_judging, Ended, JudgeRequest, Pipeline, Source};
use super::repo;
use super::sink::{MemorySink, StoreSink};
use super::summary::{Aggregator, Outcome};
use crate::config::RunsConfig;
use crate::error::{Error, Result};
use crate::judge::Judge;
use crate::scoring::heuristics::HeuristicLimits;
use crate::scoring::{compile, CompiledScorer};
use crate::store::{now, Store};

/// What watchers of a run see.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub status: RunStatus,
    pub done: u64,
    pub total: u64,
    pub summary: Option<Summary>,
}

struct Active {
    tx: watch::Sender<Snapshot>,
    cancel: CancellationToken,
}

/// Owns the runs in progress.
pub struct RunManager {
    store: Store,
    judge: Arc<Judge>,
    rt: tokio::runtime::Handle,
    active: Mutex<HashMap<String, Arc<Active>>>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    global: Arc<Semaphore>,
    per_org: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_org_limit: usize,
    max_active: usize,
    /// HTTP targets' headers, held for their runs (never stored).
    vault: Arc<crate::targets::Vault>,
    target_max_tokens: u32,
    /// `runs.max_levenshtein_cells`, for runs compiled again when they start.
    max_levenshtein_cells: u64,
}

impl RunManager {
    /// `rt` is the runtime run tasks live on, so they neither ride on an HTTP worker nor share one thread.
    pub fn new(
        store: Store,
        judge: Arc<Judge>,
        rt: tokio::runtime::Handle,
        limits: &RunsConfig,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            judge,
            rt,
            active: Mutex::new(HashMap::new()),
            shutdown,
            tracker: TaskTracker::new(),
            global: Arc::new(Semaphore::new(limits.max_active)),
            per_org: Mutex::new(HashMap::new()),
            per_org_limit: limits.max_active_per_org,
            max_active: limits.max_active,
            vault: Arc::new(crate::targets::Vault::default()),
            target_max_tokens: limits.target_max_tokens,
            max_levenshtein_cells: limits.max_levenshtein_cells,
        })
    }

    /// The judge scheduler runs use.
    pub fn judge(&self) -> &Arc<Judge> {
        &self.judge
    }

    /// Where HTTP targets' headers are held while their runs go.
    pub fn vault(&self) -> &Arc<crate::targets::Vault> {
        &self.vault
    }

    /// Runs executing now (not queued), in the whole process.
    pub fn executing(&self) -> usize {
        self.max_active.saturating_sub(self.global.available_permits())
    }

    fn org_gate(&self, org: &str) -> Arc<Semaphore> {
        let mut m = match self.per_org.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        m.entry(org.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.per_org_limit))).clone()
    }

    /// Both admission permits, waiting as long as it takes (or until shutdown/cancel).
    async fn admit(
        &self,
        org: &str,
        cancel: &CancellationToken,
    ) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let org_gate = self.org_gate(org);
        tokio::select! {
            p = async {
                let o = org_gate.acquire_owned().await.ok()?;
                let g = self.global.clone().acquire_owned().await.ok()?;
                Some((o, g))
            } => p,
            _ = cancel.cancelled() => None,
        }
    }

    /// Start (or resume) a run. `items` are the run's items when the caller still has them in memory.
    pub fn start(
        self: &Arc<Self>,
        run_id: String,
        total: u64,
        items: Option<Vec<Encoded>>,
    ) -> watch::Receiver<Snapshot> {
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
                        let (msg, id) = (e.to_string(), run_id.clone());
                        let saved = me
                            .store
                            .write(move |c| repo::finish_run(c, &id, RunStatus::Failed, None, Some(&msg), &now()))
                            .await;
                        if let Err(e) = saved {
                            tracing::error!(run = %run_id, error = %e, "could not record the run's failure");
                        }
                        active.tx.send_modify(|s| s.status = RunStatus::Failed);
                    }
                }
                if !me.shutdown.is_cancelled() {
                    me.judge.release_request_key(&run_id);
                    me.vault.release(&run_id);
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

    /// Ask a run in progress (or waiting for admission) to stop.
    pub fn cancel(&self, run_id: &str) {
        if let Some(a) = self.active.lock().ok().and_then(|m| m.get(run_id).cloned()) {
            a.cancel.cancel();
        }
    }

    /// Resume every run left queued or running by the previous process.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<usize> {
        let dropped = self.store.write(|c| repo::drop_unaccepted(c)).await?;
        if dropped > 0 {
            tracing::info!(
                runs = dropped,
                "removed runs whose acceptance was interrupted (no client was told of them)"
            );
        }
        let ids = self.store.read(repo::unfinished_runs).await?;
        for id in &ids {
            let rid = id.clone();
            let total = self.store.read(move |c| repo::run_work(c, &rid).map(|w| w.total)).await?;
            tracing::info!(run = %id, "resuming an unfinished run");
            self.start(id.clone(), total, None);
        }
        Ok(ids.len())
    }

    /// Begin stopping at once (a signal): no new item or provider call starts; runs pause after their drain.
    pub fn begin_shutdown(&self) {
        self.judge.stop_new_calls();
        self.shutdown.cancel();
    }

    /// Stop taking new work and wait (bounded) for runs to pause.
    pub async fn shutdown(&self, within: std::time::Duration) {
        self.begin_shutdown();
        self.tracker.close();
        if tokio::time::timeout(within, self.tracker.wait()).await.is_err() {
            tracing::warn!("runs did not pause within {within:?}; they resume at the next start");
        }
    }

    async fn execute(&self, run_id: &str, items: Option<Vec<Encoded>>, active: &Active) -> Result<()> {
        let rid = run_id.to_string();
        let work = self.store.read(move |c| repo::run_work(c, &rid)).await?;
        let Some(_permits) = self.admit(&work.org_id, &active.cancel).await else {
            if self.shutdown.is_cancelled() {
                return Err(Error::Unavailable("shutting down".into()));
            }
            // Cancelled while queued: it still gets its summary (nothing scored), as any cancelled run does.
            let none = Aggregator::new(work.spec.scorers.iter().map(|s| s.name.clone()).collect());
            return finish(&self.store, run_id, &work, &none, true, &active.tx).await;
        };
        // The schema was measured when the run was accepted; the edit-distance bound is per item, so today's.
        let limits = HeuristicLimits { max_levenshtein_cells: self.max_levenshtein_cells, ..HeuristicLimits::ACCEPTED };
        let scorers: Vec<CompiledScorer> =
            work.spec.scorers.iter().map(|s| compile(s, "", &limits)).collect::<Result<Vec<_>>>()?;
        let mut agg = Aggregator::new(work.spec.scorers.iter().map(|s| s.name.clone()).collect());
        let rid = run_id.to_string();
        self.store.write(move |c| repo::mark_running(c, &rid, &now())).await?;
        if items.is_none() {
            let (rid, base) = (run_id.to_string(), agg);
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
        let rid = run_id.to_string();
        let spent = self.store.read(move |c| crate::usage::repo::run_total(c, &rid)).await?;
        let spec = &work.spec;
        let request = JudgeRequest {
            org_id: &work.org_id,
            run_id,
            model: spec.model.as_deref(),
            had_request_key: spec.request_key,
            use_cache: spec.cache,
            cost_limit_usd: spec.cost_limit_usd,
            spent: spent.clone(),
        };
        let judging = match &spec.task {
            None => prepare_judging(&self.judge, &scorers, request).await?,
            Some(task) => super::kinds::prepare_judging(&self.judge, task, request).await?,
        };
        let processor = spec.task.as_ref().map(|t| t.processor(judging.is_some())).transpose()?;
        let target = match &spec.target {
            Some(t) => Some(self.prepare_target(t, &work, run_id, judging.as_ref(), spent.clone()).await?),
            None => None,
        };
        let ctx = judging.as_ref().map(|j| j.ctx.clone()).or(target.as_ref().map(|g| g.ctx.clone()));
        let sink =
            Arc::new(StoreSink { store: self.store.clone(), run_id: run_id.to_string(), org_id: work.org_id.clone() });
        let progress = |done: u64| active.tx.send_modify(|s| s.done = done);
        let pipeline = Pipeline {
            scorers: Arc::new(scorers),
            processor,
            judging,
            target,
            sink,
            cancel: &active.cancel,
            shutdown: &self.shutdown,
            progress: &progress,
        };
        let started = std::time::Instant::now();
        let source = match items {
            Some(items) => Source::Encoded { items, next: 0 },
            None => Source::new(None),
        };
        let ended = pipeline.drive(source, &mut agg).await?;
        tracing::debug!(run = %run_id, total_ms = started.elapsed().as_secs_f64() * 1e3, ?ended, "run driven");
        if ended == Ended::Paused {
            return Err(Error::Unavailable("shutting down".into()));
        }
        if let Some(ctx) = ctx {
            let book = std::mem::take(
                &mut *ctx.book.lock().map_err(|_| Error::internal(anyhow::anyhow!("usage lock poisoned")))?,
            );
            agg.usage = book.total.clone();
            audit_key_use(&self.store, &work.org_id, run_id, &book).await?;
        }
        finish(&self.store, run_id, &work, &agg, ended == Ended::Cancelled, &active.tx).await
    }
}

impl RunManager {
    /// The run's target, ready: sharing the judging call context when the run judges (one usage book, one cost
    /// limit), else with a context of its own.
    async fn prepare_target(
        &self,
        spec: &crate::targets::TargetSpec,
        work: &repo::RunWork,
        run_id: &str,
        judging: Option<&super::pipeline::Judging>,
        spent: crate::domain::Usage,
    ) -> Result<super::stage::Generating> {
        let request = crate::targets::Request {
            org_id: &work.org_id,
            run_id,
            had_request_key: work.spec.request_key,
            default_max_tokens: self.target_max_tokens,
        };
        let (prepared, org_limit) = crate::targets::prepare(&self.judge, &self.vault, spec, request).await?;
        let ctx = match judging {
            Some(j) => j.ctx.clone(),
            None => Arc::new(crate::judge::RunCtx {
                run_id: run_id.to_string(),
                org_id: work.org_id.clone(),
                use_cache: work.spec.cache,
                cost_limit: work.spec.cost_limit_usd.or(org_limit),
                book: Mutex::new(crate::usage::book::Book::resumed(spent)),
                unreachable: Mutex::new(Default::default()),
            }),
        };
        Ok(super::stage::Generating { judge: self.judge.clone(), ctx, target: Arc::new(prepared) })
    }
}

/// One audit row per stored key per run (not per call), and the key's last use.
async fn audit_key_use(store: &Store, org: &str, run: &str, book: &crate::usage::book::Book) -> Result<()> {
    let per_key: Vec<_> = book.per_key.iter().map(|(k, l)| (k.clone(), l.clone())).collect();
    if per_key.is_empty() {
        return Ok(());
    }
    let (org, run) = (org.to_string(), run.to_string());
    store
        .write(move |c| {
            let tx = c.transaction()?;
            let now = now();
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

/// Put a run in its final state and tell its watchers.
async fn finish(
    store: &Store,
    run_id: &str,
    work: &repo::RunWork,
    agg: &Aggregator,
    cancelled: bool,
    active_tx: &watch::Sender<Snapshot>,
) -> Result<()> {
    let status = if cancelled { RunStatus::Cancelled } else { RunStatus::Completed };
    let mut summary = agg.finish(work.total, &work.spec.gate, status);
    if let Some(task) = &work.spec.task {
        super::kinds::finish(store, run_id, &work.org_id, task, status, &mut summary).await?;
    }
    let (base, no_regression) = (work.spec.identity.baseline_id.as_deref(), work.spec.gate.no_regression);
    super::baseline::apply(store, &work.org_id, base, no_regression, &mut summary).await?;
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

/// Run a whole evaluation in memory through the same pipeline, for `gavel eval --local`: nothing is written.
/// `judging` is the judged half when the scorers include model-graded ones.
pub async fn run_local(
    scorers: Vec<CompiledScorer>,
    items: Vec<Item>,
    gate: &GateSpec,
    judging: Option<super::pipeline::Judging>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<(Summary, Vec<ItemResult>)> {
    let names = scorers.iter().map(|s| s.name.clone()).collect();
    let total = items.len() as u64;
    let (agg, results) = drive_local(scorers, None, names, items, judging, progress).await?;
    Ok((agg.finish(total, gate, RunStatus::Completed), results))
}

/// The items through the pipeline in memory (scorers, or another kind's `processor` named by `names`), for the
/// `--local` commands: the aggregate (its usage included) and the result rows with their kind's detail.
pub async fn drive_local(
    scorers: Vec<CompiledScorer>,
    processor: Option<Arc<dyn super::processor::ItemProcessor>>,
    names: Vec<String>,
    items: Vec<Item>,
    judging: Option<super::pipeline::Judging>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<(Aggregator, Vec<ItemResult>)> {
    let mut agg = Aggregator::new(names);
    let sink = MemorySink::default();
    let (never, none) = (CancellationToken::new(), CancellationToken::new());
    let ctx = judging.as_ref().map(|j| j.ctx.clone());
    let pipeline = Pipeline {
        scorers: Arc::new(scorers),
        processor,
        judging,
        target: None,
        sink: Arc::new(sink.clone()),
        cancel: &never,
        shutdown: &none,
        progress,
    };
    pipeline.drive(Source::new(Some(items.clone())), &mut agg).await?;
    if let Some(ctx) = ctx {
        agg.usage = ctx.book.lock().map(|b| b.total.clone()).unwrap_or_default();
    }
    let results = sink
        .take()
        .into_iter()
        .zip(items)
        .map(|((index, scores, elapsed_ms, detail), item)| {
            let o = Outcome::of(&scores);
            let (analysis, findings) = super::task::split_detail(detail.as_deref());
            ItemResult {
                index,
                item,
                passed: o == Outcome::Passed,
                errored: o == Outcome::Errored,
                scores,
                target: None,
                analysis,
                findings,
                elapsed_ms: Some(elapsed_ms),
                attempt: None,
            }
        })
        .collect();
    Ok((agg, results))
}
