//! The signing port: what the core asks of its keys. Signing, verifying what
//! these keys signed, the keyed MACs derived from them, and publishing the
//! public keys. `crate::keys` implements it on the key ring; the core never
//! sees a key, a secret or where either is stored.

use super::record::claims::{IdTokenHint, TokenClaims};
use std::future::Future;

/// The JWS header type of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `JWT`: vendor-dialect access tokens and ID tokens.
    Jwt,
    /// `at+jwt`: OAuth access tokens (RFC 9068).
    AccessToken,
    /// `logout+jwt`: back-channel logout tokens (Back-Channel Logout 1.0).
    LogoutToken,
}

/// Signing failed: the claims would not encode, or the keys could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot encode the token's claims")]
    Claims(#[source] serde_json::Error),
    /// The adapter's own error, with its chain.
    #[error(transparent)]
    Keys(Box<dyn std::error::Error + Send + Sync>),
}

pub trait Signer: Send + Sync {
    /// A compact JWS of header type `typ` over `payload` (the claims' JSON).
    fn sign_payload(&self, typ: TokenType, payload: &[u8]) -> Result<String, SignError>;

    /// The header type and claims of a token one of the published keys
    /// signed; `None` for anything else. Only the signature is checked:
    /// times and issuer are the caller's.
    fn verify(&self, token: &str) -> Option<(TokenType, TokenClaims)>;

    /// The claims of an ID token (header type `JWT`) one of the published
    /// keys signed, expired or not; `None` for anything else.
    fn verify_id_token(&self, token: &str) -> Option<IdTokenHint>;

    /// A MAC of a login form's fields (its form token).
    fn form_mac(&self, data: &[u8]) -> Vec<u8>;
    /// Whether `tag` is [`Signer::form_mac`] of `data`, in constant time.
    fn form_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool;
    /// A 128-bit MAC of a known browser's device cookie.
    fn device_mac(&self, data: &[u8]) -> [u8; 16];
    /// Whether `tag` is [`Signer::device_mac`] of `data`, in constant time.
    fn device_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool;
    /// A short keyed hash for the log: the same for one input while the keys
    /// stay, and no way back to it.
    fn pseudonym(&self, data: &[u8]) -> String;

    /// The JWKS document of every published public key.
    fn public_jwks(&self) -> String;
}

/// Keys that may change while the process lives. The edge asks before each
/// request, inside its deadline. A type parameter of the edge rather than a
/// method of [`Signer`]: a boxed future there cost each binary 200 KB, as
/// the SDK call it wraps could no longer share one copy with the cold
/// start's read.
pub trait Refresh: Send + Sync {
    /// Reads the keys again when their refresh bound has passed; never fails
    /// (keys that cannot be read leave the ones in use).
    fn refresh_if_due(&self) -> impl Future<Output = ()> + Send;
}

/// Signs `claims` as a token of type `typ`.
pub fn sign<T: serde::Serialize, K: Signer + ?Sized>(
    signer: &K,
    typ: TokenType,
    claims: &T,
) -> Result<String, SignError> {
    let payload = serde_json::to_vec(claims).map_err(SignError::Claims)?;
    signer.sign_payload(typ, &payload)
}
