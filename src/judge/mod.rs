//! The judge scheduler: every model-graded score goes through here. Per (org, provider) lanes bound and pace the
//! calls (see `lane`), a global semaphore caps the process, one retry layer with exponential backoff and full jitter
//! handles transient failures within a per-item time budget, a key the provider rejects fails the rest of its work
//! at once, verdicts are cached per org, and every call is booked to the run's usage.

mod ask;
pub mod backend;
mod cache;
mod estimate;
mod external;
mod generate;
mod health;
pub mod keys;
pub mod lane;
mod metrics;
pub mod retry;
mod samples;
pub mod settings;

pub use external::ExternalFailure;
pub use generate::Generated;
pub use settings::{org_settings, save_org_settings};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Semaphore;

use crate::config::JudgeConfig;
use crate::domain::Provider;
use crate::domain::Secret;
use crate::domain::{Code, Item, Score, ScoreError};
use crate::providers::{self, ChatRequest, ErrorKind, ProviderError};
use crate::scoring::judge::{self as prompts, JudgeSpec};
use crate::usage::book::{Book, Line, Source};
use cache::cache_key;
use keys::{Candidates, Choice, FallbackKey, KeyRef, OrgSettings, RequestKey, Target};
use lane::Lane;
use metrics::JudgeMetrics;

/// Calls a key may have in flight before its first success: a key the provider rejects costs at most this many.
const PROBE_CALLS: usize = 4;

/// Most output tokens a verdict may take.
const VERDICT_MAX_TOKENS: u32 = 400;

/// A judge scorer prepared for one run: its spec and the target its calls go to (or why there is none).
pub struct Prepared {
    pub spec: JudgeSpec,
    pub target: Result<Target, ScoreError>,
}

/// What one run's calls share.
pub struct RunCtx {
    pub run_id: String,
    pub org_id: String,
    pub use_cache: bool,
    pub cost_limit: Option<f64>,
    pub book: Mutex<Book>,
    /// Connection failures in a row per target; at UNREACHABLE_AFTER the run stops trying that target.
    pub unreachable: Mutex<HashMap<KeyRef, u32>>,
}

/// Consecutive connection failures after which a run's remaining calls to that endpoint fail at once.
const UNREACHABLE_AFTER: u32 = 3;

impl RunCtx {
    fn spent(&self) -> f64 {
        self.book.lock().map(|b| b.total.cost_usd).unwrap_or(0.0)
    }

    fn record(&self, target: &Target, line: Line) {
        if let Ok(mut b) = self.book.lock() {
            b.add((target.provider.as_str().to_string(), target.model.clone(), target.key_ref.label()), line);
        }
    }
}

/// See the module documentation.
pub struct Judge {
    cfg: JudgeConfig,
    backend: Arc<dyn backend::Backend>,
    http: providers::ProviderClient,
    lanes: Mutex<HashMap<(String, Provider), Arc<Lane>>>,
    /// Lanes of HTTP targets, per (org, host): see [`external`].
    http_lanes: Mutex<HashMap<(String, String), Arc<Lane>>>,
    global: Semaphore,
    failed: Mutex<HashMap<KeyRef, ScoreError>>,
    /// Keys not yet proven by a success, and the gate that limits their first calls.
    probing: Mutex<HashMap<KeyRef, Arc<Semaphore>>>,
    proven: Mutex<std::collections::HashSet<KeyRef>>,
    request_keys: Mutex<HashMap<String, RequestKey>>,
    fallback: Option<FallbackKey>,
    prices: HashMap<String, (f64, f64)>,
    metrics: JudgeMetrics,
}

fn err(code: Code, message: impl Into<String>) -> ScoreError {
    ScoreError::new(code, message)
}

fn from_provider(e: &ProviderError) -> ScoreError {
    err(e.code(), e.message.clone())
}

/// The error of a call refused because the process is stopping: the run pipeline leaves such an item without a
/// result, so it is asked again at the next start instead of being recorded as failed.
pub const STOPPING: &str = "gavel is stopping; the item is judged again at the next start";

impl Judge {
    /// After a SIGTERM no provider call starts: calls in flight finish (bounded by the drain), calls waiting for a
    /// slot are refused with [`STOPPING`].
    pub fn stop_new_calls(&self) {
        self.global.close();
    }

