//! Secrets in the clear are refused: sekimori sees only keyed fingerprints.

use crate::error::{join_path, DecodeError};
use crate::names::{field_name, is_invisible};
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use serde_json::Value;
use std::sync::OnceLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Field names (lower-cased, only letters and digits kept) that hold a secret.
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
/// lower-cased, and without separators: every ASCII character that is not
/// a letter or a digit (punctuation, controls, white space: `pass\tword`,
/// `api:key` and `pin\0` are secret names), and the Unicode separators.
///
/// Every word list is one multi-pattern automaton ([`Matcher`], built once):
/// a name is read once, whatever the number of words.
pub fn is_secret_field_name(name: &str) -> bool {
    if name.is_ascii() {
        // The words are their own form in ASCII: the name, normalised on
        // the stack, against the words as they are.
        return ascii_secret(name);
    }
    let m = matchers();
    // Words compared in the same form as the name (a name sent in NFD, or
    // half-width, is the same word).
    let norm = normalise(name);
    if m.normalised.matches(&norm) {
        return true;
    }
    // A name in another script that looks like a secret name (Cyrillic
    // `раss`, Greek `ΡΙΝ`): compare confusable skeletons (Unicode TR39) of
    // the name, as sent and lower-cased, with those of every word, in lower
    // and upper case (an upper-case Greek iota looks like `I`, not `i`).
    let sent: String = name.chars().filter(|&c| !ignorable(c)).collect();
    if [confusable(&sent), confusable(&norm)]
        .iter()
        .any(|n| m.confusable.matches(n))
    {
        return true;
    }
    // ASCII punctuation in the name (as sent or after NFKD: `｜` is `|`):
    // its skeleton can read as a letter (`|` as `l`, so `P|N` looks like
    // `PIN`), as it did before punctuation became a separator. The forms
    // that keep it are compared too, so no name refused then is accepted.
    let sent_kept: String = name.chars().filter(|&c| !unicode_separator(c)).collect();
    let norm_kept: String = name
        .nfkd()
        .flat_map(char::to_lowercase)
        .nfkd()
        .filter(|&c| !unicode_separator(c))
        .collect();
    (sent_kept != sent || norm_kept != norm)
        && [confusable(&sent_kept), confusable(&norm_kept)]
            .iter()
            .any(|n| m.confusable.matches(n))
}

/// An ASCII name, normalised (lower-cased letters and digits only)
/// between two [`EDGE`] bytes in a buffer on the stack (on the heap past
/// 128 bytes), against the ASCII words.
fn ascii_secret(name: &str) -> bool {
    const STACK: usize = 128;
    let kept = name
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase());
    let m = &matchers().ascii;
    if name.len() <= STACK {
        let mut buf = [EDGE; STACK + 2];
        let mut n = 1;
        for b in kept {
            buf[n] = b;
            n += 1;
        }
        m.matches_framed(&buf[..=n])
    } else {
        let mut buf = Vec::with_capacity(name.len() + 2);
        buf.push(EDGE);
        buf.extend(kept);
        buf.push(EDGE);
        m.matches_framed(&buf)
    }
}

/// Marks both ends of a name for the automaton: a byte no UTF-8 text holds,
/// so `EDGE word EDGE` occurs only for the whole name and `word EDGE` only
/// at its end.
const EDGE: u8 = 0xFF;

/// The three word lists (exact, contained, ending) in one Aho-Corasick
/// automaton: `EDGE w EDGE` for an exact word, `w` for a contained one,
/// `w EDGE` for an ending.
struct Matcher(AhoCorasick);

impl Matcher {
    fn new(exact: &[String], contains: &[String], ends: &[String]) -> Matcher {
        let framed = |w: &String, before: bool, after: bool| {
            let mut p = Vec::with_capacity(w.len() + 2);
            if before {
                p.push(EDGE);
            }
            p.extend_from_slice(w.as_bytes());
            if after {
                p.push(EDGE);
            }
            p
        };
        let patterns: Vec<Vec<u8>> = (exact.iter().map(|w| framed(w, true, true)))
            .chain(contains.iter().map(|w| framed(w, false, false)))
            .chain(ends.iter().map(|w| framed(w, false, true)))
            .collect();
        // Patterns that are fixed words: building them never fails.
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .unwrap_or_else(|e| unreachable!("secret words build an automaton: {e}"));
        Matcher(ac)
    }

