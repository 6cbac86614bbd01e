//! `GET` and `POST /oauth2/logout` (OpenID Connect RP-Initiated Logout
//! 1.0): an app's log out request, and the confirmation page's post. The
//! session cookie is cleared on every answer that is not an error or a
//! question; the browser goes back to a registered post-logout redirect URI
//! with `state`, or sees the signed-out page.

use super::authorize::request_cookie;
use super::page;
use super::request::FormBody;
use super::routes::DialectName;
use super::{ApiError, Context};
use crate::core::authorize::{Param, Repeated};
use crate::core::logout::{LogoutAnswer, LogoutError, LogoutParams, LogoutRefusal};
use crate::core::record::browser::SESSION_COOKIE;
use crate::core::store::Store;
use crate::core::Issuer;
use lambda_http::http::header::{HeaderValue, SET_COOKIE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// Clears the session cookie, with the attributes it was set with.
const CLEAR_SESSION: &str = "__Host-session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";

/// `GET` or `POST /oauth2/logout`.
pub async fn logout<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = if req.method() == Method::POST {
        FormBody::from_request(req)?
    } else {
        FormBody::from_bytes(req.uri().query().unwrap_or("").as_bytes())?
    };
    let cookie = request_cookie(req, SESSION_COOKIE);
    // Boxed: each holds storage calls' futures, and a debug build's poll
    // frames of them inline overflowed a test thread's stack.
    let asked = params(&form);
    let request = match Box::pin(issuer.check_logout(&asked, &ctx.issuer_url)).await {
        Ok(r) => r,
        Err(LogoutError::Refused(why)) => return Ok(refused(why)),
        Err(LogoutError::Fault(f)) => return Err(f.into()),
    };
    let origin = ctx.origin(DialectName::OAuthPage);
    let now = issuer.now().unix_timestamp();
    let confirmed =
        req.method() == Method::POST
            && form.optional("confirm").ok().flatten() == Some("yes")
            && form.optional("form_token").ok().flatten().is_some_and(|t| {
                issuer.logout_form_token_valid(cookie.as_deref(), &request, t, now)
            });
    let answer = if confirmed {
        Box::pin(issuer.confirm_logout(cookie.as_deref(), &ctx.issuer_url, &origin)).await?
    } else {
        Box::pin(issuer.logout(&request, cookie.as_deref(), &ctx.issuer_url, &origin)).await?
    };
    let ended = match answer {
        LogoutAnswer::Confirm => {
            let token = issuer.logout_form_token(cookie.as_deref(), &request, now);
            let hidden = [
                ("client_id", request.client.as_ref().map(|c| c.id.as_str())),
                (
                    "post_logout_redirect_uri",
                    request.redirect.as_ref().map(|u| u.as_str()),
                ),
                ("state", request.state.as_deref()),
                ("form_token", Some(token.as_str())),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let app = request.client.as_ref().map(|c| c.display_name());
            return Ok(page::logout_confirmation(app, hidden));
        }
        LogoutAnswer::Ended { .. } => true,
        LogoutAnswer::NothingToEnd => false,
    };
    let mut resp = match &request.redirect {
        Some(uri) => {
            let pairs: Vec<(&str, &str)> = request
                .state
                .as_deref()
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            page::redirect(uri.as_str(), &pairs)
        }
        None => page::signed_out(ended),
    };
    resp.headers_mut()
        .append(SET_COOKIE, HeaderValue::from_static(CLEAR_SESSION));
    Ok(resp)
}

/// An error page: the browser is never sent anywhere.
fn refused(why: LogoutRefusal) -> Response<Body> {
    let detail = match why {
        LogoutRefusal::RepeatedParameter
        | LogoutRefusal::InvalidIdTokenHint
        | LogoutRefusal::UnknownClient
        | LogoutRefusal::ClientMismatch
        | LogoutRefusal::RedirectWithoutClient
        | LogoutRefusal::UnregisteredRedirectUri
        | LogoutRefusal::MalformedState => why.to_string(),
    };
    page::error(
        StatusCode::BAD_REQUEST,
        "This application's sign-out link is not valid.",
        Some(&detail),
    )
}

fn param<'a>(form: &'a FormBody, key: &'static str) -> Param<'a> {
    form.optional(key).map_err(|_| Repeated)
}

fn params(form: &FormBody) -> LogoutParams<'_> {
    LogoutParams {
        id_token_hint: param(form, "id_token_hint"),
        client_id: param(form, "client_id"),
        post_logout_redirect_uri: param(form, "post_logout_redirect_uri"),
        state: param(form, "state"),
    }
}
