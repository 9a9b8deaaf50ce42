//! Katakana tables and the Zengin-style folding applied to kana tokens.

/// The long-vowel mark every lengthened vowel is folded to.
pub(crate) const CHOON: char = 'ー';

/// Small kana written large, as Zengin (全銀) account-holder names do.
const SMALL_TO_LARGE: &[(char, char)] = &[
    ('ァ', 'ア'),
    ('ィ', 'イ'),
    ('ゥ', 'ウ'),
    ('ェ', 'エ'),
    ('ォ', 'オ'),
    ('ッ', 'ツ'),
    ('ャ', 'ヤ'),
    ('ュ', 'ユ'),
    ('ョ', 'ヨ'),
    ('ヮ', 'ワ'),
    ('ヵ', 'カ'),
    ('ヶ', 'ケ'),
];

/// Kana that are pronounced identically to a more common kana and are
/// folded to it (obsolete ヰ/ヱ, and ヂ/ヅ which Hepburn writes JI/ZU).
const HOMOPHONES: &[(char, char)] = &[('ヰ', 'イ'), ('ヱ', 'エ'), ('ヂ', 'ジ'), ('ヅ', 'ズ')];

/// Characters written for a long vowel inside kana names (after NFKC, so
/// the half-width `ｰ` has already become `ー`).
const LONG_MARKS: &[char] = &['ー', '-', '‐', '‑', '‒', '–', '—', '―', '−', '〜', '～'];

/// Kana whose vowel is /o/ (after small-kana folding). An オ or ウ after
/// one of these lengthens the vowel: オオタ, オウタ, オータ.
const O_ROW: &str = "オコゴソゾトドノホボポモヨロヲ";

/// Kana whose vowel is /u/. A ウ after one of these lengthens the vowel:
/// ユウコ, ユーコ.
const U_ROW: &str = "ウクグスズツヅヌフブプムユルヴ";

/// Hiragana `ぁ`..=`ゖ` to the katakana block.
fn hiragana_to_katakana(c: char) -> char {
    if ('\u{3041}'..='\u{3096}').contains(&c) {
        char::from_u32(c as u32 + 0x60).unwrap_or(c)
    } else {
        c
    }
}

/// Maps one character of a kana token to its folded form, or `None` when
/// the character is dropped.
fn fold_char(c: char) -> Option<char> {
    let c = hiragana_to_katakana(c);
    if LONG_MARKS.contains(&c) {
        return Some(CHOON);
    }
    // Dakuten that NFKC could not compose onto a base kana.
    if matches!(c, '\u{3099}' | '\u{309A}' | '゛' | '゜') {
        return None;
    }
    if let Some(&(_, large)) = SMALL_TO_LARGE.iter().find(|(small, _)| *small == c) {
        return Some(large);
    }
    if let Some(&(_, common)) = HOMOPHONES.iter().find(|(rare, _)| *rare == c) {
        return Some(common);
    }
    Some(c)
}

/// Folds a kana token: hiragana to katakana, small kana to large,
/// homophones, and every lengthened vowel to a single `ー`.
pub(crate) fn fold_token(token: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(token.len());
    for c in token.chars().filter_map(fold_char) {
        let last = out.last().copied();
        let lengthens = match (c, last) {
            (CHOON, Some(prev)) => prev != CHOON,
            (CHOON, None) => false,
            ('オ' | 'ウ', Some(prev)) if O_ROW.contains(prev) => true,
            ('ウ', Some(prev)) if U_ROW.contains(prev) => true,
            _ => {
                out.push(c);
                continue;
            }
        };
        if lengthens {
            out.push(CHOON);
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_long_vowels() {
        assert_eq!(fold_token("オオタ"), "オータ");
        assert_eq!(fold_token("オウタ"), "オータ");
        assert_eq!(fold_token("オ-タ"), "オータ");
        assert_eq!(fold_token("ユウコ"), "ユーコ");
        assert_eq!(fold_token("オオウチ"), "オーウチ");
        assert_eq!(fold_token("ーー"), "");
    }

    #[test]
    fn folds_small_and_hiragana() {
        assert_eq!(fold_token("きょうこ"), "キヨーコ");
        assert_eq!(fold_token("ハットリ"), "ハツトリ");
        assert_eq!(fold_token("ミカヅキ"), "ミカズキ");
    }
}
