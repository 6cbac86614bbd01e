//! Dialect oauth: the standard token, revocation, introspection and userinfo
//! endpoints. Bodies are form-encoded (RFC 6749 §3.2); errors are RFC 6749
//! §5.2's `{"error", "error_description"}`, and RFC 6750's for bearer tokens.

use super::request::{basic_credentials, bearer_token, FormBody, RequestError};
use super::routes::DialectName;
use super::{response, ApiError, Context, Dialect};
use crate::core::authorize::AuthorizeRefusal;
use crate::core::dpop::{DpopRefusal, Presentation};
use crate::core::oauth::device::{DeviceRefusal, DEVICE_PAGE_PATH};
use crate::core::oauth::{Asked, ClientAuth, CodeExchange, Introspected, OAuthGrant};
use crate::core::record::claims::{acr_of, Confirmation};
use crate::core::record::claims::{EMAIL, PROFILE};
use crate::core::record::client::Scopes;
use crate::core::record::dpop::{ProofError, DPOP_ALGORITHMS};
use crate::core::store::Store;
use crate::core::{Credentials, Issuer, Refusal};
use lambda_http::http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

pub struct OAuth;

/// The realm every `WWW-Authenticate` names.
const REALM: &str = "token-issuer";

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// The wire code and description of an authorization request refused on
/// the client's redirect URI (RFC 6749 §4.1.2.1, OpenID Connect Core
/// §3.1.2.6).
pub fn authorize_refusal(refusal: AuthorizeRefusal) -> (&'static str, &'static str) {
    match refusal {
        AuthorizeRefusal::RepeatedState => ("invalid_request", "The state parameter is repeated"),
        AuthorizeRefusal::MalformedState => (
            "invalid_request",
            "The state parameter is too long or malformed",
        ),
        AuthorizeRefusal::RepeatedParameter => ("invalid_request", "A parameter is repeated"),
        AuthorizeRefusal::RequestObject => {
            ("request_not_supported", "Request objects are not supported")
        }
        AuthorizeRefusal::RequestUri => (
            "request_uri_not_supported",
            "Request objects are not supported",
        ),
        AuthorizeRefusal::MissingResponseType => ("invalid_request", "response_type is required"),
        AuthorizeRefusal::UnsupportedResponseType => (
            "unsupported_response_type",
            "Only response_type=code is supported",
        ),
        AuthorizeRefusal::UnsupportedResponseMode => {
            ("invalid_request", "Only response_mode=query is supported")
        }
        AuthorizeRefusal::CodeFlowNotAllowed => (
            "unauthorized_client",
            "The client may not use the authorization code flow",
        ),
        AuthorizeRefusal::MissingCodeChallenge => (
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        ),
        AuthorizeRefusal::UnsupportedChallengeMethod => (
            "invalid_request",
            "PKCE is required with code_challenge_method=S256",
        ),
        AuthorizeRefusal::MalformedCodeChallenge => {
            ("invalid_request", "code_challenge is not an S256 challenge")
        }
        AuthorizeRefusal::InvalidScope => (
            "invalid_scope",
            "The requested scope is invalid or not allowed",
        ),
        AuthorizeRefusal::MalformedNonce => {
            ("invalid_request", "The nonce is too long or malformed")
        }
        AuthorizeRefusal::InvalidPrompt => (
            "invalid_request",
            "prompt=none cannot be combined with another value",
        ),
        AuthorizeRefusal::MalformedMaxAge => (
            "invalid_request",
            "max_age must be a whole number of seconds",
        ),
        AuthorizeRefusal::MalformedAcrValues => {
            ("invalid_request", "acr_values is too long or malformed")
        }
        AuthorizeRefusal::InvalidAction => (
            "invalid_request",
            "action must be register-passkey, and cannot come with prompt=none",
        ),
        AuthorizeRefusal::InvalidIdTokenHint => (
            "invalid_request",
            "id_token_hint is not an ID token of this issuer",
        ),
        AuthorizeRefusal::LoginRequired => ("login_required", "The user must sign in"),
        AuthorizeRefusal::ConsentRequired => (
            "consent_required",
            "The user must consent to this application",
        ),
        AuthorizeRefusal::AccessDenied => ("access_denied", "The user denied the request"),
        AuthorizeRefusal::InvalidTarget => {
            ("invalid_target", "The resource is not a registered one")
        }
    }
}

