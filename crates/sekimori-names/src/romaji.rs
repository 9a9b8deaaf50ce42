//! Hepburn / kunrei-shiki / passport romaji to katakana.

use crate::kana::CHOON;

/// Syllables, longest first within each consonant so that a greedy
/// longest-prefix match picks `SHA` over `SHI`/`SA`.
const SYLLABLES: &[(&str, &str)] = &[
    // three letters
    ("KYA", "キャ"),
    ("KYU", "キュ"),
    ("KYO", "キョ"),
    ("SHA", "シャ"),
    ("SHI", "シ"),
    ("SHU", "シュ"),
    ("SHE", "シェ"),
    ("SHO", "ショ"),
    ("SYA", "シャ"),
    ("SYU", "シュ"),
    ("SYO", "ショ"),
    ("CHA", "チャ"),
    ("CHI", "チ"),
    ("CHU", "チュ"),
    ("CHE", "チェ"),
    ("CHO", "チョ"),
    ("TYA", "チャ"),
    ("TYU", "チュ"),
    ("TYO", "チョ"),
    ("TSU", "ツ"),
    ("NYA", "ニャ"),
    ("NYU", "ニュ"),
    ("NYO", "ニョ"),
    ("HYA", "ヒャ"),
    ("HYU", "ヒュ"),
    ("HYO", "ヒョ"),
    ("MYA", "ミャ"),
    ("MYU", "ミュ"),
    ("MYO", "ミョ"),
    ("RYA", "リャ"),
    ("RYU", "リュ"),
    ("RYO", "リョ"),
    ("GYA", "ギャ"),
    ("GYU", "ギュ"),
    ("GYO", "ギョ"),
    ("ZYA", "ジャ"),
    ("ZYU", "ジュ"),
    ("ZYO", "ジョ"),
    ("JYA", "ジャ"),
    ("JYU", "ジュ"),
    ("JYO", "ジョ"),
    ("BYA", "ビャ"),
    ("BYU", "ビュ"),
    ("BYO", "ビョ"),
    ("PYA", "ピャ"),
    ("PYU", "ピュ"),
    ("PYO", "ピョ"),
    // two letters
    ("KA", "カ"),
    ("KI", "キ"),
    ("KU", "ク"),
    ("KE", "ケ"),
    ("KO", "コ"),
    ("SA", "サ"),
    ("SI", "シ"),
    ("SU", "ス"),
    ("SE", "セ"),
    ("SO", "ソ"),
    ("TA", "タ"),
    ("TI", "チ"),
    ("TU", "ツ"),
    ("TE", "テ"),
    ("TO", "ト"),
    ("NA", "ナ"),
    ("NI", "ニ"),
    ("NU", "ヌ"),
    ("NE", "ネ"),
    ("NO", "ノ"),
    ("HA", "ハ"),
    ("HI", "ヒ"),
    ("HU", "フ"),
    ("FU", "フ"),
    ("HE", "ヘ"),
    ("HO", "ホ"),
    ("FA", "ファ"),
    ("FI", "フィ"),
    ("FE", "フェ"),
    ("FO", "フォ"),
    ("MA", "マ"),
    ("MI", "ミ"),
    ("MU", "ム"),
    ("ME", "メ"),
    ("MO", "モ"),
    ("YA", "ヤ"),
    ("YU", "ユ"),
    ("YO", "ヨ"),
    ("RA", "ラ"),
    ("RI", "リ"),
    ("RU", "ル"),
    ("RE", "レ"),
    ("RO", "ロ"),
    ("LA", "ラ"),
    ("LI", "リ"),
    ("LU", "ル"),
    ("LE", "レ"),
    ("LO", "ロ"),
    ("WA", "ワ"),
    ("WI", "イ"),
    ("WE", "エ"),
    ("WO", "ヲ"),
    ("GA", "ガ"),
    ("GI", "ギ"),
    ("GU", "グ"),
    ("GE", "ゲ"),
    ("GO", "ゴ"),
    ("ZA", "ザ"),
    ("ZI", "ジ"),
    ("ZU", "ズ"),
    ("ZE", "ゼ"),
    ("ZO", "ゾ"),
    ("JA", "ジャ"),
    ("JI", "ジ"),
    ("JU", "ジュ"),
    ("JE", "ジェ"),
    ("JO", "ジョ"),
    ("DA", "ダ"),
    ("DI", "ヂ"),
    ("DU", "ヅ"),
    ("DE", "デ"),
    ("DO", "ド"),
    ("BA", "バ"),
    ("BI", "ビ"),
    ("BU", "ブ"),
    ("BE", "ベ"),
    ("BO", "ボ"),
    ("PA", "パ"),
    ("PI", "ピ"),
    ("PU", "プ"),
    ("PE", "ペ"),
    ("PO", "ポ"),
    ("VA", "ヴァ"),
    ("VI", "ヴィ"),
    ("VU", "ヴ"),
    ("VE", "ヴェ"),
    ("VO", "ヴォ"),
    // vowels
    ("A", "ア"),
    ("I", "イ"),
    ("U", "ウ"),
    ("E", "エ"),
    ("O", "オ"),
];

