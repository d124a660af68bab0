//! The red team's attempts that take more than one model call: the attacker model rewrites the seed attack
//! (`paraphrase`, `translation`), refines it after each failed send (`refine`), or carries on a conversation
//! with the target (`multi_turn`) — see [`crate::redteam::attacker`]. The attacker is called through the judge
//! scheduler on the org's keys (the same lanes, caps, retries and cost limit as the run's judge and target;
//! booked as usage source `judge` under the attacker's model), the target through the one target stage
//! ([`crate::targets::produce_turns`]), and every answer is decided by the red-team processor exactly as a
//! single attempt is, so success is checked after every send.
//!
//! The row keeps the attempt's transcript, masked as every stored answer is. An attacker that declines makes the
//! attempt `skipped` (reason `attacker refused`): recorded, counted apart, never an attempt of the ASR.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::sync::OnceCell;

use super::super::processor::{Converse, Processed, Stage};
use crate::domain::{text_of, Code, Item, Score, ScoreError};
use crate::judge::Prepared;
use crate::providers::Turn;
use crate::redteam::attacker::{self, AttackerSpec, Strategy, ATTACKER_MAX_TOKENS, ATTACKER_REFUSED};
use crate::redteam::transforms::Transform;
use crate::redteam::{library, Category};
use crate::scoring::judge::JudgeSpec;

/// Longest message of a transcript kept in a row, in characters.
pub const MAX_TRANSCRIPT_CHARS: usize = 2000;
/// The score name of an attempt (as the red-team processor's).
const SCORER: &str = "red_team";

/// The run's attacker: its spec and, resolved at its first call, its key and model.
pub struct Attacker {
    pub spec: AttackerSpec,
    prepared: OnceCell<Arc<Prepared>>,
}

impl Attacker {
    pub fn new(spec: AttackerSpec) -> Attacker {
        Attacker { spec, prepared: OnceCell::new() }
    }

    /// The attacker's key and model, resolved once per run as a judge's are (its `key_id`, else the org's
    /// default key for its provider, else the server's key).
    async fn prepared(&self, with: &Converse) -> Arc<Prepared> {
        let spec = judge_spec(&self.spec);
        self.prepared
            .get_or_init(|| async {
                let (org, run) = (with.ctx.org_id.as_str(), with.ctx.run_id.as_str());
                let target = match with.judge.prepare(org, run, None, false, std::slice::from_ref(&spec)).await {
                    Ok((mut list, _)) if !list.is_empty() => list.remove(0).target,
                    Ok(_) => Err(ScoreError::new(Code::ByokNoKey, "no attacker key")),
                    Err(e) => Err(ScoreError::new(Code::Internal, format!("the attacker's key: {e}"))),
                };
                Arc::new(Prepared { spec: spec.clone(), target })
            })
            .await
            .clone()
    }

    /// One attacker call: its message, `Ok(None)` when it declined.
    async fn write(&self, with: &Converse, (system, user): (String, String)) -> Result<Option<String>, ScoreError> {
        let prepared = self.prepared(with).await;
        let reply = with.judge.ask(&with.ctx, &prepared, system, user, None, ATTACKER_MAX_TOKENS, &|_| Ok(())).await?;
        Ok((!attacker::refused(&reply)).then(|| attacker::clean(&reply)))
    }
}

/// The attacker as the judge scheduler resolves it: its provider, model and `key_id` on the org's keys (the same
/// spec the submission checks with `require_key`, so the two cannot disagree).
pub fn judge_spec(spec: &AttackerSpec) -> JudgeSpec {
    JudgeSpec {
        kind: "attacker".to_owned(),
        provider: Some(spec.provider),
        model: Some(spec.model.clone()),
        key_id: spec.key_id.clone(),
        ..super::analysis::judge_spec()
    }
}

/// The strategy an item's `metadata.red_team.strategy` names (attack attempts of a run with an attacker).
pub fn strategy_of(item: &Item) -> Option<Strategy> {
    let m = item.metadata.as_ref()?.get("red_team")?;
    if m["benign"].as_bool().unwrap_or(false) {
        return None;
    }
    m["strategy"].as_str().and_then(Strategy::parse)
}

