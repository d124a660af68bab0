//! A fake LLM provider on loopback speaking the OpenAI (also Groq, compatible), Azure OpenAI, Anthropic and Gemini
//! wire formats with real success and error bodies and a configurable fault mix. It runs its own actix-web server
//! on its own thread and actix `System`, so sync and `#[tokio::test]` tests alike can use it. Routes (POST):
//! `.../chat/completions` (Bearer key); `/openai/deployments/{d}/chat/completions?api-version=` (`api-key`);
//! `/v1/messages` (`x-api-key`, `anthropic-version`); `/v1beta/models/{model}:generateContent` (`x-goog-api-key`).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rand::Rng;
use serde_json::{json, Value};

use super::fake_stream;

/// A reply from (model, user prompt).
pub type ReplyWithModel = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;
/// A reply from (model, system prompt, user prompt): target personas that leak or refuse.
pub type ReplyWithSystem = Arc<dyn Fn(&str, &str, &str) -> String + Send + Sync>;

/// A reply from (model, system prompt, last user message, earlier assistant turns in the request): multi-turn
/// personas (a target that gives in only once the conversation has gone on) and attacker personas.
pub type ReplyWithTurns = Arc<dyn Fn(&str, &str, &str, usize) -> String + Send + Sync>;

/// The fake's behaviour; change it at any time with [`FakeProvider::set_knobs`].
#[derive(Clone)]
pub struct Knobs {
    /// Added to every answer.
    pub latency: Duration,
    /// Fault mix, drawn per call in this order. `p_529`: Anthropic's 529, the others' real 503 "overloaded".
    pub p_429: f64,
    pub p_500: f64,
    pub p_529: f64,
    pub p_timeout: f64,
    pub p_garbage: f64,
    /// `Retry-After` (and the provider's reset headers) on fault 429s.
    pub retry_after_s: Option<u64>,
    /// Requests per second (sliding window); over it → 429 with `Retry-After` and the provider's reset headers.
    pub rps_limit: Option<u32>,
    /// Empty: any key is accepted. Otherwise others get the provider's real 401 (Gemini: 400 API_KEY_INVALID).
    pub valid_keys: Vec<String>,
    /// Every call gets the provider's real quota-exhausted error.
    pub quota_exhausted: bool,
    /// These models (Azure: deployments) get the provider's real not-found error.
    pub unknown_models: Vec<String>,
    /// How long a "timeout" fault hangs before answering 504.
    pub timeout_delay: Duration,
    /// The judge's reply text, from the user prompt.
    pub reply: Arc<dyn Fn(&str) -> String + Send + Sync>,
    /// When set, the reply from the model and the user prompt (so targets of different models answer apart).
    pub reply_with_model: Option<ReplyWithModel>,
    /// When set, wins over the other replies: the reply from the model, the system prompt and the user prompt.
    pub reply_with_system: Option<ReplyWithSystem>,
    /// When set, wins over every other reply: as `reply_with_system`, plus the number of assistant turns before.
    pub reply_with_turns: Option<ReplyWithTurns>,
    /// Pause between the frames of a streamed answer.
    pub stream_delay: Duration,
    /// Streams end after this many frames, as a connection cut mid-answer would.
    pub stream_cut_after: Option<usize>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            p_429: 0.0,
            p_500: 0.0,
            p_529: 0.0,
            p_timeout: 0.0,
            p_garbage: 0.0,
            retry_after_s: None,
            rps_limit: None,
            valid_keys: Vec::new(),
            quota_exhausted: false,
            unknown_models: Vec::new(),
            timeout_delay: Duration::from_secs(30),
            reply: Arc::new(default_reply),
            reply_with_model: None,
            reply_with_system: None,
            reply_with_turns: None,
            stream_delay: Duration::ZERO,
            stream_cut_after: None,
        }
    }
}

/// Default judge reply: fails outputs that contain "WRONG", passes the rest.
pub fn default_reply(prompt: &str) -> String {
    if prompt.contains("WRONG") {
        r#"{"score": 0.1, "pass": false, "reason": "fake: output marked WRONG"}"#.to_owned()
    } else {
        r#"{"score": 0.9, "pass": true, "reason": "fake: looks right"}"#.to_owned()
    }
}

