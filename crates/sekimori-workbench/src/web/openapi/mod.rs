//! The workbench's REST API in OpenAPI 3.1: the answers of [`super::api`]
//! as typed structs (built from the workbench's own types, so what is sent
//! is what is described), the handlers' `#[utoipa::path]` annotations, the
//! error body and codes, and the two ways in (an analyst's `ws_` session
//! token, a service's API key for labels). [`doc`] is merged into the
//! server's `/openapi.json` (`sekimori-server::routes::openapi`).

use crate::acts::Disposition;
use crate::analysts::{AnalystInfo, Role};
use crate::cases::{Case, CaseEvent, Family};
use crate::error::WbError;
use crate::pages::case::CaseView;
use sekimori_rules::Action;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, ToSchema};

/// Text an analyst or a service writes (a note, a reason): no control
/// character but line breaks and tabs, no bidirectional override.
pub const NOTE_PATTERN: &str =
    "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$";

/// Text as [`NOTE_PATTERN`] allows, as a named schema.
macro_rules! text_schema {
    ($(#[$m:meta])* $name:ident, $desc:expr, $min:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($desc))
                    .min_length($min)
                    .pattern(Some(NOTE_PATTERN))
                    .into()
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

text_schema!(
    /// A note, reason or label note.
    NoteText,
    "At most 4,096 bytes once trimmed; line breaks and tabs kept, no other control or bidirectional-override character.",
    None
);
text_schema!(
    /// A note or reason that must be given.
    RequiredText,
    "As NoteText, and not blank (a text of spaces only is 400 `invalid_value`).",
    Some(1)
);

/// Declares a documented enum with an exhaustive conversion from the
/// workbench's own type, so a new variant there fails the build here.
macro_rules! doc_enum {
    ($(#[$m:meta])* $name:ident from $src:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn of(v: $src) -> $name {
                match v { $($src::$variant => $name::$variant),+ }
            }
        }
    };
}

doc_enum!(
    /// What an analyst may do: supervisors also release money, admins also
    /// create analysts.
    AnalystRole from Role { Analyst, Supervisor, Admin }
);
doc_enum!(
    /// How a case ended; also the label its events get.
    DispositionName from Disposition { ConfirmedFraud, FalsePositive, Legitimate, UnableToVerify }
);
doc_enum!(
    /// The engine's action on a case event (the case's top action in the queue).
    CaseAction from Action { Allow, Challenge, Review, Deny, Freeze, Halt }
);
doc_enum!(
    /// Which events a case gathers.
    CaseFamily from Family { Access, Money, Custody, Report }
);

/// An analyst's verdict on a held event.
#[allow(dead_code)] // described in the document; the request carries its name
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecideOutcome {
    Approve,
    Decline,
}

/// What a service may say of its own event (a disposition is an
/// analyst's, given when a case is closed).
#[allow(dead_code)] // described in the document; the request carries its name
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLabel {
    Chargeback,
    Dispute,
    CustomerConfirmed,
    CustomerDenied,
}

mod analysts;
mod cases;
mod errors;

pub use analysts::*;
pub use cases::*;
pub use errors::*;

#[derive(OpenApi)]
#[openapi(
    paths(
        super::api::sign_in,
        super::api::sign_out_everywhere,
        super::api::cases,
        super::api::next,
        super::api::case,
        super::api::claim,
        super::api::release,
        super::api::note,
        super::api::decide,
        super::api::close,
        super::api::analysts,
        super::api::create_analyst,
        super::api::label,
        super::api_actions::holds,
        super::api_actions::place_hold,
        super::api_actions::lift_hold,
        super::api_actions::add_to_list,
        super::api_actions::bulk,
        super::api_actions::search,
        super::api_actions::disable_analyst,
        super::api_actions::enable_analyst,
        super::api_actions::reset_analyst,
        // Analysts' passkeys (sign-in, registration, an admin's removal).
        super::api_passkeys::sign_in_start,
        super::api_passkeys::sign_in_finish,
        super::api_passkeys::list,
        super::api_passkeys::register_start,
        super::api_passkeys::register_finish,
        super::api_passkeys::remove,
        // Rule quality per service and backtests: /ui/quality's REST twin.
        super::quality::api_quality,
    ),
    components(schemas(WorkbenchError)),
    tags((name = "workbench", description = "The analyst's workbench: sessions, the review queue, cases, analysts; labels from services")),
)]
struct WorkbenchDoc;

