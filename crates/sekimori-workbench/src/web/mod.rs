//! The router: pages under `/ui/`, the API under `/v1/`, the embedded
//! assets, and security headers on every answer.

mod api;
pub mod api_actions;
pub mod api_passkeys;
pub mod auth;
mod extract;
pub mod openapi;
mod passkeys;
pub use passkeys::REGISTER_FRESH_MS;
mod quality;
mod ui;
mod ui_actions;
mod ui_passkeys;
mod view;

use crate::acts::Act;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::sessions::Session;
use crate::workbench::Workbench;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The largest form or JSON body the workbench reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The htmx release embedded (see `assets/README.md`).
pub const HTMX_VERSION: &str = "2.0.11";
static HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
static CSS: &str = include_str!("../../assets/workbench.css");
static JS: &str = include_str!("../../assets/workbench.js");
static PASSKEY_JS: &str = include_str!("../../assets/passkey.js");

/// Every route, as (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/ui"),
    ("get", "/ui/"),
    ("get", "/ui/login"),
    ("post", "/ui/login"),
    ("post", "/ui/logout"),
    ("post", "/ui/logout-everywhere"),
    ("post", "/ui/prefs"),
    ("get", "/ui/queue"),
    ("post", "/ui/next"),
    ("get", "/ui/cases/{id}"),
    ("post", "/ui/cases/{id}/claim"),
    ("post", "/ui/cases/{id}/release"),
    ("post", "/ui/cases/{id}/note"),
    ("post", "/ui/cases/{id}/decide"),
    ("post", "/ui/cases/{id}/close"),
    ("get", "/ui/analysts"),
    ("post", "/ui/analysts"),
    ("post", "/ui/cases/{id}/hold"),
    ("post", "/ui/cases/{id}/lift"),
    ("post", "/ui/cases/{id}/list"),
    ("post", "/ui/queue/bulk"),
    ("get", "/ui/search"),
    ("get", "/ui/quality"),
    ("post", "/ui/analysts/{login}/disable"),
    ("post", "/ui/analysts/{login}/enable"),
    ("post", "/ui/analysts/{login}/reset"),
    ("get", "/ui/assets/htmx.min.js"),
    ("get", "/ui/assets/workbench.css"),
    ("get", "/ui/assets/workbench.js"),
    ("get", "/ui/assets/passkey.js"),
    ("get", "/ui/passkeys"),
    ("post", "/ui/passkeys/start"),
    ("post", "/ui/passkeys/finish"),
    ("post", "/ui/login/passkey/start"),
    ("post", "/ui/login/passkey/finish"),
    ("post", "/ui/analysts/{login}/passkeys/remove"),
    ("post", "/v1/workbench/sessions"),
    ("post", "/v1/workbench/sessions/end-all"),
    ("get", "/v1/cases"),
    ("post", "/v1/cases/next"),
    ("get", "/v1/cases/{id}"),
    ("post", "/v1/cases/{id}/claim"),
    ("post", "/v1/cases/{id}/release"),
    ("post", "/v1/cases/{id}/notes"),
    ("post", "/v1/cases/{id}/decide"),
    ("post", "/v1/cases/{id}/close"),
    ("get", "/v1/analysts"),
    ("post", "/v1/analysts"),
    ("post", "/v1/labels"),
    ("get", "/v1/cases/{id}/holds"),
    ("post", "/v1/cases/{id}/holds"),
    ("post", "/v1/cases/{id}/holds/lift"),
    ("post", "/v1/cases/{id}/lists"),
    ("post", "/v1/cases/bulk"),
    ("get", "/v1/search"),
    ("get", "/v1/quality"),
    ("post", "/v1/analysts/{login}/disable"),
    ("post", "/v1/analysts/{login}/enable"),
    ("post", "/v1/analysts/{login}/reset"),
    ("post", "/v1/workbench/passkeys/sign-in/start"),
    ("post", "/v1/workbench/passkeys/sign-in/finish"),
    ("get", "/v1/workbench/passkeys"),
    ("post", "/v1/workbench/passkeys/register/start"),
    ("post", "/v1/workbench/passkeys/register/finish"),
    ("post", "/v1/workbench/passkeys/remove"),
];

