//! The standard grants (RFC 6749), revocation (RFC 7009), introspection
//! (RFC 7662) and userinfo (OpenID Connect), on the same users, families and
//! lockout as the vendor dialects. Access tokens follow RFC 9068.

use super::audit::Origin;
use super::error::{Error, Refusal};
use super::login::Credentials;
use super::record::claims::{IdTokenClaims, TokenClaims, EMAIL, PROFILE};
use super::record::client::{secret_matches, Client, ClientId, GrantType, Scopes, OPENID};
use super::record::family::{ClientBinding, RefreshFamily};
use super::record::state::ClientState;
use super::record::token::{self, FamilyId, RefreshToken};
use super::record::user::{Account, User, Username};
use super::sign::{self, TokenType};
use super::store::{Store, TokenStateQuery};
use super::Issuer;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// How a client identified itself at an endpoint.
#[derive(Debug)]
pub enum ClientAuth {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { id: String, secret: SecretString },
    /// A public client: `client_id` only.
    Public { id: String },
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
}

/// An access token found active, and what made it so.
#[derive(Debug)]
pub struct ActiveToken {
    pub claims: TokenClaims,
    /// The user behind it (`None` for `client_credentials`).
    pub user: Option<Account>,
}

/// What makes verified claims still good, as storage says.
#[derive(Debug)]
pub struct Liveness {
    /// The user behind the token (`None` for `client_credentials`).
    pub user: Option<Account>,
    /// The dialect of the log in behind it, where known.
    pub issued_via: Option<String>,
}

/// What introspection reports of an active refresh token.
#[derive(Debug)]
pub enum Introspected {
    Access(ActiveToken),
    Refresh {
        family: RefreshFamily,
        user: Account,
    },
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

impl<S: Store> Issuer<S> {
    /// Authenticates a client. Unknown client, wrong secret, disabled client
    /// and a missing or surplus secret are one refusal, and an unknown client
    /// still pays for a secret comparison.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Client, Error> {
        let raw_id = match auth {
            ClientAuth::Secret { id, .. } | ClientAuth::Public { id } => id,
        };
        let client = match ClientId::parse(raw_id) {
            Ok(id) => self.store.get_client(&id).await?,
            Err(_) => None,
        };
        let ok = match auth {
            ClientAuth::Secret { secret, .. } => secret_matches(
                secret.expose_secret(),
                client.as_ref().and_then(|c| c.secret_hash.as_deref()),
            ),
            ClientAuth::Public { .. } => client.as_ref().is_some_and(Client::is_public),
        };
        match client {
            Some(c) if ok && c.enabled => Ok(c),
            _ => Err(Refusal::InvalidClient.into()),
        }
    }

    pub(super) fn require_grant(client: &Client, grant: GrantType) -> Result<(), Refusal> {
        if client.allows(grant) {
            Ok(())
        } else {
            Err(Refusal::UnauthorizedClient(grant.as_str()))
        }
    }

    /// `grant_type=password` (RFC 6749 §4.3), with every rule of a log in.
    pub async fn password_grant(
        &self,
        client: &Client,
        creds: Credentials,
        scope: Option<&str>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        Self::require_grant(client, GrantType::Password)?;
        let scope = grant_scope(client, scope, true)?;
        let user = self.authenticate(creds, origin).await?;
        let now = self.now();
        let binding = ClientBinding {
            client_id: client.id.clone(),
            scope: scope.clone(),
        };
        let (user, family, refresh) = self.start_family(user, Some(binding), origin, now).await?;
        let refresh = client.allows(GrantType::RefreshToken).then_some(refresh);
        self.mint_for_user(
            client, &user, &family, refresh, scope, issuer_url, now, None,
        )
    }

