//! What each command does; `main` only parses and calls in here.

use std::io::{Read, Write};
use std::process::ExitCode;

use crate::bootstrap::{self, MasterKeyEnv};
use crate::cli::{Cli, Command};
use crate::config::{Config, Loaded};

/// Run a parsed command line; errors are printed with their chain and give exit code 1 (2 for config errors).
pub async fn run(cli: Cli) -> ExitCode {
    if let Command::Eval(args) = cli.command {
        crate::telemetry::init(&crate::config::LogConfig { format: "text".into(), level: "warn".into() });
        return ExitCode::from(crate::evalcli::run(args).await);
    }
    let kind = match &cli.command {
        Command::Analyze(a) => Some((crate::evalcli::kinds::Kind::Analyze, a.clone())),
        Command::Audit(a) => Some((crate::evalcli::kinds::Kind::Audit, a.clone())),
        _ => None,
    };
    if let Some((kind, args)) = kind {
        crate::telemetry::init(&crate::config::LogConfig { format: "text".into(), level: "warn".into() });
        return ExitCode::from(crate::evalcli::kinds::run(kind, args).await);
    }
    if let Command::Redteam(args) = cli.command {
        crate::telemetry::init(&crate::config::LogConfig { format: "text".into(), level: "warn".into() });
        return ExitCode::from(crate::evalcli::redteam::run(args).await);
    }
    if let Command::Compare(args) = cli.command {
        crate::telemetry::init(&crate::config::LogConfig { format: "text".into(), level: "warn".into() });
        return ExitCode::from(crate::evalcli::compare::run(args).await);
    }
    if let Command::Selftest { which } = cli.command {
        return ExitCode::from(selftest(which));
    }
    let overrides = cli.command.overrides();
    let Loaded { config, file, warnings } =
        match Config::load(cli.command.config_file().or(cli.config.as_deref()), &overrides) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("gavel: {e}");
                return ExitCode::from(2);
            }
        };
    crate::telemetry::init(&config.log);
    if let Some(f) = &file {
        tracing::debug!(file = %f.display(), "configuration file read");
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    let result = match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Init { json, .. } => init(&config, json),
        Command::RotateMasterKey { new_key_file, .. } => {
            bootstrap::rotate_master_key(&config, &MasterKeyEnv::from_process(), &new_key_file).map(|m| println!("{m}"))
        }
        Command::Backup { out, .. } => bootstrap::backup(&config, &out).await.map(|files| {
            for f in files {
                println!("wrote {}", f.display());
            }
            println!("the master key is not in the backup: keep it separately");
        }),
        Command::Healthcheck { .. } => healthcheck(&config.server.bind),
        Command::Eval(_)
        | Command::Analyze(_)
        | Command::Audit(_)
        | Command::Redteam(_)
        | Command::Compare(_)
        | Command::Selftest { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::debug!(error = format!("{e:#}"), "command failed");
            eprintln!("gavel: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn public_url(config: &Config, port: u16) -> String {
    if !config.server.public_url.is_empty() {
        return config.server.public_url.trim_end_matches('/').to_string();
    }
    let host = config.server.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let host = if host == "0.0.0.0" || host == "[::]" { "127.0.0.1" } else { host };
    format!("http://{host}:{port}")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = crate::app::Application::build(config.clone(), MasterKeyEnv::from_process()).await?;
    app.stop_on_signals()?;
    let url = public_url(&config, app.port());
    let mut out = std::io::stdout().lock();
    if let Some(first) = app.first_start() {
        writeln!(out, "gavel {}: first start, initialised {}", env!("CARGO_PKG_VERSION"), first.data_dir.display())?;
        writeln!(out, "server admin API key (shown once, store it now): {}", first.admin_api_key.expose_secret())?;
        match &first.master_key_file {
            Some(p) => writeln!(out, "master key: {} (back it up apart from the data directory)", p.display())?,
            None => writeln!(out, "master key: {}", first.master_key_source)?,
        }
    }
    writeln!(out, "gavel {} listening on {url}  dashboard: {url}/", env!("CARGO_PKG_VERSION"))?;
    out.flush()?;
    drop(out);
    tracing::info!(bind = %config.server.bind, port = app.port(), "listening");
    app.run_until_stopped().await
}

fn init(config: &Config, json: bool) -> anyhow::Result<()> {
    let outcome = bootstrap::init(config, &MasterKeyEnv::from_process())?;
    if json {
        let doc = serde_json::json!({
            "admin_api_key": outcome.admin_api_key.expose_secret(),
            "master_key_file": outcome.master_key_file,
            "data_dir": outcome.data_dir,
        });
        println!("{doc}");
    } else {
        println!("initialised {}", outcome.data_dir.display());
        println!("  store:      {}", config.db_path().display());
        println!("  key file:   {}", config.key_file_path().display());
        match &outcome.master_key_file {
            Some(p) => println!("  master key: {} (back it up apart from the data directory)", p.display()),
            None => println!("  master key: {}", outcome.master_key_source),
        }
        println!("server admin API key (shown once, store it now):");
        println!("  {}", outcome.admin_api_key.expose_secret());
    }
    Ok(())
}

/// A dependency-free HTTP/1.1 probe of /readyz.
fn healthcheck(bind: &str) -> anyhow::Result<()> {
    let addr = bind.replace("0.0.0.0", "127.0.0.1");
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}"))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(s, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        println!("ready");
        Ok(())
    } else {
        anyhow::bail!("not ready: {}", buf.lines().last().unwrap_or(status))
    }
}

/// `gavel selftest [analysis|security]`: the fixtures shipped in the binary, so a customer can re-measure them.
fn selftest(which: Option<crate::cli::SelftestKind>) -> u8 {
    use crate::cli::SelftestKind;
    let mut ok = true;
    if which.is_none_or(|w| w == SelftestKind::Analysis) {
        match crate::analysis::selftest::run() {
            Ok(report) => {
                println!("failure analysis: deterministic checks on the fault-injected labelled set");
                println!("{report}");
                ok &= report.perfect();
            }
            Err(e) => {
                eprintln!("gavel selftest analysis: {e}");
                ok = false;
            }
        }
    }
    if which.is_none_or(|w| w == SelftestKind::Security) {
        let report = crate::security::selftest::run();
        println!("security: detectors on their positive and near-miss negative corpora");
        println!("{report}");
        ok &= report.all_passed();
        let compliance = crate::redteam::compliance_selftest::run();
        println!("{compliance}");
        ok &= compliance.passed();
    }
    if ok {
        0
    } else {
        1
    }
}
