//! PNG charts of a scorecard and of loss curves.
//!
//! Drawn with plotters' bitmap backend and a font embedded in the binary
//! (DejaVu Sans, `data/fonts/`), so nothing depends on the fonts installed.
//! The same inputs give byte-identical files: the PNG encoder writes no
//! timestamp, and every size, range, colour and order is a function of the
//! inputs alone (scenarios and baselines are taken in the order they come).

use crate::report::Scorecard;
use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, ChartBuilder, DashedLineSeries, DrawingArea, EmptyElement, IntoDrawingArea,
    LineSeries, PathElement, Rectangle, SeriesLabelPosition, Text,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, Color, FontStyle, RGBColor, TextStyle, WHITE};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans.ttf");
/// The family the font is registered under; plotters' own defaults use it too.
const FAMILY: &str = "sans-serif";

const WIDTH: u32 = 1200;
const INK: RGBColor = RGBColor(40, 40, 40);
const GREY: RGBColor = RGBColor(110, 110, 110);

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded font does not load")]
    Font,
    #[error("drawing {path}: {message}")]
    Draw { path: PathBuf, message: String },
}

/// Registers the embedded font, once per process.
fn font() -> Result<(), ChartError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

/// A baseline's colour (Okabe–Ito, readable by the colour-blind); baselines
/// this module does not know take the remaining colours by position.
fn colour(baseline: &str, index: usize) -> RGBColor {
    const OTHERS: [RGBColor; 4] = [
        RGBColor(213, 94, 0),
        RGBColor(204, 121, 167),
        RGBColor(0, 114, 178),
        RGBColor(240, 228, 66),
    ];
    match baseline {
        "none" => RGBColor(140, 140, 140),
        "per-account-lockout" => RGBColor(230, 159, 0),
        "per-ip-bucket" => RGBColor(86, 180, 233),
        "sekimori" => RGBColor(0, 158, 115),
        _ => OTHERS[index % OTHERS.len()],
    }
}

/// Yen, short: "¥58.0 B", "¥22.1 M", "¥950.0 K", "¥120".
pub fn yen_short(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}¥{:.1} B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}¥{:.1} M", a / 1e6)
    } else if a >= 1e3 {
        format!("{sign}¥{:.1} K", a / 1e3)
    } else {
        format!("{sign}¥{a:.0}")
    }
}

fn text(size: u32, colour: RGBColor) -> TextStyle<'static> {
    TextStyle {
        color: colour.to_backend_color(),
        ..TextStyle::from((FAMILY, size))
    }
}

/// The top of a yen axis: the largest value plus headroom for the labels.
fn top(max: i64) -> f64 {
    (max.max(0) as f64 * 1.15).max(1000.0)
}

/// Draws with `draw` on a white bitmap of `size`, then writes `path`.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<(), ChartError> {
    font()?;
    let err = |message: String| ChartError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    draw(&root).map_err(err)?;
    root.present().map_err(|e| err(e.to_string()))
}

