//! The transfer graph ([`crate::Aggregate::Graph`]): per node (an account,
//! keyed like any feature key) a bounded list of its most recent edges out
//! and in, and a short history of how many distinct counterparties it had per
//! period. See the crate docs, "Graph", for the readings and their bounds.

use serde::{Deserialize, Serialize};

use crate::digest::{fit_model, reserve_model, Digest};
use crate::window::Span;
use crate::Key;

#[path = "graph_cycle.rs"]
mod cycle;
pub(crate) use cycle::{returned_cycle, shortest_cycle};

/// Edges kept per node and direction; past it the oldest goes.
pub const EDGE_CAP: usize = 32;
/// Periods of counterparty counts kept per node (the most recent active ones).
pub const PERIOD_CAP: usize = 32;
// A packed node writes each list's length in one byte.
const _: () = assert!(EDGE_CAP <= u8::MAX as usize && PERIOD_CAP <= u8::MAX as usize);
/// Longest cycle searched for, closing edge included.
pub const MAX_CYCLE: usize = 6;
/// Nodes whose edges one cycle search may scan (so at most
/// `VISIT_CAP * EDGE_CAP` edges per event).
pub const VISIT_CAP: usize = 256;
/// A node's latest edges out whose return is searched for `cycled` (all it
/// keeps: a ring member's small leftover hops must not hide the edge that
/// came back; the searches share one budget of [`VISIT_CAP`] nodes).
pub const CYCLED_EDGES: usize = EDGE_CAP;
/// The share (basis points) of what a node received within a period that it
/// must send on within that period for the hop to count as pass-through.
pub const PASS_THROUGH_BP: i64 = 9_000;

/// One edge as one of its ends keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Edge {
    /// The node at the other end.
    pub peer: Key,
    /// Event time (clamped), milliseconds.
    pub at_ms: i64,
    /// The amount moved, minor units (0 when the event has none).
    pub amount: i64,
    /// The sender's pass-through chain length when it sent this edge.
    pub hops: u8,
}

/// Distinct counterparties of a node in one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Period {
    pub index: i64,
    pub out: u16,
    pub inn: u16,
}

/// A node's three lists as plain vectors: the form its updates work on and
/// the form snapshots hold (serialized exactly as the node was before it was
/// packed, so snapshot bytes are unchanged). Edges are sorted by (time, peer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Node")]
pub(crate) struct Lists {
    pub out: Vec<Edge>,
    pub inn: Vec<Edge>,
    pub periods: Vec<Period>,
}

/// What a graph feature reads for one edge `source -> destination`, after
/// the edge was applied (see the crate docs, "Graph").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GraphRead {
    /// Distinct nodes the source sent to in the current period.
    pub fan_out: i64,
    /// The most it sent to in any earlier period of the window (0 without history).
    pub fan_out_usual: i64,
    /// Distinct nodes the source received from in the current period.
    pub fan_in: i64,
    /// The most it received from in any earlier period of the window.
    pub fan_in_usual: i64,
    /// Distinct nodes the destination received from in the current period.
    pub dest_fan_in: i64,
    /// The most the destination received from in any earlier period.
    pub dest_fan_in_usual: i64,
    /// Earlier periods of the window in which the source sent or received.
    pub history: i64,
    /// What the source received over the last period (trailing, by time).
    pub received: i64,
    /// What it sent over the last period, this edge included.
    pub sent: i64,
    /// `sent` as a share of `received`, basis points (0 when nothing was
    /// received, at most 100,000).
    pub passed_share: i64,
    /// When the source last received money (before or at this edge).
    pub funded_at: Option<i64>,
    /// Consecutive pass-through hops ending with this edge (0: the source
    /// did not pass on what it received).
    pub hops: i64,
    /// Length of the shortest cycle this edge closes (0: none found).
    pub cycle: i64,
    /// Length of the shortest cycle through the source that one of its
    /// [`CYCLED_EDGES`] latest earlier edges out started and that has
    /// closed since (the money it sent came back; 0: none found).
    pub cycled: i64,
}

/// Bytes of one packed edge: the peer (16), time (8), amount (8), hops (1).
const EDGE_BYTES: usize = 33;
/// Bytes of one packed period: its index (8), counts out and in (2 + 2).
const PERIOD_BYTES: usize = 12;

impl Edge {
    fn pack(&self, to: &mut Vec<u8>) {
        to.extend_from_slice(&self.peer.to_le_bytes());
        to.extend_from_slice(&self.at_ms.to_le_bytes());
        to.extend_from_slice(&self.amount.to_le_bytes());
        to.push(self.hops);
    }

