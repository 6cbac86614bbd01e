//! Dialect ops (seed 002): session tokens, empty 401s, `message`/`httpStatusCode`.

use super::request::{self, ops_token, JsonBody, RequestError};
use super::{response, ApiError, App, Dialect};
use crate::core::clock::epoch_millis;
use crate::core::user::DEFAULT_AUTH_SOURCE;
use crate::core::{AuthError, Credentials};
use crate::store::Store;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

pub struct Ops;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    message: &'static str,
    http_status_code: u16,
    api_error_code: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Acquired<'a> {
    token: &'a str,
    validity: i64,
    expires_at: String,
    roles: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CurrentUser<'a> {
    id: String,
    username: &'a str,
    enabled: bool,
    role_names: &'a [String],
    last_login_time: Option<i64>,
}

/// `Saturday, November 22, 2025 6:47:05 PM UTC`: cut to the second.
pub fn format_expires_at(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (hour12, meridiem) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}, {} {}, {} {}:{:02}:{:02} {} UTC",
        t.weekday(),
        t.month(),
        t.day(),
        t.year(),
        hour12,
        t.minute(),
        t.second(),
        meridiem
    )
}

fn failure(status: StatusCode, message: &'static str) -> Response<Body> {
    response::json(
        status,
        &Failure {
            message,
            http_status_code: status.as_u16(),
            api_error_code: status.as_u16(),
        },
    )
}

impl Dialect for Ops {
    const NAME: &'static str = "ops";

    fn error_response(err: &ApiError) -> Response<Body> {
        match err {
            ApiError::Request(_) => failure(StatusCode::BAD_REQUEST, "Invalid request"),
            ApiError::Auth(
                AuthError::InvalidCredentials
                | AuthError::InvalidSession
                | AuthError::InvalidRefreshToken,
            ) => response::empty(StatusCode::UNAUTHORIZED),
            ApiError::Auth(AuthError::TooManyAttempts { .. }) => {
                failure(StatusCode::TOO_MANY_REQUESTS, "Too many failed attempts")
            }
            ApiError::Auth(_) => failure(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }
}

/// The acquire body: `username`, `password`, optional `authSource` (absent,
/// `null` and `""` mean `local`).
pub fn decode_acquire(req: &Request) -> Result<Credentials, RequestError> {
    let body = JsonBody::from_request(req)?;
    let mut creds = request::credentials(&body, "username")?;
    let source = body
        .optional_str("authSource")?
        .unwrap_or(DEFAULT_AUTH_SOURCE);
    creds.auth_source = Some(source.to_string());
    Ok(creds)
}

/// `POST /api/auth/token/acquire`
pub async fn acquire<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let creds = decode_acquire(req)?;
    let grant = app.issuer().login_with_session(creds).await?;
    Ok(response::json(
        StatusCode::OK,
        &Acquired {
            token: grant.token.expose(),
            validity: epoch_millis(grant.expires_at),
            expires_at: format_expires_at(grant.expires_at),
            roles: &grant.user.roles,
        },
    ))
}

/// `GET /api/auth/currentuser`
pub async fn current_user<S: Store>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let token = ops_token(req).ok_or(AuthError::InvalidSession)?;
    let user = app.issuer().current_user(token).await?;
    Ok(response::json(
        StatusCode::OK,
        &CurrentUser {
            id: user.id.to_string(),
            username: user.username.as_str(),
            enabled: user.enabled,
            role_names: &user.roles,
            last_login_time: user.last_login_at.map(epoch_millis),
        },
    ))
}

/// `POST /api/auth/token/release`
pub async fn release<S: Store>(app: &App<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = ops_token(req).ok_or(AuthError::InvalidSession)?;
    app.issuer().release(token).await?;
    Ok(response::empty(StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expires_at_matches_the_seed() {
        // The contract's example: validity 1763837225035.
        let t = crate::core::clock::from_epoch_millis(1_763_837_225_035);
        assert_eq!(
            format_expires_at(t),
            "Saturday, November 22, 2025 6:47:05 PM UTC"
        );
    }

    #[test]
    fn twelve_hour_clock_edges() {
        assert_eq!(
            format_expires_at(datetime!(2026-01-05 00:05:09 UTC)),
            "Monday, January 5, 2026 12:05:09 AM UTC"
        );
        assert_eq!(
            format_expires_at(datetime!(2026-01-05 12:00:00 UTC)),
            "Monday, January 5, 2026 12:00:00 PM UTC"
        );
        assert_eq!(
            format_expires_at(datetime!(2026-01-05 11:59:59.999 UTC)),
            "Monday, January 5, 2026 11:59:59 AM UTC"
        );
    }
}
