//! Analysts of a replicated shard (cluster mode): every analyst change is
//! an `analyst/<login>` record of an `Entry::StepUp`, appended through the
//! leader's ledger ([`Host::append_stepup`]) and written by every node into
//! its own step-up table in log order, so an analyst created, reset,
//! disabled or given a passkey on one leader is the same on the next.
//!
//! A record ([`record`]) carries a `rev` that grows by one at each write
//! of the key, its body (the `AnalystRecord`: argon2id hash, TOTP state,
//! passkeys) sealed whole (ChaCha20-Poly1305, bound to the key and the
//! rev), and a MAC (HMAC-SHA256 over the key, the rev and the sealed
//! body), all under keys derived from the shard's shared `stepup.key`
//! bound to the shard's stream ([`derive`], [`shard_key`]): a reader of
//! the stream or of a snapshot object sees no password hash. A follower
//! checks the MAC and the rev before it writes a record ([`verifier`],
//! given to `Follower::open`): a forged record, or one that does not
//! raise the rev by exactly one (an old record replayed into the stream),
//! never reaches its table. Every read checks the MAC again and opens the
//! seal: a record published to the stream by anyone without that key (a
//! forged admin) is never read as an analyst, whichever way it reached
//! the table (the stream, a snapshot object, an import). The key
//! `analyst/` (no login) lists the logins, signed and sealed the same way.
//! TOTP seeds are sealed inside the body as well, under another key
//! derived from `stepup.key`, bound to the login.
//!
//! [`verifier`] also carries the MAC of the shard's snapshot objects
//! (under a key of its own label, [`record::OBJECT_LABEL`]): the ledger
//! signs the objects it uploads and a joining node refuses one that does
//! not verify.

use crate::analysts::AnalystRecord;
use crate::error::WbError;
use crate::host::Host;
use hmac::{Hmac, Mac};
use record::RecordKeys;
use sha2::Sha256;
use std::sync::Arc;
use zeroize::Zeroizing;

#[path = "analyst_record.rs"]
pub(crate) mod record;

/// The step-up table's prefix of analysts' records.
pub const PREFIX: &str = "analyst/";
/// The record that lists the logins.
pub const INDEX_KEY: &str = "analyst/";
/// The `what` of the `Entry::StepUp` an analyst change is logged as.
pub const WHAT: &str = "analyst";

/// The store key of `login`'s record.
pub fn record_key(login: &str) -> String {
    format!("{PREFIX}{login}")
}

/// A 32-byte key derived from `key` for `label`: HMAC-SHA256(key,
/// `sekimori-workbench/<label>`), the derivation `sekimori-stepup`'s
/// `OtpHasher` uses for its own key.
pub fn derive(key: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"sekimori-workbench/");
    m.update(label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&m.finalize().into_bytes());
    out
}

/// The analysts' records in the replicated store.
pub(crate) struct LogBackend {
    store: Arc<sekimori_store::Store>,
    host: Arc<dyn Host>,
    keys: RecordKeys,
}

impl LogBackend {
    /// `key`: the workbench's key, derived by the server from `stepup.key`.
    pub(crate) fn new(
        store: Arc<sekimori_store::Store>,
        host: Arc<dyn Host>,
        key: &[u8; 32],
    ) -> LogBackend {
        LogBackend {
            store,
            host,
            keys: RecordKeys::new(key),
        }
    }

    fn sign(&self, key: &str, rev: u64, body: &str) -> Result<Vec<u8>, WbError> {
        self.keys
            .sign(key, rev, body)
            .map_err(|e| WbError::Storage(format!("analysts: {e}")))
    }

