//! What became of an issuer request, for the observation layer: its summary
//! line and the figures of its metrics document.

use super::routes::RouteSpec;
use super::{ApiError, Context};
use crate::core::Refusal;
use crate::metrics;
use crate::observe::Outcome;
use crate::telemetry::chain;
use lambda_http::http::StatusCode;
use serde_json::Value;

/// One request's outcome, as [`super::serve`] returns it.
pub struct Served<'a> {
    pub ctx: &'a Context,
    pub status: StatusCode,
    pub end: End,
}

/// How a request ended.
pub enum End {
    /// No route has the path.
    NotFound,
    /// A route has the path but not the method.
    MethodNotAllowed,
    /// The route answered. `refused` is a refusal it answered with a page
    /// of its own (see [`super::Answer`]).
    Answered {
        route: &'static RouteSpec,
        refused: Option<Refusal>,
    },
    /// What went wrong, answered in the route's dialect.
    Failed {
        route: &'static RouteSpec,
        error: ApiError,
    },
}

impl End {
    fn route(&self) -> Option<&'static RouteSpec> {
        match self {
            Self::NotFound | Self::MethodNotAllowed => None,
            Self::Answered { route, .. } | Self::Failed { route, .. } => Some(route),
        }
    }
}

impl Outcome for Served<'_> {
    fn log(&self) {
        let request_id = self.ctx.request_id.as_str();
        let status = self.status.as_u16();
        match &self.end {
            End::NotFound => tracing::info!(request_id, route = "none", status, "not found"),
            End::MethodNotAllowed => {
                tracing::info!(request_id, route = "none", status, "method not allowed")
            }
            End::Answered { route, .. } => {
                let (route, dialect) = (route.name, route.dialect.as_str());
                tracing::info!(request_id, route, dialect, status, outcome = "ok")
            }
            End::Failed { route, error } => {
                let (route, dialect) = (route.name, route.dialect.as_str());
                match error {
                    ApiError::Fault(_) | ApiError::Deadline(_) => {
                        tracing::error!(request_id, route, dialect, status, error = %chain(error), "request failed")
                    }
                    ApiError::Request(_) | ApiError::Refused(_) => {
                        tracing::info!(request_id, route, dialect, status, outcome = %error, "request refused")
                    }
                }
            }
        }
    }

    fn metric(&self) -> &'static str {
        match &self.end {
            End::NotFound | End::MethodNotAllowed => metrics::NOT_FOUND,
            End::Answered { refused: None, .. } => metrics::SUCCESS,
            End::Answered {
                refused: Some(r), ..
            } => refusal_metric(r),
            End::Failed { error, .. } => match error {
                ApiError::Request(_) => metrics::INVALID_REQUEST,
                ApiError::Fault(_) | ApiError::Deadline(_) => metrics::SERVER_ERROR,
                ApiError::Refused(r) => refusal_metric(r),
            },
        }
    }

    fn detail(&self) -> Option<(&'static str, &str)> {
        Some(("Route", self.end.route().map_or("none", |r| r.name)))
    }

    fn events(&self) -> Vec<(&'static str, u32)> {
        let seen = &self.ctx.observed;
        vec![
            (metrics::REUSE_DETECTED, seen.reuse_detected()),
            (metrics::LOCK_STARTS, seen.lock_starts()),
            (metrics::ADDRESS_LOCKS, seen.address_locks()),
            (metrics::KNOWN_DEVICE_PASSES, seen.known_device_passes()),
            (metrics::LOGOUTS_DELIVERED, seen.logouts_delivered()),
            (metrics::LOGOUTS_FAILED, seen.logouts_failed()),
            (
                metrics::SECOND_FACTOR_FAILURES,
                seen.second_factor_failures(),
            ),
        ]
    }

    fn properties(&self) -> Vec<(&'static str, Value)> {
        let dialect = self.end.route().map_or("none", |r| r.dialect.as_str());
        vec![
            ("Dialect", dialect.into()),
            ("Status", self.status.as_u16().into()),
        ]
    }
}

fn refusal_metric(r: &Refusal) -> &'static str {
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
        | Refusal::InsufficientScope(_)
        | Refusal::InvalidTarget
        | Refusal::InvalidDpopProof(_)
        | Refusal::UseDpopNonce(_)
        | Refusal::DpopRequired
        | Refusal::InvalidDpopToken
        | Refusal::Device(_) => metrics::OTHER_REFUSAL,
    }
}
