//! The edge: API Gateway events in, API responses out. A request's
//! context is read once ([`context`]), its route found in the one table
//! ([`routes`]), its body decoded by its dialect, served by the issuer core,
//! and the result encoded back in the dialect's shape; every error is put in
//! that shape in one place ([`error_response`]).

pub mod authorize;
pub mod context;
pub mod discovery;
pub mod format;
pub mod oauth;
pub mod ops;
pub mod request;
pub mod response;
pub mod routes;
pub mod token;
pub mod user;
pub mod v2;

use crate::core::store::Store;
use crate::core::{Error, Fault, Issuer, Refusal};
use crate::metrics;
use crate::telemetry::chain;
pub use context::Context;
use lambda_http::http::header::{HeaderValue, ALLOW};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
pub use request::RequestError;
use routes::{DialectName, Lookup, Route};
use user::User;
use v2::V2;
use tracing::Instrument as _;

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
pub struct App<S> {
    issuer: Issuer<S>,
    edge: EdgeSettings,
}

impl<S: Store> App<S> {
    pub fn new(issuer: Issuer<S>, edge: EdgeSettings) -> Self {
        Self { issuer, edge }
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
                | Refusal::InsufficientScope(_) => resp,
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
    match routes::lookup(&ctx.path, req.method()) {
        Lookup::Found(spec) => Some(spec.name),
        _ => None,
    }
}

/// Serves one request. Never fails: every error becomes a documented response.
/// Its log lines carry the Lambda request id and X-Ray trace id (the span's
/// fields), and it ends with one metrics document.
pub async fn handle<S: Store>(app: &App<S>, req: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let ctx = Context::read(&req, app.edge.fixed_issuer.as_deref());
    let span = tracing::info_span!(
        "request",
        requestId = ctx.lambda_request_id.as_deref(),
        xrayTraceId = ctx.trace_id.as_deref(),
    );
    let (response, spec, outcome) = serve(app, &ctx, &req).instrument(span).await;
    let (route, dialect) = match spec {
        Some(s) => (s.name, s.dialect.as_str()),
        None => ("none", "none"),
    };
    metrics::Document {
        service: metrics::ISSUER,
        detail: Some(("Route", route)),
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
        outcome,
        events: vec![
            (metrics::REUSE_DETECTED, ctx.observed.reuse_detected()),
            (metrics::LOCK_STARTS, ctx.observed.lock_starts()),
            (metrics::ADDRESS_LOCKS, ctx.observed.address_locks()),
            (
                metrics::KNOWN_DEVICE_PASSES,
                ctx.observed.known_device_passes(),
            ),
        ],
        cold_start: metrics::take_cold_start(),
        properties: vec![
            ("Dialect", dialect.into()),
            ("Status", response.status().as_u16().into()),
        ],
        ids: metrics::Ids {
            lambda_request_id: ctx.lambda_request_id.as_deref(),
            trace_id: ctx.trace_id.as_deref(),
            api_request_id: Some(&ctx.request_id),
        },
        timestamp_ms: metrics::now_ms(),
    }
    .emit();
    response
}

/// The metric of what became of a request.
fn outcome(result: &Result<Response<Body>, ApiError>) -> &'static str {
    match result {
        Ok(_) => metrics::SUCCESS,
        Err(ApiError::Request(_)) => metrics::INVALID_REQUEST,
        Err(ApiError::Fault(_) | ApiError::Deadline(_)) => metrics::SERVER_ERROR,
        Err(ApiError::Refused(r)) => refused_outcome(r),
    }
}

fn refused_outcome(r: &Refusal) -> &'static str {
    match r {
        Refusal::InvalidCredentials => metrics::INVALID_CREDENTIALS,
        Refusal::TooManyAttempts { .. } => metrics::LOCKED,
        Refusal::InvalidRefreshToken => metrics::INVALID_REFRESH,
        Refusal::InvalidSession | Refusal::InvalidToken => metrics::INVALID_SESSION,
        Refusal::InvalidClient => metrics::INVALID_CLIENT,
        Refusal::PasswordNotAllowed(_)
        | Refusal::UnauthorizedClient(_)
        | Refusal::InvalidCode
        | Refusal::InvalidScope
        | Refusal::InsufficientScope(_) => metrics::OTHER_REFUSAL,
    }
}

