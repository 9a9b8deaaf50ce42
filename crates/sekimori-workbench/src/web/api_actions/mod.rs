//! The REST side of the case actions added to part 4 of issue 14, one
//! file per resource: holds (place, lift with four eyes, list) in
//! [`holds`], list items with an expiry in [`lists`], bulk actions on a
//! selection in [`bulk`], search in [`search`], and the admin's disable /
//! enable / reset of analysts in [`analysts`]. Analysts authenticate as
//! for the rest of the API (`Authorization: Bearer ws_...`); every handler
//! calls the same [`Workbench`] function as the pages, and each is
//! annotated for the workbench's OpenAPI document. The field shapes
//! several bodies share are named schemas here ([`WorkbenchKey`],
//! [`WorkbenchReason`], [`CaseIdList`]), written once.

use crate::error::WbError;
use crate::workbench::Workbench;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use sekimori_engine::HoldScope;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

mod analysts;
mod bulk;
mod holds;
mod lists;
mod search;

pub use analysts::*;
pub use bulk::*;
pub use holds::*;
pub use lists::*;
pub use search::*;

type Wb = State<Arc<Workbench>>;
type Answer<T> = Result<Json<T>, WbError>;

fn login_of(p: Result<Path<String>, PathRejection>) -> Result<String, WbError> {
    p.map(|Path(l)| l)
        .map_err(|_| WbError::invalid("login", "an analyst's login"))
}

/// A case id from the path: a bad one is 400 `invalid_value` at `id`, in
/// the API's error body (not axum's text rejection).
pub(crate) fn case_id(p: Result<Path<u64>, PathRejection>) -> Result<u64, WbError> {
    p.map(|Path(id)| id)
        .map_err(|_| WbError::invalid("id", "a case id (a whole number)"))
}

/// One line with no control character and no space at either end.
pub const KEY_PATTERN: &str =
    "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$";
/// One line, not blank, with no control or bidirectional-override character.
pub const REASON_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069][^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$";

/// A named schema for a field shape several bodies share.
macro_rules! named_schema {
    ($(#[$m:meta])* $name:ident, $schema:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

named_schema!(
    /// A hold's key or a list item.
    WorkbenchKey,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("1-256 characters on one line, no space at either end: an account, a service, an asset (currency code: 2-12 upper-case letters or digits), a wallet, a bank (4-digit code), a device, an address..."))
        .min_length(Some(1))
        .max_length(Some(256))
        .pattern(Some(KEY_PATTERN))
);
named_schema!(
    /// Why an analyst acts.
    WorkbenchReason,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("Why: one line, at most 512 characters, not blank; logged (and, for a hold, quoted in every decision it answers)."))
        .min_length(Some(1))
        .max_length(Some(512))
        .pattern(Some(REASON_PATTERN))
);
named_schema!(
    /// The cases a bulk action is for.
    CaseIdList,
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .maximum(Some(i64::MAX)),
        )
        .description(Some("1 to 100 case ids (a repeated id is done once)."))
        .min_items(Some(1))
        .max_items(Some(100))
);

/// What a hold holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    Account,
    Service,
    Asset,
    Wallet,
    Bank,
}

impl ScopeName {
    pub fn scope(self) -> HoldScope {
        match self {
            ScopeName::Account => HoldScope::Account,
            ScopeName::Service => HoldScope::Service,
            ScopeName::Asset => HoldScope::Asset,
            ScopeName::Wallet => HoldScope::Wallet,
            ScopeName::Bank => HoldScope::Bank,
        }
    }

    pub fn of(scope: HoldScope) -> ScopeName {
        match scope {
            HoldScope::Account => ScopeName::Account,
            HoldScope::Service => ScopeName::Service,
            HoldScope::Asset => ScopeName::Asset,
            HoldScope::Wallet => ScopeName::Wallet,
            HoldScope::Bank => ScopeName::Bank,
        }
    }
}

/// A hold's key: the service (`*`: every service), its scope and key.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldRef {
    pub service: String,
    pub scope: ScopeName,
    pub key: String,
}

impl HoldRef {
    fn of(k: &sekimori_engine::HoldKey) -> HoldRef {
        HoldRef {
            service: k.service.clone(),
            scope: ScopeName::of(k.scope),
            key: k.key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    /// The handlers above as an OpenAPI document on their own: what the
    /// workbench's document merges.
    #[derive(OpenApi)]
    #[openapi(paths(
        super::place_hold,
        super::lift_hold,
        super::holds,
        super::add_to_list,
        super::bulk,
        super::search,
        super::disable_analyst,
        super::enable_analyst,
        super::reset_analyst
    ))]
    struct Doc;

    #[test]
    fn every_action_is_described_with_its_bodies() {
        let doc = serde_json::to_value(Doc::openapi()).expect("serializes");
        for (path, method) in crate::web::ROUTES
            .iter()
            .filter(|(_, p)| {
                p.starts_with("/v1/")
                    && (p.contains("/holds")
                        || p.contains("/lists")
                        || p.ends_with("/bulk")
                        || p.starts_with("/v1/search")
                        || ["disable", "enable", "reset"]
                            .iter()
                            .any(|a| *p == format!("/v1/analysts/{{login}}/{a}")))
            })
            .map(|(m, p)| (*p, *m))
        {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not in the document"
            );
        }
        let schemas = &doc["components"]["schemas"];
        for s in [
            "PlaceHoldBody",
            "HoldPlaced",
            "LiftHoldBody",
            "HoldLift",
            "CaseHolds",
            "ListAddBody",
            "ListAdded",
            "BulkBody",
            "BulkResults",
            "SearchResults",
            "AnalystState",
            "ResetBody",
            "AnalystReset",
            "WorkbenchKey",
            "WorkbenchReason",
            "CaseIdList",
        ] {
            assert!(schemas[s].is_object(), "schema {s} missing");
        }
        assert_eq!(
            doc["components"]["schemas"]["ScopeName"]["enum"],
            serde_json::json!(["account", "service", "asset", "wallet", "bank"])
        );
    }
}
