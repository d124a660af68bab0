//! The run-identity parts of the run routes: the `?label=k:v` listing query (repeatable, which actix's `Query`
//! extractor cannot read) and the body's `name`, `labels`, `baseline` and `gate.no_regression`, checked and
//! resolved at acceptance.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::runs::identity::{self, Identity};
use crate::store::page::PageQuery;

/// `GET /v1/projects/{project}/runs` query.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// `KEY:VALUE`; repeat it to require several labels (all must match), at most 32 (`MAX_LABELS`).
    pub label: Option<Vec<String>>,
}

/// The page and label filters of a listing's query string; an unknown parameter is refused by name.
pub fn parse_runs_query(qs: &str) -> Result<(PageQuery, Vec<(String, String)>)> {
    let mut page = PageQuery::default();
    let mut labels = Vec::new();
    for (k, v) in url::form_urlencoded::parse(qs.as_bytes()) {
        match k.as_ref() {
            "limit" => {
                page.limit =
                    Some(v.parse::<u32>().map_err(|_| Error::field("limit", "limit must be between 1 and 1000"))?)
            }
            "cursor" => page.cursor = Some(v.into_owned()),
            "label" => labels.push(v.into_owned()),
            other => {
                return Err(Error::field(other, format!("unknown query parameter {other:?}; use limit, cursor, label")))
            }
        }
    }
    Ok((page, identity::parse_filters(&labels)?))
}

/// The body's identity fields, checked (the baseline is resolved later, with the project).
pub fn check(name: Option<&str>, labels: Option<&BTreeMap<String, String>>) -> Result<()> {
    if let Some(n) = name {
        identity::validate_name(n)?;
    }
    if let Some(l) = labels {
        identity::validate_labels(l)?;
    }
    Ok(())
}

/// `gate.no_regression` needs a baseline to compare with.
pub fn check_no_regression(no_regression: bool, baseline: Option<&str>, field: &str) -> Result<()> {
    if no_regression && baseline.is_none() {
        return Err(Error::field(
            field,
            format!("gate.no_regression needs a baseline: give {field} (\"label=KEY:VALUE\" or a run id)"),
        ));
    }
    Ok(())
}

/// The run's identity with its baseline resolved in this project (a read of the store).
pub fn resolve(
    conn: &Connection,
    org: &str,
    project: &str,
    kind: &str,
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    baseline: Option<(&str, &str)>,
) -> Result<Identity> {
    let baseline_id = match baseline {
        Some((field, r)) => Some(identity::resolve_baseline(conn, org, project, kind, field, r)?),
        None => None,
    };
    Ok(Identity { name, labels: labels.unwrap_or_default(), baseline_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_query_takes_repeated_labels_and_refuses_the_rest() {
        let (p, l) = parse_runs_query("limit=2&label=branch%3Amain&label=model:gpt-4o").unwrap();
        assert_eq!(p.limit, Some(2));
        assert_eq!(l, vec![("branch".into(), "main".into()), ("model".into(), "gpt-4o".into())]);
        assert!(parse_runs_query("label=nocolon").is_err());
        assert!(parse_runs_query("lable=a:b").is_err());
        assert!(parse_runs_query("").unwrap().1.is_empty());
    }
}
