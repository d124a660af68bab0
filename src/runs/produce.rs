//! The target stage of the run pipeline: an item without an output gets its answer from the run's target, then is
//! scored by the run's scorers exactly as an item that came with one. The answer and what it took are stored in
//! the result's detail (`{"output", "target": {latency_ms, cost_usd, input_tokens, output_tokens, error?}}`), so
//! a resumed run never asks the target again for an item that has its result.

use std::sync::Arc;

use serde_json::{json, Value};

use super::processor::{ItemProcessor, Processed, Stage};
use super::stage::{judge_item, score_item, Generating, Judging};
use crate::domain::{Item, Score, ScoreError};
use crate::judge::{Judge, Prepared, RunCtx};
use crate::scoring::CompiledScorer;

/// The judged half of a run, as one item's job holds it: the scheduler, the run's context, each judge's target.
type JudgeParts = (Arc<Judge>, Arc<RunCtx>, Arc<Vec<Prepared>>);

/// One item's way through the target and the scorers.
pub struct Job {
    judge: Arc<Judge>,
    ctx: Arc<RunCtx>,
    target: Arc<crate::targets::Prepared>,
    judging: Option<JudgeParts>,
    scorers: Arc<Vec<CompiledScorer>>,
    /// A run kind's processor (the red team): it, not the scorers, looks at the answer.
    processor: Option<Arc<dyn ItemProcessor>>,
}

impl Job {
    pub fn new(g: &Generating, judging: Option<&Judging>, scorers: Arc<Vec<CompiledScorer>>) -> Job {
        Job {
            judge: g.judge.clone(),
            ctx: g.ctx.clone(),
            target: g.target.clone(),
            judging: judging.map(|j| (j.judge.clone(), j.ctx.clone(), j.prepared.clone())),
            scorers,
            processor: None,
        }
    }

    /// The answer goes to this run kind's processor instead of the scorers.
    pub fn with_processor(mut self, processor: Option<Arc<dyn ItemProcessor>>) -> Job {
        self.processor = processor;
        self
    }

    pub async fn run(self, mut item: Item) -> Processed {
        if let Some(p) = self.processor.clone() {
            let with = super::processor::Converse {
                judge: self.judge.clone(),
                ctx: self.ctx.clone(),
                target: self.target.clone(),
                judging: self.judging.clone(),
                processor: p.clone(),
            };
            if let Some(conversation) = p.converse(&item, with) {
                return conversation.await;
            }
        }
        let produced = crate::targets::produce(&self.judge, &self.ctx, &self.target, &item).await;
        let figures = serde_json::to_value(&produced).unwrap_or(Value::Null);
        if let Some(p) = self.processor.clone() {
            return self.processed(p, item, produced.output, figures).await;
        }
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

impl Job {
    /// A run kind's way: the processor's deterministic stage on the blocking pool, then its one judge call when it
    /// asks for one; the answer and the target figures join the kind's detail.
    async fn processed(
        self,
        p: Arc<dyn ItemProcessor>,
        mut item: Item,
        output: Result<String, ScoreError>,
        figures: Value,
    ) -> Processed {
        let text = match output {
            Ok(text) => text,
            Err(e) => return with_figures(p.target_failed(&item, &e), None, figures),
        };
        item.output = Value::String(text.clone());
        let keep = p.clone();
        let staged = tokio::task::spawn_blocking(move || p.process(&item)).await;
        let processed = match staged {
            Ok(Stage::Done(done)) => done,
            Ok(Stage::Ask(ask)) => match &self.judging {
                Some((judge, ctx, prepared)) => super::stage::ask_item(judge, ctx, prepared, ask).await,
                None => (ask.then)(Err(ScoreError::new(crate::domain::Code::ByokNoKey, "this run has no judge"))),
            },
            Err(_) => {
                let e = ScoreError::new(crate::domain::Code::Internal, "the item's processor panicked");
                Processed { scores: vec![failed("target", &e)], detail: None }
            }
        };
        with_figures(processed, Some(keep.stored_output(text)), figures)
    }
}

/// A kind's detail with the produced answer and the target figures added (read back by [`split`]).
pub(super) fn with_figures(mut p: Processed, output: Option<String>, figures: Value) -> Processed {
    let mut detail = match p.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(o) = output {
        detail.insert("output".to_owned(), Value::String(o));
    }
    detail.insert("target".to_owned(), figures);
    p.detail = Some(Value::Object(detail).to_string());
    p
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

/// A stored detail's produced output and target figures, for the result row: `(output, target)`.
pub fn split(detail: Option<&str>) -> (Option<Value>, Option<Value>) {
    let Some(Value::Object(mut m)) = detail.and_then(|d| serde_json::from_str::<Value>(d).ok()) else {
        return (None, None);
    };
    (m.remove("output"), m.remove("target"))
}
