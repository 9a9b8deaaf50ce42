//! The data directory is private: created 0700, its files 0600; an existing
//! looser directory is reported, not changed.

use sekimori_store::{Store, DB_FILE, FORMAT_FILE};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn a_new_data_directory_and_its_files_are_private() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data").join("nested");
    let store = Store::open(&dir).expect("open");
    assert_eq!(store.loose_permissions(), None);
    drop(store);
    assert_eq!(mode(&dir), 0o700, "directory");
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600, "database");
    assert_eq!(mode(&dir.join(FORMAT_FILE)), 0o600, "FORMAT");
    // Reopening works and keeps the modes.
    Store::open(&dir).expect("reopen");
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
}

#[test]
fn an_existing_loose_directory_is_reported_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let store = Store::open(&dir).expect("opens anyway");
    assert_eq!(store.loose_permissions(), Some(0o755));
    assert_eq!(mode(&dir), 0o755, "not changed");
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
}