/// The workbench's routes, with its state; no fallback, so the server can
/// merge it into its own router.
pub fn router(wb: Arc<Workbench>) -> Router {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui/login", get(ui::sign_in_page).post(ui::sign_in))
        .route("/ui/logout", post(ui::sign_out))
        .route("/ui/logout-everywhere", post(ui::sign_out_everywhere))
        .route("/ui/prefs", post(ui::prefs))
        .route("/ui/queue", get(ui::queue_page))
        .route("/ui/next", post(ui::next))
        .route("/ui/cases/{id}", get(ui::case_page))
        .route("/ui/cases/{id}/claim", post(ui::claim))
        .route("/ui/cases/{id}/release", post(ui::release))
        .route("/ui/cases/{id}/note", post(ui::note))
        .route("/ui/cases/{id}/decide", post(ui::decide))
        .route("/ui/cases/{id}/close", post(ui::close))
        .route(
            "/ui/analysts",
            get(ui::analysts_page).post(ui::create_analyst),
        )
        .route(
            "/ui/assets/htmx.min.js",
            get(|| async { asset("text/javascript", HTMX) }),
        )
        .route(
            "/ui/assets/workbench.css",
            get(|| async { asset("text/css", CSS.as_bytes()) }),
        )
        .route(
            "/ui/assets/workbench.js",
            get(|| async { asset("text/javascript", JS.as_bytes()) }),
        )
        .route("/v1/workbench/sessions", post(api::sign_in))
        .route(
            "/v1/workbench/sessions/end-all",
            post(api::sign_out_everywhere),
        )
        .route("/v1/cases", get(api::cases))
        .route("/v1/cases/next", post(api::next))
        .route("/v1/cases/{id}", get(api::case))
        .route("/v1/cases/{id}/claim", post(api::claim))
        .route("/v1/cases/{id}/release", post(api::release))
        .route("/v1/cases/{id}/notes", post(api::note))
        .route("/v1/cases/{id}/decide", post(api::decide))
        .route("/v1/cases/{id}/close", post(api::close))
        .route("/v1/analysts", get(api::analysts).post(api::create_analyst))
        .route("/v1/labels", post(api::label))
        // Part 4's hold, list, bulk and search actions, and the admin's
        // changes to analysts (api_actions; the pages in ui_actions).
        .route(
            "/v1/cases/{id}/holds",
            get(api_actions::holds).post(api_actions::place_hold),
        )
        .route("/v1/cases/{id}/holds/lift", post(api_actions::lift_hold))
        .route("/v1/cases/{id}/lists", post(api_actions::add_to_list))
        .route("/v1/cases/bulk", post(api_actions::bulk))
        .route("/v1/search", get(api_actions::search))
        .route(
            "/v1/analysts/{login}/disable",
            post(api_actions::disable_analyst),
        )
        .route(
            "/v1/analysts/{login}/enable",
            post(api_actions::enable_analyst),
        )
        .route(
            "/v1/analysts/{login}/reset",
            post(api_actions::reset_analyst),
        )
        .route("/ui/cases/{id}/hold", post(ui_actions::place_hold))
        .route("/ui/cases/{id}/lift", post(ui_actions::lift_hold))
        .route("/ui/cases/{id}/list", post(ui_actions::add_to_list))
        .route("/ui/queue/bulk", post(ui_actions::bulk))
        .route("/ui/search", get(ui_actions::search))
        .merge(quality::routes())
        .route(
            "/ui/analysts/{login}/disable",
            post(ui_actions::disable_analyst),
        )
        .route(
            "/ui/analysts/{login}/enable",
            post(ui_actions::enable_analyst),
        )
        .route(
            "/ui/analysts/{login}/reset",
            post(ui_actions::reset_analyst),
        )
        .merge(passkey_routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&wb),
            client_address,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(wb)
}

/// Passkey sign-in, registration and removal: pages and API.
fn passkey_routes() -> Router<Arc<Workbench>> {
    Router::new()
        .route(
            "/ui/assets/passkey.js",
            get(|| async { asset("text/javascript", PASSKEY_JS.as_bytes()) }),
        )
        .route("/ui/passkeys", get(ui_passkeys::passkeys_page))
        .route("/ui/passkeys/start", post(ui_passkeys::register_start))
        .route("/ui/passkeys/finish", post(ui_passkeys::register_finish))
        .route("/ui/login/passkey/start", post(ui_passkeys::sign_in_start))
        .route(
            "/ui/login/passkey/finish",
            post(ui_passkeys::sign_in_finish),
        )
        .route(
            "/ui/analysts/{login}/passkeys/remove",
            post(ui_passkeys::remove),
        )
        .route(
            "/v1/workbench/passkeys/sign-in/start",
            post(api_passkeys::sign_in_start),
        )
        .route(
            "/v1/workbench/passkeys/sign-in/finish",
            post(api_passkeys::sign_in_finish),
        )
        .route("/v1/workbench/passkeys", get(api_passkeys::list))
        .route(
            "/v1/workbench/passkeys/register/start",
            post(api_passkeys::register_start),
        )
        .route(
            "/v1/workbench/passkeys/register/finish",
            post(api_passkeys::register_finish),
        )
        .route("/v1/workbench/passkeys/remove", post(api_passkeys::remove))
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
}