/// One request as the fake received it: path and query as sent, lower-case header names (repeated headers joined
/// with ", "), and the JSON body (`Null` when it was not JSON).
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    knobs: RwLock<Knobs>,
    calls: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    seq: AtomicU64,
    requests: Mutex<Vec<SeenRequest>>,
    window: Mutex<VecDeque<Instant>>,
    /// Streams whose client went away before the last frame.
    cancelled: Arc<AtomicU64>,
    /// Every request's start and, when it was answered with a success, the moment of the answer.
    log: Mutex<Vec<Call>>,
}

/// One request's timeline: when it started, when (if ever) a success answer was produced, and its prompt
/// (the body's `messages`/`contents`/`input`, as JSON text) so a prompt answered twice can be told apart.
#[derive(Clone, Debug)]
pub struct Call {
    pub started: Instant,
    pub answered: Option<Instant>,
    pub prompt: String,
}

/// Keeps a request counted as in flight until its answer is produced or it is dropped (client gone, server stopped).
struct InFlight(web::Data<State>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

/// Stops on drop, so a failing test never leaves a server (or a hanging answer) behind.
pub struct FakeProvider {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    state: web::Data<State>,
    handle: Option<ServerHandle>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeProvider {
    pub fn start(knobs: Knobs) -> FakeProvider {
        let state = web::Data::new(State { knobs: RwLock::new(knobs), ..State::default() });
        let (tx, rx) = mpsc::channel();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(shared.clone())
                        .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).unwrap();
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv_timeout(Duration::from_secs(30)).expect("fake provider did not start");
        FakeProvider { base: format!("http://{addr}"), state, handle: Some(handle), thread: Some(thread) }
    }

    pub fn set_knobs(&self, knobs: Knobs) {
        *self.state.knobs.write().unwrap() = knobs;
    }

    /// Requests received (all routes).
    pub fn calls(&self) -> u64 {
        self.state.calls.load(SeqCst)
    }

    pub fn in_flight(&self) -> u64 {
        self.state.in_flight.load(SeqCst)
    }

    pub fn max_in_flight(&self) -> u64 {
        self.state.max_in_flight.load(SeqCst)
    }

    pub fn reset_counters(&self) {
        self.state.calls.store(0, SeqCst);
        self.state.max_in_flight.store(self.state.in_flight.load(SeqCst), SeqCst);
        self.state.requests.lock().unwrap().clear();
        self.state.log.lock().unwrap().clear();
        self.state.window.lock().unwrap().clear();
    }

    /// Streamed answers the client hung up on before their end.
    pub fn cancelled_streams(&self) -> u64 {
        self.state.cancelled.load(SeqCst)
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn stop(self) {}

    /// Every request so far, in arrival order, with its start and answer times.
    pub fn call_log(&self) -> Vec<Call> {
        self.state.log.lock().unwrap().clone()
    }

    /// Success answers of a prompt that had already been answered: provider calls paid twice. A call cut off
    /// before its answer (the client died first) is not counted; neither is an error answer.
    pub fn paid_twice(&self) -> u64 {
        let mut seen: HashMap<String, u64> = HashMap::new();
        for c in self.call_log().iter().filter(|c| c.answered.is_some()) {
            *seen.entry(c.prompt.clone()).or_default() += 1;
        }
        seen.values().map(|n| n - 1).sum()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // The stop command is sent on call; the returned future only waits for completion, which joining does.
            drop(handle.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
}

/// What a route asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Chat,
    /// Gemini's `streamGenerateContent` (the others say `stream: true` in the body).
    Stream,
    Embed,
}

/// Which wire format a path speaks, the model named in the path (Azure deployment, Gemini model), and the op.
fn route(req: &HttpRequest) -> Option<(Flavor, String, Op)> {
    let path = req.path();
    if req.method() != actix_web::http::Method::POST {
        None
    } else if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        if let Some(d) = rest.strip_suffix("/embeddings") {
            return Some((Flavor::Azure, d.to_owned(), Op::Embed));
        }
        Some((Flavor::Azure, rest.strip_suffix("/chat/completions")?.to_owned(), Op::Chat))
    } else if path.ends_with("/chat/completions") || path == "/v1/messages" {
        Some((if path == "/v1/messages" { Flavor::Anthropic } else { Flavor::OpenAi }, String::new(), Op::Chat))
    } else if path.ends_with("/embeddings") {
        Some((Flavor::OpenAi, String::new(), Op::Embed))
    } else {
        let rest = path.strip_prefix("/v1beta/models/")?;
        let (model, method) = rest.split_once(':')?;
        let op = match method {
            "generateContent" => Op::Chat,
            "streamGenerateContent" => Op::Stream,
            "batchEmbedContents" => Op::Embed,
            _ => return None,
        };
        Some((Flavor::Gemini, model.to_owned(), op))
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    state.calls.fetch_add(1, SeqCst);
    state.max_in_flight.fetch_max(state.in_flight.fetch_add(1, SeqCst) + 1, SeqCst);
    let _in_flight = InFlight(state.clone());
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.entry(name.as_str().to_owned()).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
    }
    let path = req.uri().path_and_query().map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let prompt =
        ["messages", "contents", "input"].iter().find_map(|k| body.get(*k)).map_or(String::new(), Value::to_string);
    let slot = {
        let mut log = state.log.lock().unwrap();
        log.push(Call { started: Instant::now(), answered: None, prompt });
        log.len() - 1
    };
    let seen = SeenRequest { method: req.method().to_string(), path, headers, body };
    state.requests.lock().unwrap().push(seen.clone());
    let response = answer(&req, seen, &state).await;
    if response.status().is_success() {
        state.log.lock().unwrap()[slot].answered = Some(Instant::now());
    }
    response
}

/// The answer to one request (after the fake's latency), as the route's real API would give it.
async fn answer(req: &HttpRequest, seen: SeenRequest, state: &web::Data<State>) -> HttpResponse {
    let knobs = state.knobs.read().unwrap().clone();
    if !knobs.latency.is_zero() {
        actix_web::rt::time::sleep(knobs.latency).await;
    }
    let Some((flavor, path_model, op)) = route(req) else {
        return error(Flavor::OpenAi, Case::BadRoute, &format!("{} {}", seen.method, seen.path));
    };
    // Protocol checks: what the real API refuses, the fake refuses.
    let query: Vec<&str> = req.query_string().split('&').collect();
    let key = match flavor {
        Flavor::OpenAi => seen.header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Flavor::Azure if !query.iter().any(|kv| kv.len() > 12 && kv.starts_with("api-version=")) => {
            return error(flavor, Case::BadRoute, "");
        }
        Flavor::Azure => seen.header("api-key"),
        Flavor::Anthropic if seen.header("anthropic-version").is_none() => {
            return error(flavor, Case::BadRequest, "anthropic-version: header is required");
        }
        Flavor::Anthropic => seen.header("x-api-key"),
        Flavor::Gemini if query.iter().any(|kv| kv.starts_with("key=")) => {
            return error(flavor, Case::BadRequest, "fake: API key sent in the URL (?key=), not in x-goog-api-key");
        }
        Flavor::Gemini => seen.header("x-goog-api-key"),
    };
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return error(flavor, Case::NoKey, "");
    };
    if !knobs.valid_keys.is_empty() && !knobs.valid_keys.iter().any(|k| k == key) {
        let masked = format!("{}{}{}", &key[..key.len().min(8)], "*".repeat(20), &key[key.len().saturating_sub(4)..]);
        return error(flavor, Case::BadKey, &masked);
    }
    if let Some(problem) = malformed(flavor, &seen.body).filter(|_| op != Op::Embed) {
        return error(flavor, Case::BadRequest, problem);
    }
    if knobs.quota_exhausted {
        return error(flavor, Case::Quota, "");
    }
    if let Some(limit) = knobs.rps_limit {
        let mut window = state.window.lock().unwrap();
        let now = Instant::now();
        while window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return rate_limited(flavor, Some(knobs.retry_after_s.unwrap_or(1)));
        }
        window.push_back(now);
    }
    let model = match flavor {
        Flavor::Azure | Flavor::Gemini => path_model,
        _ => seen.body["model"].as_str().unwrap_or_default().to_owned(),
    };
    if knobs.unknown_models.contains(&model) {
        return error(flavor, Case::UnknownModel, &model);
    }
    let roll: f64 = rand::thread_rng().gen();
    let mut edge = 0.0;
    let faults = [knobs.p_429, knobs.p_500, knobs.p_529, knobs.p_timeout, knobs.p_garbage];
    match faults.iter().position(|p| {
        edge += p;
        roll < edge
    }) {
        Some(0) => rate_limited(flavor, knobs.retry_after_s),
        Some(1) => error(flavor, Case::Server, ""),
        Some(2) => error(flavor, Case::Overloaded, ""),
        Some(3) => {
            actix_web::rt::time::sleep(knobs.timeout_delay).await;
            HttpResponse::GatewayTimeout().content_type("text/plain").body("fake: upstream timed out")
        }
        Some(_) => HttpResponse::Ok().content_type("application/json").body("<<fake garbage: this is not JSON>>"),
        None if op == Op::Embed => match flavor {
            Flavor::Gemini => HttpResponse::Ok().json(fake_stream::gemini_embeddings(&seen.body)),
            _ => HttpResponse::Ok().json(fake_stream::openai_embeddings(&model, &seen.body)),
        },
        None if op == Op::Stream || seen.body["stream"] == true => {
            streamed(flavor, &model, &seen.body, &knobs, state.seq.fetch_add(1, SeqCst), state.cancelled.clone())
        }
        None => success(flavor, &model, &seen.body, &knobs, state.seq.fetch_add(1, SeqCst)),
    }
}

