//! The log's JSON of an event, written once straight from the typed event.
//!
//! [`Event::to_json`] builds a [`serde_json::Value`] (every object's keys
//! sorted) and the log stores that value's compact bytes. [`Event::canonical_json`]
//! writes the same bytes with no `Value` built: each object's fields are
//! gathered on the stack, sorted by name as the `Value`'s map sorts them
//! (byte order), and every leaf (a string, a number, an enum's wire name, an
//! IP address, `attrs`) is written by `serde_json` from the field's own
//! `Serialize`, so escapes and number forms are the same. The tests hold the
//! two byte for byte over every event type and generated events.

use crate::*;
use serde::Serialize;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// One field's value, borrowed from the event.
#[derive(Clone, Copy)]
enum F<'a> {
    Str(&'a str),
    Int(i64),
    Asn(u32),
    Bool(bool),
    Ip(&'a IpAddr),
    /// An enum's wire name (`as_str`, computed from serde's own output).
    Name(&'static str),
    Verified(&'a [Verification]),
    Actor(&'a Actor),
    Dest(&'a Destination),
    Bank(&'a BankAccount),
    Attrs(&'a Map<String, Value>),
}

/// The fields of one object: the first [`MAX_FIELDS`] on the stack, any
/// more in `spill` (a field is never dropped).
struct Fields<'a> {
    items: [(&'static str, Option<F<'a>>); MAX_FIELDS],
    len: usize,
    /// Past the stack's capacity; empty (no allocation) for every type
    /// today (`no_object_has_more_fields_than_the_stack_holds`).
    spill: Vec<(&'static str, Option<F<'a>>)>,
}

/// The envelope's 7 fields and the largest body's 10 (wallet.outflow: 17
/// in all); a test counts every type's fields in the schema generated
/// from the types and fails past this.
pub(crate) const MAX_FIELDS: usize = 20;

impl<'a> Fields<'a> {
    fn new() -> Self {
        Fields {
            items: std::array::from_fn(|_| ("", None)),
            len: 0,
            spill: Vec::new(),
        }
    }

    fn put(&mut self, key: &'static str, value: F<'a>) {
        // A body has at most 10 fields and the envelope 7, so the stack
        // holds them (tested from the schema); a field past it spills to
        // the heap rather than vanish from the log.
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (key, Some(value));
            self.len += 1;
        } else {
            self.spill.push((key, Some(value)));
        }
    }

    fn opt(&mut self, key: &'static str, value: Option<F<'a>>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }

    /// The four fields every money movement of an account has.
    fn money(
        &mut self,
        account: &'a str,
        amount_minor: i64,
        balance_before_minor: &'a Option<i64>,
        currency: &'a str,
    ) {
        self.put("account", F::Str(account));
        self.put("amount_minor", F::Int(amount_minor));
        self.opt("balance_before_minor", int(balance_before_minor));
        self.put("currency", F::Str(currency));
    }

    /// `{"k":v,...}` with the keys in byte order, as a `Value`'s map keeps
    /// them (a short insertion sort: the fields come nearly sorted).
    fn write(mut self, out: &mut Vec<u8>) {
        if self.spill.is_empty() {
            let items = &mut self.items[..self.len];
            items.sort_unstable_by(|a, b| a.0.cmp(b.0));
            write_sorted(items, out);
        } else {
            let mut all = self.items[..self.len].to_vec();
            all.append(&mut self.spill);
            all.sort_unstable_by(|a, b| a.0.cmp(b.0));
            write_sorted(&all, out);
        }
    }
}

/// `{"k":v,...}` of fields already in byte order.
fn write_sorted(items: &[(&'static str, Option<F<'_>>)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // The names are this module's own: lower-case ASCII and `_`,
        // nothing to escape (as `serde_json` writes them).
        debug_assert!(key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        if let Some(v) = value {
            v.write(out);
        }
    }
    out.push(b'}');
}

/// Any leaf through `serde_json`'s own compact writer.
fn leaf<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing into a `Vec` cannot fail, and none of these types refuses to
    // serialize (no map with non-string keys, no NaN: parsed JSON has none).
    let _ = value.serialize(&mut serde_json::Serializer::new(out));
}

impl F<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            F::Str(s) => leaf(out, *s),
            F::Int(n) => leaf(out, n),
            F::Asn(n) => leaf(out, n),
            F::Bool(b) => leaf(out, b),
            F::Ip(ip) => leaf(out, *ip),
            F::Name(n) => leaf(out, *n),
            F::Verified(v) => leaf(out, *v),
            F::Attrs(m) => leaf(out, *m),
            F::Actor(a) => actor(a).write(out),
            F::Dest(d) => destination(d).write(out),
            F::Bank(b) => bank(b).write(out),
        }
    }
}

fn s(v: &Option<String>) -> Option<F<'_>> {
    v.as_deref().map(F::Str)
}

fn int(v: &Option<i64>) -> Option<F<'_>> {
    v.map(F::Int)
}

