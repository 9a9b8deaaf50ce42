//! API keys. A key is `sk_<16 hex id>_<64 hex secret>`; only the SHA-256 of
//! the secret is kept, in `keys.json` in the data directory, written
//! atomically (temp file + rename) so `sekimori keys` can manage keys while
//! the server runs. The server re-reads the file when it changes.
//! A 256-bit random secret needs no slow hash: it cannot be guessed.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

pub const KEYS_FILE: &str = "keys.json";

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Send events and read their decisions.
    Ingest,
    /// Read decisions, packs, lists, holds.
    Read,
    /// Publish packs, edit lists, place and lift holds.
    Admin,
    /// Vote on withdrawals: post `withdrawal.approval` events whose
    /// `approver` is the key's own name (and, without `ingest`, nothing else).
    Approve,
    /// With `ingest`: post `wallet.outflow` events (the signer and the chain
    /// watcher of a custodian service), which can halt a hot wallet or an
    /// asset of that service.
    Custody,
    /// With `ingest`: post `mfa.result` events through `/v1/events`, for a
    /// service that runs its own MFA. Without it only the server's own
    /// `/v1/stepup/verify` reports step-up outcomes.
    Stepup,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            "approve" => Some(Scope::Approve),
            "custody" => Some(Scope::Custody),
            "stepup" => Some(Scope::Stepup),
            _ => None,
        }
    }
}

/// One stored key: never the secret, only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub secret_sha256: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The services (tenants) this key speaks for: it may send their events,
    /// read their decisions and holds, and nothing of any other service.
    /// `["*"]` ([`EVERY_SERVICE`]): every service (an operator's key, or a
    /// single-tenant deployment's key created with `--all-services`).
    /// A record without the field was written before keys were bound: an
    /// admin key of then speaks for every service, any other key for none
    /// (it must be created again with `--services`), so an upgrade never
    /// widens what a service's key may touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
}

/// The `services` entry of a key that speaks for every service.
pub const EVERY_SERVICE: &str = "*";

impl KeyRecord {
    /// The services this key speaks for; `None`: every service.
    pub fn speaks_for_services(&self) -> Option<Vec<String>> {
        match &self.services {
            Some(s) if s.iter().any(|x| x == EVERY_SERVICE) => None,
            Some(s) => Some(s.clone()),
            None if self.scopes.contains(&Scope::Admin) => None,
            None => Some(Vec::new()),
        }
    }
}

/// Who presented a key: its name, scopes and the services it speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `None`: every service.
    pub services: Option<Vec<String>>,
}

impl Principal {
    /// Whether this key may speak for `service`.
    pub fn speaks_for(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == service))
    }

    /// Whether this key speaks for every service.
    pub fn unbound(&self) -> bool {
        self.services.is_none()
    }
}

