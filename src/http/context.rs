//! What the edge reads from API Gateway's request context, once per request.

use super::routes::DialectName;
use crate::core::audit::{Observations, Origin};
use lambda_http::http::header::HOST;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The request's context, read once at the edge and passed down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// API Gateway's request id (empty outside API Gateway).
    pub request_id: String,
    /// The stage, unless it is `$default` or absent.
    pub stage: Option<String>,
    /// The API's domain from the context, else a well-formed `Host` header.
    pub domain: Option<String>,
    /// The client's address as API Gateway saw it (never a header).
    pub source_ip: Option<String>,
    /// The path the route table is matched against: the stage prefix removed.
    pub path: String,
    /// The `iss` of tokens and the base of discovery URLs.
    pub issuer_url: String,
    /// The Lambda invocation's request id and X-Ray trace id, when the
    /// runtime gave them.
    pub lambda_request_id: Option<String>,
    pub trace_id: Option<String>,
    /// What the core noticed while serving the request, for its metrics.
    pub observed: Observations,
}

impl Context {
    /// `fixed_issuer`, when configured, is the issuer URL; otherwise it is
    /// `https://` + the domain (+ `/stage`), so an API Gateway JWT authorizer
    /// pointed at it accepts the tokens.
    pub fn read(req: &Request, fixed_issuer: Option<&str>) -> Self {
        let (request_id, stage, domain, source_ip) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.request_id.clone(),
                ctx.stage.clone(),
                ctx.domain_name.clone(),
                ctx.http.source_ip.clone(),
            ),
            Some(RequestContext::ApiGatewayV1(ctx)) => (
                ctx.request_id.clone(),
                ctx.stage.clone(),
                ctx.domain_name.clone(),
                ctx.identity.source_ip.clone(),
            ),
            _ => (None, None, None, None),
        };
        let stage = stage.filter(|s| !s.is_empty() && s != "$default");
        let domain = domain
            .or_else(|| {
                req.headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .filter(|d| is_host(d));
        let path = route_path(req, stage.as_deref()).to_string();
        let issuer_url = match fixed_issuer {
            Some(fixed) => fixed.to_string(),
            None => {
                let domain = domain.as_deref().unwrap_or("localhost");
                match &stage {
                    None => format!("https://{domain}"),
                    Some(stage) => format!("https://{domain}/{stage}"),
                }
            }
        };
        let (lambda_request_id, trace_id) = match req.lambda_context_ref() {
            Some(c) => (
                Some(c.request_id.clone()).filter(|id| !id.is_empty()),
                c.xray_trace_id.clone(),
            ),
            None => (None, None),
        };
        Self {
            request_id: request_id.unwrap_or_default(),
            stage,
            domain,
            source_ip,
            path,
            issuer_url,
            lambda_request_id,
            trace_id,
            observed: Observations::default(),
        }
    }
}

impl Context {
    /// Where the request came from, for the core's audit events.
    pub fn origin(&self, dialect: DialectName) -> Origin<'_> {
        Origin {
            request_id: &self.request_id,
            source_ip: self.source_ip.as_deref(),
            dialect: dialect.as_str(),
            observed: Some(&self.observed),
        }
    }
}

/// The path the route table is matched against. From the event itself, not
/// the request URI: lambda_http puts `/{stage}` in front of a path unless it
/// already starts with it, so with a stage named `api` the URI of
/// `/api/v2/auth/token` is ambiguous. A REST API's `path` never holds the
/// stage; an HTTP API's `rawPath` holds it once, in front, for a named stage.
fn route_path<'a>(req: &'a Request, stage: Option<&str>) -> &'a str {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(_)) => req.raw_http_path(),
        Some(RequestContext::ApiGatewayV2(_)) => without_stage(req.raw_http_path(), stage),
        // Not from API Gateway (tests, fuzzing): the URI as given.
        _ => req.uri().path(),
    }
}

/// `path` without one leading `/{stage}` segment.
fn without_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    let Some(stage) = stage else {
        return path;
    };
    match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
        Some(rest) if rest.starts_with('/') => rest,
        Some("") => "/",
        _ => path,
    }
}

/// Only host names (and a port) make it into the issuer: a forged Host header
/// must not put arbitrary text into tokens.
fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_filter() {
        assert!(is_host("abc.execute-api.us-east-1.amazonaws.com"));
        assert!(is_host("localhost:9000"));
        assert!(!is_host("evil.com/path"));
        assert!(!is_host("a b"));
        assert!(!is_host(""));
    }

    #[test]
    fn stage_prefix_is_removed_only_as_a_whole_segment() {
        assert_eq!(without_stage("/prod/api/x", Some("prod")), "/api/x");
        assert_eq!(without_stage("/prod", Some("prod")), "/");
        assert_eq!(
            without_stage("/production/api/x", Some("prod")),
            "/production/api/x"
        );
        assert_eq!(without_stage("/api/api/x", Some("api")), "/api/x");
        assert_eq!(without_stage("/api/x", None), "/api/x");
    }
}
