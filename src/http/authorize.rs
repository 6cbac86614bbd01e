//! `GET` and `POST /oauth2/authorize`: the authorization code flow's front
//! channel, and the login page it shows ([`super::page`]). The form carries
//! the authorization request back in hidden fields with the core's form
//! token, which binds them.

use super::oauth::authorize_refusal;
use super::page::{self, LoginTokens};
use super::request::{FormBody, RequestError};
use super::routes::DialectName;
use super::{Answer, ApiError, Context, Dialect};
use crate::core::authorize::{
    AfterSignIn, AuthorizationRequest, AuthorizeError, AuthorizeParams, AuthorizeRefusal,
    CodeSubmission, ConsentSubmission, Consented, NoRedirect, Param, PasskeySubmission,
    PasswordStep, Prompt, RedirectError, Registered, RegistrationSubmission, Repeated,
    SessionAnswer, SignedIn,
};
use crate::core::device::{DEVICE_COOKIE, DEVICE_TTL};
use crate::core::record::browser::SESSION_COOKIE;
use crate::core::record::passkey::relying_party;
use crate::core::store::Store;
use crate::core::{Credentials, Error, Issuer, Refusal};
use lambda_http::http::header::{HeaderValue, COOKIE, RETRY_AFTER, SET_COOKIE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;

/// The login page's and error pages' error shape: HTML, never JSON, since a
/// person reads it.
pub struct Page;

impl Dialect for Page {
    fn invalid_request(err: &RequestError) -> Response<Body> {
        page::error(
            StatusCode::BAD_REQUEST,
            "The sign-in request could not be read.",
            Some(&err.to_string()),
        )
    }

    fn refused(refusal: &Refusal) -> Response<Body> {
        // The page answers its own refusals (wrong password, lockout) itself;
        // should any other reach here, it is a request that cannot go on.
        match refusal {
            Refusal::InvalidCredentials
            | Refusal::TooManyAttempts { .. }
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
            | Refusal::UseDpopNonce(_)
            | Refusal::DpopRequired
            | Refusal::InvalidDpopToken
            | Refusal::Device(_) => page::error(
                StatusCode::BAD_REQUEST,
                "This sign-in request cannot be completed.",
                None,
            ),
        }
    }

    fn server_error() -> Response<Body> {
        page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side. Please try again in a moment.",
            None,
        )
    }
}

/// `GET /oauth2/authorize`: the login page, or an error.
pub async fn show<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let query = FormBody::from_bytes(req.uri().query().unwrap_or("").as_bytes())?;
    let cookie = request_cookie(req, SESSION_COOKIE);
    // The session is read beside the client: a live one skips the page.
    let asked = params(&query);
    let origin = ctx.origin(DialectName::OAuthPage);
    // Boxed, as below: each holds storage calls' futures, and a debug
    // build's poll frames of them inline overflowed a test thread's stack.
    let (request, live) = Box::pin(async {
        tokio::join!(
            issuer.check_authorization(&asked, &origin, &ctx.issuer_url),
            issuer.browser_session(cookie.as_deref())
        )
    })
    .await;
    let request = match request {
        Ok(r) => r,
        Err(e) => return authorize_error(e, ctx),
    };
    match Box::pin(issuer.authorize_in_session(&request, live?, &ctx.issuer_url, &origin)).await {
        Ok(SessionAnswer::Code(code)) => return Ok(code_redirect(&request, code.expose(), ctx)),
        Ok(SessionAnswer::RegisterPasskey(offer)) => {
            return Ok(page::register_passkey(
                StatusCode::OK,
                &request,
                &offer,
                None,
            ))
        }
        Ok(SessionAnswer::Consent(offer)) => {
            return Ok(page::consent(StatusCode::OK, &request, &offer))
        }
        Ok(SessionAnswer::SignIn) => {}
        Err(e) => return authorize_error(e, ctx),
    }
    let tokens = login_tokens(issuer, &request, ctx)?;
    let username = request.login_hint.clone().unwrap_or_default();
    Ok(page::login(
        StatusCode::OK,
        &request,
        &tokens,
        &username,
        None,
    ))
}

