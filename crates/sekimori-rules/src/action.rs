//! Actions and the precedence that combines the rules that fired into one decision.
//!
//! Precedence, from the top:
//! 1. `halt`, then `freeze`, from any enforced rule: never overridden.
//! 2. An enforced `allow` rule overrides the `deny`, `review` and `challenge`
//!    of rules that are not guards (an explicit allow-list, as in Stripe
//!    Radar; keep such rules narrow). A guard's verdict (the money guards:
//!    custody quorum, approver rejections, reconciliation, caps) is never
//!    overridden by `allow`; a pack where an enforced `allow` could meet a
//!    guard is refused when compiled, and [`combine`] keeps the guard's
//!    verdict anyway (defense in depth).
//! 3. Otherwise the most severe of `deny` > `review` > `challenge`.
//! 4. No enforced rule fired: `allow`.
//!
//! `challenge` offers the methods every challenging rule accepts (the
//! intersection). An empty intersection cannot be satisfied by one step-up, so
//! the decision becomes `review`. Shadow rules never take part, and neither
//! do `flag` rules: a rule's [`RuleAction`] may be `flag`, which adds the
//! rule's reason and score to the decision and casts no verdict, so a
//! decision's [`Action`] is never `flag`.

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

/// What a rule does when it fires: vote for one of the decision's
/// [`Action`]s, or `flag` (inform only: its reason and score go into the
/// decision, and it takes no part in [`combine`]). Serialized in `reasons`
/// with the same names as [`Action`], plus `flag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Allow,
    Flag,
    Challenge,
    Review,
    Deny,
    Freeze,
    Halt,
}

impl RuleAction {
    /// The verdict this rule casts in [`combine`]; `None` for `flag`.
    pub fn verdict(self) -> Option<Action> {
        match self {
            RuleAction::Allow => Some(Action::Allow),
            RuleAction::Flag => None,
            RuleAction::Challenge => Some(Action::Challenge),
            RuleAction::Review => Some(Action::Review),
            RuleAction::Deny => Some(Action::Deny),
            RuleAction::Freeze => Some(Action::Freeze),
            RuleAction::Halt => Some(Action::Halt),
        }
    }

    /// `allow`, `flag`, `challenge`, ... as written in a pack.
    pub fn name(self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Flag => "flag",
            RuleAction::Challenge => "challenge",
            RuleAction::Review => "review",
            RuleAction::Deny => "deny",
            RuleAction::Freeze => "freeze",
            RuleAction::Halt => "halt",
        }
    }
}

impl From<Action> for RuleAction {
    fn from(a: Action) -> RuleAction {
        match a {
            Action::Allow => RuleAction::Allow,
            Action::Challenge => RuleAction::Challenge,
            Action::Review => RuleAction::Review,
            Action::Deny => RuleAction::Deny,
            Action::Freeze => RuleAction::Freeze,
            Action::Halt => RuleAction::Halt,
        }
    }
}

