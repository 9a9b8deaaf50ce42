//! Entries are signed by the leader (attacker's review F1): a message
//! published to the shard's subject by anyone without the shard's key (a
//! pack that allows everything, say) is never applied by a follower, which
//! stops following there, saying why.

use crate::check::Stream;
use crate::harness::{ack, agent};
use crate::{serial, start_nodes, test_dir, wait_leader};
use sekimori_engine::Entry;
use std::time::{Duration, Instant};

#[test]
fn a_forged_pack_published_to_the_subject_is_not_applied() {
    let _one = serial();
    let dir = test_dir();
    let nats = crate::harness::Nats::start(dir.path());
    let (nodes, key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let leader = wait_leader(&nodes, Duration::from_secs(30));
    let follower = 1 - leader;
    let a = agent();
    for n in 0..3 {
        ack(
            &a,
            &nodes[leader].url(),
            &key,
            &crate::check::login(&format!("f{n}"), n),
        );
    }
    crate::harness::wait_applied(&nodes, &stream);
    // The shard's pack entry, as the leader wrote it, published again by
    // someone who can publish to the subject but holds no key: unsigned.
    let (_, pack) = stream
        .records()
        .into_iter()
        .find(|(_, r)| matches!(Entry::from_bytes(&r.bytes), Ok(Entry::Pack { .. })))
        .expect("a pack entry");
    let forged_at = stream.last_seq() + 1;
    stream.publish(&pack);
    assert_eq!(stream.last_seq(), forged_at, "the stream took it");
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = loop {
        let log = nodes[follower].log_text();
        if log.contains("stops following") {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "the follower never refused it: {log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        log.contains(&format!(
            "stream entry {forged_at} is unsigned, after the shard's first signed entry"
        )),
        "{log}"
    );
    // Never applied: the follower stopped before it.
    let applied = nodes[follower]
        .status()
        .and_then(|s| s["applied_seq"].as_u64());
    assert!(applied.is_none_or(|s| s < forged_at), "{applied:?}");
}
