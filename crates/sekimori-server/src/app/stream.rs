//! The engine side of `POST /v1/events/stream`: lines the route decoded come
//! in chunks; each chunk is decided in order under the ledger lock (yielding
//! to every single event that waits, as a batch does), then settled in
//! order in a task of its own: an answer line goes out only once its
//! decision is durable. The settling task runs to the end whether or not the
//! client still reads, so a client that goes away never leaves a pending
//! slot or an in-flight entry behind, and every event it sent in full is
//! decided and logged.

use super::batch::Decided;
use super::{engine_busy, AnswerRef, App};
use crate::error::ApiError;
use crate::keys::Principal;
use crate::ledger::Ledger;
use crate::telemetry;
use axum::body::Bytes;
use sekimori_engine::Prepared;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

/// Streams open at once; one more is refused with `engine_busy` (429).
pub const MAX_STREAMS: usize = 8;

/// One line of a stream, as the route read it.
#[derive(Debug)]
pub enum Line {
    /// A valid event this key may send, and when its line was read.
    Event(Box<Prepared>, Instant),
    /// A line refused before the engine: its error.
    Refused(ApiError),
}

/// Lines read together, with their places in the stream's in-flight
/// bounds, lines and line bytes (given back once their answers are written
/// out).
#[derive(Debug)]
pub struct Chunk {
    pub lines: Vec<Line>,
    pub permit: OwnedSemaphorePermit,
    pub bytes: OwnedSemaphorePermit,
}

/// Streams one tenant may hold open at once: the [`MAX_STREAMS`] places
/// are shared by every tenant, so no tenant takes them all. A tenant is a
/// service: a stream counts against every service its key speaks for,
/// whichever of the service's keys opened it. A key that speaks for every
/// service (the operator's, or a single-tenant deployment's) counts per key
/// name.
pub const MAX_STREAMS_PER_TENANT: usize = 2;

/// What streams are counted against.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tenant {
    /// A service a key is bound to.
    Service(String),
    /// A key that speaks for every service (or, for a legacy key, none),
    /// by name.
    Key(String),
    /// Every key that speaks for every service, together: for the reserve
    /// only (see [`App::admit_stream`]).
    Unbound,
}

/// Streams open per tenant.
pub type StreamKeys = Arc<std::sync::Mutex<std::collections::HashMap<Tenant, usize>>>;

/// A stream's admission: held while the stream is open.
#[derive(Debug)]
pub struct StreamPermit {
    _permit: OwnedSemaphorePermit,
    keys: StreamKeys,
    tenants: Vec<Tenant>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for tenant in &self.tenants {
            if let Some(n) = keys.get_mut(tenant) {
                *n -= 1;
                if *n == 0 {
                    keys.remove(tenant);
                }
            }
        }
    }
}

/// What a stream of `who` is counted against: each service it speaks for,
/// or its key name and [`Tenant::Unbound`] for a key that speaks for every
/// service.
fn tenants_of(who: &Principal) -> Vec<Tenant> {
    match &who.services {
        Some(services) if !services.is_empty() => {
            let mut t: Vec<Tenant> = services.iter().cloned().map(Tenant::Service).collect();
            t.sort();
            t.dedup();
            t
        }
        _ => vec![Tenant::Key(who.name.clone()), Tenant::Unbound],
    }
}

