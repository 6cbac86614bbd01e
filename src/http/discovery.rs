//! `/.well-known/` documents for JWT verifiers (contract §7).

use super::{response, App};
use crate::store::Store;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct OpenIdConfiguration<'a> {
    issuer: &'a str,
    jwks_uri: String,
    id_token_signing_alg_values_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    response_types_supported: [&'static str; 1],
    token_endpoint: String,
    claims_supported: &'static [&'static str],
}

const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "sid",
    "username",
    "name",
    "email",
    "roles",
    "role",
    "customer_id",
    "auth_source",
];

/// `GET /.well-known/openid-configuration`
pub fn openid_configuration<S: Store>(app: &App<S>, req: &Request) -> Response<Body> {
    let issuer = app.issuer_url(req);
    let doc = OpenIdConfiguration {
        issuer: &issuer,
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        id_token_signing_alg_values_supported: ["RS256"],
        subject_types_supported: ["public"],
        response_types_supported: ["token"],
        token_endpoint: format!("{issuer}/api/v2/auth/token"),
        claims_supported: CLAIMS,
    };
    match serde_json::to_string(&doc) {
        Ok(text) => response::public_json(text),
        Err(_) => response::json_text(
            lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal error"}"#.into(),
        ),
    }
}

/// `GET /.well-known/jwks.json`: serialised once at cold start.
pub fn jwks<S: Store>(app: &App<S>) -> Response<Body> {
    response::public_json(app.issuer().keys().jwks_json().to_string())
}
