//! The one run pipeline, used by the server and by `gavel eval --local` alike.
//!
//! Items come in batches (from memory for a fresh run, from the sink for a resumed one). Each batch's heuristic
//! scores are computed on the blocking pool, spread over the cores. Items with model-graded scorers then wait in a
//! bounded window for their verdicts from the judge scheduler (so memory stays flat and other runs get their turn
//! in the lanes); the others are finished at once. A heuristic run writes one scored batch at a time, each write
//! overlapping the scoring of the next batch. A judged item is a paid answer: it runs as a task of its own that hands
//! its result to the run's [`Durable`] writer the moment it is scored (group commit), so a kill -9 loses only the
//! calls truly in flight, never answers waiting for the loop or for a batch to fill.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::durable::Durable;
use super::inline::Encoded;
use super::parallel::par_map;
use super::processor::{ItemProcessor, Processed, Stage};
use super::repo::ResultRow;
use super::sink::{Finished, Sink};
use super::stage::{ask_item, judge_item};
pub use super::stage::{score_item, Generating, Judging};
use super::summary::Aggregator;
use crate::domain::{Code, Item, Score, ScoreError};
use crate::error::{Error, Result};
use crate::judge::{Judge, RunCtx};
use crate::scoring::{Compiled, CompiledScorer};

/// Items read and heuristically scored per batch.
pub const CHUNK: usize = 8192;
/// Judged items in flight per lane slot: enough to keep a lane at its cap, few enough to stay fair and small.
const WINDOW_PER_SLOT: usize = 3;
/// The usage of calls whose items are not finished yet (retries, samples) is written at least this often.
const USAGE_EVERY: Duration = Duration::from_millis(100);
/// How long in-flight judge calls may finish after a shutdown begins.
const DRAIN: Duration = Duration::from_secs(20);

/// Where the items come from.
pub enum Source {
    /// A fresh run's items, still in memory.
    Memory { items: Vec<Item>, next: usize },
    /// A fresh run's items in memory as their stored text, parsed back a batch at a time (see [`super::inline`]).
    Encoded { items: Vec<Encoded>, next: usize },
    /// A resumed run: the sink's items without a result.
    Pending { after: Option<u64> },
}

impl Source {
    pub fn new(items: Option<Vec<Item>>) -> Self {
        match items {
            Some(items) => Source::Memory { items, next: 0 },
            None => Source::Pending { after: None },
        }
    }

    async fn next(&mut self, sink: &dyn Sink) -> Result<Option<Vec<(u64, Item)>>> {
        match self {
            Source::Memory { items, next } => {
                if *next >= items.len() {
                    return Ok(None);
                }
                let end = (*next + CHUNK).min(items.len());
                let batch =
                    (*next..end).map(|i| (i as u64, std::mem::replace(&mut items[i], Item::placeholder()))).collect();
                *next = end;
                Ok(Some(batch))
            }
            Source::Encoded { items, next } => {
                if *next >= items.len() {
                    return Ok(None);
                }
                let end = (*next + CHUNK).min(items.len());
                // Taken out of the list, so its memory goes as the run proceeds.
                let texts: Vec<(u64, Encoded)> = (*next..end)
                    .map(|i| {
                        let empty = Encoded { text: Box::from(""), key: None };
                        (i as u64, std::mem::replace(&mut items[i], empty))
                    })
                    .collect();
                *next = end;
                let decoded = crate::telemetry::spawn_blocking_in_span(move || {
                    par_map(texts, |(i, e)| e.decode().map(|item| (i, item)))
                })
                .await
                .map_err(Error::internal)??;
                Ok(Some(decoded.into_iter().collect::<Result<Vec<_>>>()?))
            }
            Source::Pending { after } => {
                let batch = sink.pending(*after, CHUNK as u32).await?;
                *after = match batch.last() {
                    Some((i, _)) => Some(*i),
                    None => return Ok(None),
                };
                Ok(Some(batch))
            }
        }
    }
}

/// How the pipeline ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every item has its result.
    Done,
    /// Cancelled by the user: the results so far stay.
    Cancelled,
    /// Stopped by a shutdown: the rest resumes at the next start.
    Paused,
}

/// What drives one run through the pipeline.
pub struct Pipeline<'a> {
    pub scorers: Arc<Vec<CompiledScorer>>,
    /// Another run kind's per-item work, called instead of the scorers (see [`super::processor`]).
    pub processor: Option<Arc<dyn ItemProcessor>>,
    pub judging: Option<Judging>,
    /// The run's target, when it produces its outputs.
    pub target: Option<Generating>,
    pub sink: Arc<dyn Sink>,
    /// The user's cancel (also cancelled by a shutdown).
    pub cancel: &'a CancellationToken,
    /// The process is stopping.
    pub shutdown: &'a CancellationToken,
    /// Told how many items are done after every write.
    pub progress: &'a (dyn Fn(u64) + Send + Sync),
}

