//! Summaries and CI gates. The aggregator is fed item by item, so a run never needs its results in memory,
//! and it can be rebuilt from stored results when a run resumes after a restart.

use std::collections::BTreeMap;

use super::model::{GateResult, GateSpec, RunStatus, Score, ScorerSummary, Summary, Usage};

/// How an item came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed = 0,
    Failed = 1,
    Errored = 2,
}

impl Outcome {
    /// An item passes when all its scorers pass; it is errored when any scorer errored.
    pub fn of(scores: &[Score]) -> Outcome {
        if scores.iter().any(|s| s.error.is_some()) {
            Outcome::Errored
        } else if scores.iter().all(|s| s.pass) {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
    }

    pub fn from_code(c: i64) -> Outcome {
        match c {
            0 => Outcome::Passed,
            1 => Outcome::Failed,
            _ => Outcome::Errored,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct PerScorer {
    sum: f64,
    scored: u64,
    passes: u64,
    errors: u64,
    unsure: u64,
}

/// Running totals of a run.
#[derive(Clone, Debug, Default)]
pub struct Aggregator {
    names: Vec<String>,
    per: Vec<PerScorer>,
    passed: u64,
    failed: u64,
    errored: u64,
    unsure: u64,
    pub usage: Usage,
}

impl Aggregator {
    pub fn new(names: Vec<String>) -> Self {
        let per = vec![PerScorer::default(); names.len()];
        Self { names, per, ..Default::default() }
    }

    /// Items counted so far.
    pub fn done(&self) -> u64 {
        self.passed + self.failed + self.errored
    }

    pub fn add(&mut self, scores: &[Score]) -> Outcome {
        for s in scores {
            let i = match self.names.iter().position(|n| *n == s.scorer) {
                Some(i) => i,
                None => {
                    self.names.push(s.scorer.clone());
                    self.per.push(PerScorer::default());
                    self.names.len() - 1
                }
            };
            let p = &mut self.per[i];
            if s.error.is_some() {
                p.errors += 1;
            } else {
                p.sum += s.score;
                p.scored += 1;
                if s.pass {
                    p.passes += 1;
                }
                if s.unsure {
                    p.unsure += 1;
                }
            }
        }
        let o = Outcome::of(scores);
        if o == Outcome::Failed && scores.iter().any(|s| s.unsure) {
            self.unsure += 1;
        }
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Errored => self.errored += 1,
        }
        o
    }

    /// The summary over `total` items; items without a result (a cancelled run) count as not passed.
    pub fn finish(&self, total: u64, gate: &GateSpec, status: RunStatus) -> Summary {
        let items = total.max(self.done());
        let rate = |n: u64| if items == 0 { 0.0 } else { n as f64 / items as f64 };
        let per_scorer: BTreeMap<String, ScorerSummary> = self
            .names
            .iter()
            .zip(&self.per)
            .map(|(n, p)| {
                let mean = if p.scored == 0 { 0.0 } else { p.sum / p.scored as f64 };
                let ci = interval(p.passes, items);
                let s = ScorerSummary {
                    mean: round(mean),
                    pass_rate: round(rate(p.passes)),
                    pass_rate_ci: ci,
                    errors: p.errors,
                    unsure: p.unsure,
                };
                (n.clone(), s)
            })
            .collect();
        let pass_rate = round(rate(self.passed));
        let not_passed = items - self.passed;
        let gate = evaluate_gate(gate, status, pass_rate, not_passed, (self.errored, self.unsure), &per_scorer);
        Summary {
            items,
            passed: self.passed,
            failed: self.failed + (items - self.done()),
            errored: self.errored,
            unsure: self.unsure,
            pass_rate,
            pass_rate_ci: interval(self.passed, items),
            per_scorer,
            usage: self.usage.clone(),
            should_gate_ci: !gate.passed,
            gate,
            kind: Default::default(),
            baseline: None,
        }
    }
}

fn interval(passes: u64, n: u64) -> [f64; 2] {
    let (lo, hi) = crate::scoring::stats::wilson_interval(passes, n);
    [round(lo), round(hi)]
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn evaluate_gate(
    spec: &GateSpec,
    status: RunStatus,
    pass_rate: f64,
    not_passed: u64,
    (errored, unsure): (u64, u64),
    per: &BTreeMap<String, ScorerSummary>,
) -> GateResult {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    if status != RunStatus::Completed {
        failures.push(format!("the run is {}, not completed", status.as_str()));
    }
    if let Some(min) = spec.min_pass_rate {
        if pass_rate < min {
            failures.push(format!("pass rate {pass_rate:.4} is below the minimum {min:.4}"));
        } else {
            notes.push(format!("pass rate {pass_rate:.4} meets the minimum {min:.4}"));
        }
    }
    if let Some(max) = spec.max_failed {
        if not_passed > max {
            failures.push(format!(
                "{not_passed} items did not pass ({errored} errored, {unsure} unsure), more than the {max} allowed"
            ));
        } else {
            notes.push(format!("{not_passed} items did not pass, within the {max} allowed"));
        }
    }
    for (name, min) in &spec.per_scorer {
        match per.get(name) {
            Some(s) if s.pass_rate < *min => {
                failures.push(format!("scorer {name}: pass rate {:.4} is below the minimum {min:.4}", s.pass_rate))
            }
            Some(s) => notes.push(format!("scorer {name}: pass rate {:.4} meets the minimum {min:.4}", s.pass_rate)),
            None => failures.push(format!("scorer {name} named in the gate is not part of this run")),
        }
    }
    if spec.min_pass_rate.is_none() && spec.max_failed.is_none() && spec.per_scorer.is_empty() && !spec.no_regression {
        notes.push("no gate conditions were set".into());
    }
    let passed = failures.is_empty();
    GateResult { passed, reasons: if passed { notes } else { failures } }
}

/// Gate options must make sense before a run is accepted.
pub fn validate_gate(g: &GateSpec) -> crate::error::Result<()> {
    let bad = |f: &str| crate::error::Error::field(f, format!("{f} must be between 0 and 1"));
    if g.min_pass_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(bad("gate.min_pass_rate"));
    }
    for (name, r) in &g.per_scorer {
        if !(0.0..=1.0).contains(r) {
            return Err(bad(&format!("gate.per_scorer.{name}")));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::ScoreError;

    fn s(name: &str, score: f64, pass: bool, err: bool) -> Score {
        Score {
            scorer: name.into(),
            score,
            pass,
            reason: String::new(),
            unsure: false,
            samples: None,
            error: err.then(|| ScoreError::new(crate::domain::Code::Internal, "m")),
        }
    }

    #[test]
    fn an_unsure_item_is_counted_apart_and_never_passes() {
        let unsure = Score { unsure: true, ..s("j", 0.5, false, false) };
        let mut a = Aggregator::new(vec!["j".into(), "h".into()]);
        assert_eq!(a.add(&[unsure.clone(), s("h", 1.0, true, false)]), Outcome::Failed);
        a.add(&[s("j", 1.0, true, false), s("h", 1.0, true, false)]);
        a.add(&[unsure, s("h", 0.0, false, true)]);
        let gate = GateSpec { max_failed: Some(1), ..Default::default() };
        let sum = a.finish(3, &gate, RunStatus::Completed);
        assert_eq!((sum.passed, sum.failed, sum.errored, sum.unsure), (1, 1, 1, 1));
        assert_eq!((sum.per_scorer["j"].unsure, sum.per_scorer["j"].pass_rate), (2, 0.333333));
        assert!(!sum.gate.passed, "an unsure item is not passed");
        assert_eq!(sum.gate.reasons, vec!["2 items did not pass (1 errored, 1 unsure), more than the 1 allowed"]);
    }

    #[test]
    fn summary_and_gate() {
        let mut a = Aggregator::new(vec!["a".into(), "b".into()]);
        assert_eq!(a.add(&[s("a", 1.0, true, false), s("b", 1.0, true, false)]), Outcome::Passed);
        assert_eq!(a.add(&[s("a", 0.5, false, false), s("b", 1.0, true, false)]), Outcome::Failed);
        assert_eq!(a.add(&[s("a", 0.0, false, true), s("b", 0.0, false, false)]), Outcome::Errored);
        assert_eq!(a.add(&[s("a", 1.0, true, false), s("b", 1.0, true, false)]), Outcome::Passed);
        let gate = GateSpec {
            min_pass_rate: Some(0.75),
            max_failed: Some(1),
            per_scorer: [("b".to_string(), 0.7)].into(),
            ..Default::default()
        };
        let sum = a.finish(4, &gate, RunStatus::Completed);
        assert_eq!((sum.items, sum.passed, sum.failed, sum.errored), (4, 2, 1, 1));
        assert_eq!(sum.pass_rate, 0.5);
        assert_eq!(sum.per_scorer["a"].mean, round(2.5 / 3.0));
        assert_eq!(sum.per_scorer["a"].pass_rate, 0.5);
        assert_eq!(sum.per_scorer["a"].errors, 1);
        assert_eq!(sum.per_scorer["b"].pass_rate, 0.75);
        // Wilson 95 %: 2 of 4 is [0.150, 0.850]; 3 of 4 is [0.301, 0.954].
        let [lo, hi] = sum.pass_rate_ci;
        assert!((lo - 0.1500).abs() < 1e-3 && (hi - 0.8500).abs() < 1e-3, "{lo} {hi}");
        let [lo, hi] = sum.per_scorer["b"].pass_rate_ci;
        assert!((lo - 0.3006).abs() < 1e-3 && (hi - 0.9544).abs() < 1e-3, "{lo} {hi}");
        assert!(!sum.gate.passed && sum.should_gate_ci);
        assert_eq!(sum.gate.reasons.len(), 2, "{:?}", sum.gate.reasons);
        assert!(sum.gate.reasons[0].contains("pass rate 0.5000 is below the minimum 0.7500"));
        let ok = a.finish(4, &GateSpec { min_pass_rate: Some(0.5), ..Default::default() }, RunStatus::Completed);
        assert!(ok.gate.passed && !ok.should_gate_ci);
        let cancelled = a.finish(10, &GateSpec::default(), RunStatus::Cancelled);
        assert!(!cancelled.gate.passed);
        assert_eq!(cancelled.failed, 1 + 6);
        let none = a.finish(4, &GateSpec::default(), RunStatus::Completed);
        assert!(none.gate.passed);
        assert!(validate_gate(&GateSpec { min_pass_rate: Some(1.5), ..Default::default() }).is_err());
    }
}
