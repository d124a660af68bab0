//! Failure classification from real provider error bodies, and scrubbing of keys from messages.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

use super::classify::http_error;
use super::{scrub_secret, ErrorKind, ProviderError};
use crate::domain::Provider;
use crate::domain::Secret;

const KEY: &str = "sk-proj-Zq8rT1mXw4Yb7Nc0Vd3Hf6Jk9Lp2";

fn classify(provider: Provider, status: u16, body: &str) -> ProviderError {
    http_error(provider, status, &HeaderMap::new(), body.as_bytes(), &Secret::new(KEY.into()))
}

#[test]
fn real_error_bodies_are_classified() {
    use ErrorKind::*;
    use Provider::*;
    let openai_401 = json!({"error": {"message": format!("Incorrect API key provided: sk-proj-{}Lp2. You can find your API key at https://platform.openai.com/account/api-keys.", "*".repeat(40)),
        "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
    let gemini_day = json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}});
    let gemini_minute = gemini_day.to_string().replace("PerDay", "PerMinute");
    let cases: Vec<(Provider, u16, String, ErrorKind)> = vec![
        (Openai, 401, openai_401.to_string(), Auth),
        (Openai, 429, r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#.into(), Quota),
        (Openai, 400, r#"{"error":{"message":"Billing hard limit has been reached","type":"invalid_request_error","param":null,"code":"billing_hard_limit_reached"}}"#.into(), Quota),
        (Openai, 429, r#"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.into(), RateLimited),
        (Openai, 404, r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#.into(), ModelNotFound),
        (Openai, 404, r#"{"error":{"message":"Invalid URL (POST /v1/chat/completion)","type":"invalid_request_error","param":null,"code":null}}"#.into(), InvalidRequest),
        (Openai, 400, r#"{"error":{"message":"Unsupported value: 'temperature' does not support 0 with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}"#.into(), InvalidRequest),
        (Openai, 500, r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#.into(), Server),
        (Openai, 503, r#"{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}"#.into(), Overloaded),
        (Openai, 502, "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>".into(), Server),
        (Openai, 408, String::new(), Server),
        (Openai, 409, String::new(), Server),
        (Openai, 301, String::new(), InvalidRequest),
        (AzureOpenai, 401, r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}"#.into(), Auth),
        (AzureOpenai, 404, r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#.into(), ModelNotFound),
        (AzureOpenai, 429, r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded token rate limit of your current OpenAI S0 pricing tier."}}"#.into(), RateLimited),
        (Groq, 401, r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#.into(), Auth),
        (Groq, 404, r#"{"error":{"message":"The model `llama-9` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}"#.into(), ModelNotFound),
        (OpenaiCompatible, 404, r#"{"object":"error","message":"The model `foo` does not exist.","type":"NotFoundError","param":null,"code":404}"#.into(), ModelNotFound),
        (OpenaiCompatible, 404, r#"{"error":{"message":"model \"foo\" not found, try pulling it first","type":"api_error","param":null,"code":null}}"#.into(), ModelNotFound),
        (OpenaiCompatible, 400, r#"{"error":{"message":"Invalid model name passed in model=foo","type":"invalid_request_error","code":"400"}}"#.into(), ModelNotFound),
        (OpenaiCompatible, 422, r#"{"detail":"messages: field required"}"#.into(), InvalidRequest),
        (Anthropic, 401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.into(), Auth),
        (Anthropic, 403, r#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}"#.into(), Auth),
        (Anthropic, 400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#.into(), Quota),
        (Anthropic, 402, r#"{"type":"error","error":{"type":"billing_error","message":"There is an issue with your billing."}}"#.into(), Quota),
        (Anthropic, 429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits (enforced_spend_limit_reached)."}}"#.into(), Quota),
        (Anthropic, 429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50 requests per minute."}}"#.into(), RateLimited),
        (Anthropic, 404, r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#.into(), ModelNotFound),
        (Anthropic, 529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(), Overloaded),
        (Anthropic, 500, r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#.into(), Server),
        (Anthropic, 400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#.into(), InvalidRequest),
        (Google, 400, r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#.into(), Auth),
        (Google, 403, r#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}"#.into(), Auth),
        (Google, 429, gemini_day.to_string(), Quota),
        (Google, 429, gemini_minute, RateLimited),
        (Google, 404, r#"{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}"#.into(), ModelNotFound),
        (Google, 503, r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#.into(), Overloaded),
        (Google, 500, r#"[{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}]"#.into(), Server),
        (Google, 400, r#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}"#.into(), InvalidRequest),
    ];
    for (provider, status, body, want) in cases {
        let e = classify(provider, status, &body);
        assert_eq!(e.kind, want, "{} {status}: {body}", provider.as_str());
        assert_eq!(e.status, Some(status));
        assert!(e.message.starts_with(&format!("{} answered {status}", provider.as_str())), "{}", e.message);
        assert!(e.message.chars().count() <= 300);
        assert!(!e.message.contains("Zq8rT1") && !e.message.contains("sk-proj-"), "{}", e.message);
    }
}

#[test]
fn codes_and_retry_decisions_follow_the_contract() {
    use ErrorKind::*;
    let table = [
        (Auth, "BYOK_AUTH_FAILED", false),
        (Quota, "BYOK_QUOTA_EXCEEDED", false),
        (ModelNotFound, "BYOK_MODEL_NOT_FOUND", false),
        (Unreachable, "BYOK_ENDPOINT_UNREACHABLE", false),
        (RateLimited, "BYOK_RATE_LIMITED", true),
        (Overloaded, "BYOK_PROVIDER_ERROR", true),
        (Server, "BYOK_PROVIDER_ERROR", true),
        (Timeout, "BYOK_PROVIDER_ERROR", true),
        (BadResponse, "BYOK_PROVIDER_ERROR", true),
        (NoAnswer, "JUDGE_UNPARSEABLE", false),
        (InvalidRequest, "BYOK_PROVIDER_ERROR", false),
    ];
    for (kind, code, retry) in table {
        let e = ProviderError::new(kind, None, "x");
        assert_eq!((e.code().as_str(), e.retryable()), (code, retry), "{kind:?}");
        assert!(!kind.as_str().is_empty());
    }
}

#[test]
fn messages_are_useful() {
    let e = classify(
        Provider::Openai,
        401,
        r#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
    );
    assert!(
        e.message.starts_with("openai answered 401 (invalid_api_key): Incorrect API key provided: [REDACTED]."),
        "{}",
        e.message
    );
    let e = classify(Provider::Openai, 502, "<html><head><title>502 Bad Gateway</title></head></html>");
    assert_eq!(e.message, "openai answered 502: 502 Bad Gateway");
    let e = classify(Provider::Openai, 503, "");
    assert_eq!(e.message, "openai answered 503: Service Unavailable");
    let mut h = HeaderMap::new();
    h.insert("location", HeaderValue::from_static("https://api.example/v2/chat/completions"));
    let e = http_error(Provider::OpenaiCompatible, 308, &h, b"", &Secret::new(KEY.into()));
    assert!(e.message.contains("redirect to https://api.example/v2/chat/completions"), "{}", e.message);
    let long = json!({"error": {"message": "x".repeat(1000)}}).to_string();
    let e = classify(Provider::Openai, 400, &long);
    assert_eq!(e.message, format!("openai answered 400: {}…", "x".repeat(199)), "a bounded summary");
}

#[test]
fn retry_after_comes_from_headers_or_gemini_retry_info() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_static("3"));
    let e = http_error(Provider::Openai, 429, &h, b"{}", &Secret::new(KEY.into()));
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
    h.insert("retry-after-ms", HeaderValue::from_static("250"));
    let e = http_error(Provider::Openai, 500, &h, b"{}", &Secret::new(KEY.into()));
    assert_eq!(e.retry_after, Some(Duration::from_millis(250)), "resets are not hints on a 500");
    let body = r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43s"}]}}"#;
    let e = classify(Provider::Google, 429, body);
    assert_eq!((e.kind, e.retry_after), (ErrorKind::RateLimited, Some(Duration::from_secs(43))));
}

#[test]
fn scrubbing_removes_every_trace_of_the_key() {
    let key = Secret::new("0123456789abcdefAZURExyz".into());
    let s = scrub_secret("key 0123456789abcdefAZURExyz rejected", &key);
    assert_eq!(s, "key [REDACTED] rejected");
    let s = scrub_secret("key ending in ...AZURExyz and starting 012345 rejected", &key);
    assert_eq!(s, "key ending in ...[REDACTED] and starting [REDACTED] rejected");
    assert_eq!(scrub_secret("short 01234 is fine", &key), "short 01234 is fine");
    let other = Secret::new("unrelated".into());
    for (text, want) in [
        ("Incorrect API key provided: sk-proj-****abcd.", "Incorrect API key provided: [REDACTED]."),
        ("key gsk_abcDEF123 bad", "key [REDACTED] bad"),
        ("key AIzaSyA-bc_12 bad", "key [REDACTED] bad"),
        ("a task-force and desk-top stay", "a task-force and desk-top stay"),
        ("line\nbreaks\t and   spaces", "line breaks and spaces"),
    ] {
        assert_eq!(scrub_secret(text, &other), want);
    }
    let tiny = Secret::new("abc".into());
    assert_eq!(scrub_secret("xabcx", &tiny), "x[REDACTED]x");
    assert_eq!(scrub_secret(&"é".repeat(400), &other).chars().count(), 300);
}

#[test]
fn upstream_bodies_are_summarised_not_reflected() {
    let planted = "AKIAQWERTYUIOPASDFGH";
    let token = "ghp_1234567890abcdefghijABCDEFGHIJ123456";
    let html = format!(
        "<html><head><title>Internal admin</title><script>var t='{token}';</script></head><body>{}<p>aws {planted} \
         Authorization: Bearer s3cr3t-bearer-value</p>{}</body></html>",
        "<div>row of an internal page</div>".repeat(200),
        "tail ".repeat(2000)
    );
    let e = classify(Provider::OpenaiCompatible, 500, &html);
    let body_json = json!({"error": {"code": "internal_failure", "message": format!("{} {planted} {token} {}",
        "x".repeat(50), "lorem ipsum ".repeat(500))}});
    let j = classify(Provider::Openai, 400, &body_json.to_string());
    for (e, code) in [(e, None), (j, Some("(internal_failure)"))] {
        let m = &e.message;
        for secret in [planted, token, "s3cr3t-bearer-value", KEY] {
            assert!(!m.contains(secret), "{secret} reflected in {m}");
        }
        let summary = m.split_once(": ").unwrap().1;
        assert!(summary.chars().count() <= super::classify::MAX_UPSTREAM_SUMMARY_CHARS, "{m}");
        assert!(!m.contains('<'), "markup stripped: {m}");
        assert!(m.contains(&format!("answered {}", e.status.unwrap())), "{m}");
        if let Some(code) = code {
            assert!(m.contains(code), "the provider code is named: {m}");
        }
    }
}

#[test]
fn provider_codes_are_plain_tokens_only() {
    let code = |body: &str| {
        let m = classify(Provider::Openai, 400, body).message;
        m.split_once(": ").unwrap().0.to_string()
    };
    assert_eq!(code(r#"{"error": {"code": "invalid_api_key", "type": "x"}}"#), "openai answered 400 (invalid_api_key)");
    assert_eq!(
        code(r#"{"type": "error", "error": {"type": "overloaded_error"}}"#),
        "openai answered 400 (overloaded_error)"
    );
    assert_eq!(
        code(r#"[{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}]"#),
        "openai answered 400 (RESOURCE_EXHAUSTED)"
    );
    assert_eq!(code(r#"{"error": {"code": "sk-abc def"}}"#), "openai answered 400", "not a token: not quoted");
    assert_eq!(code("<html>bad gateway</html>"), "openai answered 400");
}
