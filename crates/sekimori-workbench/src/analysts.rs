//! Analyst accounts, apart from API keys: `<data>/analysts.json` (mode
//! 0600), so `sekimori users create` works while the server runs, as
//! `keys.json` does. A record holds the password only as an argon2id PHC
//! string and the TOTP seed only sealed (ChaCha20-Poly1305, via
//! `sekimori-stepup`) under `<data>/analysts.key`, bound to the login; the
//! seed leaves the process once, in the provisioning URI shown at creation.

use crate::analyst_secrets::{hash_password, read_or_create_key, write_private};
use crate::error::WbError;
use sekimori_stepup::totp_uri::OtpauthUri;
use sekimori_stepup::{Sealer, TotpEnrollment, TotpParams};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const ANALYSTS_FILE: &str = "analysts.json";
pub const ANALYSTS_KEY_FILE: &str = "analysts.key";
/// The lock file every read-modify-write of `analysts.json` holds, across
/// processes (`sekimori users ...` while the server runs).
pub const ANALYSTS_LOCK_FILE: &str = "analysts.lock";
/// Marks a data directory whose analysts live in a replicated shard's log
/// (written by the workbench of a cluster node; `sekimori users` reads it).
pub const REPLICATED_MARK: &str = "analysts.replicated";
/// The shortest and longest password accepted.
pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 256;
/// Four eyes: two analysts are independent eyes unless one created or
/// (re-)enrolled the other within this many days.
pub const FOUR_EYES_FRESH_DAYS: i64 = 7;
/// The most analysts; the file is read whole.
pub const MAX_ANALYSTS: usize = 10_000;
/// The issuer an authenticator app shows.
pub const TOTP_ISSUER: &str = "sekimori workbench";

/// What an analyst may do. Supervisors also release money and lift holds;
/// admins also create analysts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Analyst,
    Supervisor,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "analyst" => Some(Role::Analyst),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

/// One stored analyst.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnalystRecord {
    pub login: String,
    pub role: Role,
    /// argon2id, PHC string format (salt and parameters inside).
    pub password: String,
    pub totp: TotpEnrollment,
    pub created_at: String,
    pub created_by: String,
    /// Who last (re-)enrolled the password and TOTP, and when (a reset by
    /// an admin); empty for an analyst never reset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub enrolled_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub enrolled_at: String,
    /// A disabled analyst cannot sign in.
    #[serde(default)]
    pub disabled: bool,
    /// Passkeys ([`crate::analyst_passkeys`]): public keys and counters only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<crate::analyst_passkeys::AnalystPasskey>,
}

/// What is shown of an analyst: never a hash or a seal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnalystInfo {
    pub login: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_at: String,
    pub disabled: bool,
    /// How many passkeys the analyst registered.
    pub passkeys: usize,
}

impl AnalystInfo {
    /// Whether `other` was created or (re-)enrolled by this analyst within
    /// [`FOUR_EYES_FRESH_DAYS`] before `now_ms`.
    fn made(&self, other: &AnalystInfo, now_ms: i64) -> bool {
        let fresh = |at: &str| {
            sekimori_event::parse_rfc3339_ms(at)
                .is_some_and(|t| now_ms - t < FOUR_EYES_FRESH_DAYS * 86_400_000)
        };
        (other.created_by == self.login && fresh(&other.created_at))
            || (other.enrolled_by == self.login && fresh(&other.enrolled_at))
    }
}

/// Whether `a` and `b` may be the two eyes of one release: different
/// analysts, neither of whom created or (re-)enrolled the other within
/// [`FOUR_EYES_FRESH_DAYS`] (an admin who makes a second account for
/// themselves cannot use it as the second eyes).
pub fn independent(a: &AnalystInfo, b: &AnalystInfo, now_ms: i64) -> bool {
    a.login != b.login && !a.made(b, now_ms) && !b.made(a, now_ms)
}