impl App {
    /// Admits one more stream of `who`, or refuses it at once
    /// (`engine_busy`) when [`MAX_STREAMS`] are open, or when one of its
    /// tenants holds [`MAX_STREAMS_PER_TENANT`]. One place is kept for a
    /// tenant that holds none: a stream of a tenant that already holds one
    /// is admitted only while two places are free, so however many keys
    /// (or services acting together) a tenant has, another tenant's first
    /// stream finds a place.
    pub fn admit_stream(&self, who: &Principal) -> Result<StreamPermit, ApiError> {
        let keys = Arc::clone(&self.admission.stream_keys);
        let tenants = tenants_of(who);
        let mut open = keys.lock().unwrap_or_else(|p| p.into_inner());
        let held = |t: &Tenant| open.get(t).copied().unwrap_or(0);
        let capped = tenants.iter().filter(|t| **t != Tenant::Unbound);
        if capped.clone().any(|t| held(t) >= MAX_STREAMS_PER_TENANT) {
            telemetry::shed("stream");
            return Err(engine_busy(
                "this tenant has as many streams open as it may; nothing of this stream was decided or stored",
            ));
        }
        let newcomer = tenants.iter().all(|t| held(t) == 0);
        // Places are taken only under `open`, so this count can only grow
        // (a stream ending) before the acquire below.
        let free = self.admission.streams.available_permits();
        let permit = match newcomer || free >= 2 {
            true => Arc::clone(&self.admission.streams).try_acquire_owned().ok(),
            false => None,
        };
        let Some(permit) = permit else {
            telemetry::shed("stream");
            return Err(engine_busy(
                "too many streams are open; nothing of this stream was decided or stored",
            ));
        };
        for t in &tenants {
            *open.entry(t.clone()).or_default() += 1;
        }
        drop(open);
        Ok(StreamPermit {
            _permit: permit,
            keys,
            tenants,
        })
    }

    /// Decides the chunks of one stream in order and writes each line's
    /// answer (NDJSON) to `out`, in the order of the lines. Returns when
    /// `chunks` ends and every decided event is settled.
    ///
    /// Deciding and settling overlap: the lines of a chunk go to the
    /// settling task [`PART_LINES`] at a time as they are decided (each
    /// one's entry already handed to the log's group commit), so the
    /// settler waits for their commit while the rest of the chunk, and the
    /// next chunk, are decided.
    pub async fn run_stream(
        self: Arc<Self>,
        mut chunks: mpsc::Receiver<Chunk>,
        out: mpsc::Sender<Bytes>,
        permit: StreamPermit,
    ) {
        // Bounded by the chunks' permits (the stream's in-flight bound).
        let (settle_tx, settle_rx) = mpsc::unbounded_channel();
        let settler = tokio::spawn(Arc::clone(&self).settle_stream(settle_rx, out));
        while let Some(chunk) = chunks.recv().await {
            if !self.decide_chunk(Arc::new(chunk), &settle_tx).await {
                break;
            }
        }
        drop(settle_tx);
        let _ = settler.await;
        drop(permit);
    }

    /// Decides one chunk under the ledger lock, line by line, handing the
    /// decided lines to the settler in parts. `false`: the settler is gone.
    async fn decide_chunk(&self, chunk: Arc<Chunk>, settle: &mpsc::UnboundedSender<Part>) -> bool {
        let lines = &chunk.lines;
        let budget = Duration::from_millis(
            self.config
                .time_budget_ms
                .unwrap_or_else(|| self.live_pack().settings.time_budget_ms),
        );
        let mut part = Part::new(&chunk, 0);
        let mut ledger = self.ledger.lock().await;
        // Looked up once for the chunk, under this hold of the lock.
        let mut absent = self.absent_lines(&ledger, lines);
        let mut from = 0;
        for (i, line) in lines.iter().enumerate() {
            if part.decided.len() >= PART_LINES {
                let next = Part::new(&chunk, i);
                if settle.send(std::mem::replace(&mut part, next)).is_err() {
                    return false;
                }
            }
            let (prepared, read_at) = match line {
                Line::Refused(e) => {
                    part.decided.push(Decided::Ready(Box::new(Err(e.clone()))));
                    continue;
                }
                Line::Event(p, at) => (p, at),
            };
            if i > 0 && self.admission.single_waiting() {
                // The lock is fair: a waiting single event goes first. What
                // is decided so far goes to the settler before the wait.
                if !part.decided.is_empty() {
                    let next = Part::new(&chunk, i);
                    if settle.send(std::mem::replace(&mut part, next)).is_err() {
                        return false;
                    }
                }
                drop(ledger);
                tokio::task::yield_now().await;
                ledger = self.ledger.lock().await;
                // Others decided meanwhile: look again for the rest.
                absent = self.absent_lines(&ledger, &lines[i..]);
                from = i;
            }
            if !self.is_ready() {
                part.decided.push(Decided::Ready(Box::new(Err(ApiError::new(
                    "store_failed",
                    "the durable log failed; this was not accepted",
                )))));
                continue;
            }
            // Not decided within the time budget of its arrival: shed, never
            // a fallback (an event of a stream is decided or not at all).
            if read_at.elapsed() > budget {
                telemetry::shed("stream");
                part.decided.push(Decided::Ready(Box::new(Err(engine_busy(
                    "the engine did not reach this event within the time budget; it was not decided or stored",
                )))));
                continue;
            }
            part.decided
                .push(self.decide_in_order(&mut ledger, prepared, absent[i - from], true));
        }
        drop(ledger);
        part.decided.is_empty() || settle.send(part).is_ok()
    }

