//! Routing and the three dialects. A request is decoded by its dialect, served
//! by the issuer core, and encoded back in the dialect's shape; every error is
//! mapped to a response in one place per dialect ([`Dialect::error_response`]).

pub mod discovery;
pub mod format;
pub mod ops;
pub mod request;
pub mod response;
pub mod user;
pub mod v2;

use crate::config::Config;
use crate::core::clock::Clock;
use crate::core::throttle::ThrottleSettings;
use crate::core::{AuthError, Issuer, Settings};
use crate::keys::KeySet;
use crate::store::Store;
use lambda_http::http::header::{HeaderValue, ALLOW, HOST};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
pub use request::RequestError;
use std::sync::Arc;

/// Everything a request needs, built once at cold start.
pub struct App<S> {
    issuer: Issuer<S>,
    fixed_issuer: Option<String>,
}

impl<S: Store> App<S> {
    pub fn new(config: &Config, store: S, keys: KeySet, clock: Arc<dyn Clock>) -> Self {
        let settings = Settings {
            audience: config.audience.clone(),
            access_ttl: duration(config.access_token_ttl),
            refresh_ttl: duration(config.refresh_token_ttl),
            throttle: ThrottleSettings {
                threshold: config.lockout_threshold,
                initial: duration(config.lockout_initial),
                max: duration(config.lockout_max),
                ..ThrottleSettings::default()
            },
        };
        Self {
            issuer: Issuer::new(store, keys, clock, settings),
            fixed_issuer: config.issuer.clone(),
        }
    }

    pub fn issuer(&self) -> &Issuer<S> {
        &self.issuer
    }

    /// The configured issuer, or `https://` + the API's domain (+ `/stage`)
    /// so an API Gateway JWT authorizer pointed at it accepts our tokens (§7).
    pub fn issuer_url(&self, req: &Request) -> String {
        if let Some(fixed) = &self.fixed_issuer {
            return fixed.clone();
        }
        let (domain, stage) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (ctx.domain_name.clone(), ctx.stage.clone()),
            Some(RequestContext::ApiGatewayV1(ctx)) => (ctx.domain_name.clone(), ctx.stage.clone()),
            _ => (None, None),
        };
        let domain = domain
            .or_else(|| {
                req.headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .filter(|d| is_host(d))
            .unwrap_or_else(|| "localhost".to_string());
        match stage.as_deref() {
            None | Some("") | Some("$default") => format!("https://{domain}"),
            Some(stage) => format!("https://{domain}/{stage}"),
        }
    }
}

fn duration(d: std::time::Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Only host names (and a port) make it into the issuer: a forged Host header
/// must not put arbitrary text into tokens.
fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

/// What went wrong with a request, before it is put in a dialect's shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// A dialect maps every error to its own response shape, in one place.
pub trait Dialect {
    const NAME: &'static str;
    fn error_response(err: &ApiError) -> Response<Body>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    V2Login,
    V2Refresh,
    V2Revoke,
    UserAuthenticate,
    UserRefresh,
    UserLogout,
    OpsAcquire,
    OpsCurrentUser,
    OpsRelease,
    OpenIdConfiguration,
    Jwks,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::V2Login => "v2.login",
            Route::V2Refresh => "v2.refresh",
            Route::V2Revoke => "v2.revoke",
            Route::UserAuthenticate => "user.authenticate",
            Route::UserRefresh => "user.refresh",
            Route::UserLogout => "user.logout",
            Route::OpsAcquire => "ops.acquire",
            Route::OpsCurrentUser => "ops.currentuser",
            Route::OpsRelease => "ops.release",
            Route::OpenIdConfiguration => "discovery.openid-configuration",
            Route::Jwks => "discovery.jwks",
        }
    }
}

const ROUTES: &[(&str, Method, Route)] = &[
    ("/api/v2/auth/token", Method::POST, Route::V2Login),
    ("/api/v2/auth/token/refresh", Method::POST, Route::V2Refresh),
    ("/api/v2/auth/token/revoke", Method::POST, Route::V2Revoke),
    (
        "/api/user/authenticate",
        Method::POST,
        Route::UserAuthenticate,
    ),
    ("/api/user/refresh", Method::POST, Route::UserRefresh),
    ("/api/user/logout", Method::POST, Route::UserLogout),
    ("/api/auth/token/acquire", Method::POST, Route::OpsAcquire),
    ("/api/auth/currentuser", Method::GET, Route::OpsCurrentUser),
    ("/api/auth/token/release", Method::POST, Route::OpsRelease),
    (
        "/.well-known/openid-configuration",
        Method::GET,
        Route::OpenIdConfiguration,
    ),
    ("/.well-known/jwks.json", Method::GET, Route::Jwks),
];

enum Lookup {
    Found(Route),
    MethodNotAllowed(&'static Method),
    NotFound,
}

fn lookup(path: &str, method: &Method) -> Lookup {
    let mut allowed = None;
    for (p, m, route) in ROUTES {
        if *p == path {
            if m == method {
                return Lookup::Found(*route);
            }
            allowed = Some(m);
        }
    }
    allowed.map_or(Lookup::NotFound, Lookup::MethodNotAllowed)
}

/// The route a request is for (`None` for 404 and 405); public for fuzzing.
pub fn route_name(req: &Request) -> Option<&'static str> {
    match lookup(route_path(req), req.method()) {
        Lookup::Found(route) => Some(route.name()),
        _ => None,
    }
}

