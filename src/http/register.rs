//! `POST /oauth2/register`: dynamic client registration (RFC 7591, API
//! §14). The body is a JSON object of client metadata; the answer is the
//! client as registered (`201`), or RFC 7591 §3.2.2's error object.

use super::oauth::OAuth;
use super::request::{bearer_token, JsonBody, RequestError};
use super::routes::DialectName;
use super::{message, response, ApiError, Context, Dialect};
use crate::core::oauth::register::{RegisterError, RegisterRefusal};
use crate::core::record::registration::{ClientMetadata, MetadataError};
use crate::core::store::Store;
use crate::core::{Issuer, Refusal};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Serialize;

/// The registration answer (RFC 7591 §3.2.1).
#[derive(Serialize)]
struct Registered<'a> {
    client_id: &'a str,
    client_id_issued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    /// 0: the secret does not expire (present only with a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_name: Option<&'a str>,
    redirect_uris: Vec<&'a str>,
    grant_types: Vec<&'static str>,
    response_types: &'a [&'static str],
    token_endpoint_auth_method: &'static str,
    scope: String,
    /// Its tokens are always DPoP-bound (RFC 9449 §5.2); present when so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens: bool,
}

#[derive(Serialize)]
struct MetadataErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

fn metadata_error(code: &'static str, description: &str) -> Response<Body> {
    response::json(
        StatusCode::BAD_REQUEST,
        &MetadataErrorBody {
            error: code,
            error_description: description,
        },
    )
}

/// The metadata fields this issuer reads; any other is ignored (RFC 7591 §2).
struct Fields {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    scope: Option<String>,
    dpop_bound_access_tokens: Option<bool>,
}

fn fields(req: &Request) -> Result<Fields, RequestError> {
    let body = JsonBody::from_request(req)?;
    let text = |k| body.optional_str(k).map(|v| v.map(str::to_string));
    Ok(Fields {
        redirect_uris: body.optional_str_list("redirect_uris")?,
        token_endpoint_auth_method: text("token_endpoint_auth_method")?,
        grant_types: body.optional_str_list("grant_types")?,
        response_types: body.optional_str_list("response_types")?,
        client_name: text("client_name")?,
        scope: text("scope")?,
        dpop_bound_access_tokens: body.optional_bool("dpop_bound_access_tokens")?,
    })
}

/// `POST /oauth2/register`
pub async fn register<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let f = match fields(req) {
        Ok(f) => f,
        Err(e) => return Ok(metadata_error("invalid_client_metadata", &e.to_string())),
    };
    let metadata = ClientMetadata {
        redirect_uris: f.redirect_uris.as_deref(),
        token_endpoint_auth_method: f.token_endpoint_auth_method.as_deref(),
        grant_types: f.grant_types.as_deref(),
        response_types: f.response_types.as_deref(),
        client_name: f.client_name.as_deref(),
        scope: f.scope.as_deref(),
        dpop_bound_access_tokens: f.dpop_bound_access_tokens.unwrap_or(false),
    };
    let token = bearer_token(req).map(|t| SecretString::from(t.to_string()));
    let origin = ctx.origin(DialectName::OAuth);
    let done = match issuer
        .register_client(&metadata, token.as_ref(), &origin)
        .await
    {
        Ok(done) => done,
        Err(RegisterError::Fault(f)) => return Err(ApiError::Fault(f)),
        Err(RegisterError::Refused(r)) => {
            return Ok(match r {
                // Not offered: as if the route were not there.
                RegisterRefusal::Closed => message(StatusCode::NOT_FOUND, "Not Found"),
                RegisterRefusal::InvalidToken => OAuth::refused(&Refusal::InvalidToken),
                RegisterRefusal::Metadata(MetadataError::RedirectUri(d)) => {
                    metadata_error("invalid_redirect_uri", &d)
                }
                RegisterRefusal::Metadata(MetadataError::Metadata(d)) => {
                    metadata_error("invalid_client_metadata", &d)
                }
                RegisterRefusal::TooMany { retry_after_secs } => response::with_retry_after(
                    response::json(
                        StatusCode::TOO_MANY_REQUESTS,
                        &MetadataErrorBody {
                            error: "too_many_requests",
                            error_description: "Too many registrations from this address",
                        },
                    ),
                    retry_after_secs,
                ),
            });
        }
    };
    let c = &done.client;
    Ok(response::json(
        StatusCode::CREATED,
        &Registered {
            client_id: c.id.as_str(),
            client_id_issued_at: c.created_at.unix_timestamp(),
            client_secret: done.secret.as_ref().map(|s| s.expose()),
            client_secret_expires_at: done.secret.as_ref().map(|_| 0),
            client_name: c.name.as_deref(),
            redirect_uris: c.redirect_uris.iter().map(|u| u.as_str()).collect(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: &done.response_types,
            token_endpoint_auth_method: done.auth_method,
            scope: c.scopes.to_string(),
            dpop_bound_access_tokens: c.require_dpop,
        },
    ))
}
