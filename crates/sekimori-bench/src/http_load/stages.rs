//! Where a single event's time went on the server under test: the bench's
//! process-wide metrics recorder is the Prometheus one `sekimori serve`
//! installs, with a tap on the three stage histograms the server records
//! for each `POST /v1/events` (`sekimori_server::telemetry::single_stages`).
//! The tap copies each sample into a histogram of the current step, so a
//! step reports its server-side lock wait, engine time and durable wait
//! beside the client's latency.

use super::*;
use metrics::{Counter, Gauge, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::PrometheusRecorder;
use std::sync::{Mutex, OnceLock};

/// The tapped histograms, in [`Stages`] order.
const TAPPED: [&str; 3] = [
    sekimori_server::telemetry::LOCK_WAIT,
    sekimori_server::telemetry::ENGINE,
    sekimori_server::telemetry::DURABLE_WAIT,
];

/// One step's server-side stages (microseconds).
#[derive(Debug)]
pub(super) struct Stages {
    h: [Mutex<Histogram<u64>>; 3],
}

/// A summary of each stage of [`Stages`], in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StageSummaries {
    pub(super) lock_wait: Summary,
    pub(super) engine: Summary,
    pub(super) durable_wait: Summary,
}

impl Stages {
    fn new() -> Stages {
        Stages {
            h: std::array::from_fn(|_| Mutex::new(histogram())),
        }
    }

    fn record(&self, stage: usize, seconds: f64) {
        let us = (seconds.max(0.0) * 1e6).round() as u64;
        let mut h = self.h[stage].lock().unwrap_or_else(|p| p.into_inner());
        h.saturating_record(us.max(1));
    }

    /// Forgets what was recorded (a step's measured part starts).
    pub(super) fn reset(&self) {
        for h in &self.h {
            h.lock().unwrap_or_else(|p| p.into_inner()).reset();
        }
    }

    /// What was recorded since the last reset; `None` when nothing was (the
    /// requests went another way, or the recorder is not the tap).
    pub(super) fn summaries(&self) -> Option<StageSummaries> {
        let s: [Summary; 3] = std::array::from_fn(|i| {
            Summary::of(&self.h[i].lock().unwrap_or_else(|p| p.into_inner()))
        });
        (s[0].count > 0).then_some(StageSummaries {
            lock_wait: s[0],
            engine: s[1],
            durable_wait: s[2],
        })
    }
}

/// The recorder: Prometheus, with [`TAPPED`] histograms copied to [`Stages`].
struct Tap {
    prometheus: PrometheusRecorder,
    stages: Arc<Stages>,
    /// The tapped handles, made once: `histogram!` registers on every call.
    tapped: [OnceLock<metrics::Histogram>; 3],
}

impl Tap {
    fn new(prometheus: PrometheusRecorder, stages: Arc<Stages>) -> Tap {
        Tap {
            prometheus,
            stages,
            tapped: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

/// A tapped histogram: the Prometheus one, and the step's.
struct Tapped {
    inner: metrics::Histogram,
    stages: Arc<Stages>,
    stage: usize,
}

impl HistogramFn for Tapped {
    fn record(&self, value: f64) {
        self.inner.record(value);
        self.stages.record(self.stage, value);
    }
}

impl Recorder for Tap {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.prometheus.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.prometheus.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Histogram {
        // The tapped histograms have no labels: one handle a name.
        match TAPPED.iter().position(|n| *n == key.name()) {
            Some(stage) => self.tapped[stage]
                .get_or_init(|| {
                    metrics::Histogram::from_arc(Arc::new(Tapped {
                        inner: self.prometheus.register_histogram(key, metadata),
                        stages: Arc::clone(&self.stages),
                        stage,
                    }))
                })
                .clone(),
            None => self.prometheus.register_histogram(key, metadata),
        }
    }
}

/// The process's recorder, installed by the first call, before any server
/// of this process opens: the servers adopt its Prometheus handle
/// (`sekimori_server::adopt_metrics`: they render it, and its upkeep
/// runs), and the steps read its stages. `None` when another recorder was
/// installed first (the steps then report no stages).
pub(super) fn recorder() -> Option<Arc<Stages>> {
    static TAP: OnceLock<Option<Arc<Stages>>> = OnceLock::new();
    TAP.get_or_init(|| {
        let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = prometheus.handle();
        let stages = Arc::new(Stages::new());
        metrics::set_global_recorder(Tap::new(prometheus, Arc::clone(&stages))).ok()?;
        sekimori_server::adopt_metrics(handle);
        Some(stages)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tap_copies_the_stage_histograms_and_nothing_else() {
        let stages = Arc::new(Stages::new());
        let tap = Tap::new(
            metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder(),
            Arc::clone(&stages),
        );
        assert_eq!(stages.summaries(), None);
        metrics::with_local_recorder(&tap, || {
            for _ in 0..2 {
                sekimori_server::telemetry::single_stages(
                    Duration::from_micros(40),
                    Duration::from_micros(25),
                    Duration::from_micros(600),
                );
            }
            metrics::histogram!("sekimori_decision_seconds").record(1.0);
        });
        let s = stages.summaries().expect("recorded");
        assert_eq!(
            (s.lock_wait.count, s.engine.count, s.durable_wait.count),
            (2, 2, 2)
        );
        assert_eq!(
            (s.lock_wait.p50, s.engine.p50, s.durable_wait.p50),
            (40, 25, 600)
        );
        stages.reset();
        assert_eq!(stages.summaries(), None);
    }
}
