//! Acceptance table: real-world-style holder-name pairs and whether they
//! must be treated as the same account holder (`is_match()`).

use sekimori_names::{compare, compare_bounded, normalize, Verdict, MATCH_THRESHOLD};

/// (wallet name, bank-account name, expected match, what the row covers)
const TABLE: &[(&str, &str, bool, &str)] = &[
    // half-width (Zengin) vs full-width katakana
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", true, "half-width vs full-width"),
    ("ｻﾄｳ ﾊﾅｺ", "サトウ ハナコ", true, "half-width vs full-width"),
    (
        "ﾀｶﾊｼ ｹﾝｲﾁ",
        "タカハシ ケンイチ",
        true,
        "half-width vs full-width",
    ),
    ("ｽｽﾞｷ ｲﾁﾛｳ", "スズキ イチロウ", true, "half-width dakuten"),
    // hiragana vs katakana
    (
        "やまだ たろう",
        "ヤマダ タロウ",
        true,
        "hiragana vs katakana",
    ),
    ("すずき はなこ", "ｽｽﾞｷ ﾊﾅｺ", true, "hiragana vs half-width"),
    // romaji vs kana
    (
        "YAMADA TARO",
        "ヤマダ タロウ",
        true,
        "passport romaji, long vowel omitted",
    ),
    ("Yamada Tarou", "ヤマダ タロウ", true, "romaji ou"),
    ("OHTA", "オオタ", true, "passport oh"),
    ("OTA", "オオタ", true, "romaji without length"),
    ("ŌTA", "オオタ", true, "macron"),
    ("OOTA", "オオタ", true, "romaji oo"),
    (
        "ＳＡＴＯ　ＨＡＮＡＫＯ",
        "サトウ ハナコ",
        true,
        "full-width romaji",
    ),
    (
        "HATTORI SHINICHI",
        "ハットリ シンイチ",
        false,
        "ambiguous n without apostrophe reads シニチ",
    ),
    (
        "HATTORI SHIN'ICHI",
        "ハットリ シンイチ",
        true,
        "double consonant, n apostrophe",
    ),
    (
        "TSUTSUMI KYOKO",
        "ツツミ キョウコ",
        true,
        "kunrei/hepburn ts, ky",
    ),
    ("tutumi kyouko", "ツツミ キョウコ", true, "kunrei tu"),
    ("HOMMA JUNKO", "ホンマ ジュンコ", true, "hepburn m before m"),
    ("HONDA", "ホンダ", true, "syllabic n"),
    (
        "YAMADA JIRO",
        "ヤマダ タロウ",
        false,
        "romaji different given name",
    ),
    // family/given order swaps
    ("タロウ ヤマダ", "ヤマダ タロウ", true, "order swapped"),
    ("TARO YAMADA", "ヤマダ タロウ", true, "western order romaji"),
    (
        "ハナコ サトウ",
        "ｻﾄｳ ﾊﾅｺ",
        true,
        "order swapped, half-width",
    ),
    (
        "タロウヤマダ",
        "ヤマダ タロウ",
        true,
        "swapped, no space on one side",
    ),
    // small kana, as banks write them large
    (
        "キャリー ユミ",
        "キヤリ- ユミ",
        true,
        "small ャ vs large ヤ, hyphen as long mark",
    ),
    ("ハットリ", "ﾊﾂﾄﾘ", true, "ッ written as ツ"),
    ("キョウコ", "キヨウコ", true, "ョ written as ヨ"),
    ("ジュンイチ", "ｼﾞﾕﾝｲﾁ", true, "ュ written as ユ"),
    // long-vowel marks
    ("ユーコ", "ユウコ", true, "ー vs ウ"),
    ("ｵｰﾀ ﾕｳｺ", "オオタ ユウコ", true, "half-width ｰ vs オ"),
    ("オウタ", "オオタ", true, "ウ vs オ lengthening"),
    ("サトー", "サトウ", true, "ー vs ウ after o-row"),
    // spaces
    ("ヤマダタロウ", "ヤマダ タロウ", true, "no space"),
    ("ヤマダ　タロウ", "ヤマダ タロウ", true, "full-width space"),
    ("ヤマダ  タロウ", "ヤマダ タロウ", true, "double space"),
    (
        " ヤマダ　 タロウ ",
        "ヤマダタロウ",
        true,
        "mixed spaces and trim",
    ),
    // dakuten as separate characters
    (
        "ヤマタ゛ タロウ",
        "ヤマダ タロウ",
        true,
        "separate dakuten ゛",
    ),
    (
        "ヤマタ\u{3099} タロウ",
        "ヤマダ タロウ",
        true,
        "combining dakuten",
    ),
    ("ﾊﾟｸ", "パク", true, "half-width handakuten"),
    // look-alike but different people
    ("サトウ", "サイトウ", false, "inserted イ"),
    (
        "ヤマダ タロウ",
        "ヤマダ ジロウ",
        false,
        "different given name",
    ),
    ("ハシモト", "ハシモド", false, "voicing differs"),
    ("カトウ", "ガトウ", false, "voicing differs"),
    (
        "コウノ",
        "コノ",
        false,
        "vowel length is a different name in kana",
    ),
    ("オオノ", "オノ", false, "大野 vs 小野"),
    ("ヤマダ タロウ", "ヤマダ", false, "given name missing"),
    (
        "スズキ イチロウ",
        "スズキ ジロウ",
        false,
        "different given name",
    ),
    ("タナカ ユウコ", "タナカ ユウキ", false, "one kana differs"),
    (
        "ｻﾄｳ ﾀﾛｳ",
        "サトウ タロ",
        false,
        "length dropped in kana given name",
    ),
    ("ヤマダ タロウ", "", false, "empty bank name"),
    ("", "", false, "both empty"),
    ("ヤマダ タロウ", "スズキ ハナコ", false, "unrelated"),
];

