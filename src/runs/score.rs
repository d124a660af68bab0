//! One item's scores: its heuristic ones (CPU, no I/O) and its judge ones through the scheduler, merged in the
//! run's scorer order. Shared by the pipeline and its target stage.

use crate::domain::{text_of, Code, Item, Score, ScoreError};
use crate::judge::{Judge, Prepared, RunCtx};
use crate::scoring::heuristics::ItemView;
use crate::scoring::{Compiled, CompiledScorer};

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
pub async fn judge_item(
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