impl From<&AnalystRecord> for AnalystInfo {
    fn from(r: &AnalystRecord) -> Self {
        AnalystInfo {
            login: r.login.clone(),
            role: r.role,
            created_at: r.created_at.clone(),
            created_by: r.created_by.clone(),
            enrolled_by: r.enrolled_by.clone(),
            enrolled_at: r.enrolled_at.clone(),
            disabled: r.disabled,
            passkeys: r.passkeys.len(),
        }
    }
}

/// The analysts of one data directory (`analysts.json`), or of the
/// replicated shard the node belongs to ([`crate::analyst_log`]).
pub struct Analysts {
    dir: PathBuf,
    pub(crate) sealer: Sealer,
    /// Serialises this process's read-modify-write of the analysts.
    pub(crate) lock: Mutex<()>,
    /// `None`: `analysts.json`; else the shard's log.
    replicated: Option<crate::analyst_log::LogBackend>,
    /// Keys the stand-in passkey ids of logins without passkeys (kept
    /// across restarts: derived from the sealing key).
    pub(crate) stand_in_key: zeroize::Zeroizing<[u8; 32]>,
    /// Whether this process has rewritten sealed the records a previous
    /// release stored in the clear ([`Analysts::seal_legacy`]).
    sealed_legacy: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Analysts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysts").field("dir", &self.dir).finish()
    }
}

impl Analysts {
    /// Opens the analysts of `dir`, creating the sealing key on first use.
    pub fn open(dir: &Path) -> Result<Analysts, WbError> {
        let key = read_or_create_key(&dir.join(ANALYSTS_KEY_FILE))?;
        Ok(Analysts {
            dir: dir.to_path_buf(),
            sealer: Sealer::new(&key),
            lock: Mutex::new(()),
            replicated: None,
            stand_in_key: crate::analyst_log::derive(&key, "analysts/stand-in/v1"),
            sealed_legacy: Default::default(),
        })
    }

    /// The analysts of a replicated shard: read from `store`'s step-up
    /// table, written through `host`'s ledger; `key` is the workbench's
    /// key, derived by the server from the shard's shared `stepup.key`
    /// (TOTP seeds sealed, records signed and stand-in ids keyed under
    /// keys derived from it). `dir` keeps the operator's pending
    /// `sekimori users create` ([`Analysts::adopt_pending`]) and marks the
    /// directory as a cluster node's ([`REPLICATED_MARK`]).
    pub fn replicated(
        dir: &Path,
        store: std::sync::Arc<sekimori_store::Store>,
        host: std::sync::Arc<dyn crate::host::Host>,
        key: &[u8; 32],
    ) -> Result<Analysts, WbError> {
        use crate::analyst_log::{derive, LogBackend};
        write_private(
            &dir.join(REPLICATED_MARK),
            b"analysts live in the shard's log (sekimori users refuses changes here)\n",
        )?;
        Ok(Analysts {
            dir: dir.to_path_buf(),
            sealer: Sealer::new(&derive(key, "analysts/seal/v1")),
            lock: Mutex::new(()),
            replicated: Some(LogBackend::new(store, host, key)),
            stand_in_key: derive(key, "analysts/stand-in/v1"),
            sealed_legacy: Default::default(),
        })
    }

    /// For a replicated shard, once per process (the leader, when it opens
    /// its workbench): rewrites sealed every analyst record, and the list
    /// of logins, that a previous release stored with its body in the
    /// clear (their MAC holds, so they are read meanwhile; any write of a
    /// login seals it too). Returns whether it wrote.
    pub(crate) fn seal_legacy(&self) -> Result<bool, WbError> {
        use std::sync::atomic::Ordering;
        let Some(log) = &self.replicated else {
            return Ok(false);
        };
        if self.sealed_legacy.load(Ordering::Acquire) {
            return Ok(false);
        }
        let _serial = self.exclusive()?;
        let records = log.read()?;
        let wrote = log.any_legacy(&records)?;
        if wrote {
            log.write(&records)?;
            tracing::info!(
                analysts = records.len(),
                "analyst records stored in the clear by a previous release: rewritten sealed"
            );
        }
        self.sealed_legacy.store(true, Ordering::Release);
        Ok(wrote)
    }

