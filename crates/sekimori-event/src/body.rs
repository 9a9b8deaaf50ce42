//! The fields of each event type. Every struct rejects unknown fields.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod check;
mod money;
pub(crate) use check::{text as check_text, Validate};

/// The type-specific part of an event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    LoginAttempt(LoginAttempt),
    MfaChallenge(MfaChallenge),
    MfaResult(MfaResult),
    AccountOpen(AccountOpen),
    CredentialChange(CredentialChange),
    DeviceBind(DeviceBind),
    LinkBank(LinkBank),
    PayeeAdd(PayeeAdd),
    Charge(Charge),
    Transfer(Transfer),
    Purchase(Purchase),
    Withdrawal(Withdrawal),
    WalletOutflow(WalletOutflow),
    WithdrawalRequest(WithdrawalRequest),
    WithdrawalApproval(WithdrawalApproval),
    ReportNotMe(ReportNotMe),
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The wire name, as serde writes it (computed from serde's own
            /// output once, so the two never differ).
            pub fn as_str(self) -> &'static str {
                static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| {
                    [$($name::$variant),+]
                        .iter()
                        .map(|v| match serde_json::to_value(v) {
                            Ok(serde_json::Value::String(s)) => &*Box::leak(s.into_boxed_str()),
                            _ => "",
                        })
                        .collect()
                });
                names[self as usize]
            }
        }
    };
}

wire_enum!(
    /// The factor a login tried.
    Factor { Password, Pin, Otp, Passkey }
);
wire_enum!(
    /// Outcome of an authentication step.
    Outcome { Success, Failure }
);
wire_enum!(
    /// Why a login failed, when the service knows.
    FailureReason { BadSecret, UnknownAccount, Locked, Expired, Other }
);
wire_enum!(
    /// A second-factor or step-up method.
    MfaMethod { Totp, Sms, Email, Webauthn, Push, Txsign }
);
impl MfaMethod {
    /// Whether the method resists relay and interception: a TOTP device,
    /// a passkey (origin-bound) or transaction signing (amount- and
    /// payee-bound). SMS, e-mail and push are weaker and are marked so in
    /// reasons.
    pub fn is_strong(self) -> bool {
        matches!(
            self,
            MfaMethod::Totp | MfaMethod::Webauthn | MfaMethod::Txsign
        )
    }
}

wire_enum!(
    /// Outcome of a challenge.
    MfaOutcome { Success, Failure, Expired }
);
wire_enum!(
    /// Identity assurance at account opening.
    Kyc { None, Email, Sms, Ekyc }
);
wire_enum!(
    /// Which credential changed.
    Credential { Password, Pin, Email, Phone, OtpSeed, Passkey }
);
wire_enum!(
    /// Through which channel a change was made.
    Channel { Web, App, EmailLink, Sms, CallCenter, Branch }
);
wire_enum!(
    /// What was verified (by the bank for a link, by the service for a device).
    Verification { None, Pin, Password, Otp, Sms, Email, Totp, Webauthn, Push, Ekyc }
);
wire_enum!(
    /// Whether a hot-wallet outflow is about to be signed or was seen on chain.
    OutflowStage { Signing, OnChain }
);
wire_enum!(
    /// An approver's vote on a withdrawal request.
    Vote { Approve, Reject }
);

/// A Japanese bank account in Zengin form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// 4-digit bank code (金融機関コード).
    pub bank_code: String,
    /// 3-digit branch code.
    pub branch: String,
    /// 7-digit account number, zero-padded.
    pub number: String,
    /// Holder name as the bank writes it (usually half-width katakana).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
}

/// Where money goes (or, for a charge, comes from).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Destination {
    Bank {
        bank_code: String,
        branch: String,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder_name: Option<String>,
    },
    Crypto {
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<String>,
    },
    Atm {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        atm_id: Option<String>,
    },
    Account {
        account: String,
    },
}

macro_rules! body_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),+ }
    };
}

