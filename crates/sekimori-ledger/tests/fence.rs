//! The stream fences a writer whose view is stale: two nodes that both
//! believe they lead (a split brain the lease should prevent) append the
//! same sequence; the stream takes one, the other is refused with
//! `Fenced`, acknowledges nothing, and appends nothing more. A retried
//! publish of an entry already stored is recognised, not stored twice.
//! Needs `nats-server` on PATH (fails clearly without it).
#![cfg(feature = "jetstream")]

use sekimori_ledger::jetstream::async_nats::jetstream::context::PublishErrorKind;
use sekimori_ledger::jetstream::async_nats::jetstream::message::PublishMessage;
use sekimori_ledger::jetstream::{Cluster, JetStreamLog, Lease, LogStatus, ShardConfig};
use sekimori_ledger::{Log, Record};
use sekimori_store::{EventKey, Op, Store, StoreError};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

struct Nats(std::process::Child);

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nats(dir: &std::path::Path) -> (Nats, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("nats-server is needed on PATH (apt-get install -y nats-server): {e}")
        });
    (Nats(child), format!("nats://127.0.0.1:{port}"))
}

fn record(id: &str) -> Record {
    Record::entry(
        Some(EventKey::new("svc", id)),
        format!("{{\"id\":\"{id}\"}}").into_bytes(),
    )
}

async fn durable(d: sekimori_ledger::Durable) -> Result<(), StoreError> {
    d.await.unwrap_or(Err(StoreError::Failed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_with_a_stale_view_is_fenced_by_the_expected_sequence() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_nats, url) = match std::env::var("FENCE_NATS") {
        Ok(u) => (None, u),
        Err(_) => {
            let (n, u) = start_nats(&dir.path().join("nats"));
            (Some(n), u)
        }
    };
    let config = |node: &str| {
        let mut c = ShardConfig::new(url.clone(), "fence", node);
        c.replicas = 1;
        c.lease_ttl = Duration::from_secs(5);
        c
    };
    let a = Cluster::connect(config("a")).await.expect("a connects");
    let b = Cluster::connect(config("b")).await.expect("b connects");
    let lease_a = Lease::try_acquire(&a.leases, "fence", "a", Duration::from_secs(5))
        .await
        .expect("kv")
        .expect("a takes the lease");
    assert!(
        Lease::try_acquire(&b.leases, "fence", "b", Duration::from_secs(5))
            .await
            .expect("kv")
            .is_none(),
        "one lease per shard"
    );
    // B believes it leads (another key: the lease failed to stop it).
    let lease_b = Lease::try_acquire(&b.leases, "fence-split", "b", Duration::from_secs(5))
        .await
        .expect("kv")
        .expect("b");
    let store_a = Arc::new(Store::open(&dir.path().join("a")).expect("store a"));
    let store_b = Arc::new(Store::open(&dir.path().join("b")).expect("store b"));
    let log_a = JetStreamLog::new(Arc::clone(&store_a), a.clone(), lease_a);
    let log_b = JetStreamLog::new(Arc::clone(&store_b), b.clone(), lease_b);
    durable(log_a.append(1, record("e1"))).await.expect("1");
    durable(log_a.append(2, record("e2"))).await.expect("2");
    assert_eq!(
        store_a.last_seq().expect("seq"),
        2,
        "the leader's store holds what it acknowledged"
    );
    // B caught up to 2 (its store holds 1 and 2, as a follower's would) and
    // appends 3; then A, with a stale view, appends 3 too.
    for (seq, id) in [(1, "e1"), (2, "e2")] {
        let r = record(id);
        store_b
            .submit(Op::Append {
                seq,
                event: r.event,
                bytes: r.bytes,
            })
            .await
            .expect("sent")
            .expect("stored");
    }
    durable(log_b.append(3, record("b3"))).await.expect("b's 3");
    let refused = durable(log_a.append(3, record("a3"))).await;
    assert!(matches!(refused, Err(StoreError::Fenced(_))), "{refused:?}");
    assert_eq!(log_a.status(), LogStatus::Fenced);
    let later = durable(log_a.append(4, record("a4"))).await;
    assert!(matches!(later, Err(StoreError::Fenced(_))), "{later:?}");
    assert_eq!(a.last_seq().await.expect("last"), 3);
    assert_eq!(
        store_a.last_seq().expect("seq"),
        2,
        "nothing fenced reached A's store"
    );
    let third = a.stream.get_raw_message(3).await.expect("entry 3");
    let rec = sekimori_ledger::jetstream::wire::decode(&third.payload).expect("decodes");
    assert_eq!(rec.event, Some(EventKey::new("svc", "b3")));
    // B's entry 4, published again with its id (a retry after a lost
    // acknowledgement), is not stored twice.
    durable(log_b.append(4, record("b4"))).await.expect("b's 4");
    let again = PublishMessage::build()
        .payload(sekimori_ledger::jetstream::wire::encode(&record("b4")).into())
        .message_id(format!("fence:{}:4", log_b.lease().term()))
        .expected_last_sequence(3);
    let ack =
        b.js.send_publish(b.config.subject(), again)
            .await
            .expect("sent")
            .await;
    match ack {
        Ok(ack) => assert!(ack.duplicate && ack.sequence == 4, "{ack:?}"),
        Err(e) => assert_eq!(e.kind(), PublishErrorKind::WrongLastSequence),
    }
    assert_eq!(a.last_seq().await.expect("last"), 4);
}
