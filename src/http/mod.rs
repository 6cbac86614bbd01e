//! The edge: API Gateway events in, API responses out. A request's
//! context is read once ([`context`]), its route found in the one table
//! ([`routes`]), its body decoded by its dialect, served by the issuer core,
//! and the result encoded back in the dialect's shape; every error is put in
//! that shape in one place ([`error_response`]). What became of the request
//! ([`outcome`]) is returned to the observation layer ([`crate::observe`]),
//! which logs and counts it.

pub mod authorize;
pub mod context;
mod device;
pub mod discovery;
pub mod format;
pub mod logout;
pub mod oauth;
pub mod ops;
mod outcome;
pub mod page;
mod register;
pub mod request;
pub mod response;
pub mod routes;
pub mod token;
pub mod user;
pub mod v2;

use crate::core::sign::Refresh;
use crate::core::store::Store;
use crate::core::{Error, Fault, Issuer, Refusal};
use crate::metrics;
use crate::observe::observe;
pub use context::Context;
use lambda_http::http::header::{HeaderValue, ALLOW};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use outcome::{End, Served};
pub use request::RequestError;
use routes::{DialectName, Lookup, Route};
use std::sync::Arc;
use user::User;
use v2::V2;

/// What the edge itself needs from configuration.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Fixed issuer URL; `None` derives it per request from the API Gateway domain.
    pub fixed_issuer: Option<String>,
    /// Every route answers within this, with the dialect's server error if
    /// storage is too slow: below the function's timeout, so a slow DynamoDB
    /// never becomes API Gateway's own 503.
    pub deadline: std::time::Duration,
}

/// Everything a request needs, built once at cold start.
pub struct App<S, K> {
    issuer: Issuer<S>,
    /// The keys the issuer signs with, asked to refresh before each request.
    keys: Arc<K>,
    edge: EdgeSettings,
}

impl<S: Store, K: Refresh> App<S, K> {
    pub fn new(issuer: Issuer<S>, keys: Arc<K>, edge: EdgeSettings) -> Self {
        Self { issuer, keys, edge }
    }

    pub fn issuer(&self) -> &Issuer<S> {
        &self.issuer
    }
}

/// What went wrong with a request, before it is put in a dialect's shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Fault(#[from] Fault),
    #[error("the route's deadline of {0:?} passed")]
    Deadline(std::time::Duration),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Refused(r) => Self::Refused(r),
            Error::Fault(f) => Self::Fault(f),
        }
    }
}

/// A dialect's answers to what is not a success. `refused` matches
/// [`Refusal`] exhaustively in every dialect, so a new refusal does not
/// compile until each one answers it.
pub trait Dialect {
    fn invalid_request(err: &RequestError) -> Response<Body>;
    fn refused(refusal: &Refusal) -> Response<Body>;
    fn server_error() -> Response<Body>;
}

/// The one place an error becomes a response.
fn error_response<D: Dialect>(err: &ApiError) -> Response<Body> {
    match err {
        ApiError::Request(e) => D::invalid_request(e),
        ApiError::Refused(refusal) => {
            let resp = D::refused(refusal);
            // Every dialect's too-many-attempts answer carries Retry-After.
            match refusal {
                Refusal::TooManyAttempts { retry_after_secs } => {
                    response::with_retry_after(resp, *retry_after_secs)
                }
                Refusal::InvalidCredentials
                | Refusal::InvalidRefreshToken
                | Refusal::InvalidSession
                | Refusal::PasswordNotAllowed(_)
                | Refusal::InvalidClient
                | Refusal::UnauthorizedClient(_)
                | Refusal::InvalidCode
                | Refusal::InvalidScope
                | Refusal::InvalidToken
                | Refusal::InsufficientScope(_)
                | Refusal::InvalidTarget
                | Refusal::InvalidDpopProof(_)
                | Refusal::DpopRequired
                | Refusal::InvalidDpopToken
                | Refusal::Device(_) => resp,
                // The nonce to retry with (RFC 9449 §8).
                Refusal::UseDpopNonce(nonce) => {
                    response::with_header(resp, response::DPOP_NONCE, nonce)
                }
            }
        }
        ApiError::Fault(_) | ApiError::Deadline(_) => D::server_error(),
    }
}

