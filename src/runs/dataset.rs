//! Dataset bodies: a JSON array, JSONL or CSV, parsed with line-numbered errors. A dataset with one bad line
//! is refused whole, so nothing half-parsed is ever stored.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::model::Item;
use crate::error::{Error, Result};

/// The body formats a dataset can come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Jsonl,
    Csv,
}

impl Format {
    /// From a Content-Type header value; `None` for a type we do not take.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(Format::Json),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" | "application/jsonlines" => {
                Some(Format::Jsonl)
            }
            "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// From a file name (the CLI).
    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Format::Csv,
            Some("jsonl") | Some("ndjson") => Format::Jsonl,
            _ => Format::Json,
        }
    }
}

/// Most items one dataset may hold.
pub const MAX_ITEMS: usize = 5_000_000;

fn bad(message: String, details: Value) -> Error {
    Error::Validation { message, details }
}

/// Parse a body into items.
pub fn parse(format: Format, body: &[u8]) -> Result<Vec<Item>> {
    // Editors on Windows start UTF-8 files with a byte-order mark; it is not part of the data in any format.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let items = match format {
        Format::Json => parse_json(body)?,
        Format::Jsonl => parse_jsonl(body)?,
        Format::Csv => parse_csv(body)?,
    };
    if items.is_empty() {
        return Err(bad("the dataset has no items".into(), serde_json::json!({"field": "dataset"})));
    }
    if items.len() > MAX_ITEMS {
        return Err(bad(
            format!("the dataset has more than {MAX_ITEMS} items"),
            serde_json::json!({"field": "dataset"}),
        ));
    }
    Ok(items)
}

/// A JSON array of items, or `{"items": [...]}`; errors name the item index or the line and column. Items are
/// read from their own JSON text (not through a `Value`), so a number in `expected` keeps every digit.
pub fn parse_json(body: &[u8]) -> Result<Vec<Item>> {
    #[derive(serde::Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow)]
        items: Vec<&'a RawValue>,
    }
    let not_a_list =
        || bad("a JSON dataset is an array of items (or {\"items\": [...]})".into(), serde_json::json!({}));
    let raw = match serde_json::from_slice::<&RawValue>(body) {
        Ok(raw) => raw.get(),
        Err(e) => {
            return Err(bad(
                format!("line {}: invalid JSON: {e}", e.line()),
                serde_json::json!({"line": e.line(), "column": e.column()}),
            ))
        }
    };
    let raws = if raw.starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(raw).map_err(|_| not_a_list())?
    } else if raw.starts_with('{') {
        serde_json::from_str::<Wrapped<'_>>(raw).map_err(|_| not_a_list())?.items
    } else {
        return Err(bad("a JSON dataset is an array of items".into(), serde_json::json!({})));
    };
    raws.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            serde_json::from_str::<Item>(raw.get()).map_err(|e| {
                bad(format!("item {i}: {e}"), serde_json::json!({"item": i, "field": format!("dataset[{i}]")}))
            })
        })
        .collect()
}

/// An item may leave out `output` only where a target will produce it: refuse the first one without, naming it.
pub fn require_outputs(items: &[Item]) -> Result<()> {
    match items.iter().position(|it| it.output.is_null()) {
        None => Ok(()),
        Some(i) => Err(Error::field(
            &format!("dataset[{i}].output"),
            format!("item {i} has no output: give one, or a `target` that produces it"),
        )),
    }
}

/// Validate already-parsed item values (inline datasets of a run).
pub fn items_from_values(values: Vec<Value>) -> Result<Vec<Item>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<Item>(v).map_err(|e| {
                bad(format!("item {i}: {e}"), serde_json::json!({"item": i, "field": format!("dataset[{i}]")}))
            })
        })
        .collect()
}

/// One JSON object per line; blank lines are skipped; errors name the 1-based line.
pub fn parse_jsonl(body: &[u8]) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = n + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item: Item = serde_json::from_slice(line).map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() { "not valid JSON" } else { "not a valid item" };
            bad(format!("line {line_no}: {what}: {e}"), serde_json::json!({"line": line_no}))
        })?;
        items.push(item);
    }
    Ok(items)
}

