//! Prometheus metrics and the request middleware that feeds them and opens a span per request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tracing::Instrument;

/// The process's metrics; one registry per application so tests do not share counters.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("gavel".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route pattern and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by method and route pattern")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route"],
        )?;
        let in_flight = IntGauge::new("http_requests_in_flight", "HTTP requests being served")?;
        let build = IntGauge::with_opts(
            Opts::new("build_info", "Build information").const_label("version", env!("CARGO_PKG_VERSION")),
        )?;
        build.set(1);
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(build))?;
        Ok(Self { registry, requests, latency, in_flight })
    }

    /// The registry, for features that add their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Middleware: a span per request (method, route, request id, org once known), a log line at the end,
/// and the request counters. Paths are recorded by route pattern so ids do not explode label cardinality. The
/// request id is also put in the request's extensions ([`RequestId`]), so handlers that record it (the gateway's
/// request log) name the same id as the header and the log lines.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let route = route_of(&req);
    let method = req.method().to_string();
    let metrics = req.app_data::<actix_web::web::Data<crate::http::AppState>>().map(|s| s.metrics.clone());
    let request_id = uuid::Uuid::now_v7().simple().to_string();
    actix_web::HttpMessage::extensions_mut(&req).insert(RequestId(request_id.clone()));
    let span = tracing::info_span!("request", %method, %route, request_id = %request_id, org = tracing::field::Empty);
    if let Some(m) = &metrics {
        m.in_flight.inc();
    }
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    if let Some(m) = &metrics {
        m.in_flight.dec();
        m.requests.with_label_values(&[method.as_str(), route.as_str(), &status.to_string()]).inc();
        m.latency.with_label_values(&[method.as_str(), route.as_str()]).observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    result.map(|mut res| {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&request_id) {
            res.headers_mut().insert(actix_web::http::header::HeaderName::from_static("x-request-id"), v);
        }
        res
    })
}

/// Static paths of the gateway's hot routes: their pattern is the path itself. Looking a pattern up walks the
/// whole route table and tries each dynamic pattern's regex (a profile of the gateway put it at 6 % of its CPU),
/// so these skip it.
const STATIC_HOT_ROUTES: [&str; 4] = ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/models"];

/// The route pattern of a request, for labels and the span (ids would explode label cardinality).
fn route_of(req: &ServiceRequest) -> String {
    let path = req.path();
    if let Some(p) = STATIC_HOT_ROUTES.iter().find(|p| **p == path) {
        return (*p).to_owned();
    }
    req.match_pattern().unwrap_or_else(|| "unmatched".into())
}

/// The id of the request being served (also its `x-request-id` header).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);