    pub fn new(
        cfg: &JudgeConfig,
        backend: Arc<dyn backend::Backend>,
        registry: &prometheus::Registry,
        policy: Arc<providers::DestinationPolicy>,
    ) -> anyhow::Result<Arc<Judge>> {
        let fallback = if cfg.fallback_provider.is_empty() {
            None
        } else {
            let provider = Provider::parse(&cfg.fallback_provider).ok_or_else(|| {
                anyhow::anyhow!("judge.fallback_provider {:?} is not a provider", cfg.fallback_provider)
            })?;
            let path = &cfg.fallback_key_file;
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map_err(|e| anyhow::anyhow!("judge.fallback_key_file {}: {e}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    anyhow::bail!(
                        "judge.fallback_key_file {} is readable by group or others; run chmod 600 {}",
                        path.display(),
                        path.display()
                    );
                }
            }
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
            let base_url = (!cfg.fallback_base_url.is_empty()).then(|| cfg.fallback_base_url.clone());
            Some(FallbackKey { provider, key: Secret::new(text.trim().to_string()), base_url })
        };
        let prices = cfg.prices.iter().map(|(m, p)| (m.clone(), (p.input, p.output))).collect();
        Ok(Arc::new(Judge {
            cfg: cfg.clone(),
            http: providers::http_client(
                Duration::from_secs(cfg.connect_timeout_s),
                Duration::from_secs(cfg.request_timeout_s),
                policy,
            )?,
            backend,
            lanes: Mutex::new(HashMap::new()),
            http_lanes: Mutex::new(HashMap::new()),
            global: Semaphore::new(cfg.global_max_concurrency),
            failed: Mutex::new(HashMap::new()),
            probing: Mutex::new(HashMap::new()),
            proven: Mutex::new(Default::default()),
            request_keys: Mutex::new(HashMap::new()),
            fallback,
            prices,
            metrics: JudgeMetrics::new(registry)?,
        }))
    }

    /// Calls in flight at most per (org, provider).
    pub fn cap(&self) -> usize {
        self.cfg.max_concurrency_per_org_provider
    }

    /// The shared HTTP client (key tests use it too).
    pub fn http(&self) -> &providers::ProviderClient {
        &self.http
    }

    /// The server's managed-mode key, which the gateway uses too.
    pub fn fallback_key(&self) -> Option<&FallbackKey> {
        self.fallback.as_ref()
    }

    /// Keep a run's own provider key in memory for the life of the run.
    pub fn hold_request_key(&self, run_id: &str, key: RequestKey) {
        if let Ok(mut m) = self.request_keys.lock() {
            m.insert(run_id.to_string(), key);
        }
    }

    /// Forget a run's own key (the run ended).
    pub fn release_request_key(&self, run_id: &str) {
        if let Ok(mut m) = self.request_keys.lock() {
            m.remove(run_id);
        }
        let key = KeyRef::Request(run_id.to_string());
        if let Ok(mut f) = self.failed.lock() {
            f.remove(&key);
        }
        if let Ok(mut p) = self.proven.lock() {
            p.remove(&key);
        }
        if let Ok(mut p) = self.probing.lock() {
            p.remove(&key);
        }
    }

    /// The one retry policy, from `judge.*` (provider calls and HTTP targets alike).
    fn retry_policy(&self) -> retry::Policy {
        retry::Policy {
            base_ms: self.cfg.backoff_base_ms,
            max_ms: self.cfg.backoff_max_ms,
            max_retries: self.cfg.max_retries,
            budget: Duration::from_secs(self.cfg.item_budget_s),
        }
    }

    fn lane(&self, org: &str, provider: Provider) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .entry((org.to_string(), provider))
            .or_insert_with(|| Lane::new(self.cfg.max_concurrency_per_org_provider))
            .clone()
    }

    /// Calls in flight and the current limit of a lane (tests, metrics).
    pub fn lane_figures(&self, org: &str, provider: Provider) -> (usize, f64) {
        self.lane(org, provider).figures()
    }

    /// Resolve each judge scorer's key and model once for the run.
    pub async fn prepare(
        &self,
        org: &str,
        run_id: &str,
        run_model: Option<&str>,
        had_request_key: bool,
        specs: &[JudgeSpec],
    ) -> crate::error::Result<(Vec<Prepared>, OrgSettings)> {
        let (keys, settings) = self.backend.keys_and_settings(org).await?;
        let request = self.request_keys.lock().ok().and_then(|m| m.get(run_id).cloned());
        let lost = had_request_key && request.is_none();
        let cands = Candidates {
            keys,
            fallback: self.fallback.clone(),
            request,
            settings: settings.clone(),
            server_model_overrides: self.cfg.model_overrides.clone(),
        };
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let target = if lost {
                Err(err(
                    Code::ByokNoKey,
                    "the run's own provider_key was held in memory only and the server restarted before the run ended; submit the run again",
                ))
            } else {
                self.target(org, run_id, &cands, spec, run_model)
            };
            out.push(Prepared { spec: spec.clone(), target });
        }
        Ok((out, settings))
    }

    fn target(
        &self,
        org: &str,
        run_id: &str,
        cands: &Candidates,
        spec: &JudgeSpec,
        run_model: Option<&str>,
    ) -> Result<Target, ScoreError> {
        let want = keys::Wanted {
            provider: spec.provider,
            key_id: spec.key_id.as_deref(),
            kind: &spec.kind,
            model: spec.model.as_deref(),
        };
        self.resolve(org, run_id, cands, want, run_model)
    }

    /// The key, endpoint and model a call for `want` goes to (judge scorers and run targets alike).
    fn resolve(
        &self,
        org: &str,
        run_id: &str,
        cands: &Candidates,
        want: keys::Wanted<'_>,
        run_model: Option<&str>,
    ) -> Result<Target, ScoreError> {
        let (provider, choice) = cands.choose(want.provider, want.key_id)?;
        let model = cands.model(want.kind, want.model, run_model, provider, &choice)?;
        let endpoint = keys::endpoint_of(&choice);
        let (secret, key_ref) = match choice {
            Choice::Request(r) => (r.key, KeyRef::Request(run_id.to_string())),
            Choice::Fallback(f) => (f.key, KeyRef::Fallback),
            Choice::Stored(k) => {
                if k.status == "failing" {
                    let code = k
                        .failure
                        .as_ref()
                        .and_then(|f| f["code"].as_str())
                        .and_then(Code::parse)
                        .unwrap_or(Code::ByokAuthFailed);
                    return Err(err(
                        code,
                        format!("provider key {} ({}) is marked failing; test or rotate it", k.name, k.id),
                    ));
                }
                let secret = self
                    .backend
                    .secret(org, &k.id, provider)
                    .map_err(|e| err(Code::ByokNoKey, format!("the secret of key {} cannot be read: {e}", k.id)))?
                    .ok_or_else(|| {
                        err(Code::ByokNoKey, format!("key {} has no secret in the key file; rotate it", k.id))
                    })?;
                (secret, KeyRef::Stored(k.id))
            }
        };
        Ok(Target { provider, endpoint, secret, key_ref, model })
    }

    /// One judge score for one item: one verdict, or with `samples: k` the combination of k (see `samples`).
    pub async fn score(&self, ctx: &RunCtx, name: &str, prepared: &Prepared, item: &Item) -> Score {
        let fail = |e: ScoreError| samples::failed(name, e);
        let target = match &prepared.target {
            Ok(t) => t,
            Err(e) => return fail(e.clone()),
        };
        let spec = &prepared.spec;
        if let Some(missing) = prompts::missing_input(spec, item) {
            return fail(err(Code::ValidationFailed, missing));
        }
        let (system, user) = prompts::prompts(spec, item);
        let k = spec.samples.max(1);
        let req = ChatRequest {
            model: target.model.clone(),
            system,
            user,
            max_tokens: VERDICT_MAX_TOKENS,
            temperature: if k == 1 { 0.0 } else { samples::SAMPLE_TEMPERATURE },
            json_schema: Some(prompts::verdict_schema()),
            sampling: Default::default(),
            history: Vec::new(),
        };
        if k == 1 {
            return match self.verdict(ctx, target, spec, &req, None).await {
                Ok(v) => samples::verdict_score(name, spec, v),
                Err(e) => fail(e),
            };
        }
        let calls = (0..k).map(|i| self.verdict(ctx, target, spec, &req, Some(i)));
        let verdicts = futures_util::future::join_all(calls).await;
        samples::combine(name, spec, verdicts)
    }

    /// One verdict: from the cache when allowed, else one call (with its retries). `sample` is the index of a
    /// repeated verdict; it is part of the cache key, so k samples are k verdicts, not one served k times.
    async fn verdict(
        &self,
        ctx: &RunCtx,
        target: &Target,
        spec: &JudgeSpec,
        req: &ChatRequest,
        sample: Option<u32>,
    ) -> Result<prompts::Verdict, ScoreError> {
        let cache_key = (self.cfg.cache_ttl_s > 0).then(|| cache_key(&ctx.org_id, target.provider, req, sample));
        if let (true, Some(k)) = (ctx.use_cache, &cache_key) {
            if let Some(text) = self.cache_get(k).await {
                if let Ok(v) = prompts::parse_reply(&text, spec.scale) {
                    ctx.record(target, Line { cache_hits: 1, price_known: true, ..Default::default() });
                    self.metrics.cache_hits.inc();
                    return Ok(v);
                }
            }
        }
        let text = self.call(ctx, target, req).await?;
        let v = prompts::parse_reply(&text, spec.scale).map_err(|why| err(Code::JudgeUnparseable, why))?;
        if let Some(k) = cache_key {
            self.cache_put(&ctx.org_id, k, text).await;
        }
        Ok(v)
    }

    /// One provider call with the one retry layer, booked as judge usage.
    async fn call(&self, ctx: &RunCtx, target: &Target, req: &ChatRequest) -> Result<String, ScoreError> {
        self.call_as(ctx, target, req, Source::Judge).await.map(|(text, _)| text)
    }

    /// One provider call with the one retry layer, booked to `source`; answers the text and the successful
    /// call's usage line (what this answer cost, without the failed attempts before it).
    async fn call_as(
        &self,
        ctx: &RunCtx,
        target: &Target,
        req: &ChatRequest,
        source: Source,
    ) -> Result<(String, Line), ScoreError> {
        let lane = self.lane(&ctx.org_id, target.provider);
        let started = Instant::now();
        let policy = self.retry_policy();
        let mut attempts = retry::Attempts::default();
        loop {
            if let Some(e) = self.blocked(ctx, target) {
                return Err(e);
            }
            let gate = self.probe_gate(&target.key_ref);
            let _probe = match &gate {
                Some(g) => g.clone().acquire_owned().await.ok(),
                None => None,
            };
            let permit = lane.acquire(&ctx.run_id).await;
            // Checked again with the slot in hand: calls queued behind the lane see what the calls before them found.
            if let Some(e) = self.blocked(ctx, target) {
                return Err(e);
            }
            let global = self.global.acquire().await.map_err(|_| err(Code::Unavailable, STOPPING))?;
            lane.wait_turn().await;
            let provider = target.provider.as_str();
            let gauge = self.metrics.in_flight.with_label_values(&[provider]);
            gauge.inc();
            let t = Instant::now();
            let result = providers::complete(&self.http, target.provider, &target.endpoint, &target.secret, req).await;
            gauge.dec();
            self.metrics.latency.with_label_values(&[provider]).observe(t.elapsed().as_secs_f64());
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.kind.as_str(),
            };
            self.metrics.calls.with_label_values(&[provider, outcome]).inc();
            drop(global);
            let e = match result {
                Ok(resp) => {
                    lane.on_success();
                    drop(permit);
                    self.mark_proven(&target.key_ref);
                    if let Ok(mut m) = ctx.unreachable.lock() {
                        m.remove(&target.key_ref);
                    }
                    let (cost, known) = match providers::pricing::cost_usd(
                        &resp.model,
                        resp.input_tokens,
                        resp.output_tokens,
                        &self.prices,
                    )
                    .or_else(|| {
                        providers::pricing::cost_usd(&target.model, resp.input_tokens, resp.output_tokens, &self.prices)
                    }) {
                        Some(c) => (c, true),
                        None => (0.0, false),
                    };
                    let line = Line {
                        source,
                        calls: 1,
                        input_tokens: resp.input_tokens,
                        output_tokens: resp.output_tokens,
                        cost_usd: cost,
                        cache_hits: 0,
                        price_known: known,
                    };
                    ctx.record(target, line.clone());
                    return Ok((resp.text, line));
                }
                Err(e) => e,
            };
            drop(permit);
            ctx.record(target, Line { source, calls: 1, price_known: true, ..Default::default() });
            if e.kind == ErrorKind::Unreachable {
                if let Ok(mut m) = ctx.unreachable.lock() {
                    *m.entry(target.key_ref.clone()).or_insert(0) += 1;
                }
            }
            if e.kind == ErrorKind::RateLimited {
                lane.on_rate_limited(e.retry_after);
            }
            let jitter = rand::thread_rng().gen_range(0.0..=1.0);
            let delay =
                match policy.next(&mut attempts, e.kind, e.retryable(), e.retry_after, started.elapsed(), jitter) {
                    retry::Next::MarkFailing => {
                        self.mark_failing(ctx, target, &e).await;
                        return Err(from_provider(&e));
                    }
                    retry::Next::GiveUp => return Err(from_provider(&e)),
                    retry::Next::RetryAfter(d) => d,
                };
            self.metrics.retries.with_label_values(&[target.provider.as_str(), e.kind.as_str()]).inc();
            tracing::debug!(provider = target.provider.as_str(), kind = ?e.kind, delay_ms = delay.as_millis() as u64, "retrying a judge call");
            tokio::time::sleep(delay).await;
        }
    }

    /// `POST /v1/byok-keys/{id}/test`: one minimal real call with the key, no retries.
    pub async fn test_key(
        &self,
        provider: Provider,
        endpoint: &providers::Endpoint,
        secret: &Secret,
        model: &str,
    ) -> (u64, Result<(), ScoreError>) {
        let req = ChatRequest {
            model: model.to_string(),
            system: "You are a connectivity check.".into(),
            user: "Reply with the single word OK.".into(),
            max_tokens: 5,
            temperature: 0.0,
            json_schema: None,
            sampling: Default::default(),
            history: Vec::new(),
        };
        let started = Instant::now();
        let r = providers::complete(&self.http, provider, endpoint, secret, &req).await;
        (started.elapsed().as_millis() as u64, r.map(|_| ()).map_err(|e| from_provider(&e)))
    }
}
