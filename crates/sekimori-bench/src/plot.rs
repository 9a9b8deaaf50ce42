//! PNG plots of latency distributions and scaling curves (plotters).
//!
//! Drawn with plotters' bitmap backend and the font embedded in the binary
//! (DejaVu Sans, `data/fonts/`, as `sekimori-sim`'s charts), so nothing
//! depends on the fonts installed. Every axis is drawn on linear plot
//! coordinates; a log axis plots `log10(v)` and labels its decades with `v`,
//! which keeps one code path for linear, log and percentile axes.

use anyhow::{anyhow, Context};
use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::{
    BitMapBackend, ChartBuilder, Circle, IntoDrawingArea, LineSeries, PathElement,
    SeriesLabelPosition,
};
use plotters::style::{register_font, Color, FontStyle, RGBColor, TextStyle, WHITE};
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans.ttf");
/// The family the font is registered under; plotters' own defaults use it too.
const FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1200, 750);
const INK: RGBColor = RGBColor(40, 40, 40);
/// Okabe–Ito, readable by the colour-blind, then a few more.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(40, 40, 40),
    RGBColor(240, 228, 66),
    RGBColor(140, 140, 140),
    RGBColor(120, 60, 160),
];

/// How an axis maps values to the plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    Linear,
    /// `log10(v)`; values `<= 0` are left out.
    Log,
    /// `v` is `1 / (1 - quantile)`, plotted as `log10(v)` and labelled as a
    /// percentile: 0%, 90%, 99%, 99.9%, ...
    Percentile,
}

impl Scale {
    fn of(log: bool) -> Scale {
        if log {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    /// The plot coordinate of `v`, or `None` when it cannot be drawn.
    fn to_plot(self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        match self {
            Scale::Linear => Some(v),
            Scale::Log => (v > 0.0).then(|| v.log10()),
            Scale::Percentile => (v >= 1.0).then(|| v.log10()),
        }
    }

    /// The plot range covering `lo..=hi` (plot coordinates).
    fn range(self, lo: f64, hi: f64) -> (f64, f64) {
        match self {
            Scale::Linear => {
                let lo = lo.min(0.0);
                let hi = if hi > lo { hi * 1.05 } else { lo + 1.0 };
                (lo, hi)
            }
            Scale::Log | Scale::Percentile => {
                let (lo, hi) = (lo.floor(), hi.ceil());
                let lo = if self == Scale::Percentile { 0.0 } else { lo };
                (lo, if hi > lo { hi } else { lo + 1.0 })
            }
        }
    }

    /// Tick positions over `lo..=hi` (plot coordinates).
    fn ticks(self, lo: f64, hi: f64) -> Vec<f64> {
        match self {
            Scale::Linear => {
                let step = nice_step((hi - lo) / 8.0);
                let mut t = (lo / step).ceil() * step;
                let mut out = Vec::new();
                while t <= hi + step * 1e-9 {
                    out.push(t);
                    t += step;
                }
                out
            }
            Scale::Log | Scale::Percentile => {
                let decades = (hi - lo).round() as i64;
                let mut out = Vec::new();
                for d in 0..=decades {
                    let base = lo + d as f64;
                    out.push(base);
                    // Few decades: 2 and 5 of each too (plain log axes only).
                    if self == Scale::Log && decades <= 2 && d < decades {
                        out.push(base + 2f64.log10());
                        out.push(base + 5f64.log10());
                    }
                }
                out
            }
        }
    }

    /// The label of the tick at plot coordinate `t`.
    fn label(self, t: f64) -> String {
        match self {
            Scale::Linear => human(t),
            Scale::Log => human(10f64.powf(t)),
            Scale::Percentile => percentile_label(t),
        }
    }
}

/// One axis in plot coordinates, with its own ticks and labels.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    scale: Scale,
}

impl Axis {
    fn new(scale: Scale, lo: f64, hi: f64) -> Axis {
        let (lo, hi) = scale.range(lo, hi);
        Axis {
            lo,
            hi,
            ticks: scale.ticks(lo, hi),
            scale,
        }
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = (value - self.lo) / (self.hi - self.lo);
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (frac * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.scale.label(*value)
    }
}

/// A round step (1, 2 or 5 times a power of ten) of at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let n = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * p
}

/// A number for an axis: `950`, `2.5k`, `10k`, `1.2M`, `0.5`.
pub fn human(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let r = (scaled * 100.0).round() / 100.0;
    let text = if (r - r.round()).abs() < 1e-9 {
        format!("{r:.0}")
    } else if ((r * 10.0) - (r * 10.0).round()).abs() < 1e-9 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    };
    format!("{text}{suffix}")
}

/// The label of `log10(1 / (1 - q))` = `t`: `0%`, `90%`, `99%`, `99.9%`, ...
fn percentile_label(t: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-t));
    let decimals = (t.round() as i64 - 2).max(0) as usize;
    format!("{p:.decimals$}%")
}

/// Registers the embedded font, once per process.
fn font() -> anyhow::Result<()> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("the embedded font does not load"))
    }
}

fn text(size: u32) -> TextStyle<'static> {
    TextStyle {
        color: INK.to_backend_color(),
        ..TextStyle::from((FAMILY, size))
    }
}

/// One PNG line chart: one line (with its points marked) per series and a
/// legend. With `log_x` / `log_y` that axis is logarithmic (points `<= 0` on
/// it are left out). `path` should end in `.png`.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    log_y: bool,
    series: &[(String, Vec<(f64, f64)>)],
) -> anyhow::Result<()> {
    draw(
        path,
        title,
        (x_label, Scale::of(log_x)),
        (y_label, Scale::of(log_y)),
        series,
        false,
    )
}