/// The route's answer, the route, and the outcome's metric.
async fn serve<S: Store>(
    app: &App<S>,
    ctx: &Context,
    req: &Request,
) -> (
    Response<Body>,
    Option<&'static routes::RouteSpec>,
    &'static str,
) {
    let request_id = ctx.request_id.as_str();
    let spec = match routes::lookup(&ctx.path, req.method()) {
        Lookup::Found(spec) => spec,
        Lookup::MethodNotAllowed(allow) => {
            let mut resp = message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            let allow: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
            if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                resp.headers_mut().insert(ALLOW, value);
            }
            tracing::info!(
                request_id,
                route = "none",
                status = 405,
                "method not allowed"
            );
            return (resp, None, metrics::NOT_FOUND);
        }
        Lookup::NotFound => {
            tracing::info!(request_id, route = "none", status = 404, "not found");
            return (
                message(StatusCode::NOT_FOUND, "Not Found"),
                None,
                metrics::NOT_FOUND,
            );
        }
    };
    let deadline = app.edge.deadline;
    // Boxed: the routes' futures together are large, and a debug build
    // moving them on the stack overflowed a test thread's 2 MiB.
    let result = tokio::time::timeout(deadline, Box::pin(dispatch(app, spec.route, ctx, req)))
        .await
        .unwrap_or(Err(ApiError::Deadline(deadline)));
    let outcome = match ctx.shown_refusal.get() {
        Some(refusal) => refused_outcome(refusal),
        None => outcome(&result),
    };
    let (route, dialect) = (spec.name, spec.dialect.as_str());
    let response = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(request_id, route, dialect, status, outcome = "ok");
            response
        }
        Err(err) => {
            let response = encode_error(spec.dialect, &err);
            let status = response.status().as_u16();
            match &err {
                ApiError::Fault(_) | ApiError::Deadline(_) => {
                    tracing::error!(request_id, route, dialect, status, error = %chain(&err), "request failed")
                }
                ApiError::Request(_) | ApiError::Refused(_) => {
                    tracing::info!(request_id, route, dialect, status, outcome = %err, "request refused")
                }
            }
            response
        }
    };
    (response, Some(spec), outcome)
}

async fn dispatch<S: Store>(
    app: &App<S>,
    route: Route,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let issuer = &app.issuer;
    // Within the deadline: a slow key ring read is bounded by it too.
    issuer.keys().refresh_if_due().await;
    match route {
        Route::V2Login => token::login::<V2, _>(issuer, ctx, req).await,
        Route::V2Refresh => token::refresh::<V2, _>(issuer, ctx, req).await,
        Route::V2Revoke => token::revoke::<V2, _>(issuer, ctx, req).await,
        Route::UserAuthenticate => token::login::<User, _>(issuer, ctx, req).await,
        Route::UserRefresh => token::refresh::<User, _>(issuer, ctx, req).await,
        Route::UserLogout => token::revoke::<User, _>(issuer, ctx, req).await,
        Route::OpsAcquire => ops::acquire(issuer, ctx, req).await,
        Route::OpsCurrentUser => ops::current_user(issuer, req).await,
        Route::OpsRelease => ops::release(issuer, ctx, req).await,
        Route::OpsPasswordChange => ops::password_change(issuer, ctx, req).await,
        Route::OAuthAuthorize => authorize::show(issuer, ctx, req).await,
        Route::OAuthAuthorizeSubmit => authorize::submit(issuer, ctx, req).await,
        Route::OAuthToken => oauth::token(issuer, ctx, req).await,
        Route::OAuthRevoke => oauth::revoke(issuer, ctx, req).await,
        Route::OAuthIntrospect => oauth::introspect(issuer, ctx, req).await,
        Route::OAuthUserInfo => oauth::userinfo(issuer, ctx, req).await,
        Route::AuthorizationServerMetadata => discovery::authorization_server(ctx),
        Route::OpenIdConfiguration => discovery::openid_configuration(ctx),
        Route::Jwks => discovery::jwks(issuer),
    }
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
