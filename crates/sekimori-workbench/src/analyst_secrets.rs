//! The analysts file's secrets and bytes: argon2id password hashes (and
//! the stand-in hash an unknown login is checked against), the sealing key
//! `analysts.key` and the 0600 atomic writes of both files.

use crate::error::WbError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use std::path::Path;
use zeroize::Zeroizing;

/// An argon2id hash of a random password nobody has, verified against
/// when the login is unknown (drawn once per process).
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 24];
        rand::rng().fill_bytes(&mut pw);
        hash_password(&hex::encode(pw)).unwrap_or_default()
    })
}

pub(crate) fn hash_password(password: &str) -> Result<String, WbError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| WbError::Storage(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WbError::Storage(format!("password hash: {e}")))
}

pub(crate) fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The 32-byte sealing key: read, or drawn and written 0600 on first use.
pub(crate) fn read_or_create_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, WbError> {
    let mut key = Zeroizing::new([0u8; 32]);
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() == 32 => {
            key.copy_from_slice(&bytes);
            Ok(key)
        }
        Ok(_) => Err(WbError::Storage(format!(
            "{}: the key file must hold 32 bytes",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            rand::rng().fill_bytes(key.as_mut());
            write_private(path, key.as_ref())?;
            Ok(key)
        }
        Err(e) => Err(WbError::Storage(format!("{}: {e}", path.display()))),
    }
}

/// Writes `bytes` to `path` atomically (a temporary file renamed over it), mode 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WbError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| WbError::Storage(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
