//! `gavel eval --local` with model-graded scorers: the same judge scheduler, prompts and parser as the server,
//! in-process, on a throwaway store that is deleted afterwards. The key comes from the environment
//! (`GAVEL_PROVIDER_KEY`, or the provider's usual variable such as `OPENAI_API_KEY`) and is never written anywhere.

use std::sync::{Arc, Mutex};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{usage, EvalArgs};
use crate::byok::Provider;
use crate::judge::keys::RequestKey;
use crate::judge::{Judge, RunCtx};
use crate::keystore::{KeyFile, MasterKey, Secret};
use crate::runs::model::{GateSpec, Item, ItemResult, RunStatus, Summary};
use crate::runs::summary::{Aggregator, Outcome};
use crate::scoring::{Compiled, CompiledScorer};
use crate::store::Store;
use crate::usage::book::Book;

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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The provider key for a local run, from flags and the environment.
fn request_key(args: &EvalArgs) -> anyhow::Result<RequestKey> {
    let explicit = match args.provider.as_deref() {
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
            .ok_or_else(|| usage("judge scorers in --local need a key: set GAVEL_PROVIDER_KEY with --provider, or OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY"))?,
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
        base_url: args.base_url.clone(),
        endpoint: if azure { env("AZURE_OPENAI_ENDPOINT") } else { None },
        deployment: if azure { env("AZURE_OPENAI_DEPLOYMENT").or_else(|| args.model.clone()) } else { None },
        api_version: if azure { env("AZURE_OPENAI_API_VERSION").or_else(|| Some("2024-10-21".into())) } else { None },
        default_model: args.model.clone(),
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

/// Score `items` in-process, judge scorers included.
pub async fn run(
    args: &EvalArgs,
    scorers: Vec<CompiledScorer>,
    items: Vec<Item>,
    gate: &GateSpec,
) -> anyhow::Result<(Summary, Vec<ItemResult>)> {
    let rk = request_key(args)?;
    let dir = std::env::temp_dir().join(format!("gavel-local-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = judged(&dir, rk, args, scorers, items, gate).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn judged(
    dir: &std::path::Path,
    rk: RequestKey,
    args: &EvalArgs,
    scorers: Vec<CompiledScorer>,
    items: Vec<Item>,
    gate: &GateSpec,
) -> anyhow::Result<(Summary, Vec<ItemResult>)> {
    let store = Store::open(&dir.join("gavel.db"))?;
    let keys = Arc::new(KeyFile::create(&dir.join("keys.enc"), MasterKey::generate()?)?);
    let cfg = crate::config::JudgeConfig { cache_ttl_s: 0, ..Default::default() };
    let judge = Judge::new(&cfg, store.clone(), keys, &prometheus::Registry::new())?;
    judge.hold_request_key("local", rk);
    let specs: Vec<_> = scorers
        .iter()
        .filter_map(|s| match &s.kind {
            Compiled::Judge(j) => Some(j.clone()),
            Compiled::Heuristic(_) => None,
        })
        .collect();
    let (prepared, _) =
        judge.prepare("local", "local", args.model.as_deref(), true, &specs).await.map_err(|e| usage(e.to_string()))?;
    let ctx = RunCtx {
        run_id: "local".into(),
        org_id: "local".into(),
        use_cache: false,
        cost_limit: None,
        book: Mutex::new(Book::default()),
        unreachable: Mutex::new(Default::default()),
    };
    let total = items.len();
    let window = judge.cap() * 3;
    let mut pending = items.into_iter().enumerate();
    let mut inflight = FuturesUnordered::new();
    let mut done: Vec<(usize, Item, Vec<crate::runs::model::Score>)> = Vec::with_capacity(total);
    let mut progress = super::Progress::new();
    loop {
        while inflight.len() < window {
            let Some((i, item)) = pending.next() else { break };
            let (judge, ctx, scorers, prepared) = (&judge, &ctx, &scorers, &prepared);
            inflight.push(async move {
                let scores = crate::runs::judged::score_all(judge, ctx, scorers, prepared, &item).await;
                (i, item, scores)
            });
        }
        match inflight.next().await {
            Some(r) => {
                done.push(r);
                progress.update(done.len() as u64, total as u64);
            }
            None => break,
        }
    }
    progress.finish();
    store.close();
    done.sort_by_key(|(i, _, _)| *i);
    let mut agg = Aggregator::new(scorers.iter().map(|s| s.name.clone()).collect());
    let results = done
        .into_iter()
        .map(|(i, item, scores)| {
            let o = agg.add(&scores);
            ItemResult { index: i as u64, item, passed: o == Outcome::Passed, errored: o == Outcome::Errored, scores }
        })
        .collect();
    agg.usage = ctx.book.lock().map(|b| b.total.clone()).unwrap_or_default();
    Ok((agg.finish(total as u64, gate, RunStatus::Completed), results))
}