/// Schemas of `api_actions` whose type names the server's document uses
/// for other shapes, and the names they take in the merged document.
const RENAMED: [(&str, &str); 2] = [
    ("HoldInForce", "CaseHoldInForce"),
    ("ResetBody", "AnalystResetBody"),
];

/// Renames the component `from` to `to`, and every reference to it.
fn rename_schema(v: &mut Value, from: &str, to: &str) {
    if let Some(schemas) = v["components"]["schemas"].as_object_mut() {
        if let Some(s) = schemas.remove(from) {
            schemas.insert(to.to_string(), s);
        }
    }
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::Object(map) => {
                let old = format!("#/components/schemas/{from}");
                if map.get("$ref").and_then(Value::as_str) == Some(old.as_str()) {
                    map.insert("$ref".into(), json!(format!("#/components/schemas/{to}")));
                }
                map.values_mut().for_each(|c| walk(c, from, to));
            }
            Value::Array(items) => items.iter_mut().for_each(|c| walk(c, from, to)),
            _ => {}
        }
    }
    walk(v, from, to);
}

/// The passkey bodies' WebAuthn parts: the credentials are the server's
/// `AttestationCredential` / `AssertionCredential` schemas (the merged
/// document has them), the options webauthn-rs's JSON.
fn passkey_schemas(v: &mut Value) {
    let schemas = &mut v["components"]["schemas"];
    schemas["PasskeySignInFinish"]["properties"]["credential"] =
        json!({"$ref": "#/components/schemas/AssertionCredential"});
    schemas["PasskeyRegisterFinish"]["properties"]["credential"] =
        json!({"$ref": "#/components/schemas/AttestationCredential"});
    schemas["PasskeyCeremony"]["properties"]["options"] = json!({
        "type": "object",
        "description": "`{\"publicKey\": ...}`: PublicKeyCredentialCreationOptions or RequestOptions as JSON, binary fields unpadded base64url (webauthn-rs's form; PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON read `publicKey`).",
        "required": ["publicKey"],
        "properties": {"publicKey": {"type": "object"}}
    });
    schemas["PasskeyCeremony"]["properties"]["ceremony"]["pattern"] = json!("^[0-9a-f]{64}$");
}

/// The codes each operation can answer beyond bad input (`invalid_value`).
fn operation_errors(method: &str, path: &str) -> Vec<&'static str> {
    let session = ["no_session", "storage_failed"];
    let mut codes: Vec<&'static str> = match (method, path) {
        ("post", "/v1/workbench/sessions") => {
            vec!["sign_in_failed", "sign_in_throttled", "storage_failed"]
        }
        ("post", "/v1/workbench/passkeys/sign-in/start") => {
            vec!["not_found", "sign_in_throttled", "storage_failed"]
        }
        ("post", "/v1/workbench/passkeys/sign-in/finish") => vec![
            "sign_in_failed",
            "sign_in_throttled",
            "not_found",
            "storage_failed",
        ],
        ("get", "/v1/workbench/passkeys") => session.to_vec(),
        ("post", "/v1/workbench/passkeys/register/start") => {
            [&session[..], &["not_found", "conflict"]].concat()
        }
        ("post", "/v1/workbench/passkeys/register/finish") => {
            [&session[..], &["not_found", "conflict", "role_required"]].concat()
        }
        ("post", "/v1/labels") => vec![
            "invalid_api_key",
            "not_found",
            "not_available",
            "storage_failed",
        ],
        ("get", "/v1/analysts") => [&session[..], &["role_required"]].concat(),
        ("post", "/v1/analysts") => [&session[..], &["role_required", "not_available"]].concat(),
        ("get", "/v1/cases") | ("post", "/v1/workbench/sessions/end-all") => session.to_vec(),
        _ => [
            &session[..],
            &["role_required", "not_found", "conflict", "not_available"],
        ]
        .concat(),
    };
    if !matches!(
        (method, path),
        ("post", "/v1/cases/next")
            | ("post", "/v1/workbench/sessions/end-all")
            | ("get", "/v1/analysts")
            | ("get", "/v1/workbench/passkeys")
    ) {
        codes.insert(0, "invalid_value");
    }
    codes
}

