//! Severity policy, custom buckets, summary and gate.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::severity::{apply_systemic, SeverityOverrides};
use super::summary::{evaluate_gate, summarize, Gate};
use super::*;

fn analyzer() -> Analyzer {
    Analyzer::new(&AnalysisSpec::new()).unwrap()
}

fn tool_item(repeats: usize) -> AnalysisItem {
    let mut item = AnalysisItem { input: "Weather in Oslo?".into(), output: "Cloudy.".into(), ..Default::default() };
    let call = json!({"name": "get_weather", "arguments": {"city": "Oslo"}});
    item.metadata.insert("tool_calls".into(), json!(vec![call; repeats]));
    item.metadata.insert("tools".into(), json!([{"name": "get_weather", "parameters": {"type": "object"}}]));
    item
}

fn check<'a>(v: &'a ItemVerdict, sub: &str) -> &'a Check {
    v.checks.iter().find(|c| c.subcategory == sub).unwrap()
}

#[test]
fn verdict_json_uses_the_contract_field_names() {
    let v = analyzer().analyze_deterministic(&tool_item(3));
    let j = serde_json::to_value(&v).unwrap();
    for key in ["failed", "bucket", "subcategory", "severity", "confidence", "reason", "evidence", "checks"] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    let c = &j["checks"][0];
    for key in ["bucket", "subcategory", "decision", "severity", "confidence", "evidence"] {
        assert!(c.get(key).is_some(), "check missing {key}");
    }
    assert_eq!(j["subcategory"], "redundant_calls");
    assert_eq!(j["severity"], "low");
}

#[test]
fn missing_inputs_are_not_applicable_never_pass() {
    let v = analyzer().analyze_deterministic(&AnalysisItem {
        input: "hi".into(),
        output: "hello".into(),
        ..Default::default()
    });
    for sub in [
        "format_violation",
        "constraint_violation",
        "missing_context",
        "fabricated_citation",
        "invalid_arguments",
        "redundant_calls",
    ] {
        assert_eq!(check(&v, sub).decision, Decision::NotApplicable, "{sub}");
    }
    assert!(!v.failed);
}

#[test]
fn severity_rules() {
    let a = analyzer();
    let mut item = tool_item(3);
    assert_eq!(check(&a.analyze_deterministic(&item), "redundant_calls").severity, Severity::Low);
    item.metadata.insert("high_stakes".into(), json!(true));
    let v = a.analyze_deterministic(&item);
    assert_eq!(check(&v, "redundant_calls").severity, Severity::Medium);
    assert_eq!(check(&v, "redundant_calls").severity_notes.len(), 1);
    // A repeated call to a tool with side effects is deterministic evidence: critical.
    let mut pay = tool_item(3);
    pay.metadata.insert("tool_calls".into(), json!(vec![json!({"name": "send_payment", "arguments": {"to": "x"}}); 3]));
    pay.metadata.insert("tools".into(), json!([{"name": "send_payment", "parameters": {"type": "object"}}]));
    assert_eq!(a.analyze_deterministic(&pay).severity, Some(Severity::Critical));
    // A Luhn-valid card is critical; a number failing the checksum is no finding at all.
    let card = AnalysisItem { input: "?".into(), output: "Card 4111 1111 1111 1111.".into(), ..Default::default() };
    assert_eq!(check(&a.analyze_deterministic(&card), "pii_leak").severity, Severity::Critical);
    let not_card = AnalysisItem { output: "Card 4111 1111 1111 1112.".into(), ..card.clone() };
    assert_eq!(check(&a.analyze_deterministic(&not_card), "pii_leak").decision, Decision::Pass);
    // Project overrides, qualified or bare.
    let mut overrides = SeverityOverrides::new();
    overrides.insert("tool_use.redundant_calls".into(), Severity::High);
    let spec = AnalysisSpec { severity_overrides: overrides, ..AnalysisSpec::new() };
    assert_eq!(Analyzer::new(&spec).unwrap().analyze_deterministic(&tool_item(3)).severity, Some(Severity::High));
    let mut bad = SeverityOverrides::new();
    bad.insert("nonsense".into(), Severity::High);
    let err = Analyzer::new(&AnalysisSpec { severity_overrides: bad, ..AnalysisSpec::new() }).unwrap_err();
    assert_eq!(err.field, "severity_overrides.nonsense");
}

