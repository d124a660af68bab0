//! The provider adapters against the fake provider on loopback: every wire format, auth header, structured output
//! mode and failure class, and never the key in a URL or a message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gavel::byok::Provider;
use gavel::keystore::Secret;
use gavel::providers::ProviderError;
use gavel::providers::{complete, default_model, http_client, ChatRequest, ChatResponse, Endpoint, ErrorKind};
use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};

const KEY: &str = "sk-test-Qm4Zr8Kx2Wv6Pn0Tj3";

/// The fake provider is on the loopback, which the destination policy allows only when listed.
fn loopback() -> std::sync::Arc<gavel::providers::DestinationPolicy> {
    std::sync::Arc::new(gavel::providers::DestinationPolicy::new(&["127.0.0.0/8".into()]).unwrap())
}
const ALL: [Provider; 6] = [
    Provider::Openai,
    Provider::Groq,
    Provider::OpenaiCompatible,
    Provider::AzureOpenai,
    Provider::Anthropic,
    Provider::Google,
];

/// The key metadata that points `provider` at the fake, as a customer would write it for the real service.
fn endpoint(fake: &FakeProvider, provider: Provider) -> Endpoint {
    let base = |suffix: &str| Some(format!("{}{suffix}", fake.base));
    match provider {
        Provider::Openai | Provider::OpenaiCompatible => Endpoint { base_url: base("/v1"), ..Endpoint::default() },
        Provider::Groq => Endpoint { base_url: base("/openai/v1/"), ..Endpoint::default() },
        Provider::Anthropic | Provider::Google => Endpoint { base_url: base(""), ..Endpoint::default() },
        Provider::AzureOpenai => Endpoint {
            endpoint: base(""),
            deployment: Some("judge".into()),
            api_version: Some("2024-10-21".into()),
            base_url: None,
        },
    }
}

fn model(provider: Provider) -> String {
    match provider {
        Provider::AzureOpenai => String::new(), // the deployment decides
        other => default_model(other).unwrap_or("qwen2.5-7b-instruct").to_owned(),
    }
}

fn request(provider: Provider, user: &str, schema: Option<Value>) -> ChatRequest {
    ChatRequest {
        model: model(provider),
        system: "You are a strict judge.".into(),
        user: user.into(),
        max_tokens: 200,
        temperature: 0.0,
        json_schema: schema,
        sampling: Default::default(),
        history: Vec::new(),
    }
}

fn verdict_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["score", "pass", "reason"],
           "properties": {"score": {"type": "number"}, "pass": {"type": "boolean"}, "reason": {"type": "string"}}})
}

async fn call_with(
    client: &gavel::providers::ProviderClient,
    fake: &FakeProvider,
    p: Provider,
    key: &str,
) -> Result<ChatResponse, ProviderError> {
    let secret = Secret::new(key.into());
    complete(client, p, &endpoint(fake, p), &secret, &request(p, "Answer: 4. Is it right?", None)).await
}

async fn call(fake: &FakeProvider, p: Provider) -> Result<ChatResponse, ProviderError> {
    call_with(&http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap(), fake, p, KEY).await
}

/// The failure every provider must produce, with the key nowhere in it.
async fn failure(fake: &FakeProvider, p: Provider) -> ProviderError {
    let err = call(fake, p).await.expect_err(p.as_str());
    assert_key_free(&err);
    err
}

fn assert_key_free(err: &ProviderError) {
    for text in [err.message.clone(), format!("{err:?}"), err.to_string()] {
        assert!(!text.contains(KEY) && !text.contains("Qm4Zr8") && !text.contains("sk-test-"), "{text}");
    }
}

