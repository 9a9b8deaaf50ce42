//! The event as rules see it: canonical JSON plus derived fields, and the
//! hashing of feature keys and values.

use sekimori_event::{Body, Destination, Event};
use sekimori_rules::HaltScope;
use serde_json::{json, Value as Json};
use std::net::IpAddr;
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

/// An event with its JSON built: the canonical form (what the log stores)
/// and the view the rules read. Building them is a pure function of the
/// event, about a fifth of a decision's work, so a server or a replay can do
/// it before taking the engine (outside the ledger lock, or on another core)
/// and hand the result to [`crate::Engine::decide_prepared`].
#[derive(Debug, Clone)]
pub struct Prepared {
    event: Event,
    canonical: Json,
    view: Json,
}

impl Prepared {
    pub fn new(event: Event) -> Prepared {
        let canonical = event.to_json();
        let view = view_of(&event, canonical.clone());
        Prepared {
            event,
            canonical,
            view,
        }
    }

    pub fn event(&self) -> &Event {
        &self.event
    }

    /// [`Event::to_json`]: the canonical JSON, as the log stores it.
    pub fn canonical(&self) -> &Json {
        &self.canonical
    }

    /// [`event_view`]: what the rules read as `event`.
    pub fn view(&self) -> &Json {
        &self.view
    }
}

/// Canonical JSON with `at_ms`, `actor.ip_net` and `actor.ip_host` added, and `actor` and
/// `attrs` always present (possibly empty) so `has(event.actor.ip)` works.
pub fn event_view(event: &Event) -> Json {
    view_of(event, event.to_json())
}

/// The view, from the event's canonical JSON.
fn view_of(event: &Event, canonical: Json) -> Json {
    let mut v = canonical;
    v["at_ms"] = json!(event.at_ms);
    for always in ["actor", "attrs"] {
        if v.get(always).is_none() {
            v[always] = json!({});
        }
    }
    if let Some(ip) = event.actor.ip {
        v["actor"]["ip_net"] = json!(ip_net(ip));
        v["actor"]["ip_host"] = json!(ip_host(ip));
    }
    for party in ["destination", "source"] {
        if let Some(id) = v.get(party).and_then(counterparty_id) {
            v[party]["id"] = json!(id);
        }
    }
    v
}

/// One canonical string per counterparty, from its canonical JSON.
fn counterparty_id(d: &Json) -> Option<String> {
    let s = |k: &str| d.get(k).and_then(Json::as_str).unwrap_or("");
    Some(match s("kind") {
        "bank" => format!("bank:{}-{}-{}", s("bank_code"), s("branch"), s("number")),
        "crypto" => format!("crypto:{}", s("address")),
        "atm" => format!("atm:{}", s("atm_id")),
        "account" => format!("account:{}", s("account")),
        _ => return None,
    })
}

/// One client host: an IPv4 address itself, or the /64 of an IPv6 address
/// (one subscriber's prefix: a client rotating addresses within its /64 is
/// one host), as text.
pub fn ip_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!(
                "{}/64",
                std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
            )
        }
    }
}

/// The /24 of an IPv4 address or the /48 of an IPv6 address, as CIDR text.
pub fn ip_net(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!(
                "{}/48",
                std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)
            )
        }
    }
}

/// Text of a key part or distinct value: strings raw, anything else as JSON.
fn text(v: &Json) -> std::borrow::Cow<'_, str> {
    match v {
        Json::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

/// [`key_hash`] of the parts the key expressions give, hashed as they come
/// (no joined string): the first evaluation error, else `None` when a part
/// is null, else the same hash `key_hash` gives.
pub fn key_hash_of<'a>(
    parts: impl Iterator<Item = Result<std::borrow::Cow<'a, Json>, String>>,
) -> Result<Option<u128>, String> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut null = false;
    for (i, part) in parts.enumerate() {
        let part = part?;
        if part.is_null() {
            null = true;
        }
        if null {
            continue; // still evaluated: a later part's error is reported
        }
        if i > 0 {
            hasher.update("\u{1f}".as_bytes());
        }
        hasher.update(text(&part).as_bytes());
    }
    Ok((!null).then(|| hasher.digest128()))
}

