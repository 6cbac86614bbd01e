//! The pages a person reads (the login page, the sign-in error page, the
//! log out confirmation and the signed-out page),
//! rendered from compile-time checked templates in `templates/` that escape
//! every value, and the headers every page and front-channel redirect
//! carries, in one place.
//!
//! A page needs no JavaScript and loads nothing: its one stylesheet and its
//! one script (the passkey ceremonies, API §13) are inline and allowed by
//! their hashes, so the `Content-Security-Policy` can refuse everything
//! else. Without the script, the password path works as before.

use crate::core::authorize::{AuthorizationRequest, ConsentOffer, Enrolment, PasskeyRegistration};
use askama::Template;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::http::header::{
    HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The pages' one stylesheet, inline.
pub const STYLE: &str = include_str!("../../templates/login.css");
/// The shield above every page's headline, inline.
pub const LOGO: &str = include_str!("../../templates/logo.svg");

/// The pages' one script, inline: the passkey sign-in and registration.
pub const SCRIPT: &str = include_str!("../../templates/passkey.js");

fn csp_hash(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
}

/// `'sha256-…'` of [`STYLE`], the one style the pages' policy allows.
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| csp_hash(STYLE));
/// `'sha256-…'` of [`SCRIPT`], the one script the pages' policy allows.
static SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| csp_hash(SCRIPT));

/// What a login page carries besides the request: the password form's
/// token, and the passkey sign-in's challenge and relying-party id.
pub struct LoginTokens {
    pub form: String,
    pub passkey: String,
    pub rp_id: String,
}

/// Escapes text for an HTML element or a quoted attribute with the named
/// entities (askama's own escaper writes numeric ones); `askama.toml` makes
/// it the escaper of every `.html` template.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        let mut rest = text;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            dest.write_str(&rest[..i])?;
            dest.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        dest.write_str(rest)
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    app: &'a str,
    message: Option<&'a str>,
    /// The authorization request carried back, and the form token.
    hidden: Vec<(&'static str, &'a str)>,
    username: &'a str,
    /// Where the user returns after signing in.
    destination: &'a str,
    /// The passkey form's hidden fields, its challenge and relying party.
    passkey_hidden: Vec<(&'static str, &'a str)>,
    passkey_token: &'a str,
    rp_id: &'a str,
}

