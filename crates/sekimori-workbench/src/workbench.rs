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
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The most entries one catch-up step reads and decodes (on a blocking
/// thread) before applying them under the index's write lock: the lock is
/// held for a few milliseconds at a time, never for a whole backlog.
pub const CATCH_UP_BATCH: usize = 1_000;
/// The most entries a read that may not wait applies on its own thread.
pub const INLINE_CATCH_UP: usize = 64;
/// How often the background task looks for entries the server appended.
pub const CATCH_UP_EVERY_MS: u64 = 250;

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
    /// The most cases the index holds ([`crate::cases::DEFAULT_MAX_CASES`]
    /// by default; see [`crate::cases::Index::with_cap`] for what happens
    /// when it is full).
    pub max_cases: usize,
    /// The case index's byte budget ([`crate::cases::DEFAULT_MAX_INDEX_BYTES`]
    /// by default; see [`crate::cases::Index::with_max_bytes`]).
    pub max_index_bytes: usize,
    /// Take the client's address from the last `X-Forwarded-For` entry (the
    /// one the proxy in front appended) instead of the connection's peer:
    /// only when every request comes through that proxy, which must
    /// overwrite or append the header (else a client could name any address).
    pub trust_forwarded_for: bool,
    /// The lists of the live pack an analyst may add items to from a case:
    /// refusal lists only ([`DEFAULT_EDITABLE_LISTS`] by default). A list
    /// that configures the pack (`linked_services`, `bank_services`) or can
    /// relax a decision must never be here: one supervisor could otherwise
    /// join tenants or allow what the pack refuses.
    pub editable_lists: Vec<String>,
    /// The relying party analysts' passkeys belong to (the server's
    /// `--rp-id` / `--rp-origin`); `None`: passkey sign-in is off.
    pub passkeys: Option<sekimori_webauthn::Passkeys>,
    /// A node of a replicated shard: analysts live in the shard's log
    /// ([`crate::analyst_log`]) under this key (the server derives it from
    /// the shard's shared `stepup.key`); `None`: `analysts.json`.
    pub replicated_analysts: Option<zeroize::Zeroizing<[u8; 32]>>,
}

/// The default pack's refusal lists.
pub const DEFAULT_EDITABLE_LISTS: &[&str] = &["blocked_ips", "known_mules"];

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secure_cookies", &self.secure_cookies)
            .field("default_tz", &self.default_tz)
            .field("max_cases", &self.max_cases)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("editable_lists", &self.editable_lists)
            .field(
                "passkeys",
                &self.passkeys.as_ref().map(|p| p.rp_id().to_string()),
            )
            .field("replicated_analysts", &self.replicated_analysts.is_some())
            .finish()
    }
}

impl Config {
    pub fn new(secure_cookies: bool) -> Config {
        Config {
            secure_cookies,
            default_tz: "Asia/Tokyo".into(),
            clock: system_clock(),
            max_cases: crate::cases::DEFAULT_MAX_CASES,
            max_index_bytes: crate::cases::DEFAULT_MAX_INDEX_BYTES,
            trust_forwarded_for: false,
            editable_lists: DEFAULT_EDITABLE_LISTS
                .iter()
                .map(|l| l.to_string())
                .collect(),
            passkeys: None,
            replicated_analysts: None,
        }
    }
}

