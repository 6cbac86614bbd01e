//! OAuth clients: who may ask the token endpoint for what.

use super::tokens::{random, token_hash, RandomError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use time::OffsetDateTime;

/// Longest client id accepted, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 128;

/// A client id: printable ASCII without spaces (RFC 6749's VSCHAR, less the
/// space), so it can go in a Basic header and a form unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientIdError {
    #[error("the client id is empty")]
    Empty,
    #[error("the client id is longer than {MAX_CLIENT_ID_BYTES} bytes")]
    TooLong,
    #[error("the client id may hold only printable ASCII characters other than space and ':'")]
    Character,
}

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        if raw.is_empty() {
            return Err(ClientIdError::Empty);
        }
        if raw.len() > MAX_CLIENT_ID_BYTES {
            return Err(ClientIdError::TooLong);
        }
        // ':' is excluded too: in a Basic header it would end the id.
        if !raw.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b':') {
            return Err(ClientIdError::Character);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The grants a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    Password,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// A set of scope tokens (RFC 6749 §3.3), kept in the order first given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a scope may hold only printable ASCII characters other than space, '\"' and '\\'")]
pub struct ScopeError;

/// The scope that asks for an OpenID Connect `id_token`.
pub const OPENID: &str = "openid";

impl Scopes {
    /// A space-separated list; repeated tokens count once. Empty is the empty set.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let mut out: Vec<String> = Vec::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            let ok = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !ok {
                return Err(ScopeError);
            }
            if !out.iter().any(|t| t == token) {
                out.push(token.to_string());
            }
        }
        Ok(Self(out))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Every scope but those `keep` refuses.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Scopes {
        Scopes(self.0.iter().filter(|s| keep(s)).cloned().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    /// SHA-256 of the secret (see [`ClientSecret`]); `None` for a public client.
    pub secret_hash: Option<String>,
    pub grant_types: Vec<GrantType>,
    /// What the client may ask for; a request without `scope` gets all of them.
    pub scopes: Scopes,
    /// The `aud` of its access tokens; `None` uses the issuer's audience.
    pub audience: Option<String>,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A client secret: 256 random bits, URL-safe. It is shown once, when made;
/// only its SHA-256 is stored. A slow hash buys nothing for a secret this
/// long, and a fast one keeps the token endpoint fast.
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub fn generate() -> Result<Self, RandomError> {
        let bytes: [u8; 32] = random()?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    pub fn hash(&self) -> String {
        token_hash(self.0.expose_secret())
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Whether `presented` is the secret whose hash is `stored`, compared in
/// constant time. `stored = None` (an unknown client) compares against a
/// dummy hash, so it costs the same and always fails.
pub fn secret_matches(presented: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let hash = token_hash(presented);
    let expected = stored.unwrap_or(DUMMY);
    let equal =
        aws_lc_rs::constant_time::verify_slices_are_equal(hash.as_bytes(), expected.as_bytes())
            .is_ok();
    equal && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_printable_ascii_without_space_or_colon() {
        assert!(ClientId::parse("web-app_1.example").is_ok());
        assert_eq!(ClientId::parse(""), Err(ClientIdError::Empty));
        assert_eq!(ClientId::parse("a b"), Err(ClientIdError::Character));
        assert_eq!(ClientId::parse("a:b"), Err(ClientIdError::Character));
        assert_eq!(ClientId::parse("é"), Err(ClientIdError::Character));
        assert_eq!(
            ClientId::parse(&"a".repeat(129)),
            Err(ClientIdError::TooLong)
        );
    }

    #[test]
    fn scopes_parse_as_rfc_6749_says() {
        let s = Scopes::parse("openid  profile api:read openid").unwrap();
        assert_eq!(s.to_string(), "openid profile api:read");
        assert!(Scopes::parse("").unwrap().is_empty());
        assert_eq!(Scopes::parse("a\"b"), Err(ScopeError));
        assert_eq!(Scopes::parse("a\\b"), Err(ScopeError));
        assert_eq!(Scopes::parse("a\tb"), Err(ScopeError));
        let small = Scopes::parse("api:read").unwrap();
        assert!(small.is_subset_of(&s));
        assert!(!s.is_subset_of(&small));
    }

    #[test]
    fn secrets_match_only_their_hash() {
        let secret = ClientSecret::generate().unwrap();
        assert_eq!(secret.expose().len(), 43);
        let hash = secret.hash();
        assert!(secret_matches(secret.expose(), Some(&hash)));
        assert!(!secret_matches("wrong", Some(&hash)));
        assert!(!secret_matches(secret.expose(), None));
    }
}
