//! The charts: real PNG files, byte-for-byte the same for the same inputs,
//! and no panic on empty inputs.

use sekimori_sim::chart::{cumulative_loss, stolen_by_baseline, yen_short, ChartError, LossSeries};
use sekimori_sim::report::Row;
use sekimori_sim::{Baseline, Scorecard, Size};
use std::path::Path;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A scorecard shaped like a real one (seed 1, small world).
fn card() -> Scorecard {
    let mut card = Scorecard::new(1, Size::Small, "default 2026.11.23-1".into());
    let scenarios = [
        (
            "docomo-koza",
            22_062_127,
            [22_062_127, 22_062_127, 22_062_127, 0],
        ),
        (
            "password-spray",
            6_937_658,
            [6_937_658, 6_937_658, 6_937_658, 0],
        ),
        (
            "coincheck-key",
            58_000_700_000,
            [
                58_000_700_000,
                58_000_700_000,
                58_000_700_000,
                19_340_961_109,
            ],
        ),
        (
            "zaif",
            4_176_199_992,
            [4_176_199_992, 4_176_199_992, 4_176_199_992, 174_008_333],
        ),
    ];
    for (b, baseline) in Baseline::ALL.into_iter().enumerate() {
        for (scenario, targeted, stolen) in scenarios {
            card.rows.push(Row {
                scenario: scenario.to_string(),
                baseline: baseline.name(),
                targeted_jpy: targeted,
                stolen_jpy: stolen[b],
                victims: 1,
                first_block_after_s: None,
            });
        }
    }
    card
}

/// A baseline's name, onset and losses.
type Owned = (&'static str, Option<i64>, Vec<(i64, i64)>);

/// A Coincheck-like drain (¥9.7 B every three minutes), and one stopped
/// after two withdrawals.
fn losses() -> Vec<Owned> {
    let onset = 1_700_000_000_000;
    let drain: Vec<(i64, i64)> = (1..=6)
        .map(|k| (onset + k * 180_000, k * 9_666_783_333))
        .collect();
    vec![
        ("none", Some(onset), drain.clone()),
        ("per-account-lockout", Some(onset), drain.clone()),
        ("per-ip-bucket", Some(onset), drain),
        (
            "sekimori",
            Some(onset),
            vec![
                (onset + 180_000, 9_666_783_333),
                (onset + 360_000, 19_333_566_666),
            ],
        ),
    ]
}

fn series(l: &[Owned]) -> Vec<LossSeries<'_>> {
    l.iter().map(|(b, o, v)| (*b, *o, v.as_slice())).collect()
}

/// Checks `path` is a PNG of the expected width, and returns its bytes.
fn png(path: &Path, width: u32) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("written");
    assert!(
        bytes.starts_with(PNG_SIGNATURE),
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(
        u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes")),
        width
    );
    assert!(
        !bytes.windows(4).any(|w| w == b"tIME"),
        "no timestamp chunk"
    );
    bytes
}

#[test]
fn the_bar_chart_is_a_real_png_and_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    stolen_by_baseline(&card(), &a).expect("draws");
    stolen_by_baseline(&card(), &b).expect("draws");
    let bytes = png(&a, 1200);
    assert!(bytes.len() > 20_000, "only {} bytes", bytes.len());
    assert!(bytes == png(&b, 1200), "two renderings differ");
}

#[test]
fn the_loss_chart_is_a_real_png_and_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    let l = losses();
    cumulative_loss("coincheck-key", &series(&l), &a).expect("draws");
    cumulative_loss("coincheck-key", &series(&l), &b).expect("draws");
    let bytes = png(&a, 1200);
    assert!(bytes.len() > 20_000, "only {} bytes", bytes.len());
    assert!(bytes == png(&b, 1200), "two renderings differ");
    // Losses booked out of time order (the running total grows in booking
    // order) draw the same curve as the same losses booked in order.
    let in_order: Vec<(i64, i64)> = (1..=4).map(|k| (k * 60_000, k * 1_000)).collect();
    let booked: Vec<(i64, i64)> = [1, 3, 2, 4]
        .into_iter()
        .zip(1..)
        .map(|(minute, k)| (minute * 60_000, k * 1_000))
        .collect();
    let (c, d) = (dir.path().join("c.png"), dir.path().join("d.png"));
    cumulative_loss("mules", &[("none", Some(0), &in_order)], &c).expect("draws");
    cumulative_loss("mules", &[("none", Some(0), &booked)], &d).expect("draws");
    assert!(
        png(&c, 1200) == png(&d, 1200),
        "booking order changed the curve"
    );
}

#[test]
fn empty_inputs_draw_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = Scorecard::new(1, Size::Small, "default".into());
    stolen_by_baseline(&empty, &dir.path().join("rows.png")).expect("draws");
    png(&dir.path().join("rows.png"), 1200);

    cumulative_loss("zaif", &[], &dir.path().join("series.png")).expect("draws");
    png(&dir.path().join("series.png"), 1200);

    let none: &[(i64, i64)] = &[];
    cumulative_loss(
        "zaif",
        &[("none", None, none), ("sekimori", Some(5), none)],
        &dir.path().join("losses.png"),
    )
    .expect("draws");
    png(&dir.path().join("losses.png"), 1200);

    // A scenario where nothing was targeted nor stolen.
    let mut zero = Scorecard::new(1, Size::Small, "default".into());
    zero.rows.push(Row {
        scenario: "mules".into(),
        baseline: "sekimori",
        targeted_jpy: 0,
        stolen_jpy: 0,
        victims: 0,
        first_block_after_s: None,
    });
    stolen_by_baseline(&zero, &dir.path().join("zero.png")).expect("draws");
    png(&dir.path().join("zero.png"), 1200);
}

#[test]
fn a_path_the_encoder_cannot_write_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no/such/dir/chart.png");
    assert!(matches!(
        stolen_by_baseline(&card(), &missing),
        Err(ChartError::Draw { .. })
    ));
}

#[test]
fn yen_reads_at_a_glance() {
    assert_eq!(yen_short(58_000_700_000.0), "¥58.0 B");
    assert_eq!(yen_short(22_062_127.0), "¥22.1 M");
    assert_eq!(yen_short(300_000.0), "¥300.0 K");
    assert_eq!(yen_short(950.0), "¥950");
    assert_eq!(yen_short(0.0), "¥0");
}
