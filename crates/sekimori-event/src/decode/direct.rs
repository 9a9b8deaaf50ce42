//! The fast path of [`decode`](super::decode): the bytes deserialized
//! straight into the typed event, with no `serde_json::Value` built but for
//! `attrs`.
//!
//! It answers only an event it accepts; on anything else (bad JSON, a
//! repeated key, an unknown or secret-named field, a wrong type, a failed
//! check) it answers `None` and the caller decodes the same bytes through
//! the value ([`decode_value`](super::decode_value)), which alone chooses
//! the error: its code, path and message are the same whichever path ran.
//! What the fast path accepts the value path accepts as the same event:
//! the same `serde` types read the same JSON through the same
//! [`Strict`] wrapper, then the same checks run. Secret names need no scan
//! outside `attrs`: every other field is a schema field (an unknown one
//! falls back), and no schema field's name is a secret name (tested).
//!
//! The body's type must be known before its first field is read, and a
//! document may send `type` last (the canonical form does): it is guessed
//! from the first `"type":"NAME"` in the bytes (met before the top-level
//! one only as a key inside `attrs`), or else found by a first pass over
//! the top-level fields: when reading with the guess fails, the pass finds
//! the type and, if it differs, the event is read again with it. The `type`
//! the envelope reads must always be the one the body was read as. The pass that reads the event keeps the envelope's
//! fields aside and hands every other field to the type's body struct.

use super::{canonical_actor, check_actor, check_attrs, check_id, check_service, MAX_CLAIM_CHARS};
use crate::json::UniqueValue;
use crate::secret::{reject_secrets, At};
use crate::strict::Strict;
use crate::*;
use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// The event, when the bytes decode straight into it; `None` otherwise (the
/// caller then decodes through the value for the answer).
pub(super) fn decode(bytes: &[u8]) -> Option<Event> {
    let guess = guess_type(bytes);
    if let Some(event) = guess.and_then(|kind| read(bytes, kind)) {
        return Some(event);
    }
    let kind = find_type(bytes)?;
    if Some(kind) == guess {
        return None;
    }
    read(bytes, kind)
}

/// The event, reading its body as a `kind`.
fn read(bytes: &[u8], kind: EventKind) -> Option<Event> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (env, body) = Strict(&mut de).deserialize_map(EventVisitor(kind)).ok()?;
    de.end().ok()?;
    finish(kind, env, body)
}

/// The envelope's fields, read aside while the body reads the rest.
#[derive(Default)]
struct Envelope {
    kind: Option<String>,
    id: Option<String>,
    at: Option<String>,
    service: Option<String>,
    customer: Option<Option<String>>,
    actor: Option<Actor>,
    attrs: Option<Value>,
}

/// The same checks, in the same order, as the value path.
fn finish(kind: EventKind, env: Envelope, mut body: Body) -> Option<Event> {
    if EventKind::parse(env.kind.as_deref()?)? != kind {
        return None;
    }
    let id = env.id?;
    check_id(&id).ok()?;
    let at_ms = parse_rfc3339_ms(&env.at?)?;
    let service = env.service?;
    check_service(&service).ok()?;
    let customer = env.customer.flatten();
    if let Some(c) = &customer {
        crate::body::check_text("customer", c, 128).ok()?;
    }
    let mut actor = env.actor.unwrap_or_default();
    actor.ip = actor.ip.map(|ip| ip.to_canonical());
    canonical_actor(&mut actor);
    check_actor(&actor).ok()?;
    let attrs = match env.attrs {
        None => serde_json::Map::new(),
        Some(attrs @ Value::Object(_)) => {
            reject_secrets(&attrs, &At::Key(&At::Root, "attrs")).ok()?;
            match attrs {
                Value::Object(attrs) => check_attrs(attrs).ok()?,
                _ => return None,
            }
        }
        Some(_) => return None,
    };
    if let Body::LoginAttempt(b) = &mut body {
        b.account = canonical_claim(&b.account, MAX_CLAIM_CHARS);
    }
    body.validate().ok()?;
    Some(Event {
        id,
        kind,
        at_ms,
        service,
        customer,
        actor,
        body,
        attrs,
    })
}

