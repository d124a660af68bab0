//! Human review of results and how far a judge agrees with people.
//!
//! A reviewer (any org API key) marks one item of a run pass or fail for one of the run's scorers, with an optional
//! comment. There is one review per (run, item, scorer, reviewer): a later one replaces it. The review queue puts the
//! items people should look at first (a judge was unsure, or two judges disagreed) at the top, and a scorer's
//! agreement compares its verdicts with people's over a whole project (accuracy, Cohen's kappa, confusion counts,
//! per judge model). No HTTP here: the handlers are in `http/routes/reviews.rs`.

pub mod agreement;
pub mod queue;
pub mod repo;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// Longest review comment, in characters (Unicode scalar values). A comment is a note to the next reviewer, not a
/// document; the bound keeps a run's review export and the dashboard's result rows small.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// One person's verdict on one item for one scorer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Review {
    pub id: String,
    pub run_id: String,
    /// The item's index in the run (`index` of its result row).
    pub idx: u64,
    /// The scorer whose verdict this review judges (one of the run's scorers).
    pub scorer: String,
    /// The reviewer's verdict: the item passes this scorer's criterion.
    pub pass: bool,
    pub comment: Option<String>,
    /// The reviewer: the id of the API key that made the review.
    pub reviewer: String,
    /// That API key's name (null if it is no longer known).
    pub reviewer_name: Option<String>,
    /// When the review was made or last replaced.
    pub created_at: String,
}

/// `POST /v1/runs/{id}/results/{idx}/reviews`
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// One of the run's scorers (its name as result rows carry it).
    pub scorer: String,
    pub pass: bool,
    /// At most [`MAX_COMMENT_CHARS`] characters.
    #[serde(default)]
    pub comment: Option<String>,
}

impl NewReview {
    /// Bound the comment (an empty or blank one is no comment).
    pub fn validate(mut self) -> Result<NewReview> {
        if self.scorer.trim().is_empty() {
            return Err(Error::field("scorer", "scorer must name one of the run's scorers"));
        }
        if let Some(c) = &self.comment {
            let n = c.chars().count();
            if n > MAX_COMMENT_CHARS {
                return Err(Error::field(
                    "comment",
                    format!("comment is {n} characters; at most {MAX_COMMENT_CHARS} (MAX_COMMENT_CHARS) are kept"),
                ));
            }
            if c.trim().is_empty() {
                self.comment = None;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn comments_are_bounded_and_blank_ones_dropped() {
        let ok = NewReview { scorer: "j".into(), pass: true, comment: Some("  ".into()) }.validate().unwrap();
        assert_eq!(ok.comment, None);
        let long = "é".repeat(MAX_COMMENT_CHARS + 1);
        let e = NewReview { scorer: "j".into(), pass: true, comment: Some(long) }.validate().unwrap_err();
        assert!(e.to_string().contains("MAX_COMMENT_CHARS"), "{e}");
        let exact = "é".repeat(MAX_COMMENT_CHARS);
        assert!(NewReview { scorer: "j".into(), pass: false, comment: Some(exact) }.validate().is_ok());
        assert!(NewReview { scorer: " ".into(), pass: false, comment: None }.validate().is_err());
    }
}
