//! Narrowing a failure analysis's results to one bucket, subcategory or severity
//! (`GET /v1/runs/{id}/results?bucket=&subcategory=&severity=`), decided in SQL over the stored `analysis.checks`
//! so a page costs what its rows cost, never a decode of every row in Rust.
//!
//! The filter agrees with the summary's counts: an item belongs to a bucket when one of its checks in that bucket
//! failed (`summary.buckets.B.failed`), and its severity there is the worst of those failing checks
//! (`summary.buckets.B.severity`). `bucket`, `subcategory` and `severity` all apply to the same failing checks.

use crate::analysis::Severity;

/// Which failing checks an item must have to be listed; every field empty lists every item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalysisFilter {
    pub bucket: Option<String>,
    pub subcategory: Option<String>,
    /// The worst severity among the item's failing checks that match `bucket` and `subcategory`.
    pub severity: Option<Severity>,
}

impl AnalysisFilter {
    pub fn is_empty(&self) -> bool {
        self.bucket.is_none() && self.subcategory.is_none() && self.severity.is_none()
    }

    /// The severity as the SQL's rank ([`SEVERITY_RANK_SQL`]).
    pub fn severity_rank(&self) -> Option<i64> {
        self.severity.map(rank)
    }
}

/// low 1 … critical 4, the order of [`Severity`], as [`SEVERITY_RANK_SQL`] ranks a stored check.
pub fn rank(s: Severity) -> i64 {
    match s {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// The SQL condition on a result row `r`, with `?7` bucket, `?8` subcategory and `?9` severity rank (each NULL
/// when not filtered on): the worst matching failing check exists (and has that rank).
pub const FILTER_SQL: &str = "((?7 IS NULL AND ?8 IS NULL AND ?9 IS NULL) OR EXISTS (
      SELECT 1 FROM (SELECT max(CASE json_extract(c.value, '$.severity')
                                  WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4
                                  ELSE 0 END) AS worst
                     FROM json_each(r.detail, '$.analysis.checks') c
                     WHERE json_extract(c.value, '$.decision') = 'fail'
                       AND (?7 IS NULL OR json_extract(c.value, '$.bucket') = ?7)
                       AND (?8 IS NULL OR json_extract(c.value, '$.subcategory') = ?8))
      WHERE worst IS NOT NULL AND (?9 IS NULL OR worst = ?9)))";

/// The same ranks as [`rank`], for readers of [`FILTER_SQL`].
pub const SEVERITY_RANK_SQL: [(&str, i64); 4] = [("low", 1), ("medium", 2), ("high", 3), ("critical", 4)];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranks_follow_the_severity_order_and_the_sql() {
        for (name, r) in SEVERITY_RANK_SQL {
            assert_eq!(rank(Severity::parse(name).unwrap()), r);
            assert!(FILTER_SQL.contains(&format!("WHEN '{name}' THEN {r}")));
        }
        assert!(AnalysisFilter::default().is_empty());
    }
}