    fn unpack(b: &[u8]) -> Edge {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            i64::from_le_bytes(w)
        };
        let mut peer = [0u8; 16];
        peer.copy_from_slice(&b[..16]);
        Edge {
            peer: Key::from_le_bytes(peer),
            at_ms: word(16),
            amount: word(24),
            hops: b[32],
        }
    }
}

impl Period {
    fn pack(&self, to: &mut Vec<u8>) {
        to.extend_from_slice(&self.index.to_le_bytes());
        to.extend_from_slice(&self.out.to_le_bytes());
        to.extend_from_slice(&self.inn.to_le_bytes());
    }

    fn unpack(b: &[u8]) -> Period {
        let mut index = [0u8; 8];
        index.copy_from_slice(&b[..8]);
        Period {
            index: i64::from_le_bytes(index),
            out: u16::from_le_bytes([b[8], b[9]]),
            inn: u16::from_le_bytes([b[10], b[11]]),
        }
    }
}

/// One node of the graph, packed: the lengths of its edges out, its edges
/// in and its periods (a byte each), then the edges (33 bytes each) and the
/// periods (12 bytes each), in one boxed slice of exactly that size (none
/// for an empty node). A node with one edge and one period holds 16 + 48
/// bytes where the three vectors of [`Lists`] held 80 + 48 + 16. Reads
/// decode in place; an update unpacks the node into [`Lists`], changes
/// them, and packs them back, so the lists' rules (order, caps, eviction)
/// are the only ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    bytes: Box<[u8]>,
}

/// Bytes of a packed node's head: its three lengths.
const HEAD: usize = 3;

impl Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.lists().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Node::pack(&Lists::deserialize(d)?)
            .ok_or_else(|| serde::de::Error::custom("graph node past its caps"))
    }
}

impl Node {
    /// The packed node, `None` when a list is longer than its cap.
    pub fn pack(lists: &Lists) -> Option<Node> {
        let (o, i, p) = (lists.out.len(), lists.inn.len(), lists.periods.len());
        if o > EDGE_CAP || i > EDGE_CAP || p > PERIOD_CAP {
            return None;
        }
        if o + i + p == 0 {
            return Some(Node::default());
        }
        let mut bytes = Vec::with_capacity(HEAD + (o + i) * EDGE_BYTES + p * PERIOD_BYTES);
        bytes.extend([o as u8, i as u8, p as u8]);
        for e in lists.out.iter().chain(&lists.inn) {
            e.pack(&mut bytes);
        }
        for x in &lists.periods {
            x.pack(&mut bytes);
        }
        Some(Node {
            bytes: bytes.into_boxed_slice(),
        })
    }

    pub fn lists(&self) -> Lists {
        Lists {
            out: self.out().collect(),
            inn: self.inn().collect(),
            periods: self.periods().collect(),
        }
    }

    /// (edges out, edges in, periods).
    fn lens(&self) -> [usize; 3] {
        match self.bytes.get(..HEAD) {
            Some(h) => [usize::from(h[0]), usize::from(h[1]), usize::from(h[2])],
            None => [0; 3],
        }
    }

    fn edge_bytes(&self, outgoing: bool) -> &[u8] {
        let [out, inn, _] = self.lens();
        let (out, inn) = (HEAD + out * EDGE_BYTES, inn * EDGE_BYTES);
        if outgoing {
            self.bytes.get(HEAD..out).unwrap_or_default()
        } else {
            self.bytes.get(out..out + inn).unwrap_or_default()
        }
    }

