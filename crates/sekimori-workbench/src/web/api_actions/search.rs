//! Search: cases by account, device, address, payee or event id.

use super::{Answer, Wb};
use crate::error::WbError;
use crate::web::auth::ApiWho;
use crate::workbench::Workbench;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most search hits one answer lists.
pub const MAX_SEARCH_HITS: usize = 200;

/// What a search value is.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Event,
    Account,
    Device,
    Ip,
    Payee,
}

impl SearchKind {
    pub fn name(self) -> &'static str {
        match self {
            SearchKind::Event => "event",
            SearchKind::Account => "account",
            SearchKind::Device => "device",
            SearchKind::Ip => "ip",
            SearchKind::Payee => "payee",
        }
    }
}

/// The search's query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The value to find (exact).
    #[param(required = true)]
    pub q: Option<String>,
    /// Only this kind.
    #[param(inline)]
    pub kind: Option<SearchKind>,
    /// At most this many hits (default 50, at most 200).
    pub limit: Option<u32>,
}

/// One case found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDoc {
    pub case: u64,
    /// What matched: `event`, `account`, `device`, `ip` or `payee`.
    pub matched: String,
    pub service: String,
    pub entity: String,
    pub open: bool,
    pub opened_at: String,
}

/// The cases found, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<SearchHitDoc>,
}

/// The search: `kind` or, when absent, each of the kinds in turn.
pub fn run_search(
    wb: &Workbench,
    index: &crate::cases::Index,
    q: &str,
    kind: Option<&str>,
    limit: usize,
) -> Result<SearchResults, WbError> {
    let _ = wb;
    if let Some(k) = kind {
        if !crate::cases::search::KINDS.contains(&k) {
            return Err(WbError::invalid(
                "kind",
                "event, account, device, ip or payee",
            ));
        }
    }
    let q = q.trim();
    let hits = index.search(q, kind, limit);
    Ok(SearchResults {
        query: q.to_string(),
        hits: index
            .hits(&hits)
            .into_iter()
            .map(|(c, matched)| SearchHitDoc {
                case: c.id,
                matched: matched.into(),
                service: c.service.clone(),
                entity: c.entity.clone(),
                open: c.is_open(),
                opened_at: sekimori_event::format_rfc3339_ms(c.opened_ms),
            })
            .collect(),
    })
}

/// Cases by an account, a device, an IP address, a payee (payee id, bank
/// account `bank-branch-number`, wallet address, ATM) or an event id,
/// open and closed, newest first. Exact matches, from an index kept in
/// step with the log.
#[utoipa::path(get, path = "/v1/search", tag = "workbench",
    params(SearchQuery),
    responses((status = 200, description = "The cases found", body = SearchResults)))]
pub async fn search(
    State(wb): Wb,
    _who: ApiWho,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Answer<SearchResults> {
    let Query(q) = q.map_err(|e| {
        // The field the query string got wrong, never its value.
        let text = e.body_text();
        let path = ["kind", "limit"]
            .into_iter()
            .find(|f| text.contains(&format!("{f}:")) || text.contains(&format!("`{f}`")))
            .unwrap_or("q");
        WbError::invalid(
            path,
            "q (required), kind (event, account, device, ip or payee), limit (a whole number)",
        )
    })?;
    let limit = q.limit.map_or(50, |l| l as usize).min(MAX_SEARCH_HITS);
    let kind = q.kind.map(SearchKind::name);
    let text =
        q.q.as_deref()
            .ok_or_else(|| WbError::invalid("q", "required"))?;
    let index = wb.sync().await?;
    run_search(&wb, &index, text, kind, limit).map(Json)
}
