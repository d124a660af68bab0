//! Typed configuration, layered with figment: built-in defaults → TOML file → `GAVEL_*` environment → flags.
//!
//! Everything is validated before any I/O so a typo stops the start with a message naming the key,
//! instead of surfacing later as a confusing runtime failure.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};

mod limits;
use figment::Figment;
pub use limits::LimitsConfig;
use serde::{Deserialize, Serialize};

/// Environment prefix for configuration keys; nested keys use `__` (`GAVEL_SERVER__BIND`).
pub const ENV_PREFIX: &str = "GAVEL_";
/// Environment variables with the prefix that are not configuration keys but are still understood.
const NON_CONFIG_ENV: &[&str] =
    &["GAVEL_MASTER_KEY", "GAVEL_CONFIG", "GAVEL_API_KEY", "GAVEL_URL", "GAVEL_PROVIDER_KEY"];
/// The most targets one alias may list (the gateway's own limit, repeated here so config stays below the gateway).
pub const MAX_ALIAS_TARGETS: usize = 8;

/// The most `gateway.log_content_max_bytes` may be: request-log rows are read a page at a time, so each stays small.
pub const MAX_LOG_CONTENT_BYTES: usize = 1 << 20;
/// The system-wide configuration file, read when no `--config` is given and `./gavel.toml` does not exist.
pub const SYSTEM_CONFIG: &str = "/etc/gavel/gavel.toml";

/// The whole configuration. Every key is documented in `config.example.toml`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub keys: KeysConfig,
    pub judge: JudgeConfig,
    pub gateway: GatewayConfig,
    pub runs: RunsConfig,
    pub providers: ProvidersConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
}

/// Where provider keys may point besides the public internet (see `providers::destination`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProvidersConfig {
    /// Host names (`vllm.internal`, `*.corp.example`), addresses and CIDR ranges (`10.0.0.0/8`), each optionally
    /// with a port (`vllm.internal:8000`, `[fd12::/16]:8000`), that loopback and private destinations must match.
    pub allowed_hosts: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP API and dashboard listen on.
    pub bind: String,
    /// Where the SQLite store, the key file and (by default) the master key live.
    pub data_dir: PathBuf,
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Largest accepted body for requests that carry a dataset.
    pub max_dataset_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    pub shutdown_timeout_s: u64,
    /// Optional SHA-256 (hex) of an extra server admin API key, for deployments that provision it themselves.
    pub admin_key_sha256: String,
    /// Public URL printed in messages (dashboard link); empty means derived from `bind`.
    pub public_url: String,
    /// Verified API keys kept in memory (by hash, never the key), so a request need not look its key up in the
    /// store; 0 turns the cache off. Revocations in this process take effect at once.
    pub auth_cache_entries: usize,
    /// Seconds a verified key is trusted without a store lookup, for changes made by another process (the CLI).
    pub auth_cache_ttl_s: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// File holding the base64 master key; empty means the default loading order.
    pub master_key_file: PathBuf,
    /// The encrypted key file; empty means `<data_dir>/keys.enc`.
    pub key_file: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeConfig {
    /// Judge calls in flight at most per (org, provider).
    pub max_concurrency_per_org_provider: usize,
    /// Calls in flight at most per (org, host) to a customer's own HTTP endpoint (a run's or the red team's `url`
    /// target): its own lane, so an app slower than a provider never holds a provider's slots.
    pub max_concurrency_per_org_http_target: usize,
    /// Judge calls in flight at most across the whole process.
    pub global_max_concurrency: usize,
    /// Retries of a failed judge call that is worth retrying.
    pub max_retries: u32,
    /// First backoff step, in milliseconds.
    pub backoff_base_ms: u64,
    /// Longest single backoff, in milliseconds.
    pub backoff_max_ms: u64,
    /// Timeout of one provider request, in seconds.
    pub request_timeout_s: u64,
    /// Timeout for establishing a connection to a provider, in seconds.
    pub connect_timeout_s: u64,
    /// Total time one item's judge call may take across all its retries, in seconds.
    pub item_budget_s: u64,
    /// How long a verdict is reused for an identical judge request, in seconds; 0 disables the cache.
    pub cache_ttl_s: u64,
    /// Model per metric (`relevance = "gpt-4o"`), over each provider's default model.
    pub model_overrides: std::collections::BTreeMap<String, String>,
    /// Prices in USD per million tokens, over the built-in table: `"my-model" = { input = 0.5, output = 1.5 }`.
    pub prices: std::collections::BTreeMap<String, Price>,
    /// Managed mode: a server-wide key used when an org has none for this provider ("" = none).
    pub fallback_provider: String,
    /// File holding the fallback key (mode 0600).
    pub fallback_key_file: PathBuf,
    /// Where the fallback provider is reached ("" = the provider's own API).
    pub fallback_base_url: String,
}

