//! Step-up authentication behind `/v1/stepup/*`: TOTP, transaction signing
//! (OCRA with dynamic linking), passkeys, and SMS / e-mail codes.
//!
//! The domain rules (records, verification per method, code hashing,
//! throttling, the two clocks, proofs for enrollment changes) are
//! `sekimori-stepup`'s, a pure library. This module is their I/O: the
//! store, the per-account locks, the wall clock and the random source. It
//! does not know the [`App`](crate::app::App): it holds the store itself.
//!
//! # Persistence
//!
//! Everything is kept per (service, account), in one record of the store's
//! `stepup` table (`tenant/<service>/<account>`, JSON, an
//! [`AccountRecord`]). Services are tenants: account `cust-42` of `netbank`
//! and of `qr-pay` are two records, and the seal bindings name the service
//! too. `credential/<hex id>` maps each registered passkey to its owner, so
//! one credential cannot be registered twice.
//!
//! Records written before records were kept per service (`account/<account>`)
//! belong to the service named by `--stepup-legacy-service`: a request of
//! that service migrates one on first read (the move is written with the
//! request's change, in one transaction). Without the flag they are not
//! read: nobody can tell which tenant an old record was for, and adopting it
//! for whichever service asks first would hand one tenant's seeds to another.
//!
//! Every operation on an account holds that account's lock, reads the record
//! from the store, changes a copy, appends the new record to the log through
//! the ledger (an `Entry::StepUp`, `replicate`; the ledger writes the
//! record into the `stepup` table ahead of the entry) and waits until it is
//! durable (for a replicated shard: in the stream and this node's store)
//! before it answers and lets the next operation on the account in. A
//! verification that fails is written too (its failure count, a consumed
//! ceremony), so a restart, or the next leader, forgets nothing and never
//! re-opens a used challenge. A follower applies the records in log order,
//! `sekimori export` carries them and `import` writes them back. (Before
//! the app is attached, as in unit tests that build a `StepUp` alone,
//! records go straight to the store's group-commit writer.)
//!
//! Time: the request's `at` (checked against the clock like an event's) and
//! the server's wall clock ([`Clock`]) both bound every challenge (see
//! [`sekimori_stepup::time`]). Randomness (seeds, nonces, codes, ids) comes
//! from the operating system's generator.

mod clock;
pub mod gate;
pub mod key;
pub mod otp;
mod outcome;
mod replicate;
mod transaction;

use crate::error::ApiError;
use otp::OtpHasher;
use sekimori_stepup::{Now, Sealer};
use sekimori_store::{Store, StoreError};
use sekimori_webauthn::{Passkey, Passkeys};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::{OwnedMutexGuard, Semaphore};

pub use clock::Clock;
pub use outcome::{
    channel_method, method_of, otp_reason, totp_reason, tx_reason, webauthn_reason, Outcome,
};
pub use transaction::{event_transaction, transaction};

/// The domain library, for this crate's users (the binary's cluster tests
/// compute a device's transaction code with it, as a device would).
pub use sekimori_stepup as domain;
pub use sekimori_stepup::{
    Ceremony, CeremonyKind, CEREMONY_TTL_MS, MAX_OPEN_CEREMONIES, MAX_PASSKEYS,
};

/// Step-up writes that may wait for the disk at once; with the events'
/// `MAX_PENDING` this stays below the store's queue, so the store never
/// refuses one.
pub const MAX_PENDING_WRITES: usize = 1024;

/// One (service, account)'s step-up record.
pub type AccountRecord = sekimori_stepup::AccountRecord<Passkey>;
type Locks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// The step-up service: secrets, relying party, webhook, store, clock,
/// per-account locks.
pub struct StepUp {
    pub sealer: Sealer,
    pub otp: OtpHasher,
    pub passkeys: Passkeys,
    /// The TOTP issuer shown by authenticator apps (`--rp-name`).
    pub issuer: String,
    /// Where SMS / e-mail codes go, signed (`--otp-webhook`).
    pub webhook: Option<otp::OtpWebhook>,
    /// The service that owns records written before they were kept per service.
    pub legacy_service: Option<String>,
    pub clock: Clock,
    store: Arc<Store>,
    locks: Locks,
    /// Serializes passkey registrations (the credential index spans accounts).
    register: tokio::sync::Mutex<()>,
    writes: Semaphore,
    /// The bound on verifications in flight.
    pub verify_gate: gate::VerifyGate,
    /// The app whose ledger logs every write (`replicate`); unset only
    /// before the app exists.
    log: OnceLock<Weak<crate::app::App>>,
    /// The workbench's key for the analysts of a replicated shard, derived
    /// from the master key (every node of the shard holds the same).
    workbench_key: zeroize::Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for StepUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUp")
            .field("rp_id", &self.passkeys.rp_id())
            .field("origin", &self.passkeys.origin().as_str())
            .field("issuer", &self.issuer)
            .field("webhook", &self.webhook.is_some())
            .field("legacy_service", &self.legacy_service)
            .finish_non_exhaustive()
    }
}

