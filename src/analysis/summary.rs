//! The run summary of a failure analysis (API.md: `buckets`, `systemic`, `should_gate_ci`) and its gate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::custom::SpecError;
use super::gate_rules;
use super::severity::Systemic;
use super::taxonomy::Taxonomy;
use super::types::{Decision, ItemVerdict, Severity};

/// Examples kept per bucket in the summary.
pub const EXAMPLES_PER_BUCKET: usize = 3;
/// One-sided z for "a share rose beyond noise" (95 %).
pub const REGRESSION_Z: f64 = 1.645;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub low: usize,
    pub medium: usize,
    pub high: usize,
    pub critical: usize,
}

impl SeverityCounts {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::Low => self.low += 1,
            Severity::Medium => self.medium += 1,
            Severity::High => self.high += 1,
            Severity::Critical => self.critical += 1,
        }
    }
    fn worst(&self) -> Option<Severity> {
        [
            (self.critical, Severity::Critical),
            (self.high, Severity::High),
            (self.medium, Severity::Medium),
            (self.low, Severity::Low),
        ]
        .into_iter()
        .find(|(n, _)| *n > 0)
        .map(|(_, s)| s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryExample {
    /// The item's position in the run.
    pub index: usize,
    pub subcategory: String,
    pub severity: Severity,
    pub confidence: f64,
    pub evidence: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketSummary {
    /// Items with at least one failing check in this bucket.
    pub failed: usize,
    /// `failed` / all analysed items.
    pub share: f64,
    /// Those items by the worst severity they fail with in this bucket.
    pub severity: SeverityCounts,
    /// Failing checks per subcategory.
    pub subcategories: BTreeMap<String, usize>,
    #[serde(default)]
    pub examples: Vec<SummaryExample>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub passed: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    pub items: usize,
    /// Items with a failing check.
    pub failed: usize,
    /// Items without a failure but with at least one `unsure` check.
    pub unsure: usize,
    pub buckets: BTreeMap<String, BucketSummary>,
    pub systemic: Vec<Systemic>,
    pub gate: GateResult,
    pub should_gate_ci: bool,
    pub taxonomy_version: String,
}

/// `{max_severity?, max_share?: {BUCKET | BUCKET.SUBCATEGORY: 0..1}, no_regression?, baseline?}`. The caller resolves
/// `baseline` (a run id or a label) to that run's summary and passes it to [`summarize`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub max_severity: Option<Severity>,
    #[serde(default)]
    pub max_share: BTreeMap<String, f64>,
    #[serde(default)]
    pub no_regression: bool,
    pub baseline: Option<String>,
}

impl Gate {
    /// Parses and validates a `gate` object against the taxonomy; unknown keys (another run kind's) are ignored.
    pub fn parse(v: &Value, taxonomy: &Taxonomy) -> Result<Gate, SpecError> {
        let Some(obj) = v.as_object() else { return Err(SpecError::new("gate", "must be an object")) };
        let mut gate = Gate::default();
        match obj.get("max_severity") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                gate.max_severity =
                    Some(Severity::parse(s).ok_or_else(|| {
                        SpecError::new("gate.max_severity", "must be one of low, medium, high, critical")
                    })?)
            }
            Some(_) => return Err(SpecError::new("gate.max_severity", "must be a string")),
        }
        gate.max_share = gate_rules::rates(
            obj,
            "max_share",
            |key| match key.split_once('.') {
                Some((b, s)) => taxonomy.find(b, s).is_some(),
                None => taxonomy.buckets.iter().any(|b| b.name == *key),
            },
            "names no bucket (or bucket.subcategory) of the taxonomy",
            "bucket → share",
        )?;
        gate.no_regression = gate_rules::no_regression(obj)?;
        gate.baseline = gate_rules::baseline(obj)?;
        Ok(gate)
    }
}

