//! The analyzer: taxonomy + policy compiled once per run, then per item the deterministic stage ([`Analyzer::precheck`])
//! and the merge of rules and judge into the item verdict ([`Analyzer::finish`]).

use std::sync::Arc;

use serde_json::Value;

use super::checks::{self, Precheck};
use super::custom::{self, SpecError};
use super::judge::{self, JudgePrompt, JudgeReply};
use super::safety::{BuiltinSafety, SafetyDetector};
use super::schema::SchemaCache;
use super::severity::{self, SeverityOverrides};
use super::taxonomy::{Method, Subcategory, Taxonomy};
use super::text::clip;
use super::types::{Check, DecidedBy, Decision, ItemVerdict};
use super::AnalysisItem;

/// Longest evidence text kept per check, in characters.
pub(super) const MAX_EVIDENCE_CHARS: usize = 500;

/// What the judge stage produced for an item.
#[derive(Debug, Clone)]
pub enum JudgeOutcome {
    /// No judge in this analysis: judge-only subcategories are left out; rule views stand.
    NotAsked,
    Reply(JudgeReply),
    /// The judge call or its parsing failed (`JUDGE_UNPARSEABLE`, a provider error): open subcategories are `unsure`.
    Failed(String),
}

/// What one analysis runs with.
#[derive(Debug, Clone, Default)]
pub struct AnalysisSpec {
    /// The request's (or the project's stored) custom buckets, as JSON; validated by [`Analyzer::new`].
    pub buckets: Option<Value>,
    /// `false` replaces the built-in taxonomy with the custom buckets. Defaults to true via [`AnalysisSpec::new`].
    pub builtin: bool,
    /// Per-project severity overrides, `bucket.subcategory` or `subcategory` → severity.
    pub severity_overrides: SeverityOverrides,
}

impl AnalysisSpec {
    /// The built-ins, no custom buckets, no overrides.
    pub fn new() -> Self {
        AnalysisSpec { buckets: None, builtin: true, severity_overrides: SeverityOverrides::new() }
    }
}

/// The deterministic stage's results for one item, aligned with the analyzer's subcategories.
#[derive(Debug, Clone)]
pub struct ItemPrecheck {
    pub results: Vec<Precheck>,
}

pub struct Analyzer {
    taxonomy: Taxonomy,
    overrides: SeverityOverrides,
    detector: Arc<dyn SafetyDetector>,
    schemas: SchemaCache,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("taxonomy", &self.taxonomy.version).finish_non_exhaustive()
    }
}

impl Analyzer {
    pub fn new(spec: &AnalysisSpec) -> Result<Analyzer, SpecError> {
        let builtin = Taxonomy::builtin();
        let builtin_names: Vec<&str> = builtin.buckets.iter().map(|b| b.name.as_str()).collect();
        let custom = match &spec.buckets {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => custom::parse_buckets(v, if spec.builtin { &builtin_names } else { &[] })?,
        };
        let mut taxonomy =
            if spec.builtin { builtin.clone() } else { Taxonomy { buckets: Vec::new(), ..builtin.clone() } };
        taxonomy.buckets.extend(custom);
        if taxonomy.buckets.is_empty() {
            return Err(SpecError::new(
                "buckets",
                "builtin is false and no custom buckets are given: nothing to analyse",
            ));
        }
        for key in spec.severity_overrides.keys() {
            let known = match key.split_once('.') {
                Some((b, s)) => taxonomy.find(b, s).is_some(),
                None => taxonomy.subcategories().any(|s| s.name == *key),
            };
            if !known {
                return Err(SpecError::new(
                    format!("severity_overrides.{key}"),
                    "names no subcategory of the taxonomy",
                ));
            }
        }
        Ok(Analyzer {
            taxonomy,
            overrides: spec.severity_overrides.clone(),
            detector: Arc::new(BuiltinSafety),
            schemas: SchemaCache::default(),
        })
    }

