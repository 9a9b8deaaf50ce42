//! The analyst workbench (`sekimori-workbench`) mounted in the server: its
//! [`Host`] over the [`App`] (entries appended through the ledger, notices
//! through the server's notifier, label keys through the key ring) and its
//! router, merged into the API's at `/ui/` and `/v1/cases`, `/v1/labels`...

use crate::app::App;
use crate::keys::Scope;
use sekimori_engine::{Entry, HoldKey};
use sekimori_notify::Notice;
use sekimori_rules::Action;
use sekimori_workbench::{BoxFuture, Config, Host, WbError, Workbench};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Weak};

/// The server as the workbench's host. Holds the app weakly: the app's
/// router holds the workbench.
#[derive(Debug)]
struct ServerHost(Weak<App>);

impl ServerHost {
    fn app(&self) -> Result<Arc<App>, WbError> {
        self.0
            .upgrade()
            .ok_or_else(|| WbError::Storage("the server is shutting down".into()))
    }
}

impl ServerHost {
    /// Waits for entries the ledger submitted to be durable.
    async fn settle(app: &App, durable: crate::ledger::Durable) -> Result<(), WbError> {
        app.settle(durable)
            .await
            .map_err(|_| WbError::Unavailable("the durable log failed; this was not recorded"))
    }
}

fn not_ready() -> WbError {
    WbError::Unavailable("the durable log failed; the server accepts nothing until restarted")
}

impl Host for ServerHost {
    fn append(&self, entry: Entry) -> BoxFuture<'_, Result<(), WbError>> {
        // Through the ledger, which gives the entry the next sequence under
        // its lock (a second writer would break the log's order), and
        // answered only once durable, as an event is.
        Box::pin(async move {
            let app = self.app()?;
            let durable = {
                let mut ledger = app.ledger.lock().await;
                if !app.is_ready() {
                    return Err(WbError::Unavailable(
                        "the durable log failed; the server accepts nothing until restarted",
                    ));
                }
                ledger.append_audit(&entry).map_err(WbError::Storage)?
            };
            app.settle(durable)
                .await
                .map_err(|_| WbError::Unavailable("the durable log failed; this was not recorded"))
        })
    }

    fn notify(&self, notice: Notice) -> bool {
        match self.app().ok().as_ref().and_then(|a| a.notices.as_ref()) {
            Some(n) => {
                n.analyst(notice);
                true
            }
            None => false,
        }
    }

    fn label_key(&self, bearer: &str, service: &str) -> Result<String, WbError> {
        let app = self.app()?;
        let who = app
            .keys
            .check(bearer, Scope::Ingest)
            .map_err(|_| WbError::BadKey)?;
        if who.speaks_for(service) {
            Ok(who.name)
        } else {
            Err(WbError::BadKey)
        }
    }

    fn place_hold(
        &self,
        hold: HoldKey,
        action: Action,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        // The same ledger call as `POST /v1/holds`: the engine's hold, its
        // entry with who and why, the request's wall-clock time logged.
        Box::pin(async move {
            let app = self.app()?;
            let at_ms = crate::ledger::wall_clock_ms();
            let placed = {
                let mut ledger = app.ledger.lock().await;
                if !app.is_ready() {
                    return Err(not_ready());
                }
                ledger
                    .place(hold.clone(), action, &by, &reason, at_ms)
                    .map_err(|e| WbError::invalid("action", e))?
            };
            let Some(durable) = placed else {
                return Ok(false);
            };
            Self::settle(&app, durable).await?;
            if let Some(n) = &app.notices {
                n.operator_hold(&hold, action, &by, &reason, at_ms);
            }
            Ok(true)
        })
    }

    fn lift_hold(
        &self,
        hold: HoldKey,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async move {
            let app = self.app()?;
            let lifted = {
                let mut ledger = app.ledger.lock().await;
                if !app.is_ready() {
                    return Err(not_ready());
                }
                ledger.lift(hold, &by, &reason)
            };
            match lifted {
                Some(durable) => Self::settle(&app, durable).await.map(|()| true),
                None => Ok(false),
            }
        })
    }

    fn holds(&self, service: String) -> BoxFuture<'_, Vec<(HoldKey, Action, String)>> {
        Box::pin(async move {
            let Ok(app) = self.app() else {
                return Vec::new();
            };
            let ledger = app.ledger.lock().await;
            ledger
                .engine()
                .holds()
                .list()
                .filter(|(k, _)| k.is_everywhere() || k.service == service)
                .map(|(k, h)| {
                    (
                        k.clone(),
                        h.action,
                        sekimori_event::format_rfc3339_ms(h.since_ms),
                    )
                })
                .collect()
        })
    }

    fn edit_list(
        &self,
        name: String,
        add: Vec<String>,
        remove: Vec<String>,
        by: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async move {
            let app = self.app()?;
            let (durable, added) = {
                let mut ledger = app.ledger.lock().await;
                if !app.is_ready() {
                    return Err(not_ready());
                }
                let engine = ledger.engine();
                let pack_items = engine.pack().lists.get(&name).cloned();
                let (Some(all), Some(base)) = (engine.list(&name), pack_items) else {
                    return Err(WbError::NotFound("list"));
                };
                // The API-managed items: the effective list less the pack's.
                let mut api: BTreeSet<String> = all.difference(&base).cloned().collect();
                for r in &remove {
                    api.remove(r);
                }
                let added = add.iter().any(|a| !all.contains(a));
                api.extend(add);
                (
                    ledger.set_list(&name, api, &by).map_err(WbError::Storage)?,
                    added,
                )
            };
            Self::settle(&app, durable).await.map(|()| added)
        })
    }

    fn append_stepup(
        &self,
        what: String,
        writes: Vec<(String, Option<Vec<u8>>)>,
    ) -> BoxFuture<'_, Result<(), WbError>> {
        // The analysts of a replicated shard: one `Entry::StepUp` through
        // the ledger (the next seq under its lock; on a shard, an append
        // that expects the stream's last sequence, so a deposed leader's
        // write is refused), answered once durable.
        Box::pin(async move {
            let app = self.app()?;
            let durable = {
                let mut ledger = app.ledger.lock().await;
                if !app.is_ready() {
                    return Err(not_ready());
                }
                ledger
                    .append_stepup(&what, writes)
                    .map_err(WbError::Storage)?
            };
            Self::settle(&app, durable).await
        })
    }

    fn lists(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            let Ok(app) = self.app() else {
                return Vec::new();
            };
            let ledger = app.ledger.lock().await;
            ledger.engine().pack().lists.keys().cloned().collect()
        })
    }
}