    /// `grant_type=refresh_token` (RFC 6749 §6): rotation with reuse
    /// detection; the token works only for the client it was issued to, and
    /// a narrower scope may be asked for, never a wider one.
    pub async fn refresh_grant(
        &self,
        client: &Client,
        presented: &str,
        scope: Option<&str>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        Self::require_grant(client, GrantType::RefreshToken)?;
        let requested = match scope {
            Some(raw) => Some(Scopes::parse(raw).map_err(|_| Refusal::InvalidScope)?),
            None => None,
        };
        let mut granted = None;
        let admit = |f: &RefreshFamily| {
            let Some(binding) = f.client.as_ref().filter(|b| b.client_id == client.id) else {
                // Another client's, or a vendor dialect's: not this client's to use.
                return Err(Refusal::InvalidRefreshToken);
            };
            let scope = match requested {
                Some(r) if !r.is_empty() => {
                    if !r.is_subset_of(&binding.scope) {
                        return Err(Refusal::InvalidScope);
                    }
                    r
                }
                _ => binding.scope.clone(),
            };
            granted = Some(scope);
            Ok(())
        };
        let now = self.now();
        let r = self.rotate(presented, admit, origin, now).await?;
        let scope = granted.unwrap_or_default();
        self.mint_for_user(
            client,
            &r.user,
            &r.family,
            Some(r.next),
            scope,
            issuer_url,
            now,
            None,
        )
    }

