//! Dialect v2: `errorCode` / `errorMessage` / `content` / `pageable`. Its
//! routes are the token dialects' ([`super::token`]) with these wire types.

use super::request::RequestError;
use super::routes::DialectName;
use super::token::{self, TokenDialect};
use super::{response, Dialect};
use crate::core::{Credentials, Refusal, TokenGrant};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret;
use serde::Serialize;

pub struct V2;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<C, P> {
    error_code: &'static str,
    error_message: &'static str,
    content: C,
    pageable: P,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pageable {
    page: u32,
    size: u32,
    total_pages: u32,
    total_elements: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenContent<'a> {
    customer_id: String,
    token: &'a str,
    refresh_token: &'a str,
    validity_time: i64,
}

fn failure(status: StatusCode, code: &'static str, message: &'static str) -> Response<Body> {
    response::json(
        status,
        &Envelope {
            error_code: code,
            error_message: message,
            content: "",
            pageable: "",
        },
    )
}

impl Dialect for V2 {
    fn invalid_request(_: &RequestError) -> Response<Body> {
        failure(StatusCode::BAD_REQUEST, "GEN_1001", "Invalid request")
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        match refusal {
            Refusal::InvalidCredentials => {
                failure(StatusCode::UNAUTHORIZED, "AUTH_1001", "Invalid credentials")
            }
            Refusal::InvalidRefreshToken | Refusal::InvalidSession => failure(
                StatusCode::UNAUTHORIZED,
                "AUTH_1002",
                "Invalid refresh token",
            ),
            Refusal::TooManyAttempts { .. } => failure(
                StatusCode::TOO_MANY_REQUESTS,
                "AUTH_1003",
                "Too many failed attempts",
            ),
            // No v2 route changes passwords.
            // Only the oauth dialect's routes refuse these; should one reach
            // a v2 route, the closest answer is its 400.
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
            | Refusal::Device(_) => failure(StatusCode::BAD_REQUEST, "GEN_1001", "Invalid request"),
        }
    }

    fn server_error() -> Response<Body> {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "GEN_1002",
            "Internal error",
        )
    }
}

impl TokenDialect for V2 {
    const NAME: DialectName = DialectName::V2;
    const USERNAME_KEY: &'static str = "username";

    fn granted(grant: &TokenGrant) -> impl Serialize + '_ {
        Envelope {
            error_code: "",
            error_message: "",
            content: [TokenContent {
                customer_id: grant.user.customer_id.to_string(),
                token: grant.access_token.expose_secret(),
                refresh_token: grant.refresh_token.expose(),
                validity_time: grant.access_ttl_secs,
            }],
            pageable: Pageable {
                page: 0,
                size: 10,
                total_pages: 1,
                total_elements: 1,
            },
        }
    }

    fn revoked() -> impl Serialize {
        Envelope {
            error_code: "",
            error_message: "",
            content: [(); 0],
            pageable: Pageable {
                page: 0,
                size: 10,
                total_pages: 0,
                total_elements: 0,
            },
        }
    }
}

/// The log-in body: `username`, `password`.
pub fn decode_login(req: &Request) -> Result<Credentials, RequestError> {
    token::decode_login::<V2>(req)
}