    /// The stored value of `key` (`None`: none): its rev and its body when
    /// the MAC holds and the seal opens; rev 0 and no body when not
    /// (reported, never trusted, its rev never read).
    fn load(&self, key: &str) -> Result<Option<Loaded>, WbError> {
        let bytes = self
            .store
            .stepup(key)
            .map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let checked = self.keys.check(key, &bytes);
        if let Some(c) = checked.as_ref().filter(|c| c.legacy()) {
            if key != INDEX_KEY && self.migrated()? {
                // Genuine (its MAC holds), so its rev is the one the
                // followers hold: a write of the key goes one up.
                tracing::warn!(
                    key,
                    "an analyst record in the clear after the shard's records were sealed: refused"
                );
                metrics::counter!("sekimori_workbench_analyst_records_refused_total").increment(1);
                return Ok(Some(Loaded {
                    rev: c.rev,
                    body: None,
                    legacy: true,
                }));
            }
        }
        let opened = checked
            .as_ref()
            .and_then(|c| self.keys.open(key, c).map(|b| (c.rev, b, c.legacy())));
        match opened {
            Some((rev, body, legacy)) => Ok(Some(Loaded {
                rev,
                body: Some(body),
                legacy,
            })),
            None => {
                // Never its claimed rev: a forged record pins nothing (the
                // next write is rev 1, as the followers' guard expects of
                // a key whose stored record does not verify).
                refused(key, checked.is_some());
                Ok(Some(Loaded::default()))
            }
        }
    }

    /// Whether the shard's records were sealed (attacker's review F4): the
    /// list of logins is stored sealed. Every write seals, in the same
    /// entry, every record in the clear it passes and the list, so from
    /// the first write of this release on (or `Analysts::seal_legacy`)
    /// the form in the clear is refused: a genuine old record put back
    /// (by a path without the followers' rev rule, or a release before
    /// sealing writing again) is nobody. The list in the clear again (that
    /// release rewrote it: a downgrade) reads the old form again.
    fn migrated(&self) -> Result<bool, WbError> {
        let index = self
            .store
            .stepup(INDEX_KEY)
            .map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
        Ok(index
            .and_then(|b| self.keys.check(INDEX_KEY, &b))
            .is_some_and(|c| !c.legacy()))
    }

    /// The verified record of `key` (rev 0: none stored).
    fn current(&self, key: &str) -> Result<Loaded, WbError> {
        Ok(self.load(key)?.unwrap_or_default())
    }

    /// The logins: the signed list, or, when a list is stored that does
    /// not verify (forged), every `analyst/` key of the table (a key-only
    /// range scan of that prefix, no customer's record read), so a forged
    /// list hides nobody. Each login's own record is verified by its reader.
    fn logins(&self) -> Result<(u64, Vec<String>), WbError> {
        match self.load(INDEX_KEY)? {
            None => Ok((0, Vec::new())),
            Some(Loaded {
                rev,
                body: Some(body),
                ..
            }) => Ok((rev, serde_json::from_str(&body).unwrap_or_default())),
            Some(Loaded {
                rev, body: None, ..
            }) => {
                let keys = self
                    .store
                    .stepup_keys(PREFIX)
                    .map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
                let logins = keys
                    .into_iter()
                    .filter_map(|k| k.strip_prefix(PREFIX).map(String::from))
                    .filter(|l| !l.is_empty())
                    .collect();
                Ok((rev, logins))
            }
        }
    }

    /// Whether the table holds a record under `login`'s key, verified or not.
    pub(crate) fn holds(&self, login: &str) -> Result<bool, WbError> {
        let key = record_key(login);
        let stored = self
            .store
            .stepup(&key)
            .map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
        Ok(stored.is_some())
    }

    /// Every analyst whose record verifies, in login order.
    pub(crate) fn read(&self) -> Result<Vec<AnalystRecord>, WbError> {
        let (_, logins) = self.logins()?;
        let mut out = Vec::with_capacity(logins.len());
        for login in logins {
            let key = record_key(&login);
            let Some(body) = self.current(&key)?.body else {
                continue;
            };
            match serde_json::from_str::<AnalystRecord>(&body) {
                Ok(r) if r.login == login => out.push(r),
                _ => refused(&key, true),
            }
        }
        Ok(out)
    }