/// A model's price.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million input tokens.
    pub input: f64,
    /// USD per million output tokens.
    pub output: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// How long identical non-streaming gateway requests are answered from cache, in seconds; 0 disables it.
    pub cache_ttl_s: u64,
    /// Server-wide aliases: `name = [{ provider = "openai", model = "gpt-4o-mini" }, …]`, tried in order.
    pub models: std::collections::BTreeMap<String, Vec<crate::domain::ModelTarget>>,
    /// Gateway calls in flight at most per (org, provider), apart from the judge's lanes.
    pub max_concurrency_per_org_provider: usize,
    /// Retries of one target on a retryable failure (429, 5xx, timeout) before the next alias target.
    pub max_retries: u32,
    /// First backoff step, in milliseconds (full jitter, doubling).
    pub backoff_base_ms: u64,
    /// Longest single backoff, in milliseconds.
    pub backoff_max_ms: u64,
    /// A provider asking to wait longer than this (Retry-After) is skipped for the next target, in seconds.
    pub max_retry_wait_s: u64,
    /// Timeout for connecting to a provider, in seconds.
    pub connect_timeout_s: u64,
    /// Longest silence of a provider (no byte of its answer), in seconds.
    pub read_timeout_s: u64,
    /// Output tokens assumed for the budget reservation of a request that sets no max_tokens.
    pub budget_default_output_tokens: u32,
    /// Most rows the background writer puts in one transaction (usage, request log, cache).
    pub writer_batch: usize,
    /// Longest prompt and longest completion text (bytes, each) kept in the request log of a project that opted in
    /// to content logging; longer texts are cut and the row says `truncated`.
    pub log_content_max_bytes: usize,
    /// Org views (settings, provider keys, the caller's limits, content logging) kept in memory per (org, API key,
    /// project); 0 turns the cache off. Changes made in this process take effect on the next call.
    pub view_cache_entries: usize,
    /// Seconds an org view is used without a store read, for changes made by another process (the CLI).
    pub view_cache_ttl_s: u64,
    /// Decrypted provider keys kept in memory, so a call does not decrypt its key's record each time; 0 turns the
    /// cache off. A rotated or deleted key takes effect on the next call.
    pub key_cache_entries: usize,
    /// Seconds a decrypted provider key is kept in memory at most (0: off).
    pub key_cache_ttl_s: u64,
    /// Bytes of recently produced cached answers also kept in memory, so their hits skip the store; 0 turns it off.
    pub cache_memory_bytes: usize,
}

