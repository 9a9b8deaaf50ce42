//! Actions and the precedence that combines the rules that fired into one decision.
//!
//! Precedence, from the top:
//! 1. `halt`, then `freeze`, from any enforced rule: never overridden.
//! 2. An enforced `allow` rule overrides `deny`, `review` and `challenge`
//!    (an explicit allow-list, as in Stripe Radar; keep such rules narrow).
//! 3. Otherwise the most severe of `deny` > `review` > `challenge`.
//! 4. No enforced rule fired: `allow`.
//!
//! `challenge` offers the methods every challenging rule accepts (the
//! intersection). An empty intersection cannot be satisfied by one step-up, so
//! the decision becomes `review`. Shadow rules never take part.

use sekimori_event::MfaMethod;
use serde::{Deserialize, Serialize};

/// What the service should do, in increasing severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Challenge,
    Review,
    Deny,
    Freeze,
    Halt,
}

/// Which part of the business a `halt` stops, read from the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaltScope {
    /// The emitting service (a channel): `event.service`.
    Service,
    /// An asset or currency: `event.currency`.
    Asset,
    /// A hot wallet: `event.wallet`.
    Wallet,
    /// A bank: the bank code of the event's bank account, source or destination.
    Bank,
}

/// One enforced rule's verdict, as input to [`combine`].
#[derive(Clone, Debug)]
pub struct Verdict<'a> {
    pub action: Action,
    pub methods: &'a [MfaMethod],
}

/// The combined action and, for `challenge`, the methods offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combined {
    pub action: Action,
    pub methods: Vec<MfaMethod>,
    /// Set when challenges could not agree on a method and became `review`.
    pub no_common_method: bool,
}

/// Combines the verdicts of the enforced rules that fired (see the module doc).
pub fn combine<'a>(verdicts: impl IntoIterator<Item = Verdict<'a>>) -> Combined {
    let verdicts: Vec<Verdict<'a>> = verdicts.into_iter().collect();
    let worst = verdicts
        .iter()
        .map(|v| v.action)
        .max()
        .unwrap_or(Action::Allow);
    let plain = |action| Combined {
        action,
        methods: Vec::new(),
        no_common_method: false,
    };
    if worst >= Action::Freeze {
        return plain(worst);
    }
    if verdicts.iter().any(|v| v.action == Action::Allow) || worst == Action::Allow {
        return plain(Action::Allow);
    }
    if worst > Action::Challenge {
        return plain(worst);
    }
    let mut common: Option<Vec<MfaMethod>> = None;
    for v in verdicts.iter().filter(|v| v.action == Action::Challenge) {
        common = Some(match common {
            None => v.methods.to_vec(),
            Some(c) => c.into_iter().filter(|m| v.methods.contains(m)).collect(),
        });
    }
    let methods = common.unwrap_or_default();
    if methods.is_empty() {
        return Combined {
            action: Action::Review,
            methods,
            no_common_method: true,
        };
    }
    Combined {
        action: Action::Challenge,
        methods,
        no_common_method: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use MfaMethod::*;

    fn check(input: &[(Action, &[MfaMethod])], expect: (Action, &[MfaMethod])) {
        let got = combine(input.iter().map(|(action, methods)| Verdict {
            action: *action,
            methods,
        }));
        assert_eq!((got.action, got.methods.as_slice()), expect, "{input:?}");
    }

    #[test]
    fn precedence_table() {
        check(&[], (Allow, &[]));
        check(
            &[(Challenge, &[Totp, Webauthn])],
            (Challenge, &[Totp, Webauthn]),
        );
        check(
            &[(Challenge, &[Totp, Webauthn]), (Challenge, &[Webauthn])],
            (Challenge, &[Webauthn]),
        );
        check(&[(Challenge, &[Totp]), (Challenge, &[Sms])], (Review, &[]));
        check(&[(Challenge, &[Totp]), (Review, &[])], (Review, &[]));
        check(&[(Review, &[]), (Deny, &[])], (Deny, &[]));
        check(&[(Deny, &[]), (Allow, &[])], (Allow, &[]));
        check(&[(Freeze, &[]), (Allow, &[])], (Freeze, &[]));
        check(&[(Freeze, &[]), (Halt, &[]), (Allow, &[])], (Halt, &[]));
    }
}