    /// Whether `EDGE name EDGE` holds a pattern.
    fn matches_framed(&self, framed: &[u8]) -> bool {
        self.0.is_match(framed)
    }

    /// Whether `norm` is, contains or ends in a word.
    fn matches(&self, norm: &str) -> bool {
        let mut framed = Vec::with_capacity(norm.len() + 2);
        framed.push(EDGE);
        framed.extend_from_slice(norm.as_bytes());
        framed.push(EDGE);
        self.matches_framed(&framed)
    }
}

struct Matchers {
    /// The ASCII words as they are (an ASCII name's form).
    ascii: Matcher,
    /// Every word normalised as a non-ASCII name is.
    normalised: Matcher,
    /// Every word's confusable skeleton, lower- and upper-cased.
    confusable: Matcher,
}

fn matchers() -> &'static Matchers {
    static M: OnceLock<Matchers> = OnceLock::new();
    M.get_or_init(|| {
        let forms = |f: &dyn Fn(&str) -> Vec<String>| {
            let each =
                |words: &[&str]| -> Vec<String> { words.iter().flat_map(|w| f(w)).collect() };
            (each(EXACT), each(CONTAINS), each(ENDS))
        };
        let build = |(e, c, n): (Vec<String>, Vec<String>, Vec<String>)| Matcher::new(&e, &c, &n);
        Matchers {
            ascii: build(forms(&|w| {
                if w.is_ascii() {
                    vec![w.to_string()]
                } else {
                    Vec::new()
                }
            })),
            normalised: build(forms(&|w| vec![normalise(w)])),
            confusable: build(forms(&|w| {
                vec![confusable(w), confusable(&w.to_uppercase())]
            })),
        }
    })
}

/// Lower-cased, without separators ([`ignorable`]); beyond ASCII also in compatibility form
/// (NFKD) without invisible characters or combining marks.
fn normalise(name: &str) -> String {
    if name.is_ascii() {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
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

/// Separators: every ASCII character that is not a letter or a digit
/// (punctuation, controls, white space: `pass\tword`, `api:key`, `pin\0`
/// are secret names), and the [`unicode_separator`]s.
fn ignorable(c: char) -> bool {
    (c.is_ascii() && !c.is_ascii_alphanumeric()) || unicode_separator(c)
}

/// The separators beyond ASCII letters and digits that are not ASCII
/// punctuation: all a name beyond ASCII lost before review F5 (ASCII
/// punctuation was kept then).
fn unicode_separator(c: char) -> bool {
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

/// The TR39 skeleton, lower-cased.
fn confusable(s: &str) -> String {
    unicode_security::confusable_detection::skeleton(s)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where a value sits in the document, rendered only when an error needs
/// it (as `a.b[1].c`, each name as [`field_name`] shows it).
#[derive(Clone, Copy)]
pub(crate) enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    pub(crate) fn render(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Key(parent, key) => join_path(&parent.render(), &field_name(key)),
            At::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// Walks the document below `at` and rejects the first secret-named field.
pub(crate) fn reject_secrets(value: &Value, at: &At<'_>) -> Result<(), DecodeError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = At::Key(at, key);
                if is_secret_field_name(key) {
                    return Err(DecodeError::new(
                        "secret_in_clear",
                        here.render(),
                        "this field would carry a secret in the clear; send only the keyed \
                         fingerprint in `secret_fp` (see docs/events.md)",
                    ));
                }
                if child.is_object() || child.is_array() {
                    reject_secrets(child, &here)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, child)| reject_secrets(child, &At::Index(at, i))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod separators;
#[cfg(test)]
mod tests;