impl Pipeline<'_> {
    /// Run the items of `source` through, adding each finished item to `agg`.
    pub async fn drive(&self, mut source: Source, agg: &mut Aggregator) -> Result<Ended> {
        let judge = self.judging.as_ref().map(|j| &j.judge).or(self.target.as_ref().map(|g| &g.judge));
        let window = judge.map(|j| (j.cap() * WINDOW_PER_SLOT).max(32));
        let mut buffer: VecDeque<(u64, Item)> = VecDeque::new();
        let mut exhausted = false;
        // A judged item's task answers its scores (for the summary) once its result is on its way to the store.
        let mut inflight: FuturesUnordered<BoxFuture<'static, Result<Option<Vec<Score>>>>> = FuturesUnordered::new();
        let durable = Durable::start(self.sink.clone(), self.ctx().cloned());
        let mut ready: Vec<Finished> = Vec::new();
        let mut writing: Option<tokio::task::JoinHandle<Result<u64>>> = None;
        let mut last_flush = Instant::now();
        let mut draining: Option<Instant> = None;
        let mut ended = Ended::Done;
        let mut reported = 0u64;
        loop {
            if self.cancel.is_cancelled() && draining.is_none() {
                if !self.shutdown.is_cancelled() {
                    ended = Ended::Cancelled;
                    break;
                }
                ended = Ended::Paused;
                if window.is_none() {
                    break;
                }
                // Let the calls already paid for finish (bounded), start no new item.
                draining = Some(Instant::now());
            }
            // Take in work: a judged run keeps its window full, a heuristic run scores one batch per write.
            while draining.is_none() {
                let room = match window {
                    Some(w) => w.saturating_sub(inflight.len()),
                    None if ready.is_empty() => CHUNK,
                    None => 0,
                };
                if room == 0 {
                    break;
                }
                if buffer.is_empty() {
                    if exhausted {
                        break;
                    }
                    match source.next(self.sink.as_ref()).await? {
                        Some(batch) => buffer.extend(batch),
                        None => {
                            exhausted = true;
                            break;
                        }
                    }
                }
                let mut take: Vec<(u64, Item)> = buffer.drain(..room.min(buffer.len())).collect();
                // An item's time runs from here (taken up) to its last score: what `elapsed_ms` reports.
                let taken = Instant::now();
                if self.target.is_none() && self.processor.is_none() {
                    // A stored dataset may hold items waiting for a target's output; without one they are errors.
                    let (missing, rest): (Vec<_>, Vec<_>) = take.into_iter().partition(|(_, it)| it.output.is_null());
                    take = rest;
                    let e = ScoreError::new(Code::ValidationFailed, "the item has no output and the run no target");
                    for (idx, _) in missing {
                        let scores = self
                            .scorers
                            .iter()
                            .map(|s| super::produce::not_scored(&s.name, "not scored", &e))
                            .collect();
                        ready.push(finished(agg, idx, Processed { scores, detail: None }, Duration::ZERO)?);
                    }
                }
                if let Some(g) = &self.target {
                    // Items without an output are sent to the target first, then scored in the same future.
                    let (send, keep): (Vec<_>, Vec<_>) = take.into_iter().partition(|(_, it)| it.output.is_null());
                    take = keep;
                    for (idx, item) in send {
                        let job = super::produce::Job::new(g, self.judging.as_ref(), self.scorers.clone())
                            .with_processor(self.processor.clone());
                        let work = async move { (idx, job.run(item).await, taken.elapsed()) }.boxed();
                        inflight.push(self.land(&durable, work));
                    }
                }
                let (scorers, processor) = (self.scorers.clone(), self.processor.clone());
                let judged = self.judging.is_some();
                let staged =
                    crate::telemetry::spawn_blocking_in_span(move || stage_batch(&scorers, processor, judged, take))
                        .await
                        .map_err(Error::internal)??;
                for (idx, work, staged_in) in staged {
                    match (work, &self.judging) {
                        (Work::Finished(f), _) => {
                            agg.add(&f.scores);
                            ready.push(f);
                        }
                        (Work::Heuristic(item, heuristic), Some(j)) => {
                            let (judge, ctx, prepared, scorers) =
                                (j.judge.clone(), j.ctx.clone(), j.prepared.clone(), self.scorers.clone());
                            let work = async move {
                                let scores = judge_item(&judge, &ctx, &scorers, &prepared, &item, heuristic).await;
                                (idx, Processed { scores, detail: None }, taken.elapsed())
                            };
                            inflight.push(self.land(&durable, work.boxed()));
                        }
                        (Work::Heuristic(_, scores), None) => {
                            ready.push(finished(agg, idx, Processed { scores, detail: None }, staged_in)?)
                        }
                        (Work::Staged(Stage::Done(p)), _) => ready.push(finished(agg, idx, p, staged_in)?),
                        (Work::Staged(Stage::Ask(ask)), Some(j)) => {
                            let (judge, ctx, prepared) = (j.judge.clone(), j.ctx.clone(), j.prepared.clone());
                            let work =
                                async move { (idx, ask_item(&judge, &ctx, &prepared, ask).await, taken.elapsed()) };
                            inflight.push(self.land(&durable, work.boxed()));
                        }
                        (Work::Staged(Stage::Ask(ask)), None) => {
                            let none = ScoreError::new(Code::ByokNoKey, "this run has no judge");
                            ready.push(finished(agg, idx, (ask.then)(Err(none)), staged_in)?)
                        }
                    }
                }
                if window.is_none() {
                    break;
                }
            }
            if !inflight.is_empty() {
                let next = tokio::select! {
                    r = inflight.next() => r,
                    _ = tokio::time::sleep_until(last_flush + USAGE_EVERY) => None,
                    _ = self.cancel.cancelled(), if draining.is_none() => None,
                };
                if let Some(Some(scores)) = next.transpose()? {
                    agg.add(&scores);
                }
            }
            if window.is_some() {
                // Judged: the writer takes the few free items at once too, and the usage of calls whose items are
                // not finished yet (retries, samples) every `USAGE_EVERY`.
                let usage_due = last_flush.elapsed() >= USAGE_EVERY && self.has_usage();
                if !ready.is_empty() || usage_due {
                    durable.sender().send(std::mem::take(&mut ready)).ok();
                    last_flush = Instant::now();
                }
                if durable.stopped() {
                    break;
                }
                if durable.done() > reported {
                    reported = durable.done();
                    (self.progress)(reported);
                }
            } else if !ready.is_empty() {
                self.flush(&mut writing, std::mem::take(&mut ready)).await?;
                last_flush = Instant::now();
            }
            let idle = inflight.is_empty() && ready.is_empty();
            if idle && (draining.is_some() || (buffer.is_empty() && exhausted)) {
                break;
            }
            if draining.is_some_and(|t| t.elapsed() > DRAIN) {
                break;
            }
        }
        // Unfinished judged items are dropped (their tasks aborted): they keep no result and are asked again.
        drop(inflight);
        if !ready.is_empty() && window.is_some() {
            durable.sender().send(std::mem::take(&mut ready)).ok();
        }
        let done = durable.finish().await?;
        if window.is_some() {
            (self.progress)(done);
        }
        self.flush(&mut writing, ready).await?;
        if let Some(w) = writing.take() {
            (self.progress)(w.await.map_err(Error::internal)??);
        }
        Ok(ended)
    }

    /// A judged item's work as a task of its own: once scored, its result goes straight to the writer (whatever the
    /// loop is doing), and the task answers the scores for the summary. A call refused because the process is
    /// stopping is no verdict: the item keeps no result and is judged at the next start. Dropping the returned
    /// future aborts the task.
    fn land(
        &self,
        durable: &Durable,
        work: BoxFuture<'static, (u64, Processed, Duration)>,
    ) -> BoxFuture<'static, Result<Option<Vec<Score>>>> {
        let (tx, shutdown) = (durable.sender(), self.shutdown.clone());
        let task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            let (idx, processed, elapsed) = work.await;
            let refused = shutdown.is_cancelled()
                && processed.scores.iter().any(|s| s.error.as_ref().is_some_and(|e| e.code == Code::Unavailable));
            if refused {
                return Ok(None);
            }
            let f = row(idx, processed, elapsed)?;
            let scores = f.scores.clone();
            tx.send(vec![f]).ok();
            Ok(Some(scores))
        }));
        async move { task.await.map_err(Error::internal)? }.boxed()
    }

    /// The run's call context (its usage book): the judging one, else the target's.
    fn ctx(&self) -> Option<&Arc<RunCtx>> {
        self.judging.as_ref().map(|j| &j.ctx).or(self.target.as_ref().map(|g| &g.ctx))
    }

    fn has_usage(&self) -> bool {
        self.ctx().is_some_and(|c| c.book.lock().map(|b| b.has_pending()).unwrap_or(false))
    }

    /// Wait for the previous write, then start this one (so at most one write is outstanding).
    async fn flush(
        &self,
        writing: &mut Option<tokio::task::JoinHandle<Result<u64>>>,
        batch: Vec<Finished>,
    ) -> Result<()> {
        let usage = match self.ctx() {
            Some(c) => c.book.lock().map(|mut b| b.take_pending()).unwrap_or_default(),
            None => Vec::new(),
        };
        if let Some(w) = writing.take() {
            (self.progress)(w.await.map_err(Error::internal)??);
        }
        if batch.is_empty() && usage.is_empty() {
            return Ok(());
        }
        *writing = Some(tokio::spawn(self.sink.write(batch, usage)));
        Ok(())
    }
}