/// The environment variable that sets the most cases the workbench's index
/// holds (default [`sekimori_workbench::cases::DEFAULT_MAX_CASES`]).
pub const MAX_CASES_ENV: &str = "SEKIMORI_WORKBENCH_MAX_CASES";

/// The case cap from [`MAX_CASES_ENV`]; a value that is not a positive
/// whole number stops the start (a typo must not silently mean the default).
fn max_cases() -> anyhow::Result<usize> {
    match std::env::var(MAX_CASES_ENV) {
        Err(_) => Ok(sekimori_workbench::cases::DEFAULT_MAX_CASES),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("{MAX_CASES_ENV}={v:?}: a positive whole number of cases"),
        },
    }
}

/// The environment variable that sets the case index's byte budget, in
/// bytes (default [`sekimori_workbench::cases::DEFAULT_MAX_INDEX_BYTES`];
/// at least [`sekimori_workbench::cases::MIN_INDEX_BYTES`] is used).
pub const INDEX_BYTES_ENV: &str = "SEKIMORI_WORKBENCH_INDEX_BYTES";

/// The index's byte budget from [`INDEX_BYTES_ENV`]; a value that is not a
/// positive whole number stops the start.
fn max_index_bytes() -> anyhow::Result<usize> {
    match std::env::var(INDEX_BYTES_ENV) {
        Err(_) => Ok(sekimori_workbench::cases::DEFAULT_MAX_INDEX_BYTES),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("{INDEX_BYTES_ENV}={v:?}: a positive whole number of bytes"),
        },
    }
}

