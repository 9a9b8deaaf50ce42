//! The published JSON Schema (draft 2020-12) of event version 1, generated from
//! the same types the decoder uses so the two cannot drift.

use crate::*;
use schemars::{schema_for, JsonSchema};
use serde_json::{json, Map, Value};

/// The JSON Schema of every event type: a `oneOf` with one closed object per type.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    let mut variants = Vec::new();
    for &kind in EventKind::ALL {
        let mut body = body_schema(kind);
        constrain(&mut body, kind == EventKind::LoginAttempt);
        variants.push(with_envelope(kind, body, &mut defs));
    }
    for def in defs.values_mut() {
        constrain(def, false);
    }
    let mut actor = schema_for!(Actor).to_value();
    if let Some(obj) = actor.as_object_mut() {
        // A subschema without `$id` may not carry `$schema`.
        obj.remove("$schema");
        obj.remove("title");
    }
    constrain_actor(&mut actor);
    defs.insert("Actor".into(), actor);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "sekimori event, version 1",
        "description": "One event as a service sends it to sekimori. Unknown types and fields are rejected; extras go under `attrs`. Fields named like secrets are rejected anywhere.",
        "oneOf": variants,
        "$defs": defs,
    })
}

fn body_schema(kind: EventKind) -> Value {
    fn of<T: JsonSchema>() -> Value {
        schema_for!(T).to_value()
    }
    match kind {
        EventKind::LoginAttempt => of::<LoginAttempt>(),
        EventKind::MfaChallenge => of::<MfaChallenge>(),
        EventKind::MfaResult => of::<MfaResult>(),
        EventKind::AccountOpen => of::<AccountOpen>(),
        EventKind::CredentialChange => of::<CredentialChange>(),
        EventKind::DeviceBind => of::<DeviceBind>(),
        EventKind::LinkBank => of::<LinkBank>(),
        EventKind::PayeeAdd => of::<PayeeAdd>(),
        EventKind::Charge => of::<Charge>(),
        EventKind::Transfer => of::<Transfer>(),
        EventKind::Purchase => of::<Purchase>(),
        EventKind::Withdrawal => of::<Withdrawal>(),
        EventKind::WalletOutflow => of::<WalletOutflow>(),
        EventKind::WithdrawalRequest => of::<WithdrawalRequest>(),
        EventKind::WithdrawalApproval => of::<WithdrawalApproval>(),
        EventKind::ReportNotMe => of::<ReportNotMe>(),
    }
}

