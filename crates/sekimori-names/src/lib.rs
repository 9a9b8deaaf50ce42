//! Japanese account-holder name matching, as Japanese banks write names.
//!
//! Used to compare a wallet holder's registered name with the holder name
//! of a bank account linked to the wallet (the 2020 docomo koza incident:
//! other people's bank accounts linked to throwaway wallets). The same
//! person's name arrives in many spellings — half-width Zengin katakana
//! `ﾔﾏﾀﾞ ﾀﾛｳ`, full-width `ヤマダ タロウ`, hiragana, passport romaji
//! `YAMADA TARO` — and those must match, while a *different* person with a
//! look-alike name (`ヤマダ ジロウ`) must not.
//!
//! # Normalization rules ([`normalize`])
//!
//! 1. Separate dakuten / handakuten (`゛ ゜ ﾞ ﾟ`) become combining marks,
//!    then Unicode NFKC: half-width katakana become full-width, `ｶﾞ`
//!    composes to `ガ`, full-width ASCII becomes ASCII. Dakuten that cannot
//!    compose are dropped. Voicing is otherwise kept: `ガ != カ`.
//! 2. Whitespace (ASCII, ideographic, repeated) and the separators
//!    `・ . , 、` split the name into tokens joined by one ASCII space.
//! 3. Tokens containing Latin letters are romaji and converted to katakana
//!    with [`to_katakana_romaji`] (Hepburn, kunrei and passport spellings).
//! 4. Kana tokens: hiragana → katakana; small kana → large, as Zengin
//!    names write them (`キャ` ≡ `キヤ`, `ッ` ≡ `ツ`); `ヰ ヱ ヂ ヅ` → `イ エ ジ ズ`.
//! 5. Long vowels: **every lengthened vowel is folded to one `ー`**. The
//!    marks `ー ｰ - ‐ − ―` become `ー`, an `オ` or `ウ` after an o-row kana
//!    becomes `ー` (`オオタ`, `オウタ`, `オータ` → `オータ`), and a `ウ`
//!    after a u-row kana becomes `ー` (`ユウコ` → `ユーコ`). Length is
//!    *kept*, not dropped, so `コウノ` (`コーノ`) and `コノ`, or `オオノ`
//!    and `オノ`, stay different names.
//!
//! # Comparison ([`compare`])
//!
//! | verdict | score | when |
//! |---|---|---|
//! | [`Verdict::Exact`] | 100 | raw strings equal |
//! | [`Verdict::Equivalent`] | 100 | equal after normalization |
//! | [`Verdict::Equivalent`] | 98 | equal after normalization, ignoring spaces |
//! | [`Verdict::Equivalent`] | 97 | a romaji side equals ignoring vowel length |
//! | [`Verdict::OrderSwapped`] | 95 | same tokens, family/given swapped |
//! | [`Verdict::OrderSwapped`] | 93 | swapped, romaji side, ignoring vowel length |
//! | [`Verdict::Similar`] | 50–89 | small kana edit distance |
//! | [`Verdict::Different`] | 0–49 | anything else, or an empty name |
//!
//! Passport romaji does not write vowel length (`SATO` for `サトウ`,
//! `OTA` for `オオタ`), so when either side contains romaji the long-vowel
//! marks are ignored for that comparison only.
//!
//! A name is a match when `score >= MATCH_THRESHOLD` (90). A
//! [`Verdict::Similar`] score is capped at 89, so **no edit at all is
//! tolerated for a match**: `サトウ`/`サイトウ`, `ヤマダ タロウ`/`ヤマダ ジロウ`,
//! `ハシモト`/`ハシモド`, `カトウ`/`ガトウ` and `コウノ`/`コノ` are different
//! people. A near-miss is reported as `Similar` so callers can route it to
//! review rather than accept it — a one-kana typo tolerance is exactly what
//! an attacker linking a look-alike account would exploit.

mod kana;
mod romaji;

use unicode_normalization::UnicodeNormalization;

/// Score at or above which two names are considered the same holder.
pub const MATCH_THRESHOLD: u8 = 90;

/// Highest score a [`Verdict::Similar`] pair can get (below the threshold).
pub const SIMILAR_MAX: u8 = MATCH_THRESHOLD - 1;

