//! Boot and run: open the data directory, restore the engine, bind, serve,
//! reload the pack on SIGHUP, and snapshot on SIGINT/SIGTERM.
//!
//! Connections are bounded (see docs/api.md, "Connections"): a request head
//! must arrive within `header_read_timeout` (hyper's timer, which also runs
//! while a kept-alive connection waits for its next request), a request body
//! within `body_read_timeout` of its head (`body_timeout`, 408, and the
//! connection closes), and a connection that moves no byte for `idle_timeout`
//! while none of its requests is being handled is closed (a client that
//! stops reading its answer). At `max_connections` open connections the
//! server stops accepting: new ones wait in the kernel's listen backlog. One
//! peer (an IPv4 address, an IPv6 /64) may hold at most
//! `max_connections_per_peer` of them: past it its new connections are
//! closed at once (counted as refused), so one client cannot take every
//! slot and leave the others in the backlog.

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
use std::time::Duration;

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
    /// The file holding the HMAC secret SMS / e-mail code deliveries are
    /// signed with (`Sekimori-Signature`); `notify_secret_file` when unset.
    pub otp_webhook_secret_file: Option<PathBuf>,
    /// The service whose step-up records were written before records were
    /// kept per service (they are migrated on first read); none: not read.
    pub stepup_legacy_service: Option<String>,
    /// A MaxMind-format ASN database to fill `actor.asn` from `actor.ip`.
    pub asn_db: Option<PathBuf>,
    /// An HIBP corpus (file or range directory); default: the shipped one.
    pub breach_corpus: Option<PathBuf>,
    /// The webhook for holder notices and hold alerts (`http://`); none: no notices.
    pub notify_url: Option<String>,
    /// The file holding the webhook's HMAC secret (never a flag value).
    pub notify_secret_file: Option<PathBuf>,
    /// A request head must arrive complete within this, counted from when the
    /// server starts waiting for it (a new connection, or a kept-alive one
    /// after its last answer).
    pub header_read_timeout: Duration,
    /// A request body must arrive complete within this after its head.
    pub body_read_timeout: Duration,
    /// A connection that reads and writes nothing for this long, while none
    /// of its requests is being handled, is closed.
    pub idle_timeout: Duration,
    /// The most connections open at once; past it, new connections wait in
    /// the listen backlog until one closes.
    pub max_connections: usize,
    /// The most connections one peer (an IPv4 address, an IPv6 /64) may
    /// hold open; past it its new connections are closed at once.
    pub max_connections_per_peer: usize,
    /// The memory the engine's state may take, in bytes (`None`: unbounded,
    /// only each feature's `max_keys` caps); the engine's accounted budget is
    /// [`engine_budget`] of it. A value other than the one the engine holds
    /// is logged (see `Ledger::set_memory_budget`).
    pub max_memory: Option<u64>,
}

/// The engine's state budget for a process given `max_memory` bytes: three
/// fifths of it. The engine accounts its state from lengths (deterministic,
/// the same after a restore); during the first evictions the allocator's
/// part-full pages add up to ~50% on top (bench/results/2026-12-06-budget.md
/// measured 1.5x the accounted bytes at peak), so the resident set stays
/// under `--max-memory` with a margin. Two thirds left none at 64 MiB.
pub fn engine_budget(max_memory: u64) -> u64 {
    max_memory / 5 * 3
}

/// Defaults of the connection limits.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// A quarter of the default cap: sekimori's clients are the services'
/// backends, each a connection pool of tens to hundreds; four peers at this
/// cap cannot leave a fifth in the backlog. A proxy in front (every
/// connection from its address) needs it raised to `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 1024;

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
            otp_webhook_secret_file: None,
            stepup_legacy_service: None,
            asn_db: None,
            breach_corpus: None,
            notify_url: None,
            notify_secret_file: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            max_memory: None,
        }
    }
}

