//! Secrets in the clear are refused: sekimori sees only keyed fingerprints.

use crate::error::{join_path, DecodeError};
use serde_json::Value;

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
];
/// Endings that mark a secret (`new_pin`, `card_pin`, `sms_otp`, `client_secret`, `id_token`).
const ENDS: &[&str] = &["pin", "otp", "cvv", "cvv2", "cvc", "secret", "token"];

/// True when a field of this name would carry a secret in the clear.
pub fn is_secret_field_name(name: &str) -> bool {
    let norm: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    EXACT.contains(&norm.as_str())
        || CONTAINS.iter().any(|f| norm.contains(f))
        || ENDS.iter().any(|e| norm.ends_with(e))
}

/// Walks the whole document and rejects the first secret-named field.
pub(crate) fn reject_secrets(value: &Value, path: &str) -> Result<(), DecodeError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = join_path(path, key);
                if is_secret_field_name(key) {
                    return Err(DecodeError::new(
                        "secret_in_clear",
                        here,
                        "this field would carry a secret in the clear; send only the keyed \
                         fingerprint in `secret_fp` (see docs/events.md)",
                    ));
                }
                reject_secrets(child, &here)?;
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