body_struct!(
    /// `login.attempt`: one try of one factor against a claimed account.
    LoginAttempt {
        /// The claimed account id; it may not exist.
        account: String,
        factor: Factor,
        /// `<key_id>:<64 hex>`: HMAC-SHA256 of the tried secret under the service's key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_fp: Option<String>,
        /// The service found the tried secret on a common-secrets list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_common: Option<bool>,
        result: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure_reason: Option<FailureReason>,
    }
);
body_struct!(
    /// `mfa.challenge`: a second factor or step-up was requested.
    MfaChallenge {
        account: String,
        method: MfaMethod,
        challenge_id: String,
        /// The id of the event whose `challenge` decision asked for this step-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_event: Option<String>,
    }
);
body_struct!(
    /// `mfa.result`: how a challenge ended.
    MfaResult {
        account: String,
        method: MfaMethod,
        challenge_id: String,
        result: MfaOutcome,
        /// The id of the event whose `challenge` decision asked for this
        /// step-up. Only a passed step-up that names its event teaches the
        /// engine's login-risk profiles that event's client.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_event: Option<String>,
    }
);
body_struct!(
    /// `account.open`: a new account at the service.
    AccountOpen {
        account: String,
        kyc: Kyc,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder_name: Option<String>,
        /// `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        birth_date: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email_domain: Option<String>,
    }
);
body_struct!(
    /// `credential.change`: a password reset, e-mail or phone change, and the channel used.
    CredentialChange {
        account: String,
        credential: Credential,
        channel: Channel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Outcome>,
    }
);
body_struct!(
    /// `device.bind`: a device was registered to an account.
    DeviceBind { account: String, device: String, verified_by: Verification }
);
body_struct!(
    /// `link.bank`: a wallet account linked to a bank account.
    LinkBank {
        account: String,
        bank: BankAccount,
        /// What the bank verified when the link was made.
        verified: Vec<Verification>,
        /// The service's own holder's name, as it verified it (KYC), to
        /// compare with the bank's `bank.holder_name` (`name_match`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Outcome>,
    }
);
body_struct!(
    /// `payee.add`: a bank account or crypto address registered as a destination.
    PayeeAdd {
        account: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payee_id: Option<String>,
        #[serde(deserialize_with = "crate::strict::object")]
        destination: Destination,
    }
);
body_struct!(
    /// `charge`: a top-up of the wallet from a linked bank account.
    Charge {
        account: String,
        amount_minor: i64,
        currency: String,
        #[serde(deserialize_with = "crate::strict::object")]
        source: Destination,
        /// The wallet's balance in this currency before this top-up, when
        /// known (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balance_before_minor: Option<i64>,
        /// The source (bank) account's balance before this top-up, when the
        /// service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_balance_before_minor: Option<i64>,
    }
);
body_struct!(
    /// `transfer`: money sent to another account or bank account.
    Transfer {
        account: String,
        amount_minor: i64,
        currency: String,
        #[serde(deserialize_with = "crate::strict::object")]
        destination: Destination,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payee_id: Option<String>,
        /// The debited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balance_before_minor: Option<i64>,
        /// The credited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination_balance_before_minor: Option<i64>,
    }
);
body_struct!(
    /// `purchase`: a payment at a merchant.
    Purchase {
        account: String,
        amount_minor: i64,
        currency: String,
        merchant: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sku: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        /// The debited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balance_before_minor: Option<i64>,
    }
);
body_struct!(
    /// `withdrawal`: money out to a bank account, ATM cash or a crypto address.
    Withdrawal {
        account: String,
        amount_minor: i64,
        currency: String,
        #[serde(deserialize_with = "crate::strict::object")]
        destination: Destination,
        /// The debited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balance_before_minor: Option<i64>,
        /// The credited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination_balance_before_minor: Option<i64>,
    }
);
body_struct!(
    /// `wallet.outflow`: custody; an outflow from a hot wallet.
    WalletOutflow {
        wallet: String,
        stage: OutflowStage,
        amount_minor: i64,
        currency: String,
        address: String,
        /// The withdrawal request this outflow claims to fulfil.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// The customer account the request pays out from, when the signer
        /// knows it: a freeze of that account (a "not me" report) then holds
        /// the outflow too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx_hash: Option<String>,
        /// Hot-wallet balance of this asset before this outflow, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hot_balance_minor: Option<i64>,
        /// Cold-storage balance of this asset, when known: with the hot
        /// balance, the share kept hot.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cold_balance_minor: Option<i64>,
    }
);
body_struct!(
    /// `withdrawal.request`: a customer or operator asks custody to pay out.
    WithdrawalRequest {
        request_id: String,
        account: String,
        amount_minor: i64,
        currency: String,
        #[serde(deserialize_with = "crate::strict::object")]
        destination: Destination,
        /// The debited account's balance in this currency before this
        /// movement, when the service knows it (minor units, >= 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balance_before_minor: Option<i64>,
    }
);
body_struct!(
    /// `withdrawal.approval`: one approver's vote on a request.
    WithdrawalApproval { request_id: String, approver: String, vote: Vote }
);
body_struct!(
    /// `report.not_me`: the holder disputes an action on the account.
    ReportNotMe {
        account: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disputed_event_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }
);

impl Destination {
    /// The wire name of the kind: `bank`, `crypto`, `atm` or `account`.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Bank { .. } => "bank",
            Destination::Crypto { .. } => "crypto",
            Destination::Atm { .. } => "atm",
            Destination::Account { .. } => "account",
        }
    }

    /// One canonical string per counterparty, to key features on:
    /// `bank:<code>-<branch>-<number>`, `crypto:<address>`, `atm:<id>` (empty
    /// id when none was sent), `account:<id>`. Rules read it as
    /// `event.destination.id` / `event.source.id`.
    pub fn id(&self) -> String {
        match self {
            Destination::Bank {
                bank_code,
                branch,
                number,
                ..
            } => format!("bank:{bank_code}-{branch}-{number}"),
            Destination::Crypto { address, .. } => format!("crypto:{address}"),
            Destination::Atm { atm_id } => format!("atm:{}", atm_id.as_deref().unwrap_or("")),
            Destination::Account { account } => format!("account:{account}"),
        }
    }
}

impl Body {
    /// The account the action is on, for the types that have one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Body::LoginAttempt(b) => Some(&b.account),
            Body::MfaChallenge(b) => Some(&b.account),
            Body::MfaResult(b) => Some(&b.account),
            Body::AccountOpen(b) => Some(&b.account),
            Body::CredentialChange(b) => Some(&b.account),
            Body::DeviceBind(b) => Some(&b.account),
            Body::LinkBank(b) => Some(&b.account),
            Body::PayeeAdd(b) => Some(&b.account),
            Body::Charge(b) => Some(&b.account),
            Body::Transfer(b) => Some(&b.account),
            Body::Purchase(b) => Some(&b.account),
            Body::Withdrawal(b) => Some(&b.account),
            Body::WithdrawalRequest(b) => Some(&b.account),
            Body::ReportNotMe(b) => Some(&b.account),
            Body::WalletOutflow(b) => b.account.as_deref(),
            Body::WithdrawalApproval(_) => None,
        }
    }
}
