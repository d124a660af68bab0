//! The gateway service: HTTP-free orchestration of one call. Route the model, check the key's limits, pick each
//! target's key, answer from cache, call the provider with retries (full jitter, Retry-After honoured) and fall
//! back to the next alias target, then hand the answer (whole or a stream) to the caller and queue the records.
//!
//! Gateway calls have their own concurrency limit per (org, provider), apart from the judge's lanes, so an API
//! call never waits behind an evaluation run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, GatewayConfig};
use crate::domain::{Code, Provider};
use crate::judge::keys::FallbackKey;
use crate::keystore::KeyFile;
use crate::providers::gateway::{self as upstream, Operation};
use crate::providers::{ErrorKind, ProviderError};
use crate::store::Store;
use crate::usage::requests::RequestRow;

use super::error::GatewayError;
use super::limits::{period_start, Limiter, Refusal, Reservation};
use super::record::{Recorder, Write};
use super::resolve::{self, OrgView, Resolved, Unusable};
use super::routing::{AliasTable, RouteTarget};

/// Who calls, and what the request's headers asked of the cache.
#[derive(Clone, Debug)]
pub struct CallInfo {
    pub org_id: String,
    pub api_key_id: String,
    /// `x-gavel-project`.
    pub project: Option<String>,
    pub request_id: String,
    /// False with `Cache-Control: no-cache`.
    pub cache_read: bool,
    /// False with `Cache-Control: no-store`.
    pub cache_write: bool,
}

/// What the answer's `x-gavel-*` headers say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    pub request_id: String,
    pub provider: Option<&'static str>,
    pub model: Option<String>,
    pub key_source: Option<&'static str>,
    pub attempts: u32,
    /// `hit` or `miss`.
    pub cache: &'static str,
    /// `None` while a stream's cost is not known yet.
    pub cost_usd: Option<f64>,
    pub overhead_ms: u64,
}

/// A failed call, in the contract's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub code: Code,
    pub status: u16,
    pub message: String,
    pub param: Option<String>,
    pub retry_after_s: Option<u64>,
    /// Boxed: failures travel in `Result`s, which should stay small.
    pub meta: Box<Meta>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            status: code.status(),
            message: message.into(),
            param: None,
            retry_after_s: None,
            meta: Box::default(),
        }
    }

    pub(crate) fn from_gateway(e: &GatewayError, key: Option<&crate::domain::Secret>) -> Self {
        let message = match key {
            Some(k) => crate::providers::scrub_secret(&e.to_string(), k),
            None => e.to_string(),
        };
        Failure {
            code: Code::parse(e.code()).unwrap_or(Code::ByokProviderError),
            status: e.status(),
            message,
            param: e.param().map(str::to_owned),
            retry_after_s: None,
            meta: Box::default(),
        }
    }

    /// A provider failure, summarised: the provider's status, its classified code and its scrubbed message (the
    /// adapters never keep the raw body). A request the provider refused as malformed is the caller's 400.
    pub(crate) fn from_provider(e: &ProviderError) -> Self {
        let (code, status) = match (e.kind, e.status) {
            (ErrorKind::InvalidRequest, Some(s @ (400 | 422))) => (Code::ValidationFailed, s),
            _ => (e.code(), e.code().status()),
        };
        Failure {
            code,
            status,
            message: e.message.clone(),
            param: None,
            retry_after_s: e.retry_after.map(|d| d.as_secs().max(1)),
            meta: Box::default(),
        }
    }
}

/// The request-log row in the making, with the timings the headers and the log report.
#[derive(Debug)]
pub(crate) struct Draft {
    pub org_id: String,
    pub row: RequestRow,
    pub meta: Meta,
    pub started: Instant,
    /// Time spent waiting for providers, so the rest is gavel's overhead.
    pub upstream: Duration,
    pub price_known: bool,
    /// The call's text, when its project logs content.
    pub content: Option<super::content::ContentLog>,
}

