//! OAuth clients: who may ask the token endpoint for what.

use super::token::{random, token_hash, RandomError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use time::OffsetDateTime;

/// Longest client id accepted, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 128;
/// Longest client id that is a metadata document's URL, in bytes.
pub const MAX_DOCUMENT_ID_BYTES: usize = 255;

/// A client id: printable ASCII without spaces (RFC 6749's VSCHAR, less the
/// space), so it can go in a Basic header and a form unchanged; or the
/// https URL of the client's metadata document (API §14), which only a
/// public client has, so it never goes in a Basic header.
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
    #[error("a client id URL must be https, at most {MAX_DOCUMENT_ID_BYTES} bytes, with a host, a path and no user, fragment or dot segments")]
    DocumentUrl,
}

/// How a metadata document's URL starts.
const DOCUMENT_SCHEME: &str = "https://";

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        if raw.is_empty() {
            return Err(ClientIdError::Empty);
        }
        if raw.starts_with(DOCUMENT_SCHEME) {
            return if is_document_url(raw) {
                Ok(Self(raw.to_string()))
            } else {
                Err(ClientIdError::DocumentUrl)
            };
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

    /// Whether the id is the URL of the client's metadata document, which
    /// the issuer fetches rather than an operator registers.
    pub fn is_document(&self) -> bool {
        self.0.starts_with(DOCUMENT_SCHEME)
    }
}

/// The rules a client id URL meets (the client ID metadata document
/// draft): https, a host, a path other than `/`, no user or password, no
/// fragment, no `.` or `..` segment; and, as every id, printable ASCII.
fn is_document_url(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix(DOCUMENT_SCHEME) else {
        return false;
    };
    if raw.len() > MAX_DOCUMENT_ID_BYTES
        || !raw.bytes().all(|b| (0x21..=0x7e).contains(&b))
        || raw.contains('#')
        || raw.contains('\\')
    {
        return false;
    }
    let (authority, path_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = path_query.split('?').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty())
        .map_or(authority, |(host, _)| host);
    !host.is_empty()
        && !authority.contains('@')
        && path.len() > 1
        && !path.split('/').any(|seg| seg == "." || seg == "..")
        && raw.parse::<http::Uri>().is_ok()
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
    /// RFC 8628: a device without a browser, approved on the device page.
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Whether only a client with a secret may use the grant: without a user
    /// to log in, the secret is all that proves who asks, so a public client
    /// (whose id anyone can copy) may not use it.
    pub fn needs_secret(self) -> bool {
        matches!(self, Self::ClientCredentials)
    }

    /// Whether the grant sends the browser back to a registered redirect URI.
    pub fn redirects(self) -> bool {
        matches!(self, Self::AuthorizationCode)
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

/// The name the login page shows for a client: trimmed, 1 to
/// [`MAX_CLIENT_NAME_CHARS`] characters, none of them a control character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a client name must be 1 to {MAX_CLIENT_NAME_CHARS} characters, without control characters"
)]
pub struct ClientNameError;

