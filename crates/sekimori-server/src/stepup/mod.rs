//! Step-up authentication behind `/v1/stepup/*`: TOTP, transaction signing
//! (OCRA with dynamic linking), passkeys, and SMS / e-mail codes.
//!
//! # Persistence
//!
//! Everything is kept per account, in one record of the store's `stepup`
//! table (`account/<account>`, JSON): the account's [`StepUpState`] (sealed
//! TOTP seed, sealed OCRA device key, open transaction challenges), its
//! passkeys, its pending WebAuthn ceremonies (with their time limit) and its
//! sent SMS / e-mail codes (hashes only). `credential/<hex id>` maps each
//! registered passkey to its account, so one credential cannot be registered
//! twice.
//!
//! Every operation on an account holds that account's lock, reads the record
//! from the store, changes a copy, submits the new record to the group-commit
//! writer and waits for the fsync before it answers and lets the next
//! operation on the account in. A verification that fails is written too (its
//! failure count, a consumed ceremony), so a restart forgets nothing and never
//! re-opens a used challenge. Nothing is held in memory between requests, so
//! the state survives a restart by construction. Records are not log entries:
//! `sekimori export` does not carry them (the `mfa.result` events the
//! verifications produce are in the log).
//!
//! Time is the request's `at` (checked against the clock like an event's),
//! never the wall clock. Randomness (seeds, nonces, codes, ids) comes from the
//! operating system's generator.

pub mod key;
pub mod otp;

use crate::app::App;
use crate::error::ApiError;
use otp::{Channel, OtpHasher, OtpRefusal, PendingOtp};
use sekimori_event::MfaOutcome;
use sekimori_stepup::{Sealer, StepUpError, StepUpState, Transaction, TxError};
use sekimori_webauthn::{Passkey, Passkeys};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedMutexGuard, Semaphore};

/// How long a WebAuthn ceremony stays open (the browser's default timeout).
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
/// Ceremonies an account may have open at once.
pub const MAX_OPEN_CEREMONIES: usize = 8;
/// Passkeys an account may register.
pub const MAX_PASSKEYS: usize = 10;
/// Step-up writes that may wait for the disk at once; with the events'
/// `MAX_PENDING` this stays below the store's queue, so the store never
/// refuses one.
pub const MAX_PENDING_WRITES: usize = 1024;

/// One account's step-up record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AccountRecord {
    #[serde(default)]
    pub state: StepUpState,
    #[serde(default)]
    pub passkeys: Vec<Passkey>,
    /// Open WebAuthn ceremonies by id (the hex challenge).
    #[serde(default)]
    pub ceremonies: BTreeMap<String, Ceremony>,
    /// Sent SMS / e-mail codes by challenge id.
    #[serde(default)]
    pub otps: BTreeMap<String, PendingOtp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    Register,
    Auth,
}

/// A pending WebAuthn ceremony: webauthn-rs's state as JSON text, with its time limit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ceremony {
    pub kind: CeremonyKind,
    pub expires_at_ms: i64,
    pub state: String,
}

impl AccountRecord {
    /// Drops expired ceremonies; how many stay open.
    pub fn open_ceremonies_at(&mut self, now_ms: i64) -> usize {
        self.ceremonies.retain(|_, c| now_ms < c.expires_at_ms);
        self.ceremonies.len()
    }

    /// Drops dead codes; how many stay open.
    pub fn open_otps_at(&mut self, now_ms: i64) -> usize {
        self.otps.retain(|_, o| !o.is_dead(now_ms));
        self.otps.len()
    }
}

/// How a verification ended: the `mfa.result` outcome and the reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub result: MfaOutcome,
    pub reason: Option<&'static str>,
}

impl Outcome {
    pub fn success() -> Outcome {
        Outcome {
            result: MfaOutcome::Success,
            reason: None,
        }
    }

    pub fn failure(reason: &'static str) -> Outcome {
        let result = if reason == "expired" {
            MfaOutcome::Expired
        } else {
            MfaOutcome::Failure
        };
        Outcome {
            result,
            reason: Some(reason),
        }
    }
}