/// `runs.max_levenshtein_cells`'s default: 5,000 × 5,000 chars that differ, about a tenth of a second.
pub const DEFAULT_MAX_LEVENSHTEIN_CELLS: u64 = 25_000_000;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunsConfig {
    /// Runs executing at once in the whole process; more wait as `queued`.
    pub max_active: usize,
    /// Runs executing at once per org, so one org cannot hold every slot.
    pub max_active_per_org: usize,
    /// Threads of the runtime that executes runs (0: one per core).
    pub worker_threads: usize,
    /// Seconds between purges of expired verdict-cache rows.
    pub cache_purge_interval_s: u64,
    /// Scorers and metrics one run may name.
    pub max_scorers_per_run: usize,
    /// Largest `json_schema` schema, in bytes of compact JSON: compiling costs memory in proportion.
    pub max_schema_bytes: usize,
    /// Most regular expressions (`pattern`, `patternProperties` keys) one schema may hold: each compiled pattern
    /// costs about 10 KiB and 0.1 ms, the bulk of a schema's compiled size.
    pub max_schema_patterns: usize,
    /// Largest edit-distance table one `levenshtein` item may need (chars × chars of the parts that differ): the
    /// table costs time in proportion, so this bounds the CPU one item can take.
    pub max_levenshtein_cells: u64,
    /// Targets one request may name in `targets` (one run each).
    pub max_matrix_targets: usize,
    /// Longest target prompt, system prompt or body template, in bytes.
    pub max_target_prompt_bytes: usize,
    /// max_tokens of a provider target's call when its params name none.
    pub target_max_tokens: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter (`info`, `debug`, `gavel=debug,actix_web=info`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./gavel-data"),
            max_body_bytes: 10 * 1024 * 1024,
            max_dataset_bytes: 200 * 1024 * 1024,
            workers: 0,
            shutdown_timeout_s: 30,
            admin_key_sha256: String::new(),
            public_url: String::new(),
            auth_cache_entries: 10_000,
            auth_cache_ttl_s: 10,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self { master_key_file: PathBuf::new(), key_file: PathBuf::new() }
    }
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            max_concurrency_per_org_provider: 20,
            max_concurrency_per_org_http_target: 8,
            global_max_concurrency: 256,
            max_retries: 3,
            backoff_base_ms: 500,
            backoff_max_ms: 30_000,
            request_timeout_s: 60,
            connect_timeout_s: 10,
            item_budget_s: 600,
            cache_ttl_s: 7 * 24 * 3600,
            model_overrides: Default::default(),
            prices: Default::default(),
            fallback_provider: String::new(),
            fallback_key_file: PathBuf::new(),
            fallback_base_url: String::new(),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            cache_ttl_s: 300,
            models: Default::default(),
            max_concurrency_per_org_provider: 20,
            max_retries: 2,
            backoff_base_ms: 200,
            backoff_max_ms: 5_000,
            max_retry_wait_s: 30,
            connect_timeout_s: 10,
            read_timeout_s: 120,
            budget_default_output_tokens: 4096,
            writer_batch: 500,
            log_content_max_bytes: 16_384,
            view_cache_entries: 10_000,
            view_cache_ttl_s: 10,
            key_cache_entries: 1_000,
            key_cache_ttl_s: 60,
            cache_memory_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for RunsConfig {
    fn default() -> Self {
        Self {
            max_active: 16,
            max_active_per_org: 4,
            worker_threads: 0,
            cache_purge_interval_s: 600,
            max_scorers_per_run: 100,
            max_schema_bytes: 256 * 1024,
            max_schema_patterns: 1000,
            max_levenshtein_cells: DEFAULT_MAX_LEVENSHTEIN_CELLS,
            max_matrix_targets: 10,
            max_target_prompt_bytes: 64 * 1024,
            target_max_tokens: 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: "text".into(), level: "info".into() }
    }
}

/// Command-line values that override every other layer; `None` leaves the layer below in force.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// A configuration problem, worded for the operator: it names the key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// What loading produced: the config, the file it came from, and warnings to log once logging is up.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
    pub warnings: Vec<String>,
}

