//! The ledger's metrics: the engine's memory accounting, stream trims.

use metrics::{counter, gauge};

/// The engine's memory accounting after a change: the accounted bytes and
/// the budget as gauges, and what the budget evicted since `before`, per
/// store kind (`counter`, `window`, `grant`, `risk_profile`, `risk_value`,
/// `admission`), as counters.
pub fn engine_memory(now: &sekimori_engine::MemoryStats, before: &sekimori_engine::MemoryStats) {
    gauge!("sekimori_engine_accounted_bytes").set(now.accounted_bytes as f64);
    gauge!("sekimori_engine_pinned_bytes").set(now.pinned_bytes as f64);
    gauge!("sekimori_engine_memory_budget_bytes").set(now.budget_bytes.unwrap_or(0) as f64);
    if now.runs == before.runs {
        return;
    }
    for (i, kind) in sekimori_engine::MEMORY_KINDS.iter().enumerate() {
        let n = now.evicted[i].saturating_sub(before.evicted[i]);
        if n > 0 {
            counter!("sekimori_engine_evictions_total", "kind" => *kind).increment(n);
            let b = now.evicted_bytes[i].saturating_sub(before.evicted_bytes[i]);
            counter!("sekimori_engine_evicted_bytes_total", "kind" => *kind).increment(b);
        }
    }
    counter!("sekimori_engine_budget_runs_total").increment(now.runs.saturating_sub(before.runs));
    tracing::debug!(
        accounted_bytes = now.accounted_bytes,
        budget_bytes = now.budget_bytes,
        "memory budget enforced"
    );
}

/// The shard's stream was trimmed: the first sequence it keeps.
pub fn stream_trimmed(first_kept: u64) {
    gauge!("sekimori_stream_first_seq").set(first_kept as f64);
    counter!("sekimori_stream_trims_total").increment(1);
}