#[derive(Template)]
#[template(path = "passkey.html")]
struct PasskeyPage<'a> {
    app: &'a str,
    message: Option<&'a str>,
    hidden: Vec<(&'static str, &'a str)>,
    token: &'a str,
    rp_id: &'a str,
    user_handle: &'a str,
    username: &'a str,
    /// The credential ids registered already, space-separated.
    exclude: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    app: &'a str,
    /// Where a metadata document's client describes itself: the host of
    /// its id, the one thing about it the issuer has verified.
    described_at: Option<&'a str>,
    hidden: Vec<(&'static str, &'a str)>,
    redirect_host: &'a str,
    scopes: &'a [String],
    username: &'a str,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage<'a> {
    app: &'a str,
    message: Option<&'a str>,
    hidden: Vec<(&'static str, &'a str)>,
    username: &'a str,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage<'a> {
    app: &'a str,
    message: Option<&'a str>,
    hidden: Vec<(&'static str, &'a str)>,
    username: &'a str,
    /// The QR code of `otpauth`, as inline SVG this module drew.
    qr: String,
    secret: String,
    otpauth: &'a str,
    recovery: Vec<&'a str>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    app: Option<&'a str>,
    /// The log out request carried back, and the form token.
    hidden: Vec<(&'static str, &'a str)>,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    /// Whether a session ended, or there was none.
    ended: bool,
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    code: &'a str,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
struct DeviceConfirmPage<'a> {
    app: &'a str,
    code: &'a str,
    hidden: Vec<(&'static str, &'a str)>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DeviceDonePage {
    approved: bool,
    denied: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    headline: &'a str,
    detail: Option<&'a str>,
}

/// The login page for `request`, with the form `token`, the `username` to
/// fill in and a `message` above the form.
/// The authorization request as hidden fields, and `extra` after them.
fn hidden<'a>(
    request: &'a AuthorizationRequest,
    extra: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    let mut fields: Vec<(&'static str, &'a str)> = [
        ("response_type", Some("code")),
        ("client_id", Some(request.client.id.as_str())),
        ("redirect_uri", Some(request.redirect_uri.as_str())),
        ("scope", request.requested_scope.as_deref()),
        ("state", request.state.as_deref()),
        ("nonce", request.nonce.as_deref()),
        ("code_challenge", Some(request.code_challenge.as_str())),
        ("code_challenge_method", Some("S256")),
        ("acr_values", request.acr_values.as_deref()),
        (
            "resource",
            request.resource.as_ref().map(|r| r.uri.as_str()),
        ),
        (
            "action",
            request
                .register_passkey
                .then_some(crate::core::authorize::REGISTER_PASSKEY),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    fields.extend_from_slice(extra);
    fields
}

pub fn login(
    status: StatusCode,
    request: &AuthorizationRequest,
    tokens: &LoginTokens,
    username: &str,
    message: Option<&str>,
) -> Response<Body> {
    let html = LoginPage {
        app: request.client.display_name(),
        message,
        hidden: hidden(request, &[("form_token", &tokens.form)]),
        username,
        destination: request.redirect_uri.origin(),
        passkey_hidden: hidden(request, &[("passkey_token", &tokens.passkey)]),
        passkey_token: &tokens.passkey,
        rp_id: &tokens.rp_id,
    }
    .render();
    sign_in_page(status, request, html)
}

/// The offer to register a passkey (`action=register-passkey`): the
/// browser's ceremony, or no passkey this time; both post `offer`'s token.
pub fn register_passkey(
    status: StatusCode,
    request: &AuthorizationRequest,
    offer: &PasskeyRegistration,
    message: Option<&str>,
) -> Response<Body> {
    let html = PasskeyPage {
        app: request.client.display_name(),
        message,
        hidden: hidden(request, &[("register_token", &offer.token)]),
        token: &offer.token,
        rp_id: &offer.rp_id,
        user_handle: &offer.user_handle,
        username: &offer.username,
        exclude: offer.exclude.join(" "),
    }
    .render();
    sign_in_page(status, request, html)
}

/// A third-party client's consent page (API §14): who asks, where the
/// browser goes next, what it may do; Allow or Deny post `offer`'s token.
pub fn consent(
    status: StatusCode,
    request: &AuthorizationRequest,
    offer: &ConsentOffer,
) -> Response<Body> {
    let id = request.client.id.as_str();
    let described_at = request
        .client
        .id
        .is_document()
        .then(|| id.trim_start_matches("https://").split('/').next())
        .flatten();
    let html = ConsentPage {
        app: request.client.display_name(),
        described_at,
        hidden: hidden(request, &[("consent_token", &offer.token)]),
        redirect_host: &offer.redirect_host,
        scopes: &offer.scopes,
        username: &offer.username,
    }
    .render();
    sign_in_page(status, request, html)
}

/// The second step (API §13): the code of the pending sign-in `token` of
/// `username`.
pub fn code(
    status: StatusCode,
    request: &AuthorizationRequest,
    token: &str,
    username: &str,
    message: Option<&str>,
) -> Response<Body> {
    let html = CodePage {
        app: request.client.display_name(),
        message,
        hidden: hidden(request, &[("username", username), ("factor_token", token)]),
        username,
    }
    .render();
    sign_in_page(status, request, html)
}

/// The enrolment step: the secret as a QR code and as text, the recovery
/// codes, and the form that confirms with a first code.
pub fn enrol(
    status: StatusCode,
    request: &AuthorizationRequest,
    enrolment: &Enrolment,
    message: Option<&str>,
) -> Response<Body> {
    let username = enrolment.username.as_str();
    let html = EnrolPage {
        app: request.client.display_name(),
        message,
        hidden: hidden(
            request,
            &[("username", username), ("factor_token", &enrolment.token)],
        ),
        username,
        qr: qr_svg(&enrolment.otpauth),
        secret: enrolment.secret.base32(),
        otpauth: &enrolment.otpauth,
        recovery: enrolment.recovery.iter().map(|c| c.expose()).collect(),
    }
    .render();
    sign_in_page(status, request, html)
}

/// `text` as a QR code in inline SVG: one path of unit squares, with the
/// quiet zone the standard asks for (four modules). No style, so the
/// page's policy needs nothing more.
fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    const BORDER: i32 = 4;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + BORDER, y + BORDER);
            }
        }
    }
    let side = size + 2 * BORDER;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         role=\"img\" aria-label=\"QR code for your authenticator app\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" \
         fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

