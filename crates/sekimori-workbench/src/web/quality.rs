//! `GET /ui/quality`: rule quality of the logged decisions from the log's
//! labels, and a backtest of a stored pack version over a window
//! (sekimori-backtest; see docs/backtest.md). Supervisors and admins only:
//! a backtest replays the log up to its window, so it runs on a blocking
//! thread, one at a time across the server.

use super::auth::PageWho;
use super::ui::page_error;
use crate::analysts::Role;
use crate::error::WbError;
use crate::workbench::Workbench;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;

/// One at a time: a backtest replays the log up to its window.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

#[derive(Deserialize)]
pub struct QualityQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// A stored pack version, never a path on the server.
    #[serde(default)]
    candidate: String,
}

pub fn routes() -> Router<Arc<Workbench>> {
    Router::new().route("/ui/quality", get(page))
}

async fn page(
    State(wb): State<Arc<Workbench>>,
    who: PageWho,
    Query(q): Query<QualityQuery>,
) -> Response {
    if who.session.role < Role::Supervisor {
        return page_error(Some(&who), WbError::Forbidden("supervisor"));
    }
    let Ok(_one) = RUNNING.acquire().await else {
        return page_error(Some(&who), WbError::Unavailable("the backtest"));
    };
    let words = crate::pages::quality::words(who.session.locale);
    let store = Arc::clone(&wb.store);
    let body = tokio::task::spawn_blocking(move || {
        let candidate = Some(q.candidate.as_str());
        sekimori_backtest::html::page_body(&store, words, "/ui/quality", &q.from, &q.to, candidate)
    })
    .await;
    match body {
        Ok(b) => crate::pages::quality::page(&who.session, b).into_response(),
        Err(_) => page_error(Some(&who), WbError::Unavailable("the backtest")),
    }
}
