//! Reading one field of the typed event: the actor's, a counterparty's
//! and each body type's fields, as the event's canonical JSON has them.

use super::*;
use std::net::IpAddr;

pub(super) fn opt_str(v: &Option<String>) -> Got<'_> {
    v.as_deref().map_or(Got::Missing, Got::Str)
}

fn str_of(v: &str) -> Got<'_> {
    Got::Str(v)
}

fn opt_int(v: Option<i64>) -> Got<'static> {
    v.map_or(Got::Missing, Got::Int)
}

pub(super) fn actor<'b>(r: &'b EventRef<'_>, f: ActorField) -> Got<'b> {
    let a = &r.event.actor;
    match f {
        ActorField::Account => opt_str(&a.account),
        ActorField::Device => opt_str(&a.device),
        ActorField::UserAgent => opt_str(&a.user_agent),
        ActorField::Session => opt_str(&a.session),
        ActorField::Country => opt_str(&a.country),
        ActorField::Asn => a.asn.map_or(Got::Missing, |n| Got::Int(i64::from(n))),
        ActorField::Ip => opt_text(r.ip.get_or_init(|| a.ip.map(ip_text))),
        ActorField::IpNet => opt_text(r.ip_net.get_or_init(|| a.ip.map(net_text))),
        // An IPv4 address is its own host text: the same text, built once.
        ActorField::IpHost if matches!(a.ip, Some(IpAddr::V4(_))) => actor(r, ActorField::Ip),
        ActorField::IpHost => opt_str(r.ip_host.get_or_init(|| a.ip.map(sekimori_event::ip_host))),
    }
}

pub(super) fn party<'b>(r: &'b EventRef<'_>, role: Party, d: &'b Destination, sub: Sub) -> Got<'b> {
    match (sub, d) {
        (Sub::Kind, d) => Got::Str(d.kind()),
        (Sub::Id, _) => r.party_id(role).map_or(Got::Missing, Got::Str),
        (Sub::BankCode, Destination::Bank { bank_code, .. }) => Got::Str(bank_code),
        (Sub::Branch, Destination::Bank { branch, .. }) => Got::Str(branch),
        (Sub::Number, Destination::Bank { number, .. }) => Got::Str(number),
        (Sub::HolderName, Destination::Bank { holder_name, .. }) => opt_str(holder_name),
        (Sub::Address, Destination::Crypto { address, .. }) => Got::Str(address),
        (Sub::Network, Destination::Crypto { network, .. }) => opt_str(network),
        (Sub::AtmId, Destination::Atm { atm_id }) => opt_str(atm_id),
        (Sub::Account, Destination::Account { account }) => Got::Str(account),
        _ => Got::Missing,
    }
}

