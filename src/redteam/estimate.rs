//! The cost estimate of a red-team run before it runs (`dry_run`, and the `estimate` of every accepted run): the
//! most calls, tokens and dollars the planned attempts can take. Pure arithmetic over the plan, so it answers
//! without a provider call.
//!
//! It is a *maximum*: every send an attacker strategy may make (refine rounds, multi-turn turns) is counted, and
//! every attack send is counted as judged, though the rules decide many attempts and a refusal costs no judge.
//! Tokens are estimated at [`BYTES_PER_TOKEN`] bytes of UTF-8 per token (the gateway's budget heuristic, counted on
//! bytes so non-Latin and smuggled text errs high) plus [`CALL_OVERHEAD_TOKENS`] per call; each answer is counted
//! at the target's `max_tokens`, each attacker reply at `ATTACKER_MAX_TOKENS`, each verdict at the judge's cap.
//! Dollars come from the price table usage is booked with (`providers::pricing`); a model without a price is
//! listed, never guessed, and an HTTP target's own cost is unknown (its calls are counted, not priced).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use super::attacker::{self, AttackerSpec, Strategy, ATTACKER_MAX_TOKENS, MAX_SHOWN_CHARS};
use super::library;
use super::plan::Attempt;

/// Bytes of UTF-8 text per token assumed by the estimate (about four for English; denser text errs high).
pub const BYTES_PER_TOKEN: u64 = 4;
/// Tokens added to every call for its message framing (roles, separators).
pub const CALL_OVERHEAD_TOKENS: u64 = 16;
/// Tokens added per earlier message of a conversation a multi-turn attempt resends.
pub const TURN_OVERHEAD_TOKENS: u64 = 8;

/// Estimated tokens of `text`.
pub fn tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(BYTES_PER_TOKEN)
}

/// What the estimate needs besides the plan.
pub struct Setup<'a> {
    /// The provider target's model; `None` for an HTTP target (its cost is unknown).
    pub target_model: Option<&'a str>,
    /// The system prompt sent with every target call (the planted one, or the target's own).
    pub target_system: Option<&'a str>,
    /// The target's prompt template, when it has one (it wraps every message).
    pub target_template: Option<&'a str>,
    /// The target's `max_tokens` (params, else `runs.target_max_tokens`; for an HTTP target the assumed answer).
    pub target_max_tokens: u32,
    /// The judge's model; `None` when the run has no judge key (then no attempt is judged).
    pub judge_model: Option<&'a str>,
    /// Bytes of the judge's fixed prompt (rubric and framing), without the attempt's texts.
    pub judge_prompt_bytes: usize,
    pub judge_max_tokens: u32,
    /// Longest sent message and answer shown to the judge, in characters.
    pub judge_shown_chars: usize,
    pub attacker: Option<&'a AttackerSpec>,
    /// USD per 1M (input, output) tokens overriding the built-in table (config `judge.prices`).
    pub prices: &'a HashMap<String, (f64, f64)>,
}

/// One kind of call of the run: the target, the judge or the attacker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct RoleEstimate {
    /// The model called (`null`: an HTTP target, or no judge).
    pub model: Option<String>,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Most USD these calls can cost; `null` when unknown (an unpriced model, an HTTP target).
    pub cost_usd: Option<f64>,
}

impl RoleEstimate {
    fn add(&mut self, input: u64, output: u64) {
        self.calls += 1;
        self.input_tokens += input;
        self.output_tokens += output;
    }
}

