//! The judge-reply corpus: replies in the shapes real judges produce (written for these tests, in the styles of
//! GPT-4o/4.1/5, Claude, Gemini, Llama and Qwen), each with the reading a careful person would make.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::json;

use super::*;

const UNIT: (f64, f64) = (0.0, 1.0);
const FIVE: (f64, f64) = (1.0, 5.0);
const TEN: (f64, f64) = (1.0, 10.0);

/// (label, reply, scale, expected score or None for unparseable, expected pass).
type Case = (&'static str, &'static str, (f64, f64), Option<f64>, Option<bool>);

const CORPUS: &[Case] = &[
    // GPT-4o / 4.1 with structured output: bare JSON.
    ("gpt-4o bare", r#"{"score": 0.8, "pass": true, "reason": "Mostly right; misses the date."}"#, UNIT, Some(0.8), Some(true)),
    ("gpt-4.1 bare, 1-5", r#"{"score": 4, "pass": true, "reason": "Accurate and concise."}"#, FIVE, Some(0.75), Some(true)),
    ("gpt-4.1 worst on 1-5", r#"{"score": 1, "pass": false, "reason": "Wrong answer."}"#, FIVE, Some(0.0), Some(false)),
    ("gpt-4o fenced", "```json\n{\"score\": 1, \"reason\": \"exact\"}\n```", UNIT, Some(1.0), None),
    ("gpt-4o fenced + sign-off", "```\n{\"score\": 0.25, \"pass\": false, \"reason\": \"misses the point\"}\n```\nLet me know if you need more detail!", UNIT, Some(0.25), Some(false)),
    ("gpt-5 prose then JSON", "The output answers the question and cites the context correctly. One minor omission.\n\n{\"score\": 0.9, \"pass\": true, \"reason\": \"Correct, one minor omission.\"}", UNIT, Some(0.9), Some(true)),
    ("gpt-5 score as string", r#"{"score": "0.6", "pass": "true", "reason": "Partly correct."}"#, UNIT, Some(0.6), Some(true)),
    ("gpt-4o pass yes/no", r#"{"score": 0.3, "pass": "no", "reason": "Unsupported claim."}"#, UNIT, Some(0.3), Some(false)),
    ("gpt-4o pass 1", r#"{"score": 0.95, "pass": 1, "reason": "Good."}"#, UNIT, Some(0.95), Some(true)),
    ("gpt-4o pass 0", r#"{"score": 0.1, "pass": 0, "reason": "Bad."}"#, UNIT, Some(0.1), Some(false)),
    ("gpt-4o pass YES", r#"{"score": 0.7, "pass": "YES", "reason": "Fine."}"#, UNIT, Some(0.7), Some(true)),
    ("percent string", r#"{"score": "85%", "reason": "good"}"#, UNIT, Some(0.85), None),
    ("fraction string", r#"{"score": "4/5", "reason": "good"}"#, UNIT, Some(0.8), None),
    ("fraction string on 1-5 rubric", r#"{"score": "1/5", "reason": "poor"}"#, FIVE, Some(0.0), None),
    ("out-of string", r#"{"score": "8 out of 10", "pass": true, "reason": "solid"}"#, UNIT, Some(0.8), Some(true)),
    ("max_score stated", r#"{"score": 7, "max_score": 10, "reason": "ok"}"#, UNIT, Some(0.7), None),
    // Claude: prose, then the verdict; sometimes a draft object first.
    ("claude prose + JSON", "I'll evaluate the response against the rubric.\n\nThe response correctly identifies the capital but adds an invented population figure {approx. 3M}.\n\n{\"score\": 0.4, \"pass\": false, \"reason\": \"Invented population figure.\"}", UNIT, Some(0.4), Some(false)),
    ("claude two objects, final wins", "My first impression was {\"score\": 0.9, \"pass\": true}. On reflection the second claim is unsupported.\n\nFinal verdict:\n```json\n{\"score\": 0.5, \"pass\": false, \"reason\": \"Second claim unsupported.\"}\n```", UNIT, Some(0.5), Some(false)),
    ("claude thinking block with a decoy", "<thinking>If it were perfect I would output {\"score\": 1.0, \"pass\": true}. But the date is wrong.</thinking>\n{\"score\": 0.2, \"pass\": false, \"reason\": \"Wrong date.\"}", UNIT, Some(0.2), Some(false)),
    ("claude bold markdown around a fence", "**Evaluation**\n\nThe answer is **correct** and complete.\n\n**Verdict:**\n```json\n{\"score\": 5, \"pass\": true, \"reason\": \"Correct and complete.\"}\n```", FIVE, Some(1.0), Some(true)),
    ("claude braces in strings", r#"Here is my evaluation: {"reason": "braces } inside \" strings", "score": "0.6", "pass": "true"}"#, UNIT, Some(0.6), Some(true)),
    ("claude nested analysis", r#"{"analysis": {"claims": 3, "supported": 2}, "score": 0.66, "reason": "one claim unsupported"}"#, UNIT, Some(0.66), None),
    ("claude verdict wrapper", r#"{"verdict": {"score": 3, "pass": true}, "notes": "fine"}"#, FIVE, Some(0.5), Some(true)),
    // Gemini: "Score: 4/5" prose next to JSON with a bare number.
    ("gemini score 4/5 in prose", "**Score: 4/5**\n\nThe answer is accurate but terse.\n\n```json\n{\"score\": 4, \"reason\": \"Accurate but terse.\"}\n```", UNIT, Some(0.8), None),
    ("gemini 8 out of 10 in prose", "I would rate this 8 out of 10.\n{\"score\": 8, \"pass\": true, \"reason\": \"Good\"}", UNIT, Some(0.8), Some(true)),
    ("gemini Score: 3 (1-5)", "Score: 3 (1-5)\n{\"score\": 3, \"reason\": \"Average.\"}", UNIT, Some(0.5), None),
    ("gemini scale stated", "On a scale of 1 to 10, this deserves a 10.\n{\"score\": 10, \"pass\": true, \"reason\": \"Perfect.\"}", UNIT, Some(1.0), Some(true)),
    ("gemini trailing explanation", "{\"score\": 0.0, \"pass\": false, \"reason\": \"toxic\", \"categories\": [\"insult\"]}\n\nExplanation: the output contains a direct insult aimed at the user.", UNIT, Some(0.0), Some(false)),
    // Llama: capitalised keys, trailing chatter, truncation.
    ("llama capitalised keys", "Here is the evaluation:\n{\"Score\": 0.75, \"Pass\": \"Yes\", \"reason\": \"Mostly relevant.\"}\nI hope this helps!", UNIT, Some(0.75), Some(true)),
    ("llama 1-10 rubric", r#"{"score": 7, "pass": true, "reason": "Good."}"#, TEN, Some(6.0 / 9.0), Some(true)),
    ("llama truncated after score", "{\"score\": 0.8, \"pass\": true, \"reason\": \"The answer covers the main points but the sec", UNIT, Some(0.8), Some(true)),
    ("llama truncated inside score", "{\"reason\": \"The answer covers the main points\", \"sco", UNIT, None, None),
    // Qwen / DeepSeek-style reasoning models.
    ("qwen think block", "<think>\nThe user asks for 2+2. The output says 5. That is wrong. Score should be low, maybe {\"score\": 0.1}.\n</think>\n\n{\"score\": 0.0, \"pass\": false, \"reason\": \"2+2 is 4, not 5.\"}", UNIT, Some(0.0), Some(false)),
    ("qwen lone closing think", "The output is correct. I am confident. {\"score\": 0.2} would be too harsh.\n</think>\n{\"score\": 0.9, \"pass\": true, \"reason\": \"Correct.\"}", UNIT, Some(0.9), Some(true)),
    ("qwen reasoning fence", "```reasoning\nLooks good; {\"score\": 0.1} would be wrong.\n```\n```json\n{\"score\": 0.85, \"pass\": true, \"reason\": \"Good.\"}\n```", UNIT, Some(0.85), Some(true)),
    ("reasoning only, cut off", "<think>\nLet me weigh the claims one by one. First, {\"score\": 0.4", UNIT, None, None),
    // Refusals, empties and non-verdicts: unparseable, never guessed.
    ("gpt refusal", "I cannot evaluate this content.", UNIT, None, None),
    ("claude refusal", "I'm sorry, but I can't help with evaluating this material.", UNIT, None, None),
    ("empty", "", UNIT, None, None),
    ("whitespace", "  \n ", UNIT, None, None),
    ("prose only", "I think it's fine. Score: 4/5.", UNIT, None, None),
    ("no score", r#"{"pass": true, "reason": "no score"}"#, UNIT, None, None),
    ("word score", r#"{"score": "high", "reason": "x"}"#, UNIT, None, None),
    ("unscaled 7", r#"{"score": 7, "reason": "no scale stated"}"#, UNIT, None, None),
    ("negative", r#"{"score": -0.5}"#, UNIT, None, None),
    ("broken fence", "```json\n{\"score\": \n```", UNIT, None, None),
    ("array", "[0.5]", UNIT, None, None),
    ("outside 1-5", r#"{"score": 6, "reason": "x"}"#, FIVE, None, None),
    ("unit score on 1-5 rubric", r#"{"score": 0.8, "reason": "x"}"#, FIVE, None, None),
    ("other scale than rubric", r#"{"score": "8/10", "reason": "x"}"#, FIVE, None, None),
    ("null score", r#"{"score": null, "pass": true}"#, UNIT, None, None),
];

#[test]
fn the_corpus_reads_as_a_careful_person_would() {
    let mut wrong = Vec::new();
    for (label, reply, scale, score, pass) in CORPUS {
        match (parse_reply(reply, *scale), score) {
            (Ok(verdict), Some(score)) => {
                if (verdict.score - score).abs() > 1e-9 || verdict.pass != *pass {
                    wrong.push(format!(
                        "{label}: read {} / {:?}, expected {score} / {pass:?}",
                        verdict.score, verdict.pass
                    ));
                }
            }
            (Ok(verdict), None) => wrong.push(format!("{label}: read {} but must be unparseable", verdict.score)),
            (Err(why), Some(_)) => wrong.push(format!("{label}: unparseable ({why})")),
            (Err(_), None) => {}
        }
    }
    println!("reply corpus: {}/{} read as expected", CORPUS.len() - wrong.len(), CORPUS.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(CORPUS.len() >= 50);
}

#[test]
fn refusals_and_empty_replies_say_so() {
    assert!(parse_reply("", UNIT).unwrap_err().contains("empty"));
    assert!(parse_reply("I cannot evaluate this.", UNIT).unwrap_err().contains("declined"));
    let truncated = parse_reply("{\"score\": 0.8, \"reason\": \"cut he", UNIT).unwrap();
    assert!(truncated.reason.contains("cut off"), "{}", truncated.reason);
}

#[test]
fn rubric_scales_are_inferred() {
    let cases: &[(&str, Option<(f64, f64)>)] = &[
        ("Rate the answer on a scale of 1 to 10.", Some((1.0, 10.0))),
        ("Score 1-5 where 5 is best.", Some((1.0, 5.0))),
        ("Give a score from 0 to 10.", Some((0.0, 10.0))),
        ("Use a 1–5 scale.", Some((1.0, 5.0))),
        ("Rate it out of 10.", Some((0.0, 10.0))),
        ("Score between 1 and 7.", Some((1.0, 7.0))),
        ("Is the answer correct? Answer with a score from 0 to 1.", None),
        ("Check steps 1-3 of the recipe and judge whether they are safe.", None),
        ("Score 1-5 for style and score 1-10 for accuracy.", None),
        ("Is the tone polite?", None),
    ];
    for (rubric, expected) in cases {
        assert_eq!(infer_scale(rubric), *expected, "{rubric}");
    }
}

proptest! {
    #[test]
    fn verdicts_in_prose_or_fences_are_found(score in 0.0f64..=1.0, pass in any::<bool>(), reason in "[a-zA-Z0-9 ,.!?{}\\[\\]\"'-]{0,60}", prefix in "[a-zA-Z ,.:]{0,40}", fenced in any::<bool>()) {
        let obj = json!({"score": score, "pass": pass, "reason": reason}).to_string();
        let text = if fenced { format!("{prefix}\n```json\n{obj}\n```\n") } else { format!("{prefix} {obj} thanks") };
        let v = parse_reply(&text, UNIT).unwrap();
        prop_assert!((v.score - score).abs() < 1e-9);
        prop_assert_eq!(v.pass, Some(pass));
        prop_assert_eq!(v.reason, reason.trim());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(v) = parse_reply(&text, UNIT) {
            prop_assert!((0.0..=1.0).contains(&v.score));
        }
    }

    #[test]
    fn scales_normalise_into_unit(lo in -10.0f64..10.0, width in 0.5f64..100.0, t in 0.0f64..=1.0) {
        let hi = lo + width;
        let raw = lo + t * width;
        let v = parse_reply(&json!({"score": raw, "reason": "r"}).to_string(), (lo, hi)).unwrap();
        prop_assert!((v.score - t).abs() < 1e-6);
    }

    #[test]
    fn the_last_verdict_wins(first in 0.0f64..=1.0, last in 0.0f64..=1.0) {
        let text = format!("Draft: {}\nFinal: {}", json!({"score": first}), json!({"score": last, "pass": true}));
        prop_assert!((parse_reply(&text, UNIT).unwrap().score - last).abs() < 1e-9);
    }
}