/// The request-shape rules of each real API that an adapter bug would break.
fn malformed(flavor: Flavor, b: &Value) -> Option<&'static str> {
    let checks = match flavor {
        Flavor::OpenAi | Flavor::Azure => [
            (b["messages"].as_array().is_some_and(|m| !m.is_empty()), "'messages' is a required property"),
            (flavor == Flavor::Azure || b["model"].is_string(), "you must provide a model parameter"),
        ],
        Flavor::Anthropic => [
            (b["max_tokens"].is_u64(), "max_tokens: Field required"),
            (b["model"].is_string() && b["messages"].is_array(), "model, messages: Field required"),
        ],
        Flavor::Gemini => [(b["contents"].is_array(), "contents is not specified"); 2],
    };
    checks.iter().find(|(ok, _)| !ok).map(|(_, message)| *message)
}

#[derive(Clone, Copy, Debug)]
enum Case {
    BadRoute,
    NoKey,
    BadKey,
    BadRequest,
    Quota,
    UnknownModel,
    Server,
    Overloaded,
    RateLimited,
}

const QUOTA: &str = "You exceeded your current quota, please check your plan and billing details.";
/// Per flavor and [`Case`]: (status, OpenAI `code` / Azure `code` / Anthropic `type` / Gemini `status`, message
/// with `{}` for the detail). The messages are the providers' own, some shortened.
const ERRORS: [[(u16, &str, &str); 9]; 4] = [
    [
        (404, "", "Invalid URL ({})"),
        (401, "", "You didn't provide an API key. You need to provide your API key in an Authorization header."),
        (401, "invalid_api_key", "Incorrect API key provided: {}. You can find your API key at platform.openai.com."),
        (400, "", "{}"),
        (429, "insufficient_quota", QUOTA),
        (404, "model_not_found", "The model `{}` does not exist or you do not have access to it."),
        (500, "", "The server had an error while processing your request. Sorry about that!"),
        (503, "", "The engine is currently overloaded, please try again later"),
        (429, "rate_limit_exceeded", "Rate limit reached for requests. Please try again in {}s."),
    ],
    [
        (404, "404", "Resource not found"),
        (401, "401", "Access denied due to missing subscription key."),
        (401, "401", "Access denied due to invalid subscription key or wrong API endpoint."),
        (400, "BadRequest", "{}"),
        (429, "insufficient_quota", QUOTA),
        (404, "DeploymentNotFound", "The API deployment for this resource does not exist."),
        (500, "InternalServerError", "The server had an error while processing your request."),
        (503, "ServiceUnavailable", "The engine is currently overloaded, please try again later"),
        (429, "429", "Requests have exceeded call rate limit of your pricing tier. Please retry after {} seconds."),
    ],
    [
        (404, "not_found_error", "Not Found"),
        (401, "authentication_error", "x-api-key header is required"),
        (401, "authentication_error", "invalid x-api-key"),
        (400, "invalid_request_error", "{}"),
        (400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API."),
        (404, "not_found_error", "model: {}"),
        (500, "api_error", "Internal server error"),
        (529, "overloaded_error", "Overloaded"),
        (429, "rate_limit_error", "This request would exceed the rate limit for your organization."),
    ],
    [
        (404, "NOT_FOUND", "Requested entity was not found."),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity)."),
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        (400, "INVALID_ARGUMENT", "{}"),
        (429, "RESOURCE_EXHAUSTED", QUOTA),
        (404, "NOT_FOUND", "models/{} is not found for API version v1beta, or is not supported for generateContent."),
        (500, "INTERNAL", "An internal error has occurred. Please retry or report in the troubleshooting guide."),
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    ],
];

