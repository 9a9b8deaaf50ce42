//! The step-up master key: 32 random bytes that seal every OTP seed and
//! device key and key the SMS / e-mail code hashes.
//!
//! By default it lives in the data directory as `stepup.key`, created on the
//! first start (mode 0600, fsynced, never overwritten). `--stepup-key FILE`
//! names a file the operator provisioned instead (32 raw bytes, or 64 hex
//! digits); production should keep it outside the data directory, so that a
//! copy of the data directory (a backup, an export) does not carry the key
//! that opens its seeds. Losing the key makes every enrollment unusable.

use anyhow::{anyhow, bail, Context};
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "stepup.key";

/// A 32-byte master key, zeroed when dropped.
pub type MasterKey = Zeroizing<[u8; 32]>;

/// Reads `explicit` (which must exist), or reads or creates `data_dir/stepup.key`.
pub fn load_or_create(data_dir: &Path, explicit: Option<&Path>) -> anyhow::Result<MasterKey> {
    if let Some(path) = explicit {
        return read_key(path);
    }
    let path = data_dir.join(KEY_FILE);
    match create(&path) {
        Ok(key) => {
            tracing::info!(path = %path.display(), "created a new step-up master key");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// Creates the key file with a fresh key; fails with `AlreadyExists` if it is there.
fn create(path: &Path) -> std::io::Result<MasterKey> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(key.as_mut());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.as_ref())?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(key)
}

fn read_key(path: &Path) -> anyhow::Result<MasterKey> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("reading the step-up key {}", path.display()))?,
    );
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the step-up key is readable by group or others; chmod 600 it");
        }
    }
    parse(&bytes).ok_or_else(|| {
        anyhow!(
            "{}: a step-up key is 32 raw bytes or 64 hex digits",
            PathBuf::from(path).display()
        )
    })
}

/// 32 raw bytes, or 64 hex digits with optional surrounding whitespace.
fn parse(bytes: &[u8]) -> Option<MasterKey> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() == 32 {
        key.copy_from_slice(bytes);
        return Some(key);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() != 64 {
        return None;
    }
    hex::decode_to_slice(text, key.as_mut()).ok()?;
    Some(key)
}

/// Refuses a key of all zeros (an unfilled file).
pub fn check(key: &MasterKey) -> anyhow::Result<()> {
    if key.iter().all(|&b| b == 0) {
        bail!("the step-up key is all zeros; generate one with `head -c 32 /dev/urandom`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create(dir.path(), None).expect("creates");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = load_or_create(dir.path(), None).expect("reads");
        assert_eq!(*a, *b);
        check(&a).expect("random key");
    }

    #[test]
    fn explicit_key_must_exist_and_be_32_bytes_or_64_hex() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        assert!(load_or_create(dir.path(), Some(&path)).is_err());
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).expect("write");
        let key = load_or_create(dir.path(), Some(&path)).expect("hex key");
        assert_eq!(*key, [0xab; 32]);
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "no key made in the data dir"
        );
        std::fs::write(&path, "short").expect("write");
        assert!(load_or_create(dir.path(), Some(&path)).is_err());
        assert!(check(&Zeroizing::new([0u8; 32])).is_err());
    }
}