fn is_vowel(c: char) -> bool {
    matches!(c, 'A' | 'I' | 'U' | 'E' | 'O')
}

/// Vowels with a macron or circumflex (Ō, ô) become the plain vowel
/// followed by a long-vowel mark.
fn expand_macron(c: char) -> Option<[char; 2]> {
    let vowel = match c {
        'ā' | 'â' | 'Ā' | 'Â' => 'A',
        'ī' | 'î' | 'Ī' | 'Î' => 'I',
        'ū' | 'û' | 'Ū' | 'Û' => 'U',
        'ē' | 'ê' | 'Ē' | 'Ê' => 'E',
        'ō' | 'ô' | 'Ō' | 'Ô' => 'O',
        _ => return None,
    };
    Some([vowel, CHOON])
}

/// True if `c` is a Latin letter the romaji converter understands
/// (ASCII letters and vowels with macron / circumflex).
pub(crate) fn is_romaji_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || expand_macron(c).is_some()
}

/// Converts one romaji word (no spaces) to katakana.
pub(crate) fn word_to_katakana(word: &str) -> String {
    let chars: Vec<char> = word
        .chars()
        .flat_map(|c| match expand_macron(c) {
            Some(pair) => pair.to_vec(),
            None => vec![c.to_ascii_uppercase()],
        })
        .collect();
    let mut out = String::with_capacity(word.len() * 3);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after = chars.get(i + 2).copied();
        let starts_syllable = |x: Option<char>| x.is_some_and(|x| is_vowel(x) || x == 'Y');

        // Syllable separators: JUN'ICHI, JUN-ICHI.
        if matches!(c, '\'' | '’' | '-' | '.') {
            i += 1;
            continue;
        }
        if c == CHOON {
            out.push(CHOON);
            i += 1;
            continue;
        }
        // Passport-style long O: OHTA, OHNO, OH at the end of a word.
        if c == 'H' && i > 0 && chars[i - 1] == 'O' && !starts_syllable(next) {
            out.push(CHOON);
            i += 1;
            continue;
        }
        // Syllabic n: N before a consonant or at the end; NN before a
        // consonant or at the end is one ン (HONNDA), NN before a vowel is
        // ン + N-syllable (ANNA).
        if c == 'N' && !starts_syllable(next) {
            out.push('ン');
            i += if next == Some('N') && !starts_syllable(after) {
                2
            } else {
                1
            };
            continue;
        }
        // Hepburn writes ン as M before B, M, P: NAMBA, HOMMA.
        if c == 'M' && matches!(next, Some('B' | 'M' | 'P')) {
            out.push('ン');
            i += 1;
            continue;
        }
        // Doubled consonant: HATTORI, MATCHA (TCH).
        if c.is_ascii_alphabetic()
            && !is_vowel(c)
            && (next == Some(c) || (c == 'T' && next == Some('C') && after == Some('H')))
        {
            out.push('ッ');
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        if let Some((roman, kana)) = SYLLABLES.iter().find(|(r, _)| rest.starts_with(r)) {
            out.push_str(kana);
            i += roman.chars().count();
            continue;
        }
        // Not romaji: keep the letter so that the names stay different.
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_words() {
        assert_eq!(word_to_katakana("YAMADA"), "ヤマダ");
        assert_eq!(word_to_katakana("Tarou"), "タロウ");
        assert_eq!(word_to_katakana("OHTA"), "オータ");
        assert_eq!(word_to_katakana("Ōta"), "オータ");
        assert_eq!(word_to_katakana("HATTORI"), "ハットリ");
        assert_eq!(word_to_katakana("HONNDA"), "ホンダ");
        assert_eq!(word_to_katakana("ANNA"), "アンナ");
        assert_eq!(word_to_katakana("SHINICHI"), "シニチ");
        assert_eq!(word_to_katakana("SHIN'ICHI"), "シンイチ");
        assert_eq!(word_to_katakana("NAMBA"), "ナンバ");
        assert_eq!(word_to_katakana("KYOKO"), "キョコ");
        assert_eq!(word_to_katakana("tukasa"), "ツカサ");
        assert_eq!(word_to_katakana("MATCHA"), "マッチャ");
        assert_eq!(word_to_katakana("KEN"), "ケン");
    }
}