/// The longest key name and service name.
pub const MAX_NAME: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("no key with id {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

fn file_err(path: &Path, e: impl ToString) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Reads every key record (an absent file is an empty list).
pub fn read_keys(dir: &Path) -> Result<Vec<KeyRecord>, KeyError> {
    let path = dir.join(KEYS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| file_err(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(file_err(&path, e)),
    }
}

fn write_keys(dir: &Path, keys: &[KeyRecord]) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    // The data directory is private (0700) and keys.json 0600.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| file_err(dir, e))?;
    let path = dir.join(KEYS_FILE);
    let tmp = dir.join(format!("{KEYS_FILE}.tmp"));
    let bytes = serde_json::to_vec_pretty(keys).map_err(|e| file_err(&path, e))?;
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .map_err(|e| file_err(&tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| file_err(&path, e))
}

/// Creates a key that speaks for every service; returns its record and the
/// full key, shown once. See [`create_key_for`].
pub fn create_key(
    dir: &Path,
    name: &str,
    scopes: Vec<Scope>,
) -> Result<(KeyRecord, String), KeyError> {
    create_key_for(dir, name, scopes, None)
}

/// Creates a key bound to `services` (`None`: every service). Names are
/// unique among active keys, 1 to 64 characters with no control characters
/// or surrounding spaces; so are service names.
pub fn create_key_for(
    dir: &Path,
    name: &str,
    scopes: Vec<Scope>,
    services: Option<Vec<String>>,
) -> Result<(KeyRecord, String), KeyError> {
    check_name("key name", name)?;
    if let Some(list) = &services {
        if list.is_empty() {
            return Err(KeyError::Invalid(
                "name at least one service, or none for a key that speaks for every service".into(),
            ));
        }
        for s in list {
            check_name("service name", s)?;
        }
    }
    let mut keys = read_keys(dir)?;
    if keys
        .iter()
        .any(|k| k.revoked_at.is_none() && k.name == name)
    {
        return Err(KeyError::Invalid(format!(
            "an active key is already named `{name}`; names are unique (revoke it first)"
        )));
    }
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let (id, secret) = (hex::encode(id), hex::encode(secret));
    let record = KeyRecord {
        id: id.clone(),
        name: name.to_string(),
        scopes,
        secret_sha256: hash_hex(&secret),
        created_at: crate::ledger::wall_clock_rfc3339(),
        revoked_at: None,
        services: Some(services.map_or_else(
            || vec![EVERY_SERVICE.to_string()],
            |mut s| {
                s.sort();
                s.dedup();
                s
            },
        )),
    };
    keys.push(record.clone());
    write_keys(dir, &keys)?;
    Ok((record, format!("sk_{id}_{secret}")))
}

fn check_name(what: &str, name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(KeyError::Invalid(format!(
            "a {what} is 1 to {MAX_NAME} bytes, without control characters or surrounding spaces"
        )))
    }
}

/// Marks a key revoked.
pub fn revoke_key(dir: &Path, id: &str) -> Result<KeyRecord, KeyError> {
    let mut keys = read_keys(dir)?;
    let k = keys
        .iter_mut()
        .find(|k| k.id == id)
        .ok_or_else(|| KeyError::NotFound(id.into()))?;
    k.revoked_at
        .get_or_insert_with(crate::ledger::wall_clock_rfc3339);
    let out = k.clone();
    write_keys(dir, &keys)?;
    Ok(out)
}

/// Why a presented key was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Invalid,
    MissingScope(Scope),
}

/// The server's view of `keys.json`, reloaded when the file changes.
#[derive(Debug)]
pub struct KeyRing {
    dir: PathBuf,
    cached: Mutex<(Option<FileStamp>, Vec<KeyRecord>)>,
}

impl KeyRing {
    pub fn new(dir: &Path) -> KeyRing {
        KeyRing {
            dir: dir.to_path_buf(),
            cached: Mutex::new((None, Vec::new())),
        }
    }

    /// Checks a presented key for a scope; returns the key's name.
    pub fn check(&self, presented: &str, scope: Scope) -> Result<Principal, AuthFailure> {
        let who = self.authenticate(presented)?;
        if !who.scopes.contains(&scope) {
            return Err(AuthFailure::MissingScope(scope));
        }
        Ok(who)
    }

    /// Checks a presented key; returns who it is.
    pub fn authenticate(&self, presented: &str) -> Result<Principal, AuthFailure> {
        let (id, secret) = presented
            .strip_prefix("sk_")
            .and_then(|rest| rest.split_once('_'))
            .ok_or(AuthFailure::Invalid)?;
        let keys = self.current();
        let k = keys
            .iter()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or(AuthFailure::Invalid)?;
        if !constant_time_eq(hash_hex(secret).as_bytes(), k.secret_sha256.as_bytes()) {
            return Err(AuthFailure::Invalid);
        }
        Ok(Principal {
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            services: k.speaks_for_services(),
        })
    }

    fn current(&self) -> Vec<KeyRecord> {
        let path = self.dir.join(KEYS_FILE);
        let stamp = std::fs::metadata(&path).ok().map(|m| FileStamp::of(&m));
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != stamp || stamp.is_none() {
            match read_keys(&self.dir) {
                Ok(keys) => *cached = (stamp, keys),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read API keys; keeping the last good set")
                }
            }
        }
        cached.1.clone()
    }
}

/// Identifies one version of `keys.json`. Every write is a rename, so the inode
/// changes even when two writes land in the same mtime tick.
#[derive(Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(m: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
            inode: m.ino(),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
