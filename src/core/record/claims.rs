//! The claims of the tokens the issuer signs: a vendor dialect's access
//! token, an OAuth access token (RFC 9068, also what introspection and the
//! authorizer read of a token of any dialect), and an ID token.

use serde::{Deserialize, Serialize};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The refresh family (or session) the token was minted for, so a verifier
    /// can check revocation.
    pub sid: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub role: i64,
    pub customer_id: String,
    pub auth_source: String,
}

/// The claims of an OAuth access token (RFC 9068), and what introspection
/// reads of a token of any dialect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The browser session the token was issued in (API §12); else the
    /// refresh family it was minted for; `None` for `client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The refresh family, when `sid` names a browser session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// How the user signed in (RFC 8176), in a browser session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// `mfa` when that sign-in had a second factor, else `pwd` (API §13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The client key the token is bound to (DPoP, RFC 9449 §6.1): only a
    /// request with a proof made with that key may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of the DPoP key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

/// The `acr` of a sign-in by the methods `amr`: `mfa` with a second factor.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        "mfa"
    } else {
        "pwd"
    }
}

impl TokenClaims {
    /// The refresh family whose state decides whether the token is live.
    pub fn family(&self) -> Option<&str> {
        self.fid.as_deref().or(self.sid.as_deref())
    }
}

/// The standard scopes that release profile claims (Core §5.4).
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";

/// An OpenID Connect ID token (Core §2).
#[derive(Debug, Serialize)]
pub struct IdTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: String,
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    /// How the user signed in (RFC 8176), with a browser session.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub amr: &'a [String],
    /// `mfa` or `pwd`, with a browser session (API §13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<&'static str>,
    /// The browser session (back-channel logout's `sid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a str>,
    /// The authorization request's, verbatim (Core §3.1.3.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    /// With `profile` only (Core §5.4), as `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// With `email` only (Core §5.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
}

/// What an `id_token_hint` (authorization, log out) is read for: an ID
/// token of this issuer's. `auth_time` is required so that no access token
/// of a vendor dialect (also `typ: JWT`) passes for one.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IdTokenHint {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub auth_time: i64,
    #[serde(default)]
    pub sid: Option<String>,
}

/// The event a back-channel logout token carries (Back-Channel Logout 1.0
/// §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token (Back-Channel Logout 1.0 §2.4): never a `nonce`.
#[derive(Debug, Serialize)]
pub struct LogoutClaims<'a> {
    pub iss: &'a str,
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: &'a str,
    /// `{BACKCHANNEL_LOGOUT_EVENT: {}}`.
    pub events: serde_json::Value,
}
