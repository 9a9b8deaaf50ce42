//! Linked entities as a server-side SVG: the case's account in the middle,
//! the accounts that share a device or an address with it around, each
//! coloured by what is known of it, and the same as a list for screen
//! readers. Geometry only uses floats; nothing here decides anything.

use maud::{html, Markup};
use serde::Serialize;

/// One account linked to the case's.
#[derive(Clone, Debug, Serialize)]
pub struct Linked {
    pub account: String,
    /// What they share: `device:..` or `ip:..`.
    pub shared: String,
    /// `fraud`, `open`, `closed` or `clean` (see `Index::standing`).
    pub standing: &'static str,
}

const W: f64 = 640.0;
const H: f64 = 340.0;

fn colour(standing: &str) -> &'static str {
    match standing {
        "fraud" => "#8b0000",
        "open" => "#9a5b00",
        "closed" => "#555555",
        _ => "#0b5d1e",
    }
}

pub fn graph(title: &str, center: &str, center_standing: &'static str, links: &[Linked]) -> Markup {
    let (cx, cy, r) = (W / 2.0, H / 2.0, 130.0);
    let n = links.len().max(1) as f64;
    let at = |i: usize| {
        let a = std::f64::consts::TAU * (i as f64) / n - std::f64::consts::FRAC_PI_2;
        (cx + r * 1.8 * a.cos(), cy + r * a.sin())
    };
    html! {
        figure.graph {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } width="640" height="340" role="img" aria-labelledby="graph-title" {
                title id="graph-title" { (title) }
                @for (i, l) in links.iter().enumerate() {
                    @let (x, y) = at(i);
                    line x1=(cx) y1=(cy) x2=(format!("{x:.1}")) y2=(format!("{y:.1}")) stroke="#888" stroke-width="1.5" {}
                    text x=(format!("{:.1}", (cx + x) / 2.0)) y=(format!("{:.1}", (cy + y) / 2.0 - 4.0)) font-size="10" fill="#333" text-anchor="middle" { (short(&l.shared)) }
                }
                circle cx=(cx) cy=(cy) r="16" fill=(colour(center_standing)) {}
                text x=(cx) y=(format!("{:.1}", cy + 30.0)) font-size="13" font-weight="700" text-anchor="middle" fill="#111" { (center) }
                @for (i, l) in links.iter().enumerate() {
                    @let (x, y) = at(i);
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="11" fill=(colour(l.standing)) {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 24.0)) font-size="12" text-anchor="middle" fill="#111" { (l.account) " (" (l.standing) ")" }
                }
            }
            figcaption {
                ul.linked {
                    @for l in links { li { (l.account) " — " (l.shared) " — " (l.standing) } }
                }
            }
        }
    }
}

/// A link's label in the drawing: long values (a secret's fingerprint)
/// cut to 24 characters (the list below the drawing has them whole).
fn short(s: &str) -> String {
    if s.chars().count() <= 24 {
        s.to_string()
    } else {
        let head: String = s.chars().take(23).collect();
        format!("{head}…")
    }
}
