//! A finished run against its baseline: per scorer the two pass rates and the two-proportion test between them
//! (the maths of [`super::compare::summary_deltas`], so `GET …/compare` and a run's summary agree), and with
//! `gate.no_regression` a gate that fails when a scorer fell beyond noise.

use super::compare::summary_deltas;
use super::model::{BaselineComparison, BaselineDelta, Summary};
use crate::error::Result;
use crate::store::Store;

/// The comparison of `head` with the baseline run `base_id` whose summary is `base`.
pub fn comparison(base_id: &str, base: &Summary, head: &Summary) -> BaselineComparison {
    let per_scorer: std::collections::BTreeMap<String, BaselineDelta> = summary_deltas(Some(base), Some(head))
        .into_iter()
        .map(|(name, d)| {
            let regression = d.beyond_noise == Some(true) && d.delta.is_some_and(|x| x < 0.0);
            let row = BaselineDelta {
                base_pass_rate: d.base_pass_rate,
                head_pass_rate: d.head_pass_rate,
                delta: d.delta,
                p_value: d.p_value,
                regression,
            };
            (name, row)
        })
        .collect();
    let regressions = per_scorer.iter().filter(|(_, d)| d.regression).map(|(n, _)| n.clone()).collect();
    BaselineComparison { run_id: base_id.to_owned(), per_scorer, regressions }
}

/// Why the no-regression gate failed (empty: it passed), one human-readable line per regressed scorer.
pub fn regression_reasons(c: &BaselineComparison) -> Vec<String> {
    c.regressions
        .iter()
        .filter_map(|name| c.per_scorer.get(name).map(|d| (name, d)))
        .map(|(name, d)| {
            format!(
                "scorer {name} regressed against baseline run {}: pass rate {:.4} vs {:.4} in the baseline (p = {:.6}, beyond noise)",
                c.run_id,
                d.head_pass_rate.unwrap_or(0.0),
                d.base_pass_rate.unwrap_or(0.0),
                d.p_value.unwrap_or(0.0),
            )
        })
        .collect()
}

/// Add the baseline comparison to a finished run's `summary` and, with `no_regression`, its verdict to the gate.
/// A baseline with no summary (deleted, or not finished) fails a no-regression gate: it cannot vouch for anything.
pub fn judge(base_id: &str, base: Option<&Summary>, no_regression: bool, summary: &mut Summary) {
    let comparison = base.map(|b| comparison(base_id, b, summary));
    if no_regression {
        let failures = match &comparison {
            Some(c) => regression_reasons(c),
            None => vec![format!("no_regression: the baseline run {base_id} has no summary to compare with")],
        };
        if failures.is_empty() {
            let note = format!("no scorer regressed beyond noise against baseline run {base_id}");
            if summary.gate.passed {
                summary.gate.reasons.retain(|r| r != "no gate conditions were set");
            }
            summary.gate.reasons.push(note);
        } else {
            if summary.gate.passed {
                // A passed gate's reasons are its notes; a failed one lists only what failed.
                summary.gate.reasons.clear();
            }
            summary.gate.passed = false;
            summary.gate.reasons.extend(failures);
        }
        summary.should_gate_ci = !summary.gate.passed;
    }
    summary.baseline = comparison;
}

/// [`judge`] with the baseline's summary read from the store.
pub async fn apply(
    store: &Store,
    org: &str,
    base_id: Option<&str>,
    no_regression: bool,
    summary: &mut Summary,
) -> Result<()> {
    let Some(id) = base_id else { return Ok(()) };
    let (o, i) = (org.to_owned(), id.to_owned());
    let base = store
        .read(move |c| match super::repo::get_run(c, &o, &i) {
            Ok(r) => Ok(r.summary),
            Err(crate::error::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    judge(id, base.as_ref(), no_regression, summary);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::Score;
    use crate::runs::model::{GateSpec, RunStatus};
    use crate::runs::summary::Aggregator;

    fn summary(n: u64, passed: u64) -> Summary {
        let mut a = Aggregator::new(vec!["exact".into()]);
        for i in 0..n {
            a.add(&[Score::new("exact", 1.0, i < passed, "r")]);
        }
        a.finish(n, &GateSpec::default(), RunStatus::Completed)
    }

    #[test]
    fn a_fall_from_90_to_50_percent_fails_the_gate_and_90_to_88_does_not() {
        let mut head = summary(100, 50);
        judge("run_base", Some(&summary(100, 90)), true, &mut head);
        let b = head.baseline.as_ref().unwrap();
        assert_eq!(b.regressions, vec!["exact".to_string()]);
        assert!(b.per_scorer["exact"].regression && b.per_scorer["exact"].delta == Some(-0.4));
        assert!(!head.gate.passed && head.should_gate_ci);
        assert_eq!(head.gate.reasons.len(), 1, "{:?}", head.gate.reasons);
        let r = &head.gate.reasons[0];
        assert!(r.contains("scorer exact") && r.contains("0.5000 vs 0.9000") && r.contains("p = "), "{r}");

        let mut head = summary(50, 44);
        judge("run_base", Some(&summary(50, 45)), true, &mut head);
        assert!(head.gate.passed, "{:?}", head.gate.reasons);
        assert!(head.baseline.as_ref().unwrap().regressions.is_empty());
        assert!(head.gate.reasons.iter().any(|r| r.contains("no scorer regressed")), "{:?}", head.gate.reasons);
    }

    #[test]
    fn a_baseline_without_summary_fails_closed_only_when_the_gate_asks() {
        let mut head = summary(10, 10);
        judge("run_gone", None, false, &mut head);
        assert!(head.gate.passed && head.baseline.is_none());
        judge("run_gone", None, true, &mut head);
        assert!(!head.gate.passed && head.gate.reasons[0].contains("run_gone"));
    }
}
