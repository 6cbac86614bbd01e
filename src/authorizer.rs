//! The API Gateway HTTP API Lambda authorizer (REQUEST type, payload 2.0,
//! simple responses) that ends access downstream when a token's family ends.
//!
//! A bearer JWT of any dialect is verified locally (RS256 with the issuer's
//! published keys, `iss`, `aud`, `exp`, `nbf`), then its family and user are
//! read in one storage request, remembered for at most the revocation cache's
//! life; an ops session is checked and slid as `currentuser` does. Every
//! failure, storage faults included, is a denial: the handler never fails.
//!
//! Invoked as a route's integration instead (an HTTP API proxy event), it
//! is the template's example protected resource (RFC 9728): `GET /whoami`
//! answers with the same decision's context, or `401` with
//! `WWW-Authenticate: Bearer resource_metadata="…"`, which an API Gateway
//! authorizer cannot send; `GET /.well-known/oauth-protected-resource/whoami`
//! is the resource's metadata.

use crate::core::dpop::Presentation;
use crate::core::record::claims::TokenClaims;
use crate::core::record::dpop::DPOP_ALGORITHMS;
use crate::core::sign::{Refresh, Signer};
use crate::core::store::Store;
use crate::core::{Error, Issuer, Refusal};
use crate::metrics;
use crate::observe::{observe, Outcome};
use crate::scheme::ops_token_value;
use crate::telemetry::chain;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::header::AUTHORIZATION;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What the authorizer needs from configuration.
#[derive(Debug, Clone)]
pub struct AuthorizerSettings {
    /// The issuer URL tokens must name in `iss`.
    pub issuer_url: String,
    /// The `aud` values accepted.
    pub audiences: Vec<String>,
    /// How long a family's state is remembered (zero: never).
    pub revocation_cache: Duration,
    /// Every decision is made within this, else it is a denial.
    pub deadline: Duration,
}

/// Storage connections the cold start opens: a decision's calls (a DPoP
/// proof spent, then the tokens' records read) run one after another.
pub const STORAGE_CONNECTIONS: usize = 1;

/// Remembered states, at most this many (the oldest go first when full).
const CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, Clone)]
struct Remembered {
    at: OffsetDateTime,
    /// `Some(dialect)` while live, `None` when not.
    live: Option<String>,
}

/// The authorizer: the issuer core (keys, store, clock) and a small cache.
pub struct Authorizer<S, K> {
    /// Over its own key type: verification, the one key operation it does,
    /// is a direct call.
    issuer: Issuer<S, K>,
    settings: AuthorizerSettings,
    cache: Mutex<HashMap<String, Remembered>>,
}

/// A decision and what the log says of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow(AllowContext),
    Deny(&'static str),
}

/// The context a protected route receives (`$context.authorizer.lambda.*`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AllowContext {
    pub sub: String,
    pub username: String,
    /// Comma-separated.
    pub roles: String,
    pub dialect: String,
    pub client_id: Option<String>,
    pub scope: Option<String>,
}

impl AllowContext {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("sub".into(), self.sub.clone().into());
        m.insert("username".into(), self.username.clone().into());
        m.insert("roles".into(), self.roles.clone().into());
        m.insert("dialect".into(), self.dialect.clone().into());
        if let Some(c) = &self.client_id {
            m.insert("client_id".into(), c.clone().into());
        }
        if let Some(s) = &self.scope {
            m.insert("scope".into(), s.clone().into());
        }
        Value::Object(m)
    }
}

