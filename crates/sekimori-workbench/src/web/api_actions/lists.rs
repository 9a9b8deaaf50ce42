//! A list item from a case: an item added to a refusal list of the live
//! pack, until an expiry.

use super::{case_id, Answer, Wb, WorkbenchKey, WorkbenchReason};
use crate::web::auth::ApiWho;
use crate::web::extract::ApiJson;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An item to add to a list of the live pack, for a time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAddBody {
    /// A list the live pack declares.
    #[schema(min_length = 1)]
    pub list: String,
    /// 1-256 characters (an account, a device, an address...).
    #[schema(value_type = WorkbenchKey)]
    pub item: String,
    /// 1 to 2,160 (90 days).
    #[schema(minimum = 1, maximum = 2160)]
    pub expires_in_hours: u32,
    /// Why: one line, at most 512 characters.
    #[schema(value_type = WorkbenchReason)]
    pub reason: String,
}

/// A list item added.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListAdded {
    pub case: u64,
    pub list: String,
    pub item: String,
    /// When the workbench takes it off the list (server time, RFC 3339).
    pub expires_at: String,
}

/// Adds an item to a refusal list of the live pack through the ledger
/// (`Entry::List`, as `PUT /v1/lists/{name}`), until an expiry (a
/// supervisor). 400 `invalid_value` at `list` for a list the workbench may
/// not edit (the operator's choice: `blocked_ips` and `known_mules` by
/// default); 404 `not_found` for an allowed list the pack does not declare.
#[utoipa::path(post, path = "/v1/cases/{id}/lists", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = ListAddBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Added and durable", body = ListAdded)))]
pub async fn add_to_list(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(b): ApiJson<ListAddBody>,
) -> Answer<ListAdded> {
    let case = case_id(id)?;
    let expires_at = wb
        .add_to_list(
            &who.session,
            case,
            &b.list,
            &b.item,
            b.expires_in_hours,
            &b.reason,
        )
        .await?;
    Ok(Json(ListAdded {
        case,
        list: b.list,
        item: b.item,
        expires_at,
    }))
}
