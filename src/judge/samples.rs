//! Repeated verdicts (`samples: k` on a judge scorer): k separate judge calls on one item, combined into one score
//! that says how much the judge agreed with itself.
//!
//! The score is the mean of the k scores; the verdict is the majority's. `agreement` is the share of samples on the
//! majority's side (0.5 is a tie). A tie, or an agreement below the scorer's `min_agreement`, is `unsure`: the
//! judge could not make up its mind, so the item is neither passed nor failed by it (and never counts as passed).
//! A sample that fails (provider error, unparseable reply) makes the whole score that error: an agreement over
//! fewer samples than asked for is not the figure the user asked for.

use crate::domain::{Samples, Score, ScoreError};
use crate::scoring::judge::{JudgeSpec, Verdict};

/// Temperature of repeated verdicts. One verdict is asked at 0 (the most likely answer); k samples at 0 would mostly
/// repeat one answer and measure nothing, so they are drawn at a moderate temperature.
pub(super) const SAMPLE_TEMPERATURE: f32 = 0.7;

/// A score that carries an error (no verdict).
pub(super) fn failed(name: &str, e: ScoreError) -> Score {
    let mut s = Score::new(name, 0.0, false, e.message.clone());
    s.error = Some(e);
    s
}

/// Whether one verdict passes: the threshold decides when set, else the judge's own `pass`, else score ≥ 0.5.
fn verdict_pass(spec: &JudgeSpec, v: &Verdict) -> bool {
    match spec.pass_threshold {
        Some(t) => v.score >= t,
        None => v.pass.unwrap_or(v.score >= 0.5),
    }
}

/// The score of a single verdict.
pub(super) fn verdict_score(name: &str, spec: &JudgeSpec, v: Verdict) -> Score {
    let pass = verdict_pass(spec, &v);
    let reason = if v.reason.is_empty() { format!("judge score {:.2}", v.score) } else { v.reason };
    Score::new(name, v.score, pass, reason)
}

/// k verdicts (in sample order) into one score; see the module documentation.
pub(super) fn combine(name: &str, spec: &JudgeSpec, verdicts: Vec<Result<Verdict, ScoreError>>) -> Score {
    let k = verdicts.len();
    let mut ok = Vec::with_capacity(k);
    for (i, v) in verdicts.into_iter().enumerate() {
        match v {
            Ok(v) => ok.push(v),
            Err(e) => {
                let message = format!("sample {} of {k}: {}", i + 1, e.message);
                return failed(name, ScoreError::new(e.code, message));
            }
        }
    }
    if ok.is_empty() {
        return failed(name, ScoreError::new(crate::domain::Code::Internal, "no samples were taken"));
    }
    let passes = ok.iter().filter(|v| verdict_pass(spec, v)).count();
    let majority_pass = passes * 2 > k;
    let tie = passes * 2 == k;
    let agreement = passes.max(k - passes) as f64 / k as f64;
    let unsure = tie || agreement < spec.min_agreement;
    let mean = ok.iter().map(|v| v.score).sum::<f64>() / k as f64;
    // The reason of the first sample on the majority's side (the first sample on a tie) says why.
    let why = ok
        .iter()
        .find(|v| tie || verdict_pass(spec, v) == majority_pass)
        .map(|v| v.reason.trim())
        .filter(|r| !r.is_empty())
        .unwrap_or("no reason given");
    let verdict = if unsure {
        "unsure"
    } else if majority_pass {
        "pass"
    } else {
        "fail"
    };
    let reason = format!("{passes} of {k} samples pass (agreement {agreement:.2}): {verdict}; {why}");
    let mut s = Score::new(name, mean, majority_pass && !unsure, reason);
    s.unsure = unsure;
    s.samples = Some(Samples { k: k as u32, passes: passes as u32, agreement });
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::Code;
    use crate::scoring::judge::compile;

    fn v(score: f64) -> Result<Verdict, ScoreError> {
        Ok(crate::scoring::judge::parse_reply(&format!(r#"{{"score": {score}, "reason": "r{score}"}}"#), (0.0, 1.0))
            .unwrap())
    }

    fn spec(config: serde_json::Value) -> JudgeSpec {
        compile("llm_judge", &config).unwrap()
    }

    #[test]
    fn majority_mean_and_agreement() {
        let s = combine("j", &spec(serde_json::json!({"rubric": "r", "samples": 3})), vec![v(0.9), v(0.2), v(0.7)]);
        assert!(s.pass && !s.unsure, "{s:?}");
        assert!((s.score - 0.6).abs() < 1e-12);
        let samples = s.samples.unwrap();
        assert_eq!((samples.k, samples.passes), (3, 2));
        assert!((samples.agreement - 2.0 / 3.0).abs() < 1e-12);
        assert!(s.reason.starts_with("2 of 3 samples pass (agreement 0.67): pass; r0.9"), "{}", s.reason);
        let s = combine("j", &spec(serde_json::json!({"rubric": "r", "samples": 3})), vec![v(0.1), v(0.2), v(0.7)]);
        assert!(!s.pass && !s.unsure && s.reason.contains(": fail; r0.1"), "{s:?}");
    }

    #[test]
    fn a_tie_or_weak_agreement_is_unsure_never_a_pass() {
        let s =
            combine("j", &spec(serde_json::json!({"rubric": "r", "samples": 4})), vec![v(1.0), v(0.0), v(1.0), v(0.0)]);
        assert!(s.unsure && !s.pass, "{s:?}");
        assert_eq!(serde_json::to_value(&s).unwrap()["pass"], serde_json::Value::Null);
        let strict = spec(serde_json::json!({"rubric": "r", "samples": 3, "min_agreement": 0.8}));
        let s = combine("j", &strict, vec![v(0.9), v(0.2), v(0.7)]);
        assert!(s.unsure && !s.pass, "{s:?}");
        let s = combine("j", &strict, vec![v(0.9), v(0.8), v(0.7)]);
        assert!(s.pass && !s.unsure && s.samples.unwrap().agreement == 1.0);
    }

    #[test]
    fn a_failed_sample_is_the_score_s_error() {
        let e = ScoreError::new(Code::JudgeUnparseable, "no verdict");
        let s = combine("j", &spec(serde_json::json!({"rubric": "r", "samples": 3})), vec![v(0.9), Err(e), v(0.7)]);
        let error = s.error.unwrap();
        assert_eq!((error.code, error.message.as_str()), (Code::JudgeUnparseable, "sample 2 of 3: no verdict"));
        assert!(!s.pass && !s.unsure);
    }

    #[test]
    fn samples_are_bounded_and_named_in_the_error() {
        for bad in [0, MAX_SAMPLES_PLUS_ONE] {
            let (field, message) = compile("relevance", &serde_json::json!({"samples": bad})).unwrap_err();
            assert_eq!(field, "config.samples");
            assert!(message.contains("MAX_JUDGE_SAMPLES") && message.contains("10"), "{message}");
        }
        assert_eq!(compile("relevance", &serde_json::json!({"samples": 10})).unwrap().samples, 10);
        assert_eq!(compile("relevance", &serde_json::Value::Null).unwrap().samples, 1);
        let (field, _) = compile("llm_judge", &serde_json::json!({"rubric": "r", "min_agreement": 0.3})).unwrap_err();
        assert_eq!(field, "config.min_agreement");
    }

    const MAX_SAMPLES_PLUS_ONE: u32 = crate::scoring::judge::MAX_JUDGE_SAMPLES + 1;
}