impl ClientName {
    pub fn parse(raw: &str) -> Result<Self, ClientNameError> {
        let name = raw.trim();
        if name.is_empty()
            || name.chars().count() > MAX_CLIENT_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(ClientNameError);
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client as an operator describes it, before any rule is checked.
#[derive(Debug, Clone, Copy)]
pub struct ClientFields<'a> {
    pub id: &'a str,
    /// No secret: a native or browser app.
    pub public: bool,
    /// Grant type names; blank ones are skipped, repeated ones count once.
    pub grant_types: &'a [String],
    /// Repeated ones count once.
    pub redirect_uris: &'a [String],
    pub name: Option<&'a str>,
    /// Space-separated.
    pub scopes: &'a str,
    /// `None` uses the issuer's audience.
    pub audience: Option<&'a str>,
    /// Where a log out may send the browser back; repeated ones count once.
    pub post_logout_redirect_uris: &'a [String],
    /// Where the issuer posts a logout token when a session ends.
    pub backchannel_logout_uri: Option<&'a str>,
    /// Every sign-in for it needs a second factor (API §13).
    pub require_mfa: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    pub require_dpop: bool,
}

/// Why a client cannot be registered as described, in the order
/// [`NewClient::parse`] checks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NewClientError {
    #[error(transparent)]
    Id(#[from] ClientIdError),
    #[error("unknown grant type {0:?}")]
    UnknownGrantType(String),
    #[error("no grant type given")]
    NoGrantType,
    #[error("a public client cannot use {} (it has no secret)", .0.as_str())]
    PublicClientNeedsSecret(GrantType),
    #[error("redirect URI {raw:?}: {error}")]
    RedirectUri {
        raw: String,
        error: RedirectUriError,
    },
    #[error("the authorization_code grant needs at least one redirect URI")]
    NoRedirectUri,
    #[error("redirect URIs are only for clients with the authorization_code grant")]
    UnusedRedirectUri,
    #[error(transparent)]
    Name(#[from] ClientNameError),
    #[error(transparent)]
    Scopes(#[from] ScopeError),
    #[error("the audience is empty")]
    EmptyAudience,
    #[error("post-logout redirect URI {raw:?}: {error}")]
    PostLogoutRedirectUri {
        raw: String,
        error: RedirectUriError,
    },
    #[error("back-channel logout URI {raw:?}: {error}")]
    BackchannelLogoutUri {
        raw: String,
        error: RedirectUriError,
    },
    #[error("logout URIs are only for clients with the authorization_code grant")]
    UnusedLogoutUri,
}

/// A client that may be registered: [`NewClient::parse`] is the only way to
/// one, so whoever registers clients applies the same rules.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    id: ClientId,
    public: bool,
    grant_types: Vec<GrantType>,
    redirect_uris: Vec<RedirectUri>,
    name: Option<ClientName>,
    scopes: Scopes,
    audience: Option<String>,
    logout: LogoutUris,
    require_mfa: bool,
    require_dpop: bool,
}

impl NewClient {
    pub fn parse(f: ClientFields<'_>) -> Result<Self, NewClientError> {
        let id = ClientId::parse(f.id)?;
        let grant_types = parse_grant_types(f.grant_types)?;
        if let Some(&g) = grant_types.iter().find(|g| f.public && g.needs_secret()) {
            return Err(NewClientError::PublicClientNeedsSecret(g));
        }
        let mut redirect_uris: Vec<RedirectUri> = Vec::new();
        for raw in f.redirect_uris {
            let uri = RedirectUri::parse(raw).map_err(|error| NewClientError::RedirectUri {
                raw: raw.clone(),
                error,
            })?;
            if !redirect_uris.contains(&uri) {
                redirect_uris.push(uri);
            }
        }
        // A redirecting grant with nowhere to go could never finish; URIs
        // without one would be a place to send browsers that nothing checks.
        let redirects = grant_types.iter().any(|g| g.redirects());
        if redirects && redirect_uris.is_empty() {
            return Err(NewClientError::NoRedirectUri);
        }
        if !redirects && !redirect_uris.is_empty() {
            return Err(NewClientError::UnusedRedirectUri);
        }
        let name = f.name.map(ClientName::parse).transpose()?;
        let scopes = Scopes::parse(f.scopes)?;
        let audience = match f.audience.map(str::trim) {
            Some("") => return Err(NewClientError::EmptyAudience),
            other => other.map(str::to_string),
        };
        let logout = LogoutUris::parse(f.post_logout_redirect_uris, f.backchannel_logout_uri)?;
        // Only a browser sign-in makes a session for a log out to end.
        if !redirects && !logout.is_empty() {
            return Err(NewClientError::UnusedLogoutUri);
        }
        Ok(Self {
            id,
            public: f.public,
            grant_types,
            redirect_uris,
            name,
            scopes,
            audience,
            logout,
            require_mfa: f.require_mfa,
            require_dpop: f.require_dpop,
        })
    }

    pub fn id(&self) -> &ClientId {
        &self.id
    }
}

/// Where a client hears of log outs (API §12): the URIs a log out may send
/// the browser back to (exact match), and the one it is posted logout
/// tokens at. Both follow the rules of redirect URIs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutUris {
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel: Option<RedirectUri>,
}

impl LogoutUris {
    pub fn parse(
        post_logout: &[String],
        backchannel: Option<&str>,
    ) -> Result<Self, NewClientError> {
        let mut uris: Vec<RedirectUri> = Vec::new();
        for raw in post_logout {
            let uri =
                RedirectUri::parse(raw).map_err(|error| NewClientError::PostLogoutRedirectUri {
                    raw: raw.clone(),
                    error,
                })?;
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        let backchannel = backchannel
            .map(|raw| {
                RedirectUri::parse(raw).map_err(|error| NewClientError::BackchannelLogoutUri {
                    raw: raw.to_string(),
                    error,
                })
            })
            .transpose()?;
        Ok(Self {
            post_logout_redirect_uris: uris,
            backchannel,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.post_logout_redirect_uris.is_empty() && self.backchannel.is_none()
    }
}

/// Known names only, blank ones skipped, each grant once, at least one.
fn parse_grant_types(raw: &[String]) -> Result<Vec<GrantType>, NewClientError> {
    let mut out = Vec::new();
    for name in raw.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        let g = GrantType::parse(name)
            .ok_or_else(|| NewClientError::UnknownGrantType(name.to_string()))?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    if out.is_empty() {
        return Err(NewClientError::NoGrantType);
    }
    Ok(out)
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
    /// Where the authorization endpoint may send the browser back to.
    pub redirect_uris: Vec<RedirectUri>,
    /// Shown on the login page; `None` shows the client id.
    pub name: Option<String>,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
    /// Where it hears of log outs.
    pub logout: LogoutUris,
    /// Every sign-in for it needs a second factor (API §13).
    pub require_mfa: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    pub require_dpop: bool,
    /// Registered by itself (API §14), not by an operator: its users are
    /// asked to consent, and it lapses when unused.
    pub third_party: bool,
    /// When it lapses unless used again (a self-registered client only).
    pub expires_at: Option<OffsetDateTime>,
}

/// The prefix of every self-registered client's id, which no operator's
/// client may use: the function may write only these clients.
pub const REGISTERED_ID_PREFIX: &str = "dyn-";

impl Client {
    /// An enabled client made of `new`, with a new secret unless it is
    /// public. The secret goes back to the caller, to be shown once; the
    /// record keeps only its hash.
    pub fn new(
        new: NewClient,
        now: OffsetDateTime,
    ) -> Result<(Client, Option<ClientSecret>), RandomError> {
        let secret = if new.public {
            None
        } else {
            Some(ClientSecret::generate()?)
        };
        let client = Client {
            id: new.id,
            secret_hash: secret.as_ref().map(ClientSecret::hash),
            grant_types: new.grant_types,
            scopes: new.scopes,
            audience: new.audience,
            redirect_uris: new.redirect_uris,
            name: new.name.map(|n| n.0),
            enabled: true,
            created_at: now,
            logout: new.logout,
            require_mfa: new.require_mfa,
            require_dpop: new.require_dpop,
            third_party: false,
            expires_at: None,
        };
        Ok((client, secret))
    }

    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether the client may be used at `now`: enabled and not lapsed
    /// (storage deletes a lapsed client only some time after).
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.enabled && self.expires_at.is_none_or(|e| e > now)
    }

    /// Whether the client may use `grant`: registered for it, and holding a
    /// secret if the grant needs one (also for a record written by hand).
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant) && !(grant.needs_secret() && self.is_public())
    }