fn actor(a: &Actor) -> Fields<'_> {
    let Actor {
        account,
        ip,
        device,
        user_agent,
        session,
        country,
        asn,
    } = a;
    let mut f = Fields::new();
    f.opt("account", s(account));
    f.opt("asn", asn.map(F::Asn));
    f.opt("country", s(country));
    f.opt("device", s(device));
    f.opt("ip", ip.as_ref().map(F::Ip));
    f.opt("session", s(session));
    f.opt("user_agent", s(user_agent));
    f
}

fn bank(b: &BankAccount) -> Fields<'_> {
    let BankAccount {
        bank_code,
        branch,
        number,
        holder_name,
    } = b;
    let mut f = Fields::new();
    f.put("bank_code", F::Str(bank_code));
    f.put("branch", F::Str(branch));
    f.opt("holder_name", s(holder_name));
    f.put("number", F::Str(number));
    f
}

fn destination(d: &Destination) -> Fields<'_> {
    let mut f = Fields::new();
    f.put("kind", F::Name(d.kind()));
    match d {
        Destination::Bank {
            bank_code,
            branch,
            number,
            holder_name,
        } => {
            f.put("bank_code", F::Str(bank_code));
            f.put("branch", F::Str(branch));
            f.opt("holder_name", s(holder_name));
            f.put("number", F::Str(number));
        }
        Destination::Crypto { address, network } => {
            f.put("address", F::Str(address));
            f.opt("network", s(network));
        }
        Destination::Atm { atm_id } => f.opt("atm_id", s(atm_id)),
        Destination::Account { account } => f.put("account", F::Str(account)),
    }
    f
}