/// A field of the body, as the body's canonical JSON has it.
pub(super) fn body(body: &Body, f: Field) -> Got<'_> {
    use Field as F;
    match body {
        Body::LoginAttempt(b) => match f {
            F::Account => str_of(&b.account),
            F::Factor => Got::Str(b.factor.as_str()),
            F::SecretFp => opt_str(&b.secret_fp),
            F::SecretCommon => b.secret_common.map_or(Got::Missing, Got::Bool),
            F::Result => Got::Str(b.result.as_str()),
            F::FailureReason => b
                .failure_reason
                .map_or(Got::Missing, |v| Got::Str(v.as_str())),
            _ => Got::Missing,
        },
        Body::MfaChallenge(b) => match f {
            F::Account => str_of(&b.account),
            F::Method => Got::Str(b.method.as_str()),
            F::ChallengeId => str_of(&b.challenge_id),
            F::ForEvent => opt_str(&b.for_event),
            _ => Got::Missing,
        },
        Body::MfaResult(b) => match f {
            F::Account => str_of(&b.account),
            F::Method => Got::Str(b.method.as_str()),
            F::ChallengeId => str_of(&b.challenge_id),
            F::Result => Got::Str(b.result.as_str()),
            F::ForEvent => opt_str(&b.for_event),
            _ => Got::Missing,
        },
        Body::AccountOpen(b) => match f {
            F::Account => str_of(&b.account),
            F::Kyc => Got::Str(b.kyc.as_str()),
            F::HolderName => opt_str(&b.holder_name),
            F::BirthDate => opt_str(&b.birth_date),
            F::EmailDomain => opt_str(&b.email_domain),
            _ => Got::Missing,
        },
        Body::CredentialChange(b) => match f {
            F::Account => str_of(&b.account),
            F::Credential => Got::Str(b.credential.as_str()),
            F::Channel => Got::Str(b.channel.as_str()),
            F::Result => b.result.map_or(Got::Missing, |v| Got::Str(v.as_str())),
            _ => Got::Missing,
        },
        Body::DeviceBind(b) => match f {
            F::Account => str_of(&b.account),
            F::Device => str_of(&b.device),
            F::VerifiedBy => Got::Str(b.verified_by.as_str()),
            _ => Got::Missing,
        },
        Body::LinkBank(b) => match f {
            F::Account => str_of(&b.account),
            F::Bank => Got::Object,
            F::Verified => Got::Array(&b.verified),
            F::HolderName => opt_str(&b.holder_name),
            F::Result => b.result.map_or(Got::Missing, |v| Got::Str(v.as_str())),
            _ => Got::Missing,
        },
        Body::PayeeAdd(b) => match f {
            F::Account => str_of(&b.account),
            F::PayeeId => opt_str(&b.payee_id),
            F::Destination => Got::Object,
            _ => Got::Missing,
        },
        Body::Charge(b) => match f {
            F::Account => str_of(&b.account),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Source => Got::Object,
            F::BalanceBeforeMinor => opt_int(b.balance_before_minor),
            F::SourceBalanceBeforeMinor => opt_int(b.source_balance_before_minor),
            _ => Got::Missing,
        },
        Body::Transfer(b) => match f {
            F::Account => str_of(&b.account),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Destination => Got::Object,
            F::PayeeId => opt_str(&b.payee_id),
            F::BalanceBeforeMinor => opt_int(b.balance_before_minor),
            F::DestinationBalanceBeforeMinor => opt_int(b.destination_balance_before_minor),
            _ => Got::Missing,
        },
        Body::Purchase(b) => match f {
            F::Account => str_of(&b.account),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Merchant => str_of(&b.merchant),
            F::Store => opt_str(&b.store),
            F::Sku => opt_str(&b.sku),
            F::Category => opt_str(&b.category),
            F::BalanceBeforeMinor => opt_int(b.balance_before_minor),
            _ => Got::Missing,
        },
        Body::Withdrawal(b) => match f {
            F::Account => str_of(&b.account),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Destination => Got::Object,
            F::BalanceBeforeMinor => opt_int(b.balance_before_minor),
            F::DestinationBalanceBeforeMinor => opt_int(b.destination_balance_before_minor),
            _ => Got::Missing,
        },
        Body::WalletOutflow(b) => match f {
            F::Wallet => str_of(&b.wallet),
            F::Stage => Got::Str(b.stage.as_str()),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Address => str_of(&b.address),
            F::RequestId => opt_str(&b.request_id),
            F::Account => opt_str(&b.account),
            F::TxHash => opt_str(&b.tx_hash),
            F::HotBalanceMinor => opt_int(b.hot_balance_minor),
            F::ColdBalanceMinor => opt_int(b.cold_balance_minor),
            _ => Got::Missing,
        },
        Body::WithdrawalRequest(b) => match f {
            F::RequestId => str_of(&b.request_id),
            F::Account => str_of(&b.account),
            F::AmountMinor => Got::Int(b.amount_minor),
            F::Currency => str_of(&b.currency),
            F::Destination => Got::Object,
            F::BalanceBeforeMinor => opt_int(b.balance_before_minor),
            _ => Got::Missing,
        },
        Body::WithdrawalApproval(b) => match f {
            F::RequestId => str_of(&b.request_id),
            F::Approver => str_of(&b.approver),
            F::Vote => Got::Str(b.vote.as_str()),
            _ => Got::Missing,
        },
        Body::ReportNotMe(b) => match f {
            F::Account => str_of(&b.account),
            F::DisputedEventId => opt_str(&b.disputed_event_id),
            F::Note => opt_str(&b.note),
            _ => Got::Missing,
        },
    }
}