impl Config {
    /// Build the layered figment. `file` is the explicit `--config`; without it `./gavel.toml`, then
    /// `/etc/gavel/gavel.toml` are tried.
    pub fn figment(file: Option<&Path>, overrides: &Overrides) -> Result<(Figment, Option<PathBuf>), ConfigError> {
        let chosen = match file {
            Some(f) if f.exists() => Some(f.to_path_buf()),
            Some(f) => return Err(ConfigError::MissingFile(f.to_path_buf())),
            None => [Path::new("gavel.toml"), Path::new(SYSTEM_CONFIG)]
                .into_iter()
                .find(|p| p.is_file())
                .map(Path::to_path_buf),
        };
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &chosen {
            fig = fig.merge(Toml::file_exact(path));
        }
        let known = known_keys();
        fig = fig.merge(
            Env::prefixed(ENV_PREFIX).split("__").filter(move |k| is_known(&known, &k.as_str().to_ascii_lowercase())),
        );
        let mut flat = serde_json::Map::new();
        let mut server = serde_json::Map::new();
        let mut log = serde_json::Map::new();
        if let Some(b) = &overrides.bind {
            server.insert("bind".into(), b.clone().into());
        }
        if let Some(d) = &overrides.data_dir {
            server.insert("data_dir".into(), d.to_string_lossy().into_owned().into());
        }
        if let Some(l) = &overrides.log_level {
            log.insert("level".into(), l.clone().into());
        }
        if let Some(f) = &overrides.log_format {
            log.insert("format".into(), f.clone().into());
        }
        if !server.is_empty() {
            flat.insert("server".into(), server.into());
        }
        if !log.is_empty() {
            flat.insert("log".into(), log.into());
        }
        fig = fig.merge(Serialized::defaults(serde_json::Value::Object(flat)));
        Ok((fig, chosen))
    }