    /// `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients
    /// only, no refresh token, `sub` is the client.
    pub async fn client_credentials_grant(
        &self,
        client: &Client,
        scope: Option<&str>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        if client.is_public() {
            return Err(Refusal::UnauthorizedClient(GrantType::ClientCredentials.as_str()).into());
        }
        Self::require_grant(client, GrantType::ClientCredentials)?;
        let scope = grant_scope(client, scope, false)?;
        let now = self.now();
        let (iat, exp) = self.access_times(now);
        let claims = TokenClaims {
            iss: issuer_url.to_string(),
            sub: client.id.to_string(),
            aud: self.audience_of(client).to_string(),
            iat,
            nbf: iat,
            exp,
            jti: token::new_jti()?,
            client_id: Some(client.id.to_string()),
            scope: Some(scope.to_string()),
            sid: None,
            username: None,
            roles: None,
        };
        let access_token = sign::sign(self.signer(), TokenType::AccessToken, &claims)?;
        Ok(OAuthGrant {
            access_token: SecretString::from(access_token),
            expires_in: exp - iat,
            refresh_token: None,
            scope,
            id_token: None,
        })
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

    #[allow(clippy::too_many_arguments)]
    pub(super) fn mint_for_user(
        &self,
        client: &Client,
        user: &User,
        family: &RefreshFamily,
        refresh_token: Option<RefreshToken>,
        scope: Scopes,
        issuer_url: &str,
        now: OffsetDateTime,
        nonce: Option<&str>,
    ) -> Result<OAuthGrant, Error> {
        let (iat, exp) = self.access_times(now);
        let claims = TokenClaims {
            iss: issuer_url.to_string(),
            sub: user.id.to_string(),
            aud: self.audience_of(client).to_string(),
            iat,
            nbf: iat,
            exp,
            jti: token::new_jti()?,
            client_id: Some(client.id.to_string()),
            scope: Some(scope.to_string()),
            sid: Some(family.id.to_string()),
            username: Some(user.username.to_string()),
            roles: Some(user.roles.clone()),
        };
        let access_token = sign::sign(self.signer(), TokenType::AccessToken, &claims)?;
        let id_token = if scope.contains(OPENID) {
            let id = IdTokenClaims {
                iss: issuer_url,
                sub: user.id.to_string(),
                aud: client.id.as_str(),
                iat,
                exp,
                // The log in that started the family.
                auth_time: family.created_at.unix_timestamp(),
                nonce,
                preferred_username: scope.contains(PROFILE).then_some(user.username.as_str()),
                name: scope.contains(PROFILE).then_some(user.full_name.as_str()),
                email: scope.contains(EMAIL).then_some(user.email.as_str()),
            };
            Some(SecretString::from(sign::sign(
                self.signer(),
                TokenType::Jwt,
                &id,
            )?))
        } else {
            None
        };
        Ok(OAuthGrant {
            access_token: SecretString::from(access_token),
            expires_in: exp - iat,
            refresh_token,
            scope,
            id_token,
        })
    }

    /// The claims of an access token of any dialect whose signature is one
    /// of the published keys', issued by `issuer_url`, and within
    /// `nbf`..`exp` now. Storage is not asked.
    ///
    /// Only an access token passes, by its type and audience, never an ID
    /// token or any other JWT these keys signed: an RFC 9068 token is
    /// `at+jwt` and names its client (its audience is checked against that
    /// client's in [`Issuer::liveness`]); a vendor dialect's is `JWT`, names
    /// no client, and is for this issuer's own audience.
    pub fn verified_claims(&self, token: &str, issuer_url: &str) -> Option<TokenClaims> {
        let (typ, claims) = self.keys.verify(token)?;
        let access = match typ {
            TokenType::AccessToken => claims.client_id.is_some(),
            TokenType::Jwt => claims.client_id.is_none() && claims.aud == self.settings.audience,
        };
        let now = self.now().unix_timestamp();
        let current = claims.iss == issuer_url && claims.exp > now && claims.nbf <= now;
        (access && current).then_some(claims)
    }

    /// Whether verified `claims` still hold, read in one storage request: the
    /// family live, its user still accepting it, its client enabled; for a
    /// token of no family (`client_credentials`), the client enabled and the
    /// token not revoked.
    pub async fn liveness(&self, claims: &TokenClaims) -> Result<Option<Liveness>, Error> {
        let client_id = match claims.client_id.as_deref().map(ClientId::parse) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => return Ok(None),
        };
        let Some(sid) = claims.sid.as_deref() else {
            let Some(id) = &client_id else {
                return Ok(None);
            };
            if claims.sub != id.as_str() {
                return Ok(None);
            }
            let state = self
                .store
                .token_state(TokenStateQuery {
                    client: Some(id),
                    revoked_jti: Some(&claims.jti),
                    ..TokenStateQuery::default()
                })
                .await?;
            let live = state
                .client
                .is_some_and(|c| c.enabled && self.serves(&c, &claims.aud))
                && !state.jti_revoked;
            return Ok(live.then_some(Liveness {
                user: None,
                issued_via: Some("oauth".into()),
            }));
        };
        let (Some(family_id), Some(Ok(username))) = (
            FamilyId::parse(sid),
            claims.username.as_deref().map(Username::parse),
        ) else {
            return Ok(None);
        };
        let state = self
            .store
            .token_state(TokenStateQuery {
                family: Some(&family_id),
                user: Some(&username),
                client: client_id.as_ref(),
                revoked_jti: None,
            })
            .await?;
        let (Some(family), Some(user)) = (state.family, state.user) else {
            return Ok(None);
        };
        let client_live = match &client_id {
            Some(_) => state
                .client
                .is_some_and(|c| c.enabled && self.serves(&c, &claims.aud)),
            None => true,
        };
        let same_client =
            family.client_id.as_ref().map(ClientId::as_str) == claims.client_id.as_deref();
        let live = client_live
            && same_client
            && family.is_live(self.now())
            && claims.sub == user.id.to_string()
            && user.accepts_tokens_from(family.user_id, family.token_version, family.created_at);
        Ok(live.then_some(Liveness {
            user: Some(user),
            issued_via: family.issued_via,
        }))
    }

    /// An access token of any dialect, if it is active now
    /// ([`Issuer::verified_claims`] and [`Issuer::liveness`]).
    pub async fn active_access_token(
        &self,
        token: &str,
        issuer_url: &str,
    ) -> Result<Option<ActiveToken>, Error> {
        let Some(claims) = self.verified_claims(token, issuer_url) else {
            return Ok(None);
        };
        Ok(self.liveness(&claims).await?.map(|l| ActiveToken {
            claims,
            user: l.user,
        }))
    }

