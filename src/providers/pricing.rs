//! What a judge call costs, from a price table shipped in the binary (no network lookups on an air-gapped host).
//!
//! Prices are USD per 1M input / output tokens, list prices for standard (non-batch, non-cached) use.
//! Operators correct or extend them with `overrides` from the config when a provider changes its prices.

use std::collections::HashMap;

/// (model prefix, USD per 1M input tokens, USD per 1M output tokens).
const PRICES: &[(&str, f64, f64)] = &[
    // OpenAI
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("gpt-5", 1.25, 10.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("o1", 15.00, 60.00),
    ("o1-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    // Anthropic
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-opus", 15.00, 75.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-sonnet-4-5", 3.00, 15.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-opus-4", 15.00, 75.00),
    ("claude-opus-4-1", 15.00, 75.00),
    ("claude-opus-4-5", 5.00, 25.00),
    // Google (prompts up to 128k / 200k tokens)
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-1.5-pro", 1.25, 5.00),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-2.0-flash-lite", 0.075, 0.30),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
    ("gemini-2.5-pro", 1.25, 10.00),
    // Groq
    ("llama-3.3-70b-versatile", 0.59, 0.79),
    ("llama-3.1-8b-instant", 0.05, 0.08),
    ("gemma2-9b-it", 0.20, 0.20),
    ("meta-llama/llama-4-scout-17b-16e-instruct", 0.11, 0.34),
    ("meta-llama/llama-4-maverick-17b-128e-instruct", 0.20, 0.60),
    ("openai/gpt-oss-120b", 0.15, 0.75),
    ("openai/gpt-oss-20b", 0.10, 0.50),
];

/// Whether `model` is `prefix` or a dated/tagged variant of it (`gpt-4o-2024-08-06`, `claude-3-5-sonnet@20240620`,
/// `gemini-2.0-flash-001`), so a variant never borrows the price of a different model that merely shares letters.
fn matches(model: &str, prefix: &str) -> bool {
    model.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '@', ':']))
}

/// Longest matching prefix across the config's overrides and the table; on equal length the override wins.
fn lookup(model: &str, overrides: &HashMap<String, (f64, f64)>) -> Option<(f64, f64)> {
    let mut best: Option<(usize, bool, (f64, f64))> = None;
    // Borrowed where it can be: the gateway prices every call twice (reservation, then cost), and copying each
    // entry of the built-in table per lookup was most of its cost.
    let candidates = overrides
        .iter()
        .map(|(k, v)| (std::borrow::Cow::Owned(k.to_lowercase()), true, *v))
        .chain(PRICES.iter().map(|(k, i, o)| (std::borrow::Cow::Borrowed(*k), false, (*i, *o))));
    for (prefix, is_override, price) in candidates {
        if !matches(model, &prefix) {
            continue;
        }
        let better = match best {
            None => true,
            Some((len, was_override, _)) => prefix.len() > len || (prefix.len() == len && is_override && !was_override),
        };
        if better {
            best = Some((prefix.len(), is_override, price));
        }
    }
    best.map(|(_, _, price)| price)
}

/// The models of the built-in price table (the gateway lists them in `/v1/models`).
pub fn known_models() -> impl Iterator<Item = &'static str> {
    PRICES.iter().map(|(m, _, _)| *m)
}

/// USD per 1M (input, output) tokens, so usage can be priced per run and per org; `None` for unknown models
/// (self-hosted, Azure deployment names) rather than a guess.
pub fn price(model: &str, overrides: &HashMap<String, (f64, f64)>) -> Option<(f64, f64)> {
    let model = model.trim().to_lowercase();
    let model = model.strip_prefix("models/").unwrap_or(&model);
    lookup(model, overrides).or_else(|| {
        // Router-style names ("openai/gpt-4o-mini") fall back to the bare model name.
        let (_, bare) = model.rsplit_once('/')?;
        lookup(bare, overrides)
    })
}

