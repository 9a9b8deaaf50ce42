//! The word-by-word comparison the automaton replaced (965f33e), kept as
//! the reference the tests hold the automaton to: each word's forms
//! computed again for every name, `str::contains` for each word.

use super::{confusable, ignorable, normalise, CONTAINS, ENDS, EXACT};

/// True when a field of this name would carry a secret in the clear.
///
/// The name is compared after compatibility decomposition (NFKD: full-width
/// `ｐｉｎ` is `pin`), with invisible characters (zero-width spaces and
/// joiners, soft hyphens, bidi controls, ...) and combining marks removed,
/// lower-cased, and without `_`, `-`, `.` or white space.
pub(super) fn is_secret_field_name(name: &str) -> bool {
    let norm = normalise(name);
    if name.is_ascii() {
        // The words are their own form in ASCII: compared as they are, with
        // no copy of each (copying every word twice for every field name
        // was most of the cost of decoding an event).
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
    let sent: String = name.chars().filter(|&c| !ignorable(c)).collect();
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
