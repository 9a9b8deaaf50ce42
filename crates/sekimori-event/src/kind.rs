//! The closed set of event types.

use std::fmt;

macro_rules! kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// An event type. Unknown types are rejected at decode time.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind { $($variant),+ }

        impl EventKind {
            /// Every type, in documentation order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The wire name, such as `login.attempt`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),+ }
            }

            /// Parses a wire name; `None` for an unknown type.
            pub fn parse(name: &str) -> Option<EventKind> {
                match name { $($name => Some(EventKind::$variant),)+ _ => None }
            }
        }
    };
}

kinds! {
    LoginAttempt => "login.attempt",
    MfaChallenge => "mfa.challenge",
    MfaResult => "mfa.result",
    AccountOpen => "account.open",
    CredentialChange => "credential.change",
    DeviceBind => "device.bind",
    LinkBank => "link.bank",
    PayeeAdd => "payee.add",
    Charge => "charge",
    Transfer => "transfer",
    Purchase => "purchase",
    Withdrawal => "withdrawal",
    WalletOutflow => "wallet.outflow",
    WithdrawalRequest => "withdrawal.request",
    WithdrawalApproval => "withdrawal.approval",
    ReportNotMe => "report.not_me",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