    /// Edges out or in, oldest first.
    pub fn edges(
        &self,
        outgoing: bool,
    ) -> impl DoubleEndedIterator<Item = Edge> + ExactSizeIterator + '_ {
        self.edge_bytes(outgoing)
            .chunks_exact(EDGE_BYTES)
            .map(Edge::unpack)
    }

    /// Edges out, oldest first.
    pub fn out(&self) -> impl DoubleEndedIterator<Item = Edge> + ExactSizeIterator + '_ {
        self.edges(true)
    }

    pub fn inn(&self) -> impl DoubleEndedIterator<Item = Edge> + ExactSizeIterator + '_ {
        self.edges(false)
    }

    pub fn periods(&self) -> impl DoubleEndedIterator<Item = Period> + ExactSizeIterator + '_ {
        let [out, inn, _] = self.lens();
        let edges = HEAD + (out + inn) * EDGE_BYTES;
        self.bytes
            .get(edges..)
            .unwrap_or_default()
            .chunks_exact(PERIOD_BYTES)
            .map(Period::unpack)
    }

    /// Unpacks, changes and packs back (the lists stay within their caps:
    /// `Lists::add` and `Lists::prune` keep them there).
    fn edit(&mut self, f: impl FnOnce(&mut Lists)) {
        let mut lists = self.lists();
        f(&mut lists);
        let packed = Node::pack(&lists);
        // `add` evicts past the caps and `prune` only shortens, so an
        // update always packs; were it not to, the update would be lost.
        debug_assert!(packed.is_some(), "an updated node past its caps");
        if let Some(n) = packed {
            *self = n;
        }
    }

    pub fn prune(&mut self, span: &Span) {
        let cutoff = span.cutoff;
        let stale = self.out().any(|e| span.bucket(e.at_ms) < cutoff)
            || self.inn().any(|e| span.bucket(e.at_ms) < cutoff)
            || self.periods().any(|p| p.index < cutoff);
        if stale {
            self.edit(|l| l.prune(span));
        }
    }

    pub fn add(&mut self, outgoing: bool, edge: Edge, span: &Span) {
        self.edit(|l| l.add(outgoing, edge, span));
    }

    pub fn is_live(&self) -> bool {
        !self.bytes.is_empty()
    }

    pub fn repeated(&self) -> bool {
        let [out, inn, periods] = self.lens();
        out + inn >= 2 || periods >= 2
    }

    /// Accounted bytes: the node's box and its packed bytes, as the
    /// allocator rounds them (the bytes are a boxed slice of exactly their
    /// length, so this is what is held).
    pub fn accounted(&self) -> u64 {
        crate::alloc::alloc_bytes(std::mem::size_of::<Node>())
            + crate::alloc::alloc_bytes(self.bytes.len())
    }

    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Node>() + self.bytes.len()
    }

    pub fn is_valid(&self) -> bool {
        self.lists().is_valid()
    }

    pub fn digest(&self, d: &mut Digest) {
        for outgoing in [true, false] {
            let list = self.edges(outgoing);
            d.u64(list.len() as u64);
            for e in list {
                d.u128(e.peer);
                d.i64(e.at_ms);
                d.i64(e.amount);
                d.u64(u64::from(e.hops));
            }
        }
        let periods = self.periods();
        d.u64(periods.len() as u64);
        for p in periods {
            d.i64(p.index);
            d.u64(u64::from(p.out));
            d.u64(u64::from(p.inn));
        }
    }

    /// (this period's count, the largest earlier one in the window, earlier
    /// active periods) for `out` or `inn`.
    pub fn fan(&self, outgoing: bool, period: i64, span: &Span) -> (i64, i64, i64) {
        let pick = |p: &Period| i64::from(if outgoing { p.out } else { p.inn });
        let mut now = 0;
        let mut usual = 0;
        let mut history = 0;
        for p in self.periods() {
            if p.index == period {
                now = pick(&p);
            } else if p.index < period && p.index >= span.start {
                usual = usual.max(pick(&p));
                history += 1;
            }
        }
        (now, usual, history)
    }

    /// Sum of amounts and largest hop count of the edges at times in
    /// `(from, to]`, and the latest time at or before `to`.
    pub fn trailing(&self, outgoing: bool, from: i64, to: i64) -> (i128, u8, Option<i64>) {
        let mut sum = 0i128;
        let mut hops = 0u8;
        let mut latest = None;
        for e in self.edges(outgoing).filter(|e| e.at_ms <= to) {
            latest = Some(e.at_ms);
            if e.at_ms > from {
                sum += i128::from(e.amount);
                hops = hops.max(e.hops);
            }
        }
        (sum, hops, latest)
    }
}

impl Lists {
    pub fn prune(&mut self, span: &Span) {
        let cutoff = span.cutoff;
        self.out.retain(|e| span.bucket(e.at_ms) >= cutoff);
        self.inn.retain(|e| span.bucket(e.at_ms) >= cutoff);
        self.periods.retain(|p| p.index >= cutoff);
        fit_model(&mut self.out);
        fit_model(&mut self.inn);
        fit_model(&mut self.periods);
    }

    pub fn is_valid(&self) -> bool {
        let sorted = |v: &[Edge]| {
            v.windows(2)
                .all(|w| (w[0].at_ms, w[0].peer) <= (w[1].at_ms, w[1].peer))
        };
        self.out.len() <= EDGE_CAP
            && self.inn.len() <= EDGE_CAP
            && self.periods.len() <= PERIOD_CAP
            && sorted(&self.out)
            && sorted(&self.inn)
            && self.periods.windows(2).all(|w| w[0].index < w[1].index)
    }

    /// Adds an edge to `out` (or `inn`), counting a counterparty new to its
    /// period, and evicts the oldest edge past [`EDGE_CAP`].
    pub fn add(&mut self, outgoing: bool, edge: Edge, span: &Span) {
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
        // Inserted, then the oldest past the cap evicted.
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
            // A new period older than every kept one of a full node would
            // be evicted at once.
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
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