#[test]
fn systemic_needs_a_fifth_of_applicable_items_and_three_of_them() {
    let a = analyzer();
    let run = |failing: usize, total: usize| {
        let mut verdicts: Vec<ItemVerdict> =
            (0..total).map(|i| a.analyze_deterministic(&tool_item(if i < failing { 3 } else { 1 }))).collect();
        let systemic = apply_systemic(&mut verdicts);
        (systemic, verdicts)
    };
    let (systemic, verdicts) = run(3, 10);
    assert_eq!(systemic.len(), 1);
    assert_eq!((systemic[0].failed, systemic[0].applicable), (3, 10));
    assert_eq!(verdicts[0].severity, Some(Severity::Medium), "one step up from low");
    assert_eq!(check(&verdicts[5], "redundant_calls").severity, Severity::Low, "passing checks are not raised");
    assert!(run(2, 5).0.is_empty(), "40% but only 2 items");
    assert!(run(3, 16).0.is_empty(), "3 items but under 20%");
}

#[test]
fn summary_and_gate() {
    let a = analyzer();
    let mut verdicts: Vec<ItemVerdict> =
        (0..10).map(|i| a.analyze_deterministic(&tool_item(if i < 4 { 3 } else { 1 }))).collect();
    let card = AnalysisItem { input: "?".into(), output: "Card 4111 1111 1111 1111.".into(), ..Default::default() };
    verdicts.push(a.analyze_deterministic(&card));
    let systemic = apply_systemic(&mut verdicts);
    let s = summarize(&verdicts, &systemic, &Gate::default(), None);
    assert_eq!((s.items, s.failed), (11, 5));
    let tools = &s.buckets["tool_use"];
    assert_eq!(tools.failed, 4);
    assert!((tools.share - 4.0 / 11.0).abs() < 1e-9);
    assert_eq!(tools.subcategories["redundant_calls"], 4);
    assert_eq!(tools.severity.medium, 4, "systemic raised low → medium");
    assert_eq!(tools.examples.len(), 3);
    assert_eq!(s.buckets["safety"].severity.critical, 1);
    assert!(s.gate.passed && !s.should_gate_ci);
    let gate = Gate::parse(&json!({"max_severity": "high", "max_share": {"tool_use": 0.3}}), a.taxonomy()).unwrap();
    let r = evaluate_gate(&gate, &s, None);
    assert!(!r.passed);
    assert_eq!(r.reasons.len(), 2, "{:?}", r.reasons);
    assert!(r.reasons.iter().any(|m| m.contains("tool_use") && m.contains("36.4%")));
    // Regression against a baseline without those failures.
    let clean: Vec<ItemVerdict> = (0..40).map(|_| a.analyze_deterministic(&tool_item(1))).collect();
    let base = summarize(&clean, &[], &Gate::default(), None);
    let nr = Gate { no_regression: true, ..Gate::default() };
    let r = evaluate_gate(&nr, &s, Some(&base));
    assert!(!r.passed && r.reasons.iter().any(|m| m.contains("tool_use regressed")), "{:?}", r.reasons);
    assert!(evaluate_gate(&nr, &base, Some(&base)).passed);
    assert!(!evaluate_gate(&nr, &base, None).passed, "fails closed without a baseline");
    for (gate, field) in [
        (json!({"max_severity": "huge"}), "gate.max_severity"),
        (json!({"max_share": {"tool_use": 2}}), "gate.max_share.tool_use"),
        (json!({"max_share": {"nope": 0.1}}), "gate.max_share.nope"),
        (json!({"no_regression": "yes"}), "gate.no_regression"),
    ] {
        assert_eq!(Gate::parse(&gate, a.taxonomy()).unwrap_err().field, field);
    }
}

