//! Weak secrets: strength estimation with `zxcvbn` (the Rust port of
//! Dropbox's estimator).
//!
//! Input is capped at [`MAX_SECRET_CHARS`] characters: a longer secret is
//! rejected as too long rather than scored (zxcvbn itself only looks at the
//! first 100 characters, and its matching cost grows quickly with length).
//! User inputs (account name, e-mail address, display name) are passed to
//! zxcvbn as a dictionary it penalizes; an e-mail address is also split into
//! its local part and domain labels so that `taro.yamada@example.jp` also
//! penalizes `taro` and `yamada`.

use serde::{Deserialize, Serialize};

/// Longest secret scored, in Unicode scalar values (`char`s).
pub const MAX_SECRET_CHARS: usize = 256;
/// Most user inputs accepted with one secret.
pub const MAX_USER_INPUTS: usize = 16;
/// Longest user input accepted, in `char`s.
pub const MAX_USER_INPUT_CHARS: usize = 256;
/// Shortest piece of a user input that counts as contained in a secret.
const MIN_TOKEN_CHARS: usize = 4;

/// zxcvbn's estimate for one secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Strength {
    /// 0 (guessable in under 10^3 tries) to 4 (more than 10^10).
    pub score: u8,
    /// log10 of the estimated number of guesses.
    pub guesses_log10: f64,
    /// What is wrong, in English, e.g. "This is a top-10 common password.".
    pub warning: Option<String>,
    /// How to do better, in English.
    pub suggestions: Vec<String>,
    /// Whether the secret contains (case-insensitively) one of the user
    /// inputs, or a piece of one of at least 4 characters.
    pub contains_user_input: bool,
}

/// Why a secret was not scored. Messages never include the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrengthError {
    /// The secret is empty.
    #[error("the secret is empty")]
    Empty,
    /// The secret is longer than [`MAX_SECRET_CHARS`].
    #[error("the secret is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_USER_INPUTS`] user inputs.
    #[error("at most {max} user inputs are accepted")]
    TooManyUserInputs {
        /// The limit.
        max: usize,
    },
    /// A user input is longer than [`MAX_USER_INPUT_CHARS`].
    #[error("a user input is longer than {max} characters")]
    UserInputTooLong {
        /// The limit.
        max: usize,
    },
}

/// Checks the limits on a secret and its user inputs.
pub fn validate<S: AsRef<str>>(secret: &str, user_inputs: &[S]) -> Result<(), StrengthError> {
    if secret.is_empty() {
        return Err(StrengthError::Empty);
    }
    if secret.chars().nth(MAX_SECRET_CHARS).is_some() {
        return Err(StrengthError::TooLong {
            max: MAX_SECRET_CHARS,
        });
    }
    if user_inputs.len() > MAX_USER_INPUTS {
        return Err(StrengthError::TooManyUserInputs {
            max: MAX_USER_INPUTS,
        });
    }
    if user_inputs
        .iter()
        .any(|u| u.as_ref().chars().nth(MAX_USER_INPUT_CHARS).is_some())
    {
        return Err(StrengthError::UserInputTooLong {
            max: MAX_USER_INPUT_CHARS,
        });
    }
    Ok(())
}

/// The words zxcvbn is given for `user_inputs`: each input lowercased, plus
/// its alphanumeric pieces (so an e-mail address also yields its local-part
/// words and domain labels), without repeats.
pub fn expand_user_inputs<S: AsRef<str>>(user_inputs: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |w: String| {
        if !w.is_empty() && !out.contains(&w) {
            out.push(w);
        }
    };
    for input in user_inputs {
        let lower = input.as_ref().trim().to_lowercase();
        for piece in lower.split(|c: char| !c.is_alphanumeric()) {
            push(piece.to_owned());
        }
        if let Some((local, _)) = lower.split_once('@') {
            push(local.to_owned());
        }
        push(lower);
    }
    out
}

/// Scores `secret` with zxcvbn, penalizing `user_inputs`.
pub fn strength<S: AsRef<str>>(secret: &str, user_inputs: &[S]) -> Result<Strength, StrengthError> {
    validate(secret, user_inputs)?;
    let words = expand_user_inputs(user_inputs);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(secret, &refs);
    let lower = secret.to_lowercase();
    let contains_user_input = words
        .iter()
        .any(|w| w.chars().count() >= MIN_TOKEN_CHARS && lower.contains(w.as_str()));
    let (warning, suggestions) = match entropy.feedback() {
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(ToString::to_string).collect(),
        ),
        None => (None, Vec::new()),
    };
    let guesses_log10 = entropy.guesses_log10();
    Ok(Strength {
        score: u8::from(entropy.score()),
        guesses_log10: if guesses_log10.is_finite() {
            guesses_log10
        } else {
            0.0
        },
        warning,
        suggestions,
        contains_user_input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_password_scores_zero_with_feedback() {
        let s = strength("password", &[] as &[&str]).expect("scored");
        assert_eq!(s.score, 0);
        assert!(s.guesses_log10 < 3.0);
        assert!(s.warning.is_some());
        assert!(!s.suggestions.is_empty());
        assert!(!s.contains_user_input);
    }

    #[test]
    fn long_random_passphrase_scores_four() {
        let s = strength("correct-horse-battery-staple-9!Qz", &[] as &[&str]).expect("scored");
        assert_eq!(s.score, 4);
        assert!(s.guesses_log10 > 10.0);
        assert_eq!(s.warning, None);
    }

    #[test]
    fn user_inputs_are_penalized() {
        let secret = "yamadataro1990";
        let without = strength(secret, &[] as &[&str]).expect("scored");
        let with = strength(secret, &["taro.yamada@example.jp", "tyamada"]).expect("scored");
        assert!(with.guesses_log10 < without.guesses_log10);
        assert!(with.contains_user_input);
        assert!(!without.contains_user_input);
    }

    #[test]
    fn expands_email_addresses() {
        let w = expand_user_inputs(&["Taro.Yamada@Example.jp"]);
        for want in [
            "taro",
            "yamada",
            "example",
            "jp",
            "taro.yamada",
            "taro.yamada@example.jp",
        ] {
            assert!(w.iter().any(|x| x == want), "{want} missing from {w:?}");
        }
    }

    #[test]
    fn limits() {
        let long = "x".repeat(MAX_SECRET_CHARS + 1);
        assert_eq!(
            strength(&long, &[] as &[&str]),
            Err(StrengthError::TooLong {
                max: MAX_SECRET_CHARS
            })
        );
        // 256 multi-byte characters are fine: the cap counts characters.
        let at_cap = "é".repeat(MAX_SECRET_CHARS);
        assert!(strength(&at_cap, &[] as &[&str]).is_ok());
        assert_eq!(strength("", &[] as &[&str]), Err(StrengthError::Empty));
        let many = vec!["a"; MAX_USER_INPUTS + 1];
        assert_eq!(
            strength("whatever", &many),
            Err(StrengthError::TooManyUserInputs {
                max: MAX_USER_INPUTS
            })
        );
        let long_input = "y".repeat(MAX_USER_INPUT_CHARS + 1);
        assert_eq!(
            strength("whatever", &[long_input]),
            Err(StrengthError::UserInputTooLong {
                max: MAX_USER_INPUT_CHARS
            })
        );
    }
}