/// Hashes the parts of a group-by key; `None` when any part is null (no key).
pub fn key_hash(parts: &[Json]) -> Option<u128> {
    if parts.iter().any(Json::is_null) {
        return None;
    }
    let joined: Vec<std::borrow::Cow<'_, str>> = parts.iter().map(text).collect();
    Some(xxh3_128(joined.join("\u{1f}").as_bytes()))
}

/// Hashes a value for distinct counting.
pub fn value_hash(v: &Json) -> u64 {
    xxh3_64(text(v).as_bytes())
}

/// The account an event acts on: the body's account, else the session's.
pub fn account_of(event: &Event) -> Option<&str> {
    event.body.account().or(event.actor.account.as_deref())
}

/// The value of a halt scope on this event, if the event has one.
pub fn scope_value(event: &Event, scope: HaltScope) -> Option<String> {
    match scope {
        HaltScope::Service => Some(event.service.clone()),
        HaltScope::Asset => currency(&event.body).map(str::to_string),
        HaltScope::Wallet => match &event.body {
            Body::WalletOutflow(b) => Some(b.wallet.clone()),
            _ => None,
        },
        HaltScope::Bank => bank_code(&event.body).map(str::to_string),
    }
}

fn currency(body: &Body) -> Option<&str> {
    match body {
        Body::Charge(b) => Some(&b.currency),
        Body::Transfer(b) => Some(&b.currency),
        Body::Purchase(b) => Some(&b.currency),
        Body::Withdrawal(b) => Some(&b.currency),
        Body::WalletOutflow(b) => Some(&b.currency),
        Body::WithdrawalRequest(b) => Some(&b.currency),
        _ => None,
    }
}

fn bank_code(body: &Body) -> Option<&str> {
    fn dest(d: &Destination) -> Option<&str> {
        match d {
            Destination::Bank { bank_code, .. } => Some(bank_code),
            _ => None,
        }
    }
    match body {
        Body::LinkBank(b) => Some(&b.bank.bank_code),
        Body::Charge(b) => dest(&b.source),
        Body::Transfer(b) => dest(&b.destination),
        Body::Withdrawal(b) => dest(&b.destination),
        Body::PayeeAdd(b) => dest(&b.destination),
        Body::WithdrawalRequest(b) => dest(&b.destination),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        assert_eq!(
            ip_net("203.0.113.77".parse().expect("ip")),
            "203.0.113.0/24"
        );
        assert_eq!(
            ip_net("2001:db8:abcd:12::1".parse().expect("ip")),
            "2001:db8:abcd::/48"
        );
    }

    #[test]
    fn keys() {
        assert_eq!(key_hash(&[json!("a"), Json::Null]), None);
        assert_ne!(
            key_hash(&[json!("a"), json!("b")]),
            key_hash(&[json!("ab")])
        );
        assert_eq!(key_hash(&[json!(1)]), key_hash(&[json!("1")]));
    }

    #[test]
    fn streamed_keys_hash_as_joined_ones() {
        let ok = |parts: &[Json]| {
            key_hash_of(parts.iter().map(|p| Ok(std::borrow::Cow::Borrowed(p)))).expect("no error")
        };
        for parts in [
            vec![json!("a")],
            vec![json!("bank"), json!("acct-1")],
            vec![json!("x"), json!(12), json!("bank:0001-100-7")],
            vec![json!("a"), Json::Null],
            vec![json!(""), json!("")],
        ] {
            assert_eq!(ok(&parts), key_hash(&parts), "{parts:?}");
        }
        let err = key_hash_of(
            [
                Ok(std::borrow::Cow::Owned(Json::Null)),
                Err("boom".to_string()),
            ]
            .into_iter(),
        );
        assert_eq!(err, Err("boom".to_string()));
    }
}
