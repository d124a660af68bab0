//! The per-item steps the pipeline and its target stage ([`super::produce`]) share: an item's heuristic scores,
//! its judge scores, a processor's judge call, and the run's judged and target halves. Apart from the pipeline so
//! the target stage can use them without importing the pipeline that drives it.

use std::sync::Arc;

use super::processor::{Ask, Processed};
use crate::domain::{text_of, Code, Item, Score, ScoreError};
use crate::judge::{Judge, Prepared, RunCtx};
use crate::scoring::heuristics::ItemView;
use crate::scoring::{Compiled, CompiledScorer};

/// The judged half of a run: the scheduler, the run's shared call context and each judge scorer's target.
pub struct Judging {
    pub judge: Arc<Judge>,
    pub ctx: Arc<RunCtx>,
    pub prepared: Arc<Vec<Prepared>>,
}

/// The run's target: items without an output get theirs from it before they are scored (see [`super::produce`]).
pub struct Generating {
    pub judge: Arc<Judge>,
    /// The run's call context: the judging one when the run also judges, so one book and one cost limit hold.
    pub ctx: Arc<RunCtx>,
    pub target: Arc<crate::targets::Prepared>,
}

/// A processor's judge call, through the scheduler, then the processor's finishing step.
pub(super) async fn ask_item(judge: &Judge, ctx: &RunCtx, prepared: &[Prepared], ask: Ask) -> Processed {
    let Ask { system, user, schema, max_tokens, accept, then } = ask;
    let reply = match prepared.first() {
        Some(p) => judge.ask(ctx, p, system, user, Some(schema), max_tokens, &*accept).await,
        None => Err(ScoreError::new(Code::ByokNoKey, "this run has no judge")),
    };
    then(reply)
}

/// Every heuristic score of one item, in scorer order (judge scorers are left out: [`judge_item`] adds them).
pub fn score_item(scorers: &[CompiledScorer], item: &Item) -> Vec<Score> {
    let output = text_of(&item.output);
    let input = text_of(&item.input);
    let view = ItemView {
        input: &input,
        output: &output,
        expected: item.expected.as_ref(),
        expected_exact: item.expected_exact.as_ref().map(|e| e.text()),
        context: &item.context,
    };
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
                    unsure: false,
                    samples: None,
                    error: o
                        .error
                        .map(|e| ScoreError::new(Code::parse(&e.code).unwrap_or(Code::ValidationFailed), e.message)),
                })
            }
            Compiled::Judge(_) => None,
        })
        .collect()
}

/// The item's judge scores merged with its heuristic ones, in the run's scorer order.
pub(super) async fn judge_item(
    judge: &Judge,
    ctx: &RunCtx,
    scorers: &[CompiledScorer],
    prepared: &[Prepared],
    item: &Item,
    heuristic: Vec<Score>,
) -> Vec<Score> {
    let judged = futures_util::future::join_all(
        scorers
            .iter()
            .filter(|s| matches!(s.kind, Compiled::Judge(_)))
            .zip(prepared)
            .map(|(s, p)| judge.score(ctx, &s.name, p, item)),
    )
    .await;
    let (mut heuristic, mut judged) = (heuristic.into_iter(), judged.into_iter());
    scorers
        .iter()
        .filter_map(|s| match s.kind {
            Compiled::Heuristic(_) => heuristic.next(),
            Compiled::Judge(_) => judged.next(),
        })
        .collect()
}
