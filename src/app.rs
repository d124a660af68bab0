//! The application: built from a config, bound to its listener (port 0 in tests), run until a signal.
//! Shutdown order: stop accepting and drain requests (actix, bounded by `server.shutdown_timeout_s`),
//! cancel background jobs, then checkpoint and close the store.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::bootstrap::{self, InitOutcome, MasterKeyEnv};
use crate::config::Config;
use crate::http::{self, errors, metrics::Metrics, AppState};

/// Run the command line's future on the runtime the HTTP server needs (actix's system over a tokio runtime).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    actix_web::rt::System::new().block_on(f)
}

/// A bound, ready-to-run gavel server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
    first_start: Option<InitOutcome>,
    cancel: CancellationToken,
    /// Where runs execute: a multi-threaded runtime of its own, so judge work neither shares one thread nor
    /// competes with the HTTP workers.
    runtime: RunsRuntime,
    _lock: std::fs::File,
}

/// Owns the runs runtime. Dropping a runtime inside another one panics, so it is let go in the background, however
/// the application ends (a stop, or a test dropping it).
struct RunsRuntime(Option<tokio::runtime::Runtime>);

impl Drop for RunsRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

fn runs_runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        b.worker_threads(threads);
    }
    b.thread_name("gavel-runs").enable_all().build().context("starting the runs runtime")
}

/// Expired verdict-cache rows go every `runs.cache_purge_interval_s`.
fn spawn_cache_purge(
    rt: &tokio::runtime::Runtime,
    store: crate::store::Store,
    cfg: &Config,
    cancel: CancellationToken,
) {
    let every = Duration::from_secs(cfg.runs.cache_purge_interval_s.max(1));
    let ttl = cfg.judge.cache_ttl_s as i64;
    let gateway_ttl = cfg.gateway.cache_ttl_s;
    rt.spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match crate::judge::backend::purge_cache(&store, ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged expired verdicts"),
                Err(e) => tracing::warn!(error = %e, "purging expired verdicts failed; trying again later"),
            }
            if let Err(e) = store.write(move |c| crate::gateway::purge_cache(c, gateway_ttl)).await {
                tracing::warn!(error = %e, "purging expired gateway answers failed; trying again later");
            }
        }
    });
}

impl Application {
    /// Initialise the data directory on a first start, open it, and bind the listener.
    pub async fn build(config: Config, env: MasterKeyEnv) -> anyhow::Result<Application> {
        // Bind first: a first start whose port is taken must fail before it creates the data directory, or the
        // admin key it would print is lost and every later start counts as "not first".
        let listener = TcpListener::bind(&config.server.bind)
            .with_context(|| format!("binding {} (server.bind)", config.server.bind))?;
        let cfg = config.clone();
        let (first_start, opened) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let first = if bootstrap::is_initialised(&cfg) { None } else { Some(bootstrap::init(&cfg, &env)?) };
            let opened = bootstrap::open(&cfg, &env)?;
            Ok((first, opened))
        })
        .await
        .context("start-up task failed")??;
        let port = listener.local_addr()?.port();
        let cancel = CancellationToken::new();
        let keys = Arc::new(opened.keys);
        let metrics = Metrics::new()?;
        let backend = Arc::new(crate::judge::backend::StoreBackend { store: opened.store.clone(), keys: keys.clone() });
        // gavel's own address is the bound one (port 0 in tests becomes the real port).
        let policy = crate::providers::DestinationPolicy::new(&config.providers.allowed_hosts)
            .map_err(|e| anyhow::anyhow!(e))?
            .with_own_address(listener.local_addr()?, &config.server.public_url);
        let judge = crate::judge::Judge::new(&config.judge, backend, metrics.registry(), Arc::new(policy))?;
        let runtime = runs_runtime(config.runs.worker_threads)?;
        let gateway = crate::gateway::Gateway::new(
            &config,
            opened.store.clone(),
            keys.clone(),
            &judge,
            runtime.handle(),
            cancel.child_token(),
            metrics.registry(),
        )?;
        let runs = crate::runs::engine::RunManager::new(
            opened.store.clone(),
            judge,
            runtime.handle().clone(),
            &config.runs,
            cancel.child_token(),
        );
        spawn_cache_purge(&runtime, opened.store.clone(), &config, cancel.child_token());
        let auth_cache = opened
            .store
            .memo(config.server.auth_cache_entries, std::time::Duration::from_secs(config.server.auth_cache_ttl_s));
        let state = web::Data::new(AppState {
            config: Arc::new(config.clone()),
            auth_cache,
            store: opened.store,
            keys,
            admin_key_hashes: opened.admin_key_hashes,
            metrics,
            runs: runs.clone(),
            gateway,
            limits: http::ratelimit::RateLimits::new(&config.limits),
        });
        let resumed = runs.resume_unfinished().await.map_err(|e| anyhow::anyhow!("resuming unfinished runs: {e}"))?;
        if resumed > 0 {
            tracing::info!(resumed, "resumed unfinished runs");
        }
        let max_body = config.server.max_body_bytes;
        let data = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(max_body).error_handler(errors::json_error))
                .app_data(web::QueryConfig::default().error_handler(errors::query_error))
                .app_data(web::PathConfig::default().error_handler(errors::path_error))
                .app_data(web::PayloadConfig::default().limit(max_body))
                .wrap(ErrorHandlers::new().default_handler(errors::normalise))
                .wrap(from_fn(http::metrics::observe))
                .configure(http::configure)
                .default_service(web::to(errors::not_found))
        })
        .listen(listener)?
        // Signals are gavel's (`stop_on_signals`), installed before "listening" is printed: actix would install
        // its own only when the server is first polled, and a SIGTERM arriving before that killed the process.
        .disable_signals()
        .shutdown_timeout(config.server.shutdown_timeout_s);
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            state,
            first_start,
            cancel,
            runtime: RunsRuntime(Some(runtime)),
            _lock: opened.lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Present when this start initialised the data directory (the admin key is in it, once).
    pub fn first_start(&self) -> Option<&InitOutcome> {
        self.first_start.as_ref()
    }

    /// Stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Stop gracefully on the first SIGTERM or SIGINT (Ctrl-C). The handlers are in place when this returns, so a
    /// signal from then on always takes the orderly path, however early it comes.
    pub fn stop_on_signals(&self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
            let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
            tokio::spawn(async move {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                tracing::info!(
                    signal = name,
                    "stopping: no new requests or provider calls; finishing what is in flight"
                );
                state.runs.begin_shutdown();
                handle.stop(true).await;
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                state.runs.begin_shutdown();
                handle.stop(true).await;
            }
        });
        Ok(())
    }

    /// Serve until the handle stops it (a signal, see [`Self::stop_on_signals`], or a test), then shut down in order.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application { server, state, cancel, runtime, _lock, .. } = self;
        let served = server.await;
        cancel.cancel();
        state.runs.shutdown(Duration::from_secs(state.config.server.shutdown_timeout_s)).await;
        // The gateway's queued usage and request-log rows are written before the store closes.
        if tokio::time::timeout(Duration::from_secs(10), state.gateway.stopped()).await.is_err() {
            tracing::warn!("the gateway's records were not all written within 10 s");
        }
        drop(runtime);
        let store = state.store.clone();
        let closed =
            tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(move || store.close())).await;
        if closed.is_err() {
            tracing::warn!("the store did not close within 30 s");
        }
        tracing::info!("stopped");
        drop(_lock);
        served.context("the HTTP server failed")
    }
}