/// The USD cost of one call, or `None` when the model has no known price.
pub fn cost_usd(
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    overrides: &HashMap<String, (f64, f64)>,
) -> Option<f64> {
    let (per_m_in, per_m_out) = price(model, overrides)?;
    // u64 → f64 is exact below 2^53 tokens, far beyond any bill.
    #[allow(clippy::cast_precision_loss)]
    let cost = (input_tokens as f64 * per_m_in + output_tokens as f64 * per_m_out) / 1_000_000.0;
    Some(cost)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn none() -> HashMap<String, (f64, f64)> {
        HashMap::new()
    }

    #[test]
    fn every_required_model_has_a_price() {
        for m in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o3-mini",
            "o4-mini",
            "claude-3-5-haiku",
            "claude-3-5-sonnet",
            "claude-3-7-sonnet",
            "claude-sonnet-4",
            "claude-opus-4",
            "gemini-2.0-flash",
            "gemini-1.5-pro",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant",
        ] {
            assert!(price(m, &none()).is_some(), "{m}");
        }
        for p in crate::domain::Provider::ALL {
            if let Some(m) = crate::providers::default_model(p) {
                assert!(price(m, &none()).is_some(), "default model {m} of {}", p.as_str());
            }
        }
    }

    #[test]
    fn dated_variants_take_the_longest_prefix() {
        assert_eq!(price("gpt-4o-mini-2024-07-18", &none()), Some((0.15, 0.60)));
        assert_eq!(price("gpt-4o-2024-08-06", &none()), Some((2.50, 10.00)));
        assert_eq!(price("gpt-4.1-nano-2025-04-14", &none()), Some((0.10, 0.40)));
        assert_eq!(price("claude-3-5-haiku-20241022", &none()), Some((0.80, 4.00)));
        assert_eq!(price("claude-3-5-haiku-latest", &none()), Some((0.80, 4.00)));
        assert_eq!(price("claude-opus-4-20250514", &none()), Some((15.00, 75.00)));
        assert_eq!(price("claude-opus-4-5-20251101", &none()), Some((5.00, 25.00)));
        assert_eq!(price("claude-sonnet-4-20250514", &none()), Some((3.00, 15.00)));
        assert_eq!(price("models/gemini-2.0-flash-001", &none()), Some((0.10, 0.40)));
        assert_eq!(price("gemini-2.0-flash-lite-001", &none()), Some((0.075, 0.30)));
        assert_eq!(price("O3-MINI-2025-01-31", &none()), Some((1.10, 4.40)));
        assert_eq!(price("openai/gpt-4o-mini", &none()), Some((0.15, 0.60)));
    }

    #[test]
    fn unknown_models_have_no_price() {
        assert_eq!(price("my-azure-deployment", &none()), None);
        assert_eq!(price("gpt-4oX", &none()), None);
        assert_eq!(price("", &none()), None);
        assert_eq!(cost_usd("mistral-7b-local", 10, 10, &none()), None);
    }

    #[test]
    fn overrides_win() {
        let mut o = HashMap::new();
        o.insert("gpt-4o-mini".to_owned(), (1.0, 2.0));
        o.insert("my-llama".to_owned(), (0.5, 0.5));
        assert_eq!(price("gpt-4o-mini-2024-07-18", &o), Some((1.0, 2.0)));
        assert_eq!(price("gpt-4o", &o), Some((2.50, 10.00)), "an override of a longer name does not leak");
        assert_eq!(price("my-llama", &o), Some((0.5, 0.5)));
        let mut broad = HashMap::new();
        broad.insert("gpt-4o".to_owned(), (9.0, 9.0));
        assert_eq!(price("gpt-4o-mini", &broad), Some((0.15, 0.60)), "the longer table entry is more specific");
    }

    #[test]
    fn cost_is_tokens_times_price() {
        let c = cost_usd("gpt-4o-mini", 1_000_000, 500_000, &none()).unwrap();
        assert!((c - (0.15 + 0.30)).abs() < 1e-9);
        let c = cost_usd("claude-3-5-haiku-latest", 1000, 200, &none()).unwrap();
        assert!((c - (1000.0 * 0.80 + 200.0 * 4.00) / 1e6).abs() < 1e-12);
        assert_eq!(cost_usd("gpt-4o", 0, 0, &none()), Some(0.0));
    }
}