    /// Whether the replicated shard holds a record under `login`'s key at
    /// all, verified or not (a pending CLI analyst is adopted only when it
    /// does not: a forged record never makes room for a stale one).
    pub(crate) fn shard_holds(&self, login: &str) -> Result<bool, WbError> {
        match &self.replicated {
            Some(log) => log.holds(login),
            None => Ok(false),
        }
    }

    /// Whether the analysts live in a replicated shard's log.
    pub fn is_replicated(&self) -> bool {
        self.replicated.is_some()
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// This process's lock and the exclusive file lock on
    /// [`ANALYSTS_LOCK_FILE`], held while `analysts.json` is read, changed
    /// and written back (another process waits; released on drop).
    pub(crate) fn exclusive(
        &self,
    ) -> Result<(std::sync::MutexGuard<'_, ()>, Option<std::fs::File>), WbError> {
        let serial = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.replicated.is_some() {
            // One writer: the lease holder, this process.
            return Ok((serial, None));
        }
        Ok((serial, Some(self.exclusive_file()?)))
    }

    /// The exclusive lock on [`ANALYSTS_LOCK_FILE`] alone (across
    /// processes; released when the file is dropped).
    pub(crate) fn exclusive_file(&self) -> Result<std::fs::File, WbError> {
        let path = self.dir.join(ANALYSTS_LOCK_FILE);
        let io = |e: std::io::Error| WbError::Storage(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(ANALYSTS_FILE)
    }

    pub(crate) fn read(&self) -> Result<Vec<AnalystRecord>, WbError> {
        if let Some(log) = &self.replicated {
            return log.read();
        }
        self.read_file()
    }

    pub(crate) fn read_file(&self) -> Result<Vec<AnalystRecord>, WbError> {
        match std::fs::read(self.path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| WbError::Storage(format!("{ANALYSTS_FILE}: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(WbError::Storage(format!("{ANALYSTS_FILE}: {e}"))),
        }
    }

    pub(crate) fn write(&self, records: &[AnalystRecord]) -> Result<(), WbError> {
        if let Some(log) = &self.replicated {
            return log.write(records);
        }
        self.write_file(records)
    }

    pub(crate) fn write_file(&self, records: &[AnalystRecord]) -> Result<(), WbError> {
        let bytes = serde_json::to_vec_pretty(records)
            .map_err(|e| WbError::Storage(format!("{ANALYSTS_FILE}: {e}")))?;
        write_private(&self.path(), &bytes)
    }

    /// Every analyst, by login.
    pub fn list(&self) -> Result<Vec<AnalystInfo>, WbError> {
        let mut out: Vec<AnalystInfo> = self.read()?.iter().map(AnalystInfo::from).collect();
        out.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(out)
    }

    /// Creates an analyst; returns the TOTP provisioning URI, the only time
    /// the seed is shown.
    pub fn create(
        &self,
        login: &str,
        role: Role,
        password: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<(AnalystInfo, OtpauthUri), WbError> {
        check_login(login)?;
        check_password(password)?;
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        if records.iter().any(|r| r.login == login) {
            return Err(WbError::invalid(
                "login",
                "an analyst with this login exists",
            ));
        }
        if records.len() >= MAX_ANALYSTS {
            return Err(WbError::invalid("login", "too many analysts"));
        }
        let (totp, uri) = TotpEnrollment::create(
            &self.sealer,
            &binding(login),
            TOTP_ISSUER,
            login,
            TotpParams::default(),
            now_ms,
            &mut rand::rng(),
        )
        .map_err(|e| WbError::Storage(format!("TOTP enrollment: {e}")))?;
        let record = AnalystRecord {
            login: login.into(),
            role,
            password: hash_password(password)?,
            totp,
            created_at: sekimori_event::format_rfc3339_ms(now_ms),
            created_by: by.into(),
            enrolled_by: String::new(),
            enrolled_at: String::new(),
            disabled: false,
            passkeys: Vec::new(),
        };
        let info = AnalystInfo::from(&record);
        records.push(record);
        self.write(&records)?;
        Ok((info, uri))
    }

    /// When analysts.json last changed (`None`: no file yet). For a
    /// replicated shard, the operator's pending file.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.path())
            .and_then(|m| m.modified())
            .ok()
    }

    /// The logins of the disabled analysts.
    pub fn disabled_logins(&self) -> Result<Vec<String>, WbError> {
        Ok(self
            .read()?
            .into_iter()
            .filter(|r| r.disabled)
            .map(|r| r.login)
            .collect())
    }

    /// One analyst, by login.
    pub fn get(&self, login: &str) -> Result<Option<AnalystInfo>, WbError> {
        Ok(self
            .read()?
            .iter()
            .find(|r| r.login == login)
            .map(AnalystInfo::from))
    }

    /// Disables (or enables again) an analyst. Their sessions are ended by
    /// the caller.
    pub fn set_disabled(&self, login: &str, disabled: bool) -> Result<AnalystInfo, WbError> {
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let r = records
            .iter_mut()
            .find(|r| r.login == login)
            .ok_or(WbError::NotFound("analyst"))?;
        r.disabled = disabled;
        let info = AnalystInfo::from(&*r);
        self.write(&records)?;
        Ok(info)
    }

    /// Resets an analyst's password and TOTP (a new seed, shown once in
    /// the returned URI) and removes every passkey: a reset is how an
    /// account's credentials are rotated after a compromise or a hand-over,
    /// so whoever registered a passkey meanwhile must not keep the account
    /// (nor have it counted as independent eyes once the reset ages). `by`
    /// is recorded as who enrolled them.
    pub fn reset(
        &self,
        login: &str,
        password: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<(AnalystInfo, OtpauthUri), WbError> {
        check_password(password)?;
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let r = records
            .iter_mut()
            .find(|r| r.login == login)
            .ok_or(WbError::NotFound("analyst"))?;
        let (totp, uri) = TotpEnrollment::create(
            &self.sealer,
            &binding(login),
            TOTP_ISSUER,
            login,
            TotpParams::default(),
            now_ms,
            &mut rand::rng(),
        )
        .map_err(|e| WbError::Storage(format!("TOTP enrollment: {e}")))?;
        r.password = hash_password(password)?;
        r.totp = totp;
        r.passkeys.clear();
        r.enrolled_by = by.into();
        r.enrolled_at = sekimori_event::format_rfc3339_ms(now_ms);
        let info = AnalystInfo::from(&*r);
        self.write(&records)?;
        Ok((info, uri))
    }
}

pub(crate) fn binding(login: &str) -> String {
    format!("workbench-analyst/{login}")
}

fn check_login(login: &str) -> Result<(), WbError> {
    // The operator's mark as the maker of an account (`created_by`): an
    // analyst named so would make accounts the four-eyes rule trusts.
    if login.eq_ignore_ascii_case(crate::actions::OPERATOR) {
        return Err(WbError::invalid(
            "login",
            "reserved: names the operator's `sekimori users` as a maker",
        ));
    }
    let ok = !login.is_empty()
        && login.len() <= 64
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(WbError::invalid(
            "login",
            "1-64 characters: letters, digits, `.`, `_`, `-`, `@`",
        ))
    }
}

fn check_password(password: &str) -> Result<(), WbError> {
    let n = password.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        Ok(())
    } else {
        Err(WbError::invalid(
            "password",
            format!("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ))
    }
}

#[cfg(test)]
#[path = "analysts_tests.rs"]
mod tests;
