//! Prometheus figures of the judge scheduler.

/// What operators watch: calls by provider and outcome, latency, retries, cache hits, calls in flight.
pub(super) struct JudgeMetrics {
    pub(super) calls: prometheus::IntCounterVec,
    pub(super) latency: prometheus::HistogramVec,
    pub(super) retries: prometheus::IntCounterVec,
    pub(super) cache_hits: prometheus::IntCounter,
    pub(super) in_flight: prometheus::IntGaugeVec,
}

impl JudgeMetrics {
    pub(super) fn new(registry: &prometheus::Registry) -> anyhow::Result<Self> {
        use prometheus::{HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts};
        let calls = IntCounterVec::new(
            Opts::new("judge_calls_total", "Provider calls by provider and outcome (ok or an ErrorKind)"),
            &["provider", "outcome"],
        )?;
        let latency = prometheus::HistogramVec::new(
            HistogramOpts::new("judge_call_duration_seconds", "Provider call latency by provider")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
            &["provider"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new("judge_retries_total", "Judge call retries by provider and reason"),
            &["provider", "reason"],
        )?;
        let cache_hits = IntCounter::new("judge_cache_hits_total", "Verdicts served from the cache")?;
        let in_flight = IntGaugeVec::new(
            Opts::new("judge_calls_in_flight", "Provider calls in flight by provider"),
            &["provider"],
        )?;
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self { calls, latency, retries, cache_hits, in_flight })
    }
}