    /// [`App::absent`] for the events among `lines` (`false` for a refused
    /// line; no store read for a chunk without events).
    fn absent_lines(&self, ledger: &Ledger, lines: &[Line]) -> Vec<bool> {
        let events: Vec<_> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Event(p, _) => Some(p.event()),
                Line::Refused(_) => None,
            })
            .collect();
        if events.is_empty() {
            return vec![false; lines.len()];
        }
        let mut found = self.absent(ledger, &events).into_iter();
        lines
            .iter()
            .map(|l| matches!(l, Line::Event(..)) && found.next().unwrap_or(false))
            .collect()
    }

    /// Settles decided lines in order and writes their answers out as their
    /// commits land: answers are gathered while their entries are durable
    /// already, and written (one write) whenever the next line's commit, or
    /// the next part, is still to come. Keeps settling when the client is
    /// gone (`out` closed).
    async fn settle_stream(
        self: Arc<Self>,
        mut parts: mpsc::UnboundedReceiver<Part>,
        out: mpsc::Sender<Bytes>,
    ) {
        let mut answers = Answers::default();
        loop {
            let part = match parts.try_recv() {
                Ok(part) => part,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.write_out(&mut answers, &out).await;
                    match parts.recv().await {
                        Some(part) => part,
                        None => break,
                    }
                }
            };
            let Part {
                chunk,
                from,
                decided,
            } = part;
            let n = decided.len();
            for (i, item) in (from..).zip(decided) {
                let Some(line) = chunk.lines.get(i) else {
                    break;
                };
                let buf = &mut answers.buf;
                let (decision, mut durable, placed, json) = match (item, line) {
                    (Decided::Ready(r), _) => {
                        write_line(buf, r.as_ref().as_ref().map(AnswerRef::of));
                        continue;
                    }
                    (Decided::Pending(..), Line::Refused(e)) => {
                        write_line(buf, Err(e));
                        continue;
                    }
                    (Decided::Pending(d, durable, placed, json), Line::Event(..)) => {
                        (d, durable, placed, json)
                    }
                };
                let landed = match durable.try_recv() {
                    Ok(landed) => Ok(landed),
                    Err(oneshot::error::TryRecvError::Closed) => {
                        Ok(Err(sekimori_store::StoreError::Failed))
                    }
                    Err(oneshot::error::TryRecvError::Empty) => {
                        // Its commit is still to land: what is answered so
                        // far goes out first.
                        self.write_out(&mut answers, &out).await;
                        (&mut durable).await
                    }
                };
                let settled = self.landed(landed);
                answers.settled.push((Arc::clone(&chunk), i));
                let buf = &mut answers.buf;
                let Line::Event(p, read_at) = line else {
                    continue;
                };
                match settled {
                    Ok(()) => {
                        self.notify(p.event(), &decision, &placed);
                        telemetry::decision(&decision, read_at.elapsed(), None);
                        match json.is_empty() {
                            false => write_decided(buf, &decision, &json),
                            true => write_line(buf, Ok(AnswerRef::decided(&decision))),
                        }
                    }
                    Err(e) => write_line(buf, Err(&e)),
                }
            }
            if from + n == chunk.lines.len() {
                // The chunk is decided to its end: its events may leave the
                // in-flight table (see `Answers::settled`).
                answers.releasable = answers.settled.len();
            }
            answers.chunks.push(chunk);
        }
        self.write_out(&mut answers, &out).await;
    }

    /// Writes the gathered answers out (unless the client is gone), after
    /// releasing the pending slots and in-flight entries of the settled
    /// events among them; then gives back the chunks' in-flight places.
    async fn write_out(&self, answers: &mut Answers, out: &mpsc::Sender<Bytes>) {
        if answers.releasable > 0 {
            let settled = answers.settled.drain(..answers.releasable);
            self.release(settled.as_slice().iter().filter_map(
                |(chunk, i)| match chunk.lines.get(*i) {
                    Some(Line::Event(p, _)) => Some(p.event()),
                    _ => None,
                },
            ));
            answers.releasable = 0;
        }
        if !answers.buf.is_empty() {
            let buf = std::mem::take(&mut answers.buf);
            if answers.open && out.send(Bytes::from(buf)).await.is_err() {
                // The client went away: settle the rest, answer no one.
                answers.open = false;
            }
        }
        answers.chunks.clear();
    }
}