/// A derived text of the event: inline when it fits (an IPv4 address and
/// its /24 always do: no allocation per event), else a `String`.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Inline { len: u8, buf: [u8; Text::INLINE] },
    Heap(String),
}

impl Text {
    /// The longest text kept inline (an IPv4 address is at most 15 bytes,
    /// its /24 at most 18).
    pub(crate) const INLINE: usize = 22;

    fn empty() -> Text {
        Text::Inline {
            len: 0,
            buf: [0; Text::INLINE],
        }
    }

    /// Appends ASCII bytes to an inline text (they fit: see the callers).
    fn push(&mut self, bytes: &[u8]) {
        match self {
            Text::Inline { len, buf } => {
                let at = usize::from(*len);
                if let Some(to) = buf.get_mut(at..at + bytes.len()) {
                    to.copy_from_slice(bytes);
                    *len = u8::try_from(at + bytes.len()).unwrap_or(u8::MAX);
                    return;
                }
                let mut heap = String::from_utf8_lossy(&buf[..at]).into_owned();
                heap.push_str(&String::from_utf8_lossy(bytes));
                *self = Text::Heap(heap);
            }
            Text::Heap(s) => s.push_str(&String::from_utf8_lossy(bytes)),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII is written inline, so this never fails.
            Text::Inline { len, buf } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or("")
            }
            Text::Heap(s) => s,
        }
    }
}

fn opt_text(v: &Option<Text>) -> Got<'_> {
    v.as_ref().map_or(Got::Missing, |t| Got::Str(t.as_str()))
}

/// `ip.to_string()`, an IPv4 address written without the formatting
/// machinery or an allocation (a decision reads it for most events).
pub(crate) fn ip_text(ip: IpAddr) -> Text {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = Text::empty();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b".");
                }
                push_octet(&mut out, octet);
            }
            out
        }
        IpAddr::V6(_) => Text::Heap(ip.to_string()),
    }
}

/// [`sekimori_event::ip_net`], the /24 of an IPv4 address written the same
/// way.
pub(crate) fn net_text(ip: IpAddr) -> Text {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            let mut out = Text::empty();
            for octet in [a, b, c] {
                push_octet(&mut out, octet);
                out.push(b".");
            }
            out.push(b"0/24");
            out
        }
        IpAddr::V6(_) => Text::Heap(sekimori_event::ip_net(ip)),
    }
}

fn push_octet(out: &mut Text, n: u8) {
    let digits = [b'0' + n / 100, b'0' + n / 10 % 10, b'0' + n % 10];
    let skip = if n >= 100 {
        0
    } else if n >= 10 {
        1
    } else {
        2
    };
    out.push(&digits[skip..]);
}

#[cfg(test)]
mod tests {
    use super::Text;

    /// A text past the inline bytes moves to the heap whole, in order.
    #[test]
    fn a_long_text_spills_whole() {
        let mut t = Text::empty();
        let mut want = String::new();
        for i in 0..Text::INLINE + 3 {
            let b = [b'a' + (i % 26) as u8];
            t.push(&b);
            want.push(char::from(b[0]));
            assert_eq!(t.as_str(), want);
            assert_eq!(matches!(t, Text::Inline { .. }), i < Text::INLINE);
        }
    }
}