fn error(status: StatusCode, code: &'static str, description: &str) -> Response<Body> {
    response::json(
        status,
        &ErrorBody {
            error: code,
            error_description: description,
        },
    )
}

/// RFC 9449 §7.1's challenge, naming the algorithms proofs may use.
fn dpop_challenge(error: &str) -> String {
    format!(
        "DPoP realm=\"{REALM}\", error=\"{error}\", algs=\"{}\"",
        DPOP_ALGORITHMS.join(" ")
    )
}

fn with_challenge(mut resp: Response<Body>, challenge: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(challenge) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    resp
}

impl Dialect for OAuth {
    fn invalid_request(err: &RequestError) -> Response<Body> {
        match err {
            RequestError::UnsupportedGrantType => error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The grant type is not supported",
            ),
            // RFC 6750 §3.1: a request that did not try to authenticate
            // gets the challenge and no error information, body included.
            RequestError::NoBearerToken => with_challenge(
                response::empty(StatusCode::UNAUTHORIZED),
                &format!("Bearer realm=\"{REALM}\""),
            ),
            // The messages name fields, never their values.
            other => error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &other.to_string(),
            ),
        }
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        let bad = StatusCode::BAD_REQUEST;
        match refusal {
            Refusal::InvalidCredentials => {
                error(bad, "invalid_grant", "Invalid user name or password")
            }
            Refusal::InvalidRefreshToken | Refusal::InvalidSession => {
                error(bad, "invalid_grant", "Invalid refresh token")
            }
            Refusal::InvalidCode => error(
                bad,
                "invalid_grant",
                "Invalid, expired or used authorization code, or a redirect URI or code verifier that does not match it",
            ),
            Refusal::TooManyAttempts { .. } => {
                error(bad, "invalid_grant", "Too many failed attempts")
            }
            Refusal::PasswordNotAllowed(_) => {
                error(bad, "invalid_request", "The new password is not allowed")
            }
            Refusal::InvalidClient => with_challenge(
                error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication failed",
                ),
                &format!("Basic realm=\"{REALM}\""),
            ),
            Refusal::UnauthorizedClient(_) => error(
                bad,
                "unauthorized_client",
                "The client may not use this grant type",
            ),
            Refusal::InvalidScope => error(
                bad,
                "invalid_scope",
                "The requested scope is invalid or not allowed",
            ),
            Refusal::InvalidToken => with_challenge(
                error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The access token is not active",
                ),
                &format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""),
            ),
            Refusal::InvalidTarget => error(
                bad,
                "invalid_target",
                "The resource is not registered, or not one this grant may have",
            ),
            Refusal::InvalidDpopProof(reason) => error(
                bad,
                "invalid_dpop_proof",
                &format!("The DPoP proof is not acceptable: {reason}"),
            ),
            // The nonce itself goes in the DPoP-Nonce header.
            Refusal::UseDpopNonce(_) => error(
                bad,
                "use_dpop_nonce",
                "The DPoP proof must carry the nonce in the DPoP-Nonce header",
            ),
            Refusal::DpopRequired => error(
                bad,
                "invalid_dpop_proof",
                "This client must send a DPoP proof",
            ),
            Refusal::InvalidDpopToken => with_challenge(
                error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The access token is bound to a DPoP key: present it with a proof made with that key",
                ),
                &dpop_challenge("invalid_token"),
            ),
            Refusal::Device(why) => {
                let code = match why {
                    DeviceRefusal::Pending => "authorization_pending",
                    DeviceRefusal::SlowDown => "slow_down",
                    DeviceRefusal::Denied => "access_denied",
                    DeviceRefusal::Expired => "expired_token",
                    DeviceRefusal::Invalid => "invalid_grant",
                };
                let description = match why {
                    DeviceRefusal::Pending => "The user has not answered yet",
                    DeviceRefusal::SlowDown => "Poll less often: the interval is 5 seconds longer now",
                    DeviceRefusal::Denied => "The user denied the request",
                    DeviceRefusal::Expired => "The device code expired: start again",
                    DeviceRefusal::Invalid => "Invalid, used or another client's device code",
                };
                error(bad, code, description)
            }
            Refusal::InsufficientScope(scope) => with_challenge(
                error(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "The access token lacks a required scope",
                ),
                &format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
                ),
            ),
        }
    }

    fn server_error() -> Response<Body> {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error",
        )
    }
}

