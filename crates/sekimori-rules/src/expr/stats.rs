//! How often each expression left the compiled path: a run of the
//! interpreter (the fallback, which builds the event's JSON view and CEL
//! values the first time in an event), or a plain path that read an object
//! or array of the typed event through the view. `sekimori bench replay`
//! prints the counts, so the common fallbacks can be found and compiled.
//!
//! The counters are relaxed loads and stores, not read-modify-writes: the
//! engine evaluates on one thread (`&mut Engine`), so a count is exact
//! there and only approximate if two threads shared a pack's expressions
//! at once. They never reach a decision.

use super::Expr;
use crate::pack::Pack;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The counters of one expression.
#[derive(Debug, Default)]
pub(super) struct Stats {
    interpreted: AtomicU64,
    view_reads: AtomicU64,
}

impl Stats {
    pub(super) fn interpreted(&self) {
        bump(&self.interpreted);
    }

    pub(super) fn view_read(&self) {
        bump(&self.view_reads);
    }
}

fn bump(n: &AtomicU64) {
    n.store(n.load(Relaxed).wrapping_add(1), Relaxed);
}

impl Expr {
    /// Interpreter runs so far (every one a fallback of an evaluation).
    pub fn interpreted(&self) -> u64 {
        self.stats.interpreted.load(Relaxed)
    }

    /// Plain-path readings of an object or array through the JSON view.
    pub fn view_reads(&self) -> u64 {
        self.stats.view_reads.load(Relaxed)
    }
}

/// One expression of a pack that left the compiled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackCount {
    /// Where it is: `rule NAME`, `feature NAME filter`, `feature NAME key 0`, ...
    pub place: String,
    pub source: String,
    /// Whether the fast evaluator compiled it (else every evaluation that
    /// is not a plain path runs the interpreter).
    pub fast: bool,
    pub interpreted: u64,
    pub view_reads: u64,
}

/// Every expression of the pack that fell back at least once, the most
/// fallbacks first (then by place, so the report is stable).
pub fn fallback_counts(pack: &Pack) -> Vec<FallbackCount> {
    let mut out = Vec::new();
    let mut add = |place: String, e: &Expr| {
        let (interpreted, view_reads) = (e.interpreted(), e.view_reads());
        if interpreted + view_reads > 0 {
            out.push(FallbackCount {
                place,
                source: e.source().to_string(),
                fast: e.is_fast(),
                interpreted,
                view_reads,
            });
        }
    };
    for r in &pack.rules {
        add(format!("rule {}", r.name), &r.when);
    }
    for f in &pack.features {
        if let Some(e) = &f.filter {
            add(format!("feature {} filter", f.name), e);
        }
        for (i, e) in f.key.iter().enumerate() {
            add(format!("feature {} key {i}", f.name), e);
        }
        if let Some(e) = &f.of {
            add(format!("feature {} of", f.name), e);
        }
        for (h, level) in f.risk.iter().flatten().enumerate() {
            for (i, e) in level.iter().enumerate() {
                add(format!("feature {} risk {h}.{i}", f.name), e);
            }
        }
    }
    out.sort_by(|a, b| {
        (b.interpreted + b.view_reads)
            .cmp(&(a.interpreted + a.view_reads))
            .then_with(|| a.place.cmp(&b.place))
    });
    out
}