/// A login page's tokens for `request`: its form's, and its passkey
/// challenge.
fn login_tokens<S: Store>(
    issuer: &Issuer<S>,
    request: &AuthorizationRequest,
    ctx: &Context,
) -> Result<LoginTokens, ApiError> {
    let now = issuer.now().unix_timestamp();
    Ok(LoginTokens {
        form: issuer.form_token(request, now),
        passkey: issuer
            .passkey_challenge(request)
            .map_err(crate::core::Error::from)?,
        rp_id: relying_party(&ctx.issuer_url).1,
    })
}

/// `POST /oauth2/authorize`: the login form's post. A wrong password or a
/// lock is answered with the login page again, and returned as the refusal
/// it is.
pub async fn submit<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Answer, ApiError> {
    let form = FormBody::from_request(req)?;
    let origin = ctx.origin(DialectName::OAuthPage);
    let request = match issuer
        .check_authorization(&params(&form), &origin, &ctx.issuer_url)
        .await
    {
        Ok(r) => r,
        Err(e) => return authorize_error(e, ctx).map(Answer::from),
    };
    // The page never posts `prompt`; `none` forbids signing in here.
    if request.prompt == Prompt::None {
        let refused = AuthorizeError::Redirect(RedirectError {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            refusal: AuthorizeRefusal::LoginRequired,
        });
        return authorize_error(refused, ctx).map(Answer::from);
    }
    let now = issuer.now().unix_timestamp();
    let fresh = login_tokens(issuer, &request, ctx)?;
    let username = form.optional("username").ok().flatten().unwrap_or("");
    // The second step's form and the passkey forms carry their own tokens
    // instead (API §13).
    if let Ok(Some(token)) = form.optional("factor_token") {
        let second = second_step(issuer, ctx, req, &request, &form, token, &fresh);
        return Box::pin(second).await;
    }
    if let Ok(Some(token)) = form.optional("passkey_token") {
        let step = passkey_step(issuer, ctx, req, &request, &form, token, &fresh);
        return Box::pin(step).await;
    }
    if let Ok(Some(token)) = form.optional("register_token") {
        let step = registration_step(issuer, ctx, req, &request, &form, token, &fresh);
        return Box::pin(step).await;
    }
    if let Ok(Some(token)) = form.optional("consent_token") {
        let step = consent_step(issuer, ctx, req, &request, &form, token, &fresh);
        return Box::pin(step).await;
    }
    let presented = form.optional("form_token").ok().flatten();
    if !presented.is_some_and(|t| issuer.form_token_valid(&request, t, now)) {
        return Ok(expired(&request, &fresh, username).into());
    }
    let password = match (form.optional("username"), form.password("password")) {
        (Ok(Some(_)), Ok(p)) => p,
        _ => {
            return Ok(page::login(
                StatusCode::BAD_REQUEST,
                &request,
                &fresh,
                username,
                Some("Enter your username and password."),
            )
            .into())
        }
    };
    let creds = Credentials {
        username: username.to_string(),
        password,
        auth_source: None,
        device: request_cookie(req, DEVICE_COOKIE).map(SecretString::from),
    };
    let session = request_cookie(req, SESSION_COOKIE);
    let signed_in = issuer.sign_in_for_code(
        &request,
        creds,
        session.as_deref(),
        &ctx.issuer_url,
        &origin,
    );
    match Box::pin(signed_in).await {
        Ok(PasswordStep::SignedIn(s)) => Ok(signed_in_response(issuer, &request, s, ctx).into()),
        Ok(PasswordStep::Code { token, username }) => {
            Ok(page::code(StatusCode::OK, &request, &token, &username, None).into())
        }
        Ok(PasswordStep::Enrol(enrolment)) => {
            Ok(page::enrol(StatusCode::OK, &request, &enrolment, None).into())
        }
        // One message for every failed check, so the page tells nobody
        // whether a username exists.
        Err(Error::Refused(refusal @ Refusal::InvalidCredentials)) => Ok(Answer {
            response: page::login(
                StatusCode::OK,
                &request,
                &fresh,
                username,
                Some("Incorrect username or password."),
            ),
            refused: Some(refusal),
        }),
        Err(Error::Refused(refusal @ Refusal::TooManyAttempts { retry_after_secs })) => {
            let mut resp = page::login(
                StatusCode::TOO_MANY_REQUESTS,
                &request,
                &fresh,
                username,
                Some(&wait_message(retry_after_secs)),
            );
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            Ok(Answer {
                response: resp,
                refused: Some(refusal),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The login page afresh, for a form that is no longer good.
fn expired(request: &AuthorizationRequest, fresh: &LoginTokens, username: &str) -> Response<Body> {
    page::login(
        StatusCode::BAD_REQUEST,
        request,
        fresh,
        username,
        Some("This sign-in page has expired. Please sign in again."),
    )
}

fn wait_message(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60).max(1);
    format!(
        "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// The code or enrolment form's post (API §13): a wrong code shows the same
/// step again with one message, a lock its wait, and a form that is no
/// longer good the login page.
async fn second_step<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
    request: &AuthorizationRequest,
    form: &FormBody,
    token: &str,
    fresh: &LoginTokens,
) -> Result<Answer, ApiError> {
    let username = form.optional("username").ok().flatten().unwrap_or("");
    let code = form.optional("code").ok().flatten().unwrap_or("");
    let origin = ctx.origin(DialectName::OAuthPage);
    let session = request_cookie(req, SESSION_COOKIE);
    let enrolment = issuer.enrolment_again(request, username, token, &ctx.issuer_url);
    let submitted = CodeSubmission {
        username,
        token,
        code,
    };
    let done = issuer.sign_in_with_code(
        request,
        submitted,
        session.as_deref(),
        &ctx.issuer_url,
        &origin,
    );
    let again = |status, message: &str| match &enrolment {
        Some(e) => page::enrol(status, request, e, Some(message)),
        None => page::code(status, request, token, username, Some(message)),
    };
    match Box::pin(done).await {
        Ok(s) => Ok(signed_in_response(issuer, request, s, ctx).into()),
        Err(Error::Refused(Refusal::InvalidSession)) => {
            Ok(expired(request, fresh, username).into())
        }
        Err(Error::Refused(refusal @ Refusal::InvalidCredentials)) => Ok(Answer {
            response: again(StatusCode::OK, "That code is not right. Try again."),
            refused: Some(refusal),
        }),
        Err(Error::Refused(refusal @ Refusal::TooManyAttempts { retry_after_secs })) => {
            let mut resp = again(
                StatusCode::TOO_MANY_REQUESTS,
                &wait_message(retry_after_secs),
            );
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            Ok(Answer {
                response: resp,
                refused: Some(refusal),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// A refusal's page with the wait of a lock.
fn locked(mut resp: Response<Body>, refusal: Refusal, retry_after_secs: u64) -> Answer {
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    Answer {
        response: resp,
        refused: Some(refusal),
    }
}

/// The login page's passkey post (API §13): a good passkey signs in; any
/// other is the login page again with one message (a lock: its wait), and
/// a challenge no longer good the page afresh.
async fn passkey_step<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
    request: &AuthorizationRequest,
    form: &FormBody,
    token: &str,
    fresh: &LoginTokens,
) -> Result<Answer, ApiError> {
    let field = |name| form.optional(name).ok().flatten().unwrap_or("");
    let submitted = PasskeySubmission {
        token,
        credential_id: field("credential_id"),
        client_data: field("client_data"),
        authenticator_data: field("authenticator_data"),
        signature: field("signature"),
        user_handle: field("user_handle"),
    };
    let origin = ctx.origin(DialectName::OAuthPage);
    let session = request_cookie(req, SESSION_COOKIE);
    let device = request_cookie(req, DEVICE_COOKIE);
    let done = issuer.sign_in_with_passkey(
        request,
        submitted,
        device.as_deref(),
        session.as_deref(),
        &ctx.issuer_url,
        &origin,
    );
    let again = |status, message: &str| page::login(status, request, fresh, "", Some(message));
    match Box::pin(done).await {
        Ok(s) => Ok(signed_in_response(issuer, request, s, ctx).into()),
        Err(Error::Refused(Refusal::InvalidSession)) => Ok(expired(request, fresh, "").into()),
        Err(Error::Refused(refusal @ Refusal::InvalidCredentials)) => Ok(Answer {
            response: again(
                StatusCode::OK,
                "That passkey could not sign you in. Try again, or sign in with your password.",
            ),
            refused: Some(refusal),
        }),
        Err(Error::Refused(refusal @ Refusal::TooManyAttempts { retry_after_secs })) => {
            let resp = again(
                StatusCode::TOO_MANY_REQUESTS,
                &wait_message(retry_after_secs),
            );
            Ok(locked(resp, refusal, retry_after_secs))
        }
        Err(e) => Err(e.into()),
    }
}

/// The passkey registration's post: stored (or declined), the client gets
/// its code; a passkey that was not stored shows the offer again, and a
/// token or session no longer good the login page.
async fn registration_step<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
    request: &AuthorizationRequest,
    form: &FormBody,
    token: &str,
    fresh: &LoginTokens,
) -> Result<Answer, ApiError> {
    let field = |name| form.optional(name).ok().flatten().unwrap_or("");
    let declined = form.optional("skip").ok().flatten().is_some();
    let submitted = RegistrationSubmission {
        token,
        response: (!declined).then(|| (field("client_data"), field("attestation_object"))),
    };
    let origin = ctx.origin(DialectName::OAuthPage);
    let session = request_cookie(req, SESSION_COOKIE);
    let done = issuer.finish_registration(
        request,
        submitted,
        session.as_deref(),
        &ctx.issuer_url,
        &origin,
    );
    match Box::pin(done).await {
        Ok(Registered::Code(code)) => Ok(code_redirect(request, code.expose(), ctx).into()),
        Ok(Registered::Again(offer)) => Ok(Answer {
            response: page::register_passkey(
                StatusCode::OK,
                request,
                &offer,
                Some("That passkey could not be added. Try again, or continue without one."),
            ),
            refused: Some(Refusal::InvalidCredentials),
        }),
        Ok(Registered::Consent(offer)) => Ok(page::consent(StatusCode::OK, request, &offer).into()),
        Err(Error::Refused(Refusal::InvalidSession)) => Ok(expired(request, fresh, "").into()),
        Err(e) => Err(e.into()),
    }
}

/// The consent page's post (API §14): allowed, the client gets its code;
/// denied, `access_denied`; a token or session no longer good, the login
/// page.
async fn consent_step<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
    request: &AuthorizationRequest,
    form: &FormBody,
    token: &str,
    fresh: &LoginTokens,
) -> Result<Answer, ApiError> {
    // Only a button's value answers: anything else asks nothing of anyone.
    let allow = match form.optional("consent") {
        Ok(Some("allow")) => true,
        Ok(Some("deny")) => false,
        _ => {
            return Ok(page::error(
                StatusCode::BAD_REQUEST,
                "The answer to the consent page could not be read.",
                Some("consent must be allow or deny, given once."),
            )
            .into())
        }
    };
    let origin = ctx.origin(DialectName::OAuthPage);
    let session = request_cookie(req, SESSION_COOKIE);
    let done = issuer.finish_consent(
        request,
        ConsentSubmission { token, allow },
        session.as_deref(),
        &origin,
    );
    match Box::pin(done).await {
        Ok(Consented::Code(code)) => Ok(code_redirect(request, code.expose(), ctx).into()),
        Ok(Consented::Denied) => {
            let denied = AuthorizeError::Redirect(RedirectError {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                refusal: AuthorizeRefusal::AccessDenied,
            });
            authorize_error(denied, ctx).map(Answer::from)
        }
        Err(Error::Refused(Refusal::InvalidSession)) => Ok(expired(request, fresh, "").into()),
        Err(e) => Err(e.into()),
    }
}

/// The redirect with the code (or the passkey registration the request
/// asked for), and the cookies of a finished sign-in: the known browser's
/// and the browser session's.
fn signed_in_response<S: Store>(
    issuer: &Issuer<S>,
    request: &AuthorizationRequest,
    SignedIn {
        next,
        username,
        cookie,
    }: SignedIn,
    ctx: &Context,
) -> Response<Body> {
    let mut resp = match next {
        AfterSignIn::Code(code) => code_redirect(request, code.expose(), ctx),
        AfterSignIn::RegisterPasskey(offer) => {
            page::register_passkey(StatusCode::OK, request, &offer, None)
        }
        AfterSignIn::Consent(offer) => page::consent(StatusCode::OK, request, &offer),
    };
    // This browser is now known for the username (API §2).
    let device = format!(
        "{DEVICE_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Strict",
        issuer.device_cookie(&username),
        DEVICE_TTL.whole_seconds()
    );
    // The browser session (API §12): Lax, so another app's redirect here
    // carries it. It lasts as long as the session may.
    let session = format!(
        "{SESSION_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        cookie.expose(),
        issuer.session_limits().absolute.whole_seconds()
    );
    for c in [device, session] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

/// `302` to the client with its code, the state and the issuer (RFC 9207).
fn code_redirect(request: &AuthorizationRequest, code: &str, ctx: &Context) -> Response<Body> {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &ctx.issuer_url));
    page::redirect(request.redirect_uri.as_str(), &pairs)
}

/// The value of the cookie `name` the browser sent, if any (every `Cookie`
/// header, as API Gateway passes them).
pub(super) fn request_cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn param<'a>(form: &'a FormBody, key: &'static str) -> Param<'a> {
    form.optional(key).map_err(|_| Repeated)
}

fn params(form: &FormBody) -> AuthorizeParams<'_> {
    AuthorizeParams {
        response_type: param(form, "response_type"),
        client_id: param(form, "client_id"),
        redirect_uri: param(form, "redirect_uri"),
        scope: param(form, "scope"),
        state: param(form, "state"),
        nonce: param(form, "nonce"),
        code_challenge: param(form, "code_challenge"),
        code_challenge_method: param(form, "code_challenge_method"),
        response_mode: param(form, "response_mode"),
        prompt: param(form, "prompt"),
        login_hint: param(form, "login_hint"),
        max_age: param(form, "max_age"),
        id_token_hint: param(form, "id_token_hint"),
        request: param(form, "request"),
        request_uri: param(form, "request_uri"),
        acr_values: param(form, "acr_values"),
        action: param(form, "action"),
        resource: param(form, "resource"),
    }
}

/// A request that goes no further: an error page, the error on the
/// client's redirect URI, or a fault for the dialect's server error.
fn authorize_error(err: AuthorizeError, ctx: &Context) -> Result<Response<Body>, ApiError> {
    match err {
        AuthorizeError::NoRedirect(why) => {
            let detail = match why {
                NoRedirect::MissingClient
                | NoRedirect::RepeatedClient
                | NoRedirect::UnknownClient
                | NoRedirect::MissingRedirectUri
                | NoRedirect::RepeatedRedirectUri
                | NoRedirect::UnregisteredRedirectUri => why.to_string(),
            };
            Ok(page::error(
                StatusCode::BAD_REQUEST,
                "This application's sign-in link is not valid.",
                Some(&detail),
            ))
        }
        AuthorizeError::Redirect(RedirectError {
            redirect_uri,
            state,
            refusal,
        }) => {
            let (error, description) = authorize_refusal(refusal);
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(state) = &state {
                pairs.push(("state", state));
            }
            pairs.push(("iss", &ctx.issuer_url));
            Ok(page::redirect(redirect_uri.as_str(), &pairs))
        }
        AuthorizeError::Fault(fault) => Err(fault.into()),
    }
}