impl Draft {
    fn new(info: &CallInfo, endpoint: &str, stream: bool) -> Self {
        Draft {
            org_id: info.org_id.clone(),
            row: RequestRow {
                id: crate::store::new_id("gwr"),
                at: crate::store::now(),
                request_id: info.request_id.clone(),
                api_key_id: info.api_key_id.clone(),
                project: info.project.clone(),
                endpoint: endpoint.to_owned(),
                provider: None,
                model: None,
                requested_model: None,
                key_source: None,
                key_ref: None,
                status: 200,
                error_code: None,
                stream,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: 0.0,
                latency_ms: 0,
                overhead_ms: 0,
                cache: "miss".into(),
                attempts: 0,
                content: None,
            },
            meta: Meta { request_id: info.request_id.clone(), cache: "miss", ..Meta::default() },
            started: Instant::now(),
            upstream: Duration::ZERO,
            price_known: true,
            content: None,
        }
    }

    /// Notes the `model` the caller asked for, cut to `MAX_MODEL_NAME_LEN` (a longer one is refused anyway).
    pub(crate) fn asked(&mut self, model: &str) {
        let mut end = model.len().min(super::routing::MAX_MODEL_NAME_LEN);
        while !model.is_char_boundary(end) {
            end -= 1;
        }
        self.row.requested_model = Some(model[..end].to_owned());
    }

    pub(crate) fn target(&mut self, r: &Resolved) {
        self.meta.provider = Some(r.provider.as_str());
        self.meta.model = Some(r.model.clone());
        self.meta.key_source = Some(r.source);
        self.row.key_ref = Some(r.key_ref.clone());
    }

    pub(crate) fn overhead_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().saturating_sub(self.upstream).as_millis()).unwrap_or(u64::MAX)
    }

    /// The headers' view now.
    pub(crate) fn snapshot(&mut self) -> Meta {
        self.meta.overhead_ms = self.overhead_ms();
        self.meta.clone()
    }

    /// Completes the row, counts it and queues it.
    pub(crate) fn finish(mut self, g: &Gateway) {
        self.row.provider = self.meta.provider.map(str::to_owned);
        self.row.model = self.meta.model.clone();
        self.row.key_source = self.meta.key_source.map(str::to_owned);
        self.row.attempts = self.meta.attempts;
        self.row.cache = self.meta.cache.to_owned();
        self.row.cost_usd = self.meta.cost_usd.unwrap_or(0.0);
        self.row.latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.row.overhead_ms = self.overhead_ms();
        self.row.content = self.content.take().map(super::content::ContentLog::finish);
        let overhead = self.started.elapsed().saturating_sub(self.upstream).as_secs_f64();
        g.metrics.overhead.observe(overhead);
        g.metrics
            .requests
            .with_label_values(&[&self.row.endpoint, &self.row.status.to_string(), &self.row.cache])
            .inc();
        g.recorder.send(Write::Request { org_id: self.org_id, row: Box::new(self.row), price_known: self.price_known });
    }
}

/// A successful provider answer, still unread, with what must live as long as it does.
pub(crate) struct Upstream {
    pub resp: reqwest::Response,
    pub permit: OwnedSemaphorePermit,
}

/// See the module documentation.
pub struct Gateway {
    pub(crate) cfg: GatewayConfig,
    pub(crate) store: Store,
    /// Provider keys' secrets, decrypted once and held briefly; see `secrets.rs`.
    secrets: super::secrets::Secrets,
    http: crate::providers::ProviderClient,
    fallback: Option<FallbackKey>,
    pub(crate) prices: HashMap<String, (f64, f64)>,
    config_aliases: AliasTable,
    lanes: Mutex<HashMap<(String, Provider), Arc<Semaphore>>>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) recorder: Recorder,
    metrics: super::metrics::GatewayMetrics,
    /// Org views by (org, API key, project); see `view.rs`.
    pub(super) views: crate::store::Memo<Arc<OrgView>>,
    /// Recently produced cached answers; see `answers.rs`.
    pub(super) answers: super::answers::Answers,
    /// Cache keys that may have a stored answer; see `present.rs`.
    pub(super) present: Arc<super::present::Present>,
}

