//! `grant_type=client_credentials` (RFC 6749 §4.4).

use super::{grant_scope, Asked, Granted, OAuthGrant};
use crate::core::error::Error;
use crate::core::record::claims::{Confirmation, TokenClaims};
use crate::core::record::client::{Client, GrantType};
use crate::core::record::token;
use crate::core::sign::Signer;
use crate::core::sign::{self, TokenType};
use crate::core::store::ResourceStore;
use crate::core::Issuer;
use secrecy::SecretString;

impl<S: ResourceStore, K: Signer + ?Sized> Issuer<S, K> {
    /// `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients
    /// only (`Client::allows` refuses it to a public one), no refresh token,
    /// `sub` is the client.
    pub async fn client_credentials_grant(
        &self,
        client: &Client,
        asked: Asked<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        let Asked {
            scope,
            resource,
            dpop,
        } = asked;
        Self::require_grant(client, GrantType::ClientCredentials)?;
        let scope = grant_scope(client, scope, false)?;
        let resource = self.token_resource(resource, Granted::New).await?;
        let (aud, scope) = match &resource {
            Some(r) => (r.uri.as_str(), r.narrow(&scope)),
            None => (self.audience_of(client), scope),
        };
        let now = self.now();
        let (iat, exp) = self.access_times(now);
        let claims = TokenClaims {
            iss: issuer_url.to_string(),
            sub: client.id.to_string(),
            aud: aud.to_string(),
            iat,
            nbf: iat,
            exp,
            jti: token::new_jti()?,
            client_id: Some(client.id.to_string()),
            scope: Some(scope.to_string()),
            sid: None,
            fid: None,
            username: None,
            roles: None,
            amr: None,
            acr: None,
            cnf: dpop.map(|jkt| Confirmation {
                jkt: jkt.to_string(),
            }),
        };
        let access_token = sign::sign(self.signer(), TokenType::AccessToken, &claims)?;
        Ok(OAuthGrant {
            access_token: SecretString::from(access_token),
            expires_in: exp - iat,
            refresh_token: None,
            scope,
            id_token: None,
            dpop_bound: dpop.is_some(),
        })
    }
}