/// The estimate of a red-team run (API.md `POST …/security/red-team`, `dry_run`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Estimate {
    /// Attack attempts planned (benign probes apart).
    pub attempts: u64,
    /// Benign probes planned (one target call each, decided by rule).
    pub benign: u64,
    pub target_calls_max: u64,
    pub attacker_calls_max: u64,
    pub judge_calls_max: u64,
    pub input_tokens_max: u64,
    pub output_tokens_max: u64,
    /// Most USD of the priced calls; a full bound only when `priced` is true.
    pub cost_usd_max: f64,
    /// Every call of the run has a known price (false: an unpriced model, or an HTTP target).
    pub priced: bool,
    /// Models without a price (config `judge.prices` adds one).
    pub unpriced_models: Vec<String>,
    /// Per role (`target`, `judge`, `attacker`): model, calls, tokens, cost.
    pub by_role: BTreeMap<String, RoleEstimate>,
    /// What the numbers assume, in words.
    pub notes: Vec<String>,
}

/// Tokens of an unknown text of at most `most` tokens of which at most `chars` characters are shown (a character
/// is at most four bytes, so one token under [`BYTES_PER_TOKEN`]).
fn shown(most: u64, chars: usize) -> u64 {
    most.min(chars as u64)
}

/// The estimate of `attempts` (the run's plan, in item order) under `s`.
pub fn estimate(attempts: &[Attempt], s: &Setup<'_>) -> Estimate {
    let (mut target, mut judge, mut att) = (RoleEstimate::default(), RoleEstimate::default(), RoleEstimate::default());
    let answer = u64::from(s.target_max_tokens);
    let fixed = CALL_OVERHEAD_TOKENS + s.target_system.map_or(0, tokens) + s.target_template.map_or(0, tokens);
    let attacker_out = u64::from(ATTACKER_MAX_TOKENS);
    let (mut n_attacks, mut n_benign) = (0u64, 0u64);
    for (index, a) in attempts.iter().enumerate() {
        let Some(attack) = a.category.and_then(|_| library::by_id(a.attack)) else {
            n_benign += 1;
            target.add(fixed + tokens(&a.text), answer);
            continue;
        };
        let strategy = s.attacker.map(|spec| attacker::strategy_for(spec, n_attacks as usize));
        n_attacks += 1;
        let judge_fixed =
            CALL_OVERHEAD_TOKENS + (s.judge_prompt_bytes + attack.goal.len()).div_ceil(BYTES_PER_TOKEN as usize) as u64;
        let mut judged = |sent: u64| {
            if s.judge_model.is_some() {
                let input = judge_fixed + shown(sent, s.judge_shown_chars) + shown(answer, s.judge_shown_chars);
                judge.add(input, u64::from(s.judge_max_tokens));
            }
        };
        let planned = tokens(&a.text);
        let seed = attack.text.replace("<MARKER>", &a.marker);
        // A rewrite is at most one attacker reply, disguised by the attempt's transform (which may expand it).
        let expansion = (a.text.len() as f64 / seed.len().max(1) as f64).max(1.0);
        let rewritten = (attacker_out as f64 * expansion).ceil() as u64;
        let (Some(spec), Some(strategy)) = (s.attacker, strategy) else {
            target.add(fixed + planned, answer);
            judged(planned);
            continue;
        };
        match strategy {
            Strategy::Paraphrase | Strategy::Translation => {
                let (sys, user) = attacker::rewrite_prompt(strategy, attack.goal, &seed, index);
                att.add(CALL_OVERHEAD_TOKENS + tokens(&sys) + tokens(&user), attacker_out);
                target.add(fixed + rewritten, answer);
                judged(rewritten);
            }
            Strategy::Refine => {
                let most = attacker::sends(spec, strategy);
                for round in 1..=most {
                    let sent = if round == 1 { planned } else { rewritten };
                    target.add(fixed + sent, answer);
                    judged(sent);
                    if round < most {
                        let (sys, user) = attacker::refine_prompt(attack.goal, "", "", round);
                        let shown_texts = shown(sent, MAX_SHOWN_CHARS) + shown(answer, MAX_SHOWN_CHARS);
                        att.add(CALL_OVERHEAD_TOKENS + tokens(&sys) + tokens(&user) + shown_texts, attacker_out);
                    }
                }
            }
            Strategy::MultiTurn => {
                let most = attacker::sends(spec, strategy);
                // The conversation so far, as the target gets it again and as the attacker is shown it.
                let (mut history, mut history_shown) = (0u64, 0u64);
                for turn in 1..=most {
                    let said = if turn == 1 { planned } else { attacker_out };
                    target.add(fixed + history + said, answer);
                    judged(said);
                    history += said + answer + 2 * TURN_OVERHEAD_TOKENS;
                    history_shown +=
                        shown(said, MAX_SHOWN_CHARS) + shown(answer, MAX_SHOWN_CHARS) + 2 * TURN_OVERHEAD_TOKENS;
                    if turn < most {
                        let (sys, user) = attacker::next_turn_prompt(attack.goal, &[], turn + 1, most);
                        att.add(CALL_OVERHEAD_TOKENS + tokens(&sys) + tokens(&user) + history_shown, attacker_out);
                    }
                }
            }
        }
    }
    let mut notes = vec![format!(
        "a maximum: every planned send is counted (refine rounds and multi-turn turns in full), every attack send as \
         judged, every answer at max_tokens ({answer}); tokens at {BYTES_PER_TOKEN} bytes per token plus \
         {CALL_OVERHEAD_TOKENS} per call"
    )];
    let mut unpriced = Vec::new();
    let mut priced = true;
    let mut price = |role: &mut RoleEstimate, model: Option<&str>| {
        role.model = model.map(str::to_owned);
        if role.calls == 0 {
            role.cost_usd = Some(0.0);
            return;
        }
        role.cost_usd =
            model.and_then(|m| crate::providers::pricing::cost_usd(m, role.input_tokens, role.output_tokens, s.prices));
        if role.cost_usd.is_none() {
            priced = false;
            if let Some(m) = model.filter(|m| !unpriced.iter().any(|u: &String| u == m)) {
                unpriced.push(m.to_owned());
            }
        }
    };
    price(&mut target, s.target_model);
    price(&mut judge, s.judge_model);
    price(&mut att, s.attacker.map(|a| a.model.as_str()));
    if s.target_model.is_none() {
        notes.push(format!(
            "the HTTP target's own cost is unknown: its {} calls are counted, not priced; its answers are assumed at \
             most {answer} tokens (runs.target_max_tokens)",
            target.calls
        ));
    }
    if s.judge_model.is_none() {
        notes.push("no judge key: attempts the rules cannot decide stay undecided, and nothing is judged".to_owned());
    }
    if !unpriced.is_empty() {
        notes.push(format!(
            "no price for {}: their calls are counted, not priced (add one under config judge.prices)",
            unpriced.join(", ")
        ));
    }
    let roles = [("target", target), ("judge", judge), ("attacker", att)];
    let sum = |f: fn(&RoleEstimate) -> u64| roles.iter().map(|(_, r)| f(r)).sum::<u64>();
    Estimate {
        attempts: n_attacks,
        benign: n_benign,
        target_calls_max: roles[0].1.calls,
        judge_calls_max: roles[1].1.calls,
        attacker_calls_max: roles[2].1.calls,
        input_tokens_max: sum(|r| r.input_tokens),
        output_tokens_max: sum(|r| r.output_tokens),
        cost_usd_max: roles.iter().filter_map(|(_, r)| r.cost_usd).sum(),
        priced,
        unpriced_models: unpriced,
        notes,
        by_role: roles.into_iter().map(|(k, r)| (k.to_owned(), r)).collect(),
    }
}