impl Gateway {
    /// Builds the service; its background writer runs on `rt` until `cancel`; its figures go to `registry`.
    pub fn new(
        config: &Config,
        store: Store,
        keys: Arc<KeyFile>,
        judge: &crate::judge::Judge,
        rt: &tokio::runtime::Handle,
        cancel: CancellationToken,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Arc<Gateway>> {
        // The judge's managed-mode key and destination policy hold for gateway calls too.
        let (fallback, policy) = (judge.fallback_key().cloned(), judge.http().policy().clone());
        let cfg = config.gateway.clone();
        let metrics = super::metrics::GatewayMetrics::new(registry)?;
        let recorder = Recorder::start(store.clone(), cfg.writer_batch, cancel, rt);
        let views = store.memo(cfg.view_cache_entries, Duration::from_secs(cfg.view_cache_ttl_s));
        let secrets = super::secrets::Secrets::new(
            store.memo(cfg.key_cache_entries, Duration::from_secs(cfg.key_cache_ttl_s)),
            keys,
        );
        let answers = super::answers::Answers::new(cfg.cache_memory_bytes, Duration::from_secs(cfg.cache_ttl_s));
        let present = Arc::new(super::present::Present::default());
        let (loading, load_store) = (present.clone(), store.clone());
        rt.spawn(async move {
            match load_store.read(super::present::stored_keys).await {
                Ok(keys) => loading.loaded(keys),
                Err(e) => tracing::warn!(error = %e, "could not list the gateway cache; every miss reads the store"),
            }
        });
        Ok(Arc::new(Gateway {
            http: upstream::streaming_client(
                Duration::from_secs(cfg.connect_timeout_s),
                Duration::from_secs(cfg.read_timeout_s),
                policy,
            )?,
            config_aliases: resolve::alias_table(&cfg.models),
            prices: config.judge.prices.iter().map(|(m, p)| (m.clone(), (p.input, p.output))).collect(),
            cfg,
            store,
            secrets,
            fallback,
            lanes: Mutex::new(HashMap::new()),
            limiter: Arc::new(Limiter::default()),
            recorder,
            metrics,
            views,
            answers,
            present,
        }))
    }

    /// Waits until queued records are written (call after cancelling the token given to [`Gateway::new`]).
    pub async fn stopped(&self) {
        self.recorder.stopped().await;
    }

    fn lane(&self, org: &str, provider: Provider) -> Arc<Semaphore> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .entry((org.to_owned(), provider))
            .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.max_concurrency_per_org_provider)))
            .clone()
    }

    /// The ordered targets for `model`: org aliases, then config aliases, then `provider/model` or a native name.
    pub fn targets(&self, model: &str, view: &OrgView) -> Result<Vec<RouteTarget>, Failure> {
        super::routing::resolve_model(model, &[&view.aliases, &self.config_aliases])
            .map_err(|e| Failure::from_gateway(&e, None))
    }

    pub(crate) fn config_aliases(&self) -> &AliasTable {
        &self.config_aliases
    }

    pub(crate) fn fallback(&self) -> Option<&FallbackKey> {
        self.fallback.as_ref()
    }

    pub(crate) fn choose(&self, view: &OrgView, org_id: &str, t: &RouteTarget) -> Result<Resolved, Unusable> {
        resolve::choose(view, org_id, t, self.fallback.as_ref(), &self.secrets)
    }

    /// Admits the call under the key's rate limits and reserves its largest cost under the key's budget.
    pub(crate) async fn admit(
        &self,
        info: &CallInfo,
        view: &OrgView,
        max_cost: f64,
    ) -> Result<Option<Reservation>, Failure> {
        let Some(limits) = &view.limits else { return Ok(None) };
        self.limiter.admit(&info.api_key_id, limits).map_err(refusal)?;
        let Some(budget) = limits.budget_usd else { return Ok(None) };
        let period = limits.budget_period.unwrap_or_default();
        let start = period_start(period);
        if self.limiter.needs_spend(&info.api_key_id, &start) {
            let (key, since) = (info.api_key_id.clone(), start.clone());
            let spent = self
                .store
                .read(move |c| crate::usage::requests::spent_since(c, &key, &since))
                .await
                .map_err(internal)?;
            self.limiter.set_spend(&info.api_key_id, &start, spent);
        }
        self.limiter.reserve(&info.api_key_id, budget, period, &start, max_cost).map(Some).map_err(refusal)
    }

    /// The dearest of the targets at `input_tokens` in and `output_tokens` out (0 for unpriced models).
    pub(crate) fn max_cost(&self, targets: &[RouteTarget], input_tokens: u64, output_tokens: u64) -> f64 {
        targets
            .iter()
            .filter_map(|t| crate::providers::pricing::cost_usd(&t.model, input_tokens, output_tokens, &self.prices))
            .fold(0.0, f64::max)
    }

    /// One target: waits for a slot of its (org, provider) lane, calls, and retries what is worth retrying.
    /// A key the provider rejects is marked failing, as the judge does.
    pub(crate) async fn call_target(
        &self,
        org_id: &str,
        r: &Resolved,
        op: Operation,
        body: &Value,
        d: &mut Draft,
    ) -> Result<Upstream, ProviderError> {
        let lane = self.lane(org_id, r.provider);
        let mut failures = 0u32;
        loop {
            let permit = lane
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| ProviderError::new(ErrorKind::Server, None, "the gateway is shutting down"))?;
            d.meta.attempts += 1;
            let t = Instant::now();
            let sent = upstream::send(&self.http, r.provider, &r.endpoint, &r.secret, &r.model, op, body).await;
            d.upstream += t.elapsed();
            let outcome = sent.as_ref().map_or_else(|e| e.kind.as_str(), |_| "ok");
            self.metrics.upstream.with_label_values(&[r.provider.as_str(), outcome]).inc();
            let e = match sent {
                Ok(resp) => return Ok(Upstream { resp, permit }),
                Err(e) => e,
            };
            drop(permit);
            if e.kind == ErrorKind::Auth {
                self.mark_failing(org_id, r, &e).await;
                return Err(e);
            }
            let retryable = e.retryable() || e.kind == ErrorKind::Unreachable;
            let wait = e.retry_after.unwrap_or(Duration::ZERO);
            if !retryable || failures >= self.cfg.max_retries || wait > Duration::from_secs(self.cfg.max_retry_wait_s) {
                return Err(e);
            }
            failures += 1;
            let delay = wait.max(self.backoff(failures));
            tracing::debug!(
                provider = r.provider.as_str(),
                kind = e.kind.as_str(),
                delay_ms = delay.as_millis() as u64,
                "retrying a gateway call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Full jitter: uniform in [0, min(max, base · 2^(attempt-1))].
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = (self.cfg.backoff_base_ms as f64 * 2f64.powi(attempt.saturating_sub(1).min(30) as i32))
            .min(self.cfg.backoff_max_ms as f64);
        Duration::from_millis(rand::thread_rng().gen_range(0.0..=cap) as u64)
    }

    async fn mark_failing(&self, org_id: &str, r: &Resolved, e: &ProviderError) {
        if r.source != "byok" {
            return;
        }
        tracing::warn!(key = %r.key_ref, code = %e.code(), "the provider rejected a key on a gateway call; marking it failing");
        let (org, id) = (org_id.to_owned(), r.key_ref.clone());
        let failure = json!({"code": e.code(), "message": e.message, "at": crate::store::now()});
        let written = self
            .store
            .write(move |c| {
                let tx = c.transaction()?;
                if crate::byok::repo::mark_failing(&tx, &org, &id, &failure)? {
                    crate::usage::audit::record(
                        &tx,
                        Some(&org),
                        "gateway",
                        "byok_key.failing",
                        "byok_key",
                        Some(&id),
                        json!({"code": failure["code"], "message": failure["message"]}),
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await;
        if let Err(err) = written {
            tracing::error!(key = %r.key_ref, error = %err, "could not record that the key is failing");
        }
    }

    /// Starts keeping the call's text when its project logs content; `prompt` is the request's messages or input.
    pub(crate) fn keep_content(&self, d: &mut Draft, view: &OrgView, prompt: Option<&Value>) {
        if view.log_content {
            d.content = Some(super::content::ContentLog::new(prompt, self.cfg.log_content_max_bytes));
        }
    }

    /// Starts the record of a call; `raw` is the request body, whose `model` the log keeps as asked.
    pub(crate) fn draft(&self, info: &CallInfo, endpoint: &str, stream: bool, raw: &Value) -> Draft {
        let mut d = Draft::new(info, endpoint, stream);
        if let Some(model) = raw.get("model").and_then(Value::as_str) {
            d.asked(model);
        }
        d
    }

    /// Records a failed call and gives its failure the headers' view.
    pub(crate) fn failed(&self, mut d: Draft, mut f: Failure) -> Failure {
        d.row.status = f.status;
        d.row.error_code = Some(f.code.as_str().to_owned());
        *f.meta = d.snapshot();
        d.finish(self);
        f
    }

    /// The cost of a call, and whether its model has a price.
    pub(crate) fn cost(&self, model: &str, input: u64, output: u64) -> (f64, bool) {
        match crate::providers::pricing::cost_usd(model, input, output, &self.prices) {
            Some(c) => (c, true),
            None => (0.0, false),
        }
    }
}

/// The provider refused the request itself as malformed (400, 422): another target would most likely refuse it
/// too, so it is answered at once. Other refusals (a wrong route behind a base URL, say) move on to the next target.
pub(crate) fn caller_at_fault(e: &ProviderError) -> bool {
    e.kind == ErrorKind::InvalidRequest && matches!(e.status, Some(400 | 422))
}

/// No target had a usable key: `BYOK_NO_KEY` naming the model and why each target was passed over.
pub(crate) fn no_key(model: &str, reasons: &[String]) -> Failure {
    let why = if reasons.is_empty() { "no target".to_owned() } else { reasons.join("; ") };
    let mut f = Failure::new(Code::ByokNoKey, format!("no usable provider key for model `{model}`: {why}"));
    f.param = Some("model".into());
    f
}

/// `Retry-After` of a refusal over budget: the budget frees up only when calls in flight settle below their
/// reservations or a new period starts, so a minute is an honest first wait.
pub(super) const BUDGET_RETRY_AFTER_S: u64 = 60;

/// Characters per token assumed when a request's input is estimated before it is sent (for budget reservations):
/// about four for English text, so the estimate errs on the high side for most prompts.
pub(super) const CHARS_PER_TOKEN: u64 = 4;

/// A request's input tokens, estimated from the length of its JSON text (counted as it is written, not kept).
pub(crate) fn input_estimate(raw: &serde_json::Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    serde_json::to_writer(&mut n, raw).ok();
    n.0.div_ceil(CHARS_PER_TOKEN)
}

fn refusal(r: Refusal) -> Failure {
    match r {
        Refusal::Rate { what, retry_after_s } => {
            let mut f = Failure::new(
                Code::RateLimited,
                format!("this API key is over its {what} limit; retry in {retry_after_s} s"),
            );
            f.retry_after_s = Some(retry_after_s);
            f
        }
        Refusal::Budget { budget, spent, reserved, period } => {
            let period = match period {
                crate::tenancy::model::BudgetPeriod::Day => "day",
                crate::tenancy::model::BudgetPeriod::Month => "month",
            };
            let mut f = Failure::new(
                Code::BudgetExceeded,
                format!("this API key's budget of ${budget:.4} per {period} is used up (${spent:.4} spent, ${reserved:.4} held by calls in flight)"),
            );
            f.retry_after_s = Some(BUDGET_RETRY_AFTER_S);
            f
        }
    }
}

pub(crate) fn internal(e: crate::error::Error) -> Failure {
    tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "gateway call failed inside gavel");
    Failure::new(Code::Internal, "internal error")
}
