//! Field paths compiled into accessors over the typed event.
//!
//! A rule reads `event.actor.ip_host` or `event.destination.id`; the
//! reference meaning of such a path is a walk of the event's JSON view
//! ([`event_view`]: the canonical JSON plus `at_ms`, `actor.ip_net`,
//! `actor.ip_host` and the counterparties' `id`, with `actor` and `attrs`
//! always present). When a pack compiles, each path becomes an [`Acc`], which
//! reads the same value straight from the [`Event`] (borrowed where the
//! event holds it; derived texts built once per event in [`EventRef`]), so no
//! JSON is built to decide. A path this module does not know compiles to
//! [`Acc::View`], which reads the view (built on first use): never a wrong
//! answer, only a slower one. `tests/access.rs` checks every path of every
//! event type against the view.

pub(super) mod read;

use read::{actor, body, opt_str, party};
use sekimori_event::{Body, Destination, Event, Verification};
use serde_json::Value as Json;
use std::sync::OnceLock;

/// The event as the compiled accessors read it: the typed event, with its
/// derived texts and its JSON view each built at most once, on first use.
#[derive(Debug)]
pub struct EventRef<'a> {
    event: &'a Event,
    at: OnceLock<String>,
    ip: OnceLock<Option<read::Text>>,
    ip_net: OnceLock<Option<read::Text>>,
    ip_host: OnceLock<Option<String>>,
    destination_id: OnceLock<Option<String>>,
    source_id: OnceLock<Option<String>>,
    view: OnceLock<Json>,
}

impl<'a> EventRef<'a> {
    pub fn new(event: &'a Event) -> Self {
        EventRef {
            event,
            at: OnceLock::new(),
            ip: OnceLock::new(),
            ip_net: OnceLock::new(),
            ip_host: OnceLock::new(),
            destination_id: OnceLock::new(),
            source_id: OnceLock::new(),
            view: OnceLock::new(),
        }
    }

    pub fn event(&self) -> &'a Event {
        self.event
    }

    /// The JSON view, built on first use (the interpreter's input, and the
    /// reading of a path no accessor covers).
    pub fn view(&self) -> &Json {
        self.view.get_or_init(|| event_view(self.event))
    }

    /// Whether the view was built (for tests: a compiled pack should not).
    pub fn view_built(&self) -> bool {
        self.view.get().is_some()
    }

    fn party(&self, role: Party) -> Option<&Destination> {
        match (role, &self.event.body) {
            (Party::Destination, Body::PayeeAdd(b)) => Some(&b.destination),
            (Party::Destination, Body::Transfer(b)) => Some(&b.destination),
            (Party::Destination, Body::Withdrawal(b)) => Some(&b.destination),
            (Party::Destination, Body::WithdrawalRequest(b)) => Some(&b.destination),
            (Party::Source, Body::Charge(b)) => Some(&b.source),
            _ => None,
        }
    }

    fn party_id(&self, role: Party) -> Option<&str> {
        let cell = match role {
            Party::Destination => &self.destination_id,
            Party::Source => &self.source_id,
        };
        cell.get_or_init(|| self.party(role).map(Destination::id))
            .as_deref()
    }
}

/// The JSON view of an event: its canonical JSON with `at_ms`,
/// `actor.ip_net` and `actor.ip_host` added, `actor` and `attrs` always
/// present (possibly empty, so `has(event.actor.ip)` works), and an `id` in
/// `destination` and `source` ([`Destination::id`]).
pub fn event_view(event: &Event) -> Json {
    let mut v = event.to_json();
    v["at_ms"] = Json::from(event.at_ms);
    for always in ["actor", "attrs"] {
        if v.get(always).is_none() {
            v[always] = Json::Object(serde_json::Map::new());
        }
    }
    if let Some(ip) = event.actor.ip {
        v["actor"]["ip_net"] = Json::from(sekimori_event::ip_net(ip));
        v["actor"]["ip_host"] = Json::from(sekimori_event::ip_host(ip));
    }
    let r = EventRef::new(event);
    for (name, role) in [
        ("destination", Party::Destination),
        ("source", Party::Source),
    ] {
        if let Some(id) = r.party(role).map(Destination::id) {
            v[name]["id"] = Json::from(id);
        }
    }
    v
}