/// A page of the sign-in for `request`: its form posts here, and the
/// redirect that follows the post goes to the client (browsers apply
/// `form-action` to it too).
fn sign_in_page(
    status: StatusCode,
    request: &AuthorizationRequest,
    html: Result<String, askama::Error>,
) -> Response<Body> {
    let form_action = format!("'self' {}", request.redirect_uri.origin());
    page(status, html, &form_action)
}

/// The log out confirmation for `app`, its form carrying `hidden` back
/// here.
pub fn logout_confirmation(app: Option<&str>, hidden: Vec<(&'static str, &str)>) -> Response<Body> {
    page(
        StatusCode::OK,
        LogoutPage { app, hidden }.render(),
        "'self'",
    )
}

/// The page after a log out with nowhere to go back to.
pub fn signed_out(ended: bool) -> Response<Body> {
    page(StatusCode::OK, SignedOutPage { ended }.render(), "'none'")
}

/// The device page (RFC 8628 §3.3): the user code, typed or given, and a
/// `message` above the form.
pub fn device(status: StatusCode, code: &str, message: Option<&str>) -> Response<Body> {
    page(status, DevicePage { code, message }.render(), "'self'")
}

/// The device page's question: sign `app` in on the device showing `code`?
pub fn device_confirm(app: &str, code: &str, hidden: Vec<(&'static str, &str)>) -> Response<Body> {
    page(
        StatusCode::OK,
        DeviceConfirmPage { app, code, hidden }.render(),
        "'self'",
    )
}

/// How a device's request ended.
pub fn device_done(status: StatusCode, approved: bool, denied: bool) -> Response<Body> {
    page(
        status,
        DeviceDonePage { approved, denied }.render(),
        "'none'",
    )
}

/// The sign-in error page: a `headline`, and the `detail` if any.
pub fn error(status: StatusCode, headline: &str, detail: Option<&str>) -> Response<Body> {
    page(status, ErrorPage { headline, detail }.render(), "'none'")
}

/// What no page and no front-channel redirect may be: cached, or sent on as
/// a referrer (the URL holds the request, a redirect's the code).
fn private(h: &mut HeaderMap) {
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// A page's headers: private, not framed, not sniffed, and a policy that
/// allows the inline style and script, posts to `form_action`, and nothing
/// else.
fn page(
    status: StatusCode,
    html: Result<String, askama::Error>,
    form_action: &str,
) -> Response<Body> {
    let Ok(html) = html else {
        // Rendering writes to a String and fails only on a value's Display,
        // which no field here can; answer plainly rather than panic.
        let mut resp = Response::new(Body::Empty);
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        private(resp.headers_mut());
        return resp;
    };
    let mut resp = Response::new(Body::Text(html));
    *resp.status_mut() = status;
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH, *SCRIPT_HASH
    );
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    private(h);
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(HeaderName::from_static("content-security-policy"), v);
    }
    resp
}

/// RFC 3986 unreserved characters stay as they are; all else is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `302` to `base` with `pairs` added to its query.
pub fn redirect(base: &str, pairs: &[(&str, &str)]) -> Response<Body> {
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
    private(h);
    resp
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
    fn every_value_is_escaped() {
        let html = ErrorPage {
            headline: r#"<a href="x">'&'</a>"#,
            detail: Some("<script>"),
        }
        .render()
        .unwrap();
        assert!(html.contains("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
