//! What an analyst does, as logged: the `act` of an `Entry::Analyst`, and
//! the label vocabulary of `Entry::Label`.

use serde::{Deserialize, Serialize};

/// One analyst action, serialized as the `act` of an `Entry::Analyst`
/// (`{"type": "claim", "case": 42}`). The engine keeps no state from it;
/// the case index ([`crate::cases::Index`]) is rebuilt from these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Act {
    /// The analyst took the case: hidden from the others' queue until
    /// released, decided or [`crate::CLAIM_MS`] after `at`.
    Claim { case: u64 },
    /// The analyst gave the case back.
    Release { case: u64 },
    /// A note on the case; its text is the entry's `why`.
    Note { case: u64 },
    /// A held event (decided `review`) may go ahead: the service is told
    /// by a signed webhook (`review.approved`).
    Approve {
        case: u64,
        service: String,
        event_id: String,
        /// The approver's role when they approved (absent in entries
        /// written before it was logged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<crate::analysts::Role>,
    },
    /// A held event is refused: the service is told (`review.declined`)
    /// and cancels it.
    Decline {
        case: u64,
        service: String,
        event_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<crate::analysts::Role>,
    },
    /// The case is closed with a disposition; the note is `why`. Each of
    /// its events gets an `Entry::Label` with the disposition.
    Close { case: u64, disposition: Disposition },
    /// An admin created an analyst (never a password or a seed).
    CreateAnalyst {
        login: String,
        role: crate::analysts::Role,
    },
    /// Signed in (password and TOTP).
    SignIn,
    /// A sign-in that failed its password or code. The entry's `by` is
    /// `anonymous`; `login` is what was typed (bounded, controls escaped;
    /// the login may not exist), `address` the client's address (an IPv6
    /// address as its /64), never the password or the code.
    SignInFailed { login: String, address: String },
    /// An admin disabled an analyst: their sessions end, they cannot sign in.
    DisableAnalyst { login: String },
    /// An admin enabled a disabled analyst again.
    EnableAnalyst { login: String },
    /// An admin reset an analyst's password and TOTP (a new enrolment).
    ResetAnalyst { login: String },
    /// A hold placed from the workbench (the engine's `Entry::Place` is
    /// logged first, through the ledger).
    PlaceHold {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<u64>,
        hold: sekimori_engine::HoldKey,
        action: sekimori_rules::Action,
    },
    /// The first supervisor asks for a hold to be lifted (four eyes: a
    /// second, independent supervisor lifts it).
    RequestLift {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<u64>,
        hold: sekimori_engine::HoldKey,
    },
    /// The second supervisor lifted the hold (`Entry::Lift` logged first).
    LiftHold {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<u64>,
        hold: sekimori_engine::HoldKey,
        /// Who asked for it (the first eyes).
        requested_by: String,
    },
    /// An item added to a pack's list until `expires_at` (`Entry::List`
    /// logged first, through the ledger).
    ListAdd {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<u64>,
        list: String,
        item: String,
        expires_at: String,
        /// The item was on the list already (the pack's, or put there by the
        /// API or an operator): its expiry never takes it off.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        already_listed: bool,
    },
    /// An item the workbench added, taken off its list at its expiry.
    ListExpire { list: String, item: String },
    /// Ended every session of the analyst.
    SignOutEverywhere,
    /// A passkey was registered for `login` (by the analyst's own session:
    /// the entry's `by`). Never its key material: the credential id (hex)
    /// and the name it was given.
    PasskeyRegistered {
        login: String,
        id: String,
        name: String,
    },
    /// Passkeys of `login` were removed (the entry's `by`: the admin, or
    /// whoever reset the analyst). `ids` are the credential ids that went;
    /// `all` says every passkey of the analyst went.
    PasskeysRemoved {
        login: String,
        ids: Vec<String>,
        all: bool,
        reason: PasskeyRemoval,
    },
}

/// Why passkeys were removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyRemoval {
    /// An admin removed them (one, or all).
    Admin,
    /// The analyst was reset: a reset rotates every credential.
    Reset,
}

