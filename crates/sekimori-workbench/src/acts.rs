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
    },
    /// A held event is refused: the service is told (`review.declined`)
    /// and cancels it.
    Decline {
        case: u64,
        service: String,
        event_id: String,
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
    /// Ended every session of the analyst.
    SignOutEverywhere,
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
        };
        let json = serde_json::to_value(&act).expect("serializes");
        assert_eq!(json["type"], "decline");
        assert_eq!(json["case"], 7);
        let back: Act = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, act);
        assert!(serde_json::from_value::<Act>(serde_json::json!({"type": "fly"})).is_err());
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
