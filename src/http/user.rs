//! Dialect user (seed 001): `responseKey` / `responseMessage`.

use super::request::{self, JsonBody, RequestError};
use super::{response, ApiError, App, Dialect};
use crate::core::{AuthError, Credentials, TokenGrant};
use crate::store::Store;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

pub struct User;

/// The bare `responseKey`/`responseMessage` body of failures and of logout.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
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

/// UTC, RFC 3339 with exactly seven fractional digits: `2020-07-09T23:12:29.3560169Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

impl Dialect for User {
    const NAME: &'static str = "user";

    fn error_response(err: &ApiError) -> Response<Body> {
        let (status, key, message) = match err {
            ApiError::Request(_) => (
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "Invalid HTTP request",
            ),
            ApiError::Auth(AuthError::InvalidCredentials) => (
                StatusCode::UNAUTHORIZED,
                "INVALID_CREDENTIALS",
                "Invalid user name or password",
            ),
            ApiError::Auth(AuthError::InvalidRefreshToken | AuthError::InvalidSession) => (
                StatusCode::UNAUTHORIZED,
                "INVALID_REFRESH_TOKEN",
                "Invalid refresh token",
            ),
            ApiError::Auth(AuthError::TooManyAttempts { .. }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_ATTEMPTS",
                "Too many failed attempts",
            ),
            ApiError::Auth(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "SERVER_ERROR",
                "Server is temporarily unavailable",
            ),
        };
        response::json(
            status,
            &Failure {
                response_key: key,
                response_message: message,
            },
        )
    }
}

fn success(grant: &TokenGrant) -> Response<Body> {
    response::json(
        StatusCode::OK,
        &Success {
            access_token: grant.access_token.expose(),
            email: &grant.user.email,
            full_name: &grant.user.full_name,
            access_token_expiry_time: format_time(grant.access_expires_at),
            refresh_token: grant.refresh_token.expose(),
            refresh_token_expiry_time: format_time(grant.refresh_expires_at),
            response_key: "SUCCESS",
            response_message: "Successful request",
            role: grant.user.role,
            user_name: grant.user.username.as_str(),
        },
    )
}

/// `POST /api/user/refresh` (an `accessToken` field may be present; it is ignored)
pub async fn refresh<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = request::refresh_token(req)?;
    let grant = app.issuer().refresh(&token, &app.issuer_url(req)).await?;
    Ok(success(&grant))
}

/// `POST /api/user/logout`
pub async fn logout<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    app.issuer().revoke(&request::refresh_token(req)?).await?;
    Ok(response::json(
        StatusCode::OK,
        &Failure {
            response_key: "SUCCESS",
            response_message: "Successful request",
        },
    ))
}

/// The log-in body: `userName` (capital N, as the seed), `password`.
pub fn decode_login(req: &Request) -> Result<Credentials, RequestError> {
    request::credentials(&JsonBody::from_request(req)?, "userName")
}

/// `POST /api/user/authenticate`
pub async fn authenticate<S: Store>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let creds = decode_login(req)?;
    let grant = app
        .issuer()
        .login_with_tokens(creds, &app.issuer_url(req))
        .await?;
    Ok(success(&grant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn seven_fraction_digits() {
        assert_eq!(
            format_time(datetime!(2020-07-09 23:12:29.3560169 UTC)),
            "2020-07-09T23:12:29.3560169Z"
        );
        assert_eq!(
            format_time(datetime!(2021-01-02 03:04:05 UTC)),
            "2021-01-02T03:04:05.0000000Z"
        );
        // Sub-100 ns digits are cut, not rounded.
        assert_eq!(
            format_time(datetime!(2021-01-02 03:04:05.999999999 UTC)),
            "2021-01-02T03:04:05.9999999Z"
        );
    }
}
