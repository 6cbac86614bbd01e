//! Dialect ops: session tokens, empty 401s, `message`/`httpStatusCode`.

use super::format;
use super::request::{ops_token, JsonBody, LoginRequest, RequestError};
use super::routes::DialectName;
use super::{response, ApiError, Context, Dialect};
use crate::core::clock::epoch_millis;
use crate::core::password::Password;
use crate::core::record::user::DEFAULT_AUTH_SOURCE;
use crate::core::store::Store;
use crate::core::{Credentials, Issuer, Refusal};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

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
    /// Only when the user has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<&'a str>,
}

/// The acquire body: `username`, `password`, optional `authSource` (absent,
/// `null` and `""` mean `local`).
#[derive(Debug)]
pub struct AcquireRequest {
    pub login: LoginRequest,
    pub auth_source: String,
}

impl AcquireRequest {
    pub fn decode(body: &JsonBody) -> Result<Self, RequestError> {
        Ok(Self {
            login: LoginRequest::decode(body, "username")?,
            auth_source: body
                .optional_str("authSource")?
                .unwrap_or(DEFAULT_AUTH_SOURCE)
                .to_string(),
        })
    }
}

impl From<AcquireRequest> for Credentials {
    fn from(req: AcquireRequest) -> Self {
        Credentials {
            auth_source: Some(req.auth_source),
            ..req.login.into()
        }
    }
}

/// The change-password body: `currentPassword`, `newPassword`.
#[derive(Debug)]
pub struct PasswordChangeRequest {
    pub current_password: Password,
    pub new_password: Password,
}

impl PasswordChangeRequest {
    pub fn decode(req: &Request) -> Result<Self, RequestError> {
        let body = JsonBody::from_request(req)?;
        Ok(Self {
            current_password: body.password("currentPassword")?,
            new_password: body.password("newPassword")?,
        })
    }
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
    fn invalid_request(_: &RequestError) -> Response<Body> {
        failure(StatusCode::BAD_REQUEST, "Invalid request")
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        match refusal {
            Refusal::InvalidCredentials
            | Refusal::InvalidSession
            | Refusal::InvalidRefreshToken => response::empty(StatusCode::UNAUTHORIZED),
            Refusal::TooManyAttempts { .. } => {
                failure(StatusCode::TOO_MANY_REQUESTS, "Too many failed attempts")
            }
            Refusal::PasswordNotAllowed(_) => {
                failure(StatusCode::BAD_REQUEST, "The new password is not allowed")
            }
            // Only the oauth dialect's routes refuse these.
            Refusal::InvalidClient | Refusal::InvalidToken => {
                response::empty(StatusCode::UNAUTHORIZED)
            }
            Refusal::UnauthorizedClient(_)
            | Refusal::InvalidCode
            | Refusal::InvalidScope
            | Refusal::InsufficientScope(_)
            | Refusal::InvalidTarget
            | Refusal::InvalidDpopProof(_)
            | Refusal::UseDpopNonce(_)
            | Refusal::DpopRequired
            | Refusal::InvalidDpopToken
            | Refusal::Device(_) => failure(StatusCode::BAD_REQUEST, "Invalid request"),
        }
    }

    fn server_error() -> Response<Body> {
        failure(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    }
}

pub fn decode_acquire(req: &Request) -> Result<Credentials, RequestError> {
    AcquireRequest::decode(&JsonBody::from_request(req)?).map(Credentials::from)
}

/// `POST /api/auth/token/acquire`
pub async fn acquire<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let creds = decode_acquire(req)?;
    let grant = issuer
        .login_with_session(creds, &ctx.origin(DialectName::Ops))
        .await?;
    Ok(response::json(
        StatusCode::OK,
        &Acquired {
            token: grant.token.expose(),
            validity: epoch_millis(grant.expires_at),
            expires_at: format::ops_expires_at(grant.expires_at),
            roles: &grant.user.roles,
        },
    ))
}

/// `GET /api/auth/currentuser`
pub async fn current_user<S: Store>(
    issuer: &Issuer<S>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let token = ops_token(req).ok_or(Refusal::InvalidSession)?;
    let user = issuer.current_user(token).await?;
    Ok(response::json(
        StatusCode::OK,
        &CurrentUser {
            id: user.id.to_string(),
            username: user.username.as_str(),
            enabled: user.enabled,
            role_names: &user.roles,
            last_login_time: user.last_login_at.map(epoch_millis),
            email_address: Some(user.email.as_str()).filter(|e| !e.is_empty()),
        },
    ))
}

/// `POST /api/auth/token/release`
pub async fn release<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let token = ops_token(req).ok_or(Refusal::InvalidSession)?;
    issuer.release(token, &ctx.origin(DialectName::Ops)).await?;
    Ok(response::empty(StatusCode::OK))
}

/// `PUT /api/auth/users/passwordchange`
pub async fn password_change<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let token = ops_token(req).ok_or(Refusal::InvalidSession)?;
    let body = PasswordChangeRequest::decode(req)?;
    issuer
        .change_password(
            token,
            body.current_password,
            body.new_password,
            &ctx.issuer_url,
            &ctx.origin(DialectName::Ops),
        )
        .await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