pub struct Workbench {
    pub(crate) host: Arc<dyn Host>,
    pub(crate) store: Arc<Store>,
    pub(crate) analysts: Analysts,
    pub(crate) sessions: Sessions,
    /// Passkey ceremonies in progress.
    pub(crate) ceremonies: crate::ceremonies::Ceremonies,
    index: RwLock<Index>,
    /// One catch-up at a time (each reads from the index's `last_seq`).
    catching_up: tokio::sync::Mutex<()>,
    /// Wakes the background catch-up.
    behind: Arc<tokio::sync::Notify>,
    pub(crate) config: Config,
    /// Password checks in flight (each argon2id check takes 19 MiB).
    pub(crate) sign_ins: tokio::sync::Semaphore,
    /// Sign-in back-off per (login, address), per address and per login.
    pub(crate) throttle: crate::throttle::Throttle,
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
        let analysts = match &config.replicated_analysts {
            Some(key) => {
                Analysts::replicated(data_dir, Arc::clone(&store), Arc::clone(&host), key)?
            }
            None => {
                // Back in single-node mode: the analysts are this
                // directory's `analysts.json` again (the shard's records
                // are not read), so the mark goes and `sekimori users`
                // changes them as on any single node.
                let mark = data_dir.join(crate::analysts::REPLICATED_MARK);
                if mark.exists() {
                    tracing::warn!(
                        "this data directory was a cluster node's: its analysts are analysts.json again, not the shard's"
                    );
                    std::fs::remove_file(&mark)
                        .map_err(|e| WbError::Storage(format!("{}: {e}", mark.display())))?;
                }
                Analysts::open(data_dir)?
            }
        };
        let wb = Workbench {
            host,
            store,
            analysts,
            sessions: Sessions::default(),
            ceremonies: Default::default(),
            index: RwLock::new(
                Index::with_cap(config.max_cases).with_max_bytes(config.max_index_bytes),
            ),
            catching_up: tokio::sync::Mutex::new(()),
            behind: Arc::new(tokio::sync::Notify::new()),
            config,
            sign_ins: tokio::sync::Semaphore::new(crate::MAX_SIGN_INS_IN_FLIGHT),
            throttle: crate::throttle::Throttle::default(),
        };
        // A shard's analysts the operator left pending on this node, in
        // the log before the first sign-in (their acts are logged by the
        // background task, with the CLI's other acts).
        let adopted = wb.analysts.adopt_pending()?;
        wb.analysts.queue_adopted(adopted, wb.now_ms())?;
        wb.catch_up_blocking()?;
        wb.resend_recent_outcomes();
        let wb = Arc::new(wb);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(follow(Arc::downgrade(&wb), Arc::clone(&wb.behind)));
        }
        Ok(wb)
    }

    pub fn now_ms(&self) -> i64 {
        (self.config.clock)()
    }

    pub fn analysts(&self) -> &Analysts {
        &self.analysts
    }

    /// The index as applied so far (no I/O; see [`Workbench::catch_up`]
    /// to bring it to the log's end first). Never hold it across an await.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies every durable entry after the last one applied and returns
    /// the index, in step with the log (every action runs this first). The log is read and decoded on a
    /// blocking thread, a batch at a time, and only applying a decoded
    /// batch takes the index's write lock: a long backlog never stalls the
    /// async workers, and pages keep reading the index meanwhile.
    pub async fn sync(&self) -> Result<RwLockReadGuard<'_, Index>, WbError> {
        let _one = self.catching_up.lock().await;
        loop {
            let from = self.index().last_seq + 1;
            let store = Arc::clone(&self.store);
            let batch =
                tokio::task::spawn_blocking(move || read_up_to(&store, from, CATCH_UP_BATCH))
                    .await
                    .map_err(|e| WbError::Storage(e.to_string()))??;
            let done = batch.len() < CATCH_UP_BATCH;
            self.apply_batch(batch);
            if done {
                return Ok(self.index());
            }
        }
    }

    /// The index for a read that may not wait: applies at most
    /// [`INLINE_CATCH_UP`] new entries on the calling thread (a few hundred
    /// microseconds of reading and decoding); a longer backlog is left to
    /// the background task ([`Workbench::sync`] on a blocking thread, woken
    /// here) and the index is answered as applied so far.
    pub fn catch_up(&self) -> Result<RwLockReadGuard<'_, Index>, WbError> {
        if let Ok(_one) = self.catching_up.try_lock() {
            let from = self.index().last_seq + 1;
            let batch = read_up_to(&self.store, from, INLINE_CATCH_UP)?;
            let behind = batch.len() == INLINE_CATCH_UP;
            self.apply_batch(batch);
            if !behind {
                return Ok(self.index());
            }
        }
        self.behind.notify_one();
        Ok(self.index())
    }

    /// [`Workbench::sync`] on the calling thread (at start, off the
    /// async workers).
    pub fn catch_up_blocking(&self) -> Result<(), WbError> {
        loop {
            let from = self.index().last_seq + 1;
            let batch = read_up_to(&self.store, from, CATCH_UP_BATCH)?;
            let done = batch.len() < CATCH_UP_BATCH;
            self.apply_batch(batch);
            if done {
                return Ok(());
            }
        }
    }

    fn apply_batch(&self, batch: Vec<(u64, Option<Entry>)>) {
        let mut index = self.index_mut();
        for (seq, entry) in batch {
            if seq <= index.last_seq {
                continue;
            }
            match entry {
                Some(entry) => index.apply(seq, &entry),
                None => index.last_seq = seq,
            }
        }
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

/// At most `max` logged entries from `from`, decoded (`None`:
/// an entry this workbench cannot read, skipped with a warning).
fn read_up_to(store: &Store, from: u64, max: usize) -> Result<Vec<(u64, Option<Entry>)>, WbError> {
    let rows = store
        .scan_from(from)
        .map_err(|e| WbError::Storage(e.to_string()))?;
    let mut out = Vec::new();
    for row in rows.take(max) {
        let (seq, bytes) = row.map_err(|e| WbError::Storage(e.to_string()))?;
        match Entry::from_bytes(&bytes) {
            Ok(entry) => out.push((seq, Some(entry))),
            Err(e) => {
                tracing::warn!(seq, error = %e, "workbench skips an entry it cannot read");
                out.push((seq, None));
            }
        }
    }
    Ok(out)
}

/// The background catch-up: every [`CATCH_UP_EVERY_MS`], or when a read
/// found a backlog, brings the index to the log's end off the async
/// workers; ends with the workbench.
async fn follow(wb: std::sync::Weak<Workbench>, behind: Arc<tokio::sync::Notify>) {
    let every = std::time::Duration::from_millis(CATCH_UP_EVERY_MS);
    let mut seen = None;
    loop {
        let Some(w) = wb.upgrade() else { return };
        // An analyst disabled by `sekimori users disable` (another process)
        // loses their sessions here.
        let modified = w.analysts.modified();
        if modified != seen {
            seen = modified;
            match w.analysts.disabled_logins() {
                Ok(logins) => {
                    for login in logins {
                        w.sessions.end_all(&login);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "workbench: analysts.json unreadable"),
            }
        }
        // What the operator's `sekimori users` did: its audit acts, and
        // on a replicated shard the analysts it left pending.
        let dir = w.analysts.dir();
        let pending = dir.join(crate::analyst_cli::QUEUED_ACTS_FILE).exists()
            || (w.analysts.is_replicated() && dir.join(crate::analysts::ANALYSTS_FILE).exists());
        if pending {
            if let Err(e) = w.absorb_cli().await {
                tracing::warn!(error = %e, "workbench: the CLI's analyst changes not taken in yet");
            }
        }
        if let Err(e) = w.sync().await.map(drop) {
            tracing::warn!(error = %e, "workbench catch-up failed; retrying");
        } else if let Err(e) = w.expire_list_items().await {
            tracing::warn!(error = %e, "workbench list expiry failed; retrying");
        }
        drop(w);
        let _ = tokio::time::timeout(every, behind.notified()).await;
    }
}