/// What a path reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Got<'a> {
    /// No such field (the view has no such key, or walks into a scalar).
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    /// A JSON value the event holds as JSON (under `attrs`).
    Json(&'a Json),
    /// An object of the typed event (`actor`, `destination`, `bank`, `attrs`).
    Object,
    /// An array of the typed event (`verified`, the only one), read in place.
    Array(&'a [Verification]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Destination,
    Source,
}

/// A compiled path under `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acc {
    /// `event` itself (the parent in `has(event.f)`).
    Root,
    Id,
    Type,
    At,
    AtMs,
    Service,
    Customer,
    Actor,
    ActorField(ActorField),
    /// `attrs` and the keys below it.
    Attrs(Vec<String>),
    /// A field of the body.
    Body(Field),
    /// A field of the body's bank account (`bank.<f>`).
    Bank(Sub),
    /// `destination.<f>` or `source.<f>` (`None`: the object itself).
    Party(bool, Option<Sub>),
    /// A path below a scalar: never present.
    Missing,
    /// A path no accessor covers: read the JSON view.
    View(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActorField {
    Account,
    Ip,
    Device,
    UserAgent,
    Session,
    Country,
    Asn,
    IpNet,
    IpHost,
}

/// A field of a bank account or counterparty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    Kind,
    BankCode,
    Branch,
    Number,
    HolderName,
    Address,
    Network,
    AtmId,
    Account,
    Id,
}

macro_rules! fields {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A top-level field of some event type's body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Field { $($variant),+ }

        impl Field {
            fn parse(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)+ _ => None }
            }
        }
    };
}

fields! {
    Account => "account", Factor => "factor", SecretFp => "secret_fp",
    SecretCommon => "secret_common", Result => "result", FailureReason => "failure_reason",
    Method => "method", ChallengeId => "challenge_id", ForEvent => "for_event",
    Kyc => "kyc", HolderName => "holder_name", BirthDate => "birth_date",
    EmailDomain => "email_domain", Credential => "credential", Channel => "channel",
    Device => "device", VerifiedBy => "verified_by", Bank => "bank", Verified => "verified",
    PayeeId => "payee_id", Destination => "destination", AmountMinor => "amount_minor",
    Currency => "currency", Source => "source", BalanceBeforeMinor => "balance_before_minor",
    SourceBalanceBeforeMinor => "source_balance_before_minor",
    DestinationBalanceBeforeMinor => "destination_balance_before_minor",
    Merchant => "merchant", Store => "store", Sku => "sku", Category => "category",
    Wallet => "wallet", Stage => "stage", Address => "address", RequestId => "request_id",
    TxHash => "tx_hash", HotBalanceMinor => "hot_balance_minor",
    ColdBalanceMinor => "cold_balance_minor", Approver => "approver", Vote => "vote",
    DisputedEventId => "disputed_event_id", Note => "note",
}

impl Sub {
    fn parse(name: &str) -> Option<Sub> {
        Some(match name {
            "kind" => Sub::Kind,
            "bank_code" => Sub::BankCode,
            "branch" => Sub::Branch,
            "number" => Sub::Number,
            "holder_name" => Sub::HolderName,
            "address" => Sub::Address,
            "network" => Sub::Network,
            "atm_id" => Sub::AtmId,
            "account" => Sub::Account,
            "id" => Sub::Id,
            _ => return None,
        })
    }
}

