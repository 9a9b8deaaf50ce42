//! The packed node against the three-vector node it replaced (kept here,
//! verbatim but for its name, as the reference): the same lists, readings,
//! digests and serialized bytes after any sequence of edges and prunes.

use super::*;
use crate::digest::vec_model_bytes;
use proptest::prelude::*;

/// The node as it was before it was packed (reference).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct OldNode {
    out: Vec<Edge>,
    inn: Vec<Edge>,
    periods: Vec<Period>,
}

impl OldNode {
    fn prune(&mut self, span: &Span) {
        let cutoff = span.cutoff;
        self.out.retain(|e| span.bucket(e.at_ms) >= cutoff);
        self.inn.retain(|e| span.bucket(e.at_ms) >= cutoff);
        self.periods.retain(|p| p.index >= cutoff);
        fit_model(&mut self.out);
        fit_model(&mut self.inn);
        fit_model(&mut self.periods);
    }

    fn is_live(&self) -> bool {
        !(self.out.is_empty() && self.inn.is_empty() && self.periods.is_empty())
    }

    fn repeated(&self) -> bool {
        self.out.len() + self.inn.len() >= 2 || self.periods.len() >= 2
    }

    fn accounted(&self) -> u64 {
        crate::alloc::alloc_bytes(std::mem::size_of::<OldNode>())
            + vec_model_bytes::<Edge>(self.out.len())
            + vec_model_bytes::<Edge>(self.inn.len())
            + vec_model_bytes::<Period>(self.periods.len())
    }

    fn digest(&self, d: &mut Digest) {
        for list in [&self.out, &self.inn] {
            d.u64(list.len() as u64);
            for e in list {
                d.u128(e.peer);
                d.i64(e.at_ms);
                d.i64(e.amount);
                d.u64(u64::from(e.hops));
            }
        }
        d.u64(self.periods.len() as u64);
        for p in &self.periods {
            d.i64(p.index);
            d.u64(u64::from(p.out));
            d.u64(u64::from(p.inn));
        }
    }

    fn add(&mut self, outgoing: bool, edge: Edge, span: &Span) {
        let period = span.bucket(edge.at_ms);
        let list = if outgoing {
            &mut self.out
        } else {
            &mut self.inn
        };
        let seen = list
            .iter()
            .any(|e| e.peer == edge.peer && span.bucket(e.at_ms) == period);
        let at = list.partition_point(|e| (e.at_ms, e.peer) <= (edge.at_ms, edge.peer));
        if list.len() >= EDGE_CAP {
            if at > 0 {
                list.remove(0);
                list.insert(at - 1, edge);
            }
        } else {
            reserve_model(list);
            list.insert(at, edge);
        }
        if seen {
            return;
        }
        let slot = match self.periods.binary_search_by_key(&period, |p| p.index) {
            Ok(i) => i,
            Err(0) if self.periods.len() >= PERIOD_CAP => return,
            Err(i) => {
                let fresh = Period {
                    index: period,
                    out: 0,
                    inn: 0,
                };
                if self.periods.len() >= PERIOD_CAP {
                    self.periods.remove(0);
                    self.periods.insert(i - 1, fresh);
                    i - 1
                } else {
                    reserve_model(&mut self.periods);
                    self.periods.insert(i, fresh);
                    i
                }
            }
        };
        let p = &mut self.periods[slot];
        if outgoing {
            p.out = p.out.saturating_add(1);
        } else {
            p.inn = p.inn.saturating_add(1);
        }
    }

    fn fan(&self, outgoing: bool, period: i64, span: &Span) -> (i64, i64, i64) {
        let pick = |p: &Period| i64::from(if outgoing { p.out } else { p.inn });
        let mut now = 0;
        let mut usual = 0;
        let mut history = 0;
        for p in &self.periods {
            if p.index == period {
                now = pick(p);
            } else if p.index < period && p.index >= span.start {
                usual = usual.max(pick(p));
                history += 1;
            }
        }
        (now, usual, history)
    }

