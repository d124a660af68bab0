//! Request bodies, URLs and answer parsing of every wire format, without HTTP.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::{anthropic, anthropic_body, gemini_schema, google, google_body, openai, openai_body, prepare};
use super::{ChatRequest, Endpoint};
use crate::domain::Provider;
use crate::domain::Secret;

fn req(schema: Option<Value>) -> ChatRequest {
    ChatRequest {
        model: "m-1".into(),
        system: "be strict".into(),
        user: "is 4 right?".into(),
        max_tokens: 300,
        temperature: 0.0,
        json_schema: schema,
        sampling: Default::default(),
        history: Vec::new(),
    }
}

fn schema() -> Value {
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
           "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                          "label": {"type": ["string", "null"], "enum": ["good", "bad"]},
                          "tags": {"type": "array", "items": {"type": "string", "format": "uri"}},
                          "kind": {"const": "verdict"}},
           "required": ["score"], "additionalProperties": false})
}

#[test]
fn openai_family_bodies() {
    let b = openai_body(Provider::Openai, &req(Some(schema())));
    assert_eq!(b["model"], "m-1");
    assert_eq!(b["max_completion_tokens"], 300);
    assert!(b.get("max_tokens").is_none());
    assert_eq!(b["temperature"], 0.0);
    assert_eq!(b["messages"][0], json!({"role": "system", "content": "be strict"}));
    assert_eq!(b["messages"][1], json!({"role": "user", "content": "is 4 right?"}));
    assert_eq!(b["response_format"]["type"], "json_schema");
    assert_eq!(b["response_format"]["json_schema"]["name"], "judge_verdict");
    assert_eq!(b["response_format"]["json_schema"]["strict"], false);
    assert_eq!(b["response_format"]["json_schema"]["schema"], schema());

    let plain = openai_body(Provider::Openai, &req(None));
    assert!(plain.get("response_format").is_none());
    let mut reasoning = req(None);
    reasoning.model = "o4-mini-2025-04-16".into();
    assert!(openai_body(Provider::Openai, &reasoning).get("temperature").is_none());

    for p in [Provider::Groq, Provider::OpenaiCompatible] {
        let b = openai_body(p, &req(Some(schema())));
        assert_eq!(b["max_tokens"], 300);
        assert!(b.get("max_completion_tokens").is_none());
        assert_eq!(b["response_format"], json!({"type": "json_object"}));
        let system = b["messages"][0]["content"].as_str().unwrap();
        assert!(system.starts_with("be strict") && system.contains("JSON schema") && system.contains("\"score\""));
    }

    let azure = openai_body(Provider::AzureOpenai, &req(Some(schema())));
    assert!(azure.get("model").is_none());
    assert_eq!(azure["max_tokens"], 300);
    assert_eq!(azure["response_format"]["type"], "json_schema");

    let mut r = req(None);
    r.system.clear();
    r.temperature = 0.7;
    let b = openai_body(Provider::Openai, &r);
    assert_eq!(b["messages"].as_array().unwrap().len(), 1);
    assert_eq!(b["temperature"], 0.7);
}

#[test]
fn anthropic_body_forces_the_verdict_tool() {
    let b = anthropic_body(&req(Some(schema())));
    assert_eq!(b["model"], "m-1");
    assert_eq!(b["max_tokens"], 300);
    assert_eq!(b["system"], "be strict");
    assert_eq!(b["messages"], json!([{"role": "user", "content": "is 4 right?"}]));
    assert_eq!(b["tools"][0]["name"], "record_verdict");
    assert_eq!(b["tools"][0]["input_schema"], schema());
    assert_eq!(b["tool_choice"], json!({"type": "tool", "name": "record_verdict"}));
    let plain = anthropic_body(&req(None));
    assert!(plain.get("tools").is_none() && plain.get("tool_choice").is_none());
    let wrapped = anthropic_body(&req(Some(json!({"type": "number"}))));
    assert_eq!(wrapped["tools"][0]["input_schema"]["type"], "object");
}

#[test]
fn google_body_and_schema_subset() {
    let b = google_body(&req(Some(schema())));
    assert_eq!(b["systemInstruction"], json!({"parts": [{"text": "be strict"}]}));
    assert_eq!(b["contents"], json!([{"role": "user", "parts": [{"text": "is 4 right?"}]}]));
    let cfg = &b["generationConfig"];
    assert_eq!(cfg["temperature"], 0.0);
    assert_eq!(cfg["maxOutputTokens"], 300);
    assert_eq!(cfg["responseMimeType"], "application/json");
    let s = &cfg["responseSchema"];
    assert!(s.get("additionalProperties").is_none() && s.get("$schema").is_none());
    assert_eq!(s["type"], "OBJECT");
    assert_eq!(s["required"], json!(["score"]));
    assert_eq!(s["properties"]["score"], json!({"type": "NUMBER", "minimum": 0, "maximum": 1}));
    assert_eq!(s["properties"]["label"], json!({"type": "STRING", "nullable": true, "enum": ["good", "bad"]}));
    assert_eq!(s["properties"]["tags"], json!({"type": "ARRAY", "items": {"type": "STRING"}}));
    assert_eq!(s["properties"]["kind"], json!({"type": "STRING", "enum": ["verdict"]}));
    let plain = google_body(&req(None));
    assert!(plain["generationConfig"].get("responseSchema").is_none());
    assert!(plain["generationConfig"].get("responseMimeType").is_none());
    assert_eq!(gemini_schema(&json!({"oneOf": [{"type": "integer"}]})), json!({"anyOf": [{"type": "INTEGER"}]}));
}

