//! The workbench's state: the host, the store it reads the log from, the
//! analysts, the sessions and the case index, and the clock.

use crate::analysts::Analysts;
use crate::cases::Index;
use crate::error::WbError;
use crate::host::Host;
use crate::sessions::Sessions;
use sekimori_engine::Entry;
use sekimori_store::Store;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// The server's wall clock in Unix milliseconds (injected: tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

/// How the workbench is mounted.
#[derive(Clone)]
pub struct Config {
    /// Mark cookies `Secure`: true unless the server listens on a loopback
    /// address over plain HTTP (a browser would not send them back).
    pub secure_cookies: bool,
    /// The zone new sessions show times in.
    pub default_tz: String,
    pub clock: Clock,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secure_cookies", &self.secure_cookies)
            .field("default_tz", &self.default_tz)
            .finish()
    }
}

impl Config {
    pub fn new(secure_cookies: bool) -> Config {
        Config {
            secure_cookies,
            default_tz: "Asia/Tokyo".into(),
            clock: system_clock(),
        }
    }
}

pub struct Workbench {
    pub(crate) host: Arc<dyn Host>,
    pub(crate) store: Arc<Store>,
    pub(crate) analysts: Analysts,
    pub(crate) sessions: Sessions,
    index: Mutex<Index>,
    pub(crate) config: Config,
    /// Password checks in flight (each argon2id check takes 19 MiB).
    pub(crate) sign_ins: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Workbench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workbench")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Workbench {
    /// Opens the workbench of `data_dir` over `store`, building the case
    /// index from the whole log (blocking I/O: call it off async threads).
    pub fn open(
        store: Arc<Store>,
        host: Arc<dyn Host>,
        data_dir: &Path,
        config: Config,
    ) -> Result<Arc<Workbench>, WbError> {
        let wb = Workbench {
            host,
            store,
            analysts: Analysts::open(data_dir)?,
            sessions: Sessions::default(),
            index: Mutex::new(Index::default()),
            config,
            sign_ins: tokio::sync::Semaphore::new(crate::MAX_SIGN_INS_IN_FLIGHT),
        };
        drop(wb.catch_up()?);
        Ok(Arc::new(wb))
    }

    pub fn now_ms(&self) -> i64 {
        (self.config.clock)()
    }

    pub fn analysts(&self) -> &Analysts {
        &self.analysts
    }

    /// Applies every durable entry after the last one applied; returns the
    /// index, in step with the log.
    pub fn catch_up(&self) -> Result<MutexGuard<'_, Index>, WbError> {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let from = index.last_seq + 1;
        let rows = self
            .store
            .scan_from(from)
            .map_err(|e| WbError::Storage(e.to_string()))?;
        for row in rows {
            let (seq, bytes) = row.map_err(|e| WbError::Storage(e.to_string()))?;
            match Entry::from_bytes(&bytes) {
                Ok(entry) => index.apply(seq, &entry),
                Err(e) => {
                    tracing::warn!(seq, error = %e, "workbench skips an entry it cannot read");
                    index.last_seq = seq;
                }
            }
        }
        Ok(index)
    }

    /// The logged entry at `seq`.
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>, WbError> {
        let bytes = self
            .store
            .get(seq)
            .map_err(|e| WbError::Storage(e.to_string()))?;
        Ok(bytes.and_then(|b| Entry::from_bytes(&b).ok()))
    }

    /// Appends an entry through the host and waits until it is durable.
    pub(crate) async fn append(&self, entry: Entry) -> Result<(), WbError> {
        self.host.append(entry).await
    }
}
