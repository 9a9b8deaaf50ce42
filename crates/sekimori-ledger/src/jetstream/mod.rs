//! The replicated log on NATS JetStream (feature `jetstream`).
//!
//! One shard is one stream (`SEKIMORI_<shard>`, subject
//! `sekimori.log.<shard>`, replicated across the NATS cluster) whose stream
//! sequence is the ledger's sequence. One node leads a shard at a time: it
//! holds the shard's lease (a key of the `sekimori_leases` key-value bucket,
//! created only when absent and renewed by revision, expiring after its
//! TTL), decides, and publishes each entry with `Nats-Expected-Last-Sequence`
//! (the previous sequence: an entry lands only directly after the one its
//! decision saw) and `Nats-Msg-Id` (shard, lease term and sequence: a
//! retried publish is recognised, never stored twice). The entry is
//! acknowledged once the stream acknowledged it (a quorum of NATS nodes
//! stored it) and the node's own store holds it.
//!
//! The other nodes follow ([`follow::Follower`]): they read every entry,
//! write it to their own store and apply it to their own engine, so each
//! holds the leader's state, byte for byte. When the lease expires a
//! follower takes it, applies every entry up to the stream's last
//! sequence, and leads. A deposed leader cannot append: its lease has
//! lapsed (it stops publishing before the key can expire), and an entry
//! published anyway expects a sequence the stream has moved past.
//!
//! Snapshots go to the node's own store and to the `sekimori_snapshots`
//! object store, from which a new node starts (plus the stream's tail).
//! The object also carries the node's step-up records (their changes are
//! log entries too, applied by every node), so a node that starts from it
//! knows every challenge. Behind each uploaded snapshot the leader trims
//! the stream, keeping [`ShardConfig::trim_margin`] entries before it.
//! Objects are signed under the shard's object key ([`ShardKeys`], which
//! the server derives from `stepup.key`); a node joins only from an object
//! whose MAC holds ([`snapshot::open_snapshot_object`]). So is every entry
//! the leader appends ([`wire::encode_signed`], its own domain, bound to
//! the stream and the entry's sequence): a follower refuses, and stops
//! at, an entry whose MAC fails or an unsigned one after the first signed
//! entry it saw (`Follower::checked`, attacker's review F1).

pub mod follow;
pub mod lease;
pub mod log;
mod read;
pub mod snapshot;
pub mod wire;

use async_nats::jetstream::{self, kv, object_store, stream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use async_nats;
pub use follow::{AnalystVerifier, Follower};
pub use lease::Lease;
pub use log::{JetStreamLog, LogStatus};
pub use snapshot::open_snapshot_object;

/// The key-value bucket of shard leases.
pub const LEASE_BUCKET: &str = "sekimori_leases";
/// The object store of the latest snapshot per shard.
pub const SNAPSHOT_BUCKET: &str = "sekimori_snapshots";

/// Where a node finds its shard.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// NATS server URLs (comma-separated in one string is accepted too).
    pub nats: String,
    /// The shard: a name of letters, digits, `-` and `_`.
    pub shard: String,
    /// This node's name, unique in the cluster (written in the lease).
    pub node: String,
    /// How long a lease lives without renewal: the longest a shard is
    /// without a leader after its leader dies.
    pub lease_ttl: Duration,
    /// Stream and bucket replicas (3 in production; 1 for a lone NATS).
    pub replicas: usize,
    /// How long a publish waits for the stream's acknowledgement before it
    /// is retried.
    pub ack_timeout: Duration,
    /// Entries kept in the stream behind the snapshot in the object store
    /// (`None`: the stream is never trimmed). After each snapshot upload
    /// the leader purges the entries before `snapshot - margin + 1`; see
    /// [`follow::trim_behind`].
    pub trim_margin: Option<u64>,
}

/// Entries kept behind the object store's snapshot by default.
pub const DEFAULT_TRIM_MARGIN: u64 = 1_000_000;

impl ShardConfig {
    pub fn new(nats: impl Into<String>, shard: impl Into<String>, node: impl Into<String>) -> Self {
        ShardConfig {
            nats: nats.into(),
            shard: shard.into(),
            node: node.into(),
            lease_ttl: Duration::from_secs(2),
            replicas: 3,
            ack_timeout: Duration::from_secs(1),
            trim_margin: Some(DEFAULT_TRIM_MARGIN),
        }
    }

    /// Refuses names NATS subjects and stream names cannot carry.
    pub fn check(&self) -> Result<(), String> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok(&self.shard) {
            return Err("the shard name must be 1-64 letters, digits, - or _".into());
        }
        if !ok(&self.node) {
            return Err("the node name must be 1-64 letters, digits, - or _".into());
        }
        if self.lease_ttl < Duration::from_millis(500) {
            return Err("the lease TTL must be at least 500 ms".into());
        }
        Ok(())
    }

    /// The shard's stream.
    pub fn stream_name(&self) -> String {
        format!("SEKIMORI_{}", self.shard)
    }

    /// The subject entries are published on.
    pub fn subject(&self) -> String {
        format!("sekimori.log.{}", self.shard)
    }
}