#[test]
fn urls_follow_each_providers_docs_and_never_carry_the_key() {
    let key = Secret::new("sk-test-0123456789SECRET".into());
    let url_of = |p: Provider, e: &Endpoint, model: &str| {
        let mut r = req(None);
        r.model = model.into();
        prepare(p, e, &key, &r).map(|c| c.url.to_string())
    };
    let none = Endpoint::default();
    assert_eq!(url_of(Provider::Openai, &none, "x").unwrap(), "https://api.openai.com/v1/chat/completions");
    assert_eq!(url_of(Provider::Groq, &none, "x").unwrap(), "https://api.groq.com/openai/v1/chat/completions");
    assert_eq!(url_of(Provider::Anthropic, &none, "x").unwrap(), "https://api.anthropic.com/v1/messages");
    assert_eq!(
        url_of(Provider::Google, &none, "gemini-2.0-flash").unwrap(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
    );
    let slash = Endpoint { base_url: Some("http://127.0.0.1:8000/v1/".into()), ..Endpoint::default() };
    assert_eq!(url_of(Provider::OpenaiCompatible, &slash, "x").unwrap(), "http://127.0.0.1:8000/v1/chat/completions");
    let err = url_of(Provider::OpenaiCompatible, &none, "x").unwrap_err();
    assert_eq!(err.kind, super::ErrorKind::InvalidRequest);
    assert!(err.message.contains("base_url"));
    let azure = Endpoint {
        endpoint: Some("https://acme.openai.azure.com/".into()),
        deployment: Some("judge one".into()),
        api_version: Some("2024-10-21".into()),
        ..Endpoint::default()
    };
    assert_eq!(
        url_of(Provider::AzureOpenai, &azure, "").unwrap(),
        "https://acme.openai.azure.com/openai/deployments/judge%20one/chat/completions?api-version=2024-10-21"
    );
    let v1 = Endpoint { base_url: Some("https://proxy.example/anthropic/v1".into()), ..Endpoint::default() };
    assert_eq!(anthropic::url(&v1).unwrap().as_str(), "https://proxy.example/anthropic/v1/messages");
    let gv = Endpoint { base_url: Some("https://g.example/v1beta/".into()), ..Endpoint::default() };
    assert_eq!(
        google::url(&gv, "models/gemini-2.5-pro").unwrap().as_str(),
        "https://g.example/v1beta/models/gemini-2.5-pro:generateContent"
    );
    for bad in ["ftp://x/v1", "https://x/v1?key=sk-test-0123456789SECRET", "https://u:p@x/v1", "not a url"] {
        let e = Endpoint { base_url: Some(bad.into()), ..Endpoint::default() };
        let err = url_of(Provider::OpenaiCompatible, &e, "x").unwrap_err();
        assert_eq!(err.kind, super::ErrorKind::InvalidRequest);
        assert!(!err.message.contains("SECRET"), "{}", err.message);
    }
    assert!(openai::azure_url(&Endpoint::default(), "d").is_err());
    for p in Provider::ALL {
        let e = Endpoint {
            base_url: (p == Provider::OpenaiCompatible).then(|| "http://localhost:1/v1".into()),
            endpoint: Some("https://acme.openai.azure.com".into()),
            deployment: Some("d".into()),
            api_version: None,
        };
        let url = url_of(p, &e, if p == Provider::OpenaiCompatible { "m" } else { "" }).unwrap();
        assert!(!url.contains("SECRET") && !url.contains("key="), "{url}");
    }
    let empty_model = url_of(Provider::OpenaiCompatible, &slash, "").unwrap_err();
    assert!(empty_model.message.contains("no model"));
}

#[test]
fn auth_headers_are_per_provider_and_sensitive() {
    let key = Secret::new("sk-test-0123456789SECRET".into());
    let e = Endpoint {
        base_url: Some("http://localhost:1/v1".into()),
        endpoint: Some("https://a.openai.azure.com".into()),
        deployment: Some("d".into()),
        api_version: Some("2024-10-21".into()),
    };
    for (p, header, value) in [
        (Provider::Openai, "authorization", "Bearer sk-test-0123456789SECRET"),
        (Provider::Groq, "authorization", "Bearer sk-test-0123456789SECRET"),
        (Provider::OpenaiCompatible, "authorization", "Bearer sk-test-0123456789SECRET"),
        (Provider::AzureOpenai, "api-key", "sk-test-0123456789SECRET"),
        (Provider::Anthropic, "x-api-key", "sk-test-0123456789SECRET"),
        (Provider::Google, "x-goog-api-key", "sk-test-0123456789SECRET"),
    ] {
        let call = prepare(p, &e, &key, &req(None)).unwrap();
        let v = call.headers.get(header).unwrap();
        assert_eq!(v.to_str().unwrap(), value);
        assert!(v.is_sensitive());
        assert!(!format!("{:?}", call.headers).contains("SECRET"), "{}", p.as_str());
    }
    let call = prepare(Provider::Anthropic, &e, &key, &req(None)).unwrap();
    assert_eq!(call.headers["anthropic-version"], "2023-06-01");
    let bad = Secret::new("line\nbreak".into());
    assert!(prepare(Provider::Openai, &e, &bad, &req(None)).unwrap_err().message.contains("HTTP header"));
}

#[test]
fn openai_answers() {
    let ok = json!({"model": "gpt-4o-mini-2024-07-18",
                    "choices": [{"message": {"role": "assistant", "content": "{\"pass\":true}"}}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 5}});
    let r = openai::parse(&ok, "gpt-4o-mini").unwrap();
    assert_eq!(
        (r.text.as_str(), r.model.as_str(), r.input_tokens, r.output_tokens),
        ("{\"pass\":true}", "gpt-4o-mini-2024-07-18", 12, 5)
    );
    let null = json!({"choices": [{"message": {"content": null}, "finish_reason": "length"}]});
    assert!(openai::parse(&null, "m").unwrap_err().contains("finish_reason length"));
    let refused = json!({"choices": [{"message": {"content": null, "refusal": "I can't help"}}]});
    assert!(openai::parse(&refused, "m").unwrap_err().contains("I can't help"));
    assert!(openai::parse(&json!({"object": "list"}), "m").is_err());
    let no_usage = json!({"choices": [{"message": {"content": "hi"}}]});
    let r = openai::parse(&no_usage, "mine").unwrap();
    assert_eq!((r.model.as_str(), r.input_tokens, r.output_tokens), ("mine", 0, 0));
}

#[test]
fn anthropic_answers() {
    let tool = json!({"model": "claude-3-5-haiku-20241022", "stop_reason": "tool_use",
        "content": [{"type": "text", "text": "Let me record."},
                    {"type": "tool_use", "id": "toolu_1", "name": "record_verdict",
                     "input": {"pass": true, "score": 1}}],
        "usage": {"input_tokens": 40, "output_tokens": 9}});
    let r = anthropic::parse(&tool, "x", false).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&r.text).unwrap(), json!({"pass": true, "score": 1}));
    assert_eq!((r.model.as_str(), r.input_tokens, r.output_tokens), ("claude-3-5-haiku-20241022", 40, 9));
    let wrapped = json!({"content": [{"type": "tool_use", "name": "record_verdict", "input": {"value": 0.5}}]});
    assert_eq!(anthropic::parse(&wrapped, "x", true).unwrap().text, "0.5");
    let text = json!({"content": [{"type": "text", "text": "fine"}], "usage": {"input_tokens": 3, "output_tokens": 1}});
    assert_eq!(anthropic::parse(&text, "x", false).unwrap().text, "fine");
    let empty = json!({"content": [], "stop_reason": "refusal"});
    assert!(anthropic::parse(&empty, "x", false).unwrap_err().contains("refusal"));
}

#[test]
fn google_answers() {
    let ok = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "{\"a\":"}, {"text": "1}"}]},
                                    "finishReason": "STOP"}],
                    "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 4, "thoughtsTokenCount": 6},
                    "modelVersion": "gemini-2.0-flash-001"});
    let r = google::parse(&ok, "gemini-2.0-flash").unwrap();
    assert_eq!(
        (r.text.as_str(), r.model.as_str(), r.input_tokens, r.output_tokens),
        ("{\"a\":1}", "gemini-2.0-flash-001", 20, 10)
    );
    let safety = json!({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}],
                        "usageMetadata": {"promptTokenCount": 5}});
    assert!(google::parse(&safety, "g").unwrap_err().contains("safety filters (finishReason SAFETY)"));
    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}});
    assert!(google::parse(&blocked, "g").unwrap_err().contains("prompt was blocked"));
    let thought = json!({"candidates": [{"content": {"parts": [{"text": "hmm", "thought": true}, {"text": "ok"}]}}]});
    assert_eq!(google::parse(&thought, "g").unwrap().text, "ok");
}