#[tokio::test]
async fn every_provider_answers_with_text_usage_and_its_own_auth_header() {
    let fake = FakeProvider::start(Knobs::default());
    for p in ALL {
        let ok = call(&fake, p).await.unwrap_or_else(|e| panic!("{}: {e}", p.as_str()));
        let verdict: Value = serde_json::from_str(&ok.text).unwrap();
        assert_eq!(verdict["pass"], true, "{}", p.as_str());
        assert!(ok.input_tokens > 5 && ok.output_tokens > 5, "{}: {ok:?}", p.as_str());
        let want_model = if p == Provider::AzureOpenai { "gpt-4o-mini-2024-07-18".to_owned() } else { model(p) };
        assert_eq!(ok.model, want_model);

        let seen = fake.requests().pop().unwrap();
        assert!(!seen.path.contains(KEY) && !seen.path.contains("key="), "{}", seen.path);
        assert!(seen.header("user-agent").unwrap().starts_with("gavel/"));
        let (path, header, value) = match p {
            Provider::Openai | Provider::OpenaiCompatible => {
                ("/v1/chat/completions", "authorization", format!("Bearer {KEY}"))
            }
            Provider::Groq => ("/openai/v1/chat/completions", "authorization", format!("Bearer {KEY}")),
            Provider::AzureOpenai => {
                ("/openai/deployments/judge/chat/completions?api-version=2024-10-21", "api-key", KEY.to_owned())
            }
            Provider::Anthropic => ("/v1/messages", "x-api-key", KEY.to_owned()),
            Provider::Google => ("/v1beta/models/gemini-2.0-flash:generateContent", "x-goog-api-key", KEY.to_owned()),
        };
        assert_eq!((seen.path.as_str(), seen.header(header)), (path, Some(value.as_str())), "{}", p.as_str());
        let other_auth =
            ["authorization", "api-key", "x-api-key", "x-goog-api-key"].into_iter().filter(|h| *h != header);
        for h in other_auth {
            assert!(seen.header(h).is_none(), "{} also sent {h}", p.as_str());
        }
        let body = &seen.body;
        match p {
            Provider::Openai => assert_eq!(body["max_completion_tokens"], 200),
            Provider::Groq | Provider::OpenaiCompatible => assert_eq!(body["max_tokens"], 200),
            Provider::AzureOpenai => assert!(body.get("model").is_none() && body["max_tokens"] == 200),
            Provider::Anthropic => assert_eq!(seen.header("anthropic-version"), Some("2023-06-01")),
            Provider::Google => assert_eq!(body["generationConfig"]["maxOutputTokens"], 200),
        }
    }
    assert_eq!(fake.calls(), 6);
}

#[tokio::test]
async fn the_judge_reply_follows_the_user_prompt() {
    let fake = FakeProvider::start(Knobs::default());
    let client = http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap();
    for p in ALL {
        let req = request(p, "Output: WRONG", None);
        let ok = complete(&client, p, &endpoint(&fake, p), &Secret::new(KEY.into()), &req).await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&ok.text).unwrap()["pass"], false, "{}", p.as_str());
    }
}

#[tokio::test]
async fn structured_output_is_requested_in_each_providers_own_way() {
    let fake = FakeProvider::start(Knobs::default());
    let client = http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap();
    for p in ALL {
        let req = request(p, "Answer: 4", Some(verdict_schema()));
        let ok = complete(&client, p, &endpoint(&fake, p), &Secret::new(KEY.into()), &req).await.unwrap();
        let verdict: Value = serde_json::from_str(&ok.text).unwrap();
        assert_eq!((verdict["pass"].clone(), verdict["score"].clone()), (json!(true), json!(0.9)), "{}", p.as_str());
        let body = fake.requests().pop().unwrap().body;
        match p {
            Provider::Openai | Provider::AzureOpenai => {
                assert_eq!(body["response_format"]["type"], "json_schema");
                assert_eq!(body["response_format"]["json_schema"]["schema"], verdict_schema());
            }
            Provider::Groq | Provider::OpenaiCompatible => {
                assert_eq!(body["response_format"], json!({"type": "json_object"}));
                assert!(body["messages"][0]["content"].as_str().unwrap().contains("JSON schema"));
            }
            Provider::Anthropic => {
                assert_eq!(body["tools"][0]["input_schema"], verdict_schema());
                assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "record_verdict"}));
            }
            Provider::Google => {
                assert_eq!(body["generationConfig"]["responseMimeType"], "application/json");
                let schema = &body["generationConfig"]["responseSchema"];
                assert_eq!(schema["type"], "OBJECT");
                assert!(schema.get("additionalProperties").is_none());
            }
        }
    }
}