/// The step-up service: secrets, relying party, webhook, per-account locks.
pub struct StepUp {
    pub sealer: Sealer,
    pub otp: OtpHasher,
    pub passkeys: Passkeys,
    /// The TOTP issuer shown by authenticator apps (`--rp-name`).
    pub issuer: String,
    pub webhook: Option<String>,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Serializes passkey registrations (the credential index spans accounts).
    register: tokio::sync::Mutex<()>,
    writes: Semaphore,
}

impl std::fmt::Debug for StepUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUp")
            .field("rp_id", &self.passkeys.rp_id())
            .field("origin", &self.passkeys.origin().as_str())
            .field("issuer", &self.issuer)
            .field("webhook", &self.webhook.is_some())
            .finish_non_exhaustive()
    }
}

/// Holds one account's lock; forgets the lock when nobody else wants it.
pub struct AccountGuard {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    account: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for AccountGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountGuard")
            .field("account", &self.account)
            .finish()
    }
}

impl Drop for AccountGuard {
    fn drop(&mut self) {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.guard.take());
        if map
            .get(&self.account)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.account);
        }
    }
}

pub fn record_key(account: &str) -> String {
    format!("account/{account}")
}

pub fn credential_key(id: &[u8]) -> String {
    format!("credential/{}", hex::encode(id))
}

/// A record to write (`None` deletes).
pub type Entry = (String, Option<Vec<u8>>);

impl StepUp {
    pub fn new(
        master: &[u8; 32],
        passkeys: Passkeys,
        issuer: String,
        webhook: Option<String>,
    ) -> StepUp {
        StepUp {
            sealer: Sealer::new(master),
            otp: OtpHasher::new(master),
            passkeys,
            issuer,
            webhook,
            locks: Arc::default(),
            register: tokio::sync::Mutex::new(()),
            writes: Semaphore::new(MAX_PENDING_WRITES),
        }
    }

    /// Takes the account's lock (waits for the operation before it).
    pub async fn lock(&self, account: &str) -> AccountGuard {
        let lock = {
            let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(account.to_string()).or_default())
        };
        let guard = lock.lock_owned().await;
        AccountGuard {
            locks: Arc::clone(&self.locks),
            account: account.to_string(),
            guard: Some(guard),
        }
    }

    /// Serializes passkey registrations.
    pub async fn lock_registrations(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.register.lock().await
    }

    /// Reads a record (committed data only).
    pub async fn read(&self, app: &App, key: String) -> Result<Option<Vec<u8>>, ApiError> {
        let store = Arc::clone(&app.store);
        tokio::task::spawn_blocking(move || store.stepup(&key))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Reads an account's record (empty when it has none). Hold its lock.
    pub async fn load(&self, app: &App, account: &str) -> Result<AccountRecord, ApiError> {
        match self.read(app, record_key(account)).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::internal(format!("step-up record unreadable: {e}"))),
            None => Ok(AccountRecord::default()),
        }
    }

    /// The write of an account's record.
    pub fn entry(account: &str, record: &AccountRecord) -> Result<Entry, ApiError> {
        let bytes = serde_json::to_vec(record).map_err(ApiError::internal)?;
        Ok((record_key(account), Some(bytes)))
    }

    /// Writes records in one transaction and waits until they are durable.
    pub async fn persist(&self, app: &App, entries: Vec<Entry>) -> Result<(), ApiError> {
        if !app.is_ready() {
            return Err(ApiError::new(
                "store_failed",
                "the durable log failed; the server accepts nothing until restarted",
            ));
        }
        let Ok(_permit) = self.writes.try_acquire() else {
            return Err(ApiError::new(
                "overloaded",
                "too many step-up writes wait for the disk; retry",
            ));
        };
        let durable = app.store.submit(sekimori_store::Op::StepUp { entries });
        app.settle(durable).await
    }

    /// Saves one account's record and waits for the disk.
    pub async fn save(
        &self,
        app: &App,
        account: &str,
        record: &AccountRecord,
    ) -> Result<(), ApiError> {
        self.persist(app, vec![StepUp::entry(account, record)?])
            .await
    }

    /// Under the account's lock: loads its record, applies `change`, and
    /// answers only once the changed record is durable. A `change` that fails
    /// writes nothing.
    pub async fn update<T>(
        &self,
        app: &App,
        account: &str,
        change: impl FnOnce(&mut AccountRecord) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let _lock = self.lock(account).await;
        let mut record = self.load(app, account).await?;
        let out = change(&mut record)?;
        self.save(app, account, &record).await?;
        Ok(out)
    }
}

