//! `/.well-known/` documents: OAuth and OpenID Connect metadata, and the keys.

use super::request::RequestError;
use super::{message, response, ApiError, Context, Dialect};
use crate::core::authorize::PROMPT_VALUES;
use crate::core::record::dpop::DPOP_ALGORITHMS;
use crate::core::record::registration::RegistrationPolicy;
use crate::core::store::Store;
use crate::core::{Issuer, Refusal};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

/// The documents' error shape: the plain `{"message": ...}` of 404 and 405.
pub struct Discovery;

impl Dialect for Discovery {
    fn invalid_request(_: &RequestError) -> Response<Body> {
        message(StatusCode::BAD_REQUEST, "Bad Request")
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        // The documents are public: nothing here refuses a caller.
        match refusal {
            Refusal::InvalidCredentials
            | Refusal::InvalidRefreshToken
            | Refusal::InvalidSession
            | Refusal::TooManyAttempts { .. }
            | Refusal::PasswordNotAllowed(_)
            | Refusal::InvalidClient
            | Refusal::UnauthorizedClient(_)
            | Refusal::InvalidCode
            | Refusal::InvalidScope
            | Refusal::InvalidToken
            | Refusal::InsufficientScope(_)
            | Refusal::InvalidTarget
            | Refusal::InvalidDpopProof(_)
            | Refusal::UseDpopNonce(_)
            | Refusal::DpopRequired
            | Refusal::InvalidDpopToken
            | Refusal::Device(_) => message(StatusCode::FORBIDDEN, "Forbidden"),
        }
    }

    fn server_error() -> Response<Body> {
        message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    }
}

/// What RFC 8414 and OpenID Connect Discovery share; the OpenID
/// configuration adds `userinfo_endpoint`, `claims_supported` and the log
/// out endpoints (RP-Initiated and Back-Channel Logout).
#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    jwks_uri: String,
    token_endpoint: String,
    device_authorization_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    userinfo_endpoint: Option<String>,
    grant_types_supported: &'static [&'static str],
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    authorization_response_iss_parameter_supported: bool,
    token_endpoint_auth_methods_supported: &'static [&'static str],
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    scopes_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: &'static [&'static str],
    subject_types_supported: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    claims_supported: Option<&'static [&'static str]>,
    prompt_values_supported: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    end_session_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_session_supported: Option<bool>,
    /// Only where clients may register themselves (API §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    /// Only where an https client id names a metadata document (API §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id_metadata_document_supported: Option<bool>,
    /// DPoP proofs the token endpoint and userinfo accept (RFC 9449 §5.1).
    dpop_signing_alg_values_supported: &'static [&'static str],
}

/// What the issuer lets third-party clients do by themselves (API §14).
#[derive(Clone, Copy)]
struct SelfService {
    registration: bool,
    documents: bool,
}

const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "auth_time",
    "amr",
    "acr",
    "nonce",
    "sid",
    "client_id",
    "scope",
    "username",
    "preferred_username",
    "name",
    "email",
    "roles",
    "role",
    "customer_id",
    "auth_source",
];

/// Public clients authenticate with `client_id` alone.
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// Introspection is for confidential clients only.
const SECRET_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

fn metadata(issuer: &str, openid: bool, apps: SelfService) -> Metadata<'_> {
    Metadata {
        issuer,
        authorization_endpoint: format!("{issuer}/oauth2/authorize"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        token_endpoint: format!("{issuer}/oauth2/token"),
        device_authorization_endpoint: format!("{issuer}/oauth2/device_authorization"),
        revocation_endpoint: format!("{issuer}/oauth2/revoke"),
        introspection_endpoint: format!("{issuer}/oauth2/introspect"),
        userinfo_endpoint: openid.then(|| format!("{issuer}/oauth2/userinfo")),
        grant_types_supported: &[
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        response_types_supported: &["code"],
        response_modes_supported: &["query"],
        code_challenge_methods_supported: &["S256"],
        authorization_response_iss_parameter_supported: true,
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: SECRET_AUTH_METHODS,
        scopes_supported: &["openid", "profile", "email"],
        id_token_signing_alg_values_supported: &["RS256"],
        subject_types_supported: &["public"],
        claims_supported: openid.then_some(CLAIMS),
        prompt_values_supported: PROMPT_VALUES,
        end_session_endpoint: openid.then(|| format!("{issuer}/oauth2/logout")),
        backchannel_logout_supported: openid.then_some(true),
        backchannel_logout_session_supported: openid.then_some(true),
        registration_endpoint: apps
            .registration
            .then(|| format!("{issuer}/oauth2/register")),
        client_id_metadata_document_supported: apps.documents.then_some(true),
        dpop_signing_alg_values_supported: &DPOP_ALGORITHMS,
    }
}

fn self_service<S: Store>(issuer: &Issuer<S>) -> SelfService {
    SelfService {
        registration: issuer.registration_policy() != RegistrationPolicy::Off,
        documents: issuer.client_documents_supported(),
    }
}

/// `GET /.well-known/openid-configuration`
pub fn openid_configuration<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
) -> Result<Response<Body>, ApiError> {
    Ok(response::public_json(&metadata(
        &ctx.issuer_url,
        true,
        self_service(issuer),
    )))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414)
pub fn authorization_server<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
) -> Result<Response<Body>, ApiError> {
    Ok(response::public_json(&metadata(
        &ctx.issuer_url,
        false,
        self_service(issuer),
    )))
}

/// `GET /.well-known/jwks.json`: serialised once at cold start.
pub fn jwks<S: Store>(issuer: &Issuer<S>) -> Result<Response<Body>, ApiError> {
    Ok(response::public_json_text(issuer.signer().public_jwks()))
}
