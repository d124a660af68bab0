//! What a scorer says about an item, and what provider calls cost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Code;

/// One scorer's verdict on one item.
///
/// A judge that took several samples and split on them is `unsure`: on the wire `pass` is then `null`. In the code
/// `pass` stays a plain bool that is `false` for an unsure score, so every count that asks "did it pass?" (the item
/// outcome, pass rates, gates) treats an unsure verdict as not passed without knowing about it: never a silent pass.
#[derive(Clone, Debug, PartialEq, ToSchema)]
pub struct Score {
    pub scorer: String,
    pub score: f64,
    /// `null` when `unsure`.
    #[schema(value_type = Option<bool>)]
    pub pass: bool,
    pub reason: String,
    /// The judge's samples split (see `samples`): neither a pass nor a fail. Absent when false.
    #[schema(value_type = Option<bool>)]
    pub unsure: bool,
    /// A judge scorer's repeated verdicts (`samples: k` in its config, k > 1).
    #[schema(nullable = false)]
    pub samples: Option<Samples>,
    pub error: Option<ScoreError>,
}

/// What k verdicts of one judge on one item said.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Samples {
    /// Verdicts taken (k separate judge calls).
    pub k: u32,
    /// Verdicts that passed.
    pub passes: u32,
    /// Share of the verdicts agreeing with the majority (0.5..1; 0.5 is a tie).
    pub agreement: f64,
}

impl Score {
    /// A definite verdict (not unsure, one sample).
    pub fn new(scorer: impl Into<String>, score: f64, pass: bool, reason: impl Into<String>) -> Self {
        Score { scorer: scorer.into(), score, pass, reason: reason.into(), unsure: false, samples: None, error: None }
    }

    /// Passed, fail or unsure as one word (reasons, CLI tables).
    pub fn verdict_word(&self) -> &'static str {
        match (&self.error, self.unsure, self.pass) {
            (Some(_), _, _) => "error",
            (None, true, _) => "unsure",
            (None, false, true) => "pass",
            (None, false, false) => "fail",
        }
    }
}

/// The wire form of a score: `pass` is `null` when unsure.
#[derive(Serialize, Deserialize)]
struct ScoreWire<'a> {
    #[serde(borrow)]
    scorer: std::borrow::Cow<'a, str>,
    score: f64,
    pass: Option<bool>,
    #[serde(borrow)]
    reason: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unsure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    samples: Option<Samples>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ScoreError>,
}

impl Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ScoreWire {
            scorer: std::borrow::Cow::Borrowed(&self.scorer),
            score: self.score,
            pass: (!self.unsure).then_some(self.pass),
            reason: std::borrow::Cow::Borrowed(&self.reason),
            unsure: self.unsure,
            samples: self.samples.clone(),
            error: self.error.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = ScoreWire::deserialize(d)?;
        Ok(Score {
            scorer: w.scorer.into_owned(),
            score: w.score,
            // A `null` pass is unsure even where an older writer left `unsure` out.
            unsure: w.unsure || w.pass.is_none(),
            pass: w.pass.unwrap_or(false) && !w.unsure,
            reason: w.reason.into_owned(),
            samples: w.samples,
            error: w.error,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ScoreError {
    pub code: Code,
    pub message: String,
}

/// Provider usage of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Usage {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(serialize_with = "no_negative_zero")]
    pub cost_usd: f64,
    pub cache_hits: u64,
}

impl ScoreError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ScoreError { code, message: message.into() }
    }
}

/// Sums and roundings of costs can give `-0.0`, which reads as a refund: write it as `0`.
fn no_negative_zero<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(if *x == 0.0 { 0.0 } else { *x })
}