fn status_of(code: &str) -> u16 {
    ERROR_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(500, |(_, s)| *s)
}

/// The workbench's part of the API document, as JSON (OpenAPI 3.1: the
/// tuples of a case are `prefixItems`, which utoipa's model cannot hold):
/// its operations (operation ids prefixed `workbench_`, unique beside the
/// server's) with their security (an analyst's session, or for labels an
/// API key with the `ingest` scope) and error answers, and its schemas.
/// Refers to the server's `Decision` schema, so it is complete once merged
/// into the server's document.
pub fn doc() -> Value {
    let mut v = serde_json::to_value(WorkbenchDoc::openapi()).unwrap_or(Value::Null);
    // Names the server's part also defines (its own holds and step-up
    // reset): the workbench's shapes differ, so they take names of their own.
    for (from, to) in RENAMED {
        rename_schema(&mut v, from, to);
    }
    let codes: Vec<&str> = ERROR_CODES.iter().map(|(c, _)| *c).collect();
    v["components"]["schemas"]["WorkbenchErrorCode"] = json!({
        "type": "string",
        "description": "Every code of the workbench's API (docs/errors.md).",
        "enum": codes,
    });
    v["components"]["schemas"]["CaseDetail"]["properties"]["decisions"]["items"] = json!({
        "type": "array",
        "prefixItems": [
            {"$ref": "#/components/schemas/CaseEvent"},
            {"oneOf": [{"$ref": "#/components/schemas/Decision"}, {"type": "null"}]}
        ],
        "minItems": 2,
        "maxItems": 2
    });
    v["components"]["schemas"]["CaseDetail"]["properties"]["labels"]["items"] = json!({
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "string"}, {"type": "string"}],
        "minItems": 3,
        "maxItems": 3
    });
    passkey_schemas(&mut v);
    passkeys::describe(&mut v);
    v["components"]["securitySchemes"] = json!({
        "workbench_session": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ws_<64 hex>",
            "description": "An analyst's session token from `POST /v1/workbench/sessions` (password and TOTP code); idle and absolute expiry in server time."
        }
    });
    if let Some(paths) = v["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(id) = op["operationId"].as_str() {
                    op["operationId"] = json!(format!("workbench_{id}"));
                }
                op["security"] = match (method.as_str(), path.as_str()) {
                    ("post", "/v1/workbench/sessions") => json!([]),
                    // Anonymous (an empty requirement: OpenAPI's "no
                    // authentication"): a passkey sign-in has no session yet.
                    ("post", "/v1/workbench/passkeys/sign-in/start")
                    | ("post", "/v1/workbench/passkeys/sign-in/finish") => json!([{}]),
                    ("post", "/v1/labels") => json!([{"bearer": ["ingest"]}]),
                    _ => json!([{"workbench_session": []}]),
                };
                let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
                for c in operation_errors(method, path) {
                    by_status.entry(status_of(c)).or_default().push(c);
                }
                for (status, codes) in by_status {
                    let names: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
                    let response = json!({
                        "description": format!("Error: {} (docs/errors.md, the workbench's API)", names.join(", ")),
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkbenchError"}}}
                    });
                    op["responses"][status.to_string()] = response;
                }
            }
        }
    }
    v
}

mod passkeys;

#[cfg(test)]
mod tests;
