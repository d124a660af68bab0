//! Logging setup: tracing-subscriber with an `EnvFilter` (RUST_LOG wins over `log.level`), text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogConfig;

/// Install the global subscriber. Logs go to stderr so that commands which print machine-readable output
/// (`init --json`) keep stdout clean. Calling it twice is harmless (the second call is ignored).
#[allow(clippy::disallowed_methods)] // RUST_LOG is the tracing convention operators expect to win.
pub fn init(cfg: &LogConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| EnvFilter::new("info")));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if cfg.format == "json" {
        registry.with(fmt::layer().json().with_current_span(true).with_writer(std::io::stderr)).try_init()
    } else {
        registry.with(fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr)).try_init()
    };
    // A subscriber already installed (tests, a second init) is fine: keep it.
    result.ok();
}

/// Run blocking work on the blocking pool inside the caller's span, so its log lines keep the request context.
pub async fn spawn_blocking_in_span<F, R>(f: F) -> Result<R, tokio::task::JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await
}
