//! `gavel selftest analysis`: runs the deterministic analysis over the fault-injected set ([`super::faults`]) and
//! reports, per subcategory, precision and recall of the item verdict's primary failure against the injected label.
//! Negatives (untouched triples) must come out with no failure at all.

use std::fmt;
use std::time::Instant;

use super::faults::{self, Fault};
use super::{AnalysisSpec, Analyzer};

/// The seed `run()` uses, so the published figures are reproducible.
pub const SELFTEST_SEED: u64 = 20_261_201;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub subcategory: String,
    /// Items injected with a fault of this subcategory.
    pub labelled: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Items (of any label) where this subcategory's check fails, primary or not.
    pub fired: usize,
}

impl Row {
    pub fn precision(&self) -> f64 {
        let predicted = self.true_positives + self.false_positives;
        if predicted == 0 {
            1.0
        } else {
            self.true_positives as f64 / predicted as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.labelled == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.labelled as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub seed: u64,
    pub items: usize,
    pub negatives: usize,
    /// Negatives with no failing check.
    pub clean_negatives: usize,
    pub rows: Vec<Row>,
    /// Items whose primary failure was not the injected one: `(base id, fault, got)`.
    pub misses: Vec<(String, String, String)>,
    pub elapsed_ms: f64,
}

impl Report {
    /// Every row at precision and recall 1 and every negative clean.
    pub fn perfect(&self) -> bool {
        self.clean_negatives == self.negatives && self.rows.iter().all(|r| r.precision() >= 1.0 && r.recall() >= 1.0)
    }
}

pub fn run() -> Result<Report, String> {
    run_with_seed(SELFTEST_SEED)
}

pub fn run_with_seed(seed: u64) -> Result<Report, String> {
    let analyzer = Analyzer::new(&AnalysisSpec::new()).map_err(|e| e.to_string())?;
    let set = faults::generate(seed)?;
    let started = Instant::now();
    let verdicts: Vec<_> = set.iter().map(|l| analyzer.analyze_deterministic(&l.item)).collect();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;

    let mut labels: Vec<(&str, &str)> = Fault::ALL.iter().map(|f| f.expected()).collect();
    labels.sort_unstable();
    labels.dedup();
    let mut rows: Vec<Row> = labels
        .iter()
        .map(|(b, s)| Row {
            subcategory: format!("{b}.{s}"),
            labelled: 0,
            true_positives: 0,
            false_positives: 0,
            false_negatives: 0,
            fired: 0,
        })
        .collect();
    let mut misses = Vec::new();
    let mut negatives = 0;
    let mut clean = 0;
    for (labelled, verdict) in set.iter().zip(&verdicts) {
        let got = match (&verdict.bucket, &verdict.subcategory) {
            (Some(b), Some(s)) if verdict.failed => Some(format!("{b}.{s}")),
            _ => None,
        };
        let want = labelled.expected().map(|(b, s)| format!("{b}.{s}"));
        if want.is_none() {
            negatives += 1;
            clean += usize::from(!verdict.failed);
        }
        for row in rows.iter_mut() {
            let is_want = want.as_deref() == Some(row.subcategory.as_str());
            let is_got = got.as_deref() == Some(row.subcategory.as_str());
            row.labelled += usize::from(is_want);
            row.true_positives += usize::from(is_want && is_got);
            row.false_positives += usize::from(!is_want && is_got);
            row.false_negatives += usize::from(is_want && !is_got);
            row.fired += usize::from(verdict.checks.iter().any(|c| {
                c.decision == super::Decision::Fail && format!("{}.{}", c.bucket, c.subcategory) == row.subcategory
            }));
        }
        if want != got {
            misses.push((
                labelled.base_id.clone(),
                labelled.fault.map_or("none", Fault::name).to_owned(),
                got.unwrap_or_else(|| "no failure".to_owned()),
            ));
        }
    }
    Ok(Report { seed, items: set.len(), negatives, clean_negatives: clean, rows, misses, elapsed_ms })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "failure analysis self-test (seed {}): {} items, {} negatives ({} clean), {:.1} ms",
            self.seed, self.items, self.negatives, self.clean_negatives, self.elapsed_ms
        )?;
        writeln!(
            f,
            "{:<45} {:>8} {:>4} {:>4} {:>4} {:>9} {:>6} {:>6}",
            "subcategory", "labelled", "tp", "fp", "fn", "precision", "recall", "fired"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<45} {:>8} {:>4} {:>4} {:>4} {:>9.3} {:>6.3} {:>6}",
                r.subcategory,
                r.labelled,
                r.true_positives,
                r.false_positives,
                r.false_negatives,
                r.precision(),
                r.recall(),
                r.fired
            )?;
        }
        for (base, fault, got) in &self.misses {
            writeln!(f, "miss: {base} with {fault} → {got}")?;
        }
        Ok(())
    }
}