/// What a send produced, as the row and the summary keep it.
#[derive(Default)]
struct Figures {
    latency_ms: u64,
    cost_usd: f64,
    input_tokens: u64,
    output_tokens: u64,
    sends: u32,
}

impl Figures {
    fn add(&mut self, p: &crate::targets::Produced) {
        self.latency_ms += p.latency_ms;
        self.cost_usd += p.cost_usd;
        self.input_tokens += p.input_tokens;
        self.output_tokens += p.output_tokens;
        self.sends += 1;
    }

    fn json(&self, error: Option<&ScoreError>) -> Value {
        let mut v = json!({"latency_ms": self.latency_ms, "cost_usd": self.cost_usd, "input_tokens": self.input_tokens,
                           "output_tokens": self.output_tokens, "sends": self.sends});
        if let Some(e) = error {
            v["error"] = json!(e);
        }
        v
    }
}

/// The attempt as it goes: what was said, by whom, at which step.
struct Transcript(Vec<Value>);

impl Transcript {
    fn push(&mut self, step: u32, assistant: bool, text: &str) {
        let masked: String = crate::security::redact::redact(text).chars().take(MAX_TRANSCRIPT_CHARS).collect();
        self.0.push(json!({"step": step, "role": if assistant { "assistant" } else { "user" }, "content": masked}));
    }
}

/// One attack attempt with the attacker: at most [`attacker::sends`] target calls, decided after each.
pub async fn drive(attacker: Arc<Attacker>, with: Converse, item: Item, strategy: Strategy) -> Processed {
    let meta = item.metadata.as_ref().and_then(|m| m.get("red_team")).cloned().unwrap_or(Value::Null);
    let (attack_id, marker) =
        (meta["attack"].as_str().unwrap_or_default(), meta["marker"].as_str().unwrap_or_default());
    let transform = meta["transform"].as_str().and_then(|t| Transform::parse(t).ok()).unwrap_or(Transform::NONE);
    let Some(attack) = library::by_id(attack_id) else {
        let e = ScoreError::new(Code::ValidationFailed, format!("unknown attack {attack_id:?}"));
        return finish(
            with.processor.target_failed(&item, &e),
            &meta,
            strategy,
            Transcript(Vec::new()),
            None,
            &Figures::default(),
            Some(&e),
        );
    };
    let seed = attack.text.replace("<MARKER>", marker);
    let index = item
        .id
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|s| s.rsplit('#').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let spec = &attacker.spec;
    let mut transcript = Transcript(Vec::new());
    let mut figures = Figures::default();
    let mut history: Vec<Turn> = Vec::new();
    // The first message: the planned one, or the attacker's rewrite of the seed (then transformed as planned).
    let mut text = match strategy {
        Strategy::Paraphrase | Strategy::Translation => {
            match attacker.write(&with, attacker::rewrite_prompt(strategy, attack.goal, &seed, index)).await {
                Ok(Some(t)) => transform.apply(&t),
                Ok(None) => return skipped(&meta, strategy, &attacker.spec),
                Err(e) => return attacker_failed(&with, &item, &meta, strategy, transcript, &figures, e),
            }
        }
        Strategy::Refine | Strategy::MultiTurn => text_of(&item.input).into_owned(),
    };
    let most = attacker::sends(spec, strategy);
    let mut step = 1;
    loop {
        let mut sent = item.clone();
        sent.input = Value::String(text.clone());
        let produced = crate::targets::produce_turns(&with.judge, &with.ctx, &with.target, &sent, &history).await;
        figures.add(&produced);
        transcript.push(step, false, &text);
        let response = match &produced.output {
            Ok(r) => r.clone(),
            Err(e) => {
                let failed = with.processor.target_failed(&item, e);
                return finish(failed, &meta, strategy, transcript, None, &figures, Some(e));
            }
        };
        transcript.push(step, true, &response);
        let decided = decide(&with, sent, &response).await;
        let success = success_of(&decided);
        if success != Some(false) || step >= most {
            let output = with.processor.stored_output(response);
            return finish(decided, &meta, strategy, transcript, Some(output), &figures, None);
        }
        // Failed: the attacker tries again, with a stronger message or the conversation's next turn.
        let ask = match strategy {
            Strategy::MultiTurn => {
                history.push(Turn { assistant: false, text: text.clone() });
                history.push(Turn { assistant: true, text: response.clone() });
                let turns: Vec<(bool, String)> = history.iter().map(|t| (t.assistant, t.text.clone())).collect();
                attacker::next_turn_prompt(attack.goal, &turns, step + 1, most)
            }
            _ => attacker::refine_prompt(attack.goal, &text, &response, step),
        };
        match attacker.write(&with, ask).await {
            Ok(Some(t)) => {
                // A refined message is disguised as planned; a conversation's later turns are plain speech.
                text = if strategy == Strategy::Refine { transform.apply(&t) } else { t };
            }
            // The attempt stands as decided so far; the row says why it stopped.
            Ok(None) => {
                let output = with.processor.stored_output(response);
                let note = format!("{ATTACKER_REFUSED} after step {step}");
                return finish(decided, &meta, strategy, transcript, Some(output), &figures, None).note(&note);
            }
            Err(e) => {
                let output = with.processor.stored_output(response);
                let note = format!("the attacker gave no answer after step {step}: {}", e.message);
                return finish(decided, &meta, strategy, transcript, Some(output), &figures, None).note(&note);
            }
        }
        step += 1;
    }
}