    /// Plugs in other safety detectors (the security module's).
    pub fn with_detector(mut self, detector: Arc<dyn SafetyDetector>) -> Analyzer {
        self.detector = detector;
        self
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    pub(crate) fn subcategories(&self) -> Vec<&Subcategory> {
        self.taxonomy.subcategories().collect()
    }

    /// The judge prompt for an item, or `None` when the rules decided everything.
    pub fn judge_prompt(&self, item: &AnalysisItem, pre: &ItemPrecheck) -> Option<JudgePrompt> {
        judge::build_prompt(item, &self.subcategories(), &pre.results)
    }

    /// Runs every subcategory's deterministic stage.
    pub fn precheck(&self, item: &AnalysisItem) -> ItemPrecheck {
        let prepared = checks::prepare(item, &self.schemas);
        let results = self
            .taxonomy
            .subcategories()
            .map(|s| {
                if s.builtin {
                    return checks::run_builtin(&s.name, &prepared, self.detector.as_ref());
                }
                match (custom::first_match(&s.rules, item), s.method) {
                    (Some(hit), _) => Precheck::fail(1.0, hit),
                    (None, Method::Deterministic) => Precheck::pass(1.0, "no rule matched"),
                    (None, _) => Precheck::open(),
                }
            })
            .collect();
        ItemPrecheck { results }
    }

    /// The verdict from rules alone (no judge): what `deterministic` analyses and the self-test use.
    pub fn analyze_deterministic(&self, item: &AnalysisItem) -> ItemVerdict {
        let pre = self.precheck(item);
        self.finish(item, pre, JudgeOutcome::NotAsked)
    }

    /// Merges the rules' results with the judge's decisions, applies the severity policy and picks the primary.
    pub fn finish(&self, item: &AnalysisItem, pre: ItemPrecheck, outcome: JudgeOutcome) -> ItemVerdict {
        let high_stakes = item.high_stakes();
        let mut checks_out = Vec::with_capacity(pre.results.len());
        for (sub, result) in self.taxonomy.subcategories().zip(pre.results) {
            let judged = match &outcome {
                JudgeOutcome::Reply(reply) => reply.decision_for(&sub.bucket, &sub.name),
                _ => None,
            };
            let merged = merge(result, judged, &outcome);
            let Some((decision, confidence, evidence, by, critical)) = merged else { continue };
            let base = severity::base(sub.severity, &sub.bucket, &sub.name, &self.overrides);
            let (severity, severity_notes) = severity::raise(base, decision, high_stakes, critical);
            checks_out.push(Check {
                bucket: sub.bucket.clone(),
                subcategory: sub.name.clone(),
                decision,
                severity,
                confidence: confidence.clamp(0.0, 1.0),
                evidence: if evidence.len() <= MAX_EVIDENCE_CHARS {
                    evidence
                } else {
                    clip(&evidence, MAX_EVIDENCE_CHARS)
                },
                decided_by: by,
                severity_notes,
            });
        }
        let mut verdict = ItemVerdict {
            failed: false,
            bucket: None,
            subcategory: None,
            severity: None,
            confidence: 1.0,
            reason: String::new(),
            evidence: String::new(),
            checks: checks_out,
            taxonomy_version: self.taxonomy.version.clone(),
        };
        verdict.reselect();
        verdict
    }
}

type Merged = (Decision, f64, String, DecidedBy, bool);

/// One subcategory: the rule's result and the judge's decision (if it gave one) → the check, or `None` to leave a
/// judge-only subcategory out when no judge was asked.
fn merge(result: Precheck, judged: Option<(Decision, f64, String)>, outcome: &JudgeOutcome) -> Option<Merged> {
    let judge_failed = match outcome {
        JudgeOutcome::Failed(why) => Some(why.as_str()),
        _ => None,
    };
    Some(match result {
        Precheck::NotApplicable { why } => (Decision::NotApplicable, 1.0, why, DecidedBy::Rule, false),
        Precheck::Decided { decision, confidence, evidence, critical } => {
            (decision, confidence, evidence, DecidedBy::Rule, critical)
        }
        Precheck::Tentative { decision, confidence, evidence, critical } => match judged {
            Some((Decision::Fail, jc, je)) if decision == Decision::Fail => (
                Decision::Fail,
                confidence.max(jc),
                format!("{evidence}; judge agrees: {je}"),
                DecidedBy::RuleAndJudge,
                critical,
            ),
            Some((Decision::Pass, _, je)) if decision == Decision::Fail => (
                Decision::Unsure,
                0.5,
                format!("rule: {evidence}; judge disagrees: {je}"),
                DecidedBy::RuleAndJudge,
                false,
            ),
            Some((jd, jc, je)) if decision != Decision::Fail && jd != Decision::Unsure => {
                (jd, jc, format!("{je} (rule: {evidence})"), DecidedBy::Judge, false)
            }
            _ => {
                let note = judge_failed.map(|w| format!(" (judge unavailable: {w})")).unwrap_or_default();
                (decision, confidence, format!("{evidence}{note}"), DecidedBy::Rule, critical)
            }
        },
        Precheck::Open { hint } => match (judged, judge_failed) {
            (Some((jd, jc, je)), _) => (jd, jc, je, DecidedBy::Judge, false),
            (None, Some(why)) => (Decision::Unsure, 0.0, format!("judge unavailable: {why}"), DecidedBy::Judge, false),
            (None, None) if matches!(outcome, JudgeOutcome::Reply(_)) => {
                let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
                (Decision::Unsure, 0.0, format!("the judge gave no decision{hint}"), DecidedBy::Judge, false)
            }
            (None, None) => return None,
        },
    })
}
