//! Response builders: every response gets the API's headers.

use lambda_http::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// `{"message": "..."}`: 404, 405 and the discovery routes' errors.
#[derive(Serialize)]
pub struct Message<'a> {
    pub message: &'a str,
}

fn base(status: StatusCode, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, NO_STORE);
    h.insert(PRAGMA, NO_CACHE);
    resp
}

/// A JSON body; never cached.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => json_text(status, text),
        // Our own response types always serialise; this keeps a bug a clean 500.
        Err(_) => json_text(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal error"}"#.to_string(),
        ),
    }
}

/// A JSON body already serialised.
pub fn json_text(status: StatusCode, text: String) -> Response<Body> {
    let mut resp = base(status, Body::Text(text));
    resp.headers_mut().insert(CONTENT_TYPE, JSON);
    resp
}

/// No body and so no content type (the ops dialect's 401 and release).
pub fn empty(status: StatusCode) -> Response<Body> {
    base(status, Body::Empty)
}

/// A public document verifiers may cache for a while (`/.well-known/`).
pub fn public_json<T: Serialize>(doc: &T) -> Response<Body> {
    match serde_json::to_string(doc) {
        Ok(text) => public_json_text(text),
        Err(_) => json_text(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal error"}"#.to_string(),
        ),
    }
}

/// A public document already serialised.
pub fn public_json_text(text: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(text));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, JSON);
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// The header that hands a client the DPoP nonce to use (RFC 9449 §8).
pub const DPOP_NONCE: &str = "dpop-nonce";

/// `resp` with `name: value`; a value that cannot be a header is left out.
pub fn with_header(mut resp: Response<Body>, name: &'static str, value: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
    resp
}

pub fn with_retry_after(mut resp: Response<Body>, secs: u64) -> Response<Body> {
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}