/// Holds one account's lock; forgets the lock when nobody else wants it.
pub struct AccountGuard {
    locks: Locks,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for AccountGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountGuard")
            .field("key", &self.key)
            .finish()
    }
}

impl Drop for AccountGuard {
    fn drop(&mut self) {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.guard.take());
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}

/// The store key of a (service, account)'s record. Service names have no `/`.
pub fn record_key(service: &str, account: &str) -> String {
    format!("tenant/{service}/{account}")
}

/// The key records had before they were kept per service.
pub fn legacy_record_key(account: &str) -> String {
    format!("account/{account}")
}

pub fn credential_key(id: &[u8]) -> String {
    format!("credential/{}", hex::encode(id))
}

/// A record to write (`None` deletes).
pub type Entry = (String, Option<Vec<u8>>);

/// The answer when the log (or this node's store) failed.
fn failed() -> ApiError {
    ApiError::new(
        "store_failed",
        "the durable log failed; the server accepts nothing until restarted",
    )
}

/// A loaded record and where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub record: AccountRecord,
    /// Read from the legacy key: delete it when the record is written.
    pub legacy: bool,
}

/// The follower's check of the analysts' records of shard `stream`: built
/// from `stepup.key` (`data_dir`'s, or `explicit`) as the leader's workbench
/// builds its key, so a follower refuses an analyst write whose MAC fails.
#[cfg(feature = "cluster")]
pub fn analyst_verifier(
    data_dir: &std::path::Path,
    explicit: Option<&std::path::Path>,
    stream: &str,
) -> anyhow::Result<sekimori_workbench::analyst_log::Verifier> {
    use sekimori_workbench::analyst_log::{derive, shard_key, verifier};
    let master = key::load_or_create(data_dir, explicit)?;
    key::check(&master)?;
    Ok(verifier(&shard_key(&derive(&master, "key/v1"), stream)))
}

impl StepUp {
    pub fn new(
        master: &[u8; 32],
        passkeys: Passkeys,
        issuer: String,
        webhook: Option<otp::OtpWebhook>,
        store: Arc<Store>,
        legacy_service: Option<String>,
    ) -> StepUp {
        StepUp {
            sealer: Sealer::new(master),
            otp: OtpHasher::new(master),
            passkeys,
            issuer,
            webhook,
            legacy_service,
            clock: Clock::default(),
            store,
            locks: Arc::default(),
            register: tokio::sync::Mutex::new(()),
            writes: Semaphore::new(MAX_PENDING_WRITES),
            verify_gate: gate::VerifyGate::default(),
            log: OnceLock::new(),
            workbench_key: sekimori_workbench::analyst_log::derive(master, "key/v1"),
        }
    }