    /// Load, validate and collect warnings about unknown `GAVEL_*` variables.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
        let (fig, chosen) = Self::figment(file, overrides)?;
        let config: Config = fig.extract().map_err(|e| ConfigError::Invalid(describe_figment_error(e)))?;
        config.validate()?;
        let warnings = unknown_env_vars(std::env::vars().map(|(k, _)| k))
            .into_iter()
            .map(|k| format!("ignoring unknown environment variable {k}: it matches no configuration key"))
            .collect();
        Ok(Loaded { config, file: chosen, warnings })
    }

    /// Checks that need no I/O, each naming the key at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return bad("server.bind", format!("{:?} is not an address like 127.0.0.1:8080", self.server.bind));
        }
        if self.server.data_dir.as_os_str().is_empty() {
            return bad("server.data_dir", "must not be empty".into());
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes", "must be at least 1024".into());
        }
        if self.server.max_dataset_bytes < self.server.max_body_bytes {
            return bad("server.max_dataset_bytes", "must be at least server.max_body_bytes".into());
        }
        if self.runs.max_levenshtein_cells == 0 {
            return bad("runs.max_levenshtein_cells", "must be at least 1".into());
        }
        if self.runs.max_scorers_per_run == 0 {
            return bad("runs.max_scorers_per_run", "must be at least 1".into());
        }
        if self.runs.max_schema_bytes < 1024 {
            return bad("runs.max_schema_bytes", "must be at least 1024".into());
        }
        if self.runs.max_active == 0 {
            return bad("runs.max_active", "must be at least 1".into());
        }
        if self.runs.max_active_per_org == 0 || self.runs.max_active_per_org > self.runs.max_active {
            return bad("runs.max_active_per_org", "must be between 1 and runs.max_active".into());
        }
        let h = &self.server.admin_key_sha256;
        if !h.is_empty() && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
            return bad("server.admin_key_sha256", "must be 64 hex characters (SHA-256 of the key)".into());
        }
        if self.judge.max_concurrency_per_org_provider == 0 {
            return bad("judge.max_concurrency_per_org_provider", "must be at least 1".into());
        }
        if self.judge.max_concurrency_per_org_http_target == 0 {
            return bad("judge.max_concurrency_per_org_http_target", "must be at least 1".into());
        }
        if self.judge.global_max_concurrency < self.judge.max_concurrency_per_org_provider {
            return bad(
                "judge.global_max_concurrency",
                "must be at least judge.max_concurrency_per_org_provider".into(),
            );
        }
        if self.judge.backoff_base_ms == 0 || self.judge.backoff_max_ms < self.judge.backoff_base_ms {
            return bad("judge.backoff_max_ms", "needs 0 < judge.backoff_base_ms <= judge.backoff_max_ms".into());
        }
        if self.judge.request_timeout_s == 0 || self.judge.connect_timeout_s == 0 {
            return bad("judge.request_timeout_s", "timeouts must be at least 1 second".into());
        }
        let fp = &self.judge.fallback_provider;
        if !fp.is_empty() && crate::domain::Provider::parse(fp).is_none() {
            return bad("judge.fallback_provider", format!("{fp:?} is not a provider"));
        }
        if !fp.is_empty() && self.judge.fallback_key_file.as_os_str().is_empty() {
            return bad("judge.fallback_key_file", "judge.fallback_provider needs judge.fallback_key_file".into());
        }
        for (model, p) in &self.judge.prices {
            if !(p.input >= 0.0 && p.output >= 0.0) {
                return bad(&format!("judge.prices.{model}"), "prices must be non-negative".into());
            }
        }
        let g = &self.gateway;
        if g.max_concurrency_per_org_provider == 0 {
            return bad("gateway.max_concurrency_per_org_provider", "must be at least 1".into());
        }
        if g.backoff_base_ms == 0 || g.backoff_max_ms < g.backoff_base_ms {
            return bad("gateway.backoff_max_ms", "needs 0 < gateway.backoff_base_ms <= gateway.backoff_max_ms".into());
        }
        if g.connect_timeout_s == 0 || g.read_timeout_s == 0 {
            return bad("gateway.read_timeout_s", "timeouts must be at least 1 second".into());
        }
        if g.writer_batch == 0 {
            return bad("gateway.writer_batch", "must be at least 1".into());
        }
        if g.log_content_max_bytes > MAX_LOG_CONTENT_BYTES {
            return bad("gateway.log_content_max_bytes", format!("must be at most {MAX_LOG_CONTENT_BYTES}"));
        }
        for (alias, targets) in &g.models {
            if targets.is_empty() || targets.len() > MAX_ALIAS_TARGETS {
                return bad(
                    &format!("gateway.models.{alias}"),
                    format!("lists 1 to {MAX_ALIAS_TARGETS} targets (MAX_ALIAS_TARGETS)"),
                );
            }
            if targets.iter().any(|t| t.model.trim().is_empty()) {
                return bad(&format!("gateway.models.{alias}"), "a target's model is empty".into());
            }
        }
        if let Err(e) = crate::providers::DestinationPolicy::new(&self.providers.allowed_hosts) {
            return Err(ConfigError::Invalid(e));
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format", format!("{:?} is not one of text, json", self.log.format));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad("log.level", format!("{:?} is not a valid level or filter", self.log.level));
        }
        Ok(())
    }

    /// The key file's path, defaulting into the data directory.
    pub fn key_file_path(&self) -> PathBuf {
        if self.keys.key_file.as_os_str().is_empty() {
            self.server.data_dir.join("keys.enc")
        } else {
            self.keys.key_file.clone()
        }
    }

    /// The SQLite store's path.
    pub fn db_path(&self) -> PathBuf {
        self.server.data_dir.join("gavel.db")
    }

    /// The configured master key file, if any.
    pub fn master_key_file(&self) -> Option<&Path> {
        let p = self.keys.master_key_file.as_path();
        (!p.as_os_str().is_empty()).then_some(p)
    }
}

