//! Analysts of a replicated shard (cluster mode): every analyst change is
//! an `analyst/<login>` record of an `Entry::StepUp`, appended through the
//! leader's ledger ([`Host::append_stepup`]) and written by every node into
//! its own step-up table in log order, so an analyst created, reset,
//! disabled or given a passkey on one leader is the same on the next.
//!
//! A record is `{"rev": n, "body": <the AnalystRecord as JSON text>,
//! "mac": <hex>}`: `rev` grows by one at each write of the key, and `mac`
//! is HMAC-SHA256 over the key, the rev and the body under a key derived
//! from the shard's shared `stepup.key` bound to the shard's stream
//! ([`derive`], [`shard_key`]). A follower checks both before it writes a
//! record ([`verifier`], given to `Follower::open`): a forged record, or
//! one that does not raise the rev by exactly one (an old record replayed
//! into the stream), never reaches its table. Every read checks the MAC again: a record
//! published to the stream by anyone without that key (a forged admin) is
//! never read as an analyst, whichever way it reached the table (the
//! stream, a snapshot object, an import). The key `analyst/` (no login)
//! lists the logins, signed the same way. TOTP seeds are sealed under
//! another key derived from `stepup.key`, bound to the login, so every
//! node opens them.

use crate::analysts::AnalystRecord;
use crate::error::WbError;
use crate::host::Host;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use zeroize::Zeroizing;

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

/// One record as the table keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    rev: u64,
    body: String,
    mac: String,
}

/// The analysts' records in the replicated store.
pub(crate) struct LogBackend {
    store: Arc<sekimori_store::Store>,
    host: Arc<dyn Host>,
    mac_key: Zeroizing<[u8; 32]>,
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
            mac_key: derive(key, MAC_LABEL),
        }
    }

    fn mac(&self, key: &str, rev: u64, body: &str) -> Hmac<Sha256> {
        record_mac(&self.mac_key, key, rev, body)
    }

    fn sign(&self, key: &str, rev: u64, body: String) -> Vec<u8> {
        let mac = hex::encode(self.mac(key, rev, &body).finalize().into_bytes());
        serde_json::to_vec(&Signed { rev, body, mac }).unwrap_or_default()
    }

    /// The stored value of `key` (`None`: none): its rev and its body when
    /// the MAC holds; rev 0 and no body when it does not (reported, never
    /// trusted, its rev never read).
    fn load(&self, key: &str) -> Result<Option<(u64, Option<String>)>, WbError> {
        let bytes = self
            .store
            .stepup(key)
            .map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        match verified(&self.mac_key, key, &bytes) {
            Some(s) => Ok(Some((s.rev, Some(s.body)))),
            None => {
                // Never its claimed rev: a forged record pins nothing (the
                // next write is rev 1, as the followers' guard expects of
                // a key whose stored record does not verify).
                refused(key);
                Ok(Some((0, None)))
            }
        }
    }

    /// The rev and the verified body of `key` (rev 0: none stored).
    fn current(&self, key: &str) -> Result<(u64, Option<String>), WbError> {
        Ok(self.load(key)?.unwrap_or((0, None)))
    }

    /// The logins: the signed list, or, when a list is stored that does
    /// not verify (forged), every `analyst/` key of the table (a key-only
    /// range scan of that prefix, no customer's record read), so a forged
    /// list hides nobody. Each login's own record is verified by its reader.
    fn logins(&self) -> Result<(u64, Vec<String>), WbError> {
        match self.load(INDEX_KEY)? {
            None => Ok((0, Vec::new())),
            Some((rev, Some(body))) => Ok((rev, serde_json::from_str(&body).unwrap_or_default())),
            Some((rev, None)) => {
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
            let (_, Some(body)) = self.current(&key)? else {
                continue;
            };
            match serde_json::from_str::<AnalystRecord>(&body) {
                Ok(r) if r.login == login => out.push(r),
                _ => refused(&key),
            }
        }
        Ok(out)
    }

    /// Writes the records of `records` that differ from the stored ones
    /// (and the list of logins when it changed) as one `Entry::StepUp`
    /// through the leader's ledger, and waits until it is durable. The
    /// caller holds the analysts' lock (one writer on this node; only the
    /// lease holder serves the workbench, and its appends are fenced).
    pub(crate) fn write(&self, records: &[AnalystRecord]) -> Result<(), WbError> {
        let mut writes = Vec::new();
        for r in records {
            let key = record_key(&r.login);
            let body =
                serde_json::to_string(r).map_err(|e| WbError::Storage(format!("analysts: {e}")))?;
            let (rev, old) = self.current(&key)?;
            if old.as_deref() != Some(body.as_str()) {
                writes.push((key.clone(), Some(self.sign(&key, next(rev)?, body))));
            }
        }
        let mut logins: Vec<String> = records.iter().map(|r| r.login.clone()).collect();
        logins.sort();
        logins.dedup();
        let (rev, old) = self.logins()?;
        let verified = matches!(self.load(INDEX_KEY)?, Some((_, Some(_))));
        if old != logins || !verified {
            let body = serde_json::to_string(&logins).unwrap_or_default();
            writes.push((
                INDEX_KEY.to_string(),
                Some(self.sign(INDEX_KEY, next(rev)?, body)),
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
pub type Verifier = Arc<dyn Fn(&str, &[u8]) -> Option<u64> + Send + Sync>;

/// The follower's [`Verifier`] of a shard whose analysts are signed under
/// `key` (the same key `Config::replicated_analysts` carries).
pub fn verifier(key: &[u8; 32]) -> Verifier {
    let mac_key = derive(key, MAC_LABEL);
    Arc::new(move |k: &str, value: &[u8]| verified(&mac_key, k, value).map(|s| s.rev))
}

const MAC_LABEL: &str = "analysts/mac/v1";

fn record_mac(mac_key: &[u8; 32], key: &str, rev: u64, body: &str) -> Hmac<Sha256> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(mac_key.as_ref()).expect("HMAC takes any key length");
    m.update(&(key.len() as u64).to_be_bytes());
    m.update(key.as_bytes());
    m.update(&rev.to_be_bytes());
    m.update(body.as_bytes());
    m
}

/// `bytes` as a record of `key` whose MAC holds, or `None`.
fn verified(mac_key: &[u8; 32], key: &str, bytes: &[u8]) -> Option<Signed> {
    let s = serde_json::from_slice::<Signed>(bytes).ok()?;
    let mac = hex::decode(&s.mac).ok()?;
    record_mac(mac_key, key, s.rev, &s.body)
        .verify_slice(&mac)
        .ok()?;
    Some(s)
}

/// The rev after `rev` (followers take exactly that one).
fn next(rev: u64) -> Result<u64, WbError> {
    rev.checked_add(1)
        .ok_or_else(|| WbError::Storage("analysts: a record's rev is exhausted".into()))
}

fn refused(key: &str) {
    tracing::warn!(
        key,
        "an analyst record does not verify (forged, or sealed under another stepup.key): refused"
    );
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
