//! What a scorer says about an item, and what provider calls cost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Code;

/// One scorer's verdict on one item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Score {
    pub scorer: String,
    pub score: f64,
    pub pass: bool,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScoreError>,
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