impl<S: Store, K: Signer + Refresh> Authorizer<S, K> {
    pub fn new(issuer: Issuer<S, K>, settings: AuthorizerSettings) -> Self {
        Self {
            issuer,
            settings,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn issuer(&self) -> &Issuer<S, K> {
        &self.issuer
    }

    /// Answers one invocation. Never fails: an event that is not an
    /// authorizer request, a bad token, a fault: all are `isAuthorized: false`.
    pub async fn handle(&self, event: Value) -> Value {
        self.handle_invocation(event, None).await
    }

    /// [`Authorizer::handle`], with the Lambda invocation's context (its
    /// request id and X-Ray trace id go into the log lines and metrics), in
    /// the observation layer the issuer's requests run in too.
    pub async fn handle_invocation(
        &self,
        event: Value,
        invocation: Option<&lambda_runtime::Context>,
    ) -> Value {
        let ids = metrics::Ids {
            lambda_request_id: invocation.map(|c| c.request_id.as_str()),
            trace_id: invocation.and_then(|c| c.xray_trace_id.as_deref()),
            api_request_id: None,
        };
        observe(metrics::AUTHORIZER, ids, self.answer(event)).await
    }

    /// The simple response to an invocation, and its decision.
    async fn answer(&self, event: Value) -> (Value, Decided) {
        let started = Instant::now();
        if is_route_request(&event) {
            return self.example_route(&event, started).await;
        }
        let target = RequestTarget::of(&event);
        let request: Result<ApiGatewayV2CustomAuthorizerV2Request, _> =
            serde_json::from_value(event);
        let (request_id, decision) = match request {
            Ok(req) => {
                let id = req.request_context.request_id.clone().unwrap_or_default();
                let header = req
                    .headers
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let deadline = self.settings.deadline;
                let decision =
                    tokio::time::timeout(deadline, self.decide_for(header.as_deref(), &target))
                        .await
                        .unwrap_or(Decision::Deny("deadline"));
                (id, decision)
            }
            Err(_) => (String::new(), Decision::Deny("not_an_authorizer_request")),
        };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        // API Gateway's simple response: `isAuthorized` and the context a
        // protected route receives.
        let (is_authorized, context) = match &decision {
            Decision::Allow(ctx) => (true, ctx.to_json()),
            Decision::Deny(_) => (false, Value::Object(Map::new())),
        };
        let answer = serde_json::json!({"isAuthorized": is_authorized, "context": context});
        let decided = Decided {
            request_id,
            decision: Some(decision),
            elapsed_ms,
        };
        (answer, decided)
    }

    /// The example protected route's answer (payload 2.0) to a proxy event.
    async fn example_route(&self, event: &Value, started: Instant) -> (Value, Decided) {
        let ctx = &event["requestContext"];
        let request_id = ctx["requestId"].as_str().unwrap_or_default().to_string();
        let domain = ctx["domainName"].as_str().unwrap_or_default();
        let base = match ctx["stage"]
            .as_str()
            .filter(|s| !s.is_empty() && *s != "$default")
        {
            Some(stage) => format!("https://{domain}/{stage}"),
            None => format!("https://{domain}"),
        };
        let path = event["rawPath"].as_str().unwrap_or_default();
        let metadata_url = format!("{base}{EXAMPLE_METADATA_PATH}");
        let decided = |decision| Decided {
            request_id: request_id.clone(),
            decision,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        if path.ends_with(EXAMPLE_METADATA_PATH) {
            let metadata = serde_json::json!({
                "resource": format!("{base}{EXAMPLE_PATH}"),
                "authorization_servers": [self.settings.issuer_url],
                "bearer_methods_supported": ["header"],
                "dpop_signing_alg_values_supported": DPOP_ALGORITHMS,
                "resource_name": "token-issuer example route",
            });
            let answer = route_answer(200, "public, max-age=300", None, &metadata);
            return (answer, decided(None));
        }
        if !path.ends_with(EXAMPLE_PATH) {
            let answer = route_answer(
                404,
                "no-store",
                None,
                &serde_json::json!({"message": "Not Found"}),
            );
            return (
                answer,
                decided(Some(Decision::Deny("not_the_example_route"))),
            );
        }
        let header = header_of(event, "authorization");
        let target = RequestTarget::of(event);
        let decision =
            tokio::time::timeout(self.settings.deadline, self.decide_for(header, &target))
                .await
                .unwrap_or(Decision::Deny("deadline"));
        let answer = match &decision {
            Decision::Allow(c) => route_answer(
                200,
                "no-store",
                None,
                &serde_json::json!({"authorizer": c.to_json()}),
            ),
            // A fault is not the token's: the client keeps it and retries.
            Decision::Deny("storage_fault" | "deadline") => route_answer(
                503,
                "no-store",
                None,
                &serde_json::json!({"message": "Service Unavailable"}),
            ),
            // RFC 9449 §7.1: a DPoP request, or a DPoP-bound token sent as
            // a bearer token, gets a DPoP challenge.
            Decision::Deny(
                reason @ ("invalid_dpop_proof"
                | "dpop_key_mismatch"
                | "dpop_bound_token_as_bearer"
                | "dpop_invalid_token"),
            ) => {
                let error = match *reason {
                    "invalid_dpop_proof" => "invalid_dpop_proof",
                    _ => "invalid_token",
                };
                let challenge = format!(
                    "DPoP resource_metadata=\"{metadata_url}\", error=\"{error}\", algs=\"{}\"",
                    DPOP_ALGORITHMS.join(" ")
                );
                route_answer(
                    401,
                    "no-store",
                    Some(&challenge),
                    &serde_json::json!({"message": "Unauthorized"}),
                )
            }
            // RFC 6750 §3: no error code when no token was sent.
            Decision::Deny(reason) => {
                let error = match *reason {
                    "no_token" => "",
                    _ => ", error=\"invalid_token\"",
                };
                let challenge = format!("Bearer resource_metadata=\"{metadata_url}\"{error}");
                route_answer(
                    401,
                    "no-store",
                    Some(&challenge),
                    &serde_json::json!({"message": "Unauthorized"}),
                )
            }
        };
        (answer, decided(Some(decision)))
    }

    /// The decision for an `Authorization` header (no DPoP proof).
    pub async fn decide(&self, authorization: Option<&str>) -> Decision {
        self.decide_for(authorization, &RequestTarget::default())
            .await
    }

    /// The decision for an `Authorization` header sent in the request
    /// `target` (whose DPoP proof, method and URL a DPoP token needs).
    pub async fn decide_for(
        &self,
        authorization: Option<&str>,
        target: &RequestTarget,
    ) -> Decision {
        self.issuer.signer().refresh_if_due().await;
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Decision::Deny("no_token");
        };
        let Some((scheme, token)) = value.split_once(' ') else {
            return Decision::Deny("malformed_header");
        };
        let token = token.trim();
        if scheme.eq_ignore_ascii_case("Bearer") {
            return self.bearer(token, None).await;
        }
        if scheme.eq_ignore_ascii_case("DPoP") {
            let Some(proof) = target.dpop.as_deref() else {
                return Decision::Deny("invalid_dpop_proof");
            };
            let presented = Presentation::Dpop {
                proof,
                method: &target.method,
                url: &target.url,
            };
            return self.bearer(token, Some(presented)).await;
        }
        if let Some(session) = ops_token_value(value) {
            return match self.issuer.current_user(session).await {
                Ok(user) => Decision::Allow(AllowContext {
                    sub: user.id.to_string(),
                    username: user.username.to_string(),
                    roles: user.roles.join(","),
                    dialect: "ops".into(),
                    client_id: None,
                    scope: None,
                }),
                Err(Error::Refused(_)) => Decision::Deny("invalid_session"),
                Err(Error::Fault(f)) => {
                    tracing::error!(error = %chain(&f), "session check failed");
                    Decision::Deny("storage_fault")
                }
            };
        }
        Decision::Deny("unsupported_scheme")
    }

    /// A token of any dialect, as a bearer token or (`dpop`) with its
    /// DPoP proof: a bound token needs its proof, an unbound one none.
    async fn bearer(&self, token: &str, dpop: Option<Presentation<'_>>) -> Decision {
        let Some(claims) = self
            .issuer
            .verified_claims(token, &self.settings.issuer_url)
        else {
            return Decision::Deny(if dpop.is_some() {
                "dpop_invalid_token"
            } else {
                "invalid_token"
            });
        };
        if !self.settings.audiences.contains(&claims.aud) {
            return Decision::Deny("wrong_audience");
        }
        let presented = dpop.unwrap_or(Presentation::Bearer);
        match self
            .issuer
            .check_presentation(token, &claims, presented)
            .await
        {
            Ok(()) => {}
            Err(Error::Refused(Refusal::InvalidDpopToken)) => {
                return Decision::Deny(match presented {
                    Presentation::Bearer => "dpop_bound_token_as_bearer",
                    Presentation::Dpop { .. } => "dpop_key_mismatch",
                })
            }
            Err(Error::Refused(_)) => return Decision::Deny("invalid_dpop_proof"),
            Err(Error::Fault(f)) => {
                tracing::error!(error = %chain(&f), "DPoP proof check failed");
                return Decision::Deny("storage_fault");
            }
        }
        let key = match claims.family() {
            Some(family) => format!("family:{family}"),
            None => format!("token:{}", claims.jti),
        };
        let live = match self.remembered(&key) {
            Some(live) => live,
            None => match self.issuer.liveness(&claims).await {
                Ok(l) => {
                    let live = l.map(|l| {
                        l.issued_via.unwrap_or_else(|| {
                            if claims.client_id.is_some() {
                                "oauth"
                            } else {
                                "jwt"
                            }
                            .to_string()
                        })
                    });
                    self.remember(key, live.clone());
                    live
                }
                Err(e) => {
                    tracing::error!(error = %chain(&e), "revocation check failed");
                    return Decision::Deny("storage_fault");
                }
            },
        };
        match live {
            Some(dialect) => Decision::Allow(context_of(&claims, dialect)),
            None => Decision::Deny("revoked"),
        }
    }

    fn remembered(&self, key: &str) -> Option<Option<String>> {
        let ttl = self.settings.revocation_cache;
        if ttl.is_zero() {
            return None;
        }
        let now = self.issuer.now();
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(key)?;
        (now - entry.at < ttl).then(|| entry.live.clone())
    }

    fn remember(&self, key: String, live: Option<String>) {
        let ttl = self.settings.revocation_cache;
        if ttl.is_zero() {
            return;
        }
        let now = self.issuer.now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, e| now - e.at < ttl);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, Remembered { at: now, live });
    }
}

