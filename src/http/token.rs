//! The token dialects' routes (log in, refresh, revoke), written once: v2 and
//! user differ only in their wire types, which each gives as a
//! [`TokenDialect`]. Decoding, the call into the core and the error shapes
//! are the same code for both.

use super::request::{JsonBody, LoginRequest, RefreshRequest, RequestError};
use super::routes::DialectName;
use super::{response, ApiError, Context, Dialect};
use crate::core::store::Store;
use crate::core::{Credentials, Issuer, TokenGrant};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

/// A dialect that hands out access and refresh tokens. Its refusals and
/// faults are its [`Dialect`]; every success is a `200` with one of these
/// bodies.
pub trait TokenDialect: Dialect {
    /// The name its audit events carry.
    const NAME: DialectName;
    /// The log-in body's username key (the body's other key is `password`).
    const USERNAME_KEY: &'static str;
    /// The body of a log in's or a refresh's grant.
    fn granted(grant: &TokenGrant) -> impl Serialize + '_;
    /// The body of a revocation.
    fn revoked() -> impl Serialize;
}

/// A grant in the dialect's success body. A function of its own because a
/// temporary in an async fn's tail outlives the fn's locals, and the body
/// borrows the grant.
fn granted<D: TokenDialect>(grant: &TokenGrant) -> Response<Body> {
    response::json(StatusCode::OK, &D::granted(grant))
}

/// The log-in body, with the dialect's username key.
pub fn decode_login<D: TokenDialect>(req: &Request) -> Result<Credentials, RequestError> {
    LoginRequest::decode(&JsonBody::from_request(req)?, D::USERNAME_KEY).map(Credentials::from)
}

/// Log in: credentials for a grant.
pub async fn login<D: TokenDialect, S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let creds = decode_login::<D>(req)?;
    let grant = issuer
        .login_with_tokens(creds, &ctx.origin(D::NAME), &ctx.issuer_url)
        .await?;
    Ok(granted::<D>(&grant))
}

/// Refresh: a refresh token for the next grant of its family. Fields other
/// than `refreshToken` (the user dialect's `accessToken`) are ignored.
pub async fn refresh<D: TokenDialect, S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let body = RefreshRequest::decode(req)?;
    let grant = issuer
        .refresh(&body.refresh_token, &ctx.origin(D::NAME), &ctx.issuer_url)
        .await?;
    Ok(granted::<D>(&grant))
}

/// Revoke (the user dialect's log out): a refresh token's family ends.
pub async fn revoke<D: TokenDialect, S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let body = RefreshRequest::decode(req)?;
    issuer
        .revoke(&body.refresh_token, &ctx.origin(D::NAME))
        .await?;
    Ok(response::json(StatusCode::OK, &D::revoked()))
}
