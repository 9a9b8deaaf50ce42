//! Boot and run: open the data directory, restore the engine, bind, serve,
//! reload the pack on SIGHUP, and snapshot on SIGINT/SIGTERM.

use crate::app::{App, AppConfig};
use crate::embedded::default_pack;
use crate::keys::KeyRing;
use crate::ledger::{wait, Ledger};
use crate::publish::{check_pack, publish};
use anyhow::{anyhow, Context};
use sekimori_rules::load_pack;
use sekimori_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// A pack directory to make live (and to reload on SIGHUP); else the
    /// stored pack, else the embedded default pack.
    pub rules: Option<PathBuf>,
    /// Snapshot the engine every this many events.
    pub snapshot_every: u64,
    pub max_future_skew_ms: i64,
}

impl ServeConfig {
    pub fn new(data_dir: PathBuf, listen: SocketAddr, rules: Option<PathBuf>) -> ServeConfig {
        ServeConfig {
            data_dir,
            listen,
            rules,
            snapshot_every: 100_000,
            max_future_skew_ms: 300_000,
        }
    }
}

/// Opens the data directory and restores the engine (blocking I/O).
pub fn open_app(config: &ServeConfig) -> anyhow::Result<Arc<App>> {
    let store = Arc::new(
        Store::open(&config.data_dir)
            .with_context(|| format!("opening {}", config.data_dir.display()))?,
    );
    let source = match &config.rules {
        Some(dir) => load_pack(dir)?,
        None => default_pack()?,
    };
    let (initial, _) =
        check_pack(source).map_err(|e| anyhow!("rule pack refused: {}", e.body()))?;
    let mut ledger = Ledger::open(store, Arc::clone(&initial), config.snapshot_every)?;
    if ledger.replay_mismatches > 0 {
        tracing::warn!(
            count = ledger.replay_mismatches,
            "replayed decisions differ from the log (new version?)"
        );
    }
    if config.rules.is_some() && ledger.engine().pack().digest != initial.digest {
        wait(ledger.publish(&initial, "serve --rules")?)?;
    }
    let app_config = AppConfig {
        max_future_skew_ms: config.max_future_skew_ms,
        rules_dir: config.rules.clone(),
    };
    Ok(App::new(ledger, KeyRing::new(&config.data_dir), app_config))
}

/// Runs the server until SIGINT or SIGTERM. `on_bound` receives the bound address.
pub async fn serve(
    config: ServeConfig,
    on_bound: impl FnOnce(SocketAddr, &App),
) -> anyhow::Result<()> {
    let c = config.clone();
    let app = tokio::task::spawn_blocking(move || open_app(&c)).await??;
    let app = match install_metrics() {
        Some(handle) => app.with_metrics(handle),
        None => app,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    on_bound(listener.local_addr()?, &app);
    tokio::spawn(reload_on_hup(Arc::clone(&app)));
    axum::serve(listener, crate::routes::router(Arc::clone(&app)))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: writing a snapshot");
    app.snapshot().await?;
    Ok(())
}

fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok().map(|_| handle)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

async fn reload_on_hup(app: Arc<App>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        let Some(dir) = app.config.rules_dir.clone() else {
            tracing::warn!("SIGHUP ignored: the server was started without --rules");
            continue;
        };
        let loaded = tokio::task::spawn_blocking(move || load_pack(&dir)).await;
        match loaded {
            Ok(Ok(source)) => match publish(&app, source, "SIGHUP").await {
                Ok(o) => tracing::info!(version = o.version, changed = o.changed, "SIGHUP reload"),
                Err(e) => {
                    tracing::error!(error = %e.body(), "SIGHUP reload refused; the live pack keeps serving")
                }
            },
            Ok(Err(e)) => tracing::error!(error = %e, "SIGHUP reload: the pack does not load"),
            Err(e) => tracing::error!(error = %e, "SIGHUP reload failed"),
        }
    }
}