#[test]
fn custom_buckets_are_validated_naming_the_field() {
    let cases = [
        (json!([{"name": "Bad Name", "definition": "d", "severity": "low"}]), "buckets[0].name"),
        (json!([{"name": "safety", "definition": "d", "severity": "low"}]), "buckets[0].name"),
        (json!([{"name": "x", "severity": "low"}]), "buckets[0].definition"),
        (json!([{"name": "x", "definition": "d"}]), "buckets[0].severity"),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "regex", "pattern": "("}]}]),
            "buckets[0].rules[0].pattern",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "keywords", "keywords": []}]}]),
            "buckets[0].rules[0].keywords",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "keywords", "keywords": ["a"], "field": "nope"}]}]),
            "buckets[0].rules[0].field",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "json_path", "path": "status", "equals": 1}]}]),
            "buckets[0].rules[0].path",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "json_path", "path": "$.a"}]}]),
            "buckets[0].rules[0].equals",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "rules": [{"type": "magic"}]}]),
            "buckets[0].rules[0].type",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low", "examples": [{"input": "i", "output": "o", "verdict": "maybe"}]}]),
            "buckets[0].examples[0].verdict",
        ),
        (
            json!([{"name": "x", "definition": "d", "severity": "low"}, {"name": "x", "definition": "d", "severity": "low"}]),
            "buckets[1].name",
        ),
    ];
    for (buckets, field) in cases {
        let err = Analyzer::new(&AnalysisSpec { buckets: Some(buckets.clone()), ..AnalysisSpec::new() }).unwrap_err();
        assert_eq!(err.field, field, "{buckets}");
    }
    let none = AnalysisSpec { builtin: false, ..AnalysisSpec::new() };
    assert_eq!(Analyzer::new(&none).unwrap_err().field, "buckets");
}

#[test]
fn custom_rules_decide_and_rubrics_reach_the_judge() {
    let buckets = json!([
        {"name": "refund_promise", "definition": "Promises a refund.", "severity": "high",
         "rules": [{"type": "keywords", "keywords": ["Full Refund"]}, {"type": "json_path", "path": "$.output.status", "equals": "refunded"}]},
        {"name": "tone", "definition": "Rude to the customer.", "severity": "medium", "rubric": "Fail when the answer is curt or mocking.",
         "examples": [{"input": "Where is my parcel?", "output": "Read the email, genius.", "verdict": "fail"}]}
    ]);
    let a = Analyzer::new(&AnalysisSpec { buckets: Some(buckets), ..AnalysisSpec::new() }).unwrap();
    assert!(a.taxonomy().buckets.len() == 8 && a.taxonomy().buckets[0].builtin);
    let kw = AnalysisItem { input: "?".into(), output: "You get a full refund.".into(), ..Default::default() };
    assert_eq!(check(&a.analyze_deterministic(&kw), "refund_promise").decision, Decision::Fail);
    let js = AnalysisItem { input: "?".into(), output: "{\"status\": \"refunded\"}".into(), ..Default::default() };
    let v = a.analyze_deterministic(&js);
    assert_eq!(check(&v, "refund_promise").decision, Decision::Fail);
    assert_eq!(v.bucket.as_deref(), Some("refund_promise"));
    let calm = AnalysisItem { input: "?".into(), output: "It ships today.".into(), ..Default::default() };
    let pre = a.precheck(&calm);
    let prompt = a.judge_prompt(&calm, &pre).unwrap();
    assert!(prompt.user.contains("### tone.tone") && prompt.user.contains("Read the email, genius."));
    assert!(!prompt.user.contains("refund_promise"), "decided by its rules");
}
