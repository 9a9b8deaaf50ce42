//! The OpenAPI 3.1 document, generated from the route handlers' annotations
//! and the request and answer types (utoipa), with the event schema
//! (schemars, `sekimori_event::json_schema`) inlined under `components`.
//! Served at `GET /openapi.json` and committed as the repository's
//! `openapi.json`; a test fails when the committed copy is stale.

use crate::error::ErrorCode;
use crate::routes::{self, answers};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::sync::OnceLock;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// Text an identifier or label may be: no control characters, no white
/// space at either end (Rust's `char::is_control`, `str::trim`).
pub const TEXT_PATTERN: &str = r"^[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?$";
/// A service name (the event envelope's form).
pub const SERVICE_PATTERN: &str = "^[a-z0-9._-]{1,64}$";
/// RFC 3339 from 1970 on (the server's range: 1970 to 9999, UTC or an offset).
pub const AT_PATTERN: &str = r"^((19[7-9][0-9]|[2-9][0-9]{3})-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(19[7-9][0-9]|[2-9][0-9]{3})-(0[469]|11)-(0[1-9]|[12][0-9]|30)|(19[7-9][0-9]|[2-9][0-9]{3})-02-(0[1-9]|1[0-9]|2[0-8])|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|(2[048]|3[26]|4[048]|5[26]|6[048]|7[26]|8[048]|9[26])00)-02-29)[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
/// A currency or asset code.
pub const CURRENCY_PATTERN: &str = "^[A-Z0-9]{2,12}$";

