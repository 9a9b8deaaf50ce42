//! The operator's `sekimori users ...` and the running server: the CLI
//! cannot append to the log itself (the server holds the store), so every
//! change it makes queues its audit act in `<data>/analysts.acts` (one JSON
//! line each, under the analysts' file lock), and the workbench appends
//! them to the log as `Entry::Analyst` by `cli` (at start and within a
//! second while it runs: [`Workbench::absorb_cli`]). An act leaves the
//! file only once the log holds it (the append answered, durable), so the
//! file's absence means every act queued before is in the log; a server
//! stopped between the append and the file's rewrite logs that act again
//! at its next start (twice, never lost).
//!
//! On a node of a replicated shard, analysts live in the shard's log: the
//! CLI refuses to change them there, except `users create`, which leaves
//! the analyst in `analysts.json` as pending; the node adopts it into the
//! log when it leads ([`Analysts::adopt_pending`]): how the shard's first
//! admin is made.

use crate::acts::Act;
use crate::analyst_secrets::{read_or_create_key, write_private};
use crate::analysts::{binding, AnalystRecord, Analysts, Role, ANALYSTS_FILE, ANALYSTS_KEY_FILE};
use crate::error::WbError;
use crate::workbench::Workbench;
use sekimori_engine::Entry;
use sekimori_stepup::Sealer;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The queued audit acts of the operator's CLI.
pub const QUEUED_ACTS_FILE: &str = "analysts.acts";
/// Who the CLI's acts are logged as (the operator's mark).
pub const CLI: &str = crate::actions::OPERATOR;

#[derive(Debug, Serialize, Deserialize)]
struct Queued {
    act: Act,
    /// When the CLI made the change (RFC 3339, its clock).
    at: String,
}

/// A queued act read back: the act, the CLI's time, and the offset in
/// `analysts.acts` just past its line.
type QueuedAct = (Act, String, usize);

/// Whether `dir` is a replicated shard's node (its workbench marked it).
pub fn is_replicated_dir(dir: &Path) -> bool {
    dir.join(crate::analysts::REPLICATED_MARK).exists()
}