/// Opens the data directory and restores the engine (blocking I/O).
pub fn open_app(config: &ServeConfig) -> anyhow::Result<Arc<App>> {
    let store = Arc::new(
        Store::open(&config.data_dir)
            .with_context(|| format!("opening {}", config.data_dir.display()))?,
    );
    if let Some(mode) = store.loose_permissions() {
        tracing::warn!(
            path = %config.data_dir.display(),
            mode = format!("{mode:o}"),
            "the data directory is open to group or others; chmod 700 it (it holds every event and the keys)"
        );
    }
    let initial = initial_pack(config)?;
    let ledger = Ledger::open(store, Arc::clone(&initial), config.snapshot_every)?;
    finish_app(config, ledger, initial)
}

/// The pack a start makes live: `--rules`, else the embedded default pack.
pub(crate) fn initial_pack(config: &ServeConfig) -> anyhow::Result<Arc<sekimori_rules::Pack>> {
    // An operator's pack must pass its inline tests before it goes live. The
    // embedded default pack passed them when this binary was tested (the test
    // suite runs them and checks the embedded copy equals rules/default), so
    // a start only compiles it: its tests cost seconds in a debug build.
    let initial = match &config.rules {
        Some(dir) => {
            check_pack(load_pack(dir)?)
                .map_err(|e| anyhow!("rule pack refused: {}", e.body()))?
                .0
        }
        None => Arc::new(
            sekimori_rules::compile(default_pack()?)
                .map_err(|e| anyhow!("the embedded default pack does not compile: {e:?}"))?,
        ),
    };
    Ok(initial)
}

/// The app over an opened ledger: `--rules` made live if it is not, the
/// memory budget logged if it changed, the services.
pub(crate) fn finish_app(
    config: &ServeConfig,
    mut ledger: Ledger,
    initial: Arc<sekimori_rules::Pack>,
) -> anyhow::Result<Arc<App>> {
    if ledger.replay_mismatches > 0 {
        tracing::warn!(
            count = ledger.replay_mismatches,
            "replayed decisions differ from the log (new version?)"
        );
    }
    if config.rules.is_some() && ledger.engine().pack().digest != initial.digest {
        wait(ledger.publish(&initial, "serve --rules")?)?;
    }
    if let Some(durable) = ledger.set_memory_budget(config.max_memory.map(engine_budget)) {
        wait(durable)?;
        tracing::info!(
            max_memory = config.max_memory,
            "memory budget changed; logged with the live pack"
        );
    }
    let app_config = AppConfig {
        max_future_skew_ms: config.max_future_skew_ms,
        rules_dir: config.rules.clone(),
        time_budget_ms: config.time_budget_ms,
    };
    let services = services(config, ledger.store())?;
    let app = App::new(ledger, KeyRing::new(&config.data_dir), app_config, services);
    // Metrics first: the step-up service's hold on the app (below) is a
    // weak reference, after which `with_metrics` cannot change the app.
    let app = match install_metrics() {
        Some(handle) => app.with_metrics(handle),
        None => app,
    };
    // Step-up records are written through the ledger from here on: log
    // entries, which every replica of a shard applies.
    app.stepup.attach(Arc::downgrade(&app));
    Ok(app)
}

