//! Exporting a run's results as CSV or JSONL, in pages: the producer reads [`EXPORT_PAGE_ROWS`] results at a time
//! from the store's read pool, formats them there (off the HTTP workers) and hands each page to a bounded channel,
//! so an export holds at most `EXPORT_CHANNEL_PAGES + 1` formatted pages in memory whatever the run's size.
//!
//! CSV columns: `index, id, input, output, expected, outcome`, then for each of the run's scorers (in the run's
//! order) `<scorer>.score, <scorer>.pass` (`true`, `false` or `unsure`), `<scorer>.reason`,
//! `<scorer>.error` (`CODE: message`, empty without an error). Text cells are the JSON value's text
//! (a string as it is, anything else as compact JSON, absent as empty). A text cell that a spreadsheet would read
//! as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`
//! ([`defuse`]): "CSV injection" is how a hostile item would otherwise run a formula on the reviewer's machine.
//! JSONL: one line per result, exactly the rows of `GET /v1/runs/{id}/results`.

use bytes::Bytes;
use serde_json::Value;

use super::analysis_filter::AnalysisFilter;
use super::model::{text_of, ItemResult};
use super::repo;
use super::summary::Outcome;
use crate::error::{Error, Result};
use crate::store::Store;

/// Results read, formatted and sent per page.
pub const EXPORT_PAGE_ROWS: u32 = 500;
/// Formatted pages that may wait in the channel for a slow client before the producer pauses.
pub const EXPORT_CHANNEL_PAGES: usize = 2;

/// `?format=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn parse(s: Option<&str>) -> Result<ExportFormat> {
        match s {
            Some("csv") => Ok(ExportFormat::Csv),
            Some("jsonl") => Ok(ExportFormat::Jsonl),
            None => Err(Error::field("format", "format is required: csv or jsonl")),
            Some(other) => Err(Error::field("format", format!("format {other:?} is not one of csv, jsonl"))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/x-ndjson",
        }
    }
}

/// The same filters as `GET /v1/runs/{id}/results`, validated.
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    pub outcome: Option<Outcome>,
    pub scorer: Option<String>,
    pub q: Option<String>,
    /// A failure analysis's `bucket`, `subcategory`, `severity` (checked against the run by the route).
    pub analysis: AnalysisFilter,
}

/// `status=` of the results filters.
pub fn parse_status(s: Option<&str>) -> Result<Option<Outcome>> {
    match s {
        None | Some("") => Ok(None),
        Some("passed") => Ok(Some(Outcome::Passed)),
        Some("failed") => Ok(Some(Outcome::Failed)),
        Some("errored") => Ok(Some(Outcome::Errored)),
        Some(other) => Err(Error::field("status", format!("status {other:?} is not one of passed, failed, errored"))),
    }
}

/// A text cell a spreadsheet will not evaluate: a leading `'` before `=`, `+`, `-`, `@`, tab or carriage return.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn text_cell(v: Option<&Value>) -> String {
    v.map(|v| defuse(&text_of(v)).into_owned()).unwrap_or_default()
}

/// The CSV header row for a run with these scorers.
pub fn csv_header(scorers: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut row: Vec<String> =
        ["index", "id", "input", "output", "expected", "outcome"].iter().map(|s| s.to_string()).collect();
    for s in scorers {
        for col in ["score", "pass", "reason", "error"] {
            row.push(defuse(&format!("{s}.{col}")).into_owned());
        }
    }
    w.write_record(&row).map_err(Error::internal)?;
    w.into_inner().map_err(|e| Error::internal(anyhow::anyhow!("csv: {e}")))
}