    /// The workbench's key for a replicated shard's analysts (derived from
    /// `stepup.key`, never the key itself).
    pub fn workbench_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.workbench_key.clone()
    }

    /// The key a replicated shard's analysts are signed and sealed under:
    /// the workbench's key bound to the shard's stream (`stream`).
    pub fn shard_analysts_key(&self, stream: &str) -> zeroize::Zeroizing<[u8; 32]> {
        sekimori_workbench::analyst_log::shard_key(&self.workbench_key, stream)
    }

    /// The time of a request at `at_ms`, now.
    pub fn now(&self, at_ms: i64) -> Now {
        Now::new(at_ms, self.clock.now_ms())
    }

    /// Takes the (service, account)'s lock (waits for the operation before it).
    pub async fn lock(&self, service: &str, account: &str) -> AccountGuard {
        let key = record_key(service, account);
        let lock = {
            let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key.clone()).or_default())
        };
        let guard = lock.lock_owned().await;
        AccountGuard {
            locks: Arc::clone(&self.locks),
            key,
            guard: Some(guard),
        }
    }

    /// Serializes passkey registrations.
    pub async fn lock_registrations(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.register.lock().await
    }

    /// Reads a record (committed data only).
    pub async fn read(&self, key: String) -> Result<Option<Vec<u8>>, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.stepup(&key))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Reads a (service, account)'s record (empty when it has none; a legacy
    /// record for the legacy service). Hold its lock.
    pub async fn load(&self, service: &str, account: &str) -> Result<Loaded, ApiError> {
        let parse = |bytes: &[u8]| -> Result<AccountRecord, ApiError> {
            serde_json::from_slice(bytes)
                .map_err(|e| ApiError::internal(format!("step-up record unreadable: {e}")))
        };
        if let Some(bytes) = self.read(record_key(service, account)).await? {
            return Ok(Loaded {
                record: parse(&bytes)?,
                legacy: false,
            });
        }
        if self.legacy_service.as_deref() == Some(service) {
            if let Some(bytes) = self.read(legacy_record_key(account)).await? {
                return Ok(Loaded {
                    record: parse(&bytes)?,
                    legacy: true,
                });
            }
        }
        Ok(Loaded {
            record: AccountRecord::for_service(service),
            legacy: false,
        })
    }

    /// The writes of a (service, account)'s record (and the removal of the
    /// legacy record it came from).
    pub fn entries(service: &str, account: &str, loaded: &Loaded) -> Result<Vec<Entry>, ApiError> {
        let bytes = serde_json::to_vec(&loaded.record).map_err(ApiError::internal)?;
        let mut out = vec![(record_key(service, account), Some(bytes))];
        if loaded.legacy {
            out.push((legacy_record_key(account), None));
        }
        Ok(out)
    }

    /// Writes records in one transaction and waits until they are durable:
    /// through the log (an `Entry::StepUp`, see `replicate`) once the
    /// app is attached, so every replica of the log holds them.
    pub async fn persist(&self, entries: Vec<Entry>) -> Result<(), ApiError> {
        if self.store.is_failed() {
            return Err(failed());
        }
        let Ok(_permit) = self.writes.try_acquire() else {
            return Err(ApiError::new(
                "overloaded",
                "too many step-up writes wait for the disk; retry",
            ));
        };
        if let Some(logged) = self.log_writes(&entries).await {
            return logged;
        }
        let durable = self.store.submit(sekimori_store::Op::StepUp { entries });
        match durable.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(StoreError::Overloaded)) => Err(ApiError::new(
                "overloaded",
                "too many writes wait for the disk; retry",
            )),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a step-up write failed");
                Err(failed())
            }
            Err(_) => Err(failed()),
        }
    }

    /// Saves one (service, account)'s record and waits for the disk.
    pub async fn save(
        &self,
        service: &str,
        account: &str,
        loaded: &Loaded,
    ) -> Result<(), ApiError> {
        self.persist(StepUp::entries(service, account, loaded)?)
            .await
    }

    /// Under the account's lock: loads its record, applies `change`, and
    /// answers only once the changed record is durable. A `change` that fails
    /// writes nothing.
    pub async fn update<T>(
        &self,
        service: &str,
        account: &str,
        change: impl FnOnce(&mut AccountRecord) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let _lock = self.lock(service, account).await;
        let mut loaded = self.load(service, account).await?;
        let out = change(&mut loaded.record)?;
        self.save(service, account, &loaded).await?;
        Ok(out)
    }

    /// The logged event `id` of `service`, as the log holds it (`None`: not
    /// logged by that service, or not yet durable). Ids are unique per
    /// service: another service's event with the same id is not this one.
    pub async fn logged_event(
        &self,
        service: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let store = Arc::clone(&self.store);
        let (service, id) = (service.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || -> Result<Option<serde_json::Value>, String> {
            let seq = store
                .seq_of_service_event(&service, &id)
                .map_err(|e| e.to_string())?;
            let Some(seq) = seq else {
                return Ok(None);
            };
            let Some(bytes) = store.get(seq).map_err(|e| e.to_string())? else {
                return Ok(None);
            };
            match sekimori_engine::Entry::from_bytes(&bytes).map_err(|e| e.to_string())? {
                // A format-1 index finds the id whatever its service.
                sekimori_engine::Entry::Event { event, .. }
                    if event.get("service").and_then(serde_json::Value::as_str)
                        == Some(service.as_str()) =>
                {
                    Ok(Some(event))
                }
                _ => Ok(None),
            }
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
    }
}