impl Acc {
    /// Compiles `event.<path>`.
    pub(crate) fn compile(path: &[String]) -> Acc {
        let view = || Acc::View(path.to_vec());
        let Some((first, rest)) = path.split_first() else {
            return Acc::Root;
        };
        let scalar = |acc: Acc| if rest.is_empty() { acc } else { Acc::Missing };
        match first.as_str() {
            "id" => scalar(Acc::Id),
            "type" => scalar(Acc::Type),
            "at" => scalar(Acc::At),
            "at_ms" => scalar(Acc::AtMs),
            "service" => scalar(Acc::Service),
            "customer" => scalar(Acc::Customer),
            "attrs" => Acc::Attrs(rest.to_vec()),
            "actor" => match rest {
                [] => Acc::Actor,
                [f] => Acc::ActorField(match f.as_str() {
                    "account" => ActorField::Account,
                    "ip" => ActorField::Ip,
                    "device" => ActorField::Device,
                    "user_agent" => ActorField::UserAgent,
                    "session" => ActorField::Session,
                    "country" => ActorField::Country,
                    "asn" => ActorField::Asn,
                    "ip_net" => ActorField::IpNet,
                    "ip_host" => ActorField::IpHost,
                    _ => return Acc::Missing,
                }),
                _ => Acc::Missing,
            },
            name => match (Field::parse(name), rest) {
                (None, _) => view(),
                (
                    Some(f @ (Field::Bank | Field::Destination | Field::Source)),
                    [sub, more @ ..],
                ) => {
                    let Some(sub) = Sub::parse(sub) else {
                        return Acc::Missing;
                    };
                    if !more.is_empty() {
                        return Acc::Missing;
                    }
                    match f {
                        Field::Bank => Acc::Bank(sub),
                        _ => Acc::Party(f == Field::Destination, Some(sub)),
                    }
                }
                (Some(f @ (Field::Destination | Field::Source)), []) => {
                    Acc::Party(f == Field::Destination, None)
                }
                (Some(f), []) => Acc::Body(f),
                (Some(_), _) => Acc::Missing,
            },
        }
    }

    /// Reads the path.
    pub(crate) fn get<'b>(&self, r: &'b EventRef<'_>) -> Got<'b> {
        let e: &'b Event = r.event;
        match self {
            Acc::Root => Got::Object,
            Acc::Id => Got::Str(&e.id),
            Acc::Type => Got::Str(e.kind.as_str()),
            Acc::At => Got::Str(r.at.get_or_init(|| sekimori_event::format_rfc3339_ms(e.at_ms))),
            Acc::AtMs => Got::Int(e.at_ms),
            Acc::Service => Got::Str(&e.service),
            Acc::Customer => opt_str(&e.customer),
            Acc::Actor => Got::Object,
            Acc::ActorField(f) => actor(r, *f),
            Acc::Attrs(rest) => {
                let Some((first, more)) = rest.split_first() else {
                    return Got::Object;
                };
                let found = e
                    .attrs
                    .get(first.as_str())
                    .and_then(|v| crate::expr::lookup(v, more));
                found.map_or(Got::Missing, json)
            }
            Acc::Body(f) => body(&e.body, *f),
            Acc::Bank(sub) => match &e.body {
                Body::LinkBank(b) => match sub {
                    Sub::BankCode => Got::Str(&b.bank.bank_code),
                    Sub::Branch => Got::Str(&b.bank.branch),
                    Sub::Number => Got::Str(&b.bank.number),
                    Sub::HolderName => opt_str(&b.bank.holder_name),
                    _ => Got::Missing,
                },
                _ => Got::Missing,
            },
            Acc::Party(dest, sub) => {
                let role = if *dest {
                    Party::Destination
                } else {
                    Party::Source
                };
                let Some(d) = r.party(role) else {
                    return Got::Missing;
                };
                let Some(sub) = sub else {
                    return Got::Object;
                };
                party(r, role, d, *sub)
            }
            Acc::Missing => Got::Missing,
            Acc::View(path) => crate::expr::lookup(r.view(), path).map_or(Got::Missing, json),
        }
    }
}

/// An array of the typed event as the view has it (its items' wire names).
pub(crate) fn array_json(items: &[Verification]) -> Json {
    Json::Array(items.iter().map(|v| Json::from(v.as_str())).collect())
}

fn json(v: &Json) -> Got<'_> {
    match v {
        Json::Null => Got::Null,
        Json::Bool(b) => Got::Bool(*b),
        Json::String(s) => Got::Str(s),
        other => Got::Json(other),
    }
}
