//! Text an attacker types: a login's claimed account, a user agent, a device
//! or session id a client made up. A real service sends whatever arrived —
//! empty, with tabs or escape sequences, hundreds of characters, any
//! Unicode — and refusing it would make the attack invisible: a refused event
//! updates no counter. So such text is never refused; it is kept in one
//! canonical form, the same however often it is canonicalised (a replay of
//! the log decodes the canonical form again and must get it back unchanged):
//!
//! 1. Unicode NFC (canonically equivalent spellings are one value);
//! 2. every control character, invisible character (zero-width spaces and
//!    joiners, bidi controls, ...) and leading or trailing white space is
//!    written as `\u{XXXX}`, so the value can be printed and logged safely
//!    and two claims that differ only there stay two claims;
//! 3. a value longer than its bound keeps a prefix and `…` and 16 hex digits
//!    of the SHA-256 of the whole escaped value: distinct long values stay
//!    distinct, and memory per value stays bounded.
//!
//! A backslash is kept as typed, so the text `\u{0009}root` typed as it
//! reads and a tab before `root` are one claim (review F6). That cannot be
//! helped and is not a way in: the form is stable, so every escaped value is
//! also a text anyone can type and must be its own canonical form, and any
//! text not kept as typed shares its claim with the text it becomes (escaping
//! the backslash too would escape it again on every replay). An attacker who
//! sends the control character reaches only the claim he could reach by
//! typing the escape; keys of text with no control, invisible character or
//! edge space are the text itself, as before.

use crate::names::is_invisible;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// Hex digits of the digest kept in a shortened value.
const DIGEST_HEX: usize = 16;

/// The canonical form of attacker-typed text, at most `max` characters
/// (`max` must leave room for the digest: at least 32).
pub fn canonical_claim(raw: &str, max: usize) -> String {
    debug_assert!(max >= 2 * DIGEST_HEX);
    if plain(raw, max) {
        return raw.to_string();
    }
    full(raw, max)
}

/// Printable ASCII (no control character, nothing invisible), no space at
/// either edge, within the bound: its own canonical form (NFC as it is,
/// nothing to escape, nothing to cut). Most claims are.
fn plain(raw: &str, max: usize) -> bool {
    let b = raw.as_bytes();
    b.len() <= max
        && b.iter().all(|c| (0x20..=0x7e).contains(c))
        && b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
}

/// [`canonical_claim`] of any text.
fn full(raw: &str, max: usize) -> String {
    let nfc: String = if is_nfc(raw) {
        raw.to_string()
    } else {
        raw.nfc().collect()
    };
    let escaped = escape(&nfc);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let keep = max - DIGEST_HEX - 1;
    let mut short: String = escaped.chars().take(keep).collect();
    // A cut must not leave edge white space (it would be escaped next time).
    while short.ends_with(char::is_whitespace) {
        short.pop();
    }
    let digest = Sha256::digest(escaped.as_bytes());
    short.push('…');
    for b in &digest[..DIGEST_HEX / 2] {
        let _ = write!(short, "{b:02x}");
    }
    short
}

/// True when `c` is written as `\u{XXXX}` wherever it stands.
fn hidden(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

fn escape(s: &str) -> String {
    let lead = s.len() - s.trim_start().len();
    let tail = s.trim_end().len().max(lead);
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        let edge = c.is_whitespace() && (i < lead || i >= tail);
        if edge || hidden(c) {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut for plain ASCII answers as the whole canonical
        /// form does, on printable text with edge spaces, tabs, controls,
        /// a byte past `~` and lengths around the bound.
        #[test]
        fn plain_text_shortcut_answers_as_the_full_form(
            s in "[ -~]{0,40}|[ -~\t\x00\x7f\u{80}\u{200b}]{0,40}|[a-z ]{30,36}",
            max in 32usize..36,
        ) {
            prop_assert_eq!(canonical_claim(&s, max), full(&s, max));
        }
    }

    #[test]
    fn printable_claims_are_kept_as_typed() {
        for s in ["root", "admin", "山田 太郎", "user@example.com", "a\\b", ""] {
            assert_eq!(canonical_claim(s, 128), s);
        }
    }

    #[test]
    fn controls_invisibles_and_edge_spaces_are_escaped() {
        assert_eq!(canonical_claim("ro\tot", 128), "ro\\u{0009}ot");
        assert_eq!(canonical_claim(" admin ", 128), "\\u{0020}admin\\u{0020}");
        assert_eq!(canonical_claim("ad\u{200b}min", 128), "ad\\u{200B}min");
        assert_eq!(canonical_claim("\u{1b}[2J", 128), "\\u{001B}[2J");
        assert_eq!(canonical_claim("   ", 128), "\\u{0020}\\u{0020}\\u{0020}");
        assert_eq!(canonical_claim("\u{3000}x", 128), "\\u{3000}x");
    }

    /// Why a typed escape and the character it names are one claim: the
    /// escaped form is a typable text, stable under canonicalisation, so it
    /// must stay as it is; escaping its backslash would change it again on
    /// every replay. And a text with a backslash but nothing to escape keeps
    /// its key (what older logs and snapshots hold).
    #[test]
    fn a_typed_escape_is_the_claim_of_what_it_names() {
        let escaped = canonical_claim("\troot", 128);
        assert_eq!(escaped, "\\u{0009}root");
        assert_eq!(canonical_claim(&escaped, 128), escaped);
        assert_eq!(canonical_claim("\\u{0009}root", 128), escaped);
        for kept in ["a\\b", "\\u{0009}", "C:\\Users\\root", "\\\\"] {
            assert_eq!(canonical_claim(kept, 128), kept);
        }
    }

    #[test]
    fn equivalent_spellings_are_one_claim() {
        // "é" precomposed and as e + combining acute.
        assert_eq!(
            canonical_claim("caf\u{e9}", 128),
            canonical_claim("cafe\u{301}", 128)
        );
    }

    #[test]
    fn long_claims_keep_a_prefix_and_a_digest() {
        let a = "x".repeat(500);
        let b = format!("{}y", "x".repeat(499));
        let (ca, cb) = (canonical_claim(&a, 128), canonical_claim(&b, 128));
        assert_eq!(ca.chars().count(), 128);
        assert!(ca.starts_with(&"x".repeat(111)));
        assert_ne!(ca, cb, "two long claims with one prefix stay two claims");
        assert_eq!(canonical_claim(&ca, 128), ca);
    }

    proptest! {
        #[test]
        fn canonical_is_bounded_printable_and_stable(s in "\\PC{0,40}|[\\x00-\\x20 a\u{200b}\u{301}é]{0,300}|.{0,200}") {
            let c = canonical_claim(&s, 64);
            prop_assert!(c.chars().count() <= 64);
            prop_assert!(!c.chars().any(hidden));
            prop_assert_eq!(c.trim(), c.as_str());
            prop_assert_eq!(canonical_claim(&c, 64), c.clone());
        }
    }
}
