//! The login form's token: `base64url(expiry ‖ MAC(expiry ‖ request))` under
//! the signing port's form key. It binds the hidden fields that carry the
//! authorization request back, so a post whose token is missing, expired or
//! made for another request checks no password.

use super::AuthorizationRequest;
use crate::core::sign::Signer;
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// How long a login page may be submitted.
pub const FORM_TTL_SECS: i64 = 15 * 60;

/// What the form token authenticates: the request exactly as the hidden
/// fields carry it, each field ended by a NUL (no field can hold one).
pub(super) fn token_input(request: &AuthorizationRequest, expires: i64) -> Vec<u8> {
    let mut data = expires.to_be_bytes().to_vec();
    for field in [
        request.client.id.as_str(),
        request.redirect_uri.as_str(),
        request.requested_scope.as_deref().unwrap_or(""),
        request.state.as_deref().unwrap_or(""),
        request.nonce.as_deref().unwrap_or(""),
        &request.code_challenge,
        request.acr_values.as_deref().unwrap_or(""),
        request.resource.as_ref().map_or("", |r| r.uri.as_str()),
        if request.register_passkey {
            super::REGISTER_PASSKEY
        } else {
            ""
        },
    ] {
        data.extend_from_slice(field.as_bytes());
        data.push(0);
    }
    data
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// A token for a login page showing `request`, good from `now` (unix
    /// seconds) for [`FORM_TTL_SECS`].
    pub fn form_token(&self, request: &AuthorizationRequest, now: i64) -> String {
        let expires = now + FORM_TTL_SECS;
        let mac = self.signer().form_mac(&token_input(request, expires));
        let mut raw = expires.to_be_bytes().to_vec();
        raw.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether `token` was made for `request` and is still good at `now`.
    pub fn form_token_valid(&self, request: &AuthorizationRequest, token: &str, now: i64) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let Some((expires, mac)) = raw.split_first_chunk::<8>() else {
            return false;
        };
        let expires = i64::from_be_bytes(*expires);
        expires > now
            && expires <= now + FORM_TTL_SECS
            && self
                .signer()
                .form_mac_matches(&token_input(request, expires), mac)
    }
}