/// The warning of a run whose `cost_limit_usd` is below its estimate's maximum (the run is accepted all the same).
pub fn limit_warning(e: &Estimate, cost_limit_usd: Option<f64>) -> Option<String> {
    let limit = cost_limit_usd?;
    (limit < e.cost_usd_max).then(|| {
        format!(
            "cost_limit_usd {limit} is below the estimate's cost_usd_max {:.6}: the run may stop at the limit, and the \
             attempts not sent by then end with COST_LIMIT_EXCEEDED",
            e.cost_usd_max
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::plan;
    use super::super::transforms::{Step, Transform};
    use super::super::Category;
    use super::*;

    fn setup<'a>(prices: &'a HashMap<String, (f64, f64)>, attacker: Option<&'a AttackerSpec>) -> Setup<'a> {
        Setup {
            target_model: Some("gpt-4o-mini"),
            target_system: Some("0123456789abcdef"), // 4 tokens
            target_template: None,
            target_max_tokens: 100,
            judge_model: Some("gpt-4o-mini"),
            judge_prompt_bytes: 400,
            judge_max_tokens: 300,
            judge_shown_chars: 6000,
            attacker,
            prices,
        }
    }

    #[test]
    fn counts_follow_the_plan_and_cost_is_tokens_times_price() {
        let prices = HashMap::new();
        let cats = [Category::PromptInjection, Category::Jailbreak, Category::Misinformation];
        let ts = [Transform::NONE, Step::Base64.into()];
        let a = plan::attempts(&cats, &ts, 2, 9);
        let e = estimate(&a, &setup(&prices, None));
        let benign = library::BENIGN.len() as u64;
        assert_eq!((e.attempts, e.benign), (6, benign));
        assert_eq!((e.target_calls_max, e.judge_calls_max, e.attacker_calls_max), (6 + benign, 6, 0));
        let t = &e.by_role["target"];
        let expect_in: u64 = a.iter().map(|x| CALL_OVERHEAD_TOKENS + 4 + tokens(&x.text)).sum();
        assert_eq!((t.input_tokens, t.output_tokens), (expect_in, 100 * (6 + benign)));
        assert_eq!(e.by_role["judge"].output_tokens, 6 * 300);
        assert_eq!(e.output_tokens_max, 100 * (6 + benign) + 1800);
        // gpt-4o-mini: $0.15 / $0.60 per 1M tokens.
        let cost = (e.input_tokens_max as f64 * 0.15 + e.output_tokens_max as f64 * 0.60) / 1e6;
        assert!((e.cost_usd_max - cost).abs() < 1e-12, "{} vs {cost}", e.cost_usd_max);
        assert!(e.priced && e.unpriced_models.is_empty());
        assert_eq!(limit_warning(&e, Some(e.cost_usd_max * 2.0)), None);
        assert!(limit_warning(&e, Some(0.0)).unwrap().contains("may stop at the limit"));
        assert_eq!(limit_warning(&e, None), None);
    }

    #[test]
    fn strategies_multiply_sends_and_unknown_prices_are_listed() {
        let prices = HashMap::new();
        let spec = AttackerSpec {
            provider: crate::domain::Provider::Openai,
            model: "attacker-x".into(),
            key_id: None,
            strategies: vec![Strategy::Paraphrase, Strategy::Refine, Strategy::MultiTurn],
            max_rounds: 4,
            max_turns: 5,
        };
        let a = plan::attempts(&[Category::Jailbreak], &[Transform::NONE], 3, 1);
        let e = estimate(&a, &setup(&prices, Some(&spec)));
        let benign = library::BENIGN.len() as u64;
        // paraphrase: 1 send + 1 attacker; refine: 4 sends + 3 attacker; multi_turn: 5 sends + 4 attacker.
        assert_eq!(e.target_calls_max, 1 + 4 + 5 + benign);
        assert_eq!((e.judge_calls_max, e.attacker_calls_max), (10, 8));
        assert!(!e.priced);
        assert_eq!(e.unpriced_models, vec!["attacker-x".to_owned()]);
        assert_eq!(e.by_role["attacker"].cost_usd, None);
        assert!(e.by_role["target"].cost_usd.is_some());
        let mut http = setup(&prices, None);
        http.target_model = None;
        http.judge_model = None;
        let e = estimate(&a, &http);
        assert_eq!((e.judge_calls_max, e.priced), (0, false));
        assert!(e.unpriced_models.is_empty() && e.notes.iter().any(|n| n.contains("HTTP target")));
    }
}