/// Each provider's real error answer for `case`; `detail` fills the message (a message, masked key, model...).
fn error(flavor: Flavor, case: Case, detail: &str) -> HttpResponse {
    let status = StatusCode::from_u16(ERRORS[flavor as usize][case as usize].0).unwrap();
    HttpResponse::build(status).json(error_body(flavor, case, detail))
}

fn error_body(flavor: Flavor, case: Case, detail: &str) -> Value {
    let (status, code, template) = ERRORS[flavor as usize][case as usize];
    let message = template.replace("{}", detail);
    let quota_failure = |period: &str| {
        json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": format!("GenerateRequestsPer{period}PerProjectPerModel-FreeTier"), "quotaValue": "200"}]})
    };
    match (flavor, case) {
        (Flavor::OpenAi, _) => {
            let kind = match case {
                Case::Quota => "insufficient_quota",
                Case::RateLimited => "requests",
                Case::Server | Case::Overloaded => "server_error",
                _ => "invalid_request_error",
            };
            let code = (!code.is_empty()).then_some(code);
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        (Flavor::Azure, _) => json!({"error": {"code": code, "message": message}}),
        (Flavor::Anthropic, _) => json!({"type": "error", "error": {"type": code, "message": message}}),
        (Flavor::Gemini, _) => {
            let details = match case {
                Case::BadKey => json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]),
                Case::Quota => json!([quota_failure("Day")]),
                Case::RateLimited => json!([quota_failure("Minute"),
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{detail}s")}]),
                _ => json!([]),
            };
            json!({"error": {"code": status, "message": message, "status": code, "details": details}})
        }
    }
}

/// A 429 with the provider's own rate-limit body and, when a wait is set, its reset headers.
fn rate_limited(flavor: Flavor, retry_after: Option<u64>) -> HttpResponse {
    let mut resp = HttpResponse::TooManyRequests();
    if let Some(s) = retry_after {
        resp.insert_header(("retry-after", s.to_string()));
        if flavor == Flavor::OpenAi {
            resp.insert_header(("x-ratelimit-reset-requests", format!("{s}s")));
        } else if flavor == Flavor::Anthropic {
            let at = chrono::Utc::now() + chrono::Duration::seconds(i64::try_from(s).unwrap());
            resp.insert_header(("anthropic-ratelimit-requests-reset", at.to_rfc3339()));
        }
    }
    resp.json(error_body(flavor, Case::RateLimited, &retry_after.unwrap_or(1).to_string()))
}

/// Text of a string or of content blocks/parts (`[{"text": ..}]`).
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().map(|p| p["text"].as_str().unwrap_or_default()).collect(),
        _ => String::new(),
    }
}

