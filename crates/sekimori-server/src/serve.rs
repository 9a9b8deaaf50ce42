//! Boot and run: open the data directory, restore the engine, bind, serve,
//! reload the pack on SIGHUP, and snapshot on SIGINT/SIGTERM.

use crate::app::{App, AppConfig, Services};
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
    /// Overrides the pack's `settings.time_budget_ms` (slow or shared
    /// hardware; the tests, whose debug builds share two cores).
    pub time_budget_ms: Option<u64>,
    /// WebAuthn relying party: the domain passkeys are scoped to.
    pub rp_id: String,
    /// The exact origin of the pages that run WebAuthn ceremonies.
    pub rp_origin: String,
    /// The name authenticators and TOTP apps show.
    pub rp_name: String,
    /// The step-up master key file; default `<data>/stepup.key`, created on first start.
    pub stepup_key: Option<PathBuf>,
    /// Where SMS / e-mail codes are POSTed (`http://`); none: `no_otp_sender`.
    pub otp_webhook: Option<String>,
    /// A MaxMind-format ASN database to fill `actor.asn` from `actor.ip`.
    pub asn_db: Option<PathBuf>,
    /// An HIBP corpus (file or range directory); default: the shipped one.
    pub breach_corpus: Option<PathBuf>,
    /// The webhook for holder notices and hold alerts (`http://`); none: no notices.
    pub notify_url: Option<String>,
    /// The file holding the webhook's HMAC secret (never a flag value).
    pub notify_secret_file: Option<PathBuf>,
}

/// The default relying party id, origin and name (the default listen address).
pub const DEFAULT_RP_ID: &str = "localhost";
pub const DEFAULT_RP_ORIGIN: &str = "http://localhost:7878";
pub const DEFAULT_RP_NAME: &str = "sekimori";

impl ServeConfig {
    pub fn new(data_dir: PathBuf, listen: SocketAddr, rules: Option<PathBuf>) -> ServeConfig {
        ServeConfig {
            data_dir,
            listen,
            rules,
            snapshot_every: 100_000,
            max_future_skew_ms: 300_000,
            time_budget_ms: None,
            rp_id: DEFAULT_RP_ID.into(),
            rp_origin: DEFAULT_RP_ORIGIN.into(),
            rp_name: DEFAULT_RP_NAME.into(),
            stepup_key: None,
            otp_webhook: None,
            asn_db: None,
            breach_corpus: None,
            notify_url: None,
            notify_secret_file: None,
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
        time_budget_ms: config.time_budget_ms,
    };
    let services = services(config)?;
    Ok(App::new(
        ledger,
        KeyRing::new(&config.data_dir),
        app_config,
        services,
    ))
}

/// Step-up, secret checks and ASN enrichment, from the configuration.
fn services(config: &ServeConfig) -> anyhow::Result<Services> {
    let key = crate::stepup::key::load_or_create(&config.data_dir, config.stepup_key.as_deref())?;
    crate::stepup::key::check(&key)?;
    if config.rp_name.is_empty() || config.rp_name.contains(':') {
        return Err(anyhow!(
            "--rp-name must be non-empty and contain no `:` (it is the TOTP issuer)"
        ));
    }
    let passkeys =
        sekimori_webauthn::Passkeys::new(&config.rp_id, &config.rp_origin, &config.rp_name)
            .map_err(|e| anyhow!("--rp-id / --rp-origin: {e}"))?;
    if let Some(url) = &config.otp_webhook {
        crate::stepup::otp::check_webhook_url(url).map_err(|e| anyhow!(e))?;
    }
    let stepup = crate::stepup::StepUp::new(
        &key,
        passkeys,
        config.rp_name.clone(),
        config.otp_webhook.clone(),
    );
    let secrets = match &config.breach_corpus {
        Some(path) => {
            let corpus = sekimori_secrets::Corpus::load(path)
                .with_context(|| format!("loading the breach corpus {}", path.display()))?;
            tracing::info!(corpus = ?corpus.kind(), "breach corpus loaded");
            Arc::new(sekimori_secrets::Checker::new(Some(corpus)))
        }
        None => shipped_checker()?,
    };
    let asn = match &config.asn_db {
        Some(path) => {
            let db = sekimori_geo::AsnDb::open(path)?;
            tracing::info!(database_type = db.database_type(), "ASN database loaded");
            Some(db)
        }
        None => None,
    };
    Ok(Services {
        stepup,
        secrets,
        asn,
        notices: notices(config)?,
    })
}

/// The webhook notifier, when `--notify-url` is given (with its secret file).
fn notices(config: &ServeConfig) -> anyhow::Result<Option<crate::notices::Notices>> {
    let (url, file) = match (&config.notify_url, &config.notify_secret_file) {
        (None, None) => return Ok(None),
        (Some(url), Some(file)) => (url, file),
        (Some(_), None) => return Err(anyhow!("--notify-url needs --notify-secret-file")),
        (None, Some(_)) => return Err(anyhow!("--notify-secret-file needs --notify-url")),
    };
    let secret = crate::notices::read_secret_file(file)?;
    let notices = crate::notices::Notices::start(url, secret.to_vec(), &config.data_dir)
        .map_err(|e| anyhow!("--notify-url: {e}"))?;
    tracing::info!(
        dead_letter = %config.data_dir.join(crate::notices::DEAD_LETTER_FILE).display(),
        "webhook notices on"
    );
    Ok(Some(notices))
}

/// The checker over the shipped corpus, parsed once per process.
fn shipped_checker() -> anyhow::Result<Arc<sekimori_secrets::Checker>> {
    static SHIPPED: std::sync::OnceLock<Arc<sekimori_secrets::Checker>> =
        std::sync::OnceLock::new();
    if let Some(c) = SHIPPED.get() {
        return Ok(Arc::clone(c));
    }
    let corpus = sekimori_secrets::Corpus::from_reader(
        crate::routes::SHIPPED_CORPUS,
        "data/hibp/common.txt",
    )?;
    let checker = Arc::new(sekimori_secrets::Checker::new(Some(corpus)));
    Ok(Arc::clone(SHIPPED.get_or_init(|| checker)))
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
    let snapshot = app.snapshot().await;
    app.shutdown_notices(crate::notices::SHUTDOWN_GRACE).await;
    snapshot?;
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