/// Aggregates item verdicts (in run order) after [`crate::analysis::severity::apply_systemic`].
pub fn summarize(
    verdicts: &[ItemVerdict],
    systemic: &[Systemic],
    gate: &Gate,
    baseline: Option<&AnalysisSummary>,
) -> AnalysisSummary {
    let mut buckets: BTreeMap<String, BucketSummary> = BTreeMap::new();
    let mut candidates: BTreeMap<String, Vec<SummaryExample>> = BTreeMap::new();
    for (index, verdict) in verdicts.iter().enumerate() {
        let mut worst: BTreeMap<&str, (Severity, f64, &str, &str)> = BTreeMap::new();
        for check in verdict.checks.iter().filter(|c| c.decision == Decision::Fail) {
            let entry = buckets.entry(check.bucket.clone()).or_default();
            *entry.subcategories.entry(check.subcategory.clone()).or_default() += 1;
            let w = worst.entry(&check.bucket).or_insert((
                check.severity,
                check.confidence,
                &check.subcategory,
                &check.evidence,
            ));
            if (check.severity, check.confidence) > (w.0, w.1) {
                *w = (check.severity, check.confidence, &check.subcategory, &check.evidence);
            }
        }
        for (bucket, (severity, confidence, sub, evidence)) in worst {
            if let Some(entry) = buckets.get_mut(bucket) {
                entry.failed += 1;
                entry.severity.add(severity);
            }
            candidates.entry(bucket.to_owned()).or_default().push(SummaryExample {
                index,
                subcategory: sub.to_owned(),
                severity,
                confidence,
                evidence: super::text::clip(evidence, 200),
            });
        }
    }
    let items = verdicts.len();
    for (name, entry) in buckets.iter_mut() {
        entry.share = if items == 0 { 0.0 } else { entry.failed as f64 / items as f64 };
        if let Some(mut list) = candidates.remove(name) {
            list.sort_by(|a, b| {
                (b.severity, b.confidence).partial_cmp(&(a.severity, a.confidence)).unwrap_or(std::cmp::Ordering::Equal)
            });
            list.truncate(EXAMPLES_PER_BUCKET);
            entry.examples = list;
        }
    }
    let failed = verdicts.iter().filter(|v| v.failed).count();
    let unsure =
        verdicts.iter().filter(|v| !v.failed && v.checks.iter().any(|c| c.decision == Decision::Unsure)).count();
    let mut summary = AnalysisSummary {
        items,
        failed,
        unsure,
        buckets,
        systemic: systemic.to_vec(),
        gate: GateResult { passed: true, reasons: Vec::new() },
        should_gate_ci: false,
        taxonomy_version: verdicts.first().map(|v| v.taxonomy_version.clone()).unwrap_or_default(),
    };
    summary.gate = evaluate_gate(gate, &summary, baseline);
    summary.should_gate_ci = !summary.gate.passed;
    summary
}

fn worst_severity(s: &AnalysisSummary) -> Option<Severity> {
    s.buckets.values().filter_map(|b| b.severity.worst()).max()
}

fn share_of(s: &AnalysisSummary, key: &str) -> f64 {
    let failed = match key.split_once('.') {
        Some((b, sub)) => s.buckets.get(b).and_then(|b| b.subcategories.get(sub)).copied().unwrap_or(0),
        None => s.buckets.get(key).map_or(0, |b| b.failed),
    };
    if s.items == 0 {
        0.0
    } else {
        failed as f64 / s.items as f64
    }
}

/// Whether a share rose beyond noise: a one-sided two-proportion z-test at [`REGRESSION_Z`].
pub fn rose_beyond_noise(now: f64, n_now: usize, before: f64, n_before: usize) -> bool {
    if now <= before || n_now == 0 || n_before == 0 {
        return false;
    }
    let (n1, n2) = (n_now as f64, n_before as f64);
    let pooled = (now * n1 + before * n2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    se == 0.0 || (now - before) / se > REGRESSION_Z
}

/// The gate's verdict with a human-readable reason per failure.
pub fn evaluate_gate(gate: &Gate, summary: &AnalysisSummary, baseline: Option<&AnalysisSummary>) -> GateResult {
    let mut reasons = Vec::new();
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    if let (Some(max), Some(worst)) = (gate.max_severity, worst_severity(summary)) {
        if worst > max {
            let n: usize = summary
                .buckets
                .values()
                .map(|b| Severity::ALL.iter().filter(|s| **s > max).map(|s| count(&b.severity, *s)).sum::<usize>())
                .sum();
            reasons.push(format!("{n} bucket failure(s) are above max_severity {max} (worst: {worst})"));
        }
    }
    for (key, max) in &gate.max_share {
        let share = share_of(summary, key);
        if share > *max {
            reasons.push(format!("{key} fails on {} of items, above max_share {}", pct(share), pct(*max)));
        }
    }
    if gate.no_regression {
        match baseline {
            None => reasons.push("no_regression is set but no baseline run was found to compare with".to_owned()),
            Some(base) => {
                for name in summary.buckets.keys() {
                    let (now, before) = (share_of(summary, name), share_of(base, name));
                    if rose_beyond_noise(now, summary.items, before, base.items) {
                        reasons.push(format!(
                            "{name} regressed: fails on {} of items, {} in the baseline (beyond noise)",
                            pct(now),
                            pct(before)
                        ));
                    }
                }
                if let (Some(now), before) = (worst_severity(summary), worst_severity(base)) {
                    if before.is_none_or(|b| now > b) {
                        let was = before.map_or("no failure".to_owned(), |b| b.to_string());
                        if now >= Severity::High {
                            reasons.push(format!("worst severity rose to {now} (baseline: {was})"));
                        }
                    }
                }
            }
        }
    }
    GateResult { passed: reasons.is_empty(), reasons }
}

fn count(c: &SeverityCounts, s: Severity) -> usize {
    match s {
        Severity::Low => c.low,
        Severity::Medium => c.medium,
        Severity::High => c.high,
        Severity::Critical => c.critical,
    }
}
