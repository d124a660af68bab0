//! `gavel eval --local`: the same pipeline, judge scheduler, prompts and parser as the server, in-process, with
//! nothing written to disk. The key comes from the environment
//! (`GAVEL_PROVIDER_KEY`, or the provider's usual variable such as `OPENAI_API_KEY`) and is never written anywhere.

use std::sync::{Arc, Mutex};

use super::{usage, EvalArgs};
use crate::domain::Provider;
use crate::domain::Secret;
use crate::judge::backend::MemoryBackend;
use crate::judge::keys::RequestKey;
use crate::judge::Judge;
use crate::runs::model::{GateSpec, Item, ItemResult, Summary};
use crate::runs::pipeline::{prepare_judging, JudgeRequest};
use crate::scoring::{Compiled, CompiledScorer};

/// Where each provider's key usually lives.
fn env_names(p: Provider) -> &'static [&'static str] {
    match p {
        Provider::Openai | Provider::OpenaiCompatible => &["OPENAI_API_KEY"],
        Provider::Anthropic => &["ANTHROPIC_API_KEY"],
        Provider::Google => &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        Provider::Groq => &["GROQ_API_KEY"],
        Provider::AzureOpenai => &["AZURE_OPENAI_API_KEY"],
    }
}

#[allow(clippy::disallowed_methods)] // The CLI reads the provider key the user exported: its documented interface.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The flags that choose a local run's judge: `--provider`, `--base-url`, `--model`.
pub(super) struct JudgeFlags<'a> {
    pub provider: Option<&'a str>,
    pub base_url: Option<&'a str>,
    pub model: Option<&'a str>,
}

impl<'a> JudgeFlags<'a> {
    fn of(args: &'a EvalArgs) -> Self {
        JudgeFlags {
            provider: args.provider.as_deref(),
            base_url: args.base_url.as_deref(),
            model: args.model.as_deref(),
        }
    }
}

/// The provider key for a local run, from flags and the environment.
pub(super) fn request_key(args: &JudgeFlags<'_>) -> anyhow::Result<RequestKey> {
    let explicit = match args.provider {
        Some(p) => Some(Provider::parse(p).ok_or_else(|| {
            usage(format!(
                "--provider {p} is not one of openai, anthropic, azure_openai, google, groq, openai_compatible"
            ))
        })?),
        None => None,
    };
    let provider = match explicit {
        Some(p) => p,
        None if args.base_url.is_some() => Provider::OpenaiCompatible,
        None => [Provider::Anthropic, Provider::Openai, Provider::Google, Provider::Groq, Provider::AzureOpenai]
            .into_iter()
            .find(|p| env_names(*p).iter().any(|n| env(n).is_some()))
            .ok_or_else(|| usage("the judge in --local needs a key: set GAVEL_PROVIDER_KEY with --provider, or OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY"))?,
    };
    let key = env("GAVEL_PROVIDER_KEY")
        .or_else(|| env_names(provider).iter().find_map(|n| env(n)))
        .or_else(|| (provider == Provider::OpenaiCompatible).then(|| "none".to_string()))
        .ok_or_else(|| {
            usage(format!(
                "no key for {}: set GAVEL_PROVIDER_KEY or {}",
                provider.as_str(),
                env_names(provider).join(" or ")
            ))
        })?;
    let azure = provider == Provider::AzureOpenai;
    let rk = RequestKey {
        provider,
        key: Secret::new(key),
        base_url: args.base_url.map(str::to_owned),
        endpoint: if azure { env("AZURE_OPENAI_ENDPOINT") } else { None },
        deployment: if azure { env("AZURE_OPENAI_DEPLOYMENT").or_else(|| args.model.map(str::to_owned)) } else { None },
        api_version: if azure { env("AZURE_OPENAI_API_VERSION").or_else(|| Some("2024-10-21".into())) } else { None },
        default_model: args.model.map(str::to_owned),
    };
    let conn = crate::byok::model::Connection {
        base_url: rk.base_url.clone(),
        endpoint: rk.endpoint.clone(),
        deployment: rk.deployment.clone(),
        api_version: rk.api_version.clone(),
        default_model: rk.default_model.clone(),
    };
    conn.validate(provider).map_err(|e| usage(format!("{}: {e}", provider.as_str())))?;
    Ok(rk)
}

/// A judge scheduler for one local run (`org` and run `local`), holding `rk` in memory: nothing is stored, cached
/// or written.
pub(super) fn local_judge(rk: RequestKey) -> anyhow::Result<Arc<Judge>> {
    let cfg = crate::config::JudgeConfig { cache_ttl_s: 0, ..Default::default() };
    let policy = Arc::new(crate::providers::DestinationPolicy::local_operator());
    let judge = Judge::new(&cfg, Arc::new(MemoryBackend::default()), &prometheus::Registry::new(), policy)?;
    judge.hold_request_key("local", rk);
    Ok(judge)
}

/// What a local run asks of its [`local_judge`].
pub(super) fn local_request(model: Option<&str>) -> JudgeRequest<'_> {
    JudgeRequest {
        org_id: "local",
        run_id: "local",
        model,
        had_request_key: true,
        use_cache: false,
        cost_limit_usd: None,
        spent: Default::default(),
    }
}

/// Score `items` in-process through the server's pipeline, judge scorers included: the in-memory judge backend
/// and result sink write nothing to disk.
pub(crate) async fn run(
    args: &EvalArgs,
    scorers: Vec<CompiledScorer>,
    items: Vec<Item>,
    gate: &GateSpec,
) -> anyhow::Result<(Summary, Vec<ItemResult>)> {
    let judged = scorers.iter().any(|c| matches!(c.kind, Compiled::Judge(_)));
    let judging = if judged {
        let judge = local_judge(request_key(&JudgeFlags::of(args))?)?;
        prepare_judging(&judge, &scorers, local_request(args.model.as_deref()))
            .await
            .map_err(|e| usage(e.to_string()))?
    } else {
        None
    };
    let total = items.len() as u64;
    let progress = Mutex::new(super::Progress::new());
    let report = |done: u64| {
        if let Ok(mut p) = progress.lock() {
            p.update(done, total);
        }
    };
    let out = crate::runs::engine::run_local(scorers, items, gate, judging, &report)
        .await
        .map_err(|e| usage(e.to_string()))?;
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    Ok(out)
}
