//! `GET` and `POST /oauth2/authorize`: the authorization code flow's front
//! channel, and the login page it shows. The page is server-rendered HTML
//! that needs no JavaScript and loads nothing: its one stylesheet is inline
//! and allowed by its hash, so the `Content-Security-Policy` can refuse
//! everything else.
//!
//! The form carries the authorization request back in hidden fields, with a
//! form token that binds them: `base64url(expiry ‖ HMAC(expiry ‖ request))`
//! under a key derived from the signing key. A post whose token is missing,
//! expired or made for another request checks no password.

use super::request::{FormBody, RequestError};
use super::routes::DialectName;
use super::{Answer, ApiError, Context, Dialect};
use crate::core::authcode::{
    AuthorizationRequest, AuthorizeError, AuthorizeParams, NoRedirect, Param, RedirectError,
    Repeated,
};
use crate::core::device::{DEVICE_COOKIE, DEVICE_TTL};
use crate::core::store::Store;
use crate::core::{Credentials, Error, Issuer, Refusal};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use lambda_http::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, PRAGMA,
    REFERRER_POLICY, RETRY_AFTER, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::SecretString;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// How long a login page may be submitted.
const FORM_TTL_SECS: i64 = 15 * 60;

/// The login page's and error pages' error shape: HTML, never JSON, since a
/// person reads it.
pub struct Page;