/// How the client authenticated: `client_secret_basic`, `client_secret_post`
/// or, for a public client, `client_id` alone. Using two methods at once is
/// an invalid request (RFC 6749 §2.3); none, or a malformed Basic header, is
/// an invalid client.
pub fn client_auth(req: &Request, form: &FormBody) -> Result<ClientAuth, ApiError> {
    let post_id = form.optional("client_id")?;
    let post_secret = form.optional("client_secret")?;
    match basic_credentials(req) {
        Some(Ok((id, secret))) => {
            if post_secret.is_some() || post_id.is_some_and(|p| p != id) {
                return Err(RequestError::TwoClientAuthentications.into());
            }
            Ok(ClientAuth::Secret {
                id,
                secret: SecretString::from(secret),
            })
        }
        Some(Err(())) => Err(Refusal::InvalidClient.into()),
        None => match (post_id, post_secret) {
            (Some(id), Some(secret)) => Ok(ClientAuth::Secret {
                id: id.to_string(),
                secret: SecretString::from(secret),
            }),
            (Some(id), None) => Ok(ClientAuth::Public { id: id.to_string() }),
            (None, _) => Err(Refusal::InvalidClient.into()),
        },
    }
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

fn token_response(grant: &OAuthGrant) -> Response<Body> {
    response::json(
        StatusCode::OK,
        &TokenResponse {
            access_token: grant.access_token.expose_secret(),
            token_type: if grant.dpop_bound { "DPoP" } else { "Bearer" },
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token.as_ref().map(|t| t.expose()),
            scope: grant.scope.to_string(),
            id_token: grant.id_token.as_ref().map(|t| t.expose_secret()),
        },
    )
}

/// A request's DPoP proof (RFC 9449 §4.1): its one `DPoP` header. Two are
/// refused, as is one that is not text.
fn dpop_header(req: &Request) -> Result<Option<&str>, ApiError> {
    let malformed = || Refusal::InvalidDpopProof(DpopRefusal::Proof(ProofError::Malformed));
    let mut values = req.headers().get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed().into());
    }
    first.to_str().map(Some).map_err(|_| malformed().into())
}

/// A token request's grant and its own fields, read before the client is
/// looked up.
enum GrantRequest<'a> {
    Password(Credentials),
    Refresh(&'a str),
    Code {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: &'a str,
    },
    ClientCredentials,
    Device(&'a str),
}

/// `POST /oauth2/token`
pub async fn token<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = FormBody::from_request(req)?;
    let auth = client_auth(req, &form)?;
    let grant_type = form.required("grant_type")?;
    let scope = form.optional("scope")?;
    // RFC 8707: the API the access token is for; one per request here.
    let resource = form.optional("resource")?;
    let proof = dpop_header(req)?;
    let origin = ctx.origin(DialectName::OAuth);
    // The request is checked whole before the client is looked up.
    let request = match grant_type {
        "password" => GrantRequest::Password(Credentials {
            username: form.required("username")?.to_string(),
            password: form.password("password")?,
            auth_source: None,
            device: None,
        }),
        "refresh_token" => GrantRequest::Refresh(form.required("refresh_token")?),
        "authorization_code" => GrantRequest::Code {
            code: form.required("code")?,
            redirect_uri: form.required("redirect_uri")?,
            verifier: form.required("code_verifier")?,
        },
        "client_credentials" => GrantRequest::ClientCredentials,
        DEVICE_GRANT => GrantRequest::Device(form.required("device_code")?),
        _ => return Err(RequestError::UnsupportedGrantType.into()),
    };
    let client = issuer.authenticate_client(&auth).await?;
    // The proof is for the token endpoint as the metadata names it.
    let token_url = format!("{}/oauth2/token", ctx.issuer_url);
    let proof = issuer.token_proof(&client, proof, &token_url).await?;
    let asked = Asked {
        scope,
        resource,
        dpop: proof.as_ref().map(|p| p.jkt.as_str()),
    };
    let grant = match request {
        GrantRequest::Password(creds) => {
            issuer
                .password_grant(&client, creds, asked, &origin, &ctx.issuer_url)
                .await?
        }
        GrantRequest::Refresh(presented) => {
            issuer
                .refresh_grant(&client, presented, asked, &origin, &ctx.issuer_url)
                .await?
        }
        GrantRequest::Code {
            code,
            redirect_uri,
            verifier,
        } => {
            issuer
                .code_grant(
                    &client,
                    CodeExchange {
                        code,
                        redirect_uri,
                        verifier,
                        resource,
                        dpop: asked.dpop,
                    },
                    &origin,
                    &ctx.issuer_url,
                )
                .await?
        }
        GrantRequest::ClientCredentials => {
            issuer
                .client_credentials_grant(&client, asked, &ctx.issuer_url)
                .await?
        }
        GrantRequest::Device(device_code) => issuer.device_grant(&client, device_code).await?,
    };
    Ok(token_response(&grant))
}

