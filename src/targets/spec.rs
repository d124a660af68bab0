//! The target a run (or the red team) sends its prompts to, as a request gives it and as it is stored.
//!
//! A request's [`TargetBody`] is checked into a [`TargetSpec`] (what is stored with the run and shown in its JSON:
//! never a header value) and the header values, which are request-scoped secrets held in memory only (see
//! [`super::vault`]). Every error names the field, `target.FIELD` (or `targets[i].FIELD` in a matrix).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::path::ResponsePath;
use super::template::{JsonTemplate, Template};
use crate::domain::{Provider, Secret};
use crate::error::{Error, Result};

/// Most headers an HTTP target may carry.
pub const MAX_HEADERS: usize = 32;
/// Longest header value, in bytes.
pub const MAX_HEADER_BYTES: usize = 8192;
/// Longest `name`, `model`, `key_id`, `canary` or `response_path`, in characters.
pub const MAX_SHORT_CHARS: usize = 200;
/// Most `stop` sequences.
pub const MAX_STOP: usize = 4;

/// What a target may be given with (`params`). Unset fields are left to the provider, except temperature (0 unless
/// given, so repeated runs are comparable) and max_tokens (`runs.target_max_tokens` unless given).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// One stop sequence or a list of them (stored and shown as a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

/// `stop`: one string or a list.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    pub fn list(&self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        }
    }
}

/// A target as a request gives it: a provider target `{provider, model, prompt?, system_prompt?, params?,
/// key_id?, name?}` on the org's keys, or an HTTP target `{url, headers?, body_template?, response_path?,
/// system_prompt?, canary?, name?}` (the customer's own endpoint).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// Provider target: `openai`, `anthropic`, `azure_openai`, `google`, `groq`, `openai_compatible`.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Template over the item: `{{input}}`, `{{context}}`, `{{expected}}`, `{{metadata.NAME}}` (default `{{input}}`).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Provider target: sent as the system message. HTTP target: what the app keeps hidden (not sent), so a leak
    /// of it can be detected.
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: Option<Params>,
    /// A stored provider key of the org (else the usual resolution: the run's own key, the org's default key, …).
    #[serde(default)]
    pub key_id: Option<String>,
    /// How comparisons name the target (default: `provider/model`, or the URL's host).
    #[serde(default)]
    pub name: Option<String>,
    /// HTTP target: where to POST.
    #[serde(default)]
    pub url: Option<String>,
    /// HTTP target: request-scoped secrets (never stored, logged or echoed).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub headers: Option<BTreeMap<String, Secret>>,
    /// HTTP target: the JSON body, its strings templates as `prompt` (default: an OpenAI chat body with the item's input).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub body_template: Option<Value>,
    /// HTTP target: where the answer is in the reply JSON (default `choices.0.message.content`; `""`: the whole reply).
    #[serde(default)]
    pub response_path: Option<String>,
    /// HTTP target: a string the app keeps secret, so its leak can be detected.
    #[serde(default)]
    pub canary: Option<String>,
}

/// A provider target, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProviderTarget {
    pub provider: Provider,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Params>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An HTTP target, as stored: never the header values.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct HttpTarget {
    pub url: String,
    /// How many headers the request gave (their values lived in memory for the run only).
    #[serde(default)]
    pub headers_held: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub body_template: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A checked target without secrets: stored in the run's spec and shown as the run's `target`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum TargetSpec {
    Provider(ProviderTarget),
    Http(HttpTarget),
}

impl TargetSpec {
    /// How comparisons name it: its `name`, else `provider/model` or the URL's host and path.
    pub fn label(&self) -> String {
        match self {
            TargetSpec::Provider(p) => p.name.clone().unwrap_or_else(|| format!("{}/{}", p.provider.as_str(), p.model)),
            TargetSpec::Http(h) => h.name.clone().unwrap_or_else(|| {
                url::Url::parse(&h.url)
                    .map(|u| format!("{}{}", u.host_str().unwrap_or(""), u.path().trim_end_matches('/')))
                    .unwrap_or_else(|_| h.url.clone())
            }),
        }
    }
}

/// Header names and values of an HTTP target, held in memory for the run.
pub type Headers = Vec<(String, Secret)>;

/// The limits a target is checked against (config keys).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `runs.max_target_prompt_bytes`: longest prompt, system prompt or body template.
    pub max_prompt_bytes: usize,
}

fn short(at: &str, field: &str, v: &Option<String>) -> Result<()> {
    match v {
        Some(s) if s.trim().is_empty() || s.chars().count() > MAX_SHORT_CHARS => Err(Error::field(
            &format!("{at}.{field}"),
            format!("{at}.{field} must be 1-{MAX_SHORT_CHARS} characters (MAX_SHORT_CHARS)"),
        )),
        _ => Ok(()),
    }
}

