#![allow(clippy::unwrap_used)]
use super::*;
use crate::domain::{Code, Item, Score, ScoreError};
use crate::runs::model::{GateSpec, RunStatus};
use crate::runs::summary::Aggregator;

fn item(id: Option<&str>, input: &str, output: &str) -> Item {
    let mut v = serde_json::json!({"input": input, "output": output, "expected": "Paris"});
    if let Some(id) = id {
        v["id"] = serde_json::json!(id);
    }
    serde_json::from_value(v).unwrap()
}

fn result(index: u64, item: Item, scores: Vec<Score>, elapsed_ms: u64) -> ItemResult {
    let o = crate::runs::summary::Outcome::of(&scores);
    ItemResult {
        index,
        item,
        passed: o == crate::runs::summary::Outcome::Passed,
        errored: o == crate::runs::summary::Outcome::Errored,
        scores,
        analysis: None,
        findings: None,
        elapsed_ms: Some(elapsed_ms),
        target: None,
        attempt: None,
    }
}

/// Three items: one passed, one failed, one that failed a scorer and errored another.
fn sample() -> (Summary, Vec<ItemResult>) {
    let err = Score {
        error: Some(ScoreError::new(Code::ByokRateLimited, "429 after retries")),
        ..Score::new("judge", 0.0, false, "")
    };
    let results = vec![
        result(0, item(Some("ok-1"), "q", "Paris"), vec![Score::new("equals", 1.0, true, "same")], 1500),
        result(1, item(None, "q\u{1}", "Lyon <b>"), vec![Score::new("equals", 0.0, false, "differs")], 20),
        result(
            2,
            item(Some("both"), &"x".repeat(MAX_FIELD_CHARS + 10), "Lyon"),
            vec![Score::new("equals", 0.0, false, "differs"), err],
            7,
        ),
    ];
    let mut agg = Aggregator::new(vec!["equals".into(), "judge".into()]);
    for r in &results {
        agg.add(&r.scores);
    }
    (agg.finish(3, &GateSpec::default(), RunStatus::Completed), results)
}

#[derive(Default, Debug)]
struct Read {
    suite: Vec<(String, String)>,
    cases: Vec<Vec<(String, String)>>,
    /// (element, message) per failure/error, with the index of its case.
    outcomes: Vec<(usize, String, String)>,
    system_out: Vec<String>,
}

/// The report read back with a real XML parser (panics if it is not well-formed).
fn read(xml: &str) -> Read {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Read::default();
    let attrs = |e: &quick_xml::events::BytesStart<'_>| -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.unwrap();
                (String::from_utf8(a.key.as_ref().to_vec()).unwrap(), a.unescape_value().unwrap().into_owned())
            })
            .collect()
    };
    let mut in_out = false;
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == b"testsuite" => out.suite = attrs(&e),
            Event::Start(e) if e.name().as_ref() == b"testcase" => out.cases.push(attrs(&e)),
            Event::Start(e) if matches!(e.name().as_ref(), b"failure" | b"error") => {
                let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let msg = attrs(&e).into_iter().find(|(k, _)| k == "message").unwrap().1;
                out.outcomes.push((out.cases.len() - 1, tag, msg));
            }
            Event::Start(e) if e.name().as_ref() == b"system-out" => in_out = true,
            Event::Text(t) if in_out => out.system_out.push(t.unescape().unwrap().into_owned()),
            Event::End(e) if e.name().as_ref() == b"system-out" => in_out = false,
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn attr<'a>(a: &'a [(String, String)], k: &str) -> &'a str {
    a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap()
}

#[test]
fn one_case_per_item_with_times_output_and_both_failure_and_error() {
    let (summary, results) = sample();
    let xml = render("gavel.web", Some("nightly"), &summary, &results, 9.0);
    let doc = read(&xml);
    assert_eq!(doc.cases.len(), 3);
    let names: Vec<&str> = doc.cases.iter().map(|c| attr(c, "name")).collect();
    assert_eq!(names, ["ok-1", "1", "both"], "named by id, else index");
    assert!(doc.cases.iter().all(|c| attr(c, "classname") == "nightly"));
    assert_eq!(attr(&doc.cases[0], "time"), "1.500");
    // Totals are what the elements say: 2 failures, 1 error, time the sum of the cases'.
    assert_eq!((attr(&doc.suite, "tests"), attr(&doc.suite, "failures"), attr(&doc.suite, "errors")), ("3", "2", "1"));
    assert_eq!(attr(&doc.suite, "time"), "1.527");
    let both: Vec<_> = doc.outcomes.iter().filter(|(i, _, _)| *i == 2).collect();
    assert_eq!(both.len(), 2, "failure and error side by side: {both:?}");
    assert!(both[0].1 == "failure" && both[0].2.contains("equals failed") && both[0].2.contains("differs"));
    assert!(both[1].1 == "error" && both[1].2.contains("judge errored") && both[1].2.contains("BYOK_RATE_LIMITED"));
    // system-out: input, output, expected; forbidden characters shown, long fields cut with a marker.
    assert!(doc.system_out[1].contains("q\\u{1}") && doc.system_out[1].contains("Lyon <b>"), "{:?}", doc.system_out);
    assert!(doc.system_out[2].contains("…[truncated 10 chars]"), "{}", &doc.system_out[2][..80]);
    assert!(doc.system_out[0].contains("expected:\nParis"));
}

#[test]
fn escaping_keeps_forbidden_characters_visible_and_attributes_keep_line_breaks() {
    assert_eq!(escape("a<b>&\"c'\u{1}d\n"), "a&lt;b&gt;&amp;&quot;c&apos;\\u{1}d\n");
    assert_eq!(escape_attr("a\nb\tc"), "a&#10;b&#9;c");
    assert_eq!(truncate("héllo", 2), "hé…[truncated 3 chars]");
    assert_eq!(truncate("hé", 2), "hé");
}