/// The example protected route, and where its metadata is.
const EXAMPLE_PATH: &str = "/whoami";
const EXAMPLE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/whoami";
/// Both, for the template's check.
pub const EXAMPLE_PATHS: [&str; 2] = [EXAMPLE_PATH, EXAMPLE_METADATA_PATH];

/// The request an authorizer (or route) event is about, as a DPoP proof
/// must name it: the method, and the URL the client called,
/// `https://<domain><rawPath>` (the stage is in the raw path); and its
/// `DPoP` header.
#[derive(Debug, Clone, Default)]
pub struct RequestTarget {
    pub method: String,
    pub url: String,
    pub dpop: Option<String>,
}

impl RequestTarget {
    pub fn of(event: &Value) -> Self {
        let ctx = &event["requestContext"];
        Self {
            method: ctx["http"]["method"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            url: format!(
                "https://{}{}",
                ctx["domainName"].as_str().unwrap_or_default(),
                event["rawPath"].as_str().unwrap_or_default()
            ),
            dpop: header_of(event, "dpop").map(str::to_string),
        }
    }
}

/// A header of a payload 2.0 event, by its name in any case.
fn header_of<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// Whether `event` is an HTTP API proxy request (payload 2.0) rather than
/// an authorizer's: it has a route and no authorizer `type`.
fn is_route_request(event: &Value) -> bool {
    event.get("type").is_none()
        && event["routeKey"].is_string()
        && event["requestContext"]["http"]["method"].is_string()
}

/// A payload 2.0 response with a JSON body.
fn route_answer(status: u16, cache: &str, challenge: Option<&str>, body: &Value) -> Value {
    let mut headers = Map::new();
    headers.insert("content-type".into(), "application/json".into());
    headers.insert("cache-control".into(), cache.into());
    if let Some(c) = challenge {
        headers.insert("www-authenticate".into(), c.into());
    }
    serde_json::json!({"statusCode": status, "headers": headers, "body": body.to_string()})
}

/// One invocation's decision, for its summary line and metrics.
struct Decided {
    /// API Gateway's request id (empty when the event was not a request).
    request_id: String,
    /// `None`: the example route's metadata, served without a decision.
    decision: Option<Decision>,
    /// How long the decision took.
    elapsed_ms: f64,
}

impl Outcome for Decided {
    fn log(&self) {
        let (request_id, elapsed_ms) = (self.request_id.as_str(), self.elapsed_ms);
        match &self.decision {
            None => tracing::info!(request_id, elapsed_ms, "metadata served"),
            Some(Decision::Allow(ctx)) => tracing::info!(
                request_id,
                decision = "allow",
                dialect = ctx.dialect.as_str(),
                sub = ctx.sub.as_str(),
                client_id = ctx.client_id.as_deref().unwrap_or(""),
                elapsed_ms,
                "authorized"
            ),
            Some(Decision::Deny(reason)) => {
                tracing::info!(request_id, decision = "deny", reason, elapsed_ms, "refused")
            }
        }
    }

