//! Error shapes, model routing, the cache key, and the OpenAI types' pass-through of unknown fields.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::openai::{ChatCompletionRequest, MaxTokensField};
use super::tests_support::json;
use super::*;

#[test]
fn errors_in_openai_and_anthropic_shape() {
    assert_eq!(
        openai_error_body("RATE_LIMITED", 429, "slow down", None),
        json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "RATE_LIMITED"}})
    );
    assert_eq!(
        openai_error_body("BYOK_NO_KEY", 400, "no key for anthropic", Some("model"))["error"]["type"],
        "invalid_request_error"
    );
    assert_eq!(openai_error_body("BUDGET_EXCEEDED", 429, "m", None)["error"]["type"], "insufficient_quota");
    assert_eq!(openai_error_body("UNAUTHENTICATED", 401, "m", None)["error"]["type"], "authentication_error");
    assert_eq!(openai_error_body("BYOK_PROVIDER_ERROR", 502, "m", None)["error"]["type"], "api_error");
    assert_eq!(
        anthropic_error_body("BYOK_RATE_LIMITED", 429, "try later"),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "BYOK_RATE_LIMITED: try later"}})
    );
    assert_eq!(anthropic_error_type("BYOK_QUOTA_EXCEEDED", 429), "billing_error");
    assert_eq!(anthropic_error_type("PAYLOAD_TOO_LARGE", 413), "request_too_large");
    assert_eq!(anthropic_error_type("NOT_FOUND", 404), "not_found_error");
    assert_eq!(anthropic_error_type("INTERNAL", 500), "api_error");

    let e = GatewayError::ModelNotFound { model: "gtp-4o".into() };
    let body = e.to_openai();
    assert_eq!(body["error"]["code"], "BYOK_MODEL_NOT_FOUND");
    assert_eq!(body["error"]["param"], "model");
    assert_eq!(body["error"]["type"], "not_found_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("gtp-4o"));
    assert_eq!(e.to_anthropic()["error"]["type"], "not_found_error");
}

fn table(entries: &[(&str, &[(ProviderName, &str)])]) -> AliasTable {
    entries
        .iter()
        .map(|(alias, targets)| (alias.to_string(), targets.iter().map(|(p, m)| RouteTarget::new(*p, *m)).collect()))
        .collect()
}

#[test]
fn native_names_provider_prefixes_and_aliases() {
    let native = [
        ("gpt-4o", ProviderName::Openai),
        ("gpt-4o-mini-2024-07-18", ProviderName::Openai),
        ("o3-mini", ProviderName::Openai),
        ("o1", ProviderName::Openai),
        ("text-embedding-3-small", ProviderName::Openai),
        ("claude-sonnet-4-5-20250929", ProviderName::Anthropic),
        ("gemini-2.5-flash", ProviderName::Google),
        ("text-embedding-004", ProviderName::Google),
        ("llama-3.3-70b-versatile", ProviderName::Groq),
        ("mixtral-8x7b-32768", ProviderName::Groq),
        ("meta-llama/llama-4-scout-17b-16e-instruct", ProviderName::Groq),
    ];
    for (model, provider) in native {
        assert_eq!(resolve_model(model, &[]).unwrap(), vec![RouteTarget::new(provider, model)], "{model}");
    }
    assert_eq!(native_provider("olmo-2"), None, "o-series needs o1/o3/o4 exactly or a dash after");

    assert_eq!(
        resolve_model("anthropic/claude-3-5-haiku-latest", &[]).unwrap(),
        vec![RouteTarget::new(ProviderName::Anthropic, "claude-3-5-haiku-latest")]
    );
    assert_eq!(
        resolve_model("openai_compatible/llama3.1:8b", &[]).unwrap(),
        vec![RouteTarget::new(ProviderName::OpenaiCompatible, "llama3.1:8b")]
    );
    assert_eq!(
        resolve_model("groq/openai/gpt-oss-120b", &[]).unwrap(),
        vec![RouteTarget::new(ProviderName::Groq, "openai/gpt-oss-120b")]
    );
    assert_eq!(
        resolve_model("azure_openai/prod-gpt4o", &[]).unwrap()[0].provider.wire(),
        Wire::OpenAi,
        "Azure speaks OpenAI's shape"
    );

    let org =
        table(&[("fast", &[(ProviderName::Groq, "llama-3.1-8b-instant"), (ProviderName::Openai, "gpt-4o-mini")])]);
    let config = table(&[
        ("fast", &[(ProviderName::Google, "gemini-2.0-flash")]),
        ("gpt-4o", &[(ProviderName::AzureOpenai, "prod-gpt4o")]),
    ]);
    let fast = resolve_model("fast", &[&org, &config]).unwrap();
    assert_eq!(fast.iter().map(|t| t.provider).collect::<Vec<_>>(), [ProviderName::Groq, ProviderName::Openai]);
    assert_eq!(
        resolve_model("gpt-4o", &[&org, &config]).unwrap()[0].provider,
        ProviderName::AzureOpenai,
        "aliases win"
    );

    for (model, code) in [
        ("", "VALIDATION_FAILED"),
        ("anthropic/", "VALIDATION_FAILED"),
        ("mistral-large", "BYOK_MODEL_NOT_FOUND"),
        ("azure/gpt-4o", "BYOK_MODEL_NOT_FOUND"),
    ] {
        let e = resolve_model(model, &[&org]).unwrap_err();
        assert_eq!((e.code(), e.param()), (code, Some("model")), "{model:?}");
    }
    assert_eq!(resolve_model(&"x".repeat(MAX_MODEL_NAME_LEN + 1), &[]).unwrap_err().code(), "PAYLOAD_TOO_LARGE");
    let empty = table(&[("nothing", &[])]);
    assert_eq!(resolve_model("nothing", &[&empty]).unwrap_err().param(), Some("model_aliases.nothing"));
    let many: Vec<RouteTarget> =
        (0..=MAX_ALIAS_TARGETS).map(|i| RouteTarget::new(ProviderName::Openai, format!("m{i}"))).collect();
    assert!(validate_targets("big", &many).unwrap_err().to_string().contains("MAX_ALIAS_TARGETS"));
}

