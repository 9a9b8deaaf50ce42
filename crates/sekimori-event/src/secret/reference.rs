//! The word-by-word comparison the automaton replaced (965f33e), kept as
//! the reference the tests hold the automaton to: each word's forms
//! computed again for every name, `str::contains` for each word. Also the
//! rule as it was before every ASCII non-alphanumeric character became a
//! separator ([`before_f5`], review F5), which the rule now still covers.

use super::{confusable, ignorable, normalise, unicode_separator, CONTAINS, ENDS, EXACT};
use unicode_normalization::UnicodeNormalization;

/// True when a field of this name would carry a secret in the clear: under
/// today's separators (every ASCII character but letters and digits, and
/// the Unicode ones), or as it was refused before (so a `|` that reads as
/// `l` in a skeleton still counts).
pub(super) fn is_secret_field_name(name: &str) -> bool {
    by_separators(name, &normalise, ignorable) || before_f5(name)
}

/// The rule before review F5: an ASCII name lost only `_ - . space`; a name
/// beyond ASCII lost the Unicode separators, white space and controls but
/// kept ASCII punctuation.
pub(super) fn before_f5(name: &str) -> bool {
    let normalise_before = |s: &str| -> String {
        if s.is_ascii() {
            s.chars()
                .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
                .map(|c| c.to_ascii_lowercase())
                .collect()
        } else {
            s.nfkd()
                .flat_map(char::to_lowercase)
                .nfkd()
                .filter(|&c| !unicode_separator(c))
                .collect()
        }
    };
    by_separators(name, &normalise_before, unicode_separator)
}

/// The comparison with a name's normal form `normalise` and the characters
/// `separator` drops before a skeleton.
fn by_separators(
    name: &str,
    normalise: &dyn Fn(&str) -> String,
    separator: fn(char) -> bool,
) -> bool {
    let norm = normalise(name);
    if name.is_ascii() {
        // The words are their own form in ASCII: compared as they are.
        return matches_secret_words(&norm);
    }
    // Words compared in the same form as the name (a name sent in NFD, or
    // half-width, is the same word).
    if matches_secret_by(&norm, |w| [normalise(w), normalise(w)]) {
        return true;
    }
    // A name in another script that looks like a secret name (Cyrillic
    // `раss`, Greek `ΡΙΝ`): compare confusable skeletons (Unicode TR39) of
    // the name, as sent and lower-cased, with those of every word, in lower
    // and upper case (an upper-case Greek iota looks like `I`, not `i`).
    let sent: String = name.chars().filter(|&c| !separator(c)).collect();
    let names = [confusable(&sent), confusable(&norm)];
    names
        .iter()
        .any(|n| matches_secret_by(n, |w| [confusable(w), confusable(&w.to_uppercase())]))
}

/// Whether `norm` is, contains or ends in a secret word, each word taken in
/// the forms `form` gives.
pub(super) fn matches_secret_by(norm: &str, form: impl Fn(&str) -> [String; 2]) -> bool {
    let any = |words: &[&str], test: &dyn Fn(&str) -> bool| {
        words.iter().any(|w| form(w).iter().any(|f| test(f)))
    };
    any(EXACT, &|f| norm == f)
        || any(CONTAINS, &|f| norm.contains(f))
        || any(ENDS, &|f| norm.ends_with(f))
}

/// [`matches_secret_by`] with each word in its own form (an ASCII name).
pub(super) fn matches_secret_words(norm: &str) -> bool {
    EXACT.contains(&norm)
        || CONTAINS.iter().any(|w| norm.contains(w))
        || ENDS.iter().any(|w| norm.ends_with(w))
}
