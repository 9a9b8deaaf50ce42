//! What JSON Schema can say and the derive cannot, written into the
//! built document (see [`refine`]).

use super::CURRENCY_PATTERN;
use crate::routes;
use serde_json::{json, Value};

/// What JSON Schema can say and the derive cannot: which fields each
/// verification method needs or refuses, which action fits which hold, the
/// form of a hold's key by scope, and the WebAuthn credentials' shapes.
pub(super) fn refine(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    // POST /v1/stepup/verify: one condition per method (verify.rs's table).
    let mut conditions = Vec::new();
    for m in ["totp", "txsign", "webauthn", "sms", "email"] {
        let method: sekimori_event::MfaMethod =
            serde_json::from_value(json!(m)).unwrap_or(sekimori_event::MfaMethod::Push);
        let Some(rules) = routes::stepup::verify::method_fields(method) else {
            continue;
        };
        let mut required = vec![json!("method")];
        let mut props = serde_json::Map::new();
        for (name, rule) in routes::stepup::verify::METHOD_FIELDS.iter().zip(rules) {
            match rule {
                Some(true) => {
                    required.push(json!(name));
                    props.insert(name.to_string(), json!({"not": {"type": "null"}}));
                }
                Some(false) => {
                    props.insert(name.to_string(), json!({"type": "null"}));
                }
                None => {}
            }
        }
        conditions.push(json!({
            "if": {"properties": {"method": {"const": m}}, "required": ["method"]},
            "then": {"required": required, "properties": props}
        }));
    }
    schemas["VerifyBody"]["allOf"] = Value::Array(conditions);
    // POST /v1/holds: the key's form by scope, and the action by scope.
    let text256 = json!({"$ref": "#/components/schemas/Text256"});
    schemas["HoldKeyToPlace"] = json!({
        "type": "object",
        "description": "The key to hold: an asset is a currency code, a bank its 4-digit code, anything else 1 to 256 characters of text. `service` defaults to `*` (every service: only a key bound to no service).",
        "additionalProperties": false,
        "required": ["scope", "key"],
        "properties": {
            "service": {"type": "string", "pattern": r"^(\*|[a-z0-9._-]{1,64})$"},
            "scope": {"enum": ["account", "service", "asset", "wallet", "bank"]},
            "key": {"type": "string"}
        },
        "oneOf": [
            {"properties": {"scope": {"const": "asset"}, "key": {"pattern": CURRENCY_PATTERN}}},
            {"properties": {"scope": {"const": "bank"}, "key": {"pattern": "^[0-9]{4}$"}}},
            {"properties": {"scope": {"enum": ["account", "service", "wallet"]}, "key": text256}}
        ]
    });
    schemas["HoldKeyToLift"] = json!({
        "type": "object",
        "description": "A hold in force, as `GET /v1/holds` lists it; `service` defaults to `*`.",
        "additionalProperties": false,
        "required": ["scope", "key"],
        "properties": {
            "service": {"type": "string"},
            "scope": {"enum": ["account", "service", "asset", "wallet", "bank"]},
            "key": {"type": "string"}
        }
    });
    schemas["PlaceBody"]["oneOf"] = json!([
        {"properties": {"hold": {"properties": {"scope": {"const": "account"}}}, "action": {"const": "freeze"}}},
        {"properties": {"hold": {"properties": {"scope": {"enum": ["service", "asset", "wallet", "bank"]}}}, "action": {"const": "halt"}}}
    ]);
    // A batch item: an event, or anything else (answered with its error).
    schemas["BatchEvent"] = json!({
        "description": "An event (docs/events.md). Any other value is accepted in the batch and answered with its error in `results` (path `events[i]...`).",
        "anyOf": [{"$ref": "#/components/schemas/Event"}, {}]
    });
    // The WebAuthn credentials (webauthn-rs's serde forms).
    let b64 = json!({"$ref": "#/components/schemas/Base64Url"});
    schemas["AttestationCredential"] = json!({
        "type": "object",
        "description": "The PublicKeyCredential `navigator.credentials.create()` gave, as JSON (binary fields unpadded base64url).",
        "required": ["id", "rawId", "response", "type"],
        "properties": {
            "id": {"type": "string"},
            "rawId": b64,
            "type": {"type": "string"},
            "extensions": {"type": "object"},
            "response": {
                "type": "object",
                "required": ["attestationObject", "clientDataJSON"],
                "properties": {
                    "attestationObject": b64,
                    "clientDataJSON": b64,
                    "transports": {"type": ["array", "null"], "items": {"type": "string"}}
                }
            }
        }
    });
    schemas["AssertionCredential"] = json!({
        "type": "object",
        "description": "The PublicKeyCredential `navigator.credentials.get()` gave, as JSON (binary fields unpadded base64url).",
        "required": ["id", "rawId", "response", "type"],
        "properties": {
            "id": {"type": "string"},
            "rawId": b64,
            "type": {"type": "string"},
            "extensions": {"type": "object"},
            "response": {
                "type": "object",
                "required": ["authenticatorData", "clientDataJSON", "signature"],
                "properties": {
                    "authenticatorData": b64,
                    "clientDataJSON": b64,
                    "signature": b64,
                    "userHandle": {"anyOf": [b64, {"type": "null"}]}
                }
            }
        }
    });
}
