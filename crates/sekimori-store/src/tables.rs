//! redb table definitions and the one-time initialisation done at open.

use crate::format::{format_line, FORMAT_VERSION, OLDER_FORMATS};
use crate::StoreError;
use redb::{Database, Durability, ReadableTable, TableDefinition};

/// The append-only log: seq -> record bytes.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// (event id, service) -> seq of the log record carrying it (format 2 on).
/// Keyed by id first so that every service's use of an id is one range.
pub(crate) const EVENTS: TableDefinition<(&str, &str), u64> = TableDefinition::new("events");
/// Format 1's index, event id -> seq, from when ids were unique across
/// services: read (never written) so that a directory written then keeps
/// its duplicates; the record carries the service, which the caller checks.
pub(crate) const EVENT_INDEX: TableDefinition<&str, u64> = TableDefinition::new("event_index");
/// Small settings.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Rule-pack history: version -> pack bytes.
pub(crate) const PACKS: TableDefinition<&str, &[u8]> = TableDefinition::new("packs");
/// The single engine-state snapshot, under [`SNAPSHOT_KEY`]: (seq, bytes).
pub(crate) const SNAPSHOT: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("snapshot");
/// Step-up state (enrollments, passkeys, open challenges): key -> record bytes.
pub(crate) const STEPUP: TableDefinition<&str, &[u8]> = TableDefinition::new("stepup");

/// The only key of [`SNAPSHOT`].
pub(crate) const SNAPSHOT_KEY: &str = "current";
/// The META key holding the last journal batch a durable commit covers
/// (little-endian `u64`; absent: 0). Written by checkpoints only.
pub(crate) const JOURNAL_BATCH: &str = "journal_batch";
/// The META key holding the format version (decimal text).
pub const META_FORMAT_VERSION: &str = "format_version";

/// Creates every table (so that read transactions never meet a missing one) and checks or
/// records the format version in META; a format-1 database is upgraded (its `event_index`
/// stays, read only). Commits durably.
pub(crate) fn init(db: &Database) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        txn.open_table(LOG)?;
        txn.open_table(EVENT_INDEX)?;
        txn.open_table(EVENTS)?;
        txn.open_table(PACKS)?;
        txn.open_table(SNAPSHOT)?;
        txn.open_table(STEPUP)?;
        let mut meta = txn.open_table(META)?;
        let expected = FORMAT_VERSION.to_string();
        let found = meta
            .get(META_FORMAT_VERSION)?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned());
        match found {
            Some(found) if found == expected => {}
            Some(found) if !OLDER_FORMATS.iter().any(|v| found == v.to_string()) => {
                return Err(StoreError::Format {
                    found: format!("META {META_FORMAT_VERSION} = {found}"),
                    expected: format_line(),
                });
            }
            // Fresh, or an older format: format 1's new index starts empty
            // beside the old one; format 2 had no journal, so none is pending.
            _ => {
                meta.insert(META_FORMAT_VERSION, expected.as_bytes())?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// The last journal batch the database holds durably ([`JOURNAL_BATCH`]).
pub(crate) fn checkpointed_batch(db: &Database) -> Result<u64, StoreError> {
    use redb::ReadableDatabase;
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let batch = meta.get(JOURNAL_BATCH)?.map_or(0, |v| {
        v.value()
            .try_into()
            .map(u64::from_le_bytes)
            .unwrap_or_default()
    });
    Ok(batch)
}
