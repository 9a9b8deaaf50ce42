//! The event as rules see it: canonical JSON plus derived fields, and the
//! hashing of feature keys and values.

use sekimori_event::{Body, Destination, Event};
use sekimori_rules::{HaltScope, Part};
use serde_json::Value as Json;
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_128;

/// An event with its canonical JSON written (the bytes the log stores).
/// Writing it is a pure function of the event, so a server or a replay can
/// do it before taking the engine (outside the ledger lock, or on another
/// core) and hand the result to [`crate::Engine::decide_prepared`]. The
/// bytes are written straight from the typed event
/// ([`Event::canonical_json`]: no JSON value is built); the engine itself
/// reads the typed event through the pack's compiled accessors; the rules'
/// JSON view ([`Prepared::view`]) and the canonical value
/// ([`Prepared::canonical`]) are built only if asked for.
#[derive(Debug, Clone)]
pub struct Prepared {
    event: Event,
    canonical: Vec<u8>,
    canonical_value: OnceLock<Json>,
    view: OnceLock<Json>,
}

impl Prepared {
    pub fn new(event: Event) -> Prepared {
        let canonical = event.canonical_json();
        Prepared {
            event,
            canonical,
            canonical_value: OnceLock::new(),
            view: OnceLock::new(),
        }
    }

    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The canonical JSON as the log stores it: the compact bytes of
    /// [`Event::to_json`], written once.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// [`Event::to_json`]: the canonical JSON as a value (built on first
    /// use; the log writes [`Prepared::canonical_bytes`]).
    pub fn canonical(&self) -> &Json {
        self.canonical_value.get_or_init(|| self.event.to_json())
    }

    /// [`event_view`]: what the rules read as `event` (built on first use;
    /// the engine does not need it).
    pub fn view(&self) -> &Json {
        self.view.get_or_init(|| event_view(&self.event))
    }
}

/// Canonical JSON with `at_ms`, `actor.ip_net` and `actor.ip_host` added, and `actor` and
/// `attrs` always present (possibly empty) so `has(event.actor.ip)` works
/// ([`sekimori_rules::event_view`]).
pub fn event_view(event: &Event) -> Json {
    sekimori_rules::event_view(event)
}

pub use sekimori_event::ip_net;

/// [`key_hash`] of the parts the key expressions give as [`Part`]s (no
/// joined `String`, no JSON): the first evaluation error, else `None` when a
/// part is null, else the same hash `key_hash` gives. The key's text is
/// gathered in a buffer on the stack and hashed in one call (a streaming
/// hasher's state cost more than the hashing of a short key).
pub fn key_hash_parts<'a>(
    parts: impl Iterator<Item = Result<Part<'a>, String>>,
) -> Result<Option<u128>, String> {
    let mut text = KeyText::new();
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
            text.push("\u{1f}".as_bytes());
        }
        part.write_text(&mut |b| text.push(b));
    }
    Ok((!null).then(|| xxh3_128(text.bytes())))
}

/// [`value_hash`] of a [`Part`].
pub fn part_hash(part: &Part<'_>) -> u64 {
    let mut text = KeyText::new();
    part.write_text(&mut |b| text.push(b));
    xxhash_rust::xxh3::xxh3_64(text.bytes())
}

/// A key's text: on the stack up to [`KeyText::INLINE`] bytes, on the heap
/// past that.
struct KeyText {
    inline: [u8; KeyText::INLINE],
    len: usize,
    spill: Vec<u8>,
}

impl KeyText {
    const INLINE: usize = 192;

    fn new() -> Self {
        KeyText {
            inline: [0; KeyText::INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, b: &[u8]) {
        if self.spill.is_empty() {
            if let Some(to) = self.inline.get_mut(self.len..self.len + b.len()) {
                to.copy_from_slice(b);
                self.len += b.len();
                return;
            }
            self.spill.extend_from_slice(&self.inline[..self.len]);
        }
        self.spill.extend_from_slice(b);
    }

    fn bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
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

/// Hashes the parts of a group-by key; `None` when any part is null (no key).
pub fn key_hash(parts: &[Json]) -> Option<u128> {
    if parts.iter().any(Json::is_null) {
        return None;
    }
    let joined: Vec<std::borrow::Cow<'_, str>> = parts.iter().map(text).collect();
    Some(xxh3_128(joined.join("\u{1f}").as_bytes()))
}

/// Hashes a value for distinct counting (as [`part_hash`] does a [`Part`]).
#[cfg(test)]
pub fn value_hash(v: &Json) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text(v).as_bytes())
}

/// The account an event acts on: the body's account, else the session's.
pub fn account_of(event: &Event) -> Option<&str> {
    event.body.account().or(event.actor.account.as_deref())
}

/// The value of a halt scope on this event, if the event has one.
pub fn scope_value(event: &Event, scope: HaltScope) -> Option<String> {
    scope_str(event, scope).map(str::to_string)
}

/// [`scope_value`], borrowed from the event.
pub fn scope_str(event: &Event, scope: HaltScope) -> Option<&str> {
    match scope {
        HaltScope::Service => Some(&event.service),
        HaltScope::Asset => currency(&event.body),
        HaltScope::Wallet => match &event.body {
            Body::WalletOutflow(b) => Some(&b.wallet),
            _ => None,
        },
        HaltScope::Bank => bank_code(&event.body),
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
    use serde_json::json;

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
    fn parts_hash_as_their_json() {
        let values = [
            json!("a"),
            json!(""),
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(true),
            json!(false),
            json!(1.5),
            json!([1, "x"]),
            json!({"k": 1}),
            json!("bank:0001-100-7"),
        ];
        let part = |v: &Json| match v {
            Json::Bool(b) => Part::Bool(*b),
            Json::String(s) => Part::Str(std::borrow::Cow::Owned(s.clone())),
            Json::Number(n) if n.is_i64() => Part::Int(n.as_i64().expect("i64")),
            other => Part::Other(other.clone()),
        };
        for v in &values {
            assert_eq!(part_hash(&part(v)), value_hash(v), "{v}");
            assert_eq!(part(v).to_json(), *v);
        }
        for a in &values {
            for b in &values {
                let parts = [a.clone(), b.clone()];
                let typed = key_hash_parts(parts.iter().map(|p| Ok(part(p)))).expect("no error");
                assert_eq!(typed, key_hash(&parts), "{a} {b}");
            }
        }
        let with_null = key_hash_parts([Ok(Part::Null), Err("boom".into())].into_iter());
        assert_eq!(with_null, Err("boom".to_string()));
    }

    #[test]
    fn streamed_keys_hash_as_joined_ones() {
        let ok = |parts: &[Json]| {
            key_hash_parts(parts.iter().map(|p| Ok(Part::of_json(p)))).expect("no error")
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
        let long = "x".repeat(KeyText::INLINE - 1);
        for parts in [
            vec![json!(long.clone()), json!("y")],
            vec![json!(long.clone() + "ab"), json!(long.clone())],
            vec![json!(""), json!(long.clone() + "a")],
        ] {
            assert_eq!(ok(&parts), key_hash(&parts), "a key past the inline buffer");
        }
        let one = Part::Str(std::borrow::Cow::Owned(long.repeat(3)));
        assert_eq!(part_hash(&one), value_hash(&one.to_json()));
        let err =
            key_hash_parts([Ok(Part::of_json(&Json::Null)), Err("boom".to_string())].into_iter());
        assert_eq!(err, Err("boom".to_string()));
    }
}
