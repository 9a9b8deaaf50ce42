//! From the attacker's side (review F5): every ASCII character that is not a
//! letter or a digit (punctuation, controls, white space) is a separator in
//! a field name, on the ASCII path and beyond ASCII alike, so a secret word
//! split by any of them is still refused.

use super::{is_secret_field_name, reference, CONTAINS, ENDS, EXACT};
use proptest::prelude::*;

/// The ASCII secret words.
fn ascii_words() -> Vec<&'static str> {
    EXACT
        .iter()
        .chain(CONTAINS)
        .chain(ENDS)
        .copied()
        .filter(|w| w.is_ascii())
        .collect()
}

/// Every ASCII byte that is not a letter or a digit.
fn separators() -> impl Iterator<Item = char> {
    (0u8..=127)
        .filter(|b| !b.is_ascii_alphanumeric())
        .map(char::from)
}

#[test]
fn the_reviews_names_are_refused() {
    for name in [
        "pass\tword",
        "api:key",
        "pass/word",
        "pin\0",
        "\0pin",
        "PASS\u{7f}WORD",
        "card|pin",
        "sms+otp",
        "client@secret",
        "id_token;",
        "pass\tword\u{e9}",
        "pass:word\u{200b}",
        "ｐａｓｓ：ｗｏｒｄ",
        "api＠key",
    ] {
        assert!(is_secret_field_name(name), "{name:?}");
        assert!(reference::is_secret_field_name(name), "{name:?}");
    }
}

/// Every secret word split once at every place by every ASCII separator,
/// lower- and upper-case, as sent (the ASCII path) and with a zero-width
/// space after it (the path beyond ASCII): refused both ways.
#[test]
fn every_word_split_by_every_ascii_separator_is_refused() {
    let mut n = 0;
    for w in ascii_words() {
        for case in [w.to_string(), w.to_ascii_uppercase()] {
            for at in 1..case.len() {
                for sep in separators() {
                    let name = format!("{}{sep}{}", &case[..at], &case[at..]);
                    assert!(is_secret_field_name(&name), "{name:?}");
                    let beyond = format!("{name}\u{200b}");
                    assert!(is_secret_field_name(&beyond), "{beyond:?}");
                    n += 1;
                }
            }
        }
    }
    assert!(n > 10_000, "{n}");
}

/// A name with no ASCII punctuation but `_ - .` (and nothing else that
/// reads as a letter): pieces of secret words, letters, digits, and
/// characters beyond ASCII.
fn plain_name() -> impl Strategy<Value = String> {
    let all: Vec<&'static str> = EXACT.iter().chain(CONTAINS).chain(ENDS).copied().collect();
    let piece = prop_oneof![
        4 => proptest::sample::select(all).prop_map(str::to_string),
        3 => "[a-zA-Z0-9]{0,6}",
        1 => "[_.\\-]{1,2}",
        1 => "[а-яА-ЯΑ-Ωα-ωｐｉｎＰＩＮ\u{200b}\u{0301}ﾊﾟｽ]{1,3}",
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Inserting ASCII separators anywhere never turns a refused name into
    /// an accepted one.
    #[test]
    fn separators_never_unhide_a_secret(
        n in plain_name(),
        seps in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..128), 1..4),
    ) {
        let mut chars: Vec<char> = n.chars().collect();
        let mut inserted = false;
        for (at, b) in seps {
            if !b.is_ascii_alphanumeric() {
                chars.insert(at.index(chars.len() + 1), char::from(b));
                inserted = true;
            }
        }
        let split: String = chars.into_iter().collect();
        if inserted && is_secret_field_name(&n) {
            prop_assert!(is_secret_field_name(&split), "{:?} refused, {:?} accepted", n, split);
        }
    }

    /// An ASCII name refused on the ASCII path is refused beyond it (with a
    /// zero-width space inside): the two paths agree on ASCII separators.
    #[test]
    fn both_paths_refuse_the_same_ascii_names(
        n in "[a-zA-Z0-9\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]{1,24}",
        at in any::<proptest::sample::Index>(),
    ) {
        if is_secret_field_name(&n) {
            let mut chars: Vec<char> = n.chars().collect();
            chars.insert(at.index(chars.len() + 1), '\u{200b}');
            let beyond: String = chars.into_iter().collect();
            prop_assert!(is_secret_field_name(&beyond), "{:?} refused, {:?} accepted", n, beyond);
        }
    }

    /// No name refused before ASCII punctuation became a separator is
    /// accepted now (a `|` still reads as `l` in a skeleton).
    #[test]
    fn every_name_refused_before_is_still_refused(
        n in "[a-zA-Z|:/;@\t\\x00 ]{0,8}(pin|PIN|p\\|n|P\\|N|ΡΙΝ|Ρ\\|Ν|раss|otp|0tp)?[a-z|:\\u{200b}é]{0,4}",
    ) {
        if reference::before_f5(&n) {
            prop_assert!(is_secret_field_name(&n), "{:?}", n);
        }
    }
}
