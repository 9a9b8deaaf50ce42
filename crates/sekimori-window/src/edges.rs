//! `FeatureStore::apply_edge` and `read_node`: the transfer graph's updates
//! and readings (the store's keys are its nodes).

use crate::graph::{returned_cycle, shortest_cycle, Edge, GraphRead, Node, PASS_THROUGH_BP};
use crate::state::{KeyState, State};
use crate::window::Span;
use crate::{Aggregate, FeatureStore, Key, Window};

impl FeatureStore {
    /// Applies the edge `source -> destination` moving `amount` at `at_ms`
    /// (clamped like any observation) and returns the readings after it,
    /// the cycle searched before the edge was added. `None` unless the
    /// store's aggregate is [`Aggregate::Graph`]. A self-edge (`source ==
    /// destination`) changes nothing and reads the source's node.
    pub fn apply_edge(
        &mut self,
        source: Key,
        destination: Key,
        amount: i64,
        at_ms: i64,
        now_ms: i64,
    ) -> Option<GraphRead> {
        if self.config.aggregate != Aggregate::Graph {
            return None;
        }
        let span = Span::new(&self.config, now_ms);
        self.maybe_sweep(now_ms, &span);
        if source == destination {
            return self.read_node(source, now_ms);
        }
        let at = at_ms
            .max(now_ms.saturating_sub(self.config.lateness_ms.max(0)))
            .min(now_ms);
        let period_ms = period_ms(&self.config.window);
        let since = span.start.saturating_mul(period_ms);
        let amount = amount.max(0);
        let cycle = shortest_cycle(
            |k| match self.keys.get(&k).map(|s| &s.state) {
                Some(State::Graph(n)) => Some(n.as_ref()),
                _ => None,
            },
            source,
            destination,
            amount,
            since,
            at,
        );
        let cycled = returned_cycle(|k| self.node(k), source, at);
        // The source: what it received and sent over the last period.
        let from = at.saturating_sub(period_ms);
        let (received, in_hops, funded_at, (sent_before, _, _)) = match self.node(source) {
            Some(n) => {
                let (r, h, f) = n.trailing(false, from, at);
                (r, h, f, n.trailing(true, from, at))
            }
            None => (0, 0, None, (0, 0, None)),
        };
        let sent = sent_before + i128::from(amount);
        let passed_share = if received > 0 {
            (sent * 10_000 / received).min(100_000) as i64
        } else {
            0
        };
        let hops = if passed_share >= PASS_THROUGH_BP {
            in_hops.saturating_add(1)
        } else {
            0
        };
        let edge = |peer| Edge {
            peer,
            at_ms: at,
            amount,
            hops,
        };
        self.update(source, at, now_ms, &span, |n| {
            n.add(true, edge(destination), &span)
        });
        self.update(destination, at, now_ms, &span, |n| {
            n.add(false, edge(source), &span)
        });
        let period = span.bucket(at);
        let (fan_out, fan_out_usual, fan_in, fan_in_usual, history) =
            self.fans(source, period, &span);
        let (dest_fan_in, dest_fan_in_usual) = match self.node(destination) {
            Some(n) => {
                let (now, usual, _) = n.fan(false, period, &span);
                (now, usual)
            }
            None => (0, 0),
        };
        Some(GraphRead {
            fan_out,
            fan_out_usual,
            fan_in,
            fan_in_usual,
            dest_fan_in,
            dest_fan_in_usual,
            history,
            received: saturate(received),
            sent: saturate(sent),
            passed_share,
            funded_at,
            hops: i64::from(hops),
            cycle,
            cycled,
        })
    }

    /// The readings of `key` as a source without a new edge (a graph
    /// feature read on an event that does not update it, or an event
    /// without a counterparty): fans, history, what it received and sent
    /// over the last period, when it was funded, and `cycled`.
    /// `None` unless the aggregate is [`Aggregate::Graph`].
    pub fn read_node(&self, key: Key, now_ms: i64) -> Option<GraphRead> {
        if self.config.aggregate != Aggregate::Graph {
            return None;
        }
        let span = Span::new(&self.config, now_ms);
        let Some(n) = self.node(key) else {
            return Some(GraphRead::default());
        };
        let from = now_ms.saturating_sub(period_ms(&self.config.window));
        let (received, _, funded_at) = n.trailing(false, from, now_ms);
        let (sent, _, _) = n.trailing(true, from, now_ms);
        let (fan_out, fan_out_usual, fan_in, fan_in_usual, history) =
            self.fans(key, span.end, &span);
        Some(GraphRead {
            fan_out,
            fan_out_usual,
            fan_in,
            fan_in_usual,
            history,
            received: saturate(received),
            sent: saturate(sent),
            passed_share: if received > 0 {
                (sent * 10_000 / received).min(100_000) as i64
            } else {
                0
            },
            funded_at,
            cycled: returned_cycle(|k| self.node(k), key, now_ms),
            ..GraphRead::default()
        })
    }

    fn node(&self, key: Key) -> Option<&Node> {
        match self.keys.get(&key).map(|s| &s.state) {
            Some(State::Graph(n)) => Some(n),
            _ => None,
        }
    }

    /// (fan out, usual, fan in, usual, earlier active periods) of `key`.
    fn fans(&self, key: Key, period: i64, span: &Span) -> (i64, i64, i64, i64, i64) {
        let Some(n) = self.node(key) else {
            return (0, 0, 0, 0, 0);
        };
        let (out, out_usual, history) = n.fan(true, period, span);
        let (inn, in_usual, _) = n.fan(false, period, span);
        (out, out_usual, inn, in_usual, history)
    }

    /// Prunes and updates one node (creating it, making room under
    /// `max_keys` first), keeping the accounting.
    fn update(&mut self, key: Key, at: i64, now_ms: i64, span: &Span, f: impl FnOnce(&mut Node)) {
        let loc = self.keys.locate(&key);
        let known = self.keys.get_in(loc, &key).is_some();
        if !known {
            self.make_room(now_ms, span, 0);
        }
        let config = self.config;
        let entry = self.keys.entry_in(loc, key).or_insert_with(|| KeyState {
            last_at: at,
            state: State::new(&config),
        });
        let before = if known { entry.accounted() } else { 0 };
        entry.last_at = entry.last_at.max(at);
        entry.state.prune(span);
        if let State::Graph(n) = &mut entry.state {
            f(n);
        }
        let after = entry.accounted();
        self.accounted = self.accounted.saturating_sub(before) + after;
    }
}

/// The period (bucket width) of a graph window, 1 for `Ever`.
fn period_ms(window: &Window) -> i64 {
    match window {
        Window::Sliding { resolution_ms, .. } => *resolution_ms,
        Window::Ever => 1,
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
