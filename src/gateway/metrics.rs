//! Prometheus figures of the gateway, beside the judge's: answers by endpoint, status and cache outcome, provider
//! calls by provider and outcome, and the time gavel itself adds to an answer.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

pub(crate) struct GatewayMetrics {
    pub requests: IntCounterVec,
    pub upstream: IntCounterVec,
    pub overhead: Histogram,
}

impl GatewayMetrics {
    pub(crate) fn new(registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new("gateway_requests_total", "Gateway answers by endpoint, HTTP status and cache outcome"),
            &["endpoint", "status", "cache"],
        )?;
        let upstream = IntCounterVec::new(
            Opts::new(
                "gateway_upstream_calls_total",
                "Gateway calls to providers by provider and outcome (ok or an ErrorKind)",
            ),
            &["provider", "outcome"],
        )?;
        let overhead = Histogram::with_opts(
            HistogramOpts::new(
                "gateway_overhead_seconds",
                "Time an answer spent in gavel, not waiting for the provider",
            )
            .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]),
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(upstream.clone()))?;
        registry.register(Box::new(overhead.clone()))?;
        Ok(Self { requests, upstream, overhead })
    }
}