/// A string schema with bounds and a pattern, as a named component.
macro_rules! string_schema {
    ($(#[$m:meta])* $name:ident, $desc:expr, $min:expr, $max:expr, $pattern:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($desc))
                    .min_length($min)
                    .max_length($max)
                    .pattern($pattern)
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

string_schema!(
    /// An account id in a step-up request.
    Account,
    "The service's account id: 1 to 128 characters, no control characters or edge spaces.",
    Some(1),
    Some(128),
    Some(TEXT_PATTERN)
);
string_schema!(
    /// An event id named in a request (`for_event`, `proof_event`).
    EventRef,
    "An event id this service sent (or a step-up's `event_id`): 1 to 128 characters, no control characters or edge spaces.",
    Some(1),
    Some(128),
    Some(TEXT_PATTERN)
);
string_schema!(
    /// A service (tenant) name.
    Service,
    "The service (tenant): 1 to 64 of a-z, 0-9, `.`, `_`, `-`; one the key speaks for.",
    Some(1),
    Some(64),
    Some(SERVICE_PATTERN)
);
string_schema!(
    /// A request's own time.
    At,
    "The request's time, RFC 3339 (1970 to 9999). More than 5 minutes ahead of the server clock is `event_in_future` (422), which no schema can say.",
    None,
    None,
    Some(AT_PATTERN)
);
string_schema!(
    /// A currency code.
    Currency,
    "Currency or asset code, upper case: `JPY`, `USD`, `BTC`.",
    Some(2),
    Some(12),
    Some(CURRENCY_PATTERN)
);
string_schema!(
    /// An item of a list set through the API.
    ListItem,
    "1 to 256 characters (`invalid_list` otherwise).",
    Some(1),
    Some(256),
    None::<String>
);
string_schema!(
    /// A user input of a password check.
    UserInput,
    "At most 256 characters.",
    None,
    Some(256),
    None::<String>
);

string_schema!(
    /// A label of at most 64 characters.
    Text64,
    "1 to 64 characters, no control characters or edge spaces.",
    Some(1),
    Some(64),
    Some(TEXT_PATTERN)
);
string_schema!(
    /// An identifier of at most 128 characters.
    Text128,
    "1 to 128 characters, no control characters or edge spaces.",
    Some(1),
    Some(128),
    Some(TEXT_PATTERN)
);
string_schema!(
    /// A text of at most 256 characters.
    Text256,
    "1 to 256 characters, no control characters or edge spaces.",
    Some(1),
    Some(256),
    Some(TEXT_PATTERN)
);
string_schema!(
    /// Why an operator places a hold.
    HoldReason,
    "1 to 512 characters, no control characters, not only white space: recorded and quoted in every decision the hold answers.",
    Some(1),
    Some(512),
    Some(HOLD_REASON_PATTERN)
);
string_schema!(
    /// Text that is not only white space.
    NotBlank,
    "Any text with at least one character that is not white space.",
    Some(1),
    None,
    Some(NOT_BLANK_PATTERN)
);
string_schema!(
    /// Binary data in a WebAuthn credential.
    Base64Url,
    "Unpadded base64url (as the browser's PublicKeyCredential.toJSON() writes it).",
    None,
    None,
    Some(BASE64URL_PATTERN)
);

const HOLD_REASON_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$";
const NOT_BLANK_PATTERN: &str =
    r"[^\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Canonical unpadded base64url (the unused bits of the last character zero).
const BASE64URL_PATTERN: &str =
    "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

/// The error code, one of [`ErrorCode::ALL`].
#[derive(Debug)]
pub struct ErrorCodeSchema;
impl PartialSchema for ErrorCodeSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A stable error code (docs/errors.md)."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}
impl ToSchema for ErrorCodeSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// Placeholders for the event vocabulary's schemas: their real content
/// (generated by schemars) is put in place by [`document`].
macro_rules! event_schema {
    ($name:ident, $component:literal) => {
        #[derive(Debug)]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new().into()
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($component)
            }
        }
    };
}
event_schema!(EventSchema, "Event");
event_schema!(ActorSchema, "Actor");
event_schema!(MfaMethodSchema, "MfaMethod");
// Schemas written out by [`refine`]: conditions between fields and the
// shapes of other crates' types.
event_schema!(AttestationCredential, "AttestationCredential");
event_schema!(AssertionCredential, "AssertionCredential");
event_schema!(HoldKeyToPlace, "HoldKeyToPlace");
event_schema!(HoldKeyToLift, "HoldKeyToLift");
event_schema!(BatchItemSchema, "BatchEvent");

/// The components [`document`] fills in itself.
const PLACEHOLDERS: &[&str] = &[
    "Event",
    "Actor",
    "MfaMethod",
    "AttestationCredential",
    "AssertionCredential",
    "HoldKeyToPlace",
    "HoldKeyToLift",
    "BatchEvent",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sekimori API",
        version = "1",
        description = "Real-time fraud and account-takeover decisions. Every route but /healthz and /readyz needs `Authorization: Bearer <key>` with the scope the operation's security requirement names (see docs/api.md, Keys and scopes). Every error answers the `Error` body with a stable code (docs/errors.md).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        routes::healthz,
        routes::readyz,
        routes::metrics,
        routes::openapi,
        routes::events::post_event,
        routes::events::post_batch,
        routes::stream::post_stream,
        routes::events::get_decision,
        routes::admin::validate_pack,
        routes::admin::publish_pack,
        routes::admin::pack_history,
        routes::admin::current_pack,
        routes::admin::reload_pack,
        routes::admin::lists,
        routes::admin::get_list,
        routes::admin::put_list,
        routes::holds::holds,
        routes::holds::place_hold,
        routes::holds::lift_hold,
        routes::stepup::enroll::totp_enroll,
        routes::stepup::enroll::ocra_enroll,
        routes::stepup::challenge::tx_challenge,
        routes::stepup::enroll::register_start,
        routes::stepup::enroll::register_finish,
        routes::stepup::challenge::auth_start,
        routes::stepup::challenge::otp_send,
        routes::stepup::verify::verify,
        routes::stepup::enrollments::remove_enrollment,
        routes::stepup::enrollments::reset_enrollment,
        routes::secrets::check,
        routes::secrets::range,
        routes::cluster::cluster_status,
    ),
    components(schemas(
        Base64Url,
        Text256,
        crate::error::ErrorBody,
        answers::AnswerDoc,
        answers::BatchAnswer,
        answers::DecisionAnswer,
    )),
    tags(
        (name = "events", description = "Events in, decisions out"),
        (name = "stepup", description = "Step-up the server runs: TOTP, transaction signing, passkeys, SMS / e-mail codes"),
        (name = "secrets", description = "Breached and weak passwords, guessable PINs"),
        (name = "packs", description = "Rule packs and lists"),
        (name = "holds", description = "Freezes and halts (kill switches)"),
        (name = "operations", description = "Health, readiness, metrics, this document, a cluster node's state"),
    )
)]
struct ApiDoc;

#[path = "openapi/operations.rs"]
mod operations;
use operations::{add_errors, add_security};
#[path = "openapi/refine.rs"]
mod refine;
use refine::refine;

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// The document as the committed `openapi.json` holds it (pretty, with a
/// final newline).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(document()).unwrap_or_default();
    s.push('\n');
    s
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    inline_event_schema(&mut doc);
    refine(&mut doc);
    add_links(&mut doc);
    add_security(&mut doc);
    add_errors(&mut doc);
    merge_workbench(&mut doc);
    doc
}