#[tokio::test]
async fn a_rejected_key_is_auth_failed_for_every_provider() {
    let fake = FakeProvider::start(Knobs { valid_keys: vec!["sk-the-only-good-key".into()], ..Knobs::default() });
    for p in ALL {
        let err = failure(&fake, p).await;
        assert_eq!(
            (err.kind, err.code().as_str(), err.retryable()),
            (ErrorKind::Auth, "BYOK_AUTH_FAILED", false),
            "{err:?}"
        );
        // Gemini says API_KEY_INVALID with a 400, the others 401.
        assert_eq!(err.status, Some(if p == Provider::Google { 400 } else { 401 }), "{}", p.as_str());
        assert!(err.message.starts_with(&format!("{} answered", p.as_str())), "{}", err.message);
    }
    let openai = failure(&fake, Provider::Openai).await;
    assert!(openai.message.contains("Incorrect API key provided: [REDACTED]"), "{}", openai.message);
    let client = http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap();
    let good = call_with(&client, &fake, Provider::Google, "sk-the-only-good-key").await.unwrap();
    assert!(!good.text.is_empty());
}

#[tokio::test]
async fn an_exhausted_quota_is_quota_exceeded_and_not_retried() {
    let fake = FakeProvider::start(Knobs { quota_exhausted: true, ..Knobs::default() });
    for p in [Provider::Openai, Provider::Anthropic, Provider::Google, Provider::AzureOpenai, Provider::Groq] {
        let err = failure(&fake, p).await;
        assert_eq!(
            (err.kind, err.code().as_str(), err.retryable()),
            (ErrorKind::Quota, "BYOK_QUOTA_EXCEEDED", false),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_model_or_deployment_is_model_not_found() {
    let unknown = ALL.iter().map(|p| if *p == Provider::AzureOpenai { "judge".into() } else { model(*p) }).collect();
    let fake = FakeProvider::start(Knobs { unknown_models: unknown, ..Knobs::default() });
    for p in ALL {
        let err = failure(&fake, p).await;
        assert_eq!(
            (err.kind, err.code().as_str(), err.retryable()),
            (ErrorKind::ModelNotFound, "BYOK_MODEL_NOT_FOUND", false)
        );
        assert_eq!(err.status, Some(404));
    }
}

#[tokio::test]
async fn transient_faults_are_retryable_with_the_right_kind() {
    let fake = FakeProvider::start(Knobs::default());
    let cases = [
        (Knobs { p_500: 1.0, ..Knobs::default() }, ErrorKind::Server, "BYOK_PROVIDER_ERROR"),
        (Knobs { p_529: 1.0, ..Knobs::default() }, ErrorKind::Overloaded, "BYOK_PROVIDER_ERROR"),
        (Knobs { p_429: 1.0, ..Knobs::default() }, ErrorKind::RateLimited, "BYOK_RATE_LIMITED"),
        (Knobs { p_garbage: 1.0, ..Knobs::default() }, ErrorKind::BadResponse, "BYOK_PROVIDER_ERROR"),
    ];
    for (knobs, kind, code) in cases {
        fake.set_knobs(knobs);
        for p in ALL {
            let err = failure(&fake, p).await;
            assert_eq!((err.kind, err.code().as_str(), err.retryable()), (kind, code, true), "{}: {err:?}", p.as_str());
        }
    }
    let err = failure(&fake, Provider::Anthropic).await;
    assert!(err.message.contains("not JSON"), "{}", err.message);
}

#[tokio::test]
async fn a_429_carries_the_providers_retry_after() {
    let fake = FakeProvider::start(Knobs { p_429: 1.0, retry_after_s: Some(7), ..Knobs::default() });
    for p in ALL {
        let err = failure(&fake, p).await;
        assert_eq!(err.kind, ErrorKind::RateLimited);
        let wait = err.retry_after.unwrap_or_else(|| panic!("{} gave no retry_after", p.as_str()));
        assert!(wait >= Duration::from_secs(6) && wait <= Duration::from_secs(8), "{}: {wait:?}", p.as_str());
    }
    fake.set_knobs(Knobs { p_429: 1.0, ..Knobs::default() });
    assert_eq!(failure(&fake, Provider::Openai).await.retry_after, None);
}

#[tokio::test]
async fn the_rps_limit_answers_429_with_reset_headers() {
    let fake = FakeProvider::start(Knobs { rps_limit: Some(2), ..Knobs::default() });
    for p in [Provider::Openai, Provider::Anthropic] {
        fake.reset_counters();
        call(&fake, p).await.unwrap();
        call(&fake, p).await.unwrap();
        let err = failure(&fake, p).await;
        assert_eq!((err.kind, err.retry_after.is_some()), (ErrorKind::RateLimited, true), "{err:?}");
        assert_eq!(fake.calls(), 3);
    }
}

#[tokio::test]
async fn a_closed_port_is_endpoint_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap();
    let secret = Secret::new(KEY.into());
    for p in ALL {
        let base = Some(format!("http://127.0.0.1:{port}"));
        let ep = if p == Provider::AzureOpenai {
            Endpoint { endpoint: base, deployment: Some("d".into()), ..Endpoint::default() }
        } else {
            Endpoint { base_url: base, ..Endpoint::default() }
        };
        let err = complete(&client, p, &ep, &secret, &request(p, "x", None)).await.unwrap_err();
        assert_key_free(&err);
        assert_eq!(
            (err.kind, err.code().as_str(), err.retryable()),
            (ErrorKind::Unreachable, "BYOK_ENDPOINT_UNREACHABLE", false)
        );
        let want = format!("{}: cannot reach 127.0.0.1:{port}: tcp connect error", p.as_str());
        assert!(err.message.starts_with(&want), "{}", err.message);
    }
}

#[tokio::test]
async fn a_hanging_provider_is_a_retryable_timeout() {
    let fake = FakeProvider::start(Knobs { p_timeout: 1.0, ..Knobs::default() });
    let client = http_client(Duration::from_secs(2), Duration::from_millis(300), loopback()).unwrap();
    for p in [Provider::Openai, Provider::Anthropic, Provider::Google] {
        let started = Instant::now();
        let err = call_with(&client, &fake, p, KEY).await.unwrap_err();
        assert_key_free(&err);
        assert_eq!((err.kind, err.retryable(), err.status), (ErrorKind::Timeout, true, None), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert!(fake.max_in_flight() >= 1);
    let started = Instant::now();
    fake.stop();
    assert!(started.elapsed() < Duration::from_secs(5), "stopping must not wait for hanging answers");
}

#[tokio::test]
async fn the_fake_counts_concurrent_calls() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(300), ..Knobs::default() });
    let client = http_client(Duration::from_secs(2), Duration::from_secs(10), loopback()).unwrap();
    let calls = (0..5).map(|_| call_with(&client, &fake, Provider::Openai, KEY));
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!((fake.calls(), fake.max_in_flight(), fake.in_flight()), (5, 5, 0));
    fake.reset_counters();
    assert_eq!((fake.calls(), fake.max_in_flight(), fake.requests().len()), (0, 0, 0));
}

/// The fake refuses what the real APIs refuse, so an adapter bug cannot pass against it (and sync tests can use it).
#[test]
fn the_fake_enforces_each_apis_protocol() {
    let fake = FakeProvider::start(Knobs::default());
    let c = reqwest::blocking::Client::new();
    let post = |path: &str, headers: &[(&str, &str)], body: Value| {
        let mut rb = c.post(format!("{}{path}", fake.base)).json(&body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
    };
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let (status, body) = post("/v1beta/models/gemini-2.0-flash:generateContent?key=abc", &[], gemini.clone());
    assert_eq!((status, body["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    let (status, _) = post("/v1beta/models/gemini-2.0-flash:generateContent", &[], gemini);
    assert_eq!(status, 403);
    let msgs = json!({"messages": [{"role": "user", "content": "hi"}]});
    let (status, _) = post("/openai/deployments/judge/chat/completions", &[("api-key", "k")], msgs.clone());
    assert_eq!(status, 404, "Azure needs api-version");
    let anthropic = [("x-api-key", "k"), ("anthropic-version", "2023-06-01")];
    let (status, body) = post("/v1/messages", &anthropic, json!({"model": "m", "messages": []}));
    assert_eq!((status, body["error"]["message"].as_str()), (400, Some("max_tokens: Field required")));
    let (status, _) = post("/v1/messages", &anthropic[..1], json!({"model": "m", "max_tokens": 5, "messages": []}));
    assert_eq!(status, 400, "anthropic-version is required");
    let (status, body) = post("/v1/chat/completions", &[], msgs);
    assert_eq!((status, body["error"]["type"].as_str()), (401, Some("invalid_request_error")));
    let (status, _) = post("/v1/embeddings", &[], json!({"input": "x"}));
    assert_eq!(status, 401, "embeddings need the key too");
    let (status, _) = post("/v1/moderations", &[], json!({}));
    assert_eq!(status, 404);
    assert_eq!(fake.calls(), 8);
}