/// Lowest score reported as [`Verdict::Similar`]; below it, `Different`.
pub const SIMILAR_MIN: u8 = 50;

/// Largest number of tokens for which every family/given order is tried.
const MAX_PERMUTED_TOKENS: usize = 5;

/// How two names relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The raw strings are identical.
    Exact,
    /// Identical after normalization (width, script, small kana, long
    /// vowels, spaces, romaji).
    Equivalent,
    /// The same tokens in another order (family and given name swapped).
    OrderSwapped,
    /// A small edit distance apart: a look-alike, *not* a match.
    Similar,
    /// Different names.
    Different,
}

/// The result of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameMatch {
    /// Similarity, 0–100.
    pub score: u8,
    /// Category of the relation.
    pub verdict: Verdict,
    /// Human-readable explanation, for logs and analyst review.
    pub reason: &'static str,
}

impl NameMatch {
    /// True if `score >= MATCH_THRESHOLD`: the names belong to the same
    /// holder. Only `Exact`, `Equivalent` and `OrderSwapped` reach it.
    #[must_use]
    pub fn is_match(&self) -> bool {
        self.score >= MATCH_THRESHOLD
    }
}

/// Normalizes a name to the canonical katakana form described in the
/// crate documentation: tokens separated by a single space.
///
/// ```
/// assert_eq!(sekimori_names::normalize("ﾔﾏﾀﾞ　 ﾀﾛｳ"), "ヤマダ タロー");
/// assert_eq!(sekimori_names::normalize("Yamada Tarou"), "ヤマダ タロー");
/// ```
#[must_use]
pub fn normalize(name: &str) -> String {
    tokens(name).join(" ")
}

/// Converts romaji (Hepburn, kunrei-shiki or passport spelling, any case)
/// to katakana, keeping spaces between words (collapsed to one).
///
/// Handles syllabic `n`/`nn`/`n'` and Hepburn `m` before b/m/p, doubled
/// consonants (`tt` → `ッ`, `tch` → `ッチ`), macron / circumflex vowels
/// (`ō` → `オー`) and passport `oh` (`OHTA` → `オータ`). `ou`/`oo` stay
/// two kana here (`タロウ`); [`normalize`] folds them to `ー`. Letters that
/// cannot be read as romaji are kept, upper-cased.
///
/// ```
/// assert_eq!(sekimori_names::to_katakana_romaji("Hattori  Shin'ichi"), "ハットリ シンイチ");
/// ```
#[must_use]
pub fn to_katakana_romaji(romaji: &str) -> String {
    romaji
        .split_whitespace()
        .map(romaji::word_to_katakana)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prepares raw input: separate dakuten to combining, then NFKC.
fn nfkc(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '゛' => '\u{3099}',
            '゜' => '\u{309A}',
            other => other,
        })
        .nfkc()
        .collect()
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '・' | '.' | ',' | '、' | '。')
}

fn is_romaji_token(token: &str) -> bool {
    token.chars().any(romaji::is_romaji_letter)
}

