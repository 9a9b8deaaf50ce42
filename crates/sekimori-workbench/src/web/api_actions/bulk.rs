//! Bulk actions on a selection of cases: claim, release or close, each
//! case on its own with its own result.

use super::{Answer, CaseIdList, Wb};
use crate::acts::Disposition;
use crate::bulk::BulkOp;
use crate::error::WbError;
use crate::web::auth::ApiWho;
use crate::web::extract::ApiJson;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A disposition (closing).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkDisposition {
    ConfirmedFraud,
    FalsePositive,
    Legitimate,
    UnableToVerify,
}

/// A bulk action on 1 to 100 cases (a repeated id is done once): claim,
/// release, or close with a disposition and a note (the closing note of
/// every case).
///
/// Other fields are ignored (a tagged body's schema cannot close its
/// variants; a misspelt `disposition` or `note` is still refused as
/// missing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkBody {
    Claim {
        #[schema(value_type = CaseIdList)]
        cases: Vec<u64>,
    },
    Release {
        #[schema(value_type = CaseIdList)]
        cases: Vec<u64>,
    },
    Close {
        #[schema(value_type = CaseIdList)]
        cases: Vec<u64>,
        disposition: BulkDisposition,
        #[schema(value_type = crate::web::openapi::RequiredText)]
        note: String,
    },
}

/// The result for one case.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub case: u64,
    pub ok: bool,
    /// The stable error code when refused (`conflict`, `not_found`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Per-case results, in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResults {
    pub results: Vec<BulkItem>,
}

/// Claims, releases or closes each selected case on its own: one refused
/// case does not stop the others, and each has its result. A body that
/// does not fit (no cases, over 100, closing without a disposition or a
/// note) is 400 and nothing is done.
#[utoipa::path(post, path = "/v1/cases/bulk", tag = "workbench",
    request_body(content = BulkBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Per-case results", body = BulkResults)))]
pub async fn bulk(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(b): ApiJson<BulkBody>,
) -> Answer<BulkResults> {
    let (op, cases, disposition, note) = match b {
        BulkBody::Claim { cases } => (BulkOp::Claim, cases, None, String::new()),
        BulkBody::Release { cases } => (BulkOp::Release, cases, None, String::new()),
        BulkBody::Close {
            cases,
            disposition,
            note,
        } => (BulkOp::Close, cases, Some(disposition), note),
    };
    if let Some(i) = cases.iter().position(|c| i64::try_from(*c).is_err()) {
        return Err(WbError::invalid(&format!("cases[{i}]"), "a case id"));
    }
    let disposition = disposition.map(|d| match d {
        BulkDisposition::ConfirmedFraud => Disposition::ConfirmedFraud,
        BulkDisposition::FalsePositive => Disposition::FalsePositive,
        BulkDisposition::Legitimate => Disposition::Legitimate,
        BulkDisposition::UnableToVerify => Disposition::UnableToVerify,
    });
    let results = wb
        .bulk(&who.session, &cases, op, disposition, &note)
        .await?;
    Ok(Json(BulkResults {
        results: results
            .into_iter()
            .map(|r| BulkItem {
                case: r.case,
                ok: r.ok,
                code: r.code.map(String::from),
                message: r.message,
            })
            .collect(),
    }))
}
