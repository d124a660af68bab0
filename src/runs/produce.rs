//! The target stage of the run pipeline: an item without an output gets its answer from the run's target, then is
//! scored by the run's scorers exactly as an item that came with one. The answer and what it took are stored in
//! the result's detail (`{"output", "target": {latency_ms, cost_usd, input_tokens, output_tokens, error?}}`), so
//! a resumed run never asks the target again for an item that has its result.

use std::sync::Arc;

use serde_json::{json, Value};

use super::processor::Processed;
use super::score::{judge_item, score_item};
use crate::domain::{Item, Score, ScoreError};
use crate::judge::{Judge, Prepared, RunCtx};
use crate::scoring::CompiledScorer;

/// The run's target: items without an output get theirs from it before they are scored.
pub struct Generating {
    pub judge: Arc<Judge>,
    /// The run's call context: the judging one when the run also judges, so one book and one cost limit hold.
    pub ctx: Arc<RunCtx>,
    pub target: Arc<crate::targets::Prepared>,
}

/// The judged half of a run, as one item's job holds it: the scheduler, the run's context, each judge's target.
pub type JudgeParts = (Arc<Judge>, Arc<RunCtx>, Arc<Vec<Prepared>>);

/// One item's way through the target and the scorers.
pub struct Job {
    judge: Arc<Judge>,
    ctx: Arc<RunCtx>,
    target: Arc<crate::targets::Prepared>,
    judging: Option<JudgeParts>,
    scorers: Arc<Vec<CompiledScorer>>,
}

impl Job {
    pub fn new(g: &Generating, judging: Option<JudgeParts>, scorers: Arc<Vec<CompiledScorer>>) -> Job {
        Job { judge: g.judge.clone(), ctx: g.ctx.clone(), target: g.target.clone(), judging, scorers }
    }

    pub async fn run(self, mut item: Item) -> Processed {
        let produced = crate::targets::produce(&self.judge, &self.ctx, &self.target, &item).await;
        let figures = serde_json::to_value(&produced).unwrap_or(Value::Null);
        let text = match produced.output {
            Ok(text) => text,
            Err(e) => {
                let scores = self.scorers.iter().map(|s| failed(&s.name, &e)).collect();
                return Processed { scores, detail: Some(json!({"target": figures}).to_string()) };
            }
        };
        item.output = Value::String(text.clone());
        let scorers = self.scorers.clone();
        let (item, heuristic) = match tokio::task::spawn_blocking(move || {
            let h = score_item(&scorers, &item);
            (item, h)
        })
        .await
        {
            Ok(done) => done,
            Err(_) => {
                let e = ScoreError::new(crate::domain::Code::Internal, "a scorer panicked");
                let scores = self.scorers.iter().map(|s| failed(&s.name, &e)).collect();
                return Processed { scores, detail: Some(json!({"output": text, "target": figures}).to_string()) };
            }
        };
        let scores = match &self.judging {
            Some((judge, ctx, prepared)) => judge_item(judge, ctx, &self.scorers, prepared, &item, heuristic).await,
            None => heuristic,
        };
        Processed { scores, detail: Some(json!({"output": text, "target": figures}).to_string()) }
    }
}

/// The score of a scorer that never saw the item: the target failed, with the target's code.
fn failed(scorer: &str, e: &ScoreError) -> Score {
    not_scored(scorer, "the target failed", e)
}

/// The score of a scorer that never saw the item, with why and the error's code.
pub(super) fn not_scored(scorer: &str, why: &str, e: &ScoreError) -> Score {
    Score {
        scorer: scorer.to_string(),
        score: 0.0,
        pass: false,
        reason: format!("{why}: {}", e.message),
        unsure: false,
        samples: None,
        error: Some(e.clone()),
    }
}
