//! Read transactions: point lookups, listings and the paged log scan.

use crate::tables::{EVENTS, EVENT_INDEX, LOG, META, PACKS, SNAPSHOT, SNAPSHOT_KEY, STEPUP};
use crate::{Store, StoreError};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::VecDeque;
use std::sync::Arc;

/// Rows fetched per read transaction by [`LogIter`].
pub const SCAN_CHUNK: usize = 1024;

type BytesTable = TableDefinition<'static, &'static str, &'static [u8]>;

/// The highest seq in the log, 0 when empty.
pub(crate) fn last_seq(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read()?;
    let table = txn.open_table(LOG)?;
    let last = table.last()?.map_or(0, |(k, _)| k.value());
    Ok(last)
}

impl Store {
    /// The highest committed seq, 0 when the log is empty.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        last_seq(&self.db)
    }

    /// The log record at `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOG)?;
        let value = table.get(seq)?.map(|v| v.value().to_vec());
        Ok(value)
    }

    /// The seq of the log record carrying the event `id` of `service`.
    ///
    /// A directory written before format 2 indexed ids alone (unique across
    /// services then): an id found only in that index gives its seq whatever
    /// the service, and **the caller checks the record's service**.
    pub fn seq_of_service_event(&self, service: &str, id: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        if let Some(seq) = events.get((id, service))? {
            return Ok(Some(seq.value()));
        }
        let legacy = txn.open_table(EVENT_INDEX)?;
        let seq = legacy.get(id)?.map(|v| v.value());
        Ok(seq)
    }

    /// [`Store::seq_of_service_event`] for many (service, id) pairs in one
    /// read transaction (the stream's chunk of lines checked for duplicates
    /// at once): each pair's seq, in the order given. The caller reads a
    /// found record's service as there.
    pub fn seqs_of_service_events(
        &self,
        keys: &[(&str, &str)],
    ) -> Result<Vec<Option<u64>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        if keys.is_empty() {
            return Ok(out);
        }
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let legacy = txn.open_table(EVENT_INDEX)?;
        for &(service, id) in keys {
            let seq = match events.get((id, service))? {
                Some(seq) => Some(seq.value()),
                None => legacy.get(id)?.map(|v| v.value()),
            };
            out.push(seq);
        }
        Ok(out)
    }

    /// The seqs of every log record carrying an event `id`, whatever its
    /// service (each service's, ascending by service name, then the format-1
    /// index's, which may repeat one of them). The caller reads each
    /// record's service.
    pub fn seqs_of_event(&self, id: &str) -> Result<Vec<u64>, StoreError> {
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let mut seqs = Vec::new();
        for row in events.range((id, "")..)? {
            let (k, v) = row?;
            if k.value().0 != id {
                break;
            }
            seqs.push(v.value());
        }
        let legacy = txn.open_table(EVENT_INDEX)?;
        if let Some(seq) = legacy.get(id)? {
            if !seqs.contains(&seq.value()) {
                seqs.push(seq.value());
            }
        }
        Ok(seqs)
    }

    /// The seq of a log record carrying an event `id` of any service (the
    /// first of [`Store::seqs_of_event`]). Ids are unique only within a
    /// service: prefer [`Store::seq_of_service_event`].
    pub fn seq_of_event(&self, id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.seqs_of_event(id)?.first().copied())
    }

    /// Iterates the log in ascending seq order from `from_seq` (inclusive), reading
    /// [`SCAN_CHUNK`] rows per read transaction so that memory stays bounded.
    pub fn scan_from(&self, from_seq: u64) -> Result<LogIter, StoreError> {
        Ok(LogIter {
            db: self.db.clone(),
            next: from_seq,
            buf: VecDeque::new(),
            done: false,
        })
    }

    /// A META entry.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_bytes(META, key)
    }

    /// A rule pack by version.
    pub fn pack(&self, version: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_bytes(PACKS, version)
    }

    /// A step-up record (see [`Op::StepUp`](crate::Op::StepUp)).
    pub fn stepup(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_bytes(STEPUP, key)
    }

    /// Every step-up record, ordered by key (a replicated node's snapshot
    /// carries them to a node that joins from it).
    pub fn stepups(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.list(STEPUP)
    }

    /// The keys of the step-up records under `prefix`, in key order: a
    /// key-only range scan (no value is read), so listing one prefix
    /// (the workbench's `analyst/`) never loads every customer's record.
    pub fn stepup_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STEPUP)?;
        let mut out = Vec::new();
        for row in table.range(prefix..)? {
            let (k, _) = row?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            out.push(k.to_string());
        }
        Ok(out)
    }

    /// Every stored rule pack, ordered by version string.
    pub fn packs(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.list(PACKS)
    }

    /// The latest snapshot: the seq it reflects and its bytes.
    pub fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SNAPSHOT)?;
        let snapshot = table.get(SNAPSHOT_KEY)?.map(|v| {
            let (seq, bytes) = v.value();
            (seq, bytes.to_vec())
        });
        Ok(snapshot)
    }

    fn get_bytes(&self, def: BytesTable, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(def)?;
        let value = table.get(key)?.map(|v| v.value().to_vec());
        Ok(value)
    }

    fn list(&self, def: BytesTable) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(def)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// Ascending iterator over log records, from [`Store::scan_from`].
///
/// Each page of [`SCAN_CHUNK`] rows is read in its own read transaction, so records
/// committed while the scan runs may be included. The iterator keeps the database open
/// (a clone of its handle) until dropped. After an error it yields nothing more.
pub struct LogIter {
    db: Arc<Database>,
    next: u64,
    buf: VecDeque<(u64, Vec<u8>)>,
    done: bool,
}

impl std::fmt::Debug for LogIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogIter")
            .field("next", &self.next)
            .field("buffered", &self.buf.len())
            .field("done", &self.done)
            .finish()
    }
}

impl LogIter {
    /// Reads the next page into `buf`.
    fn fill(&mut self) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOG)?;
        for row in table.range(self.next..)?.take(SCAN_CHUNK) {
            let (k, v) = row?;
            self.buf.push_back((k.value(), v.value().to_vec()));
        }
        match self.buf.back() {
            Some((last, _)) if self.buf.len() == SCAN_CHUNK && *last < u64::MAX => {
                self.next = last + 1;
            }
            _ => self.done = true,
        }
        Ok(())
    }
}

impl Iterator for LogIter {
    type Item = Result<(u64, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.buf.pop_front().map(Ok)
    }
}