fn with_envelope(kind: EventKind, mut body: Value, defs: &mut Map<String, Value>) -> Value {
    if let Some(Value::Object(inner)) = body.get_mut("$defs").map(Value::take) {
        defs.extend(inner);
    }
    let mut props = Map::new();
    props.insert(
        "id".into(),
        json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}),
    );
    props.insert("type".into(), json!({"const": kind.as_str()}));
    props.insert(
        "at".into(),
        json!({"type": "string", "format": "date-time", "pattern": AT_PATTERN,
               "description": "RFC 3339, 1970 to 9999; at most 5 minutes ahead of the server clock (else 422 `event_in_future`)."}),
    );
    props.insert(
        "service".into(),
        json!({"type": "string", "pattern": "^[a-z0-9._-]{1,64}$"}),
    );
    props.insert(
        "customer".into(),
        json!({"type": ["string", "null"], "minLength": 1, "maxLength": 128, "pattern": TEXT_PATTERN,
               "description": "A customer id several services share for the same person; packs that link services key on it."}),
    );
    props.insert("actor".into(), json!({"$ref": "#/$defs/Actor"}));
    props.insert("attrs".into(), attrs_schema());
    if let Some(Value::Object(fields)) = body.get("properties") {
        props.extend(fields.clone());
    }
    let mut required = vec![json!("id"), json!("type"), json!("at"), json!("service")];
    if let Some(Value::Array(r)) = body.get("required") {
        required.extend(r.iter().cloned());
    }
    json!({
        "title": kind.as_str(),
        "description": body.get("description").cloned().unwrap_or(Value::Null),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// An identifier or label: no control characters, no white space at either
/// end (what the decoder's `text` check accepts, with its length bounds).
const TEXT_PATTERN: &str = r"^[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?$";
/// RFC 3339 from 1970 on.
const AT_PATTERN: &str = r"^((19[7-9][0-9]|[2-9][0-9]{3})-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(19[7-9][0-9]|[2-9][0-9]{3})-(0[469]|11)-(0[1-9]|[12][0-9]|30)|(19[7-9][0-9]|[2-9][0-9]{3})-02-(0[1-9]|1[0-9]|2[0-8])|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|(2[048]|3[26]|4[048]|5[26]|6[048]|7[26]|8[048]|9[26])00)-02-29)[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
/// A calendar date `YYYY-MM-DD` (leap years included).
const DATE_PATTERN: &str = "^([0-9]{4}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|[0-9]{4}-(0[469]|11)-(0[1-9]|[12][0-9]|30)|[0-9]{4}-02-(0[1-9]|1[0-9]|2[0-8])|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[048]|[2468][048]|[13579][26])00)-02-29)$";

/// The field checks of `body::check` that JSON Schema can say, by field
/// name (the same name means the same check in every type).
fn field_constraint(name: &str) -> Option<Value> {
    let text = |max: u32| json!({"minLength": 1, "maxLength": max, "pattern": TEXT_PATTERN});
    Some(match name {
        "account" | "challenge_id" | "for_event" | "holder_name" | "disputed_event_id"
        | "payee_id" | "request_id" | "approver" | "wallet" | "address" | "merchant" | "store"
        | "sku" | "tx_hash" | "device" => text(128),
        "email_domain" => text(253),
        "network" => text(32),
        "atm_id" | "category" => text(64),
        "note" => json!({"maxLength": 1024}),
        "bank_code" => json!({"pattern": "^[0-9]{4}$"}),
        "branch" => json!({"pattern": "^[0-9]{3}$"}),
        "number" => json!({"pattern": "^[0-9]{7}$"}),
        "currency" => json!({"pattern": "^[A-Z0-9]{2,12}$"}),
        "secret_fp" => json!({"pattern": "^[A-Za-z0-9_-]{1,32}:[0-9a-f]{64}$"}),
        "birth_date" => json!({"pattern": DATE_PATTERN}),
        "verified" => json!({"maxItems": 10}),
        n if n == "amount_minor"
            || n.ends_with("balance_minor")
            || n.ends_with("balance_before_minor") =>
        {
            json!({"minimum": 0})
        }
        _ => return None,
    })
}

/// Adds [`field_constraint`] to every property of `schema` (and of its
/// `oneOf` variants). A login's `account` is a claim, never refused.
fn constrain(schema: &mut Value, login: bool) {
    if let Some(Value::Array(variants)) = schema.get_mut("oneOf") {
        variants.iter_mut().for_each(|v| constrain(v, login));
    }
    let Some(Value::Object(props)) = schema.get_mut("properties") else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        if login && name == "account" {
            continue;
        }
        if let (Some(Value::Object(extra)), Some(obj)) =
            (field_constraint(name), prop.as_object_mut())
        {
            obj.extend(extra);
        }
    }
}

/// The actor's checks: an IP address, a country code, the account as text.
fn constrain_actor(actor: &mut Value) {
    let props = &mut actor["properties"];
    props["ip"] = json!({"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}, {"type": "null"}],
        "description": "The client's IP address (IPv4, or IPv6 without a zone)."});
    if let Some(asn) = props["asn"].as_object_mut() {
        asn.insert("maximum".into(), json!(u32::MAX));
    }
    if let Some(c) = props["country"].as_object_mut() {
        c.insert("pattern".into(), json!("^[A-Z]{2}$"));
    }
    if let Some(a) = props["account"].as_object_mut() {
        a.extend([
            ("minLength".to_string(), json!(1)),
            ("maxLength".to_string(), json!(128)),
            ("pattern".to_string(), json!(TEXT_PATTERN)),
        ]);
    }
}

/// `attrs`: at most 64 fields, names of 1 to 64 bytes at every depth
/// (a schema counts characters), containers nested at most 4 deep.
fn attrs_schema() -> Value {
    let names = json!({"minLength": 1, "maxLength": 64});
    let scalar = json!({"type": ["string", "number", "boolean", "null"]});
    let mut level = scalar.clone();
    for _ in 0..4 {
        level = json!({"anyOf": [
            scalar,
            {"type": "array", "items": level},
            {"type": "object", "propertyNames": names, "additionalProperties": level}
        ]});
    }
    json!({
        "type": "object",
        "maxProperties": 64,
        "propertyNames": names,
        "additionalProperties": level,
        "description": "Service-specific extras: at most 64 fields, names 1 to 64 bytes at every depth, nested at most 4 deep, no field named like a secret (`secret_in_clear`)."
    })
}
