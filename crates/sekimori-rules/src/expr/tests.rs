//! The expression compiler and the interpreter's answers.

use super::*;

fn run(source: &str) -> Result<Json, String> {
    let (expr, _) = Expr::compile(source)?;
    let (event, features) = (Json::Null, Json::Null);
    let lists = ListValues::new(std::iter::empty());
    expr.eval(&Vars::new(&event, &features, &lists))
}

fn call(f: &str, a: &str, b: &str) -> Json {
    let source = format!("{f}({}, {})", Json::from(a), Json::from(b));
    run(&source).unwrap_or_else(|e| panic!("{source}: {e}"))
}

#[test]
fn names_up_to_the_cap_are_compared() {
    let fits = "ア".repeat(MAX_NAME_CHARS);
    assert_eq!(call(NAME_MATCH, &fits, &fits), Json::from(100));
    assert_eq!(call(NAME_MATCH_VERDICT, &fits, &fits), Json::from("exact"));
    let long = "ア".repeat(MAX_NAME_CHARS + 1);
    for (a, b) in [(&long, &fits), (&fits, &long), (&long, &long)] {
        assert_eq!(call(NAME_MATCH, a, b), Json::from(0));
        assert_eq!(call(NAME_MATCH_VERDICT, a, b), Json::from("different"));
    }
}

#[test]
fn the_cap_applies_to_the_normalized_name_too() {
    // Half the cap as written; NFKC spells each `㍿` as `株式会社`.
    let wide = "㍿".repeat(MAX_NAME_CHARS / 2);
    assert!(sekimori_names::normalize(&wide).chars().count() > MAX_NAME_CHARS);
    assert_eq!(call(NAME_MATCH, &wide, &wide), Json::from(0));
    // Many bytes, few characters: counted in characters.
    let kana = "ア".repeat(MAX_NAME_CHARS);
    assert!(kana.len() > MAX_NAME_CHARS);
    assert!(comparable(&kana));
    assert!(!comparable(&"a".repeat(4 * MAX_NAME_CHARS + 1)));
}

#[test]
fn hostile_names_within_the_cap_stay_cheap() {
    // Five tokens, so every family/given order is tried, and no match.
    let kana: Vec<char> = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"
        .chars()
        .collect();
    let token = (MAX_NAME_CHARS - 4) / 5;
    let name = |seed: usize| -> String {
        let chars: Vec<char> = (0..5 * token)
            .map(|i| kana[(i * 7 + seed) % kana.len()])
            .collect();
        chars
            .chunks(token)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (a, b) = (name(1), name(2));
    assert!(comparable(&a) && comparable(&b));
    assert_eq!(a.split(' ').count(), 5);
    let score = call(NAME_MATCH, &a, &b);
    assert!(score.as_i64().is_some_and(|s| s < 90), "{score}");
}

/// `compare_names` (cache first, each name normalized once) answers as
/// the reference does: too long when either name fails [`comparable`],
/// else `sekimori_names::compare`; names just within and just past the cap
/// as written, in bytes and once normalized, asked in every order (so
/// answers come from the cache and fresh).
#[test]
fn compared_names_answer_as_the_reference() {
    let m = MAX_NAME_CHARS;
    let names = [
        "ﾔﾏﾀﾞ ﾀﾛｳ".to_string(),
        "ヤマダ ジロウ".to_string(),
        "Taro Yamada".to_string(),
        "ア".repeat(m),
        "ア".repeat(m + 1),
        "㍿".repeat(m / 4),
        "㍿".repeat(m / 4 + 1),
        "a".repeat(4 * m),
        "a".repeat(4 * m + 1),
        format!("{} {}", "ア".repeat(m / 2), "イ".repeat(m / 2 - 1)),
        format!("{} {}", "ア".repeat(m / 2), "イ".repeat(m / 2)),
        String::new(),
    ];
    let mut too_long = 0;
    for _ in 0..2 {
        for a in &names {
            for b in &names {
                let want = if comparable(a) && comparable(b) {
                    sekimori_names::compare(a, b)
                } else {
                    too_long += 1;
                    TOO_LONG
                };
                assert_eq!(compare_names(a, b), want, "{a:?} vs {b:?}");
                assert_eq!(compare_names(a, b), want, "{a:?} vs {b:?}, cached");
            }
        }
    }
    assert!(too_long > 0 && too_long < 2 * names.len() * names.len());
}

#[test]
fn the_same_pair_twice_gives_the_same_answer() {
    let first = compare_cached("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ ジロウ");
    assert_eq!(compare_cached("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ ジロウ"), first);
    assert_eq!(first, sekimori_names::compare("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ ジロウ"));
    let other = compare_cached("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ");
    assert_eq!(other, sekimori_names::compare("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"));
    assert_ne!(other, first);
}

#[test]
fn every_verdict_has_a_wire_name() {
    let names: Vec<&str> = [
        Verdict::Exact,
        Verdict::Equivalent,
        Verdict::OrderSwapped,
        Verdict::Similar,
        Verdict::Different,
    ]
    .into_iter()
    .map(verdict_name)
    .collect();
    assert_eq!(
        names,
        [
            "exact",
            "equivalent",
            "order_swapped",
            "similar",
            "different"
        ]
    );
}
