//! The analyst workbench (`sekimori-workbench`) mounted in the server: its
//! [`Host`] over the [`App`] (entries appended through the ledger, notices
//! through the server's notifier, label keys through the key ring) and its
//! router, merged into the API's at `/ui/` and `/v1/cases`, `/v1/labels`...

use crate::app::App;
use crate::keys::Scope;
use sekimori_engine::Entry;
use sekimori_notify::Notice;
use sekimori_workbench::{BoxFuture, Config, Host, WbError, Workbench};
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
}

/// The workbench's routes for `app` (the case index built from the whole
/// log: blocking, call it off async threads). Cookies are `Secure` unless
/// the server listens on a loopback address (plain HTTP there only).
pub fn router(app: &Arc<App>, listen: SocketAddr, data_dir: &Path) -> anyhow::Result<axum::Router> {
    let host: Arc<dyn Host> = Arc::new(ServerHost(Arc::downgrade(app)));
    let config = Config::new(!listen.ip().is_loopback());
    let wb = Workbench::open(Arc::clone(&app.store), host, data_dir, config)
        .map_err(|e| anyhow::anyhow!("workbench: {e}"))?;
    Ok(sekimori_workbench::router(wb))
}
