//! Clients that retry an event with the same id until it is acknowledged,
//! and the checks after a round: the stream against what was acknowledged,
//! every node against a clean replay of the stream.

use crate::harness::{agent, post, Node};
use sekimori_engine::Entry;
use sekimori_ledger::jetstream::{follow, wire, Cluster, ShardConfig};
use sekimori_ledger::Replica;
use sekimori_store::{Op, Store};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A failed PIN login `n` seconds into the test's time line.
pub fn login(id: &str, n: u64) -> Value {
    json!({"id": id, "type": "login.attempt", "service": "bank",
           "at": format!("2025-06-01T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
           "account": format!("acct-{}", n % 17), "factor": "pin", "result": "failure",
           "secret_fp": format!("k1:{:064x}", n % 5), "actor": {"ip": format!("198.51.100.{}", n % 7)}})
}

pub type Decisions = BTreeMap<String, Vec<Value>>;

/// Event id → every (seq, logged decision) carrying it.
pub type Logged = BTreeMap<String, Vec<(u64, Value)>>;

#[derive(Clone)]
pub struct Clients {
    urls: Vec<String>,
    key: String,
    clock: Arc<AtomicU64>,
    acked: Arc<Mutex<BTreeSet<String>>>,
    decisions: Arc<Mutex<Decisions>>,
}

pub struct Running {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("client thread");
        }
    }
}

impl Clients {
    pub fn new(urls: Vec<String>, key: String) -> Clients {
        Clients {
            urls,
            key,
            clock: Arc::new(AtomicU64::new(0)),
            acked: Arc::default(),
            decisions: Arc::default(),
        }
    }

    pub fn acknowledged(&self) -> BTreeSet<String> {
        self.acked.lock().expect("lock").clone()
    }

    pub fn decisions(&self) -> Decisions {
        self.decisions.lock().expect("lock").clone()
    }