/// (system, last user message) of a request body.
fn prompt(flavor: Flavor, body: &Value) -> (String, String) {
    let (list, field) = if flavor == Flavor::Gemini { ("contents", "parts") } else { ("messages", "content") };
    let items = body[list].as_array().cloned().unwrap_or_default();
    let user = items.iter().rev().find(|m| m["role"] == "user").map(|m| text_of(&m[field])).unwrap_or_default();
    let system = match flavor {
        Flavor::OpenAi | Flavor::Azure => {
            items.iter().filter(|m| m["role"] == "system").map(|m| text_of(&m["content"])).collect()
        }
        Flavor::Anthropic => text_of(&body["system"]),
        Flavor::Gemini => text_of(&body["systemInstruction"]["parts"]),
    };
    (system, user)
}

/// How many assistant (Gemini: `model`) turns a request carries before its last message.
fn earlier_turns(flavor: Flavor, body: &Value) -> usize {
    let (list, role) = if flavor == Flavor::Gemini { ("contents", "model") } else { ("messages", "assistant") };
    body[list].as_array().map_or(0, |l| l.iter().filter(|m| m["role"] == role).count())
}

/// Each provider's real streaming answer.
fn streamed(
    flavor: Flavor,
    model: &str,
    body: &Value,
    knobs: &Knobs,
    n: u64,
    cancelled: Arc<AtomicU64>,
) -> HttpResponse {
    let (system, user) = prompt(flavor, body);
    let reply = (knobs.reply)(&user);
    let tokens = |text: &str| (text.chars().count() as u64).div_ceil(4);
    let usage = (tokens(&system) + tokens(&user) + 8, tokens(&reply) + 1);
    let frames = match flavor {
        Flavor::OpenAi | Flavor::Azure => {
            let tool = fake_stream::tool_to_call(true, body);
            let include = body["stream_options"]["include_usage"] == true;
            fake_stream::openai_frames(&format!("chatcmpl-fake{n}"), model, &reply, tool.as_deref(), usage, include)
        }
        Flavor::Anthropic => {
            let tool = fake_stream::tool_to_call(false, body);
            fake_stream::anthropic_frames(&format!("msg_fake{n}"), model, &reply, tool.as_deref(), usage)
        }
        Flavor::Gemini => fake_stream::gemini_frames(&format!("fake{n}"), model, &reply, usage),
    };
    let mut frames = frames;
    if let Some(n) = knobs.stream_cut_after {
        frames.truncate(n);
    }
    fake_stream::sse(frames, knobs.stream_delay, cancelled)
}