/// The body's fields beside the envelope's. Each struct is taken apart
/// whole (no `..`): a field added to a body type does not build until it
/// is written here.
fn body<'a>(b: &'a Body, f: &mut Fields<'a>) {
    match b {
        Body::LoginAttempt(LoginAttempt {
            account,
            factor,
            secret_fp,
            secret_common,
            result,
            failure_reason,
        }) => {
            f.put("account", F::Str(account));
            f.put("factor", F::Name(factor.as_str()));
            f.opt(
                "failure_reason",
                failure_reason.map(|r| F::Name(r.as_str())),
            );
            f.put("result", F::Name(result.as_str()));
            f.opt("secret_common", secret_common.map(F::Bool));
            f.opt("secret_fp", s(secret_fp));
        }
        Body::MfaChallenge(MfaChallenge {
            account,
            method,
            challenge_id,
            for_event,
        }) => {
            f.put("account", F::Str(account));
            f.put("challenge_id", F::Str(challenge_id));
            f.opt("for_event", s(for_event));
            f.put("method", F::Name(method.as_str()));
        }
        Body::MfaResult(MfaResult {
            account,
            method,
            challenge_id,
            result,
            for_event,
        }) => {
            f.put("account", F::Str(account));
            f.put("challenge_id", F::Str(challenge_id));
            f.opt("for_event", s(for_event));
            f.put("method", F::Name(method.as_str()));
            f.put("result", F::Name(result.as_str()));
        }
        Body::AccountOpen(AccountOpen {
            account,
            kyc,
            holder_name,
            birth_date,
            email_domain,
        }) => {
            f.put("account", F::Str(account));
            f.opt("birth_date", s(birth_date));
            f.opt("email_domain", s(email_domain));
            f.opt("holder_name", s(holder_name));
            f.put("kyc", F::Name(kyc.as_str()));
        }
        Body::CredentialChange(CredentialChange {
            account,
            credential,
            channel,
            result,
        }) => {
            f.put("account", F::Str(account));
            f.put("channel", F::Name(channel.as_str()));
            f.put("credential", F::Name(credential.as_str()));
            f.opt("result", result.map(|r| F::Name(r.as_str())));
        }
        Body::DeviceBind(DeviceBind {
            account,
            device,
            verified_by,
        }) => {
            f.put("account", F::Str(account));
            f.put("device", F::Str(device));
            f.put("verified_by", F::Name(verified_by.as_str()));
        }
        Body::LinkBank(LinkBank {
            account,
            bank,
            verified,
            holder_name,
            result,
        }) => {
            f.put("account", F::Str(account));
            f.put("bank", F::Bank(bank));
            f.opt("holder_name", s(holder_name));
            f.opt("result", result.map(|r| F::Name(r.as_str())));
            f.put("verified", F::Verified(verified));
        }
        Body::PayeeAdd(PayeeAdd {
            account,
            payee_id,
            destination,
        }) => {
            f.put("account", F::Str(account));
            f.put("destination", F::Dest(destination));
            f.opt("payee_id", s(payee_id));
        }
        Body::Charge(Charge {
            account,
            amount_minor,
            currency,
            source,
            balance_before_minor,
            source_balance_before_minor,
        }) => {
            f.money(account, *amount_minor, balance_before_minor, currency);
            f.put("source", F::Dest(source));
            f.opt(
                "source_balance_before_minor",
                int(source_balance_before_minor),
            );
        }
        Body::Transfer(Transfer {
            account,
            amount_minor,
            currency,
            destination,
            payee_id,
            balance_before_minor,
            destination_balance_before_minor,
        }) => {
            f.money(account, *amount_minor, balance_before_minor, currency);
            f.put("destination", F::Dest(destination));
            f.opt(
                "destination_balance_before_minor",
                int(destination_balance_before_minor),
            );
            f.opt("payee_id", s(payee_id));
        }
        Body::Purchase(Purchase {
            account,
            amount_minor,
            currency,
            merchant,
            store,
            sku,
            category,
            balance_before_minor,
        }) => {
            f.put("account", F::Str(account));
            f.put("amount_minor", F::Int(*amount_minor));
            f.opt("balance_before_minor", int(balance_before_minor));
            f.opt("category", s(category));
            f.put("currency", F::Str(currency));
            f.put("merchant", F::Str(merchant));
            f.opt("sku", s(sku));
            f.opt("store", s(store));
        }
        Body::Withdrawal(Withdrawal {
            account,
            amount_minor,
            currency,
            destination,
            balance_before_minor,
            destination_balance_before_minor,
        }) => {
            f.money(account, *amount_minor, balance_before_minor, currency);
            f.put("destination", F::Dest(destination));
            f.opt(
                "destination_balance_before_minor",
                int(destination_balance_before_minor),
            );
        }
        Body::WalletOutflow(WalletOutflow {
            wallet,
            stage,
            amount_minor,
            currency,
            address,
            request_id,
            account,
            tx_hash,
            hot_balance_minor,
            cold_balance_minor,
        }) => {
            f.opt("account", s(account));
            f.put("address", F::Str(address));
            f.put("amount_minor", F::Int(*amount_minor));
            f.opt("cold_balance_minor", int(cold_balance_minor));
            f.put("currency", F::Str(currency));
            f.opt("hot_balance_minor", int(hot_balance_minor));
            f.opt("request_id", s(request_id));
            f.put("stage", F::Name(stage.as_str()));
            f.opt("tx_hash", s(tx_hash));
            f.put("wallet", F::Str(wallet));
        }
        Body::WithdrawalRequest(WithdrawalRequest {
            request_id,
            account,
            amount_minor,
            currency,
            destination,
            balance_before_minor,
        }) => {
            f.money(account, *amount_minor, balance_before_minor, currency);
            f.put("destination", F::Dest(destination));
            f.put("request_id", F::Str(request_id));
        }
        Body::WithdrawalApproval(WithdrawalApproval {
            request_id,
            approver,
            vote,
        }) => {
            f.put("approver", F::Str(approver));
            f.put("request_id", F::Str(request_id));
            f.put("vote", F::Name(vote.as_str()));
        }
        Body::ReportNotMe(ReportNotMe {
            account,
            disputed_event_id,
            note,
        }) => {
            f.put("account", F::Str(account));
            f.opt("disputed_event_id", s(disputed_event_id));
            f.opt("note", s(note));
        }
    }
}

impl Event {
    /// The log's JSON of this event: exactly the bytes of
    /// `serde_json::to_vec(&self.to_json())` (every object's keys sorted,
    /// `at` in UTC with milliseconds, defaults left out), written straight
    /// from the typed event with no [`Value`] built.
    pub fn canonical_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        self.write_canonical_json(&mut out);
        out
    }

    /// [`Event::canonical_json`], appended to `out`.
    pub fn write_canonical_json(&self, out: &mut Vec<u8>) {
        let Event {
            id,
            kind,
            at_ms,
            service,
            customer,
            actor,
            body: b,
            attrs,
        } = self;
        let at = format_rfc3339_ms(*at_ms);
        let mut f = Fields::new();
        if !actor.is_empty() {
            f.put("actor", F::Actor(actor));
        }
        f.put("at", F::Str(&at));
        if !attrs.is_empty() {
            f.put("attrs", F::Attrs(attrs));
        }
        f.opt("customer", s(customer));
        f.put("id", F::Str(id));
        f.put("service", F::Str(service));
        f.put("type", F::Name(kind.as_str()));
        body(b, &mut f);
        f.write(out);
    }
}

#[cfg(test)]
#[path = "canonical_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "canonical_spill_tests.rs"]
mod spill_tests;