    pub fn start(&self, round: usize, n: usize) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|t| {
                let c = self.clone();
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || c.run(&format!("r{round}-c{t}"), &stop, t))
            })
            .collect();
        Running { stop, threads }
    }

    /// Sends events one after another; each is retried, same id, on
    /// whichever node answers, until it is acknowledged durable.
    fn run(&self, prefix: &str, stop: &AtomicBool, first: usize) {
        let agent = agent();
        let mut at = first % self.urls.len();
        for n in 0.. {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let id = format!("{prefix}-{n}");
            let event = login(&id, self.clock.fetch_add(1, Ordering::SeqCst));
            let mut give_up: Option<Instant> = None;
            loop {
                if stop.load(Ordering::SeqCst) {
                    let g = *give_up.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
                    if Instant::now() > g {
                        return;
                    }
                }
                let url = format!("{}/v1/events", self.urls[at]);
                match post(&agent, &url, &self.key, &event) {
                    Some((200, b)) if b["durable"] == json!(true) => {
                        self.decisions
                            .lock()
                            .expect("lock")
                            .entry(id.clone())
                            .or_default()
                            .push(b["decision"].clone());
                        self.acked.lock().expect("lock").insert(id);
                        break;
                    }
                    // Decided, not yet durable (a failover under way): again.
                    Some((200, _)) | Some((429, _)) => {}
                    // A follower, a fenced leader, or a dead node: the next node.
                    Some((503, _)) | None => at = (at + 1) % self.urls.len(),
                    Some((status, b)) => panic!("unexpected {status}: {b}"),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The shard's stream, read by the test itself, and a clean replay of it
/// (one engine from the first entry on, extended as the stream grows).
pub struct Stream {
    rt: tokio::runtime::Runtime,
    cluster: Cluster,
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    replay: std::cell::RefCell<(Replica, Logged)>,
}

pub struct Replayed {
    pub last: u64,
    pub digest: String,
    /// Event id → every (seq, logged decision) carrying it.
    pub events: BTreeMap<String, Vec<(u64, Value)>>,
}

impl Stream {
    pub fn connect(urls: &str) -> Stream {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let cluster = rt
            .block_on(Cluster::connect(ShardConfig::new(
                urls,
                "bank",
                "test-reader",
            )))
            .expect("connects");
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        Stream {
            rt,
            cluster,
            _dir: dir,
            store,
            replay: std::cell::RefCell::new((Replica::empty(), BTreeMap::new())),
        }
    }

    /// The first sequence the stream still holds (it is trimmed behind snapshots).
    pub fn first_seq(&self) -> u64 {
        self.rt
            .block_on(self.cluster.first_seq())
            .expect("first seq")
    }

    pub fn last_seq(&self) -> u64 {
        self.rt.block_on(self.cluster.last_seq()).expect("last seq")
    }

    /// The clean replay, extended to the stream's last entry.
    pub fn replay(&self) -> Replayed {
        let last = self.last_seq();
        let mut guard = self.replay.borrow_mut();
        let (replica, events) = &mut *guard;
        let mut entries = Vec::new();
        self.rt
            .block_on(follow::read_range(
                &self.cluster,
                replica.next_seq(),
                last,
                |seq, payload| {
                    entries.push((seq, wire::decode_unchecked(payload)?));
                    Ok(())
                },
            ))
            .expect("reads the stream");
        for (seq, record) in entries {
            if let Some((version, bytes)) = record.pack {
                self.store
                    .submit_blocking(Op::PutPack { version, bytes })
                    .expect("pack stored");
            }
            replica
                .apply(&self.store, seq, &record.bytes)
                .expect("applies");
            if let Ok(Entry::Event { event, decision }) = Entry::from_bytes(&record.bytes) {
                let id = event["id"].as_str().expect("id").to_string();
                let d = serde_json::to_value(&decision).expect("json");
                events.entry(id).or_default().push((seq, d));
            }
        }
        assert_eq!(
            replica.mismatches, 0,
            "a logged decision replays differently"
        );
        Replayed {
            last: replica.last_seq(),
            digest: format!(
                "{:016x}",
                replica.engine().expect("an engine").state_digest()
            ),
            events: events.clone(),
        }
    }

    /// Every record the stream holds (from its first sequence), in order.
    /// Publishes `record` to the shard's subject as anyone allowed to
    /// publish there could (no lease, no expected sequence): a forgery.
    pub fn publish(&self, record: &sekimori_ledger::Record) {
        self.send(wire::encode(record));
    }

    /// Publishes `record` as the shard's next entry, signed under the
    /// shard's key (the tests' shared `stepup.key`) as a leader signs it:
    /// what one who holds that key could publish.
    pub fn publish_signed(&self, record: &sekimori_ledger::Record) {
        use sekimori_workbench::analyst_log::{derive, shard_key, verifier};
        let mut master = [0u8; 32];
        let hex = crate::harness::SHARED_STEPUP_KEY;
        for (i, b) in master.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
        }
        let stream = self.cluster.config.stream_name();
        let (_, sign, _) = verifier(&shard_key(&derive(&master, "key/v1"), &stream));
        let seq = self.last_seq() + 1;
        let payload = wire::encode_signed(record, &stream, seq, &sign);
        self.send(payload);
    }

    fn send(&self, payload: Vec<u8>) {
        let subject = self.cluster.config.subject();
        self.rt
            .block_on(async {
                self.cluster
                    .js
                    .publish(subject, payload.into())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            })
            .expect("the stream takes the message");
    }

    pub fn records(&self) -> Vec<(u64, sekimori_ledger::Record)> {
        let last = self.last_seq();
        let first = self.rt.block_on(self.cluster.first_seq()).expect("first");
        let mut out = Vec::new();
        self.rt
            .block_on(follow::read_range(&self.cluster, first, last, |seq, p| {
                out.push((seq, wire::decode_unchecked(p)?));
                Ok(())
            }))
            .expect("reads the stream");
        out
    }

    pub fn event_ids(&self) -> BTreeSet<String> {
        self.replay().events.into_keys().collect()
    }

    /// The object store's snapshot object of the shard, as stored.
    pub fn object(&self) -> Option<Vec<u8>> {
        self.rt
            .block_on(follow::download_object(&self.cluster))
            .expect("reads")
    }

    /// Puts `bytes` in the object store as the shard's snapshot, as anyone
    /// who can write the bucket can.
    pub fn plant(&self, bytes: Vec<u8>) {
        self.rt
            .block_on(follow::upload_snapshot(&self.cluster, bytes))
            .expect("uploads");
    }

    /// The sequence of the object store's snapshot, once there is one.
    pub fn snapshot_seq_within(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let got = self
                .rt
                .block_on(follow::download_object(&self.cluster))
                .expect("reads");
            if let Some(object) = got.as_deref().and_then(follow::parse_snapshot_object) {
                return object.seq;
            }
            assert!(Instant::now() < deadline, "no snapshot in the object store");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every acknowledged event is in the stream exactly once; no event is
    /// there twice; every decision a client was given is the logged one;
    /// every running node reaches the replay's sequence and digest.
    pub fn check_round(
        &self,
        round: usize,
        acked: &BTreeSet<String>,
        seen: &Decisions,
        nodes: &[Node],
    ) {
        let r = self.replay();
        for id in acked {
            let n = r.events.get(id).map_or(0, Vec::len);
            assert_eq!(
                n, 1,
                "round {round}: acknowledged {id} is in the stream {n} times"
            );
        }
        for (id, at) in &r.events {
            assert_eq!(
                at.len(),
                1,
                "round {round}: {id} is in the stream {} times",
                at.len()
            );
        }
        for (id, decisions) in seen {
            let logged = &r.events[id][0].1;
            for d in decisions {
                assert_eq!(
                    d, logged,
                    "round {round}: {id} was answered another decision"
                );
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for node in nodes.iter().filter(|n| n.child.is_some()) {
            loop {
                let s = node.status();
                let done = s.as_ref().is_some_and(|s| {
                    s["applied_seq"] == json!(r.last) && s["state_digest"] == json!(r.digest)
                });
                if done {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "round {round}: node {} is at {s:?}, the stream's replay at {} {}",
                    node.name,
                    r.last,
                    r.digest
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
