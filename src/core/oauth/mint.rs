//! The tokens of a grant to a user: an RFC 9068 access token, and with scope
//! `openid` an ID token (OpenID Connect Core §2).

use super::OAuthGrant;
use crate::core::error::Error;
use crate::core::record::claims::{
    acr_of, Confirmation, IdTokenClaims, TokenClaims, EMAIL, PROFILE,
};
use crate::core::record::client::{Client, Scopes, OPENID};
use crate::core::record::family::RefreshFamily;
use crate::core::record::resource::Resource;
use crate::core::record::token::{self, RefreshToken};
use crate::core::record::user::User;
use crate::core::sign::Signer;
use crate::core::sign::{self, TokenType};
use crate::core::Issuer;
use secrecy::SecretString;
use time::OffsetDateTime;

/// What a grant to a user hands out, and to whom: the family the tokens
/// belong to, the scope they carry, the refresh token (if the client may
/// refresh) and the authorization request's nonce (code flow only).
pub(super) struct UserTokens<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub family: &'a RefreshFamily,
    pub refresh_token: Option<RefreshToken>,
    pub scope: Scopes,
    pub nonce: Option<&'a str>,
    /// The resource the access token is for: its `aud`, and only its
    /// scopes (RFC 8707). The ID token keeps the granted scope.
    pub resource: Option<&'a Resource>,
    /// The DPoP key the access token is bound to (its thumbprint).
    pub dpop: Option<&'a str>,
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// Signs the tokens of `grant`, issued by `issuer_url` at `now`.
    pub(super) fn mint_for_user(
        &self,
        grant: UserTokens<'_>,
        issuer_url: &str,
        now: OffsetDateTime,
    ) -> Result<OAuthGrant, Error> {
        let UserTokens {
            client,
            user,
            family,
            refresh_token,
            scope,
            nonce,
            resource,
            dpop,
        } = grant;
        let (iat, exp) = self.access_times(now);
        let (aud, access_scope) = match resource {
            Some(r) => (r.uri.as_str(), r.narrow(&scope)),
            None => (self.audience_of(client), scope.clone()),
        };
        let claims = TokenClaims {
            iss: issuer_url.to_string(),
            sub: user.id.to_string(),
            aud: aud.to_string(),
            iat,
            nbf: iat,
            exp,
            jti: token::new_jti()?,
            client_id: Some(client.id.to_string()),
            scope: Some(access_scope.to_string()),
            sid: Some(match &family.session {
                Some(link) => link.id.clone(),
                None => family.id.to_string(),
            }),
            fid: family.session.as_ref().map(|_| family.id.to_string()),
            username: Some(user.username.to_string()),
            roles: Some(user.roles.clone()),
            amr: family.session.as_ref().map(|l| l.amr.clone()),
            acr: family.session.as_ref().map(|l| acr_of(&l.amr).to_string()),
            cnf: dpop.map(|jkt| Confirmation {
                jkt: jkt.to_string(),
            }),
        };
        let access_token = sign::sign(self.signer(), TokenType::AccessToken, &claims)?;
        let id_token = if scope.contains(OPENID) {
            let id = IdTokenClaims {
                iss: issuer_url,
                sub: user.id.to_string(),
                aud: client.id.as_str(),
                iat,
                exp,
                // The browser session's sign-in, else the log in that
                // started the family.
                auth_time: family
                    .session
                    .as_ref()
                    .map_or(family.created_at, |l| l.auth_time)
                    .unix_timestamp(),
                amr: family.session.as_ref().map_or(&[], |l| l.amr.as_slice()),
                acr: family.session.as_ref().map(|l| acr_of(&l.amr)),
                sid: family.session.as_ref().map(|l| l.id.as_str()),
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
            scope: access_scope,
            id_token,
            dpop_bound: dpop.is_some(),
        })
    }
}