/// No framing, no sniffing, no referrer, scripts and styles from here only,
/// and pages never cached (they show case data).
async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, header::CACHE_CONTROL, "no-store");
    res
}

tokio::task_local! {
    /// The client address of the request being handled ([`client_address`]).
    static CLIENT: Option<String>;
}

/// Makes the client's address known to the handlers of this request, as
/// [`crate::throttle::address_key`]: the connection's peer (axum's
/// `ConnectInfo`, when the server gives it), or with
/// [`crate::Config::trust_forwarded_for`] the last `X-Forwarded-For` entry.
async fn client_address(
    axum::extract::State(wb): axum::extract::State<Arc<Workbench>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let ip = if wb.config.trust_forwarded_for {
        forwarded_for(req.headers())
    } else {
        req.extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    };
    let addr = ip.map(crate::throttle::address_key);
    CLIENT.scope(addr, next.run(req)).await
}

/// The last `X-Forwarded-For` entry: the one the trusted proxy appended.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()?;
    last.trim().parse().ok()
}

/// The client address of the current request, if the server gave it.
pub(crate) fn client() -> Option<String> {
    CLIENT.try_with(Clone::clone).ok().flatten()
}

/// A typed login as logged: at most 64 characters, controls escaped.
fn printable(login: &str) -> String {
    login
        .chars()
        .take(64)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Signs an analyst in (argon2 off the async threads), starts a session
/// and logs the sign-in; a failed one is counted ([`crate::throttle`]) and
/// logged too (who was tried, from where, when; never the password).
pub(crate) async fn sign_in(
    wb: &Arc<Workbench>,
    login: &str,
    password: &str,
    code: &str,
    locale: Locale,
) -> Result<(String, Session), WbError> {
    let addr = client();
    match wb.throttle.check(login, addr.as_deref(), wb.now_ms()) {
        crate::throttle::Verdict::Wait => {
            metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "throttled")
                .increment(1);
            return Err(WbError::Throttled);
        }
        crate::throttle::Verdict::Go { delay_ms } if delay_ms > 0 => {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        crate::throttle::Verdict::Go { .. } => {}
    }
    let (w, l, p, c, a) = (
        Arc::clone(wb),
        login.to_string(),
        zeroize::Zeroizing::new(password.to_string()),
        code.to_string(),
        addr.clone(),
    );
    let now = wb.now_ms();
    let wait = std::time::Duration::from_millis(crate::SIGN_IN_WAIT_MS);
    let _permit = tokio::time::timeout(wait, wb.sign_ins.acquire())
        .await
        .map_err(|_| WbError::Throttled)?
        .map_err(|_| WbError::Throttled)?;
    let verified =
        tokio::task::spawn_blocking(move || w.analysts.verify_from(&l, &p, &c, now, a.as_deref()))
            .await
            .map_err(|e| WbError::Storage(e.to_string()))?;
    let info = match verified {
        Ok(info) => info,
        Err(e @ (WbError::SignInFailed | WbError::Throttled)) => {
            wb.throttle.failed(login, addr.as_deref(), now);
            metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "failed")
                .increment(1);
            let act = Act::SignInFailed {
                login: printable(login),
                address: addr.clone().unwrap_or_else(|| "unknown".into()),
            };
            tracing::info!(login = %printable(login), address = ?addr, "workbench sign-in failed");
            if let Err(le) = wb.record("anonymous", &act, "").await {
                tracing::warn!(error = %le, "failed sign-in not logged");
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    wb.throttle.succeeded(&info.login, addr.as_deref());
    metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "signed_in").increment(1);
    let (token, session) =
        wb.sessions
            .create(&info.login, info.role, locale, &wb.config.default_tz, now);
    // Best effort: a host that cannot log analyst actions still lets an
    // analyst in to read (every action that changes a case is refused there).
    if let Err(e) = wb.record(&info.login, &Act::SignIn, "").await {
        tracing::warn!(login = %info.login, error = %e, "sign-in not logged");
    }
    Ok((token, session))
}

/// Ends every session of `login` and logs it.
pub(crate) async fn sign_out_everywhere(wb: &Workbench, login: &str) -> Result<usize, WbError> {
    let n = wb.sessions.end_all(login);
    wb.record(login, &Act::SignOutEverywhere, "").await?;
    Ok(n)
}
