//! `/.well-known/` documents for JWT verifiers.

use super::request::RequestError;
use super::{message, response, ApiError, Context, Dialect};
use crate::core::store::Store;
use crate::core::{Issuer, Refusal};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

/// The documents' error shape: the plain `{"message": ...}` of 404 and 405.
pub struct Discovery;

impl Dialect for Discovery {
    fn invalid_request(_: &RequestError) -> Response<Body> {
        message(StatusCode::BAD_REQUEST, "Bad Request")
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        // The documents are public: nothing here refuses a caller.
        match refusal {
            Refusal::InvalidCredentials
            | Refusal::InvalidRefreshToken
            | Refusal::InvalidSession
            | Refusal::TooManyAttempts { .. }
            | Refusal::PasswordNotAllowed(_) => message(StatusCode::FORBIDDEN, "Forbidden"),
        }
    }

    fn server_error() -> Response<Body> {
        message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    }
}

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
pub fn openid_configuration(ctx: &Context) -> Result<Response<Body>, ApiError> {
    let issuer = &ctx.issuer_url;
    let doc = OpenIdConfiguration {
        issuer,
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        id_token_signing_alg_values_supported: ["RS256"],
        subject_types_supported: ["public"],
        response_types_supported: ["token"],
        token_endpoint: format!("{issuer}/api/v2/auth/token"),
        claims_supported: CLAIMS,
    };
    Ok(response::public_json(&doc))
}

/// `GET /.well-known/jwks.json`: serialised once at cold start.
pub fn jwks<S: Store>(issuer: &Issuer<S>) -> Result<Response<Body>, ApiError> {
    Ok(response::public_json_text(
        issuer.keys().current().jwks_json().to_string(),
    ))
}
