//! The results filters of a failure analysis (`bucket`, `subcategory`, `severity`), checked against the run's own
//! taxonomy before the query runs: a name the run cannot have is a 400 naming the parameter, not an empty page
//! that looks like "no failures of that kind".

use rusqlite::Connection;

use super::super::analysis_filter::AnalysisFilter;
use super::super::repo;
use super::analysis::spec_error;
use super::KindSpec;
use crate::analysis::Severity;
use crate::error::{Error, Result};

/// The filter from the query's values (empty ones are absent); `severity` must be on the contract's scale.
pub fn parse(bucket: Option<String>, subcategory: Option<String>, severity: Option<&str>) -> Result<AnalysisFilter> {
    let severity = match severity.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Severity::parse(s).ok_or_else(|| {
            Error::field("severity", format!("severity {s:?} is not one of low, medium, high, critical"))
        })?),
    };
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AnalysisFilter { bucket: nonempty(bucket), subcategory: nonempty(subcategory), severity })
}

/// Checks a non-empty filter against the run: it must be a failure analysis, and the bucket and subcategory must
/// be in the taxonomy it ran with (built-ins and its custom buckets). Runs on the store's read pool.
pub fn check(conn: &Connection, run_id: &str, filter: &AnalysisFilter) -> Result<()> {
    if filter.is_empty() {
        return Ok(());
    }
    let param = if filter.bucket.is_some() {
        "bucket"
    } else if filter.subcategory.is_some() {
        "subcategory"
    } else {
        "severity"
    };
    let Some(KindSpec::FailureAnalysis(task)) = repo::run_work(conn, run_id)?.spec.task else {
        return Err(Error::field(param, format!("{param} filters only the results of a failure_analysis run")));
    };
    let analyzer = task.analyzer().map_err(spec_error)?;
    let taxonomy = analyzer.taxonomy();
    if let Some(b) = &filter.bucket {
        if !taxonomy.buckets.iter().any(|x| x.name == *b) {
            let names: Vec<&str> = taxonomy.buckets.iter().map(|x| x.name.as_str()).collect();
            return Err(Error::field(
                "bucket",
                format!("bucket {b:?} is not in this run's taxonomy ({})", names.join(", ")),
            ));
        }
    }
    if let Some(s) = &filter.subcategory {
        let known =
            taxonomy.subcategories().any(|x| x.name == *s && filter.bucket.as_ref().is_none_or(|b| x.bucket == *b));
        if !known {
            let within = filter.bucket.as_ref().map_or(String::new(), |b| format!(" of bucket {b:?}"));
            return Err(Error::field(
                "subcategory",
                format!("subcategory {s:?} is not a subcategory{within} in this run's taxonomy"),
            ));
        }
    }
    Ok(())
}
