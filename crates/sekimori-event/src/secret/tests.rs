//! The automaton answers as the word-by-word comparison it replaced
//! ([`super::reference`]) on the words, their case and script variants,
//! names built around them and generated names.

use super::{is_secret_field_name, reference, CONTAINS, ENDS, EXACT};
use proptest::prelude::*;

/// Both answers, and the reference's.
fn same(name: &str) -> bool {
    let want = reference::is_secret_field_name(name);
    assert_eq!(is_secret_field_name(name), want, "{name:?}");
    want
}

fn words() -> impl Iterator<Item = &'static str> {
    EXACT.iter().chain(CONTAINS).chain(ENDS).copied()
}

/// Every word in each case and with separators, alone and inside names:
/// the answers agree, and both kinds of answer occur (the test could fail
/// either way).
#[test]
fn every_word_and_its_variants_answer_as_before() {
    let mut names: Vec<String> = [
        "account",
        "amount_minor",
        "device",
        "x",
        "",
        "pinned",
        "_",
        "-.-",
        "secret_fp",
        "options",
        "spin",
        "pinx",
        "tokens",
        "opt",
        "passes",
        "\u{ff}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for w in words() {
        let upper = w.to_uppercase();
        let title: String = w
            .chars()
            .enumerate()
            .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
            .collect();
        let spaced: String = w.chars().flat_map(|c| [c, '_']).collect();
        let dotted: String = w.chars().flat_map(|c| ['.', c, '-']).collect();
        let alternating: String = w
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        for v in [w.to_string(), upper, title, spaced, dotted, alternating] {
            for n in [
                v.clone(),
                format!("my_{v}"),
                format!("{v}_hint"),
                format!("x{v}y"),
                format!("{v}{v}"),
                format!("ｎｅｗ＿{v}"),
                format!("{v}\u{200b}"),
                v.chars().skip(1).collect(),
                v.chars()
                    .take(v.chars().count().saturating_sub(1))
                    .collect(),
                v.nfd_string(),
            ] {
                names.push(n);
            }
        }
    }
    let secret = names.iter().filter(|n| same(n)).count();
    assert!(
        secret > names.len() / 3 && secret < names.len(),
        "{secret} of {}",
        names.len()
    );
}

/// Disguises beyond ASCII: full-width, half-width kana, homoglyphs, marks.
#[test]
fn disguised_names_answer_as_before() {
    let mut n = 0;
    for name in [
        "раssword",
        "ΡΙΝ",
        "ріn",
        "аpi_kеy",
        "ѕеcrеt",
        "ログインパスワード",
        "暗証番号",
        "ﾊﾟｽﾜｰﾄﾞ",
        "ｐｉｎ",
        "ＰＡＳＳＷＯＲＤ",
        "p\u{0301}in",
        "pa\u{00ad}ss",
        "Пароль",
        "contraseña",
        "CONTRASEÑA",
        "비밀번호",
        "口座番号",
        "ｎａｍｅ",
        "kontō",
        "ΑΡΙ_ΚΕΥ",
        "séed",
        "tökén",
        "ⓟⓘⓝ",
        "𝐩𝐢𝐧",
        "pin番号",
        "PINコード",
        "P|N\u{200b}",
        "Ρ|Ν",
        "ｐ｜ｎ",
        "раss:wоrd",
    ] {
        n += usize::from(same(name));
    }
    assert!(n > 15, "{n}");
}

trait Nfd {
    fn nfd_string(&self) -> String;
}

impl Nfd for String {
    fn nfd_string(&self) -> String {
        use unicode_normalization::UnicodeNormalization;
        self.nfd().collect()
    }
}

/// A generated name: pieces of secret words, separators, letters in either
/// case, some beyond ASCII.
fn name() -> impl Strategy<Value = String> {
    let all: Vec<&'static str> = words().collect();
    let piece = prop_oneof![
        4 => proptest::sample::select(all.clone()).prop_map(str::to_string),
        2 => (proptest::sample::select(all), 0usize..6, 0usize..6).prop_map(|(w, a, b)| {
            let cs: Vec<char> = w.chars().collect();
            let (a, b) = (a.min(cs.len()), b.min(cs.len()));
            cs[a.min(b)..a.max(b)].iter().collect()
        }),
        3 => "[a-zA-Z0-9]{0,6}",
        2 => "[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]{1,2}",
        1 => "[а-яА-ЯΑ-Ωα-ωｐｉｎＰＩＮ\u{200b}\u{0301}ﾊﾟｽ]{1,3}",
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn generated_names_answer_as_before(n in name()) {
        let want = reference::is_secret_field_name(&n);
        prop_assert_eq!(is_secret_field_name(&n), want, "{:?}", n);
    }

    #[test]
    fn long_ascii_names_answer_as_before(n in "[a-zA-Z_]{100,200}(pin|password|x)?") {
        let want = reference::is_secret_field_name(&n);
        prop_assert_eq!(is_secret_field_name(&n), want, "{:?}", n);
    }
}

#[test]
fn names() {
    for yes in [
        "password",
        "PIN",
        "otp",
        "new_password",
        "card-pin",
        "api_key",
        "seedPhrase",
    ] {
        assert!(is_secret_field_name(yes), "{yes}");
    }
    for homoglyph in [
        "раssword",
        "ΡΙΝ",
        "ріn",
        "аpi_kеy",
        "ѕеcrеt",
        "ログインパスワード",
        "暗証番号",
        "ﾊﾟｽﾜｰﾄﾞ",
    ] {
        assert!(is_secret_field_name(homoglyph), "{homoglyph}");
    }
    for no in [
        "secret_fp",
        "secret_common",
        "factor",
        "shopping",
        "account",
        "options",
    ] {
        assert!(!is_secret_field_name(no), "{no}");
    }
}