fn sized(at: &str, field: &str, len: usize, limits: Limits) -> Result<()> {
    if len > limits.max_prompt_bytes {
        return Err(Error::Validation {
            message: format!(
                "{at}.{field} is {len} bytes, over runs.max_target_prompt_bytes ({})",
                limits.max_prompt_bytes
            ),
            details: serde_json::json!({"field": format!("{at}.{field}"), "limit": "runs.max_target_prompt_bytes"}),
        });
    }
    Ok(())
}

/// Check a request's target; `at` is how errors name it (`target`, `targets[1]`). The destination of an HTTP
/// target is checked apart ([`check_destination`]), as it may need DNS.
pub fn validate(body: TargetBody, at: &str, limits: Limits) -> Result<(TargetSpec, Headers)> {
    short(at, "name", &body.name)?;
    let f = |field: &str| format!("{at}.{field}");
    match (&body.provider, &body.url) {
        (Some(_), Some(_)) => Err(Error::field(&f("url"), format!("{at}: give provider and model, or url, not both"))),
        (None, None) => Err(Error::field(&f("provider"), format!("{at} needs provider and model, or url"))),
        (Some(p), None) => {
            let provider = Provider::parse(p).ok_or_else(|| {
                let all: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                Error::field(&f("provider"), format!("{at}.provider {p:?} is not one of {}", all.join(", ")))
            })?;
            for (field, given) in [
                ("headers", body.headers.is_some()),
                ("body_template", body.body_template.is_some()),
                ("response_path", body.response_path.is_some()),
                ("canary", body.canary.is_some()),
            ] {
                if given {
                    return Err(Error::field(
                        &f(field),
                        format!("{at}.{field} is for HTTP targets (url), not provider targets"),
                    ));
                }
            }
            let model = body
                .model
                .clone()
                .ok_or_else(|| Error::field(&f("model"), format!("{at}.model is required with provider")))?;
            short(at, "model", &Some(model.clone()))?;
            short(at, "key_id", &body.key_id)?;
            if let Some(prompt) = &body.prompt {
                sized(at, "prompt", prompt.len(), limits)?;
                Template::parse(prompt).map_err(|e| Error::field(&f("prompt"), format!("{at}.prompt: {e}")))?;
            }
            if let Some(s) = &body.system_prompt {
                sized(at, "system_prompt", s.len(), limits)?;
                Template::parse(s)
                    .map_err(|e| Error::field(&f("system_prompt"), format!("{at}.system_prompt: {e}")))?;
            }
            let mut params = body.params;
            if let Some(p) = &mut params {
                validate_params(p, at)?;
                p.stop = p.stop.take().map(|s| Stop::Many(s.list()));
            }
            let spec = ProviderTarget {
                provider,
                model,
                prompt: body.prompt,
                system_prompt: body.system_prompt,
                params,
                key_id: body.key_id,
                name: body.name,
            };
            Ok((TargetSpec::Provider(spec), Vec::new()))
        }
        (None, Some(u)) => {
            for (field, given) in [
                ("model", body.model.is_some()),
                ("prompt", body.prompt.is_some()),
                ("params", body.params.is_some()),
                ("key_id", body.key_id.is_some()),
            ] {
                if given {
                    return Err(Error::field(
                        &f(field),
                        format!("{at}.{field} is for provider targets, not HTTP targets (url)"),
                    ));
                }
            }
            let url = url::Url::parse(u.trim()).map_err(|e| Error::field(&f("url"), format!("{at}.url: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::field(&f("url"), format!("{at}.url must be http(s)://host[:port][/path]")));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::field(
                    &f("url"),
                    format!("{at}.url must not carry credentials: put them in headers"),
                ));
            }
            let headers = validate_headers(body.headers.unwrap_or_default(), at)?;
            if let Some(t) = &body.body_template {
                sized(at, "body_template", t.to_string().len(), limits)?;
                JsonTemplate::parse(t.clone()).map_err(|e| Error::field(&f("body_template"), format!("{at}.{e}")))?;
            }
            if let Some(p) = &body.response_path {
                if p.chars().count() > MAX_SHORT_CHARS {
                    return Err(Error::field(
                        &f("response_path"),
                        format!("{at}.response_path is over {MAX_SHORT_CHARS} characters"),
                    ));
                }
                ResponsePath::parse(p).map_err(|e| Error::field(&f("response_path"), format!("{at}.{e}")))?;
            }
            if let Some(s) = &body.system_prompt {
                sized(at, "system_prompt", s.len(), limits)?;
            }
            short(at, "canary", &body.canary)?;
            let spec = HttpTarget {
                url: url.to_string(),
                headers_held: headers.len(),
                body_template: body.body_template,
                response_path: body.response_path,
                system_prompt: body.system_prompt,
                canary: body.canary,
                name: body.name,
            };
            Ok((TargetSpec::Http(spec), headers))
        }
    }
}

