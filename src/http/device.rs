//! The device page (RFC 8628 §3.3) and its callback. The user types the
//! code their device shows; the page names the device's app and asks
//! before sending the browser to the authorization endpoint, so a code
//! posted by another site, or a link to the endpoint, signs nothing in:
//! the question and the callback both need a cookie this page set in this
//! browser, which another site can neither read nor send cross-site.

use super::authorize::request_cookie;
use super::page;
use super::request::FormBody;
use super::response;
use super::routes::DialectName;
use super::{ApiError, Context};
use crate::core::oauth::device::{device_callback_url, DeviceLookup, DeviceOutcome};
use crate::core::record::device::normalize_user_code;
use crate::core::record::token::new_jti;
use crate::core::sign::Signer;
use crate::core::store::Store;
use crate::core::{Fault, Issuer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lambda_http::http::header::{HeaderValue, SET_COOKIE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// The cookie that ties a device page's question, and the callback, to the
/// browser that was asked; it lives as long as a device's codes.
const REQUEST_COOKIE: &str = "__Host-device-request";
const SET_REQUEST: &str = "Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax";
const CLEAR_REQUEST: &str =
    "__Host-device-request=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";

/// A tag under the signing key over `purpose`, the device and the cookie.
fn tag(signer: &dyn Signer, purpose: &str, device_hash: &str, cookie: &str) -> String {
    let data = format!("{purpose}\0{device_hash}\0{cookie}");
    URL_SAFE_NO_PAD.encode(signer.form_mac(data.as_bytes()))
}

fn tag_matches(
    signer: &dyn Signer,
    purpose: &str,
    device_hash: &str,
    cookie: Option<&str>,
    given: &str,
) -> bool {
    let (Some(cookie), Ok(given)) = (cookie, URL_SAFE_NO_PAD.decode(given)) else {
        return false;
    };
    let data = format!("{purpose}\0{device_hash}\0{cookie}");
    signer.form_mac_matches(data.as_bytes(), &given)
}

fn with_cookie(mut resp: Response<Body>, value: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// `GET /oauth2/device`: the form, with the code of
/// `verification_uri_complete` filled in.
pub async fn show<S: Store>(
    _issuer: &Issuer<S>,
    _ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let query = FormBody::from_bytes(req.uri().query().unwrap_or("").as_bytes())?;
    let code = query.optional("user_code").ok().flatten().unwrap_or("");
    // Only what could be a code is shown back.
    let code = if code.len() <= 16 { code } else { "" };
    Ok(page::device(StatusCode::OK, code, None))
}

/// `POST /oauth2/device`: a typed code (the question follows), or the
/// answer to the question.
pub async fn submit<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let form = FormBody::from_request(req)?;
    let origin = ctx.origin(DialectName::OAuthPage);
    let signer = issuer.signer();
    let Some(answer) = form.optional("answer")? else {
        let typed = form.optional("user_code")?.unwrap_or("");
        return Ok(match issuer.find_device(typed, &origin).await? {
            DeviceLookup::Found {
                device_hash,
                client,
                ..
            } => {
                let cookie = new_jti().map_err(Fault::from)?;
                let token = tag(signer, "device-confirm", &device_hash, &cookie);
                let plain = normalize_user_code(typed).unwrap_or_default();
                let shown = format!(
                    "{}-{}",
                    &plain[..4.min(plain.len())],
                    &plain[4.min(plain.len())..]
                );
                let hidden = vec![
                    ("device", device_hash.as_str()),
                    ("form_token", token.as_str()),
                ];
                let resp = page::device_confirm(client.display_name(), &shown, hidden);
                with_cookie(resp, &format!("{REQUEST_COOKIE}={cookie}; {SET_REQUEST}"))
            }
            DeviceLookup::Unknown => page::device(
                StatusCode::BAD_REQUEST,
                typed.get(..16).unwrap_or(typed),
                Some("That code is not valid. Check the code your device shows and try again."),
            ),
            DeviceLookup::TooMany { retry_after_secs } => response::with_retry_after(
                page::device(
                    StatusCode::TOO_MANY_REQUESTS,
                    "",
                    Some("Too many codes were tried from here. Wait a few minutes and try again."),
                ),
                retry_after_secs,
            ),
        });
    };
    let device_hash = form.required("device")?;
    let token = form.required("form_token")?;
    let cookie = request_cookie(req, REQUEST_COOKIE);
    if !tag_matches(
        signer,
        "device-confirm",
        device_hash,
        cookie.as_deref(),
        token,
    ) {
        return Ok(page::device(
            StatusCode::BAD_REQUEST,
            "",
            Some("This page expired. Enter the code your device shows again."),
        ));
    }
    if answer == "deny" {
        let outcome = issuer
            .finish_device(device_hash, None, &origin, &ctx.issuer_url)
            .await?;
        let resp = done(outcome);
        return Ok(with_cookie(resp, CLEAR_REQUEST));
    }
    let Some((client, scope)) = issuer.pending_device(device_hash).await? else {
        return Ok(with_cookie(done(DeviceOutcome::Gone), CLEAR_REQUEST));
    };
    let cookie = cookie.unwrap_or_default();
    let state = format!(
        "{device_hash}.{}",
        tag(signer, "device-state", device_hash, &cookie)
    );
    let scope = scope.to_string();
    let challenge = issuer.device_challenge(device_hash);
    let callback = device_callback_url(&ctx.issuer_url);
    Ok(page::redirect(
        &format!("{}/oauth2/authorize", ctx.issuer_url),
        &[
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", &callback),
            ("scope", &scope),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    ))
}

fn done(outcome: DeviceOutcome) -> Response<Body> {
    match outcome {
        DeviceOutcome::Approved => page::device_done(StatusCode::OK, true, false),
        DeviceOutcome::Denied => page::device_done(StatusCode::OK, false, true),
        DeviceOutcome::Gone => page::device_done(StatusCode::BAD_REQUEST, false, false),
    }
}

/// `GET /oauth2/device/callback`: the authorization endpoint's answer for a
/// device (a code, or `error=access_denied`), in the browser that asked.
pub async fn callback<S: Store>(
    issuer: &Issuer<S>,
    ctx: &Context,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let query = FormBody::from_bytes(req.uri().query().unwrap_or("").as_bytes())?;
    let origin = ctx.origin(DialectName::OAuthPage);
    let cookie = request_cookie(req, REQUEST_COOKIE);
    let state = query.optional("state").ok().flatten().unwrap_or("");
    let Some((device_hash, state_tag)) = state.split_once('.') else {
        return Ok(done(DeviceOutcome::Gone));
    };
    if !tag_matches(
        issuer.signer(),
        "device-state",
        device_hash,
        cookie.as_deref(),
        state_tag,
    ) {
        return Ok(done(DeviceOutcome::Gone));
    }
    let code = query.optional("code").ok().flatten();
    let denied = query.optional("error").ok().flatten() == Some("access_denied");
    let outcome = match (code, denied) {
        (Some(code), _) => {
            issuer
                .finish_device(device_hash, Some(code), &origin, &ctx.issuer_url)
                .await?
        }
        (None, true) => {
            issuer
                .finish_device(device_hash, None, &origin, &ctx.issuer_url)
                .await?
        }
        (None, false) => DeviceOutcome::Gone,
    };
    Ok(with_cookie(done(outcome), CLEAR_REQUEST))
}
