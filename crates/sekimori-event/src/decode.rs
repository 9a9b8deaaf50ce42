//! JSON in, validated [`Event`] out, or a [`DecodeError`] naming the field.

use crate::body::Validate;
use crate::error::{join_path, render_path, DecodeError};
use crate::names::field_name;
use crate::secret::{reject_secrets, At};
use crate::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

mod direct;
#[cfg(test)]
#[path = "direct_tests.rs"]
mod direct_tests;

/// The largest event accepted, in bytes of JSON.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
const MAX_ATTRS: usize = 64;
const MAX_ATTR_DEPTH: usize = 4;

/// Decodes one event from JSON bytes.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(DecodeError::new(
            "too_large",
            "",
            format!("an event may be at most {MAX_EVENT_BYTES} bytes"),
        ));
    }
    // Straight into the typed event when it is one; anything else is
    // answered through the value, which alone chooses the error.
    if let Some(event) = direct::decode(bytes) {
        return Ok(event);
    }
    decode_value(crate::json::parse_unique(bytes)?)
}

/// Decodes one event from a parsed JSON value. A parsed value has lost any
/// repeated key (the last one won): parse bytes with [`decode`] or
/// [`parse_unique`](crate::parse_unique), which refuse them.
pub fn decode_value(value: Value) -> Result<Event, DecodeError> {
    let Value::Object(mut map) = value else {
        return Err(DecodeError::new(
            "invalid_type",
            "",
            "an event must be a JSON object",
        ));
    };
    for (key, child) in &map {
        if is_secret_field_name(key) {
            return Err(DecodeError::new(
                "secret_in_clear",
                field_name(key),
                "this field would carry a secret in the clear; send only the keyed fingerprint",
            ));
        }
        if child.is_object() || child.is_array() {
            reject_secrets(child, &At::Key(&At::Root, key))?;
        }
    }
    let kind_name = take_string(&mut map, "type")?;
    let kind = EventKind::parse(&kind_name).ok_or_else(|| {
        DecodeError::new(
            "unknown_event_type",
            "type",
            "unknown event type (see docs/events.md)",
        )
    })?;
    let id = take_string(&mut map, "id")?;
    check_id(&id)?;
    let at = take_string(&mut map, "at")?;
    let at_ms = parse_rfc3339_ms(&at)
        .ok_or_else(|| DecodeError::new("invalid_value", "at", "must be an RFC 3339 timestamp"))?;
    let service = take_string(&mut map, "service")?;
    check_service(&service)?;
    let customer = match map.remove("customer") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => {
            crate::body::check_text("customer", &c, 128)?;
            Some(c)
        }
        Some(_) => {
            return Err(DecodeError::new(
                "invalid_type",
                "customer",
                "must be a string",
            ))
        }
    };
    let mut actor = match map.remove("actor") {
        Some(v) => typed::<Actor>(v).map_err(|e| e.under("actor"))?,
        None => Actor::default(),
    };
    // `::ffff:203.0.113.9` is the IPv4 client 203.0.113.9.
    actor.ip = actor.ip.map(|ip| ip.to_canonical());
    canonical_actor(&mut actor);
    check_actor(&actor)?;
    let attrs = match map.remove("attrs") {
        Some(Value::Object(attrs)) => check_attrs(attrs)?,
        Some(_) => {
            return Err(DecodeError::new(
                "invalid_type",
                "attrs",
                "must be an object",
            ))
        }
        None => Map::new(),
    };
    let mut body = body(kind, map)?;
    if let Body::LoginAttempt(b) = &mut body {
        b.account = canonical_claim(&b.account, MAX_CLAIM_CHARS);
    }
    body.validate()?;
    Ok(Event {
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

fn body(kind: EventKind, map: Map<String, Value>) -> Result<Body, DecodeError> {
    let v = Value::Object(map);
    Ok(match kind {
        EventKind::LoginAttempt => Body::LoginAttempt(typed(v)?),
        EventKind::MfaChallenge => Body::MfaChallenge(typed(v)?),
        EventKind::MfaResult => Body::MfaResult(typed(v)?),
        EventKind::AccountOpen => Body::AccountOpen(typed(v)?),
        EventKind::CredentialChange => Body::CredentialChange(typed(v)?),
        EventKind::DeviceBind => Body::DeviceBind(typed(v)?),
        EventKind::LinkBank => Body::LinkBank(typed(v)?),
        EventKind::PayeeAdd => Body::PayeeAdd(typed(v)?),
        EventKind::Charge => Body::Charge(typed(v)?),
        EventKind::Transfer => Body::Transfer(typed(v)?),
        EventKind::Purchase => Body::Purchase(typed(v)?),
        EventKind::Withdrawal => Body::Withdrawal(typed(v)?),
        EventKind::WalletOutflow => Body::WalletOutflow(typed(v)?),
        EventKind::WithdrawalRequest => Body::WithdrawalRequest(typed(v)?),
        EventKind::WithdrawalApproval => Body::WithdrawalApproval(typed(v)?),
        EventKind::ReportNotMe => Body::ReportNotMe(typed(v)?),
    })
}

/// Deserializes with the failing path tracked; messages are redacted. A
/// JSON array where the type has an object is `invalid_type` at its path
/// ([`Strict`](crate::strict::Strict)): serde would read it positionally.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(crate::strict::Strict(value))
        .map_err(|err| explain(&render_path(err.path()), &err.inner().to_string()))
}

/// Turns a serde message into a code, a precise path and a sentence that never
/// repeats the rejected value.
fn explain(path: &str, msg: &str) -> DecodeError {
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| field_name(name).into_owned())
    };
    let expected = msg
        .rsplit_once(", expected ")
        .map(|(_, e)| format!("expected {e}"));
    if let Some(field) = quoted("missing field `") {
        return DecodeError::new(
            "missing_field",
            join_path(path, &field),
            "required field is missing",
        );
    }
    if let Some(field) = quoted("unknown field `") {
        let full = if path.ends_with(&field) {
            path.to_string()
        } else {
            join_path(path, &field)
        };
        return DecodeError::new(
            "unknown_field",
            full,
            "unknown field; put service-specific extras under `attrs`",
        );
    }
    if msg.starts_with("unknown variant") {
        return DecodeError::new(
            "invalid_value",
            path,
            expected.unwrap_or_else(|| "unknown value".into()),
        );
    }
    if msg.starts_with("invalid type") {
        return DecodeError::new(
            "invalid_type",
            path,
            expected.unwrap_or_else(|| "wrong JSON type".into()),
        );
    }
    let text = expected.unwrap_or_else(|| msg.split('"').step_by(2).collect::<Vec<_>>().join("…"));
    DecodeError::new("invalid_value", path, text)
}