impl Dialect for Page {
    fn invalid_request(err: &RequestError) -> Response<Body> {
        error_page(
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
            | Refusal::InsufficientScope(_) => error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in request cannot be completed.",
                None,
            ),
        }
    }

    fn server_error() -> Response<Body> {
        error_page(
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
    let request = match issuer.check_authorization(&params(&query)).await? {
        Ok(r) => r,
        Err(e) => return Ok(authorize_error(&e, ctx)),
    };
    let token = form_token(issuer, &request, issuer.now().unix_timestamp());
    let username = request.login_hint.clone().unwrap_or_default();
    Ok(login_page(
        StatusCode::OK,
        &request,
        &token,
        &username,
        None,
    ))
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
    let request = match issuer.check_authorization(&params(&form)).await? {
        Ok(r) => r,
        Err(e) => return Ok(authorize_error(&e, ctx).into()),
    };
    let now = issuer.now().unix_timestamp();
    let fresh = form_token(issuer, &request, now);
    let username = form.optional("username").ok().flatten().unwrap_or("");
    let presented = form.optional("form_token").ok().flatten();
    if !presented.is_some_and(|t| form_token_valid(issuer, &request, t, now)) {
        return Ok(login_page(
            StatusCode::BAD_REQUEST,
            &request,
            &fresh,
            username,
            Some("This sign-in page has expired. Please sign in again."),
        )
        .into());
    }
    let password = match (form.optional("username"), form.password("password")) {
        (Ok(Some(_)), Ok(p)) => p,
        _ => {
            return Ok(login_page(
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
    let origin = ctx.origin(DialectName::OAuthPage);
    match issuer.sign_in_for_code(&request, creds, &origin).await {
        Ok((code, user)) => {
            let mut pairs = vec![("code", code.expose())];
            if let Some(state) = &request.state {
                pairs.push(("state", state));
            }
            pairs.push(("iss", &ctx.issuer_url));
            let mut resp = redirect(request.redirect_uri.as_str(), &pairs);
            // This browser is now known for the username (API §2).
            let cookie = format!(
                "{DEVICE_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Strict",
                issuer.device_cookie(&user),
                DEVICE_TTL.whole_seconds()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(SET_COOKIE, v);
            }
            Ok(resp.into())
        }
        // One message for every failed check, so the page tells nobody
        // whether a username exists.
        Err(Error::Refused(refusal @ Refusal::InvalidCredentials)) => Ok(Answer {
            response: login_page(
                StatusCode::OK,
                &request,
                &fresh,
                username,
                Some("Incorrect username or password."),
            ),
            refused: Some(refusal),
        }),
        Err(Error::Refused(refusal @ Refusal::TooManyAttempts { retry_after_secs })) => {
            let minutes = retry_after_secs.div_ceil(60).max(1);
            let message = format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            let mut resp = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &request,
                &fresh,
                username,
                Some(&message),
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

/// The value of the cookie `name` the browser sent, if any (every `Cookie`
/// header, as API Gateway passes them).
fn request_cookie(req: &Request, name: &str) -> Option<String> {
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
        request: param(form, "request"),
        request_uri: param(form, "request_uri"),
    }
}

/// What the form token authenticates: the request exactly as the hidden
/// fields carry it, each field ended by a NUL (no field can hold one).
fn token_input(request: &AuthorizationRequest, expires: i64) -> Vec<u8> {
    let mut data = expires.to_be_bytes().to_vec();
    for field in [
        request.client.id.as_str(),
        request.redirect_uri.as_str(),
        request.requested_scope.as_deref().unwrap_or(""),
        request.state.as_deref().unwrap_or(""),
        request.nonce.as_deref().unwrap_or(""),
        &request.code_challenge,
    ] {
        data.extend_from_slice(field.as_bytes());
        data.push(0);
    }
    data
}

fn form_token<S: Store>(issuer: &Issuer<S>, request: &AuthorizationRequest, now: i64) -> String {
    let expires = now + FORM_TTL_SECS;
    let mac = issuer
        .keys()
        .current()
        .form_mac(&token_input(request, expires));
    let mut raw = expires.to_be_bytes().to_vec();
    raw.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(raw)
}

fn form_token_valid<S: Store>(
    issuer: &Issuer<S>,
    request: &AuthorizationRequest,
    token: &str,
    now: i64,
) -> bool {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else {
        return false;
    };
    let Some((expires, mac)) = raw.split_first_chunk::<8>() else {
        return false;
    };
    let expires = i64::from_be_bytes(*expires);
    expires > now
        && expires <= now + FORM_TTL_SECS
        && issuer
            .keys()
            .current()
            .form_mac_matches(&token_input(request, expires), mac)
}

/// RFC 3986 unreserved characters stay as they are; all else is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `302` to `base` with `pairs` added to its query.
fn redirect(base: &str, pairs: &[(&str, &str)]) -> Response<Body> {
    let mut location = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    if base.ends_with('?') || base.ends_with('&') {
        sep = '\0';
    }
    for (k, v) in pairs {
        if sep != '\0' {
            location.push(sep);
        }
        sep = '&';
        let _ = write!(location, "{k}={}", utf8_percent_encode(v, COMPONENT));
    }
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::FOUND;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(LOCATION, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn authorize_error(err: &AuthorizeError, ctx: &Context) -> Response<Body> {
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
            error_page(
                StatusCode::BAD_REQUEST,
                "This application's sign-in link is not valid.",
                Some(&detail),
            )
        }
        AuthorizeError::Redirect(RedirectError {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            let mut pairs = vec![("error", *error), ("error_description", *description)];
            if let Some(state) = state {
                pairs.push(("state", state));
            }
            pairs.push(("iss", &ctx.issuer_url));
            redirect(redirect_uri.as_str(), &pairs)
        }
    }
}

/// Text for HTML, in an element or a quoted attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = include_str!("login.css");

/// `'sha256-…'` of [`STYLE`], the one style the pages' policy allows.
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
});

/// The headers of every page: not cached, not framed, not sniffed, no
/// referrer (the URL holds the request), and a policy that allows the inline
/// style, posts to this origin and the client's (browsers apply
/// `form-action` to the redirect that follows a post), and nothing else.
fn page(status: StatusCode, html: String, form_action: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(html));
    *resp.status_mut() = status;
    let csp = format!(
        "default-src 'none'; style-src {}; img-src data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH
    );
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(HeaderName::from_static("content-security-policy"), v);
    }
    resp
}

const LOGO: &str = r#"<svg class="logo" viewBox="0 0 24 24" width="40" height="40" aria-hidden="true"><path fill="currentColor" d="M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5l-9-4zm0 6a3 3 0 0 1 3 3v1h.5a1.5 1.5 0 0 1 1.5 1.5v4a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 7 16.5v-4A1.5 1.5 0 0 1 8.5 11H9v-1a3 3 0 0 1 3-3zm0 1.8A1.2 1.2 0 0 0 10.8 10v1h2.4v-1A1.2 1.2 0 0 0 12 8.8z"/></svg>"#;

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

fn login_page(
    status: StatusCode,
    request: &AuthorizationRequest,
    token: &str,
    username: &str,
    message: Option<&str>,
) -> Response<Body> {
    let app = escape(request.client.display_name());
    let mut hidden = String::new();
    let fields = [
        ("response_type", Some("code")),
        ("client_id", Some(request.client.id.as_str())),
        ("redirect_uri", Some(request.redirect_uri.as_str())),
        ("scope", request.requested_scope.as_deref()),
        ("state", request.state.as_deref()),
        ("nonce", request.nonce.as_deref()),
        ("code_challenge", Some(&request.code_challenge)),
        ("code_challenge_method", Some("S256")),
        ("form_token", Some(token)),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            let _ = writeln!(
                hidden,
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            );
        }
    }
    let alert = match message {
        Some(m) => format!(
            "<p class=\"alert\" role=\"alert\" id=\"form-error\">{}</p>\n",
            escape(m)
        ),
        None => String::new(),
    };
    let described = if message.is_some() {
        " aria-describedby=\"form-error\" aria-invalid=\"true\""
    } else {
        ""
    };
    let focus_user = if username.is_empty() {
        " autofocus"
    } else {
        ""
    };
    let focus_password = if username.is_empty() {
        ""
    } else {
        " autofocus"
    };
    let destination = escape(request.redirect_uri.origin());
    let body = format!(
        "<main class=\"card\">\n{LOGO}\n<h1>Sign in</h1>\n\
         <p class=\"lead\">to continue to <strong>{app}</strong></p>\n{alert}\
         <form method=\"post\" action=\"authorize\" novalidate>\n{hidden}\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" value=\"{}\" \
         autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" \
         required{focus_user}{described}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required{focus_password}{described}>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"fine\">After you sign in, you return to <span class=\"origin\">{destination}</span></p>\n\
         </main>",
        escape(username)
    );
    let form_action = format!("'self' {}", request.redirect_uri.origin());
    page(
        status,
        document(
            &format!("Sign in to {}", request.client.display_name()),
            &body,
        ),
        &form_action,
    )
}

fn error_page(status: StatusCode, headline: &str, detail: Option<&str>) -> Response<Body> {
    let detail = detail
        .map(|d| format!("<p class=\"detail\">{}</p>\n", escape(d)))
        .unwrap_or_default();
    let body = format!(
        "<main class=\"card\">\n{LOGO}\n<h1>Sign-in problem</h1>\n\
         <p class=\"alert\" role=\"alert\">{}</p>\n{detail}\
         <p class=\"fine\">Go back to the application and start again. If this keeps happening, \
         tell the application's owner.</p>\n</main>",
        escape(headline)
    );
    page(status, document("Sign-in problem", &body), "'none'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_add_to_the_registered_query() {
        let loc = |base: &str| {
            redirect(base, &[("code", "a b"), ("state", "x&y=z")])
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            loc("https://a.example/cb").as_deref(),
            Some("https://a.example/cb?code=a%20b&state=x%26y%3Dz")
        );
        assert_eq!(
            loc("https://a.example/cb?tenant=1").as_deref(),
            Some("https://a.example/cb?tenant=1&code=a%20b&state=x%26y%3Dz")
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