fn finished(agg: &mut Aggregator, idx: u64, processed: Processed, elapsed: Duration) -> Result<Finished> {
    agg.add(&processed.scores);
    row(idx, processed, elapsed)
}

/// An item's result row (the summary's share is [`Aggregator::add`]'s, done apart for a judged item's task).
fn row(idx: u64, processed: Processed, elapsed: Duration) -> Result<Finished> {
    let Processed { scores, detail } = processed;
    let outcome = super::summary::Outcome::of(&scores);
    let scores_json = serde_json::to_string(&scores).map_err(Error::internal)?;
    let verdicts = super::repo::verdict_signature(&scores);
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    Ok(Finished { row: ResultRow { idx, outcome, scores_json, verdicts, detail, elapsed_ms }, scores })
}

/// An item after the blocking stage: heuristic scores of an `eval` run, or a processor's stage; or, when nothing is
/// left to ask, its finished result row (encoded there, on the blocking pool, not on the run's loop).
enum Work {
    Heuristic(Item, Vec<Score>),
    Staged(Stage),
    Finished(Finished),
}

/// The blocking stage of a batch: the processor's when the run has one, else the heuristic scorers.
/// `judged`: the run has model-graded scorers, so heuristic scores still wait for the judge's.
fn stage_batch(
    scorers: &[CompiledScorer],
    processor: Option<Arc<dyn ItemProcessor>>,
    judged: bool,
    batch: Vec<(u64, Item)>,
) -> Result<Vec<(u64, Work, Duration)>> {
    let staged = match processor {
        Some(p) => par_map(batch, |(i, item)| {
            let t = Instant::now();
            match p.process(&item) {
                Stage::Done(processed) => {
                    let elapsed = t.elapsed();
                    row(i, processed, elapsed).map(|f| (i, Work::Finished(f), elapsed))
                }
                ask => Ok((i, Work::Staged(ask), t.elapsed())),
            }
        }),
        None => par_map(batch, |(i, item)| {
            let t = Instant::now();
            let scores = score_item(scorers, &item);
            if judged {
                return Ok((i, Work::Heuristic(item, scores), t.elapsed()));
            }
            let elapsed = t.elapsed();
            row(i, Processed { scores, detail: None }, elapsed).map(|f| (i, Work::Finished(f), elapsed))
        }),
    }?;
    staged.into_iter().collect()
}