/// Signs a snapshot object: HMAC-SHA256 of the parts (each
/// length-prefixed) under the shard's object key.
pub type ObjectSign = Arc<dyn Fn(&[&[u8]]) -> [u8; 32] + Send + Sync>;
/// Checks a snapshot object's MAC over the parts, in constant time.
pub type ObjectCheck = Arc<dyn Fn(&[&[u8]], &[u8]) -> bool + Send + Sync>;

/// What a node checks the shard's writes with, built by the server from
/// its `stepup.key` (the workbench's `analyst_log::verifier`, a tuple of
/// the three, converts into it): the ledger holds no key of its own.
#[derive(Clone)]
pub struct ShardKeys {
    /// An `analyst/` record's rev when its MAC holds.
    pub analysts: AnalystVerifier,
    /// Signs the snapshot objects this node uploads.
    pub sign_object: ObjectSign,
    /// Checks a snapshot object's MAC before a node joins from it.
    pub check_object: ObjectCheck,
}

impl std::fmt::Debug for ShardKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShardKeys(<redacted>)")
    }
}

impl From<(AnalystVerifier, ObjectSign, ObjectCheck)> for ShardKeys {
    fn from(
        (analysts, sign_object, check_object): (AnalystVerifier, ObjectSign, ObjectCheck),
    ) -> Self {
        ShardKeys {
            analysts,
            sign_object,
            check_object,
        }
    }
}

/// A connection to the shard's stream, lease bucket and snapshot store.
#[derive(Clone)]
pub struct Cluster {
    pub config: ShardConfig,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub stream: stream::Stream,
    pub leases: kv::Store,
    pub snapshots: object_store::ObjectStore,
    /// The shard's keys, shared by every clone of this connection (set once
    /// by `Follower::open` or [`Cluster::set_keys`]): the log signs the
    /// objects it uploads with them.
    keys: Arc<OnceLock<ShardKeys>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("config", &self.config)
            .finish()
    }
}

/// Boxed errors of the NATS client, as text.
pub type ClusterError = String;

fn err(what: &str) -> impl FnOnce(String) -> ClusterError + '_ {
    move |e| format!("{what}: {e}")
}

impl Cluster {
    /// Connects and creates the stream and buckets when missing.
    pub async fn connect(config: ShardConfig) -> Result<Cluster, ClusterError> {
        config.check()?;
        let urls: Vec<&str> = config.nats.split(',').map(str::trim).collect();
        let client = async_nats::ConnectOptions::new()
            .name(format!("sekimori-{}", config.node))
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .connect(urls.as_slice())
            .await
            .map_err(|e| err("connecting to NATS")(e.to_string()))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .build(client.clone());
        // A cluster that has just started elects its JetStream leader first.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match Cluster::open(&config, &client, &js).await {
                Ok((stream, leases, snapshots)) => {
                    return Ok(Cluster {
                        config,
                        client,
                        js,
                        stream,
                        leases,
                        snapshots,
                        keys: Arc::default(),
                    })
                }
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                Err(e) => {
                    tracing::info!(error = %e, "JetStream not ready; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    async fn open(
        config: &ShardConfig,
        _client: &async_nats::Client,
        js: &jetstream::Context,
    ) -> Result<(stream::Stream, kv::Store, object_store::ObjectStore), ClusterError> {
        let stream = js
            .get_or_create_stream(stream::Config {
                name: config.stream_name(),
                subjects: vec![config.subject()],
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                retention: stream::RetentionPolicy::Limits,
                discard: stream::DiscardPolicy::New,
                duplicate_window: Duration::from_secs(120),
                max_message_size: 8 << 20,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(|e| err("creating the shard's stream")(e.to_string()))?;
        // The bucket's stream, created as the key-value API would (its own
        // create first asks for the account's info, which async-nats 0.52
        // cannot read from Debian's 2.9 server).
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{LEASE_BUCKET}"),
            subjects: vec![format!("$KV.{LEASE_BUCKET}.>")],
            max_messages_per_subject: 1,
            max_age: config.lease_ttl,
            storage: stream::StorageType::File,
            num_replicas: config.replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| err("creating the lease bucket")(e.to_string()))?;
        let leases = js
            .get_key_value(LEASE_BUCKET)
            .await
            .map_err(|e| err("opening the lease bucket")(e.to_string()))?;
        let snapshots = match js.get_object_store(SNAPSHOT_BUCKET).await {
            Ok(os) => os,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: SNAPSHOT_BUCKET.into(),
                    storage: stream::StorageType::File,
                    num_replicas: config.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| err("creating the snapshot store")(e.to_string()))?,
        };
        Ok((stream, leases, snapshots))
    }

    /// Gives this connection (and every clone of it) the shard's keys; the
    /// first keys set stay.
    pub fn set_keys(&self, keys: ShardKeys) {
        let _ = self.keys.set(keys);
    }

    /// The shard's keys, once set.
    pub fn keys(&self) -> Option<ShardKeys> {
        self.keys.get().cloned()
    }

    /// The stream's last sequence (0 when empty).
    pub async fn last_seq(&self) -> Result<u64, ClusterError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| err("reading the stream's state")(e.to_string()))?;
        Ok(info.state.last_sequence)
    }

    /// The stream's first sequence still held (1 until it is trimmed; the
    /// last sequence + 1 when every entry was purged).
    pub async fn first_seq(&self) -> Result<u64, ClusterError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| err("reading the stream's state")(e.to_string()))?;
        Ok(info.state.first_sequence.max(1))
    }
}
