//! Dialect v2 (seed 000): `errorCode` / `errorMessage` / `content` / `pageable`.

use super::request::{self, JsonBody, RequestError};
use super::{response, ApiError, App, Dialect};
use crate::core::{AuthError, Credentials, TokenGrant};
use crate::store::Store;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
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

impl Dialect for V2 {
    const NAME: &'static str = "v2";

    fn error_response(err: &ApiError) -> Response<Body> {
        let (status, code, message) = match err {
            ApiError::Request(_) => (StatusCode::BAD_REQUEST, "GEN_1001", "Invalid request"),
            ApiError::Auth(AuthError::InvalidCredentials) => {
                (StatusCode::UNAUTHORIZED, "AUTH_1001", "Invalid credentials")
            }
            ApiError::Auth(AuthError::InvalidRefreshToken | AuthError::InvalidSession) => (
                StatusCode::UNAUTHORIZED,
                "AUTH_1002",
                "Invalid refresh token",
            ),
            ApiError::Auth(AuthError::TooManyAttempts { .. }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "AUTH_1003",
                "Too many failed attempts",
            ),
            ApiError::Auth(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "GEN_1002",
                "Internal error",
            ),
        };
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
}

fn success(grant: &TokenGrant) -> Response<Body> {
    response::json(
        StatusCode::OK,
        &Envelope {
            error_code: "",
            error_message: "",
            content: [TokenContent {
                customer_id: grant.user.customer_id.to_string(),
                token: grant.access_token.expose(),
                refresh_token: grant.refresh_token.expose(),
                validity_time: grant.access_ttl_secs,
            }],
            pageable: Pageable {
                page: 0,
                size: 10,
                total_pages: 1,
                total_elements: 1,
            },
        },
    )
}

/// `POST /api/v2/auth/token/refresh`
pub async fn refresh<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = request::refresh_token(req)?;
    let grant = app.issuer().refresh(&token, &app.issuer_url(req)).await?;
    Ok(success(&grant))
}

/// `POST /api/v2/auth/token/revoke`
pub async fn revoke<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    app.issuer().revoke(&request::refresh_token(req)?).await?;
    Ok(response::json(
        StatusCode::OK,
        &Envelope {
            error_code: "",
            error_message: "",
            content: [(); 0],
            pageable: Pageable {
                page: 0,
                size: 10,
                total_pages: 0,
                total_elements: 0,
            },
        },
    ))
}

/// The log-in body: `username`, `password`.
pub fn decode_login(req: &Request) -> Result<Credentials, RequestError> {
    request::credentials(&JsonBody::from_request(req)?, "username")
}

/// `POST /api/v2/auth/token`
pub async fn login<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let creds = decode_login(req)?;
    let grant = app
        .issuer()
        .login_with_tokens(creds, &app.issuer_url(req))
        .await?;
    Ok(success(&grant))
}
