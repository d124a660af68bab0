//! The command line (clap derive). Flags are the top configuration layer.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

#[derive(Parser, Debug)]
#[command(name = "gavel", version, about = "Self-hosted LLM evaluation on your own provider keys")]
pub struct Cli {
    /// Server configuration file (default: ./gavel.toml, then /etc/gavel/gavel.toml). Also accepted after the
    /// commands that read it (`gavel serve --config F`); `gavel eval -c F` names an evaluation file instead.
    #[arg(long, env = "GAVEL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by commands that read the server configuration and touch the data directory.
///
/// `--config` lives here rather than as a global flag so that it is listed only by the commands it affects:
/// as a global flag it showed in `gavel eval --help`, where it did nothing.
#[derive(Args, Debug, Clone, Default)]
pub struct DataDirArg {
    /// Data directory (server.data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Server configuration file (default: ./gavel.toml, then /etc/gavel/gavel.toml; env GAVEL_CONFIG).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API, the dashboard and the judge scheduler; initialises the data directory on first start.
    Serve {
        #[command(flatten)]
        data: DataDirArg,
        /// Listen address (server.bind).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Log level or filter (log.level).
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
        /// Log format, text or json (log.format).
        #[arg(long, value_name = "FORMAT")]
        log_format: Option<String>,
    },
    /// Create the data directory, store, master key and key file; print the server admin key once.
    Init {
        #[command(flatten)]
        data: DataDirArg,
        /// Print {"admin_api_key", "master_key_file", "data_dir"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-seal every stored provider key under a new master key, atomically (server stopped).
    RotateMasterKey {
        #[command(flatten)]
        data: DataDirArg,
        /// File with the new master key (base64 of 32 random bytes, mode 0600).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
    /// Copy the store and the key file consistently, even while the server runs.
    Backup {
        #[command(flatten)]
        data: DataDirArg,
        /// Empty or missing directory to write the copy into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Evaluate a dataset: submit it to a server (or score it locally), show progress, print the summary.
    /// Exit 0 when the gate passed, 1 when it failed, 2 on a usage or connection error.
    Eval(crate::evalcli::EvalArgs),
    /// Failure analysis of a dataset or of an earlier run's failures: buckets, severity, gate (exit codes as eval).
    Analyze(crate::evalcli::kinds::KindArgs),
    /// Security audit of a dataset or an earlier run: masked findings per check, gate (exit codes as eval).
    Audit(crate::evalcli::kinds::KindArgs),
    /// Red-team a target with the built-in attack library: attack success per category with 95 % intervals,
    /// over-refusal, gate (exit codes as eval).
    Redteam(crate::evalcli::redteam::RedTeamArgs),
    /// Compare two runs: pass rates with 95 % intervals, per-scorer changes beyond noise or not, and with
    /// --pairwise a judge's head-vs-base win rate. Exit 0; 1 with --fail-on-regression on a regression beyond noise.
    Compare(crate::evalcli::compare::CompareArgs),
    /// Run the shipped detector and classifier fixtures and print precision and recall per detector or
    /// subcategory. Exit 0 when every fixture behaved, 1 otherwise.
    Selftest {
        /// Which fixtures: `analysis`, `security`, or both when omitted.
        #[arg(value_enum)]
        which: Option<SelftestKind>,
    },
    /// Exit 0 when the server's /readyz answers 200 (for container health checks).
    Healthcheck {
        /// Address to check (default: server.bind).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Server configuration file (default: ./gavel.toml, then /etc/gavel/gavel.toml; env GAVEL_CONFIG).
        #[arg(long = "config", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// The fixture sets `gavel selftest` can run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelftestKind {
    /// Failure analysis: the deterministic checks against the fault-injected labelled set.
    Analysis,
    /// Security: every secret, PII, injection, smuggling, output and leak detector against its corpora.
    Security,
}

impl Command {
    /// The server configuration file named after the command (`gavel serve --config F`), if any.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        match self {
            Command::Serve { data, .. }
            | Command::Init { data, .. }
            | Command::RotateMasterKey { data, .. }
            | Command::Backup { data, .. } => data.config.as_deref(),
            Command::Healthcheck { config, .. } => config.as_deref(),
            _ => None,
        }
    }

    /// The flags that override configuration.
    pub fn overrides(&self) -> Overrides {
        match self {
            Command::Serve { data, bind, log_level, log_format } => Overrides {
                bind: bind.clone(),
                data_dir: data.data_dir.clone(),
                log_level: log_level.clone(),
                log_format: log_format.clone(),
            },
            Command::Init { data, .. } | Command::RotateMasterKey { data, .. } | Command::Backup { data, .. } => {
                Overrides { data_dir: data.data_dir.clone(), ..Default::default() }
            }
            Command::Healthcheck { bind, .. } => Overrides { bind: bind.clone(), ..Default::default() },
            Command::Selftest { .. } => Overrides { log_level: Some("warn".into()), ..Default::default() },
            Command::Eval(_) | Command::Analyze(_) | Command::Audit(_) | Command::Redteam(_) | Command::Compare(_) => {
                Overrides { log_level: Some("warn".into()), ..Default::default() }
            }
        }
    }
}
