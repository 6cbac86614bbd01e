//! Opaque tokens (refresh, ops session) and access-token claims.
//!
//! A refresh token is `base64(family id ‖ secret)`: it names its family so a
//! rotation is one conditional write on the family item, which holds the hash
//! of its one live token. Only SHA-256 hashes of tokens are stored.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

const FAMILY_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

pub(crate) fn random<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf)
        .map_err(|_| RandomError)?;
    Ok(buf)
}

/// SHA-256, URL-safe base64: the form in which tokens are stored.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// Identifies a refresh-token family; printable, not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyId([u8; FAMILY_BYTES]);

impl FamilyId {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(random()?))
    }

    /// Reads the printable form kept in storage.
    pub fn parse(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        raw.try_into().ok().map(Self)
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// A refresh token as handed to a client.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    family: FamilyId,
    token: SecretString,
}

impl RefreshToken {
    /// A new token of `family`.
    pub fn generate(family: FamilyId) -> Result<Self, RandomError> {
        let secret: [u8; SECRET_BYTES] = random()?;
        let mut raw = [0u8; FAMILY_BYTES + SECRET_BYTES];
        raw[..FAMILY_BYTES].copy_from_slice(&family.0);
        raw[FAMILY_BYTES..].copy_from_slice(&secret);
        Ok(Self {
            family,
            token: SecretString::from(STANDARD.encode(raw)),
        })
    }

    /// Reads a token presented by a client; `None` if it cannot be one of ours.
    pub fn parse(presented: &str) -> Option<Self> {
        // 48 bytes are exactly 64 base64 characters, without padding.
        if presented.len() != 64 {
            return None;
        }
        let raw = STANDARD.decode(presented).ok()?;
        if raw.len() != FAMILY_BYTES + SECRET_BYTES {
            return None;
        }
        let mut family = [0u8; FAMILY_BYTES];
        family.copy_from_slice(&raw[..FAMILY_BYTES]);
        Some(Self {
            family: FamilyId(family),
            token: SecretString::from(presented),
        })
    }

    pub fn family(&self) -> &FamilyId {
        &self.family
    }

    pub fn hash(&self) -> String {
        token_hash(self.token.expose_secret())
    }

    pub fn expose(&self) -> &str {
        self.token.expose_secret()
    }
}

/// An ops session token: 256 random bits, URL-safe characters only.
#[derive(Debug, Clone)]
pub struct SessionToken(SecretString);

impl SessionToken {
    pub fn generate() -> Result<Self, RandomError> {
        let bytes: [u8; 32] = random()?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// Reads a presented token; `None` if it has the wrong shape.
    pub fn parse(presented: &str) -> Option<Self> {
        let ok = presented.len() == 43
            && presented
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(SecretString::from(presented)))
    }

    pub fn hash(&self) -> String {
        token_hash(self.0.expose_secret())
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A unique JWT id.
pub fn new_jti() -> Result<String, RandomError> {
    let bytes: [u8; 16] = random()?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_name_their_family_and_round_trip() {
        let first = RefreshToken::generate(FamilyId::generate().unwrap()).unwrap();
        assert_eq!(first.expose().len(), 64);
        assert!(STANDARD.decode(first.expose()).is_ok());
        let next = RefreshToken::generate(*first.family()).unwrap();
        assert_eq!(next.family(), first.family());
        assert_ne!(next.expose(), first.expose());
        let parsed = RefreshToken::parse(next.expose()).unwrap();
        assert_eq!(parsed.family(), first.family());
        assert_eq!(parsed.hash(), next.hash());
        assert_ne!(parsed.hash(), first.hash());
        let id = first.family().to_string();
        assert_eq!(FamilyId::parse(&id), Some(*first.family()));
        assert_eq!(FamilyId::parse("nope"), None);
    }

    #[test]
    fn garbage_is_not_a_refresh_token() {
        for s in ["", "abc", &"A".repeat(63), &"!".repeat(64), &"A".repeat(65)] {
            assert!(RefreshToken::parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn session_tokens_are_url_safe_and_long_enough() {
        let t = SessionToken::generate().unwrap();
        assert_eq!(t.expose().len(), 43); // 256 bits
        assert!(SessionToken::parse(t.expose()).is_some());
        assert!(SessionToken::parse("short").is_none());
        assert!(SessionToken::parse(&"+".repeat(43)).is_none());
        assert_eq!(t.hash(), SessionToken::parse(t.expose()).unwrap().hash());
    }

    #[test]
    fn hashes_differ_from_tokens() {
        let t = SessionToken::generate().unwrap();
        assert_ne!(t.hash(), t.expose());
        assert_eq!(t.hash().len(), 43);
    }
}
