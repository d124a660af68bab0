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
    install_panic_hook();
}

/// A panic anywhere (a worker thread, a blocking task) is reported through tracing, so it reaches the same log as
/// everything else (JSON under systemd) with where it happened; the default hook still runs after it.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            tracing::error!(%location, %thread, panic = %message, "panic");
            default(info);
        }));
    });
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
