//! The process's Prometheus recorder: installed by the first server (or
//! adopted from a process that wraps its own), rendered by every server of
//! the process, and kept from growing when nobody scrapes it.

use std::time::Duration;

/// The process's Prometheus handle: the recorder the first server installed,
/// or the one the process adopted ([`adopt_metrics`]).
static METRICS: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
    std::sync::OnceLock::new();

/// The process's Prometheus recorder, installed by the first server; every
/// server of the process renders it (metrics are process-wide).
pub(crate) fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .ok()
                .map(|_| keep_up(handle))
        })
        .clone()
}

/// For a process whose global recorder is its own, wrapping a Prometheus
/// one (the benchmarks tap it): every server of the process renders
/// `handle`, as if it had installed the recorder. Call it before the first
/// server opens; false when one already had (its recorder stays).
pub fn adopt_metrics(handle: metrics_exporter_prometheus::PrometheusHandle) -> bool {
    let mut adopted = false;
    METRICS.get_or_init(|| {
        adopted = true;
        Some(keep_up(handle))
    });
    adopted
}

/// How often the recorder's histogram samples are folded into their
/// summaries when nobody renders `/metrics`.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Folds the recorder's histogram samples into their summaries every
/// [`METRICS_UPKEEP`], on a thread of its own. Rendering does it too, but
/// a server nobody scrapes would otherwise keep every sample of every
/// histogram: memory that grows with each event. Returns `handle`.
fn keep_up(
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> metrics_exporter_prometheus::PrometheusHandle {
    let kept = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("sekimori-metrics".into())
        .spawn(move || loop {
            std::thread::sleep(METRICS_UPKEEP);
            kept.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the metrics upkeep thread did not start; histograms grow until /metrics is read");
    }
    handle
}
