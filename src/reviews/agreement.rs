//! A judge's verdicts against people's: the confusion counts, the share of agreement and Cohen's kappa.
//!
//! "Positive" is a pass. Each (judge verdict, human verdict) pair counts once: `tp` both pass, `tn` both fail,
//! `fp` the judge passed what the person failed (the dangerous mistake for a gate), `fn` the judge failed what the
//! person passed. A judge verdict that was `unsure` or an error has no side and is left out (counted apart by the
//! caller).
//!
//! Cohen's kappa is `(p_o − p_e) / (1 − p_e)` with `p_o` the observed agreement and `p_e` the agreement two raters
//! with these pass rates would reach by chance (`p_j·p_h + (1−p_j)(1−p_h)`). It is undefined when `p_e = 1`: both
//! sides put every pair in the same single class, so there is nothing beyond chance to measure. Then (and when
//! there are no pairs at all) `cohen_kappa` is `null` and `kappa_note` says why, rather than a made-up 0 or 1.

use serde::Serialize;
use utoipa::ToSchema;

/// Counts of (judge, human) verdict pairs; positive = pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Confusion {
    /// Judge passed, person passed.
    pub tp: u64,
    /// Judge passed, person failed.
    pub fp: u64,
    /// Judge failed, person failed.
    pub tn: u64,
    /// Judge failed, person passed.
    #[serde(rename = "fn")]
    #[schema(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    /// Count one pair.
    pub fn add(&mut self, judge_pass: bool, human_pass: bool) {
        match (judge_pass, human_pass) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }
}

/// Agreement figures of one set of pairs.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Agreement {
    /// Pairs counted (reviews whose judge verdict was a definite pass or fail).
    pub reviews: u64,
    /// Share of pairs where judge and person agree (accuracy); null without pairs.
    pub agreement: Option<f64>,
    /// Cohen's kappa; null when undefined (see `kappa_note`).
    pub cohen_kappa: Option<f64>,
    /// Why `cohen_kappa` is null, when it is.
    pub kappa_note: Option<String>,
    pub confusion: Confusion,
}

/// The figures of `c`; see the module documentation for the degenerate cases.
pub fn figures(c: Confusion) -> Agreement {
    let n = c.total();
    if n == 0 {
        return Agreement {
            reviews: 0,
            agreement: None,
            cohen_kappa: None,
            kappa_note: Some("no reviewed items with a definite judge verdict yet".into()),
            confusion: c,
        };
    }
    let nf = n as f64;
    let p_o = (c.tp + c.tn) as f64 / nf;
    let judge_pass = (c.tp + c.fp) as f64 / nf;
    let human_pass = (c.tp + c.fn_) as f64 / nf;
    let p_e = judge_pass * human_pass + (1.0 - judge_pass) * (1.0 - human_pass);
    // p_e is 1 exactly when every verdict of both sides is in one class; test on the counts, not on a float.
    let (cohen_kappa, kappa_note) = if c.tp == n || c.tn == n {
        let class = if c.tp == n { "pass" } else { "fail" };
        (
            None,
            Some(format!(
                "undefined: judge and people gave every one of the {n} items the same verdict ({class}), so chance agreement is 1"
            )),
        )
    } else {
        (Some((p_o - p_e) / (1.0 - p_e)), None)
    };
    Agreement { reviews: n, agreement: Some(p_o), cohen_kappa, kappa_note, confusion: c }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn c(tp: u64, fp: u64, tn: u64, fn_: u64) -> Confusion {
        Confusion { tp, fp, tn, fn_ }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    /// The usual textbook 2×2 table: 50 items, 20 both yes, 15 both no, 5 and 10 split. p_o = 0.7, p_e = 0.5.
    #[test]
    fn textbook_example_gives_0_4() {
        let a = figures(c(20, 5, 15, 10));
        assert_eq!(a.reviews, 50);
        assert!(close(a.agreement.unwrap(), 0.7));
        assert!(close(a.cohen_kappa.unwrap(), 0.4), "{a:?}");
    }

    /// Same observed agreement (0.60), different marginals, different kappa: 0.1304 and 0.2593.
    #[test]
    fn marginals_move_kappa_at_equal_accuracy() {
        let a = figures(c(45, 15, 15, 25));
        let b = figures(c(25, 35, 35, 5));
        assert!(close(a.agreement.unwrap(), 0.6) && close(b.agreement.unwrap(), 0.6));
        assert!(close(a.cohen_kappa.unwrap(), 0.06 / 0.46), "{a:?}");
        assert!(close(b.cohen_kappa.unwrap(), 0.14 / 0.54), "{b:?}");
    }

    #[test]
    fn perfect_and_opposite_agreement() {
        let p = figures(c(3, 0, 2, 0));
        assert!(close(p.cohen_kappa.unwrap(), 1.0));
        let o = figures(c(0, 3, 0, 2));
        assert_eq!(o.agreement, Some(0.0));
        assert!(o.cohen_kappa.unwrap() < 0.0, "{o:?}");
    }

    #[test]
    fn degenerate_tables_have_no_kappa_and_say_why() {
        let none = figures(Confusion::default());
        assert_eq!((none.agreement, none.cohen_kappa), (None, None));
        assert!(none.kappa_note.is_some());
        let all_pass = figures(c(7, 0, 0, 0));
        assert_eq!((all_pass.agreement, all_pass.cohen_kappa), (Some(1.0), None));
        assert!(all_pass.kappa_note.unwrap().contains("(pass)"));
        let all_fail = figures(c(0, 0, 4, 0));
        assert!(all_fail.kappa_note.unwrap().contains("(fail)"));
        // One side constant, the other not: kappa is defined (0 here: agreement no better than chance).
        let judge_always_passes = figures(c(3, 2, 0, 0));
        assert!(close(judge_always_passes.cohen_kappa.unwrap(), 0.0), "{judge_always_passes:?}");
    }

    #[test]
    fn pairs_land_in_their_cells_and_fn_is_spelled_fn() {
        let mut k = Confusion::default();
        for (j, h) in [(true, true), (true, false), (false, false), (false, true), (false, true)] {
            k.add(j, h);
        }
        assert_eq!(k, c(1, 1, 1, 2));
        assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!({"tp": 1, "fp": 1, "tn": 1, "fn": 2}));
    }
}
