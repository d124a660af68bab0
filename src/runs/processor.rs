//! The per-item processor seam of the run pipeline. An `eval` run scores items with its scorers; the other run
//! kinds (failure analysis, security audit) hand the pipeline an [`ItemProcessor`] instead, and the pipeline calls
//! it in the same place: the deterministic part on the blocking pool, then, when the processor asks for one, one
//! judge call through the run's judge scheduler (its lanes, retries, cache and usage book), then the processor's
//! own finishing step. So every kind shares one loop, one sink and one durability story.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::domain::{Item, Score, ScoreError};
use crate::judge::{Judge, Prepared, RunCtx};

/// What one item produced: its scores (they decide the item's outcome and the eval-style summary figures) and
/// the kind's own detail as JSON (`{"analysis": …}`, `{"findings": …}`), stored with the result.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    pub scores: Vec<Score>,
    pub detail: Option<String>,
}

/// Checks a judge reply's text before it is accepted (and cached): `Err` is `JUDGE_UNPARSEABLE`.
pub type AcceptReply = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;
/// Turns the judge's reply (or why there is none) into the item's result.
pub type FinishItem = Box<dyn FnOnce(Result<String, ScoreError>) -> Processed + Send>;

/// One judge call a processor asks for.
pub struct Ask {
    pub system: String,
    pub user: String,
    /// JSON schema of the reply, for providers with structured output.
    pub schema: Value,
    /// Most output tokens the reply may take.
    pub max_tokens: u32,
    pub accept: AcceptReply,
    pub then: FinishItem,
}

/// The deterministic stage's answer for one item.
pub enum Stage {
    /// Decided without a judge.
    Done(Processed),
    /// Needs one judge call.
    Ask(Ask),
}

/// The run's judge scheduler, context and prepared judges.
pub type JudgeParts = (Arc<Judge>, Arc<RunCtx>, Arc<Vec<Prepared>>);

/// What a processor that drives an item's target calls itself gets (see [`ItemProcessor::converse`]): the
/// run's scheduler and call context (one usage book, one cost limit), its target, its judge, and the processor.
pub struct Converse {
    pub judge: Arc<Judge>,
    pub ctx: Arc<RunCtx>,
    pub target: Arc<crate::targets::Prepared>,
    /// The run's judge scheduler, context and prepared judges, when the run judges.
    pub judging: Option<JudgeParts>,
    /// The processor itself, to decide each answer as the ordinary path would.
    pub processor: Arc<dyn ItemProcessor>,
}

/// A run kind's per-item work. `process` runs on the blocking pool (CPU work, no I/O).
pub trait ItemProcessor: Send + Sync {
    fn process(&self, item: &Item) -> Stage;

    /// A run with a target: the target gave no answer for `item` (its code says why, `COST_LIMIT_EXCEEDED` when
    /// the run's cost limit stopped it). The default is one errored score named `target`.
    fn target_failed(&self, _item: &Item, e: &ScoreError) -> Processed {
        Processed {
            scores: vec![Score {
                scorer: "target".to_owned(),
                score: 0.0,
                pass: false,
                reason: format!("the target failed: {}", e.message),
                unsure: false,
                samples: None,
                error: Some(e.clone()),
            }],
            detail: None,
        }
    }

    /// What is stored of a target's answer once the processor has seen it. The default keeps it whole; a kind
    /// whose answers may be leaks (the red team) masks what must not be kept.
    fn stored_output(&self, output: String) -> String {
        output
    }

    /// An item whose target calls the processor drives itself (the red team's attacker model and multi-turn
    /// attempts): the future answers the item's whole result, its detail carrying `output` and `target` as the
    /// target stage's would. `None` (the default): one target call, then [`ItemProcessor::process`].
    fn converse(&self, _item: &Item, _with: Converse) -> Option<BoxFuture<'static, Processed>> {
        None
    }
}
