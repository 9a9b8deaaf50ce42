//! Reads: point lookups, listings and the paged log scan. Each looks in the
//! overlay (acknowledged, not yet applied) **first**, then opens its read
//! transaction: an entry that leaves the overlay meanwhile was committed before
//! it left, so the transaction that follows sees it (see `overlay`).

use crate::overlay::Overlay;
use crate::tables::{EVENTS, EVENT_INDEX, LOG, META, PACKS, SNAPSHOT, SNAPSHOT_KEY, STEPUP};
use crate::{Store, StoreError};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

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

/// The overlay, read. A panic of the writer or the applier while it held the
/// lock leaves it poisoned; reads go on (what a half-added batch shows is
/// journaled already), as the store's docs promise.
fn read(overlay: &RwLock<Overlay>) -> RwLockReadGuard<'_, Overlay> {
    overlay.read().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    fn overlay(&self) -> RwLockReadGuard<'_, Overlay> {
        read(&self.overlay)
    }

    /// The highest acknowledged seq, 0 when the log is empty.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let held = self.overlay().last_seq();
        Ok(held.unwrap_or_default().max(last_seq(&self.db)?))
    }

    /// The log record at `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(record) = self.overlay().record(seq) {
            return Ok(Some(record));
        }
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
        if let Some(seq) = self.overlay().event(service, id) {
            return Ok(Some(seq));
        }
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
        let held: Vec<Option<u64>> = {
            let overlay = self.overlay();
            keys.iter().map(|&(s, id)| overlay.event(s, id)).collect()
        };
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let legacy = txn.open_table(EVENT_INDEX)?;
        for (&(service, id), held) in keys.iter().zip(held) {
            let seq = match held {
                Some(seq) => Some(seq),
                None => match events.get((id, service))? {
                    Some(seq) => Some(seq.value()),
                    None => legacy.get(id)?.map(|v| v.value()),
                },
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
        let held = self.overlay().events_of(id);
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let mut by_service = BTreeMap::new();
        for row in events.range((id, "")..)? {
            let (k, v) = row?;
            let (k_id, service) = k.value();
            if k_id != id {
                break;
            }
            by_service.insert(service.to_string(), v.value());
        }
        // The overlay's are the newer.
        by_service.extend(held);
        let mut seqs: Vec<u64> = by_service.into_values().collect();
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
            overlay: self.overlay.clone(),
            next: from_seq,
            buf: VecDeque::new(),
            done: false,
        })
    }

    /// A META entry.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(bytes) = self.overlay().meta(key) {
            return Ok(Some(bytes));
        }
        self.get_bytes(META, key)
    }

    /// A rule pack by version.
    pub fn pack(&self, version: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(bytes) = self.overlay().pack(version) {
            return Ok(Some(bytes));
        }
        self.get_bytes(PACKS, version)
    }

    /// A step-up record (see [`Op::StepUp`](crate::Op::StepUp)).
    pub fn stepup(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(held) = self.overlay().stepup(key) {
            return Ok(held);
        }
        self.get_bytes(STEPUP, key)
    }

    /// Every step-up record, ordered by key (a replicated node's snapshot
    /// carries them to a node that joins from it).
    pub fn stepups(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let held = self.overlay().stepups_under("");
        Ok(merge(self.list(STEPUP)?, held))
    }

    /// The keys of the step-up records under `prefix`, in key order: a
    /// key-only range scan (no value is read), so listing one prefix
    /// (the workbench's `analyst/`) never loads every customer's record.
    pub fn stepup_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let held = self.overlay().stepups_under(prefix);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STEPUP)?;
        let mut keys: BTreeMap<String, bool> = BTreeMap::new();
        for row in table.range(prefix..)? {
            let (k, _) = row?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            keys.insert(k.to_string(), true);
        }
        for (k, v) in held {
            keys.insert(k, v.is_some());
        }
        Ok(keys
            .into_iter()
            .filter_map(|(k, live)| live.then_some(k))
            .collect())
    }

    /// Every stored rule pack, ordered by version string.
    pub fn packs(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let held = self
            .overlay()
            .packs()
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        Ok(merge(self.list(PACKS)?, held))
    }

    /// The latest snapshot: the seq it reflects and its bytes.
    pub fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        if let Some(held) = self.overlay().snapshot() {
            return Ok(Some(held));
        }
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

/// The database's rows with the overlay's written over them (`None`: deleted),
/// in key order.
fn merge(
    stored: Vec<(String, Vec<u8>)>,
    held: Vec<(String, Option<Vec<u8>>)>,
) -> Vec<(String, Vec<u8>)> {
    let mut rows: BTreeMap<String, Option<Vec<u8>>> =
        stored.into_iter().map(|(k, v)| (k, Some(v))).collect();
    rows.extend(held);
    rows.into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// Ascending iterator over log records, from [`Store::scan_from`].
///
/// Each page of [`SCAN_CHUNK`] rows is read in its own read transaction, so records
/// committed while the scan runs may be included. The iterator keeps the database open
/// (a clone of its handle) until dropped. After an error it yields nothing more.
pub struct LogIter {
    db: Arc<Database>,
    overlay: Arc<RwLock<Overlay>>,
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
    /// Reads the next page into `buf`: the overlay's first [`SCAN_CHUNK`]
    /// records from `next`, then the database's, merged, the first
    /// [`SCAN_CHUNK`] of them. The database holds a prefix of the log and the
    /// overlay what was acknowledged after it (they may overlap), so the page
    /// has no hole.
    fn fill(&mut self) -> Result<(), StoreError> {
        let held = read(&self.overlay).records_from(self.next, SCAN_CHUNK);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOG)?;
        let mut page: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for row in table.range(self.next..)?.take(SCAN_CHUNK) {
            let (k, v) = row?;
            page.insert(k.value(), v.value().to_vec());
        }
        page.extend(held);
        self.buf.extend(page.into_iter().take(SCAN_CHUNK));
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
