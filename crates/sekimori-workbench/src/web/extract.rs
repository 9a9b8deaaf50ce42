//! Bodies read without axum's default rejections: a JSON or form body that
//! does not fit is a 400 `invalid_value` naming the field, never a plain
//! text answer, and never echoing a value (passwords pass here).

use crate::error::WbError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// A form body (`application/x-www-form-urlencoded`) of type `T`.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

fn quiet(path: String, e: &dyn std::fmt::Display) -> WbError {
    let msg = e.to_string();
    let message = if msg.starts_with("missing field") {
        "required field is missing"
    } else if msg.starts_with("unknown field") {
        "no such field"
    } else {
        "not a valid value for this field"
    };
    let path = match (path.as_str(), msg.split('`').nth(1)) {
        ("" | ".", Some(field)) if msg.starts_with("missing field") => field.to_string(),
        _ => path,
    };
    WbError::invalid(&path, message)
}

async fn bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, WbError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|_| WbError::invalid("", "the body is too large or unreadable"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = WbError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WbError> {
        let body = bytes(req, state).await?;
        // Every body of the API is a JSON object: a top-level array (which an
        // internally tagged body, read through `deserialize_any`, would take
        // for the values of its fields) is refused before decoding.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(WbError::invalid("", "the body must be a JSON object"));
        }
        // An array where an object belongs is refused at its path, at any
        // depth (serde would read a struct from the array of its values).
        let de = sekimori_event::strict::Strict(&mut serde_json::Deserializer::from_slice(&body));
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| quiet(e.path().to_string(), e.inner()))
    }
}

/// A form that does not fit, as an error page.
#[derive(Debug)]
pub struct FormRejection(pub WbError);

impl axum::response::IntoResponse for FormRejection {
    fn into_response(self) -> axum::response::Response {
        let page = crate::pages::error_page(None, &self.0.to_string());
        (self.0.status(), page).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = FormRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, FormRejection> {
        let body = bytes(req, state).await.map_err(FormRejection)?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&body));
        serde_path_to_error::deserialize(de)
            .map(PageForm)
            .map_err(|e| FormRejection(quiet(e.path().to_string(), e.inner())))
    }
}
