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
        let body = body_schema(kind);
        variants.push(with_envelope(kind, body, &mut defs));
    }
    let mut actor = schema_for!(Actor).to_value();
    if let Some(obj) = actor.as_object_mut() {
        // A subschema without `$id` may not carry `$schema`.
        obj.remove("$schema");
        obj.remove("title");
    }
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
        json!({"type": "string", "format": "date-time"}),
    );
    props.insert(
        "service".into(),
        json!({"type": "string", "pattern": "^[a-z0-9._-]{1,64}$"}),
    );
    props.insert(
        "customer".into(),
        json!({"type": "string", "minLength": 1, "maxLength": 128,
               "description": "A customer id several services share for the same person; packs that link services key on it."}),
    );
    props.insert("actor".into(), json!({"$ref": "#/$defs/Actor"}));
    props.insert(
        "attrs".into(),
        json!({"type": "object", "maxProperties": 64}),
    );
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
