//! Usage accounting for one run: totals for the summary, and per (provider, model, key) deltas flushed to the store
//! with each batch of results, so a crash loses no spend that a stored result reflects.

use std::collections::HashMap;

use crate::domain::Usage;

/// Where usage came from, as `/v1/usage` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Source {
    /// A run's judge scorers (and the judge calls of other run kinds).
    #[default]
    Judge,
    /// A run producing its own outputs: calls to its target.
    Target,
    /// The OpenAI-compatible gateway.
    Gateway,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Judge => "judge",
            Source::Target => "target",
            Source::Gateway => "gateway",
        }
    }
}

/// One line of usage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// Lines of different sources are kept apart (the source is part of the usage key).
    pub source: Source,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub cache_hits: u64,
    pub price_known: bool,
}

/// (provider, model, key label).
pub type LineKey = (String, String, String);

/// A run's usage so far.
#[derive(Debug, Default)]
pub struct Book {
    pub total: Usage,
    pending: HashMap<(LineKey, Source), Line>,
    /// Per stored key, for the audit row written when the run ends.
    pub per_key: HashMap<String, Line>,
}

impl Book {
    /// Start from what a resumed run had already spent.
    pub fn resumed(total: Usage) -> Self {
        Self { total, ..Default::default() }
    }

    /// Record a call (or a cache hit, with `calls == 0`).
    pub fn add(&mut self, key: LineKey, line: Line) {
        self.total.calls += line.calls;
        self.total.input_tokens += line.input_tokens;
        self.total.output_tokens += line.output_tokens;
        self.total.cost_usd += line.cost_usd;
        self.total.cache_hits += line.cache_hits;
        if key.2.starts_with("pk_") {
            merge(
                self.per_key.entry(key.2.clone()).or_insert_with(|| Line { price_known: true, ..Default::default() }),
                &line,
            );
        }
        let source = line.source;
        merge(
            self.pending.entry((key, source)).or_insert_with(|| Line {
                source,
                price_known: true,
                ..Default::default()
            }),
            &line,
        );
    }

    /// Is anything waiting to be written?
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Take what has not been written yet.
    pub fn take_pending(&mut self) -> Vec<(LineKey, Line)> {
        self.pending.drain().map(|((key, _), line)| (key, line)).collect()
    }
}

fn merge(into: &mut Line, l: &Line) {
    into.calls += l.calls;
    into.input_tokens += l.input_tokens;
    into.output_tokens += l.output_tokens;
    into.cost_usd += l.cost_usd;
    into.cache_hits += l.cache_hits;
    into.price_known &= l.price_known;
}