    /// RFC 7662 for the authenticated client `caller`: an active access
    /// token of any dialect, or the live token of a refresh family; `None`
    /// for anything else. A client learns only of the tokens it was issued
    /// and of access tokens for the audience it serves (its own audience,
    /// by default the issuer's; vendor tokens are for the issuer's), so one
    /// client cannot test another's tokens (RFC 7662 §4).
    pub async fn introspect(
        &self,
        token: &str,
        issuer_url: &str,
        caller: &Client,
    ) -> Result<Option<Introspected>, Error> {
        let serves = |aud: &str| self.audience_of(caller) == aud;
        if let Some(refresh) = RefreshToken::parse(token) {
            let Some(family) = self.store.get_refresh_family(refresh.family()).await? else {
                return Ok(None);
            };
            if family.token_hash != refresh.hash() || !family.is_live(self.now()) {
                return Ok(None);
            }
            let visible = match &family.client {
                Some(b) => b.client_id == caller.id,
                None => serves(&self.settings.audience),
            };
            if !visible {
                return Ok(None);
            }
            let user = self.store.get_account(&family.username).await?;
            return Ok(user
                .filter(|u| {
                    u.accepts_tokens_from(family.user_id, family.token_version, family.created_at)
                })
                .map(|user| Introspected::Refresh { family, user }));
        }
        let Some(claims) = self.verified_claims(token, issuer_url) else {
            return Ok(None);
        };
        let issued_to_caller = claims.client_id.as_deref() == Some(caller.id.as_str());
        if !(issued_to_caller || serves(&claims.aud)) {
            return Ok(None);
        }
        Ok(self.liveness(&claims).await?.map(|l| {
            Introspected::Access(ActiveToken {
                claims,
                user: l.user,
            })
        }))
    }

    /// RFC 7009: revokes the family of a refresh or access token issued to
    /// `client` (an access token of no family is remembered as revoked until
    /// it expires). Anything else changes nothing and still succeeds.
    pub async fn revoke_for_client(
        &self,
        client: &Client,
        token: &str,
        origin: &Origin<'_>,
    ) -> Result<(), Error> {
        let ours = |b: Option<&ClientBinding>| b.is_some_and(|b| b.client_id == client.id);
        if let Some(refresh) = RefreshToken::parse(token) {
            let Some(family) = self.store.get_refresh_family(refresh.family()).await? else {
                return Ok(());
            };
            if ours(family.client.as_ref()) {
                return self.revoke(token, origin).await;
            }
            return Ok(());
        }
        let Some((_, claims)) = self.keys.verify(token) else {
            return Ok(());
        };
        let now = self.now();
        if claims.client_id.as_deref() != Some(client.id.as_str())
            || claims.exp <= now.unix_timestamp()
        {
            return Ok(());
        }
        match claims.sid.as_deref().and_then(FamilyId::parse) {
            Some(family) => {
                if self.store.revoke_family(&family, None, now).await? {
                    super::audit::token_revoked(origin, &family);
                }
            }
            None => {
                let until = OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now);
                self.store.revoke_access_token(&claims.jti, until).await?;
            }
        }
        Ok(())
    }

    /// OpenID Connect userinfo: the user of an active access token with
    /// scope `openid`.
    ///
    /// The account and the token's scope, which decides the claims released
    /// (Core §5.4: `profile` the names, `email` the address).
    pub async fn userinfo(
        &self,
        token: &str,
        issuer_url: &str,
    ) -> Result<(Account, Scopes), Error> {
        let active = self
            .active_access_token(token, issuer_url)
            .await?
            .ok_or(Refusal::InvalidToken)?;
        let scope = active
            .claims
            .scope
            .as_deref()
            .and_then(|s| Scopes::parse(s).ok())
            .filter(|s| s.contains(OPENID));
        match (active.user, scope) {
            (Some(user), Some(scope)) => Ok((user, scope)),
            _ => Err(Refusal::InsufficientScope(OPENID).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