/// What a run asks of the judge, as its spec records it.
pub struct JudgeRequest<'a> {
    pub org_id: &'a str,
    pub run_id: &'a str,
    pub model: Option<&'a str>,
    /// The run came with its own `provider_key` (held in memory only).
    pub had_request_key: bool,
    pub use_cache: bool,
    pub cost_limit_usd: Option<f64>,
    /// What a resumed run had already spent.
    pub spent: crate::domain::Usage,
}

/// The judged half of a run, ready to drive: each judge scorer's key and model resolved once.
/// `None` when the run has no model-graded scorer.
pub async fn prepare_judging(
    judge: &Arc<Judge>,
    scorers: &[CompiledScorer],
    r: JudgeRequest<'_>,
) -> Result<Option<Judging>> {
    let specs: Vec<_> = scorers
        .iter()
        .filter_map(|s| match &s.kind {
            Compiled::Judge(j) => Some(j.clone()),
            Compiled::Heuristic(_) => None,
        })
        .collect();
    prepare_specs(judge, specs, r).await
}

/// The judged half of a run for these judge specs (a run kind's own, or a run's judge scorers).
pub async fn prepare_specs(
    judge: &Arc<Judge>,
    specs: Vec<crate::scoring::judge::JudgeSpec>,
    r: JudgeRequest<'_>,
) -> Result<Option<Judging>> {
    if specs.is_empty() {
        return Ok(None);
    }
    let (prepared, settings) = judge.prepare(r.org_id, r.run_id, r.model, r.had_request_key, &specs).await?;
    let ctx = RunCtx {
        run_id: r.run_id.to_string(),
        org_id: r.org_id.to_string(),
        use_cache: r.use_cache,
        cost_limit: r.cost_limit_usd.or(settings.cost_limit_usd),
        book: Mutex::new(crate::usage::book::Book::resumed(r.spent)),
        unreachable: Mutex::new(Default::default()),
    };
    Ok(Some(Judging { judge: judge.clone(), ctx: Arc::new(ctx), prepared: Arc::new(prepared) }))
}
