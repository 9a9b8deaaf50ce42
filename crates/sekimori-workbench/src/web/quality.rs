//! `GET /ui/quality`: rule quality of the logged decisions from the log's
//! labels, and a backtest of a stored pack version over a window
//! (sekimori-backtest; see docs/backtest.md), for every service or one;
//! `GET /v1/quality` is its REST twin (the same report as JSON).
//! Supervisors and admins only: a backtest replays the log up to its
//! window, so it runs on a blocking thread, one at a time across the server
//! (the page and the API share the one place). The place is held by the
//! work itself ([`one_at_a_time`]): a client that disconnects (a
//! supervisor reloading the page) ends its request, not the backtest
//! running on, which keeps the place until it ends.

use super::auth::{ApiWho, PageWho};
use super::ui::page_error;
use crate::analysts::Role;
use crate::error::WbError;
use crate::workbench::Workbench;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sekimori_backtest::html::PageQuery;
use sekimori_backtest::Report;
use serde::Deserialize;
use std::sync::Arc;

/// One at a time: a backtest replays the log up to its window.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs `work` on a blocking thread once it has `place`'s one permit; the
/// permit moves into the blocking task, so it is released when the work
/// ends, never earlier, even when the request waiting on it is dropped
/// (the client went away). `Unavailable` if the semaphore is closed or the
/// work panicked.
async fn one_at_a_time<T: Send + 'static>(
    place: &'static tokio::sync::Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WbError> {
    let permit = place
        .acquire()
        .await
        .map_err(|_| WbError::Unavailable("the backtest"))?;
    tokio::task::spawn_blocking(move || {
        let _held = permit;
        work()
    })
    .await
    .map_err(|_| WbError::Unavailable("the backtest"))
}

/// The longest service name the filter takes (bytes).
pub const MAX_SERVICE_BYTES: usize = 256;

/// How many changed events the API's backtest lists.
pub const API_SAMPLE: usize = 50;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityQuery {
    /// Start of the window (event time, inclusive): RFC 3339 or YYYY-MM-DD.
    #[serde(default)]
    #[param(required = true)]
    from: String,
    /// End of the window (exclusive), after `from`.
    #[serde(default)]
    #[param(required = true)]
    to: String,
    /// A stored pack version to backtest over the window, never a path on
    /// the server; blank: rule quality only.
    #[serde(default)]
    candidate: String,
    /// Only this service's events and labels; blank: every service, with
    /// a per-service breakdown.
    #[serde(default)]
    #[param(max_length = 256)]
    service: String,
}

impl QualityQuery {
    fn page(&self) -> PageQuery<'_> {
        PageQuery {
            from: &self.from,
            to: &self.to,
            candidate: Some(self.candidate.as_str()),
            service: Some(self.service.as_str()),
        }
    }
}

pub fn routes() -> Router<Arc<Workbench>> {
    Router::new()
        .route("/ui/quality", get(page))
        .route("/v1/quality", get(api_quality))
}

async fn page(
    State(wb): State<Arc<Workbench>>,
    who: PageWho,
    Query(q): Query<QualityQuery>,
) -> Response {
    if who.session.role < Role::Supervisor {
        return page_error(Some(&who), WbError::Forbidden("supervisor"));
    }
    let words = crate::pages::quality::words(who.session.locale);
    let store = Arc::clone(&wb.store);
    let body = one_at_a_time(&RUNNING, move || {
        sekimori_backtest::html::page_body_for(&store, words, "/ui/quality", &q.page())
    })
    .await;
    match body {
        Ok(b) => crate::pages::quality::page(&who.session, b).into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

/// Checks the query before anything runs: each refusal names its field and
/// never repeats the value.
fn check(q: &QualityQuery) -> Result<(), WbError> {
    const TIME: &str = "an RFC 3339 time or a date (YYYY-MM-DD)";
    let from = sekimori_backtest::parse_time(&q.from).ok_or(WbError::invalid("from", TIME))?;
    let to = sekimori_backtest::parse_time(&q.to).ok_or(WbError::invalid("to", TIME))?;
    if from >= to {
        return Err(WbError::invalid("to", "must be after from"));
    }
    if q.service.len() > MAX_SERVICE_BYTES {
        return Err(WbError::invalid("service", "at most 256 bytes"));
    }
    Ok(())
}

/// Rule quality of the logged decisions over a window, per pack version,
/// per rule and per service (or for one service), and a backtest of a
/// stored pack version when `candidate` is given (supervisors and admins).
/// One report at a time across the server: a second request waits.
#[utoipa::path(get, path = "/v1/quality", tag = "workbench",
    params(QualityQuery),
    responses((status = 200, description = "The report (docs/backtest.md)", body = Report)))]
pub async fn api_quality(
    State(wb): State<Arc<Workbench>>,
    who: ApiWho,
    q: Result<Query<QualityQuery>, QueryRejection>,
) -> Result<Json<Report>, WbError> {
    if who.session.role < Role::Supervisor {
        return Err(WbError::Forbidden("supervisor"));
    }
    let Query(q) = q.map_err(|_| WbError::invalid("from", "from and to are required"))?;
    check(&q)?;
    let candidate = (!q.candidate.is_empty()).then(|| q.candidate.clone());
    let store = Arc::clone(&wb.store);
    let result = one_at_a_time(&RUNNING, move || {
        if let Some(v) = &candidate {
            // A version never stored is the caller's mistake, not storage's.
            match store.packs() {
                Ok(packs) if !packs.iter().any(|(s, _)| s == v) => return Err(None),
                Ok(_) => {}
                Err(e) => return Err(Some(e.to_string())),
            }
        }
        match sekimori_backtest::html::report_for(&store, &q.page(), API_SAMPLE) {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(Some(e.to_string())),
            None => Err(Some("no window".into())),
        }
    })
    .await?;
    match result {
        Ok(r) => Ok(Json(r)),
        Err(None) => Err(WbError::NotFound("pack version")),
        Err(Some(e)) => Err(WbError::Storage(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::one_at_a_time;
    use std::sync::mpsc;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    static PLACE: Semaphore = Semaphore::const_new(1);

    /// A request dropped while its work runs (the client disconnected)
    /// leaves the place taken until the work ends; the next waits for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_disconnected_request_holds_the_place_until_its_work_ends() {
        let (started_tx, started) = mpsc::channel::<()>();
        let (finish, finish_rx) = mpsc::channel::<()>();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let request = tokio::spawn(one_at_a_time(&PLACE, move || {
            started_tx.send(()).expect("started");
            finish_rx.recv().expect("told to finish");
            ended_tx.send(()).expect("ended");
        }));
        tokio::task::spawn_blocking(move || started.recv().expect("the work runs"))
            .await
            .expect("joined");
        // The client goes away: axum drops the handler's future.
        request.abort();
        assert!(request.await.expect_err("aborted").is_cancelled());
        assert_eq!(PLACE.available_permits(), 0, "the work still holds it");
        // A second request waits for the place.
        let second = tokio::spawn(one_at_a_time(&PLACE, || 42));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "it waits while the first work runs");
        assert_eq!(PLACE.available_permits(), 0);
        finish.send(()).expect("finish");
        assert_eq!(second.await.expect("joined").expect("ran"), 42);
        ended
            .try_recv()
            .expect("the first work ran to its end first");
        assert_eq!(PLACE.available_permits(), 1, "released when the work ended");
    }
}