/// A key as the document spells it, borrowed when it has no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The type named by the first `"type":"NAME"` in the bytes, if any (a
/// guess: see the module).
fn guess_type(bytes: &[u8]) -> Option<EventKind> {
    const NEEDLE: &[u8] = b"\"type\":\"";
    let start = memchr::memmem::find(bytes, NEEDLE)? + NEEDLE.len();
    let rest = bytes.get(start..)?;
    let len = memchr::memchr(b'"', rest)?;
    EventKind::parse(std::str::from_utf8(rest.get(..len)?).ok()?)
}

/// A first pass: the top-level `type`, every other value skipped.
fn find_type(bytes: &[u8]) -> Option<EventKind> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<EventKind>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an event")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kind = None;
            while let Some(Key(key)) = map.next_key()? {
                if key == "type" {
                    let Key(name) = map.next_value()?;
                    kind = EventKind::parse(&name);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(kind)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(V).ok().flatten()
}

/// The second pass: the envelope aside, the rest into `kind`'s body.
struct EventVisitor(EventKind);

impl<'de> Visitor<'de> for EventVisitor {
    type Value = (Envelope, Body);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut env = Envelope::default();
        let split = Split { map, env: &mut env };
        let body = body(self.0, MapAccessDeserializer::new(split))?;
        Ok((env, body))
    }
}

fn body<'de, D: Deserializer<'de>>(kind: EventKind, d: D) -> Result<Body, D::Error> {
    Ok(match kind {
        EventKind::LoginAttempt => Body::LoginAttempt(Deserialize::deserialize(d)?),
        EventKind::MfaChallenge => Body::MfaChallenge(Deserialize::deserialize(d)?),
        EventKind::MfaResult => Body::MfaResult(Deserialize::deserialize(d)?),
        EventKind::AccountOpen => Body::AccountOpen(Deserialize::deserialize(d)?),
        EventKind::CredentialChange => Body::CredentialChange(Deserialize::deserialize(d)?),
        EventKind::DeviceBind => Body::DeviceBind(Deserialize::deserialize(d)?),
        EventKind::LinkBank => Body::LinkBank(Deserialize::deserialize(d)?),
        EventKind::PayeeAdd => Body::PayeeAdd(Deserialize::deserialize(d)?),
        EventKind::Charge => Body::Charge(Deserialize::deserialize(d)?),
        EventKind::Transfer => Body::Transfer(Deserialize::deserialize(d)?),
        EventKind::Purchase => Body::Purchase(Deserialize::deserialize(d)?),
        EventKind::Withdrawal => Body::Withdrawal(Deserialize::deserialize(d)?),
        EventKind::WalletOutflow => Body::WalletOutflow(Deserialize::deserialize(d)?),
        EventKind::WithdrawalRequest => Body::WithdrawalRequest(Deserialize::deserialize(d)?),
        EventKind::WithdrawalApproval => Body::WithdrawalApproval(Deserialize::deserialize(d)?),
        EventKind::ReportNotMe => Body::ReportNotMe(Deserialize::deserialize(d)?),
    })
}

/// The top-level map as the body sees it: the envelope's fields are read
/// into [`Envelope`] on the way (each at most once), every other field is
/// the body's.
struct Split<'e, A> {
    map: A,
    env: &'e mut Envelope,
}

/// A field of the envelope given twice.
fn repeated<E: de::Error>() -> E {
    E::custom("duplicate field")
}

/// Reads `slot`'s value once; a second is a repeated key.
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(repeated());
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Split<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.map.next_key()? else {
                return Ok(None);
            };
            let env = &mut *self.env;
            match &*key {
                "type" => once(&mut self.map, &mut env.kind)?,
                "id" => once(&mut self.map, &mut env.id)?,
                "at" => once(&mut self.map, &mut env.at)?,
                "service" => once(&mut self.map, &mut env.service)?,
                "customer" => once(&mut self.map, &mut env.customer)?,
                "actor" => once(&mut self.map, &mut env.actor)?,
                "attrs" => {
                    if env.attrs.is_some() {
                        return Err(repeated());
                    }
                    env.attrs = Some(self.map.next_value_seed(UniqueValue)?);
                }
                _ => {
                    let d: StrDeserializer<'_, A::Error> = StrDeserializer::new(&key);
                    return seed.deserialize(d).map(Some);
                }
            }
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}