/// Bar chart of the money stolen: one panel per scenario (each on its own
/// linear yen scale, with the amount targeted as a dashed line), one bar per
/// baseline, the amount written above each bar. `path` should end in
/// `.png`: the encoder picks the format from the extension.
pub fn stolen_by_baseline(card: &Scorecard, path: &Path) -> Result<(), ChartError> {
    let mut scenarios: Vec<&str> = Vec::new();
    let mut baselines: Vec<&str> = Vec::new();
    for r in &card.rows {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
        if !baselines.contains(&r.baseline) {
            baselines.push(r.baseline);
        }
    }
    let cols = scenarios.len().clamp(1, 3);
    let rows = scenarios.len().div_ceil(cols).max(1);
    let (header, panel_h) = (120u32, 340u32);
    let height = header + rows as u32 * panel_h + 10;
    render(path, (WIDTH, height), |root| {
        let (head, body) = root.split_vertically(header);
        let subtitle = format!(
            "seed {}, size {:?}, rule pack {}",
            card.seed, card.size, card.rule_pack
        );
        draw_text(
            &head,
            "Money stolen per scenario and baseline",
            26,
            INK,
            40,
            12,
        )?;
        draw_text(&head, &subtitle, 15, GREY, 40, 48)?;
        // The legend: one swatch per baseline, in a row.
        let mut x = 40;
        for (i, b) in baselines.iter().enumerate() {
            head.draw(&Rectangle::new(
                [(x, 84), (x + 18, 100)],
                colour(b, i).filled(),
            ))
            .map_err(|e| e.to_string())?;
            draw_text(&head, b, 16, INK, x + 26, 84)?;
            let (w, _) = head
                .estimate_text_size(b, &text(16, INK))
                .map_err(|e| e.to_string())?;
            x += 26 + w as i32 + 36;
        }
        head.draw(&PathElement::new(
            [(x, 92), (x + 8, 92)],
            GREY.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        head.draw(&PathElement::new(
            [(x + 13, 92), (x + 21, 92)],
            GREY.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        draw_text(&head, "amount targeted", 16, INK, x + 29, 84)?;
        if scenarios.is_empty() {
            return draw_text(
                &body,
                "no attack scenarios in this scorecard",
                18,
                GREY,
                40,
                20,
            );
        }
        let panels = body.split_evenly((rows, cols));
        for (scenario, panel) in scenarios.iter().zip(&panels) {
            let of: Vec<_> = card
                .rows
                .iter()
                .filter(|r| r.scenario == *scenario)
                .collect();
            let targeted = of.iter().map(|r| r.targeted_jpy).max().unwrap_or(0);
            let stolen = of.iter().map(|r| r.stolen_jpy).max().unwrap_or(0);
            let n = baselines.len() as f64;
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("{scenario} (targeted {})", yen_short(targeted as f64)),
                    text(17, INK),
                )
                .margin(12)
                .x_label_area_size(10)
                .y_label_area_size(78)
                .build_cartesian_2d(0.0..n, 0.0..top(targeted.max(stolen)))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_x_axis()
                .y_labels(6)
                .y_label_formatter(&|v| yen_short(*v))
                .y_label_style(text(13, INK))
                .y_desc("stolen (¥)")
                .axis_desc_style(text(14, INK))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(225, 225, 225))
                .draw()
                .map_err(|e| e.to_string())?;
            if targeted > 0 {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(0.0, targeted as f64), (n, targeted as f64)],
                        6,
                        4,
                        GREY.stroke_width(1),
                    ))
                    .map_err(|e| e.to_string())?;
            }
            for (i, b) in baselines.iter().enumerate() {
                let Some(r) = of.iter().find(|r| r.baseline == *b) else {
                    continue;
                };
                let (x0, v) = (i as f64, r.stolen_jpy as f64);
                chart
                    .draw_series([Rectangle::new(
                        [(x0 + 0.15, 0.0), (x0 + 0.85, v)],
                        colour(b, i).filled(),
                    )])
                    .map_err(|e| e.to_string())?;
                let label = text(13, INK).pos(Pos::new(HPos::Center, VPos::Bottom));
                chart
                    .draw_series([
                        EmptyElement::at((x0 + 0.5, v)) + Text::new(yen_short(v), (0, -4), label)
                    ])
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// One baseline's losses for [`cumulative_loss`]: its name, the attack's
/// onset (ms), and the losses as `(at_ms, cumulative_jpy)` pairs, as in
/// [`crate::score::Attack`].
pub type LossSeries<'a> = (&'a str, Option<i64>, &'a [(i64, i64)]);

type Steps = Vec<(f64, f64)>;

/// Line chart of one scenario's cumulative loss against minutes since the
/// attack's onset, one step line per baseline. `series` holds, per baseline,
/// its name, the onset (ms) and the losses (`(at_ms, cumulative_jpy)`, as in
/// [`crate::score::Attack`]). Lines that coincide stay visible: the first
/// drawn is the widest. `path` should end in `.png`.
pub fn cumulative_loss(
    scenario: &str,
    series: &[LossSeries<'_>],
    path: &Path,
) -> Result<(), ChartError> {
    // Per baseline: name, step points (minutes, yen), final total.
    let lines: Vec<(&str, Steps, i64)> = series
        .iter()
        .map(|(b, onset, losses)| {
            // Losses are recorded as they are booked, not always in time
            // order: take each one's amount and add them up in time order.
            let mut steps: Vec<(i64, i64)> = Vec::with_capacity(losses.len());
            let mut booked = 0;
            for &(at, cum) in *losses {
                steps.push((at, cum - booked));
                booked = cum;
            }
            steps.sort_by_key(|s| s.0);
            let onset = onset.or(steps.first().map(|s| s.0)).unwrap_or(0);
            let mut points = vec![(0.0, 0.0)];
            let mut last = 0;
            for (at, amount) in steps {
                let t = (at - onset).max(0) as f64 / 60_000.0;
                points.push((t, last as f64));
                last += amount;
                points.push((t, last as f64));
            }
            (*b, points, last)
        })
        .collect();
    let end = lines
        .iter()
        .flat_map(|l| l.1.last())
        .map(|p| p.0)
        .fold(0.0, f64::max);
    let x_max = if end > 0.0 { end * 1.05 } else { 1.0 };
    let y_max = top(lines.iter().map(|l| l.2).max().unwrap_or(0));
    render(path, (WIDTH, 700), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{scenario}: cumulative loss since the attack began"),
                text(24, INK),
            )
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(95)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|m| minutes(*m))
            .y_label_formatter(&|v| yen_short(*v))
            .label_style(text(15, INK))
            .x_desc("minutes since onset")
            .y_desc("cumulative stolen (¥)")
            .axis_desc_style(text(16, INK))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()
            .map_err(|e| e.to_string())?;
        if lines.is_empty() {
            let at = chart.backend_coord(&(x_max / 2.0, y_max / 2.0));
            let style = text(20, GREY).pos(Pos::new(HPos::Center, VPos::Center));
            return root
                .draw(&Text::new("no losses recorded", at, style))
                .map_err(|e| e.to_string());
        }
        let n = lines.len();
        for (i, (b, points, last)) in lines.into_iter().enumerate() {
            let width = 2 + 3 * (n - 1 - i) as u32;
            let style = colour(b, i).stroke_width(width);
            let mut points = points;
            if let Some(&(_, v)) = points.last() {
                points.push((x_max, v));
            }
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| e.to_string())?
                .label(format!("{b}: {}", yen_short(last as f64)))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .margin(16)
            .label_font(text(16, INK))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// Minutes on the time axis, without a needless ".0".
fn minutes(m: f64) -> String {
    if (m - m.round()).abs() < 1e-9 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

fn draw_text(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    s: &str,
    size: u32,
    colour: RGBColor,
    x: i32,
    y: i32,
) -> Result<(), String> {
    area.draw(&Text::new(s, (x, y), text(size, colour)))
        .map_err(|e| e.to_string())
}