/// The path without the stage prefix that API Gateway adds (`/prod/api/...`).
fn route_path(req: &Request) -> &str {
    let path = req.uri().path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(stage) if !stage.is_empty() && stage != "$default" => {
            match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                Some(rest) if rest.starts_with('/') => rest,
                Some("") => "/",
                _ => path,
            }
        }
        _ => path,
    }
}

fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

fn message(status: StatusCode, text: &str) -> Response<Body> {
    response::json(status, &serde_json::json!({ "message": text }))
}

/// Serves one request. Never fails: every error becomes a contract response.
pub async fn handle<S: Store>(app: &App<S>, req: Request) -> Response<Body> {
    let request_id = request_id(&req);
    let route = match lookup(route_path(&req), req.method()) {
        Lookup::Found(route) => route,
        Lookup::MethodNotAllowed(allow) => {
            let mut resp = message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow.as_str()));
            tracing::info!(%request_id, route = "none", status = 405, "method not allowed");
            return resp;
        }
        Lookup::NotFound => {
            tracing::info!(%request_id, route = "none", status = 404, "not found");
            return message(StatusCode::NOT_FOUND, "Not Found");
        }
    };
    let (dialect, result) = match route {
        Route::V2Login => (v2::V2::NAME, finish::<v2::V2>(v2::login(app, &req).await)),
        Route::V2Refresh => (v2::V2::NAME, finish::<v2::V2>(v2::refresh(app, &req).await)),
        Route::V2Revoke => (v2::V2::NAME, finish::<v2::V2>(v2::revoke(app, &req).await)),
        Route::UserRefresh => (
            user::User::NAME,
            finish::<user::User>(user::refresh(app, &req).await),
        ),
        Route::UserLogout => (
            user::User::NAME,
            finish::<user::User>(user::logout(app, &req).await),
        ),
        Route::UserAuthenticate => (
            user::User::NAME,
            finish::<user::User>(user::authenticate(app, &req).await),
        ),
        Route::OpsAcquire => (
            ops::Ops::NAME,
            finish::<ops::Ops>(ops::acquire(app, &req).await),
        ),
        Route::OpsCurrentUser => (
            ops::Ops::NAME,
            finish::<ops::Ops>(ops::current_user(app, &req).await),
        ),
        Route::OpsRelease => (
            ops::Ops::NAME,
            finish::<ops::Ops>(ops::release(app, &req).await),
        ),
        Route::OpenIdConfiguration => ("discovery", ok(discovery::openid_configuration(app, &req))),
        Route::Jwks => ("discovery", ok(discovery::jwks(app))),
    };
    let route = route.name();
    let status = result.response.status().as_u16();
    match &result.error {
        None => tracing::info!(%request_id, route, dialect, status, outcome = "ok"),
        Some(err) if status >= 500 => {
            tracing::error!(%request_id, route, dialect, status, error = %chain(err), "request failed")
        }
        Some(err) => {
            tracing::info!(%request_id, route, dialect, status, outcome = %err, "request refused")
        }
    }
    result.response
}

/// A response and, when it reports one, the error behind it (for the log).
struct Outcome {
    response: Response<Body>,
    error: Option<ApiError>,
}

fn ok(response: Response<Body>) -> Outcome {
    Outcome {
        response,
        error: None,
    }
}

fn finish<D: Dialect>(result: Result<Response<Body>, ApiError>) -> Outcome {
    match result {
        Ok(response) => ok(response),
        Err(err) => {
            let mut response = D::error_response(&err);
            // Every dialect's too-many-attempts answer carries Retry-After (§2).
            if let ApiError::Auth(AuthError::TooManyAttempts { retry_after_secs }) = &err {
                response = response::with_retry_after(response, *retry_after_secs);
            }
            Outcome {
                response,
                error: Some(err),
            }
        }
    }
}

/// The error and its sources on one line, for the log.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_matches_exact_paths_and_methods() {
        assert!(matches!(
            lookup("/api/v2/auth/token", &Method::POST),
            Lookup::Found(Route::V2Login)
        ));
        assert!(matches!(
            lookup("/api/v2/auth/token", &Method::GET),
            Lookup::MethodNotAllowed(m) if *m == Method::POST
        ));
        assert!(matches!(
            lookup("/api/v2/auth/token/", &Method::POST),
            Lookup::NotFound
        ));
        assert!(matches!(
            lookup("/API/v2/auth/token", &Method::POST),
            Lookup::NotFound
        ));
    }

    fn too_many<D: Dialect>() -> (u16, Option<String>, String) {
        let out = finish::<D>(Err(ApiError::Auth(AuthError::TooManyAttempts {
            retry_after_secs: 120,
        })));
        let (parts, body) = out.response.into_parts();
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
                retry,
                r#"{"message":"Too many failed attempts","httpStatusCode":429,"apiErrorCode":429}"#
                    .into()
            )
        );
    }

    #[test]
    fn host_filter() {
        assert!(is_host("abc.execute-api.us-east-1.amazonaws.com"));
        assert!(is_host("localhost:9000"));
        assert!(!is_host("evil.com/path"));
        assert!(!is_host("a b"));
        assert!(!is_host(""));
    }
}
