//! OAuth clients: who may ask the token endpoint for what.

use super::token::{random, token_hash, RandomError};
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
    /// RFC 6749 §4.1, with PKCE: the login page and `/oauth2/authorize`.
    AuthorizationCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
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

/// Longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 1024;

/// A registered redirect URI: absolute, `https`, or `http` only on a
/// loopback host (RFC 8252 §7.3), without a fragment (RFC 6749 §3.1.2).
/// Requests must name one exactly, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("the redirect URI is empty or longer than {MAX_REDIRECT_URI_BYTES} bytes")]
    Length,
    #[error("the redirect URI must start with https:// (or http:// for localhost or 127.0.0.1)")]
    Scheme,
    #[error("the redirect URI has no host, or a malformed one")]
    Host,
    #[error("the redirect URI must not have a fragment (#...)")]
    Fragment,
    #[error("the redirect URI may hold only printable ASCII characters other than space, '\"', '<', '>', '\\', '^', '`', '{{', '|' and '}}'")]
    Character,
}

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        if raw.is_empty() || raw.len() > MAX_REDIRECT_URI_BYTES {
            return Err(RedirectUriError::Length);
        }
        // RFC 3986 characters only, so the URI is safe in a header and in HTML.
        if !raw
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"\"<>\\^`{|}".contains(&b))
        {
            return Err(RedirectUriError::Character);
        }
        if raw.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let lower = raw.to_ascii_lowercase();
        let (secure, rest) = if let Some(rest) = lower.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(RedirectUriError::Scheme);
        };
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority.contains('@') {
            // Userinfo in a redirect URI only serves to mislead.
            return Err(RedirectUriError::Host);
        }
        let host = host_of(authority).ok_or(RedirectUriError::Host)?;
        if !secure && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(RedirectUriError::Scheme);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]`, for the login page's `form-action`: browsers
    /// apply it to the redirect that follows the form's post.
    pub fn origin(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |i| i + 3);
        let end = self.0[after_scheme..]
            .find(['/', '?'])
            .map_or(self.0.len(), |i| after_scheme + i);
        &self.0[..end]
    }
}

/// The host of `host[:port]`, if both parts are well formed.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        (&authority[..=end], &authority[end + 1..])
    } else {
        match authority.find(':') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        }
    };
    let port_ok = port.is_empty()
        || (port.len() > 1
            && port.len() <= 6
            && port[1..].bytes().all(|b| b.is_ascii_digit())
            && port.starts_with(':'));
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    (port_ok && host_ok).then_some(host)
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest display name accepted, in characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 80;

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
    /// Where the authorization endpoint may send the browser back to.
    pub redirect_uris: Vec<RedirectUri>,
    /// Shown on the login page; `None` shows the client id.
    pub name: Option<String>,
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

    /// The registered redirect URI that is exactly `raw`.
    pub fn redirect_uri(&self, raw: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|u| u.as_str() == raw)
    }

    /// What the login page calls the client.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.id.as_str())
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
    fn redirect_uris_are_https_or_loopback_http_without_fragment() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "http://localhost:8080/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:9000/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        use RedirectUriError as E;
        for (bad, why) in [
            ("", E::Length),
            ("http://app.example.com/cb", E::Scheme),
            ("com.example.app:/cb", E::Scheme),
            ("javascript:alert(1)", E::Scheme),
            ("https:///cb", E::Host),
            ("https://user@evil.example/cb", E::Host),
            ("https://a.example:x/cb", E::Host),
            ("https://a.example/cb#frag", E::Fragment),
            ("https://a.example/c b", E::Character),
            ("https://a.example/\"><script>", E::Character),
        ] {
            assert_eq!(RedirectUri::parse(bad), Err(why), "{bad}");
        }
        let u = RedirectUri::parse("https://app.example.com:8443/cb?x=1").unwrap();
        assert_eq!(u.origin(), "https://app.example.com:8443");
        let u = RedirectUri::parse("http://localhost:8080").unwrap();
        assert_eq!(u.origin(), "http://localhost:8080");
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