/// The classic HdrHistogram percentile-distribution plot: x is the
/// percentile on a log scale of `1 / (1 - p)` (0%, 90%, 99%, 99.9%, ...), y
/// the latency in microseconds (log scale: a saturated rate's seconds and an
/// idle one's microseconds fit on one chart); one line per series (e.g. per
/// request rate). The histograms hold microseconds.
pub fn latency_percentiles(
    path: &Path,
    title: &str,
    series: &[(String, &Histogram<u64>)],
) -> anyhow::Result<()> {
    let series: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, h)| (name.clone(), percentile_points(h)))
        .collect();
    draw(
        path,
        title,
        ("percentile", Scale::Percentile),
        ("latency (µs, log scale)", Scale::Log),
        &series,
        true,
    )
}

/// A histogram's percentile distribution as `(1 / (1 - q), value)` points.
/// The last point (q = 1, the maximum) is placed at `q = 1 - 1/count`, where
/// the maximum sits among `count` samples. Empty histograms give no points.
pub fn percentile_points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    let cap = (n as f64).max(1.0);
    h.iter_quantiles(5)
        .map(|v| {
            let q = v.quantile_iterated_to();
            let x = if q >= 1.0 {
                cap
            } else {
                (1.0 / (1.0 - q)).min(cap)
            };
            (x, v.value_iterated_to() as f64)
        })
        .collect()
}

fn draw(
    path: &Path,
    title: &str,
    (x_label, x_scale): (&str, Scale),
    (y_label, y_scale): (&str, Scale),
    series: &[(String, Vec<(f64, f64)>)],
    steps: bool,
) -> anyhow::Result<()> {
    font()?;
    let plotted: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, points)| {
            let p = points
                .iter()
                .filter_map(|&(x, y)| Some((x_scale.to_plot(x)?, y_scale.to_plot(y)?)))
                .collect();
            (name.as_str(), p)
        })
        .collect();
    let all = || plotted.iter().flat_map(|(_, p)| p.iter().copied());
    let bounds = |f: fn((f64, f64)) -> f64| {
        all().map(f).fold(None, |acc: Option<(f64, f64)>, v| {
            Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        })
    };
    let (x_lo, x_hi) = bounds(|p| p.0).unwrap_or((0.0, 1.0));
    let (y_lo, y_hi) = bounds(|p| p.1).unwrap_or((0.0, 1.0));
    let (x_axis, y_axis) = (
        Axis::new(x_scale, x_lo, x_hi),
        Axis::new(y_scale, y_lo, y_hi),
    );
    let result = (|| -> Result<(), String> {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, text(22))
            .margin(20)
            .margin_right(50)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(x_axis, y_axis)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|t| x_scale.label(*t))
            .y_label_formatter(&|t| y_scale.label(*t))
            .label_style(text(14))
            .x_desc(x_label)
            .y_desc(y_label)
            .axis_desc_style(text(16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, points)) in plotted.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let style = colour.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
            if !steps {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                    .map_err(|e| e.to_string())?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .margin(16)
            .label_font(text(15))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })();
    result
        .map_err(|e| anyhow!(e))
        .with_context(|| format!("drawing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_labels() {
        let labels: Vec<String> = (0..5).map(|t| percentile_label(t as f64)).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(950.0), "950");
        assert_eq!(human(2500.0), "2.5k");
        assert_eq!(human(10_000.0), "10k");
        assert_eq!(human(1_000_000.0), "1M");
        assert_eq!(human(0.5), "0.5");
    }

    #[test]
    fn log_ticks_are_decades() {
        let (lo, hi) = Scale::Log.range(1.3, 4.2);
        assert_eq!((lo, hi), (1.0, 5.0));
        assert_eq!(Scale::Log.ticks(lo, hi), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(Scale::Log.label(3.0), "1k");
    }

    #[test]
    fn linear_ticks_are_round() {
        let ticks = Scale::Linear.ticks(0.0, 1000.0);
        assert_eq!(ticks.first(), Some(&0.0));
        assert!(ticks.windows(2).all(|w| (w[1] - w[0] - 200.0).abs() < 1e-9));
    }

    #[test]
    fn percentile_points_of_a_uniform_histogram() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).expect("bounds");
        for v in 1..=10_000u64 {
            h.record(v).expect("in range");
        }
        let points = percentile_points(&h);
        let first = points.first().expect("points");
        let last = points.last().expect("points");
        assert!(first.0 >= 1.0 && first.0 < 1.5, "{first:?}");
        assert!((last.0 - 10_000.0).abs() < 1e-9, "{last:?}");
        assert!((last.1 - 10_000.0).abs() <= 10.0, "{last:?}");
        // Around the 90th percentile (x = 10) the value is about 9,000.
        let near = points
            .iter()
            .min_by(|a, b| (a.0 - 10.0).abs().total_cmp(&(b.0 - 10.0).abs()))
            .expect("points");
        assert!((near.1 - 9_000.0).abs() < 300.0, "{near:?}");
        assert!(points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn draws_a_png() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).expect("bounds");
        for v in [100u64, 200, 300, 5_000] {
            h.record(v).expect("in range");
        }
        let p = dir.path().join("p.png");
        latency_percentiles(&p, "test", &[("1000/s".into(), &h)]).expect("draws");
        assert!(std::fs::metadata(&p).expect("written").len() > 1000);
        let l = dir.path().join("l.png");
        let s = vec![("a".to_string(), vec![(1.0, 10.0), (10.0, 100.0)])];
        lines(&l, "t", "x", "y", true, false, &s).expect("draws");
        assert!(std::fs::metadata(&l).expect("written").len() > 1000);
    }
}