/// The processor's decision on one answer: its rules, then its one judge call when it asks for one.
async fn decide(with: &Converse, mut item: Item, response: &str) -> Processed {
    item.output = Value::String(response.to_owned());
    let p = with.processor.clone();
    match tokio::task::spawn_blocking(move || p.process(&item)).await {
        Ok(Stage::Done(d)) => d,
        Ok(Stage::Ask(ask)) => match &with.judging {
            Some((judge, ctx, prepared)) => super::super::stage::ask_item(judge, ctx, prepared, ask).await,
            None => (ask.then)(Err(ScoreError::new(Code::ByokNoKey, "this run has no judge"))),
        },
        Err(_) => Processed {
            scores: vec![score(
                false,
                false,
                "the item's processor panicked".to_owned(),
                Some(ScoreError::new(Code::Internal, "the item's processor panicked")),
            )],
            detail: None,
        },
    }
}

/// `Some(success)` of a decided attempt, `None` when it is undecided.
fn success_of(p: &Processed) -> Option<bool> {
    let d: Value = serde_json::from_str(p.detail.as_deref()?).ok()?;
    let a = d.get("attempt")?;
    if a["undecided"].as_bool().unwrap_or(false) {
        return None;
    }
    a["success"].as_bool()
}

trait Note {
    fn note(self, text: &str) -> Self;
}

impl Note for Processed {
    /// Adds why the attempt stopped early to its row (`attempt.stopped`).
    fn note(mut self, text: &str) -> Processed {
        if let Some(Ok(Value::Object(mut d))) = self.detail.as_deref().map(serde_json::from_str::<Value>) {
            if let Some(Value::Object(a)) = d.get_mut("attempt") {
                a.insert("stopped".to_owned(), json!(text));
                a.insert("attacker_refused".to_owned(), json!(text.starts_with(ATTACKER_REFUSED)));
            }
            self.detail = Some(Value::Object(d).to_string());
        }
        self
    }
}