/// The device grant's type (RFC 8628 §3.4).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Serialize)]
struct DeviceAuthorizationResponse<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1-3.2): codes for a
/// device, its client authenticated as at the token endpoint.
pub async fn device_authorization<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = FormBody::from_request(req)?;
    let auth = client_auth(req, &form)?;
    let scope = form.optional("scope")?;
    let client = issuer.authenticate_client(&auth).await?;
    let device = issuer.start_device(&client, scope).await?;
    let page = format!("{}{DEVICE_PAGE_PATH}", ctx.issuer_url);
    Ok(response::json(
        StatusCode::OK,
        &DeviceAuthorizationResponse {
            device_code: device.device_code.expose_secret(),
            user_code: &device.user_code,
            verification_uri: &page,
            verification_uri_complete: format!("{page}?user_code={}", device.user_code),
            expires_in: device.expires_in,
            interval: device.interval,
        },
    ))
}

/// `POST /oauth2/revoke` (RFC 7009): `200` with no body, whatever the token.
pub async fn revoke<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = FormBody::from_request(req)?;
    let auth = client_auth(req, &form)?;
    let token = form.required("token")?;
    // A hint may name any type; the token is recognised by its shape.
    form.optional("token_type_hint")?;
    let client = issuer.authenticate_client(&auth).await?;
    issuer
        .revoke_for_client(&client, token, &ctx.origin(DialectName::OAuth))
        .await?;
    Ok(response::empty(StatusCode::OK))
}

#[derive(Serialize, Default)]
struct IntrospectionResponse<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    /// The DPoP key a token is bound to (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<&'a Confirmation>,
}

/// `POST /oauth2/introspect` (RFC 7662): confidential clients only.
pub async fn introspect<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = FormBody::from_request(req)?;
    let auth = client_auth(req, &form)?;
    let token = form.required("token")?;
    form.optional("token_type_hint")?;
    if matches!(auth, ClientAuth::Public { .. }) {
        return Err(Refusal::InvalidClient.into());
    }
    let caller = issuer.authenticate_client(&auth).await?;
    let found = issuer.introspect(token, &ctx.issuer_url, &caller).await?;
    let refresh_sub = match &found {
        Some(Introspected::Refresh { user, .. }) => Some(user.id.to_string()),
        _ => None,
    };
    let body = match &found {
        None => IntrospectionResponse::default(),
        Some(Introspected::Access(active)) => {
            let c = &active.claims;
            IntrospectionResponse {
                active: true,
                sub: Some(&c.sub),
                username: c.username.as_deref(),
                client_id: c.client_id.as_deref(),
                scope: c.scope.clone(),
                token_type: Some(if c.cnf.is_some() { "DPoP" } else { "Bearer" }),
                exp: Some(c.exp),
                iat: Some(c.iat),
                nbf: Some(c.nbf),
                iss: Some(&c.iss),
                aud: Some(&c.aud),
                jti: Some(&c.jti),
                amr: c.amr.as_deref(),
                acr: c.acr.as_deref(),
                cnf: c.cnf.as_ref(),
            }
        }
        Some(Introspected::Refresh { family, user }) => {
            let iat = family.created_at.unix_timestamp();
            IntrospectionResponse {
                active: true,
                sub: refresh_sub.as_deref(),
                username: Some(user.username.as_str()),
                client_id: family.client.as_ref().map(|b| b.client_id.as_str()),
                scope: family.client.as_ref().map(|b| b.scope.to_string()),
                token_type: Some("refresh_token"),
                exp: Some(family.expires_at.unix_timestamp()),
                iat: Some(iat),
                nbf: Some(iat),
                iss: Some(&ctx.issuer_url),
                aud: None,
                jti: None,
                amr: family.session.as_ref().map(|l| l.amr.as_slice()),
                acr: family.session.as_ref().map(|l| acr_of(&l.amr)),
                cnf: None,
            }
        }
    };
    Ok(response::json(StatusCode::OK, &body))
}

