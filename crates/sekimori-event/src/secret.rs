//! Secrets in the clear are refused: sekimori sees only keyed fingerprints.

use crate::error::{join_path, DecodeError};
use crate::names::{field_name, is_invisible};
use serde_json::Value;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Field names (lower-cased, `_`, `-` and `.` removed) that hold a secret.
const EXACT: &[&str] = &[
    "pass",
    "pwd",
    "pin",
    "otp",
    "totp",
    "hotp",
    "secret",
    "secretkey",
    "cvv",
    "cvc",
    "cvv2",
    "securitycode",
    "seed",
    "apikey",
    "apisecret",
    "pw",
    "userpass",
    "mfacode",
    "totpcode",
    "2facode",
    "token",
    "accesstoken",
    "refreshtoken",
    "onetimepassword",
    "onetimecode",
    "otpcode",
    "pincode",
    "pinnumber",
    "securitypin",
    "authcode",
    "smscode",
    "verificationcode",
];
/// Fragments that mark a secret wherever they appear in a field name.
const CONTAINS: &[&str] = &[
    "password",
    "passwd",
    "passcode",
    "passphrase",
    "privatekey",
    "mnemonic",
    "seedphrase",
    // Japanese: password, PIN ("secret number"), private key, verification code.
    "パスワード",
    "暗証",
    "秘密鍵",
    "認証コード",
    "確認コード",
    "パスコード",
    "合言葉",
    "暗唱",
    "セキュリティコード",
    "pin番号",
    "pinコード",
    // Other languages' "password".
    "passwort",
    "kennwort",
    "contraseña",
    "пароль",
    "密码",
    "密碼",
    "비밀번호",
];
/// Endings that mark a secret (`new_pin`, `card_pin`, `sms_otp`, `client_secret`, `id_token`).
const ENDS: &[&str] = &["pin", "otp", "cvv", "cvv2", "cvc", "secret", "token"];

/// True when a field of this name would carry a secret in the clear.
///
/// The name is compared after compatibility decomposition (NFKD: full-width
/// `ｐｉｎ` is `pin`), with invisible characters (zero-width spaces and
/// joiners, soft hyphens, bidi controls, ...) and combining marks removed,
/// lower-cased, and without `_`, `-`, `.` or white space.
pub fn is_secret_field_name(name: &str) -> bool {
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

/// Lower-cased, without separators; beyond ASCII also in compatibility form
/// (NFKD) without invisible characters or combining marks.
fn normalise(name: &str) -> String {
    if name.is_ascii() {
        name.chars()
            .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect()
    } else {
        name.nfkd()
            .flat_map(char::to_lowercase)
            .nfkd()
            .filter(|&c| !ignorable(c))
            .collect()
    }
}

fn ignorable(c: char) -> bool {
    // Separators: ASCII, the Unicode hyphens and dashes, minus signs, and the
    // katakana middle dot (full- and half-width).
    matches!(
        c,
        '_' | '-' | '.' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{30FB}' | '\u{FF0D}' | '\u{FF65}' | '\u{FE63}'
    ) || c.is_whitespace()
        || c.is_control()
        || is_invisible(c)
        || is_combining_mark(c)
}

/// Whether `norm` is, contains or ends in a secret word, each word taken in
/// the forms `form` gives.
fn matches_secret_by(norm: &str, form: impl Fn(&str) -> [String; 2]) -> bool {
    let any = |words: &[&str], test: &dyn Fn(&str) -> bool| {
        words.iter().any(|w| form(w).iter().any(|f| test(f)))
    };
    any(EXACT, &|f| norm == f)
        || any(CONTAINS, &|f| norm.contains(f))
        || any(ENDS, &|f| norm.ends_with(f))
}

/// [`matches_secret_by`] with each word in its own form (an ASCII name).
fn matches_secret_words(norm: &str) -> bool {
    EXACT.contains(&norm)
        || CONTAINS.iter().any(|w| norm.contains(w))
        || ENDS.iter().any(|w| norm.ends_with(w))
}

/// The TR39 skeleton, lower-cased.
fn confusable(s: &str) -> String {
    unicode_security::confusable_detection::skeleton(s)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Walks the whole document and rejects the first secret-named field.
pub(crate) fn reject_secrets(value: &Value, path: &str) -> Result<(), DecodeError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if is_secret_field_name(key) {
                    return Err(DecodeError::new(
                        "secret_in_clear",
                        join_path(path, &field_name(key)),
                        "this field would carry a secret in the clear; send only the keyed \
                         fingerprint in `secret_fp` (see docs/events.md)",
                    ));
                }
                if child.is_object() || child.is_array() {
                    reject_secrets(child, &join_path(path, &field_name(key)))?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, child)| reject_secrets(child, &format!("{path}[{i}]"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_secret_field_name;

    /// The ASCII path answers as the general comparison does, every word
    /// in each of its forms, on the words themselves and on names built
    /// around them.
    #[test]
    fn the_ascii_path_answers_as_the_general_one() {
        use super::{matches_secret_by, matches_secret_words, normalise, CONTAINS, ENDS, EXACT};
        let mut names: Vec<String> = ["account", "amount_minor", "device", "x", "", "pinned"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for w in EXACT.iter().chain(CONTAINS).chain(ENDS) {
            for n in [
                w.to_string(),
                format!("my_{w}"),
                format!("{w}_hint"),
                format!("x{w}y"),
                w.to_uppercase(),
                w.chars().skip(1).collect(),
            ] {
                names.push(n);
            }
        }
        let mut secret = 0;
        names.retain(|n| n.is_ascii());
        for n in &names {
            let norm = normalise(n);
            let general = matches_secret_by(&norm, |w| [w.to_string(), w.to_string()]);
            assert_eq!(matches_secret_words(&norm), general, "{n}");
            assert_eq!(is_secret_field_name(n), general, "{n}");
            secret += usize::from(general);
        }
        assert!(secret > names.len() / 2 && secret < names.len(), "{secret}");
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
}