impl Act {
    /// The case this act is about, if any.
    pub fn case(&self) -> Option<u64> {
        match self {
            Act::Claim { case }
            | Act::Release { case }
            | Act::Note { case }
            | Act::Approve { case, .. }
            | Act::Decline { case, .. }
            | Act::Close { case, .. } => Some(*case),
            Act::PlaceHold { case, .. }
            | Act::RequestLift { case, .. }
            | Act::LiftHold { case, .. }
            | Act::ListAdd { case, .. } => *case,
            _ => None,
        }
    }

    /// A stable short name (`claim`, `approve`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Act::Claim { .. } => "claim",
            Act::Release { .. } => "release",
            Act::Note { .. } => "note",
            Act::Approve { .. } => "approve",
            Act::Decline { .. } => "decline",
            Act::Close { .. } => "close",
            Act::CreateAnalyst { .. } => "create_analyst",
            Act::SignIn => "sign_in",
            Act::SignOutEverywhere => "sign_out_everywhere",
            Act::SignInFailed { .. } => "sign_in_failed",
            Act::DisableAnalyst { .. } => "disable_analyst",
            Act::EnableAnalyst { .. } => "enable_analyst",
            Act::ResetAnalyst { .. } => "reset_analyst",
            Act::PlaceHold { .. } => "place_hold",
            Act::RequestLift { .. } => "request_lift",
            Act::LiftHold { .. } => "lift_hold",
            Act::ListAdd { .. } => "list_add",
            Act::ListExpire { .. } => "list_expire",
            Act::PasskeyRegistered { .. } => "passkey_registered",
            Act::PasskeysRemoved { .. } => "passkeys_removed",
        }
    }
}

/// How a case ended; also the label its events get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    ConfirmedFraud,
    FalsePositive,
    Legitimate,
    UnableToVerify,
}

impl Disposition {
    pub const ALL: [Disposition; 4] = [
        Disposition::ConfirmedFraud,
        Disposition::FalsePositive,
        Disposition::Legitimate,
        Disposition::UnableToVerify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Disposition::ConfirmedFraud => "confirmed_fraud",
            Disposition::FalsePositive => "false_positive",
            Disposition::Legitimate => "legitimate",
            Disposition::UnableToVerify => "unable_to_verify",
        }
    }

    pub fn parse(s: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// The labels a service may post (`POST /v1/labels`).
pub const SERVICE_LABELS: &[&str] = &[
    "chargeback",
    "dispute",
    "customer_confirmed",
    "customer_denied",
];

/// Whether `label` is one of the label vocabulary (a disposition or a
/// service's label).
pub fn is_label(label: &str) -> bool {
    SERVICE_LABELS.contains(&label) || Disposition::parse(label).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_round_trip_as_tagged_json() {
        let act = Act::Decline {
            case: 7,
            service: "netbank".into(),
            event_id: "t-1".into(),
            role: None,
        };
        let json = serde_json::to_value(&act).expect("serializes");
        assert_eq!(json["type"], "decline");
        assert_eq!(json["case"], 7);
        let back: Act = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, act);
        assert!(serde_json::from_value::<Act>(serde_json::json!({"type": "fly"})).is_err());
        let act = Act::PasskeysRemoved {
            login: "aiko".into(),
            ids: vec!["ab01".into()],
            all: true,
            reason: PasskeyRemoval::Reset,
        };
        let json = serde_json::to_value(&act).expect("serializes");
        assert_eq!(json["type"], "passkeys_removed");
        assert_eq!(json["reason"], "reset");
        assert_eq!(serde_json::from_value::<Act>(json).expect("decodes"), act);
    }

    #[test]
    fn labels_are_a_closed_vocabulary() {
        assert!(is_label("chargeback"));
        assert!(is_label("confirmed_fraud"));
        assert!(!is_label("fraud"));
        assert_eq!(
            Disposition::parse("legitimate"),
            Some(Disposition::Legitimate)
        );
    }
}
