//! `gavel redteam`'s attacker flags: the request's `attacker` object (API.md "Failure analysis and security";
//! field names as `crate::redteam::attacker::parse` reads them), built from `--attacker-provider`,
//! `--attacker-model`, `--attacker-key-id`, `--attacker-strategy`, `--attacker-max-rounds` and
//! `--attacker-max-turns`. Values are checked here, before anything is sent, so a typo exits 2 with a message
//! naming the flag instead of costing a round trip; the server checks the same rules again.

use serde_json::{json, Value};

use super::usage;
use crate::domain::Provider;
use crate::redteam::attacker::{Strategy, MAX_ROUNDS, MAX_TURNS};

/// The attacker model of a red-team run (all optional; `--attacker-provider` and `--attacker-model` turn it on).
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Attacker model (optional, on the org's keys; its spend counts toward --cost-limit-usd)")]
pub struct AttackerArgs {
    /// Provider of the attacker model: openai, anthropic, azure_openai, google, groq or openai_compatible. The
    /// org needs a usable key for it (else the server answers 400 BYOK_NO_KEY before the run starts).
    #[arg(long, value_name = "PROVIDER")]
    pub attacker_provider: Option<String>,
    /// The attacker model, e.g. gpt-4o-mini.
    #[arg(long, value_name = "MODEL")]
    pub attacker_model: Option<String>,
    /// One of the org's provider keys (by id) to call the attacker with, instead of the provider's default key.
    #[arg(long, value_name = "KEY_ID")]
    pub attacker_key_id: Option<String>,
    /// A strategy (repeatable or comma-separated; default all): paraphrase, translation, refine, multi_turn.
    /// Attack attempts cycle through them.
    #[arg(long = "attacker-strategy", visible_alias = "attacker-strategies", value_name = "S", value_delimiter = ',',
          value_parser = strategy)]
    pub attacker_strategies: Vec<String>,
    /// Most sends of a `refine` attempt (1-5, default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROUNDS)))]
    pub attacker_max_rounds: Option<u32>,
    /// Most turns of a `multi_turn` attempt (1-5, default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_TURNS)))]
    pub attacker_max_turns: Option<u32>,
}

/// A strategy name as the request spells it (`multi-turn` is accepted for `multi_turn`).
fn strategy(s: &str) -> Result<String, String> {
    let name = s.trim().replace('-', "_");
    Strategy::parse(&name).map(|st| st.as_str().to_owned()).ok_or_else(|| {
        let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown strategy {s:?}; one of {}", known.join(", "))
    })
}

impl AttackerArgs {
    fn any(&self) -> bool {
        self.attacker_provider.is_some()
            || self.attacker_model.is_some()
            || self.attacker_key_id.is_some()
            || !self.attacker_strategies.is_empty()
            || self.attacker_max_rounds.is_some()
            || self.attacker_max_turns.is_some()
    }

    /// The request's `attacker`, `None` when no attacker flag was given; a usage error (exit 2) naming the flag
    /// when one is missing or bad.
    pub fn body(&self) -> anyhow::Result<Option<Value>> {
        if !self.any() {
            return Ok(None);
        }
        let provider = self
            .attacker_provider
            .as_deref()
            .ok_or_else(|| usage("--attacker-provider is required with any other --attacker-… flag"))?;
        let provider = Provider::parse(provider.trim()).ok_or_else(|| {
            let known: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            usage(format!("--attacker-provider: unknown provider {provider:?}; one of {}", known.join(", ")))
        })?;
        let model = self
            .attacker_model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| usage("--attacker-model is required with --attacker-provider"))?;
        let mut a = json!({"provider": provider.as_str(), "model": model});
        if let Some(k) = self.attacker_key_id.as_deref().map(str::trim) {
            if k.is_empty() {
                return Err(usage("--attacker-key-id must not be empty"));
            }
            a["key_id"] = json!(k);
        }
        if !self.attacker_strategies.is_empty() {
            let mut list: Vec<&str> = Vec::new();
            for s in &self.attacker_strategies {
                if !list.contains(&s.as_str()) {
                    list.push(s);
                }
            }
            a["strategies"] = json!(list);
        }
        if let Some(n) = self.attacker_max_rounds {
            a["max_rounds"] = json!(n);
        }
        if let Some(n) = self.attacker_max_turns {
            a["max_turns"] = json!(n);
        }
        Ok(Some(a))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_become_the_requests_attacker_and_bad_ones_are_named() {
        assert_eq!(AttackerArgs::default().body().unwrap(), None);
        let a = AttackerArgs {
            attacker_provider: Some("openai".into()),
            attacker_model: Some("m".into()),
            attacker_key_id: Some("pk_1".into()),
            attacker_strategies: vec!["refine".into(), "multi_turn".into(), "refine".into()],
            attacker_max_rounds: Some(2),
            attacker_max_turns: Some(4),
        };
        let b = a.body().unwrap().unwrap();
        assert_eq!(
            b,
            json!({"provider": "openai", "model": "m", "key_id": "pk_1", "strategies": ["refine", "multi_turn"],
                   "max_rounds": 2, "max_turns": 4})
        );
        assert!(crate::redteam::attacker::parse(Some(&b)).unwrap().is_some(), "the server reads what we send");
        let msg = |a: AttackerArgs| a.body().unwrap_err().to_string();
        let only_model = AttackerArgs { attacker_model: Some("m".into()), ..Default::default() };
        assert!(msg(only_model).contains("--attacker-provider is required"));
        let bad = AttackerArgs {
            attacker_provider: Some("opneai".into()),
            attacker_model: Some("m".into()),
            ..Default::default()
        };
        assert!(msg(bad).contains("unknown provider \"opneai\""));
        let no_model = AttackerArgs { attacker_provider: Some("openai".into()), ..Default::default() };
        assert!(msg(no_model).contains("--attacker-model is required"));
        assert_eq!(strategy("multi-turn").unwrap(), "multi_turn");
        assert!(strategy("jump").unwrap_err().contains("one of paraphrase, translation, refine, multi_turn"));
    }
}