/// Normalized tokens of a name.
fn tokens(name: &str) -> Vec<String> {
    nfkc(name)
        .split(is_separator)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if is_romaji_token(t) {
                kana::fold_token(&romaji::word_to_katakana(t))
            } else {
                kana::fold_token(t)
            }
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn strip_length(tokens: &[String]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| t.chars().filter(|&c| c != kana::CHOON).collect::<String>())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Every order of `tokens` (only the given order past
/// `MAX_PERMUTED_TOKENS`), each joined without spaces.
fn orderings(tokens: &[String]) -> Vec<String> {
    fn permute(rest: &mut Vec<String>, acc: &mut Vec<String>, out: &mut Vec<String>) {
        if rest.is_empty() {
            out.push(acc.concat());
            return;
        }
        for i in 0..rest.len() {
            let t = rest.remove(i);
            acc.push(t);
            permute(rest, acc, out);
            if let Some(t) = acc.pop() {
                rest.insert(i, t);
            }
        }
    }
    if tokens.len() > MAX_PERMUTED_TOKENS {
        return vec![tokens.concat()];
    }
    let mut out = Vec::new();
    permute(&mut tokens.to_vec(), &mut Vec::new(), &mut out);
    out
}

/// Levenshtein distance over chars.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn result(score: u8, verdict: Verdict, reason: &'static str) -> NameMatch {
    NameMatch {
        score,
        verdict,
        reason,
    }
}

/// Equality checks on one pair of token lists; `None` if not equal in any
/// order. Scores are (normalized, spaces ignored, swapped).
fn equal_match(a: &[String], b: &[String], scores: [u8; 3], lossy: bool) -> Option<NameMatch> {
    if a == b {
        return Some(result(
            scores[0],
            Verdict::Equivalent,
            if lossy {
                "identical ignoring vowel length (romaji omits it)"
            } else {
                "identical after normalization"
            },
        ));
    }
    let joined_b = b.concat();
    if a.concat() == joined_b {
        return Some(result(
            scores[1],
            Verdict::Equivalent,
            "identical ignoring spaces",
        ));
    }
    if orderings(a).contains(&joined_b) || orderings(b).contains(&a.concat()) {
        return Some(result(
            scores[2],
            Verdict::OrderSwapped,
            "same names in another order (family/given swapped)",
        ));
    }
    None
}

/// Compares two holder names. See the crate documentation for the rules,
/// verdicts and scores.
///
/// ```
/// use sekimori_names::{compare, Verdict};
/// let m = compare("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ");
/// assert!(m.is_match());
/// let m = compare("ヤマダ タロウ", "ヤマダ ジロウ");
/// assert_eq!(m.verdict, Verdict::Similar);
/// assert!(!m.is_match());
/// ```
#[must_use]
pub fn compare(a: &str, b: &str) -> NameMatch {
    compare_tokens(a, b, tokens(a), tokens(b))
}

/// [`compare`], or `None` when either name is longer than `max_chars`
/// characters as written or once normalized (the length of
/// [`normalize`]'s text). Each name is normalized once: the length is read
/// from the tokens the comparison uses.
///
/// ```
/// use sekimori_names::{compare, compare_bounded};
/// assert_eq!(compare_bounded("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", 48), Some(compare("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ")));
/// assert_eq!(compare_bounded("ヤマダ タロウ", "ヤマダ ジロウ", 6), None);
/// ```
#[must_use]
pub fn compare_bounded(a: &str, b: &str, max_chars: usize) -> Option<NameMatch> {
    // Four bytes per char at most: skips counting a huge string.
    let written = |n: &str| n.len() <= 4 * max_chars && n.chars().count() <= max_chars;
    if !written(a) || !written(b) {
        return None;
    }
    let ta = tokens(a);
    let tb = tokens(b);
    if normalized_chars(&ta) > max_chars || normalized_chars(&tb) > max_chars {
        return None;
    }
    Some(compare_tokens(a, b, ta, tb))
}

/// The characters of [`normalize`]'s text of these tokens: theirs and one
/// space between each two.
fn normalized_chars(tokens: &[String]) -> usize {
    let chars: usize = tokens.iter().map(|t| t.chars().count()).sum();
    chars + tokens.len().saturating_sub(1)
}

/// [`compare`] of `a` and `b`, given their [`tokens`].
fn compare_tokens(a: &str, b: &str, ta: Vec<String>, tb: Vec<String>) -> NameMatch {
    if ta.is_empty() || tb.is_empty() {
        return result(0, Verdict::Different, "empty name");
    }
    if a == b {
        return result(100, Verdict::Exact, "identical");
    }
    if let Some(m) = equal_match(&ta, &tb, [100, 98, 95], false) {
        return m;
    }
    let lossy = is_romaji_token(&nfkc(a)) || is_romaji_token(&nfkc(b));
    let (ka, kb) = if lossy {
        (strip_length(&ta), strip_length(&tb))
    } else {
        (ta, tb)
    };
    if lossy && !ka.is_empty() && !kb.is_empty() {
        if let Some(m) = equal_match(&ka, &kb, [97, 97, 93], true) {
            return m;
        }
    }

    let target: Vec<char> = kb.concat().chars().collect();
    let (distance, len) = orderings(&ka)
        .iter()
        .map(|o| {
            let chars: Vec<char> = o.chars().collect();
            let len = chars.len().max(target.len());
            (edit_distance(&chars, &target), len)
        })
        .min()
        .unwrap_or((usize::MAX, 1));
    let len = len.max(1);
    let kept = len.saturating_sub(distance);
    let scaled = usize::from(SIMILAR_MAX) * kept / len;
    let score = u8::try_from(scaled).unwrap_or(0).min(SIMILAR_MAX);
    if score >= SIMILAR_MIN {
        result(
            score,
            Verdict::Similar,
            if distance == 1 {
                "look-alike: differs by one kana"
            } else {
                "look-alike: differs by a few kana"
            },
        )
    } else {
        result(score, Verdict::Different, "names differ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_width_and_dakuten() {
        assert_eq!(normalize("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロー");
        assert_eq!(normalize("ヤマタ゛ タロウ"), "ヤマダ タロー");
        assert_eq!(normalize("ヤマタ\u{3099}"), "ヤマダ");
        assert_eq!(normalize("ｶﾞｸ"), "ガク");
        assert_eq!(normalize("ｱﾞ"), "ア");
    }

    #[test]
    fn normalize_script_and_small_kana() {
        assert_eq!(normalize("やまだ たろう"), "ヤマダ タロー");
        assert_eq!(normalize("キャリ"), normalize("キヤリ"));
        assert_eq!(normalize("ハットリ"), "ハツトリ");
        assert_eq!(normalize("ｷｮｳｺ"), "キヨーコ");
    }

    #[test]
    fn normalize_long_vowels() {
        assert_eq!(normalize("オオタ"), "オータ");
        assert_eq!(normalize("オウタ"), "オータ");
        assert_eq!(normalize("ｵｰﾀ"), "オータ");
        assert_eq!(normalize("オ-タ"), "オータ");
        assert_eq!(normalize("ユウコ"), normalize("ユーコ"));
        assert_ne!(normalize("コウノ"), normalize("コノ"));
    }

    #[test]
    fn normalize_spaces_and_romaji() {
        assert_eq!(
            normalize("  ヤマダ\u{3000}\u{3000}タロウ  "),
            "ヤマダ タロー"
        );
        assert_eq!(normalize("ＹＡＭＡＤＡ　ＴＡＲＯＵ"), "ヤマダ タロー");
        assert_eq!(normalize("Ōta"), "オータ");
        assert_eq!(normalize("OHTA"), "オータ");
        assert_eq!(normalize("OOTA"), "オータ");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{3000} "), "");
    }

    #[test]
    fn romaji_public() {
        assert_eq!(to_katakana_romaji("YAMADA TARO"), "ヤマダ タロ");
        assert_eq!(to_katakana_romaji("Yamada Tarou"), "ヤマダ タロウ");
        assert_eq!(to_katakana_romaji("OHTA"), "オータ");
    }

    #[test]
    fn verdicts() {
        assert_eq!(compare("ヤマダ", "ヤマダ").verdict, Verdict::Exact);
        assert_eq!(compare("ﾔﾏﾀﾞ", "ヤマダ").verdict, Verdict::Equivalent);
        assert_eq!(compare("ﾔﾏﾀﾞ", "ヤマダ").score, 100);
        let m = compare("タロウ ヤマダ", "ヤマダ タロウ");
        assert_eq!((m.verdict, m.score), (Verdict::OrderSwapped, 95));
        let m = compare("サトウ", "サイトウ");
        assert_eq!(m.verdict, Verdict::Similar);
        assert!(m.score < MATCH_THRESHOLD);
        assert_eq!(compare("", "").verdict, Verdict::Different);
        assert_eq!(compare("ヤマダ", "スズキ").verdict, Verdict::Different);
    }

    #[test]
    fn similar_stays_below_threshold_for_long_names() {
        let m = compare(
            "ヤマダ タロウジロウサブロウシロウ",
            "ヤマダ タロウジロウサブロウシロキ",
        );
        assert_eq!(m.verdict, Verdict::Similar);
        assert!(m.score <= SIMILAR_MAX);
        assert!(!m.is_match());
    }
}