fn validate_params(p: &Params, at: &str) -> Result<()> {
    let f = |field: &str| format!("{at}.params.{field}");
    if p.temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
        return Err(Error::field(&f("temperature"), format!("{} must be between 0 and 2", f("temperature"))));
    }
    if p.top_p.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
        return Err(Error::field(&f("top_p"), format!("{} must be between 0 and 1", f("top_p"))));
    }
    if p.max_tokens == Some(0) {
        return Err(Error::field(&f("max_tokens"), format!("{} must be at least 1", f("max_tokens"))));
    }
    if let Some(stop) = &p.stop {
        let list = stop.list();
        if list.len() > MAX_STOP || list.iter().any(|s| s.is_empty() || s.chars().count() > MAX_SHORT_CHARS) {
            return Err(Error::field(
                &f("stop"),
                format!(
                    "{} takes 1-{MAX_STOP} non-empty sequences of at most {MAX_SHORT_CHARS} characters (MAX_STOP)",
                    f("stop")
                ),
            ));
        }
    }
    Ok(())
}

fn validate_headers(headers: BTreeMap<String, Secret>, at: &str) -> Result<Headers> {
    let field = format!("{at}.headers");
    if headers.len() > MAX_HEADERS {
        return Err(Error::field(&field, format!("{field}: at most {MAX_HEADERS} headers (MAX_HEADERS)")));
    }
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Error::field(&field, format!("{field}: {name:?} is not a header name")));
        }
        let v = value.expose_secret();
        // The value is never put in the message.
        if v.len() > MAX_HEADER_BYTES || reqwest::header::HeaderValue::from_str(v).is_err() {
            return Err(Error::field(
                &field,
                format!("{field}: the value of {name} is not a valid header value of at most {MAX_HEADER_BYTES} bytes (MAX_HEADER_BYTES)"),
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// An HTTP target's URL against the destination policy (`providers.allowed_hosts`), as a provider key's base_url.
pub async fn check_destination(
    spec: &TargetSpec,
    at: &str,
    policy: &crate::providers::DestinationPolicy,
) -> Result<()> {
    let TargetSpec::Http(h) = spec else { return Ok(()) };
    let field = format!("{at}.url");
    let url = url::Url::parse(&h.url).map_err(|e| Error::field(&field, format!("{field}: {e}")))?;
    policy.check_url_resolving(&url, true).await.map_err(|r| Error::field(&field, format!("{field}: {r}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: Limits = Limits { max_prompt_bytes: 1000 };

    fn body(v: Value) -> TargetBody {
        serde_json::from_value(v).unwrap()
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Validation { details, .. } => details["field"].as_str().unwrap_or("").to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn provider_and_http_targets_validate_naming_the_field() {
        let (spec, h) = validate(
            body(json!({"provider": "openai", "model": "gpt-4o", "prompt": "Q: {{input}}"})),
            "target",
            LIMITS,
        )
        .unwrap();
        assert!(h.is_empty());
        assert_eq!(spec.label(), "openai/gpt-4o");
        let e = validate(body(json!({"provider": "openai", "model": "m", "prompt": "{{nope}}"})), "target", LIMITS)
            .unwrap_err();
        assert_eq!(field_of(e), "target.prompt");
        let e = validate(body(json!({"provider": "openai"})), "targets[1]", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "targets[1].model");
        let e = validate(body(json!({"provider": "nope", "model": "m"})), "target", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "target.provider");
        let e =
            validate(body(json!({"provider": "openai", "model": "m", "params": {"temperature": 3}})), "target", LIMITS)
                .unwrap_err();
        assert_eq!(field_of(e), "target.params.temperature");
        let e =
            validate(body(json!({"provider": "openai", "model": "m", "prompt": "x".repeat(1001)})), "target", LIMITS)
                .unwrap_err();
        assert_eq!(field_of(e), "target.prompt");
        let (spec, h) = validate(
            body(json!({"url": "http://127.0.0.1:9/chat", "headers": {"Authorization": "Bearer s3cret"}, "response_path": "answer"})),
            "target",
            LIMITS,
        )
        .unwrap();
        assert_eq!(h.len(), 1);
        let shown = serde_json::to_string(&spec).unwrap();
        assert!(!shown.contains("s3cret") && shown.contains("\"headers_held\":1"), "{shown}");
        assert_eq!(spec.label(), "127.0.0.1/chat");
        assert!(!format!("{h:?}").contains("s3cret"), "Debug redacts header values");
        let e = validate(body(json!({"url": "ftp://x"})), "target", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "target.url");
        let e = validate(body(json!({"url": "http://x", "response_path": "a["})), "target", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "target.response_path");
        let e = validate(body(json!({"url": "http://x", "model": "m"})), "target", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "target.model");
        let e =
            validate(body(json!({"url": "http://x", "headers": {"X-K": "bad\nvalue"}})), "target", LIMITS).unwrap_err();
        assert_eq!(field_of(e), "target.headers");
        let round: TargetSpec = serde_json::from_str(&shown).unwrap();
        assert_eq!(round, spec, "the stored form reads back");
    }
}