/// Maps a TOTP verification error to a reason code, or a server error.
pub fn totp_reason(e: StepUpError) -> Result<Outcome, ApiError> {
    use sekimori_stepup::TotpError as T;
    match e {
        StepUpError::NotEnrolled => Ok(Outcome::failure("not_enrolled")),
        StepUpError::Totp(T::WrongCode | T::MalformedCode) => Ok(Outcome::failure("wrong_code")),
        StepUpError::Totp(T::Replayed) => Ok(Outcome::failure("replayed")),
        StepUpError::Totp(T::Throttled) => Ok(Outcome::failure("too_many_failures")),
        other => Err(sealed_failure(other)),
    }
}

/// Maps a transaction-signing verification error to a reason code.
pub fn tx_reason(e: StepUpError) -> Result<Outcome, ApiError> {
    match e {
        StepUpError::NotEnrolled => Ok(Outcome::failure("not_enrolled")),
        StepUpError::UnknownChallenge => Ok(Outcome::failure("unknown_challenge")),
        StepUpError::Tx(t) => Ok(Outcome::failure(match t {
            TxError::TransactionChanged => "tx_changed",
            TxError::Expired => "expired",
            TxError::Used => "used",
            TxError::TooManyFailures => "too_many_failures",
            TxError::WrongCode => "wrong_code",
        })),
        other => Err(sealed_failure(other)),
    }
}

/// Maps a WebAuthn finish error to a reason code.
pub fn webauthn_reason(e: sekimori_webauthn::Error) -> Result<Outcome, ApiError> {
    use sekimori_webauthn::Error as E;
    match e {
        E::TransactionMismatch { .. } => Ok(Outcome::failure("tx_changed")),
        E::CounterNotIncreased { .. } => Ok(Outcome::failure("replayed")),
        E::UnknownCredential => Ok(Outcome::failure("unknown_credential")),
        E::NoCredentials => Ok(Outcome::failure("not_enrolled")),
        E::Webauthn(_) => Ok(Outcome::failure("invalid_assertion")),
        E::Config(c) => Err(ApiError::internal(c)),
    }
}

/// Maps an SMS / e-mail code refusal to a reason code.
pub fn otp_reason(r: OtpRefusal) -> Outcome {
    Outcome::failure(match r {
        OtpRefusal::Used => "used",
        OtpRefusal::TooManyFailures => "too_many_failures",
        OtpRefusal::Expired => "expired",
        OtpRefusal::WrongCode => "wrong_code",
    })
}

/// A secret that does not open under the master key: the key was replaced.
fn sealed_failure(e: StepUpError) -> ApiError {
    tracing::error!(error = %e, "a sealed step-up secret does not open: was the step-up key replaced?");
    ApiError::new(
        "internal",
        "a stored step-up secret does not open under this server's step-up key",
    )
}

/// The transaction a request names, with the account as payer.
pub fn transaction(account: &str, amount_minor: i64, currency: &str, payee: &str) -> Transaction {
    Transaction {
        account: account.to_string(),
        amount_minor,
        currency: currency.to_string(),
        payee: payee.to_string(),
    }
}

/// Whether a method counts as strong (see `MfaMethod::is_strong`).
pub fn channel_method(c: Channel) -> sekimori_event::MfaMethod {
    match c {
        Channel::Sms => sekimori_event::MfaMethod::Sms,
        Channel::Email => sekimori_event::MfaMethod::Email,
    }
}
