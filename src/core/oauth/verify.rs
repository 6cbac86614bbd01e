//! Whether an access token of any dialect is active: its signature, type,
//! issuer and times ([`Issuer::verified_claims`]), then what storage says of
//! its family, user and client ([`Issuer::liveness`]).

use crate::core::error::Error;
use crate::core::record::claims::TokenClaims;
use crate::core::record::client::ClientId;
use crate::core::record::token::FamilyId;
use crate::core::record::user::{Account, Username};
use crate::core::sign::Signer;
use crate::core::sign::TokenType;
use crate::core::store::{TokenStateQuery, TokenStateStore};
use crate::core::Issuer;

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

impl<S: TokenStateStore, K: Signer + ?Sized> Issuer<S, K> {
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
            // A logout token is never an access token.
            TokenType::LogoutToken => false,
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
        // A token for another audience than the issuer's may be for a
        // registered resource (RFC 8707): read that in the same request.
        let resource = (claims.aud != self.settings.audience).then_some(claims.aud.as_str());
        let client_id = match claims.client_id.as_deref().map(ClientId::parse) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => return Ok(None),
        };
        let Some(sid) = claims.family() else {
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
                    resource,
                    ..TokenStateQuery::default()
                })
                .await?;
            let live = state.client.as_ref().is_some_and(|c| {
                c.is_active(self.now())
                    && (self.serves(c, &claims.aud) || state.resource_registered)
            }) && !state.jti_revoked;
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
                resource,
            })
            .await?;
        let (Some(family), Some(user)) = (state.family, state.user) else {
            return Ok(None);
        };
        let client_live = match &client_id {
            Some(_) => state.client.as_ref().is_some_and(|c| {
                c.is_active(self.now())
                    && (self.serves(c, &claims.aud) || state.resource_registered)
            }),
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
}