    /// The registered redirect URI that is exactly `raw`.
    pub fn redirect_uri(&self, raw: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|u| u.as_str() == raw)
    }

    /// The registered post-logout redirect URI that is exactly `raw`.
    pub fn post_logout_redirect_uri(&self, raw: &str) -> Option<&RedirectUri> {
        self.logout
            .post_logout_redirect_uris
            .iter()
            .find(|u| u.as_str() == raw)
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
    let equal: bool = subtle::ConstantTimeEq::ct_eq(hash.as_bytes(), expected.as_bytes()).into();
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
        let doc = ClientId::parse("https://app.example.com/client.json").unwrap();
        assert!(doc.is_document());
        assert!(!ClientId::parse("web").unwrap().is_document());
        assert!(ClientId::parse("https://app.example.com:8443/oauth/client?v=2").is_ok());
        for bad in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://user@app.example.com/c.json",
            "https://app.example.com/c.json#x",
            "https://app.example.com/a/../c.json",
            "https://app.example.com/./c.json",
            "https:///c.json",
            "https://app.example.com/c json",
        ] {
            assert_eq!(
                ClientId::parse(bad),
                Err(ClientIdError::DocumentUrl),
                "{bad}"
            );
        }
        let long = format!(
            "https://app.example.com/{}",
            "a".repeat(MAX_DOCUMENT_ID_BYTES)
        );
        assert_eq!(ClientId::parse(&long), Err(ClientIdError::DocumentUrl));
        // Not https: an ordinary id, which may not hold ':'.
        assert_eq!(
            ClientId::parse("http://app.example.com/c.json"),
            Err(ClientIdError::Character)
        );
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