/// CSV with a header row. Known columns: id, input, output, context (a string, or a JSON array in the cell),
/// expected, metadata (a JSON object); any other column goes into `metadata`.
pub fn parse_csv(body: &[u8]) -> Result<Vec<Item>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| bad(format!("line 1: unreadable CSV header: {e}"), serde_json::json!({"line": 1})))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    // Without an `output` column the items wait for a run's target to produce their outputs.
    let (input, output) = (col("input"), col("output"));
    let Some(input) = input else {
        return Err(bad("line 1: the CSV header has no `input` column".into(), serde_json::json!({"line": 1})));
    };
    let (id, context, expected, metadata) = (col("id"), col("context"), col("expected"), col("metadata"));
    let known = [Some(input), output, id, context, expected, metadata];
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            bad(format!("line {line}: {e}"), serde_json::json!({"line": line}))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let mut meta = Map::new();
        if let Some(m) = metadata.filter(|&m| !cell(Some(m)).trim().is_empty()) {
            match serde_json::from_str::<Value>(cell(Some(m))) {
                Ok(Value::Object(o)) => meta = o,
                _ => {
                    return Err(bad(
                        format!("line {line}: the metadata cell is not a JSON object"),
                        serde_json::json!({"line": line}),
                    ))
                }
            }
        }
        for (i, h) in headers.iter().enumerate() {
            if !known.contains(&Some(i)) {
                meta.insert(h.to_string(), Value::String(record.get(i).unwrap_or("").to_string()));
            }
        }
        let ctx_text = cell(context).trim();
        let ctx = if ctx_text.starts_with('[') {
            serde_json::from_str::<Vec<String>>(ctx_text).map_err(|e| {
                bad(
                    format!("line {line}: the context cell is not a JSON array of strings: {e}"),
                    serde_json::json!({"line": line}),
                )
            })?
        } else if ctx_text.is_empty() {
            Vec::new()
        } else {
            vec![cell(context).to_string()]
        };
        items.push(Item {
            id: id.map(|_| cell(id)).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_string())),
            input: Value::String(cell(Some(input)).to_string()),
            output: output.map_or(Value::Null, |o| Value::String(cell(Some(o)).to_string())),
            context: ctx,
            expected: expected.map(|_| cell(expected)).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_string())),
            metadata: (!meta.is_empty()).then_some(meta),
            expected_exact: None,
        });
    }
    Ok(items)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn json_array_and_object() {
        let a = parse(Format::Json, br#"[{"input":"q","output":"a"},{"input":"q2","output":{"x":1},"expected":"a"}]"#)
            .unwrap();
        assert_eq!(a.len(), 2);
        let b = parse(Format::Json, br#"{"items":[{"input":"q","output":"a"}]}"#).unwrap();
        assert_eq!(b.len(), 1);
        assert!(message(parse(Format::Json, b"[{\"input\":\"q\",\"output\":\"a\"},\n{\"input\":").unwrap_err())
            .starts_with("line 2"));
        assert!(message(parse(Format::Json, br#"[{"input":"q","output":"a"},{"output":"q"}]"#).unwrap_err())
            .starts_with("item 1"));
        assert!(parse(Format::Json, b"[]").is_err());
        assert!(parse(Format::Json, b"42").is_err());
    }

    #[test]
    fn jsonl_names_the_line() {
        let ok = parse(Format::Jsonl, b"{\"input\":\"q\",\"output\":\"a\"}\r\n\n{\"input\":\"q\",\"output\":\"b\"}\n")
            .unwrap();
        assert_eq!(ok.len(), 2);
        let e = message(parse(Format::Jsonl, b"{\"input\":\"q\",\"output\":\"a\"}\n\nnot json\n").unwrap_err());
        assert!(e.starts_with("line 3: not valid JSON"), "{e}");
        let e = message(parse(Format::Jsonl, b"{\"input\":\"q\",\"output\":\"a\"}\n{\"output\":\"q\"}\n").unwrap_err());
        assert!(e.starts_with("line 2: not a valid item"), "{e}");
    }

    #[test]
    fn csv_columns_context_and_metadata() {
        let body = "id,input,output,context,expected,lang\n1,q,\"a, b\",\"[\"\"c1\"\",\"\"c2\"\"]\",a,en\n2,q2,naïve,plain ctx,,fr\n";
        let items = parse(Format::Csv, body.as_bytes()).unwrap();
        assert_eq!(items[0].output, Value::String("a, b".into()));
        assert_eq!(items[0].context, vec!["c1", "c2"]);
        assert_eq!(items[0].metadata.as_ref().unwrap()["lang"], "en");
        assert_eq!(items[1].context, vec!["plain ctx"]);
        assert_eq!(items[1].expected, None);
        let e = message(parse(Format::Csv, b"input,output\nq,a\nq,a,extra\n").unwrap_err());
        assert!(e.starts_with("line 3"), "{e}");
        let waiting = parse(Format::Csv, b"input,answer\nq,a\n").unwrap();
        assert!(waiting[0].output.is_null(), "without an output column the items wait for a target");
        assert!(message(parse(Format::Csv, b"question,output\nq,a\n").unwrap_err()).contains("input"));
        let e = message(parse(Format::Csv, b"input,output,context\nq,a,[broken\n").unwrap_err());
        assert!(e.starts_with("line 2"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_accepted_in_every_format() {
        for (format, body) in [
            (Format::Jsonl, "\u{feff}{\"input\":\"q\",\"output\":\"a\"}\n"),
            (Format::Json, "\u{feff}[{\"input\":\"q\",\"output\":\"a\"}]"),
            (Format::Csv, "\u{feff}input,output\nq,a\n"),
        ] {
            let items = parse(format, body.as_bytes()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(items[0].input, serde_json::json!("q"), "{format:?}");
        }
    }
}