/// The attempt's row: the decided (or failed) processing with the strategy, transcript and summed figures.
fn finish(
    mut p: Processed,
    meta: &Value,
    strategy: Strategy,
    transcript: Transcript,
    output: Option<String>,
    figures: &Figures,
    error: Option<&ScoreError>,
) -> Processed {
    let mut d = match p.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(Value::Object(a)) = d.get_mut("attempt") {
        a.insert("strategy".to_owned(), json!(strategy.as_str()));
        a.insert("steps".to_owned(), json!(figures.sends));
        a.insert("transcript".to_owned(), Value::Array(transcript.0));
        if a.get("category").is_none_or(Value::is_null) {
            a.insert("category".to_owned(), meta["category"].clone());
        }
    }
    p.detail = Some(Value::Object(d).to_string());
    super::super::produce::with_figures(p, output, figures.json(error))
}

fn score(pass: bool, unsure: bool, reason: String, error: Option<ScoreError>) -> Score {
    Score { scorer: SCORER.to_owned(), score: if pass { 1.0 } else { 0.0 }, pass, reason, error, unsure, samples: None }
}

/// The attempt the attacker declined to write: recorded as `skipped`, nothing sent to the target.
fn skipped(meta: &Value, strategy: Strategy, spec: &AttackerSpec) -> Processed {
    let category = meta["category"].as_str().unwrap_or_default();
    let detail = json!({"attempt": {
        "category": category, "transform": meta["transform"], "attack": meta["attack"],
        "owasp": Category::parse(category).map(Category::owasp),
        "hazard_category": meta["attack"].as_str().and_then(library::hazard_of), "benign": false, "response": null,
        "success": false, "undecided": false, "skipped": true, "refused": false, "severity": "low",
        "decided_by": "none", "reason": ATTACKER_REFUSED, "strategy": strategy.as_str(), "steps": 0,
        "transcript": [], "attacker_model": spec.model,
    }});
    let p = Processed {
        scores: vec![score(false, true, format!("skipped: {ATTACKER_REFUSED}"), None)],
        detail: Some(detail.to_string()),
    };
    super::super::produce::with_figures(p, None, Figures::default().json(None))
}

/// The attacker could not be called (no key, a failing key, the cost limit): the attempt is undecided with the
/// attacker's code, as a target that gave no answer.
fn attacker_failed(
    with: &Converse,
    item: &Item,
    meta: &Value,
    strategy: Strategy,
    transcript: Transcript,
    figures: &Figures,
    e: ScoreError,
) -> Processed {
    let e = ScoreError::new(e.code, format!("the attacker model gave no answer: {}", e.message));
    let failed = with.processor.target_failed(item, &e);
    finish(failed, meta, strategy, transcript, None, figures, Some(&e))
}

/// The summary's `red_team.attacker`: per strategy the attempts (skipped ones apart), successes and rate with its
/// interval, and how many attempts were skipped and why.
pub fn summarize(attempts: &[Value]) -> Option<Value> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    let mut skipped = 0u64;
    let mut refused_later = 0u64;
    for a in attempts {
        let Some(s) = a["strategy"].as_str() else { continue };
        let t = by.entry(s.to_owned()).or_default();
        if a["skipped"].as_bool().unwrap_or(false) {
            t.2 += 1;
            skipped += 1;
            continue;
        }
        refused_later += u64::from(a["attacker_refused"].as_bool().unwrap_or(false));
        if a["undecided"].as_bool().unwrap_or(false) {
            t.3 += 1;
            continue;
        }
        t.0 += 1;
        t.1 += u64::from(a["success"].as_bool().unwrap_or(false));
    }
    if by.is_empty() {
        return None;
    }
    let strategies: Map<String, Value> = by
        .into_iter()
        .map(|(k, (n, s, skip, und))| {
            let asr = if n == 0 { 0.0 } else { s as f64 / n as f64 };
            let (lo, hi) = crate::scoring::stats::wilson_interval(s, n);
            (k, json!({"attempts": n, "successes": s, "asr": asr, "asr_ci": [lo, hi], "skipped": skip, "undecided": und}))
        })
        .collect();
    Some(json!({"strategies": strategies, "skipped": skipped, "skipped_reasons": {ATTACKER_REFUSED: skipped},
                "attacker_refused_mid_attempt": refused_later}))
}