/// Every configuration leaf key in dotted, lower-case form (`server.bind`), derived from the defaults so it never drifts.
pub fn known_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = v {
            for (k, child) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if child.is_object() && !MAP_PREFIXES.contains(&format!("{key}.").as_str()) {
                    walk(&key, child, out);
                } else {
                    out.insert(key);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::to_value(Config::default()) {
        walk("", &v, &mut out);
    }
    out
}

/// Keys whose children are user-chosen names (a model, a metric).
const MAP_PREFIXES: &[&str] = &["judge.model_overrides.", "judge.prices.", "gateway.models."];

fn is_known(known: &BTreeSet<String>, dotted: &str) -> bool {
    known.contains(dotted) || MAP_PREFIXES.iter().any(|p| dotted.starts_with(p))
}

/// The `GAVEL_*` variable names among `vars` that are neither configuration keys nor otherwise understood.
pub fn unknown_env_vars(vars: impl IntoIterator<Item = String>) -> Vec<String> {
    let known = known_keys();
    vars.into_iter()
        .filter(|k| k.starts_with(ENV_PREFIX) && !NON_CONFIG_ENV.contains(&k.as_str()))
        .filter(|k| {
            let dotted = k[ENV_PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
            !is_known(&known, &dotted)
        })
        .collect()
}

fn describe_figment_error(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let key = err.path.join(".");
            let from = err.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            if key.is_empty() {
                format!("{}{from}", err.kind)
            } else {
                format!("{key}: {}{from}", err.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_and_matches_defaults() {
        let text = include_str!("../config.example.toml");
        let parsed: Config = toml::from_str(text).expect("config.example.toml must parse");
        assert_eq!(parsed, Config::default(), "config.example.toml must list the defaults");
        for key in known_keys() {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(text.contains(leaf), "config.example.toml does not document {key}");
            {
                let env = format!("GAVEL_{}", key.to_ascii_uppercase().replace('.', "__"));
                assert!(text.contains(&env), "config.example.toml does not name {env}");
            }
        }
    }

    #[test]
    fn layering_file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gavel.toml",
                "[server]\nbind = \"127.0.0.1:1111\"\ndata_dir = \"/from/file\"\n[judge]\nmax_retries = 7\n[log]\nlevel = \"warn\"\n",
            )?;
            jail.set_env("GAVEL_SERVER__DATA_DIR", "/from/env");
            jail.set_env("GAVEL_JUDGE__MAX_RETRIES", "9");
            let overrides = Overrides { data_dir: Some("/from/flag".into()), ..Default::default() };
            let loaded = Config::load(None, &overrides).map_err(|e| e.to_string())?;
            let c = loaded.config;
            assert_eq!(c.server.bind, "127.0.0.1:1111", "file beats default");
            assert_eq!(c.judge.max_retries, 9, "env beats file");
            assert_eq!(c.server.data_dir, PathBuf::from("/from/flag"), "flag beats env");
            assert_eq!(c.log.level, "warn");
            assert_eq!(c.judge.max_concurrency_per_org_provider, 20, "default stays");
            Ok(())
        });
    }

    #[test]
    fn unknown_env_is_warned_not_fatal() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GAVEL_SERVER__BINDD", "x");
            jail.set_env("GAVEL_MASTER_KEY", "abc");
            let loaded = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(loaded.warnings.iter().any(|w| w.contains("GAVEL_SERVER__BINDD")));
            assert!(!loaded.warnings.iter().any(|w| w.contains("GAVEL_MASTER_KEY")));
            Ok(())
        });
    }

    #[test]
    fn invalid_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GAVEL_JUDGE__MAX_RETRIES", "many");
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("judge.max_retries"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("gavel.toml", "[log]\nformat = \"xml\"\n")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("log.format"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("gavel.toml", "[server]\nbnd = \"x\"\n")?;
            let err = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("bnd"), "{err}");
            Ok(())
        });
        let mut c = Config::default();
        c.server.bind = "nonsense".into();
        assert!(c.validate().unwrap_err().to_string().contains("server.bind"));
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/gavel.toml")), &Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }
}
