//! Dialect user: `responseKey` / `responseMessage`. Its routes are the
//! token dialects' ([`super::token`]) with these wire types; its refresh
//! body may carry an `accessToken`, which is ignored.

use super::format;
use super::request::RequestError;
use super::routes::DialectName;
use super::token::{self, TokenDialect};
use super::{response, Dialect};
use crate::core::{Credentials, Refusal, TokenGrant};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret;
use serde::Serialize;

pub struct User;

/// The bare `responseKey`/`responseMessage` body: every failure, and
/// logout's success (saying `SUCCESS`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Keyed {
    response_key: &'static str,
    response_message: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Success<'a> {
    access_token: &'a str,
    email: &'a str,
    full_name: &'a str,
    access_token_expiry_time: String,
    refresh_token: &'a str,
    refresh_token_expiry_time: String,
    response_key: &'static str,
    response_message: &'static str,
    role: i64,
    user_name: &'a str,
}

fn failure(status: StatusCode, key: &'static str, message: &'static str) -> Response<Body> {
    response::json(
        status,
        &Keyed {
            response_key: key,
            response_message: message,
        },
    )
}

impl Dialect for User {
    fn invalid_request(_: &RequestError) -> Response<Body> {
        failure(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Invalid HTTP request",
        )
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        match refusal {
            Refusal::InvalidCredentials => failure(
                StatusCode::UNAUTHORIZED,
                "INVALID_CREDENTIALS",
                "Invalid user name or password",
            ),
            Refusal::InvalidRefreshToken | Refusal::InvalidSession => failure(
                StatusCode::UNAUTHORIZED,
                "INVALID_REFRESH_TOKEN",
                "Invalid refresh token",
            ),
            Refusal::TooManyAttempts { .. } => failure(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_ATTEMPTS",
                "Too many failed attempts",
            ),
            // No user route changes passwords or speaks OAuth; the closest
            // answer is its 400.
            Refusal::PasswordNotAllowed(_)
            | Refusal::InvalidClient
            | Refusal::UnauthorizedClient(_)
            | Refusal::InvalidCode
            | Refusal::InvalidScope
            | Refusal::InvalidToken
            | Refusal::InsufficientScope(_)
            | Refusal::InvalidTarget
            | Refusal::InvalidDpopProof(_)
            | Refusal::UseDpopNonce(_)
            | Refusal::DpopRequired
            | Refusal::InvalidDpopToken
            | Refusal::Device(_) => failure(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "Invalid HTTP request",
            ),
        }
    }

    fn server_error() -> Response<Body> {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "Server is temporarily unavailable",
        )
    }
}

impl TokenDialect for User {
    const NAME: DialectName = DialectName::User;
    const USERNAME_KEY: &'static str = "userName";

    fn granted(grant: &TokenGrant) -> impl Serialize + '_ {
        Success {
            access_token: grant.access_token.expose_secret(),
            email: &grant.user.email,
            full_name: &grant.user.full_name,
            access_token_expiry_time: format::user_time(grant.access_expires_at),
            refresh_token: grant.refresh_token.expose(),
            refresh_token_expiry_time: format::user_time(grant.refresh_expires_at),
            response_key: "SUCCESS",
            response_message: "Successful request",
            role: grant.user.role,
            user_name: grant.user.username.as_str(),
        }
    }

    fn revoked() -> impl Serialize {
        Keyed {
            response_key: "SUCCESS",
            response_message: "Successful request",
        }
    }
}

/// The log-in body: `userName` (capital N), `password`.
pub fn decode_login(req: &Request) -> Result<Credentials, RequestError> {
    token::decode_login::<User>(req)
}