/// CSV rows of one page of results, columns as [`csv_header`].
pub fn csv_rows(scorers: &[String], rows: &[ItemResult]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(rows.len() * 256));
    for r in rows {
        let outcome = if r.errored {
            "errored"
        } else if r.passed {
            "passed"
        } else {
            "failed"
        };
        let mut rec: Vec<String> = vec![
            r.index.to_string(),
            text_cell(r.item.id.as_ref()),
            text_cell(Some(&r.item.input)),
            text_cell(Some(&r.item.output)),
            text_cell(r.item.expected.as_ref()),
            outcome.to_string(),
        ];
        for name in scorers {
            match r.scores.iter().find(|s| &s.scorer == name) {
                Some(s) => {
                    rec.push(s.score.to_string());
                    rec.push(if s.unsure { "unsure".to_string() } else { s.pass.to_string() });
                    rec.push(defuse(&s.reason).into_owned());
                    rec.push(
                        s.error
                            .as_ref()
                            .map(|e| defuse(&format!("{}: {}", e.code, e.message)).into_owned())
                            .unwrap_or_default(),
                    );
                }
                None => rec.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        w.write_record(&rec).map_err(Error::internal)?;
    }
    w.into_inner().map_err(|e| Error::internal(anyhow::anyhow!("csv: {e}")))
}

/// JSONL lines of one page of results.
pub fn jsonl_rows(rows: &[ItemResult]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(rows.len() * 256);
    for r in rows {
        serde_json::to_writer(&mut out, r).map_err(Error::internal)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Send the export of `run_id` page by page into `tx` (the header first, for CSV). Stops quietly when the client
/// went away (the receiver is dropped); a store failure mid-way is sent as an error, which aborts the response so a
/// client never takes a truncated file for a whole one.
pub async fn produce(
    store: Store,
    run_id: String,
    scorers: Vec<String>,
    format: ExportFormat,
    filter: ExportFilter,
    tx: tokio::sync::mpsc::Sender<Result<Bytes>>,
) {
    if format == ExportFormat::Csv {
        let header = csv_header(&scorers).map(Bytes::from);
        if tx.send(header).await.is_err() {
            return;
        }
    }
    let mut after: Option<u64> = None;
    loop {
        let (id, sc, f) = (run_id.clone(), scorers.clone(), filter.clone());
        let page = store
            .read(move |c| {
                let mut rows = repo::list_results(
                    c,
                    &id,
                    after,
                    f.outcome,
                    f.scorer.as_deref(),
                    f.q.as_deref(),
                    &f.analysis,
                    EXPORT_PAGE_ROWS,
                )?;
                let more = rows.len() > EXPORT_PAGE_ROWS as usize;
                rows.truncate(EXPORT_PAGE_ROWS as usize);
                let last = rows.last().map(|r| r.index);
                let bytes = match format {
                    ExportFormat::Csv => csv_rows(&sc, &rows)?,
                    ExportFormat::Jsonl => jsonl_rows(&rows)?,
                };
                Ok((Bytes::from(bytes), last.filter(|_| more)))
            })
            .await;
        match page {
            Ok((bytes, next)) => {
                if !bytes.is_empty() && tx.send(Ok(bytes)).await.is_err() {
                    return;
                }
                match next {
                    Some(n) => after = Some(n),
                    None => return,
                }
            }
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "export stopped");
                tx.send(Err(e)).await.ok();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_is_not() {
        for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(bad), format!("'{bad}"));
        }
        for ok in ["Paris", "", "a=b", "'quoted"] {
            assert_eq!(defuse(ok), ok);
        }
    }

    #[test]
    fn header_has_four_columns_per_scorer() {
        let h = String::from_utf8(csv_header(&["contains".into(), "eq".into()]).unwrap()).unwrap();
        assert_eq!(
            h.trim_end(),
            "index,id,input,output,expected,outcome,contains.score,contains.pass,contains.reason,contains.error,\
             eq.score,eq.pass,eq.reason,eq.error"
        );
    }

    #[test]
    fn an_unknown_format_names_the_field() {
        let Err(Error::Validation { details, .. }) = ExportFormat::parse(Some("xml")) else { panic!("accepted") };
        assert_eq!(details["field"], "format");
        assert_eq!(ExportFormat::parse(Some("jsonl")).unwrap(), ExportFormat::Jsonl);
    }
}