/// The workbench's REST routes (`sekimori_workbench::web::openapi::doc`):
/// its operations come with their own security (an analyst's session, or
/// an API key for labels) and error body (`WorkbenchError`), so they join
/// after the server's own are complete. A name both define is an error of
/// the build (checked by a test: [`workbench_collisions`]).
fn merge_workbench(doc: &mut Value) {
    let wb = sekimori_workbench::web::openapi::doc();
    for (section, key) in [
        ("paths", None),
        ("components", Some("schemas")),
        ("components", Some("securitySchemes")),
    ] {
        let from = match key {
            Some(k) => &wb[section][k],
            None => &wb[section],
        };
        let Some(from) = from.as_object() else {
            continue;
        };
        for (name, item) in from {
            let to = match key {
                Some(k) => &mut doc[section][k],
                None => &mut doc[section],
            };
            if to.get(name).is_none() {
                to[name] = item.clone();
            }
        }
    }
    if let (Some(tags), Some(more)) = (doc["tags"].as_array_mut(), wb["tags"].as_array()) {
        tags.extend(more.iter().cloned());
    }
}

/// Names the workbench's part and the server's part of the document both
/// define (paths and schemas): must be none.
pub fn workbench_collisions() -> Vec<String> {
    let wb = sekimori_workbench::web::openapi::doc();
    let mut server = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    inline_event_schema(&mut server);
    refine(&mut server);
    let mut out = Vec::new();
    for section in [&["paths"][..], &["components", "schemas"]] {
        let get = |v: &Value| section.iter().fold(v.clone(), |v, k| v[*k].clone());
        let (w, s) = (get(&wb), get(&server));
        for name in w.as_object().into_iter().flatten().map(|(k, _)| k) {
            if s.get(name).is_some() {
                out.push(name.clone());
            }
        }
    }
    out
}

/// Links between operations (for stateful tests and for readers): a
/// transaction challenge is answered by a verification of that challenge
/// and transaction.
fn add_links(doc: &mut Value) {
    let paths = &mut doc["paths"];
    paths["/v1/stepup/tx/challenge"]["post"]["responses"]["200"]["links"] = json!({
        "VerifyTheChallenge": {
            "operationId": "verify",
            "description": "Answer the challenge (the device's OCRA code over the question it recomputes).",
            "requestBody": {
                "account": "$request.body#/account",
                "service": "$request.body#/service",
                "at": "$request.body#/at",
                "method": "txsign",
                "challenge_id": "$response.body#/challenge_id",
                "code": "00000000",
                "transaction": "$response.body#/transaction"
            }
        }
    });
}

/// Names the event schema and the server's own types both use (other than
/// the placeholders the event schema fills): must be none, or one would
/// overwrite the other in `components`.
pub fn collisions() -> Vec<String> {
    let server = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    let event = sekimori_event::json_schema();
    let Some(defs) = event["$defs"].as_object() else {
        return vec![];
    };
    defs.keys()
        .filter(|k| !PLACEHOLDERS.contains(&k.as_str()))
        .filter(|k| server["components"]["schemas"].get(k.as_str()).is_some())
        .cloned()
        .collect()
}

/// Puts the event schema (draft 2020-12, from schemars) under
/// `components/schemas`: the root as `Event`, its `$defs` beside it, every
/// `#/$defs/X` rewritten to `#/components/schemas/X`.
fn inline_event_schema(doc: &mut Value) {
    let mut event = sekimori_event::json_schema();
    rewrite_refs(&mut event);
    let Some(root) = event.as_object_mut() else {
        return;
    };
    let defs = root.remove("$defs");
    root.remove("$schema");
    let schemas = &mut doc["components"]["schemas"];
    if let Some(Value::Object(defs)) = defs {
        for (name, def) in defs {
            schemas[name] = def;
        }
    }
    schemas["Event"] = Value::Object(root.clone());
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if let Some(name) = r.strip_prefix("#/$defs/") {
                    *r = format!("#/components/schemas/{name}");
                }
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(op) = item.get_mut(method) {
                f(method, path, op);
            }
        }
    }
}

/// Every (method, path) the document describes, sorted.
pub fn operations() -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = document()["paths"].as_object() {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in item.keys() {
                    out.push((method.clone(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}