#[test]
fn acceptance_table() {
    assert!(TABLE.len() >= 40, "table has {} rows", TABLE.len());
    let mut failures = Vec::new();
    for &(a, b, expected, what) in TABLE {
        for (x, y) in [(a, b), (b, a)] {
            let m = compare(x, y);
            if m.is_match() != expected {
                failures.push(format!(
                    "{x:?} vs {y:?} ({what}): expected match={expected}, got {m:?}"
                ));
            }
            if !expected {
                assert!(
                    !matches!(
                        m.verdict,
                        Verdict::Exact | Verdict::Equivalent | Verdict::OrderSwapped
                    ),
                    "{x:?} vs {y:?} ({what}): look-alike got verdict {m:?}"
                );
                assert!(m.score < MATCH_THRESHOLD);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing pairs:\n{}",
        failures.join("\n")
    );
}

#[test]
fn look_alikes_are_similar_not_different() {
    for (a, b) in [
        ("サトウ", "サイトウ"),
        ("ヤマダ タロウ", "ヤマダ ジロウ"),
        ("ハシモト", "ハシモド"),
        ("カトウ", "ガトウ"),
        ("コウノ", "コノ"),
    ] {
        let m = compare(a, b);
        assert_eq!(m.verdict, Verdict::Similar, "{a} vs {b}: {m:?}");
    }
}

/// `compare_bounded` (each name normalized once) answers as the two-pass
/// definition does: `None` when a name is longer than the bound as written
/// or as `normalize` writes it, else `compare`'s answer. Every table pair,
/// both ways, under every bound from 0 to past the longest name, and names
/// whose normalized form is longer (`㍿`) or shorter (spaces) than written.
#[test]
fn bounded_comparison_is_compare_within_the_length() {
    let fits = |n: &str, max: usize| {
        n.len() <= 4 * max && n.chars().count() <= max && normalize(n).chars().count() <= max
    };
    let mut pairs: Vec<(&str, &str)> = TABLE.iter().map(|&(a, b, _, _)| (a, b)).collect();
    pairs.extend([
        ("㍿ヤマダ", "カブシキガイシャ ヤマダ"),
        ("ヤマダ      タロウ", "ヤマダ タロウ"),
        ("  ", "ヤマダ"),
        ("yamada taro", "ＹＡＭＡＤＡ　ＴＡＲＯ"),
    ]);
    let (mut some, mut none) = (0, 0);
    for (a, b) in pairs {
        for (x, y) in [(a, b), (b, a)] {
            for max in 0..=24 {
                let want = (fits(x, max) && fits(y, max)).then(|| compare(x, y));
                let got = compare_bounded(x, y, max);
                assert_eq!(got, want, "{x:?} vs {y:?} within {max}");
                if got.is_some() {
                    some += 1;
                } else {
                    none += 1;
                }
            }
        }
    }
    assert!(
        some > 100 && none > 100,
        "both answers covered: {some} {none}"
    );
}