/// Each provider's real success shape, with usage of about one token per four characters.
fn success(flavor: Flavor, model: &str, body: &Value, knobs: &Knobs, n: u64) -> HttpResponse {
    let (system, user) = prompt(flavor, body);
    let reply = match (&knobs.reply_with_system, &knobs.reply_with_model) {
        _ if knobs.reply_with_turns.is_some() => {
            knobs.reply_with_turns.as_ref().map(|f| f(model, &system, &user, earlier_turns(flavor, body))).unwrap()
        }
        (Some(f), _) => f(model, &system, &user),
        (None, Some(f)) => f(model, &user),
        (None, None) => (knobs.reply)(&user),
    };
    let tokens = |text: &str| (text.chars().count() as u64).div_ceil(4);
    let (input, output) = (tokens(&system) + tokens(&user) + 8, tokens(&reply) + 1);
    let answer = match flavor {
        Flavor::OpenAi | Flavor::Azure => json!({
            "id": format!("chatcmpl-fake{n}"), "object": "chat.completion", "created": chrono::Utc::now().timestamp(),
            // Azure reports the model behind the deployment.
            "model": if flavor == Flavor::Azure { "gpt-4o-mini-2024-07-18" } else { model },
            "choices": [match fake_stream::tool_to_call(true, body) {
                Some(name) => json!({"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                    "tool_calls": [{"id": "call_fake1", "type": "function", "function": {"name": name, "arguments": fake_stream::TOOL_ARGS}}]},
                    "logprobs": null, "finish_reason": "tool_calls"}),
                None => json!({"index": 0, "message": {"role": "assistant", "content": reply, "refusal": null},
                    "logprobs": null, "finish_reason": "stop"}),
            }],
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
            "system_fingerprint": "fp_fake"}),
        Flavor::Anthropic => {
            // A forced tool is always called; otherwise the first tool, unless the last turn carries its result.
            let tool = body["tool_choice"]["name"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| fake_stream::tool_to_call(false, body));
            let tool_input = serde_json::from_str::<Value>(&reply).ok().filter(Value::is_object);
            let content = match &tool {
                Some(tool) => json!([{"type": "tool_use", "id": format!("toolu_fake{n}"), "name": tool,
                                      "input": tool_input.unwrap_or_else(|| json!({"value": reply}))}]),
                None => json!([{"type": "text", "text": reply}]),
            };
            json!({"id": format!("msg_fake{n}"), "type": "message", "role": "assistant", "model": model,
                   "content": content, "stop_reason": if tool.is_some() { "tool_use" } else { "end_turn" },
                   "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": output}})
        }
        Flavor::Gemini => json!({
            "candidates": [{"content": {"parts": [{"text": reply}], "role": "model"}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output,
                              "totalTokenCount": input + output},
            "modelVersion": model, "responseId": format!("fake{n}")}),
    };
    let mut resp = HttpResponse::Ok();
    if flavor == Flavor::OpenAi {
        resp.insert_header(("x-ratelimit-remaining-requests", "9999"));
    }
    resp.json(answer)
}