fn take_string(map: &mut Map<String, Value>, field: &str) -> Result<String, DecodeError> {
    match map.remove(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DecodeError::new("invalid_type", field, "expected a string")),
        None => Err(DecodeError::new(
            "missing_field",
            field,
            "required field is missing",
        )),
    }
}

fn check_id(id: &str) -> Result<(), DecodeError> {
    let ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(DecodeError::new(
            "invalid_value",
            "id",
            "must match [A-Za-z0-9._:-]{1,128}",
        ))
    }
}

fn check_service(s: &str) -> Result<(), DecodeError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(DecodeError::new(
            "invalid_value",
            "service",
            "must match [a-z0-9._-]{1,64}",
        ))
    }
}

/// Characters kept of a claimed account, device or session id (longer ones
/// keep a prefix and a digest: see [`canonical_claim`]).
pub const MAX_CLAIM_CHARS: usize = 128;
/// Characters kept of a user agent.
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// The fields of `actor` a client makes up (its device and session ids, its
/// user agent) are never refused: they take their canonical form, and an
/// empty or blank one is absent.
fn canonical_actor(a: &mut Actor) {
    for (value, max) in [
        (&mut a.device, MAX_CLAIM_CHARS),
        (&mut a.session, MAX_CLAIM_CHARS),
        (&mut a.user_agent, MAX_USER_AGENT_CHARS),
    ] {
        *value = value
            .take()
            .filter(|v| !v.trim().is_empty())
            .map(|v| canonical_claim(&v, max));
    }
}

fn check_actor(a: &Actor) -> Result<(), DecodeError> {
    use crate::body::check_text as text;
    for (name, value, max) in [("account", &a.account, 128)] {
        if let Some(v) = value {
            text(name, v, max).map_err(|e| e.under("actor"))?;
        }
    }
    match &a.country {
        Some(c) if !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())) => {
            Err(DecodeError::new(
                "invalid_value",
                "actor.country",
                "must be an ISO 3166-1 alpha-2 code such as JP",
            ))
        }
        _ => Ok(()),
    }
}

fn check_attrs(attrs: Map<String, Value>) -> Result<Map<String, Value>, DecodeError> {
    if attrs.len() > MAX_ATTRS {
        return Err(DecodeError::new(
            "too_large",
            "attrs",
            format!("at most {MAX_ATTRS} fields"),
        ));
    }
    for (key, value) in &attrs {
        let here = join_path("attrs", &field_name(key));
        check_attr_name(key, &here)?;
        check_attr_value(value, &here, &here, 1)?;
    }
    Ok(attrs)
}

/// Every field name in `attrs`, at any depth, is 1 to 64 bytes.
fn check_attr_name(key: &str, path: &str) -> Result<(), DecodeError> {
    if key.is_empty() || key.len() > 64 {
        return Err(DecodeError::new(
            "invalid_value",
            path,
            "field names are 1 to 64 bytes",
        ));
    }
    Ok(())
}

/// Checks the names inside `value` (at `path`) and its nesting: a container
/// at `level` deeper than [`MAX_ATTR_DEPTH`] is `too_large` at `top`, the
/// top-level attribute. The walk never goes deeper than the limit.
fn check_attr_value(value: &Value, top: &str, path: &str, level: usize) -> Result<(), DecodeError> {
    let too_deep = || {
        DecodeError::new(
            "too_large",
            top,
            format!("nested deeper than {MAX_ATTR_DEPTH}"),
        )
    };
    match value {
        Value::Object(map) => {
            if level > MAX_ATTR_DEPTH {
                return Err(too_deep());
            }
            for (key, child) in map {
                let bad_name = key.is_empty() || key.len() > 64;
                if bad_name || child.is_object() || child.is_array() {
                    let here = join_path(path, &field_name(key));
                    check_attr_name(key, &here)?;
                    check_attr_value(child, top, &here, level + 1)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            if level > MAX_ATTR_DEPTH {
                return Err(too_deep());
            }
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    check_attr_value(child, top, &format!("{path}[{i}]"), level + 1)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