    fn fields<'a>(grants: &'a [String], uris: &'a [String]) -> ClientFields<'a> {
        ClientFields {
            id: "app",
            public: false,
            grant_types: grants,
            redirect_uris: uris,
            name: None,
            scopes: "openid",
            audience: None,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            require_mfa: false,
            require_dpop: false,
        }
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_new_client_keeps_each_grant_and_uri_once() {
        let grants = strings(&[
            " authorization_code",
            "",
            "refresh_token",
            "authorization_code",
        ]);
        let uris = strings(&["https://a.example/cb", "https://a.example/cb"]);
        let new = NewClient::parse(ClientFields {
            name: Some("  Acme  "),
            audience: Some(" api "),
            ..fields(&grants, &uris)
        })
        .unwrap();
        let (client, secret) = Client::new(new, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            client.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(client.redirect_uris.len(), 1);
        assert_eq!(client.name.as_deref(), Some("Acme"));
        assert_eq!(client.audience.as_deref(), Some("api"));
        assert!(client.enabled);
        let secret = secret.expect("a confidential client gets a secret");
        assert!(secret_matches(
            secret.expose(),
            client.secret_hash.as_deref()
        ));
    }

    #[test]
    fn a_public_client_gets_no_secret() {
        let grants = strings(&["password"]);
        let new = NewClient::parse(ClientFields {
            public: true,
            ..fields(&grants, &[])
        })
        .unwrap();
        let (client, secret) = Client::new(new, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert!(client.is_public() && secret.is_none());
    }

    #[test]
    fn new_clients_break_no_rule() {
        use NewClientError as E;
        let cc = strings(&["client_credentials"]);
        let code = strings(&["authorization_code"]);
        let https = strings(&["https://a.example/cb"]);
        let password = strings(&["password"]);
        let unknown = strings(&["password", "implicit"]);
        let blank = strings(&[" ", ""]);
        let bad = strings(&["bad"]);
        let http = strings(&["http://a.example/cb"]);
        let cases: [(ClientFields<'_>, E); 10] = [
            (
                ClientFields {
                    id: "a b",
                    ..fields(&password, &[])
                },
                E::Id(ClientIdError::Character),
            ),
            (
                fields(&unknown, &[]),
                E::UnknownGrantType("implicit".into()),
            ),
            (fields(&blank, &[]), E::NoGrantType),
            (
                ClientFields {
                    public: true,
                    ..fields(&cc, &bad)
                },
                E::PublicClientNeedsSecret(GrantType::ClientCredentials),
            ),
            (
                fields(&code, &http),
                E::RedirectUri {
                    raw: "http://a.example/cb".into(),
                    error: RedirectUriError::Scheme,
                },
            ),
            (fields(&code, &[]), E::NoRedirectUri),
            (fields(&password, &https), E::UnusedRedirectUri),
            (
                ClientFields {
                    name: Some(" "),
                    ..fields(&password, &[])
                },
                E::Name(ClientNameError),
            ),
            (
                ClientFields {
                    scopes: "a\"b",
                    audience: Some(""),
                    ..fields(&password, &[])
                },
                E::Scopes(ScopeError),
            ),
            (
                ClientFields {
                    audience: Some("  "),
                    ..fields(&password, &[])
                },
                E::EmptyAudience,
            ),
        ];
        for (f, why) in cases {
            assert_eq!(NewClient::parse(f), Err(why), "{f:?}");
        }
    }

    #[test]
    fn client_names_are_short_printable_and_trimmed() {
        assert_eq!(ClientName::parse(" Acme ").unwrap().as_str(), "Acme");
        assert!(ClientName::parse(&"é".repeat(MAX_CLIENT_NAME_CHARS)).is_ok());
        for bad in ["", "   ", "a\tb", &"a".repeat(MAX_CLIENT_NAME_CHARS + 1)] {
            assert_eq!(ClientName::parse(bad), Err(ClientNameError), "{bad:?}");
        }
    }

    #[test]
    fn a_public_client_never_uses_a_grant_that_needs_a_secret() {
        // A record written by hand, past the rules of `NewClient`.
        let client = Client {
            id: ClientId::parse("native").unwrap(),
            secret_hash: None,
            grant_types: GrantType::ALL.to_vec(),
            scopes: Scopes::default(),
            audience: None,
            redirect_uris: Vec::new(),
            name: None,
            enabled: true,
            created_at: OffsetDateTime::UNIX_EPOCH,
            logout: LogoutUris::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        };
        for g in GrantType::ALL {
            assert_eq!(client.allows(g), !g.needs_secret(), "{g:?}");
        }
        let confidential = Client {
            secret_hash: Some("h".into()),
            ..client
        };
        assert!(GrantType::ALL.into_iter().all(|g| confidential.allows(g)));
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