/// Decided lines of a chunk are handed to the settler at most this many at
/// a time, so a line's answer waits for its own commit, not for the rest of
/// its chunk to be decided.
pub const PART_LINES: usize = 16;

/// Decided lines of a chunk: `decided[k]` is line `from + k`'s.
struct Part {
    chunk: Arc<Chunk>,
    from: usize,
    decided: Vec<Decided>,
}

impl Part {
    fn new(chunk: &Arc<Chunk>, from: usize) -> Part {
        Part {
            chunk: Arc::clone(chunk),
            from,
            decided: Vec::with_capacity(PART_LINES.min(chunk.lines.len() - from)),
        }
    }
}

/// Answers gathered and not yet written out.
struct Answers {
    /// The answer lines, in order.
    buf: Vec<u8>,
    /// Decided events settled (durable or failed), by chunk and line, in
    /// order: their pending slots and in-flight entries are released before
    /// the write, but only once their whole chunk is decided. A chunk is
    /// decided under one hold of the ledger lock with its duplicates looked
    /// up in the log once, at the start of the hold (`absent_lines`): from
    /// then on only the in-flight table is read for them, so the chunk's own
    /// decisions must stay there until the hold ends.
    settled: Vec<(Arc<Chunk>, usize)>,
    /// How many of `settled` (the first) belong to chunks decided to their end.
    releasable: usize,
    /// The chunks whose answers are in `buf` (their in-flight places are
    /// given back once it is written).
    chunks: Vec<Arc<Chunk>>,
    /// Whether the client still reads.
    open: bool,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            buf: Vec::with_capacity(PART_LINES * 768),
            settled: Vec::new(),
            releasable: 0,
            chunks: Vec::new(),
            open: true,
        }
    }
}

/// Appends the answer line of a new durable decision around its JSON as
/// the log holds it: the bytes [`AnswerRef::decided`] serializes to,
/// without serializing the decision again (debug builds check they are).
fn write_decided(buf: &mut Vec<u8>, decision: &sekimori_engine::Decision, json: &[u8]) {
    let start = buf.len();
    buf.extend_from_slice(br#"{"decision":"#);
    buf.extend_from_slice(json);
    buf.extend_from_slice(br#","duplicate":false,"durable":true}"#);
    debug_assert_eq!(
        buf[start..],
        serde_json::to_vec(&AnswerRef::decided(decision)).unwrap_or_default()[..],
        "an answer written around the logged JSON differs from its serialization"
    );
    buf.push(b'\n');
}

/// Appends one answer line: the answer, or `{"error": ...}`.
fn write_line(buf: &mut Vec<u8>, result: Result<AnswerRef<'_>, &ApiError>) {
    let written = match result {
        Ok(answer) => serde_json::to_writer(&mut *buf, &answer),
        Err(e) => serde_json::to_writer(&mut *buf, &e.body()),
    };
    if written.is_err() {
        // Neither type can fail to serialize; keep the stream in step anyway.
        buf.extend_from_slice(br#"{"error":{"code":"internal","type":"internal","message":"the answer could not be written"}}"#);
    }
    buf.push(b'\n');
}