#[test]
fn alias_targets_read_from_config_shape() {
    let targets: Vec<RouteTarget> = serde_json::from_value(json!([
        {"provider": "anthropic", "model": "claude-haiku-4-5", "key_id": "key_01"},
        {"provider": "openai_compatible", "model": "qwen2.5"}
    ]))
    .unwrap();
    assert_eq!(targets[0].key_id.as_deref(), Some("key_01"));
    assert_eq!(targets[1].provider.as_str(), "openai_compatible");
    assert!(serde_json::from_value::<RouteTarget>(json!({"provider": "gemini", "model": "x"})).is_err());
    assert_eq!(ProviderName::parse("google"), Some(ProviderName::Google));
    assert_eq!(ProviderName::parse("Google"), None);
}

#[test]
fn the_cache_key_ignores_order_streaming_and_number_spelling_but_nothing_else() {
    let a =
        json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": 1.0, "stream": false});
    let b = json!({"temperature": 1, "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"content": "hi", "role": "user"}], "model": "gpt-4o-mini"});
    let key = cache_key("org_1", "openai", "gpt-4o-mini", &a);
    assert_eq!(key.len(), 64);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(key, cache_key("org_1", "openai", "gpt-4o-mini", &b));
    assert_ne!(key, cache_key("org_2", "openai", "gpt-4o-mini", &a), "orgs never share entries");
    assert_ne!(key, cache_key("org_1", "groq", "gpt-4o-mini", &a));
    assert_ne!(key, cache_key("org_1", "openai", "gpt-4o", &a));
    let c = json!({"messages": [{"role": "user", "content": "hi!"}], "temperature": 1});
    assert_ne!(key, cache_key("org_1", "openai", "gpt-4o-mini", &c));
    // Length prefixes: moving a character between org and provider changes the key.
    assert_ne!(cache_key("ab", "c", "m", &a), cache_key("a", "bc", "m", &a));
    assert_eq!(
        canonical_json(&json!({"b": [1.5, 2.0], "a": {"z": null, "y": "é"}})),
        r#"{"a":{"y":"é","z":null},"b":[1.5,2]}"#
    );
    // A fixed vector (checked with Python's hashlib over the same length-prefixed bytes), so the canonical form
    // cannot change by accident, which would silently empty every cache.
    assert_eq!(
        cache_key("org", "openai", "gpt-4o", &json!({"messages": []})),
        "d348b857c5eb947af2cf597e5904ad53fc4ade349fa761cee53cd0003494f7b4"
    );
    // And one with escapes, non-ASCII text, an integral float, a fraction and ignored fields (Python's
    // json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False) writes the same canonical text).
    let rich = json!({"model": "x", "stream": true, "temperature": 1.0, "top_p": 0.25, "n": 2, "stop": ["END"],
                      "user": "u", "messages": [{"role": "user", "content": "a \"q\"\n\u{e9} \u{1}/"}]});
    assert_eq!(
        canonical_json(&rich),
        r#"{"messages":[{"content":"a \"q\"\né \u0001/","role":"user"}],"model":"x","n":2,"stop":["END"],"stream":true,"temperature":1,"top_p":0.25,"user":"u"}"#
    );
    assert_eq!(
        cache_key("org_9", "groq", "llama-3.3-70b-versatile", &rich),
        "06d233a4acaa157acef2a31ba295b768dd91a828aecb211ac0a1455015994473"
    );
}

#[test]
fn unknown_request_fields_pass_through_untouched() {
    let mut raw = json("openai_request_tools.json");
    raw["logit_bias"] = json!({"1734": -100});
    raw["messages"][2]["content"][0]["cache_hint"] = json!("x");
    raw["prediction"] = json!({"type": "content", "content": "..."});
    let req: ChatCompletionRequest = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), raw, "an OpenAI-style provider gets the very same request");
    let mut req = req;
    req.set_max_tokens_field(MaxTokensField::MaxTokens);
    assert_eq!((req.max_tokens, req.max_completion_tokens), (Some(800), None));
}