/// Step-up, secret checks and ASN enrichment, from the configuration.
pub(crate) fn services(config: &ServeConfig, store: &Arc<Store>) -> anyhow::Result<Services> {
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
    let otp_webhook = match &config.otp_webhook {
        None => None,
        Some(url) => {
            crate::stepup::otp::check_webhook_url(url).map_err(|e| anyhow!(e))?;
            // Codes go out signed: with their own secret, or the notices'.
            let file = config
                .otp_webhook_secret_file
                .as_ref()
                .or(config.notify_secret_file.as_ref())
                .ok_or_else(|| {
                    anyhow!("--otp-webhook needs --otp-webhook-secret-file (or --notify-secret-file): codes are sent signed")
                })?;
            let secret = crate::notices::read_secret_file(file)?;
            Some(crate::stepup::otp::OtpWebhook::new(url.clone(), secret))
        }
    };
    if let Some(s) = &config.stepup_legacy_service {
        if s.is_empty() || s.contains('/') {
            return Err(anyhow!("--stepup-legacy-service must be a service name"));
        }
    }
    let stepup = crate::stepup::StepUp::new(
        &key,
        passkeys,
        config.rp_name.clone(),
        otp_webhook,
        Arc::clone(store),
        config.stepup_legacy_service.clone(),
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
    // The dead-letter log holds notices (account ids, amounts): private.
    let dead_letter = config.data_dir.join(crate::notices::DEAD_LETTER_FILE);
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&dead_letter)
            .with_context(|| format!("creating {}", dead_letter.display()))?;
    }
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
    let limits = Limits::of(&config)?;
    let router = app_router(&app, &config).await?;
    raise_open_file_limit(limits.max_connections);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    on_bound(listener.local_addr()?, &app);
    tokio::spawn(reload_on_hup(Arc::clone(&app)));
    conn::run(listener, router, limits, shutdown_signal()).await;
    tracing::info!("shutting down: writing a snapshot");
    let snapshot = app.snapshot().await;
    app.shutdown_notices(crate::notices::SHUTDOWN_GRACE).await;
    snapshot?;
    Ok(())
}

/// What a serving node answers: the API and the analyst workbench at
/// `/ui/` (its case index is built from the log: off the async workers).
/// The embedded server and a shard's leader serve the same.
pub(crate) async fn app_router(
    app: &Arc<App>,
    config: &ServeConfig,
) -> anyhow::Result<axum::Router> {
    let (a, dir, listen) = (Arc::clone(app), config.data_dir.clone(), config.listen);
    let workbench =
        tokio::task::spawn_blocking(move || crate::workbench::router(&a, listen, &dir)).await??;
    Ok(crate::routes::router(Arc::clone(app)).merge(workbench))
}

pub(crate) async fn shutdown_signal() {
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

pub(crate) async fn reload_on_hup(app: Arc<App>) {
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

/// The connection limits of a running server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    header: Duration,
    body: Duration,
    idle: Duration,
    pub(crate) max_connections: usize,
    per_peer: usize,
}

impl Limits {
    pub(crate) fn of(c: &ServeConfig) -> anyhow::Result<Limits> {
        let positive = [
            ("--header-timeout", c.header_read_timeout),
            ("--body-timeout", c.body_read_timeout),
            ("--idle-timeout", c.idle_timeout),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(anyhow!("{flag} must be more than zero"));
        }
        if c.max_connections == 0 || c.max_connections > u32::MAX as usize {
            return Err(anyhow!("--max-connections must be 1 to {}", u32::MAX));
        }
        if c.max_connections_per_peer == 0 {
            return Err(anyhow!("--max-connections-per-peer must be at least 1"));
        }
        Ok(Limits {
            header: c.header_read_timeout,
            body: c.body_read_timeout,
            idle: c.idle_timeout,
            max_connections: c.max_connections,
            per_peer: c.max_connections_per_peer.min(c.max_connections),
        })
    }
}

/// Raises the soft open-file limit toward the hard one when
/// `max_connections` (plus room for the store, the log and the listener)
/// would not fit, and warns when it still does not.
pub(crate) fn raise_open_file_limit(max_connections: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let want = max_connections as u64 + 256;
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= want {
        return;
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let raised = want.min(hard);
    let new = rustix::process::Rlimit {
        current: Some(raised),
        maximum: limit.maximum,
    };
    let now = if raised > soft && setrlimit(Resource::Nofile, new).is_ok() {
        raised
    } else {
        soft
    };
    if now < want {
        tracing::warn!(
            open_file_limit = now,
            max_connections,
            "the open-file limit is below --max-connections; past it, accepting fails \
             until a connection closes (raise `ulimit -n` or lower --max-connections)"
        );
    }
}

/// The accept loop and each connection's life.
pub(crate) mod conn;
mod metrics;
pub use metrics::adopt_metrics;
pub(crate) use metrics::install_metrics;