fn encode_error(dialect: DialectName, err: &ApiError) -> Response<Body> {
    match dialect {
        DialectName::V2 => error_response::<v2::V2>(err),
        DialectName::User => error_response::<user::User>(err),
        DialectName::Ops => error_response::<ops::Ops>(err),
        DialectName::OAuth => error_response::<oauth::OAuth>(err),
        DialectName::OAuthPage => error_response::<authorize::Page>(err),
        DialectName::Discovery => error_response::<discovery::Discovery>(err),
    }
}

fn message(status: StatusCode, text: &str) -> Response<Body> {
    response::json(status, &response::Message { message: text })
}

/// The route a request is for (`None` for 404 and 405); public for fuzzing.
pub fn route_name(req: &Request) -> Option<&'static str> {
    let ctx = Context::read(req, None);
    let issuer_path = routes::issuer_path(&ctx.issuer_url);
    match routes::lookup_for_issuer(&ctx.path, req.method(), issuer_path) {
        Lookup::Found(spec) => Some(spec.name),
        _ => None,
    }
}

/// Serves one request. Never fails: every error becomes a documented response.
/// It runs in the observation layer: its log lines carry the Lambda request
/// id and X-Ray trace id, and it ends with one summary line and one metrics
/// document.
pub async fn handle<S: Store, K: Refresh>(app: &App<S, K>, req: Request) -> Response<Body> {
    let ctx = Context::read(&req, app.edge.fixed_issuer.as_deref());
    let ids = metrics::Ids {
        lambda_request_id: ctx.lambda_request_id.as_deref(),
        trace_id: ctx.trace_id.as_deref(),
        api_request_id: Some(&ctx.request_id),
    };
    observe(metrics::ISSUER, ids, serve(app, &ctx, &req)).await
}

/// A route's answer. `refused` is a refusal the route answered with a page
/// of its own (the login page shown again after a wrong password): the
/// request counts as that refusal, not as a success.
pub struct Answer {
    pub response: Response<Body>,
    pub refused: Option<Refusal>,
}

impl From<Response<Body>> for Answer {
    fn from(response: Response<Body>) -> Self {
        Self {
            response,
            refused: None,
        }
    }
}

/// The route's response and what became of the request.
async fn serve<'c, S: Store, K: Refresh>(
    app: &App<S, K>,
    ctx: &'c Context,
    req: &Request,
) -> (Response<Body>, Served<'c>) {
    let served = |response: Response<Body>, end| {
        let status = response.status();
        (response, Served { ctx, status, end })
    };
    let issuer_path = routes::issuer_path(&ctx.issuer_url);
    let spec = match routes::lookup_for_issuer(&ctx.path, req.method(), issuer_path) {
        Lookup::Found(spec) => spec,
        Lookup::MethodNotAllowed(allow) => {
            let mut resp = message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            let allow: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
            if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                resp.headers_mut().insert(ALLOW, value);
            }
            return served(resp, End::MethodNotAllowed);
        }
        Lookup::NotFound => {
            return served(message(StatusCode::NOT_FOUND, "Not Found"), End::NotFound);
        }
    };
    let deadline = app.edge.deadline;
    // Boxed: the routes' futures together are large, and a debug build
    // moving them on the stack overflowed a test thread's 2 MiB.
    let result = tokio::time::timeout(deadline, Box::pin(dispatch(app, spec.route, ctx, req)))
        .await
        .unwrap_or(Err(ApiError::Deadline(deadline)));
    match result {
        Ok(Answer { response, refused }) => served(
            response,
            End::Answered {
                route: spec,
                refused,
            },
        ),
        Err(error) => served(
            encode_error(spec.dialect, &error),
            End::Failed { route: spec, error },
        ),
    }
}