    /// Whether a record in the form before sealing (its body in the clear)
    /// is stored for `records` or the list of logins: the leader rewrites
    /// them sealed when it opens its workbench.
    pub(crate) fn any_legacy(&self, records: &[AnalystRecord]) -> Result<bool, WbError> {
        for key in records
            .iter()
            .map(|r| record_key(&r.login))
            .chain([INDEX_KEY.to_string()])
        {
            if self.current(&key)?.legacy {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes the records of `records` that differ from the stored ones or
    /// are stored in the form before sealing (and the list of logins when
    /// it changed or is not sealed) as one `Entry::StepUp`
    /// through the leader's ledger, and waits until it is durable. The
    /// caller holds the analysts' lock (one writer on this node; only the
    /// lease holder serves the workbench, and its appends are fenced).
    pub(crate) fn write(&self, records: &[AnalystRecord]) -> Result<(), WbError> {
        let mut writes = Vec::new();
        for r in records {
            let key = record_key(&r.login);
            let body =
                serde_json::to_string(r).map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
            let old = self.current(&key)?;
            if old.legacy || old.body.as_deref().map(|b| b.as_str()) != Some(body.as_str()) {
                writes.push((key.clone(), Some(self.sign(&key, next(old.rev)?, &body)?)));
            }
        }
        let mut logins: Vec<String> = records.iter().map(|r| r.login.clone()).collect();
        logins.sort();
        logins.dedup();
        let (rev, old) = self.logins()?;
        let index = self.current(INDEX_KEY)?;
        if old != logins || index.body.is_none() || index.legacy {
            let body = serde_json::to_string(&logins).unwrap_or_default();
            writes.push((
                INDEX_KEY.to_string(),
                Some(self.sign(INDEX_KEY, next(rev)?, &body)?),
            ));
        }
        if writes.is_empty() {
            return Ok(());
        }
        block_on(self.host.append_stepup(WHAT.to_string(), writes))
    }
}

/// The key a shard's analysts are signed and sealed under: `key` (the
/// workbench's, derived from `stepup.key`) bound to the shard's stream
/// name, so a record of one shard never verifies in another that shares
/// its `stepup.key` (one key file for several shards).
pub fn shard_key(key: &[u8; 32], stream: &str) -> Zeroizing<[u8; 32]> {
    derive(key, &format!("shard/{stream}/v1"))
}

/// What a follower checks an `analyst/` write with: the rev of `value`
/// when its MAC holds under the shard's key (see [`shard_key`]), `None`
/// otherwise (a forged or foreign record, a deletion's absent value).
pub type AnalystCheck = Arc<dyn Fn(&str, &[u8]) -> Option<u64> + Send + Sync>;
/// Signs a snapshot object: HMAC-SHA256 of the parts (each
/// length-prefixed) under the shard's object key.
pub type ObjectSign = Arc<dyn Fn(&[&[u8]]) -> [u8; 32] + Send + Sync>;
/// Checks a snapshot object's MAC (parts as [`ObjectSign`]'s, then the
/// MAC), in constant time.
pub type ObjectCheck = Arc<dyn Fn(&[&[u8]], &[u8]) -> bool + Send + Sync>;

/// A shard's checks, as `Follower::open` takes them (its `ShardKeys`):
/// the analysts' records, and signing and checking snapshot objects.
pub type Verifier = (AnalystCheck, ObjectSign, ObjectCheck);

/// The [`Verifier`] of a shard whose analysts are signed under `key` (the
/// same key `Config::replicated_analysts` carries, [`shard_key`]).
pub fn verifier(key: &[u8; 32]) -> Verifier {
    let keys = Arc::new(RecordKeys::new(key));
    let analysts: AnalystCheck =
        Arc::new(move |k: &str, value: &[u8]| keys.check(k, value).map(|c| c.rev));
    let object_key = derive(key, record::OBJECT_LABEL);
    let sign_key = object_key.clone();
    let sign: ObjectSign = Arc::new(move |parts: &[&[u8]]| {
        record::object_mac(&sign_key, parts)
            .finalize()
            .into_bytes()
            .into()
    });
    let check: ObjectCheck = Arc::new(move |parts: &[&[u8]], mac: &[u8]| {
        record::object_mac(&object_key, parts)
            .verify_slice(mac)
            .is_ok()
    });
    (analysts, sign, check)
}

/// The label of the key `sekimori export` signs its file under (never a
/// record's or an object's key).
pub const EXPORT_LABEL: &str = "export/mac/v1";

/// The MAC of an exported log (`sekimori export` writes it as the file's
/// last line, `sekimori import` refuses a file whose MAC does not hold):
/// HMAC-SHA256 under a key of its own label ([`EXPORT_LABEL`]) derived from
/// `stepup.key`, and, for a replicated shard's export, from the shard's key
/// ([`shard_key`] of its stream), over a domain, the shard's stream (or
/// none), every line in order (each length-prefixed, so no line boundary
/// moves) and, at the end, the number of lines: an edited, dropped, added
/// or reordered line, a cut file, or a file signed under another key or
/// shard does not verify. Built line by line (exports are large).
pub struct ExportMac {
    mac: Hmac<Sha256>,
    lines: u64,
}

impl std::fmt::Debug for ExportMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportMac")
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

impl ExportMac {
    /// `master`: the step-up master key; `stream`: the shard's stream
    /// (`SEKIMORI_<shard>`) when the export is bound to a shard.
    pub fn new(master: &[u8; 32], stream: Option<&str>) -> ExportMac {
        let key = match stream {
            Some(s) => derive(&shard_key(&derive(master, "key/v1"), s), EXPORT_LABEL),
            None => derive(master, EXPORT_LABEL),
        };
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key");
        let mut part = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        part(b"sekimori-export/v1");
        match stream {
            Some(s) => {
                part(b"shard");
                part(s.as_bytes());
            }
            None => part(b"node"),
        }
        ExportMac { mac, lines: 0 }
    }

    /// Takes the next line (its bytes without the newline).
    pub fn line(&mut self, bytes: &[u8]) {
        self.mac.update(&(bytes.len() as u64).to_be_bytes());
        self.mac.update(bytes);
        self.lines += 1;
    }

    /// The lines taken so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    fn end(mut self) -> Hmac<Sha256> {
        self.mac.update(b"lines");
        self.mac.update(&self.lines.to_be_bytes());
        self.mac
    }

    /// The MAC over every line taken and their number.
    pub fn finish(self) -> [u8; 32] {
        self.end().finalize().into_bytes().into()
    }

    /// Whether `mac` is the MAC of every line taken (constant time).
    pub fn verify(self, mac: &[u8]) -> bool {
        self.end().verify_slice(mac).is_ok()
    }
}

/// One stored record as read: its rev and its body when it verifies and
/// opens (rev 0, no body: none stored, or refused), and whether it is in
/// the form before sealing.
#[derive(Default)]
struct Loaded {
    rev: u64,
    body: Option<Zeroizing<String>>,
    legacy: bool,
}

/// The rev after `rev` (followers take exactly that one).
fn next(rev: u64) -> Result<u64, WbError> {
    rev.checked_add(1)
        .ok_or_else(|| WbError::Storage("analysts: a record's rev is exhausted".into()))
}

fn refused(key: &str, signed: bool) {
    if signed {
        tracing::warn!(
            key,
            "an analyst record whose MAC holds does not open or names another login: refused"
        );
    } else {
        tracing::warn!(
            key,
            "an analyst record does not verify (forged, or sealed under another stepup.key): refused"
        );
    }
    metrics::counter!("sekimori_workbench_analyst_records_refused_total").increment(1);
}

/// Runs `f` to completion from synchronous code: the analysts' methods are
/// synchronous (called on blocking threads and, briefly, from handlers),
/// while the ledger is async. On a multi-threaded runtime the worker hands
/// its other tasks off while it waits (`block_in_place`); elsewhere (a
/// current-thread runtime, no runtime) a scoped thread drives it.
pub(crate) fn block_on<F: std::future::Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(f))
        }
        _ => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime")
                    .block_on(f)
            })
            .join()
            .expect("the analysts' write did not panic")
        }),
    }
}

#[cfg(test)]
#[path = "analyst_log_tests.rs"]
mod tests;
