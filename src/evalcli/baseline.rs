//! How `gavel eval` prints a run's comparison with its baseline: one row per scorer with both pass rates, the
//! change, the two-proportion p-value and whether the fall is a regression beyond noise.

use crate::runs::model::BaselineComparison;

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0))
}

/// The table's lines (printed after the summary table).
pub fn lines(b: &BaselineComparison) -> Vec<String> {
    let width = b.per_scorer.keys().map(|k| k.chars().count()).max().unwrap_or(6).max(6);
    let mut out = vec![
        String::new(),
        format!("  against baseline run {}:", b.run_id),
        format!("  {:<width$}  {:>9}  {:>9}  {:>8}  {:>8}", "scorer", "baseline", "this run", "change", "p-value"),
    ];
    for (name, d) in &b.per_scorer {
        let change = d.delta.map_or_else(|| "-".to_owned(), |x| format!("{:+.2}", x * 100.0));
        let p = d.p_value.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
        let flag = if d.regression { "  REGRESSED (beyond noise)" } else { "" };
        out.push(format!(
            "  {name:<width$}  {:>9}  {:>9}  {change:>8}  {p:>8}{flag}",
            pct(d.base_pass_rate),
            pct(d.head_pass_rate)
        ));
    }
    if b.regressions.is_empty() {
        out.push("  no scorer regressed beyond noise".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::model::BaselineDelta;

    #[test]
    fn a_regressed_scorer_is_flagged_with_both_rates() {
        let b = BaselineComparison {
            run_id: "run_1".into(),
            per_scorer: [(
                "equals".to_string(),
                BaselineDelta {
                    base_pass_rate: Some(0.9),
                    head_pass_rate: Some(0.5),
                    delta: Some(-0.4),
                    p_value: Some(0.000001),
                    regression: true,
                },
            )]
            .into(),
            regressions: vec!["equals".into()],
        };
        let l = lines(&b);
        assert!(l[1].contains("run_1"));
        assert!(l[3].contains("90.00%") && l[3].contains("50.00%") && l[3].contains("-40.00"), "{}", l[3]);
        assert!(l[3].ends_with("REGRESSED (beyond noise)"), "{}", l[3]);
    }
}