    fn trailing(&self, outgoing: bool, from: i64, to: i64) -> (i128, u8, Option<i64>) {
        let list = if outgoing { &self.out } else { &self.inn };
        let mut sum = 0i128;
        let mut hops = 0u8;
        let mut latest = None;
        for e in list.iter().filter(|e| e.at_ms <= to) {
            latest = Some(e.at_ms);
            if e.at_ms > from {
                sum += i128::from(e.amount);
                hops = hops.max(e.hops);
            }
        }
        (sum, hops, latest)
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// An edge out or in, `dt` after the last time, to peer `peer`.
    Edge {
        outgoing: bool,
        dt: i64,
        peer: u128,
        amount: i64,
        hops: u8,
    },
    /// A prune at the last time with a window of `keep` periods.
    Prune { keep: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    let peer = prop_oneof![0u128..6, any::<u128>()];
    let amount = prop_oneof![0i64..10_000, any::<i64>()];
    prop_oneof![
        8 => (any::<bool>(), -3i64..6, peer, amount, any::<u8>()).prop_map(
            |(outgoing, dt, peer, amount, hops)| Op::Edge { outgoing, dt, peer, amount, hops }
        ),
        1 => (1i64..48).prop_map(|keep| Op::Prune { keep }),
    ]
}

fn digest_of(f: impl FnOnce(&mut Digest)) -> u64 {
    let mut d = Digest::new();
    f(&mut d);
    d.finish()
}

/// Everything the store reads of a node is the same in both forms.
fn assert_same(node: &Node, old: &OldNode, t: i64) {
    let lists = node.lists();
    assert_eq!(lists.out, old.out);
    assert_eq!(lists.inn, old.inn);
    assert_eq!(lists.periods, old.periods);
    assert!(node.is_valid());
    assert_eq!(node.is_live(), old.is_live());
    assert_eq!(node.repeated(), old.repeated());
    assert_eq!(digest_of(|d| node.digest(d)), digest_of(|d| old.digest(d)));
    let json = serde_json::to_string(node).expect("serializes");
    assert_eq!(json, serde_json::to_string(old).expect("serializes"));
    let back: Node = serde_json::from_str(&json).expect("restores");
    assert_eq!(&back, node);
    assert_eq!(back.accounted(), node.accounted());
    // What is held is what is accounted, and never more than before.
    let held = std::mem::size_of::<Node>() + node.bytes.len();
    assert_eq!(node.heap_bytes(), held);
    assert!(node.accounted() >= held as u64);
    assert!(node.accounted() <= old.accounted());
    for (period, from) in [(t, t - 1), (t - 5, t - 20), (t + 3, i64::MIN)] {
        let span = Span::buckets(period - 9, period, period - 9);
        for outgoing in [true, false] {
            assert_eq!(
                node.fan(outgoing, period, &span),
                old.fan(outgoing, period, &span)
            );
            assert_eq!(
                node.trailing(outgoing, from, period),
                old.trailing(outgoing, from, period)
            );
        }
    }
    let newest: Vec<Edge> = node.out().rev().collect();
    assert!(newest.iter().eq(old.out.iter().rev()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn packed_nodes_read_digest_and_serialize_as_the_vectors_did(
        start in -1_000i64..1_000,
        ops in proptest::collection::vec(op(), 1..160),
    ) {
        let mut node = Node::default();
        let mut old = OldNode::default();
        let mut t = start;
        for op in ops {
            match op {
                Op::Edge { outgoing, dt, peer, amount, hops } => {
                    t += dt;
                    // 40 periods a window: more than PERIOD_CAP.
                    let span = Span::buckets(t - 39, t, t - 39);
                    let e = Edge { peer, at_ms: t, amount, hops };
                    node.prune(&span);
                    old.prune(&span);
                    node.add(outgoing, e, &span);
                    old.add(outgoing, e, &span);
                }
                Op::Prune { keep } => {
                    let span = Span::buckets(t - keep + 1, t, t - keep + 1);
                    node.prune(&span);
                    old.prune(&span);
                }
            }
            assert_same(&node, &old, t);
        }
    }
}

#[test]
fn one_edge_and_its_period_take_less_than_half_of_what_they_did() {
    let span = Span::buckets(0, 10, 0);
    let mut node = Node::default();
    let mut old = OldNode::default();
    let e = Edge {
        peer: 7,
        at_ms: 3,
        amount: 5000,
        hops: 0,
    };
    node.add(true, e, &span);
    old.add(true, e, &span);
    assert_same(&node, &old, 3);
    assert_eq!(std::mem::size_of::<Node>(), 16);
    // 16 + 48 (3 + 33 + 12 bytes) against 80 + 48 + 16.
    assert_eq!(node.accounted(), 64);
    assert_eq!(old.accounted(), 144);
}

#[test]
fn a_snapshot_node_past_its_caps_is_refused() {
    let e = |i: i64| Edge {
        peer: 1,
        at_ms: i,
        amount: 1,
        hops: 0,
    };
    let over = OldNode {
        out: (0..EDGE_CAP as i64 + 1).map(e).collect(),
        ..OldNode::default()
    };
    let json = serde_json::to_string(&over).expect("serializes");
    assert!(serde_json::from_str::<Node>(&json).is_err());
    let unsorted = OldNode {
        out: vec![e(2), e(1)],
        ..OldNode::default()
    };
    let json = serde_json::to_string(&unsorted).expect("serializes");
    let node: Node = serde_json::from_str(&json).expect("restores");
    assert!(!node.is_valid());
}