#[derive(Serialize)]
struct UserInfo<'a> {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

/// `GET` and `POST /oauth2/userinfo` (OpenID Connect Core §5.3): the token
/// in an `Authorization: Bearer` header, or as `access_token` in a form body
/// (RFC 6750 §2.2); or in an `Authorization: DPoP` header with its proof
/// (RFC 9449 §7), whose refusals carry a `DPoP` challenge.
pub async fn userinfo<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    if let Some(token) = dpop_token(req) {
        let Some(proof) = dpop_header(req)? else {
            return Ok(dpop_refused(&Refusal::InvalidDpopProof(
                DpopRefusal::Proof(ProofError::Malformed),
            )));
        };
        let url = format!("{}/oauth2/userinfo", ctx.issuer_url);
        let presented = Presentation::Dpop {
            proof,
            method: req.method().as_str(),
            url: &url,
        };
        return match issuer.userinfo(token, presented, &ctx.issuer_url).await {
            Ok((user, scope)) => Ok(userinfo_response(&user, &scope)),
            Err(crate::core::Error::Refused(r)) if dpop_refused_here(&r) => Ok(dpop_refused(&r)),
            Err(e) => Err(e.into()),
        };
    }
    let form;
    let token = match bearer_token(req) {
        Some(t) => t,
        None if req.method() == lambda_http::http::Method::POST => {
            form = FormBody::from_request(req).map_err(|_| RequestError::NoBearerToken)?;
            form.optional("access_token")?
                .ok_or(RequestError::NoBearerToken)?
        }
        None => return Err(RequestError::NoBearerToken.into()),
    };
    let (user, scope) = issuer
        .userinfo(token, Presentation::Bearer, &ctx.issuer_url)
        .await?;
    Ok(userinfo_response(&user, &scope))
}

/// The token of an `Authorization: DPoP <token>` header.
fn dpop_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("DPoP") && !token.is_empty()).then_some(token)
}

/// The refusals a DPoP request to a resource answers with a `DPoP`
/// challenge (RFC 9449 §7.1).
fn dpop_refused_here(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::InvalidToken
            | Refusal::InvalidDpopProof(_)
            | Refusal::UseDpopNonce(_)
            | Refusal::InvalidDpopToken
    )
}

fn dpop_refused(r: &Refusal) -> Response<Body> {
    let (code, description) = match r {
        Refusal::InvalidDpopProof(_) => ("invalid_dpop_proof", "The DPoP proof is not acceptable"),
        Refusal::UseDpopNonce(_) => (
            "use_dpop_nonce",
            "The DPoP proof must carry the nonce in the DPoP-Nonce header",
        ),
        _ => (
            "invalid_token",
            "The access token is not active, or not bound to the proof's key",
        ),
    };
    let resp = with_challenge(
        error(StatusCode::UNAUTHORIZED, code, description),
        &dpop_challenge(code),
    );
    match r {
        Refusal::UseDpopNonce(nonce) => response::with_header(resp, response::DPOP_NONCE, nonce),
        _ => resp,
    }
}

fn userinfo_response(user: &crate::core::record::user::Account, scope: &Scopes) -> Response<Body> {
    let profile = scope.contains(PROFILE);
    response::json(
        StatusCode::OK,
        &UserInfo {
            sub: user.id.to_string(),
            preferred_username: profile.then_some(user.username.as_str()),
            name: profile.then_some(user.full_name.as_str()),
            email: scope.contains(EMAIL).then_some(user.email.as_str()),
        },
    )
}