impl Analysts {
    /// Queues the audit act of an operator's change (the CLI's), for the
    /// workbench to log. Call it once the change is stored.
    pub fn queue_cli_act(&self, act: &Act, now_ms: i64) -> Result<(), WbError> {
        let line = serde_json::to_string(&Queued {
            act: act.clone(),
            at: sekimori_event::format_rfc3339_ms(now_ms),
        })
        .map_err(|e| WbError::Storage(e.to_string()))?;
        let _serial = self.exclusive_file()?;
        let path = self.dir().join(QUEUED_ACTS_FILE);
        let mut bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(WbError::Storage(format!("{QUEUED_ACTS_FILE}: {e}"))),
        };
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        write_private(&path, &bytes)
    }

    /// Queues the `create_analyst` act of each adopted analyst, unless one
    /// is queued already (the CLI queued it when it made the analyst
    /// before this node was marked): one act per analyst made.
    pub(crate) fn queue_adopted(
        &self,
        adopted: Vec<(String, Role)>,
        now_ms: i64,
    ) -> Result<(), WbError> {
        if adopted.is_empty() {
            return Ok(());
        }
        let queued = {
            let _serial = self.exclusive_file()?;
            match std::fs::read(self.dir().join(QUEUED_ACTS_FILE)) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(WbError::Storage(format!("{QUEUED_ACTS_FILE}: {e}"))),
            }
        };
        let created: Vec<String> = queued
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice::<Queued>(l).ok())
            .filter_map(|q| match q.act {
                Act::CreateAnalyst { login, .. } => Some(login),
                _ => None,
            })
            .collect();
        for (login, role) in adopted {
            tracing::info!(login = %login, "analyst adopted into the shard's log");
            if !created.contains(&login) {
                self.queue_cli_act(&Act::CreateAnalyst { login, role }, now_ms)?;
            }
        }
        Ok(())
    }

    /// Reads the queued acts with their CLI times, each with the offset
    /// in the file just past its line, and the file's length. The file is
    /// left as it is: an act leaves it only once the log holds it
    /// ([`Analysts::drop_cli_acts`]), so a server stopped in between logs
    /// it at its next start rather than losing it.
    fn peek_cli_acts(&self) -> Result<(Vec<QueuedAct>, usize), WbError> {
        let _serial = self.exclusive_file()?;
        let path = self.dir().join(QUEUED_ACTS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(WbError::Storage(format!("{QUEUED_ACTS_FILE}: {e}"))),
        };
        let mut out = Vec::new();
        let mut start = 0;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            start += line.len();
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Queued>(text) {
                Ok(q) => out.push((q.act, q.at, start)),
                Err(e) => tracing::warn!(error = %e, "a queued analyst act does not read; skipped"),
            }
        }
        Ok((out, bytes.len()))
    }

    /// Drops the first `len` bytes of the queued acts (those the log now
    /// holds); what the CLI queued meanwhile (it only appends, under the
    /// same lock) stays. The file goes when nothing is left.
    fn drop_cli_acts(&self, len: usize) -> Result<(), WbError> {
        if len == 0 {
            return Ok(());
        }
        let _serial = self.exclusive_file()?;
        let path = self.dir().join(QUEUED_ACTS_FILE);
        let io = |e: std::io::Error| WbError::Storage(format!("{QUEUED_ACTS_FILE}: {e}"));
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        match bytes.get(len..) {
            Some(rest) if !rest.is_empty() => write_private(&path, rest),
            _ => std::fs::remove_file(&path).map_err(io),
        }
    }

    /// For a replicated shard: adopts the analysts the operator created in
    /// `analysts.json` (`sekimori users create` on this node) whose login
    /// the shard holds no record of at all (verified or not: an
    /// unverifiable record is not room for a stale copy): their TOTP seeds opened with
    /// `analysts.key` and sealed again under the shard's key, written
    /// through the log. The file is then renamed `analysts.json.adopted`,
    /// so it is adopted once. Returns the adopted (login, role).
    pub fn adopt_pending(&self) -> Result<Vec<(String, Role)>, WbError> {
        if !self.is_replicated() {
            return Ok(Vec::new());
        }
        // The leader, opening its workbench: records of a previous release
        // in the clear are sealed first.
        self.seal_legacy()?;
        let file = self.dir().join(ANALYSTS_FILE);
        if !file.exists() {
            return Ok(Vec::new());
        }
        let _file = self.exclusive_file()?;
        let pending = self.read_file()?;
        let local_key = read_or_create_key(&self.dir().join(ANALYSTS_KEY_FILE))?;
        let local = Sealer::new(&local_key);
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let mut adopted = Vec::new();
        for r in pending {
            // Held means any record under the key, verified or not: a
            // forged (unverifiable) record of a disabled or reset analyst
            // must not make room for this node's stale pending copy.
            if records.iter().any(|h| h.login == r.login) || self.shard_holds(&r.login)? {
                tracing::warn!(login = %r.login, "pending analyst not adopted: the shard has this login");
                continue;
            }
            let mut r: AnalystRecord = r;
            let b = binding(&r.login);
            let seed = local
                .open(&b, &r.totp.sealed_seed)
                .map_err(|e| WbError::Storage(format!("{ANALYSTS_FILE}: {}: {e}", r.login)))?;
            r.totp.sealed_seed = self
                .sealer
                .seal(&b, &seed, &mut rand::rng())
                .map_err(|e| WbError::Storage(format!("sealing: {e}")))?;
            adopted.push((r.login.clone(), r.role));
            records.push(r);
        }
        if !adopted.is_empty() {
            self.write(&records)?;
        }
        let done = self.dir().join(format!("{ANALYSTS_FILE}.adopted"));
        std::fs::rename(&file, &done)
            .map_err(|e| WbError::Storage(format!("{ANALYSTS_FILE}: {e}")))?;
        Ok(adopted)
    }
}

impl Workbench {
    /// Takes in what the operator's CLI did: adopts pending analysts (a
    /// replicated shard) and logs the queued acts, each as an
    /// `Entry::Analyst` by `cli` whose `why` names the CLI's time. Acts
    /// leave `analysts.acts` only once appended (durable); one that cannot
    /// be logged stays queued with those after it. One caller at a time
    /// (the workbench's catch-up task): two at once would both log what
    /// they both read.
    pub async fn absorb_cli(&self) -> Result<(), WbError> {
        let now = self.now_ms();
        if self.analysts.is_replicated() {
            let adopted = self.analysts.adopt_pending()?;
            self.analysts.queue_adopted(adopted, now)?;
        }
        let (acts, len) = self.analysts.peek_cli_acts()?;
        let mut logged = 0;
        for (act, at, end) in acts {
            let entry = serde_json::to_value(&act).map(|act| Entry::Analyst {
                by: CLI.into(),
                at: sekimori_event::format_rfc3339_ms(self.now_ms()),
                act,
                why: format!("sekimori users at {at}"),
            });
            let appended = match entry {
                Ok(entry) => self.append(entry).await,
                Err(e) => Err(WbError::Storage(e.to_string())),
            };
            if let Err(e) = appended {
                // Those logged leave the queue; this one and the rest stay
                // for the next round.
                self.analysts.drop_cli_acts(logged)?;
                return Err(e);
            }
            logged = end;
        }
        // Every act read is in the log now (and lines that do not read
        // are dropped with them).
        self.analysts.drop_cli_acts(len)?;
        self.sync().await.map(drop)
    }
}