async fn dispatch<S: Store, K: Refresh>(
    app: &App<S, K>,
    route: Route,
    ctx: &Context,
    req: &Request,
) -> Result<Answer, ApiError> {
    let issuer = &app.issuer;
    // Within the deadline: a slow key ring read is bounded by it too.
    app.keys.refresh_if_due().await;
    Ok(match route {
        Route::V2Login => token::login::<V2, _>(issuer, ctx, req).await?.into(),
        Route::V2Refresh => token::refresh::<V2, _>(issuer, ctx, req).await?.into(),
        Route::V2Revoke => token::revoke::<V2, _>(issuer, ctx, req).await?.into(),
        Route::UserAuthenticate => token::login::<User, _>(issuer, ctx, req).await?.into(),
        Route::UserRefresh => token::refresh::<User, _>(issuer, ctx, req).await?.into(),
        Route::UserLogout => token::revoke::<User, _>(issuer, ctx, req).await?.into(),
        Route::OpsAcquire => ops::acquire(issuer, ctx, req).await?.into(),
        Route::OpsCurrentUser => ops::current_user(issuer, req).await?.into(),
        Route::OpsRelease => ops::release(issuer, ctx, req).await?.into(),
        Route::OpsPasswordChange => ops::password_change(issuer, ctx, req).await?.into(),
        Route::OAuthAuthorize => authorize::show(issuer, ctx, req).await?.into(),
        Route::OAuthAuthorizeSubmit => authorize::submit(issuer, ctx, req).await?,
        Route::OAuthLogout => logout::logout(issuer, ctx, req).await?.into(),
        Route::OAuthToken => oauth::token(issuer, ctx, req).await?.into(),
        Route::OAuthRevoke => oauth::revoke(issuer, ctx, req).await?.into(),
        Route::OAuthIntrospect => oauth::introspect(issuer, ctx, req).await?.into(),
        Route::OAuthUserInfo => oauth::userinfo(issuer, ctx, req).await?.into(),
        Route::OAuthRegister => register::register(issuer, ctx, req).await?.into(),
        Route::OAuthDeviceAuthorization => {
            oauth::device_authorization(issuer, ctx, req).await?.into()
        }
        Route::OAuthDevice => device::show(issuer, ctx, req).await?.into(),
        Route::OAuthDeviceSubmit => device::submit(issuer, ctx, req).await?.into(),
        Route::OAuthDeviceCallback => device::callback(issuer, ctx, req).await?.into(),
        Route::AuthorizationServerMetadata => discovery::authorization_server(issuer, ctx)?.into(),
        Route::OpenIdConfiguration => discovery::openid_configuration(issuer, ctx)?.into(),
        Route::Jwks => discovery::jwks(issuer)?.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_many<D: Dialect>() -> (u16, Option<String>, String) {
        let resp = error_response::<D>(&ApiError::Refused(Refusal::TooManyAttempts {
            retry_after_secs: 120,
        }));
        let (parts, body) = resp.into_parts();
        let retry = parts
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (
            parts.status.as_u16(),
            retry,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[test]
    fn too_many_attempts_in_every_dialect_carries_retry_after() {
        let retry = Some("120".to_string());
        assert_eq!(
            too_many::<v2::V2>(),
            (
                429,
                retry.clone(),
                r#"{"errorCode":"AUTH_1003","errorMessage":"Too many failed attempts","content":"","pageable":""}"#.into()
            )
        );
        assert_eq!(
            too_many::<user::User>(),
            (
                429,
                retry.clone(),
                r#"{"responseKey":"TOO_MANY_ATTEMPTS","responseMessage":"Too many failed attempts"}"#.into()
            )
        );
        assert_eq!(
            too_many::<ops::Ops>(),
            (
                429,
                retry.clone(),
                r#"{"message":"Too many failed attempts","httpStatusCode":429,"apiErrorCode":429}"#
                    .into()
            )
        );
        // RFC 6749 §5.2 has no 429: a locked username is invalid_grant.
        assert_eq!(
            too_many::<oauth::OAuth>(),
            (
                400,
                retry,
                r#"{"error":"invalid_grant","error_description":"Too many failed attempts"}"#
                    .into()
            )
        );
    }
}