    fn metric(&self) -> &'static str {
        match self.decision {
            None => metrics::SUCCESS,
            Some(Decision::Allow(_)) => metrics::ALLOWED,
            Some(Decision::Deny(_)) => metrics::DENIED,
        }
    }

    fn detail(&self) -> Option<(&'static str, &str)> {
        match self.decision {
            None | Some(Decision::Allow(_)) => None,
            Some(Decision::Deny(reason)) => Some(("Reason", reason)),
        }
    }

    fn events(&self) -> Vec<(&'static str, u32)> {
        let faults = u32::from(matches!(
            self.decision,
            Some(Decision::Deny("storage_fault"))
        ));
        vec![(metrics::STORAGE_FAULT, faults)]
    }

    fn properties(&self) -> Vec<(&'static str, Value)> {
        let dialect = match &self.decision {
            Some(Decision::Allow(c)) => c.dialect.as_str(),
            None | Some(Decision::Deny(_)) => "",
        };
        vec![("Dialect", dialect.into())]
    }
}

fn context_of(claims: &TokenClaims, dialect: String) -> AllowContext {
    AllowContext {
        sub: claims.sub.clone(),
        username: claims.username.clone().unwrap_or_default(),
        roles: claims.roles.as_deref().unwrap_or_default().join(","),
        dialect,
        client_id: claims.client_id.clone(),
        scope: claims.scope.clone(),
    }
}

/// Serves authorizer invocations until the runtime shuts the process down.
pub async fn run<S: Store + 'static, K: Signer + Refresh + 'static>(
    authorizer: Authorizer<S, K>,
) -> Result<(), lambda_runtime::Error> {
    let authorizer = &authorizer;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            Ok::<_, std::convert::Infallible>(
                authorizer
                    .handle_invocation(event.payload, Some(&event.context))
                    .await,
            )
        },
    ))
    .await
}