/// Set to `1` when every request comes through a proxy that appends the
/// client's address to `X-Forwarded-For`: the workbench's sign-in back-off
/// then keys on that address (else on the connection's peer, which would
/// be the proxy's own address for every client).
pub const TRUST_FORWARDED_ENV: &str = "SEKIMORI_WORKBENCH_TRUST_FORWARDED_FOR";

/// The lists analysts may add items to from a case, comma-separated
/// (default `blocked_ips,known_mules`; empty: none). Refusal lists only:
/// never a list that configures the pack or can relax a decision.
pub const LISTS_ENV: &str = "SEKIMORI_WORKBENCH_LISTS";

/// Set to `1` when a TLS proxy on the same host serves the workbench from a
/// loopback listener (cookies Secure and `__Host-` prefixed), or to `0` to
/// serve plain HTTP beyond loopback (not advised); unset, cookies are
/// Secure unless the server listens on a loopback address.
pub const SECURE_COOKIES_ENV: &str = "SEKIMORI_WORKBENCH_SECURE_COOKIES";

fn secure_cookies(listen: SocketAddr) -> anyhow::Result<bool> {
    match std::env::var(SECURE_COOKIES_ENV).as_deref() {
        Err(_) => Ok(!listen.ip().is_loopback()),
        Ok("1") => Ok(true),
        Ok("0") => {
            if !listen.ip().is_loopback() {
                tracing::warn!("workbench cookies are not Secure on a non-loopback listener ({SECURE_COOKIES_ENV}=0)");
            }
            Ok(false)
        }
        Ok(v) => anyhow::bail!("{SECURE_COOKIES_ENV}={v:?}: 1 or 0"),
    }
}

/// The workbench's routes for `app` (the case index built from the whole
/// log: blocking, call it off async threads). Cookies are `Secure` (and
/// the session cookie `__Host-` prefixed) unless the server listens on a
/// loopback address (plain HTTP there only), or as [`SECURE_COOKIES_ENV`] says.
pub fn router(app: &Arc<App>, listen: SocketAddr, data_dir: &Path) -> anyhow::Result<axum::Router> {
    let host: Arc<dyn Host> = Arc::new(ServerHost(Arc::downgrade(app)));
    let mut config = Config::new(secure_cookies(listen)?);
    config.max_cases = max_cases()?;
    config.max_index_bytes = max_index_bytes()?;
    config.trust_forwarded_for = match std::env::var(TRUST_FORWARDED_ENV).as_deref() {
        Err(_) | Ok("0") => false,
        Ok("1") => true,
        Ok(v) => anyhow::bail!("{TRUST_FORWARDED_ENV}={v:?}: 1 or 0"),
    };
    if let Ok(v) = std::env::var(LISTS_ENV) {
        config.editable_lists = v
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
    }
    // Analysts' passkeys belong to the server's relying party (`--rp-id`,
    // `--rp-origin`), the step-up passkeys' own.
    config.passkeys = Some(app.stepup.passkeys.clone());
    tracing::info!(
        max_cases = config.max_cases,
        max_index_bytes = config.max_index_bytes,
        passkeys_rp_id = app.stepup.passkeys.rp_id(),
        passkeys_origin = app.stepup.passkeys.origin().as_str(),
        editable_lists = ?config.editable_lists,
        "workbench case index cap and the lists analysts may add to"
    );
    // A node of a replicated shard (its ledger writes another log than its
    // own store): analysts live in the shard's log, under a key every node
    // derives from the shared `stepup.key`.
    if let Some(stream) = shard_stream(app) {
        config.replicated_analysts = Some(app.stepup.shard_analysts_key(&stream));
        tracing::info!("workbench analysts live in the shard's log");
    }
    let wb = Workbench::open(Arc::clone(&app.store), host, data_dir, config)
        .map_err(|e| anyhow::anyhow!("workbench: {e}"))?;
    Ok(sekimori_workbench::router(wb))
}

/// The stream of the replicated shard `app`'s ledger appends to (`None`:
/// its own store).
fn shard_stream(app: &App) -> Option<String> {
    app.ledger.blocking_lock().log().shard_stream()
}
