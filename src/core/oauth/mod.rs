//! The standard grants (RFC 6749), revocation (RFC 7009), introspection
//! (RFC 7662) and userinfo (OpenID Connect), on the same users, families and
//! lockout as the vendor dialects. Access tokens follow RFC 9068. One file
//! per grant and per endpoint; what they share (the scope a grant gets,
//! minting, audiences) is here and in [`mint`].

mod authorization_code;
mod client_auth;
mod client_credentials;
pub mod device;
mod introspect;
mod mint;
mod password;
mod refresh;
pub mod register;
mod revoke;
mod userinfo;
mod verify;

pub use authorization_code::CodeExchange;
pub use introspect::Introspected;
pub use verify::{ActiveToken, Liveness};

use super::error::{Error, Refusal};
use super::record::client::{Client, GrantType, Scopes, OPENID};
use super::record::resource::{Resource, ResourceUri};
use super::record::state::ClientState;
use super::record::token::RefreshToken;
use super::store::ResourceStore;
use super::Issuer;
use crate::core::sign::Signer;
use secrecy::SecretString;
use time::OffsetDateTime;

/// How a client identified itself at an endpoint.
#[derive(Debug)]
pub enum ClientAuth {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { id: String, secret: SecretString },
    /// A public client: `client_id` only.
    Public { id: String },
}

/// What a token request asks of its grant besides the grant's own fields:
/// a scope, a resource (RFC 8707), and the key of its accepted DPoP proof
/// (RFC 9449), whose thumbprint binds the tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub dpop: Option<&'a str>,
}

/// What the token endpoint hands out.
#[derive(Debug)]
pub struct OAuthGrant {
    pub access_token: SecretString,
    pub expires_in: i64,
    /// Only for clients allowed the `refresh_token` grant, never for
    /// `client_credentials`.
    pub refresh_token: Option<RefreshToken>,
    pub scope: Scopes,
    /// With scope `openid`.
    pub id_token: Option<SecretString>,
    /// The access token is bound to the request's DPoP key (`token_type`
    /// `DPoP`, RFC 9449 §5).
    pub dpop_bound: bool,
}

/// The scope a grant gets: the requested one if the client may have all of
/// it, else every scope the client may have. `openid` needs a user.
pub(super) fn grant_scope(
    client: &Client,
    requested: Option<&str>,
    for_user: bool,
) -> Result<Scopes, Refusal> {
    let allowed = if for_user {
        client.scopes.clone()
    } else {
        client.scopes.filtered(|s| s != OPENID)
    };
    let requested = match requested {
        None => return Ok(allowed),
        Some(raw) => Scopes::parse(raw).map_err(|_| Refusal::InvalidScope)?,
    };
    if requested.is_empty() {
        return Ok(allowed);
    }
    if requested.is_subset_of(&allowed) {
        Ok(requested)
    } else {
        Err(Refusal::InvalidScope)
    }
}

/// What a token request may be for (RFC 8707): anything registered when
/// the grant starts a family, else only what its family was issued for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Granted<'a> {
    New,
    Family(Option<&'a ResourceUri>),
}

impl<S: ResourceStore, K: Signer + ?Sized> Issuer<S, K> {
    /// The resource a token is for: the requested one (`resource`), which a
    /// family's tokens may name only if the family was issued for it (a
    /// refresh may narrow, never widen); else the family's. An unknown,
    /// withdrawn or malformed resource is `invalid_target`.
    pub(super) async fn token_resource(
        &self,
        requested: Option<&str>,
        granted: Granted<'_>,
    ) -> Result<Option<Resource>, Error> {
        let uri = match (requested, granted) {
            (None, Granted::New | Granted::Family(None)) => return Ok(None),
            (None, Granted::Family(Some(uri))) => uri.clone(),
            (Some(raw), granted) => {
                let uri = ResourceUri::parse(raw).map_err(|_| Refusal::InvalidTarget)?;
                match granted {
                    Granted::New => {}
                    Granted::Family(Some(family)) if *family == uri => {}
                    Granted::Family(_) => return Err(Refusal::InvalidTarget.into()),
                }
                uri
            }
        };
        match self.store.get_resource(&uri).await? {
            Some(r) => Ok(Some(r)),
            None => Err(Refusal::InvalidTarget.into()),
        }
    }
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    pub(super) fn require_grant(client: &Client, grant: GrantType) -> Result<(), Refusal> {
        if client.allows(grant) {
            Ok(())
        } else {
            Err(Refusal::UnauthorizedClient(grant.as_str()))
        }
    }

    /// Whether tokens for `aud` are the client's (its audience, by default
    /// the issuer's).
    fn serves(&self, client: &ClientState, aud: &str) -> bool {
        client
            .audience
            .as_deref()
            .unwrap_or(&self.settings.audience)
            == aud
    }

    fn audience_of<'c>(&'c self, client: &'c Client) -> &'c str {
        client
            .audience
            .as_deref()
            .unwrap_or(&self.settings.audience)
    }

    /// `iat` and `exp` of an access token made at `now`.
    fn access_times(&self, now: OffsetDateTime) -> (i64, i64) {
        let iat = now.unix_timestamp();
        (iat, iat + self.settings.access_ttl.whole_seconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::client::ClientId;
    use time::macros::datetime;

    fn client(scopes: &str) -> Client {
        Client {
            id: ClientId::parse("c").unwrap(),
            secret_hash: Some("h".into()),
            grant_types: GrantType::ALL.to_vec(),
            scopes: Scopes::parse(scopes).unwrap(),
            audience: None,
            redirect_uris: Vec::new(),
            name: None,
            enabled: true,
            created_at: datetime!(2037-01-01 0:00 UTC),
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        }
    }

    #[test]
    fn scope_defaults_to_all_allowed_and_never_widens() {
        let c = client("openid profile api:read");
        let s = |r, u| grant_scope(&c, r, u).map(|s| s.to_string());
        assert_eq!(s(None, true), Ok("openid profile api:read".into()));
        assert_eq!(s(Some(""), true), Ok("openid profile api:read".into()));
        assert_eq!(s(Some("api:read"), true), Ok("api:read".into()));
        assert_eq!(s(Some("api:write"), true), Err(Refusal::InvalidScope));
        assert_eq!(s(Some("a\"b"), true), Err(Refusal::InvalidScope));
        // No user, no OpenID Connect.
        assert_eq!(s(None, false), Ok("profile api:read".into()));
        assert_eq!(s(Some("openid"), false), Err(Refusal::InvalidScope));
    }
}