impl PartialEq<Action> for RuleAction {
    fn eq(&self, other: &Action) -> bool {
        self.verdict() == Some(*other)
    }
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
    /// What the rule does; a `flag` takes no part.
    pub action: RuleAction,
    pub methods: &'a [MfaMethod],
    /// The rule guards money (`guard: true`): an `allow` never overrides it.
    pub guard: bool,
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
/// `flag` verdicts are left out: they inform and never decide.
pub fn combine<'a>(verdicts: impl IntoIterator<Item = Verdict<'a>>) -> Combined {
    let votes: Vec<(Action, &'a [MfaMethod], bool)> = verdicts
        .into_iter()
        .filter_map(|v| v.action.verdict().map(|a| (a, v.methods, v.guard)))
        .collect();
    let plain = |action| Combined {
        action,
        methods: Vec::new(),
        no_common_method: false,
    };
    if let Some(worst @ (Action::Freeze | Action::Halt)) = votes.iter().map(|v| v.0).max() {
        return plain(worst);
    }
    // An allow overrides the challenges, reviews and denials of rules that
    // are not guards; a guard's verdict stands.
    let allowed = votes.iter().any(|v| v.0 == Action::Allow);
    let standing: Vec<&(Action, &'a [MfaMethod], bool)> = votes
        .iter()
        .filter(|v| v.0 > Action::Allow && (v.2 || !allowed))
        .collect();
    let worst = standing.iter().map(|v| v.0).max().unwrap_or(Action::Allow);
    if worst != Action::Challenge {
        return plain(worst);
    }
    let mut common: Option<Vec<MfaMethod>> = None;
    for (_, methods, _) in standing.iter().filter(|v| v.0 == Action::Challenge) {
        common = Some(match common {
            None => methods.to_vec(),
            Some(c) => c.into_iter().filter(|m| methods.contains(m)).collect(),
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

    fn run(input: &[(RuleAction, &[MfaMethod], bool)]) -> Combined {
        combine(input.iter().map(|(action, methods, guard)| Verdict {
            action: *action,
            methods,
            guard: *guard,
        }))
    }

    fn check(input: &[(Action, &[MfaMethod])], expect: (Action, &[MfaMethod])) {
        let input: Vec<(RuleAction, &[MfaMethod], bool)> = input
            .iter()
            .map(|(a, m)| ((*a).into(), *m, false))
            .collect();
        let got = run(&input);
        assert_eq!((got.action, got.methods.as_slice()), expect, "{input:?}");
    }

    fn check_guarded(input: &[(Action, &[MfaMethod], bool)], expect: (Action, &[MfaMethod])) {
        let input: Vec<(RuleAction, &[MfaMethod], bool)> = input
            .iter()
            .map(|(a, m, g)| ((*a).into(), *m, *g))
            .collect();
        let got = run(&input);
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

    #[test]
    fn flag_takes_no_part_in_combine() {
        use RuleAction as R;
        // Where an allow overrides a deny, a flag leaves it standing.
        assert_eq!(
            run(&[(R::Deny, &[], false), (R::Allow, &[], false)]).action,
            Allow
        );
        assert_eq!(
            run(&[(R::Deny, &[], false), (R::Flag, &[], false)]).action,
            Deny
        );
        assert_eq!(
            run(&[(R::Review, &[], true), (R::Flag, &[], false)]).action,
            Review
        );
        // Alone, a flag is no verdict: the decision is the default allow.
        assert_eq!(run(&[(R::Flag, &[], false)]).action, Allow);
        // A flag's methods do not narrow a challenge.
        let got = run(&[
            (R::Challenge, &[Totp, Webauthn], false),
            (R::Flag, &[Sms], false),
        ]);
        assert_eq!(
            (got.action, got.methods.as_slice()),
            (Challenge, &[Totp, Webauthn][..])
        );
        assert_eq!(R::Flag.verdict(), None);
        // `flag` is written as such, and an Action (a decision's) never reads it.
        assert_eq!(serde_json::to_string(&R::Flag).expect("json"), "\"flag\"");
        assert!(serde_json::from_str::<Action>("\"flag\"").is_err());
        for a in [Allow, Challenge, Review, Deny, Freeze, Halt] {
            let as_rule = serde_json::to_string(&RuleAction::from(a)).expect("json");
            assert_eq!(as_rule, serde_json::to_string(&a).expect("json"));
            assert_eq!(RuleAction::from(a).verdict(), Some(a));
            assert_eq!(RuleAction::from(a).name(), as_rule.trim_matches('"'));
        }
    }

    #[test]
    fn allow_never_overrides_a_guard() {
        // The quorum (review) and an approver's rejection (deny) are guards.
        check_guarded(&[(Review, &[], true), (Allow, &[], false)], (Review, &[]));
        check_guarded(&[(Deny, &[], true), (Allow, &[], false)], (Deny, &[]));
        check_guarded(
            &[(Review, &[], true), (Deny, &[], true), (Allow, &[], false)],
            (Deny, &[]),
        );
        // The allow still overrides what is not a guard.
        check_guarded(
            &[(Review, &[], true), (Deny, &[], false), (Allow, &[], false)],
            (Review, &[]),
        );
        check_guarded(
            &[
                (Challenge, &[Totp, Webauthn], true),
                (Challenge, &[Sms], false),
                (Allow, &[], false),
            ],
            (Challenge, &[Totp, Webauthn]),
        );
        check_guarded(&[(Deny, &[], false), (Allow, &[], false)], (Allow, &[]));
        // Without an allow, guards combine like any rule.
        check_guarded(&[(Review, &[], true), (Deny, &[], false)], (Deny, &[]));
        check_guarded(&[(Halt, &[], true), (Allow, &[], false)], (Halt, &[]));
    }
}
