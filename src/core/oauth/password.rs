//! `grant_type=password` (RFC 6749 §4.3).

use super::mint::UserTokens;
use super::{grant_scope, Asked, Granted, OAuthGrant};
use crate::core::audit::Origin;
use crate::core::error::Error;
use crate::core::login::{Credentials, PasswordRoute};
use crate::core::record::client::{Client, GrantType};
use crate::core::record::family::ClientBinding;
use crate::core::sign::Signer;
use crate::core::store::{FamilyStore, ResourceStore, ThrottleStore, UserStore};
use crate::core::Issuer;

impl<S: FamilyStore + ResourceStore + ThrottleStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// `grant_type=password` (RFC 6749 §4.3), with every rule of a log in.
    pub async fn password_grant(
        &self,
        client: &Client,
        creds: Credentials,
        asked: Asked<'_>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        let Asked {
            scope,
            resource,
            dpop,
        } = asked;
        Self::require_grant(client, GrantType::Password)?;
        let scope = grant_scope(client, scope, true)?;
        // Before the password is checked: an unknown resource costs no attempt.
        let resource = self.token_resource(resource, Granted::New).await?;
        let checked = self
            .authenticate(
                creds,
                PasswordRoute::PasswordOnly {
                    client_requires_mfa: client.require_mfa,
                },
                origin,
            )
            .await?;
        let now = self.now();
        let binding = ClientBinding {
            client_id: client.id.clone(),
            scope: scope.clone(),
            resource: resource.as_ref().map(|r| r.uri.clone()),
            // A public client's refresh tokens are bound to its key too
            // (RFC 9449 §5); a confidential client's are bound to it by its
            // authentication.
            dpop_jkt: dpop.filter(|_| client.is_public()).map(str::to_string),
        };
        self.start_family(
            checked,
            Some(binding),
            None,
            origin,
            now,
            |user, family, refresh| {
                let refresh = client.allows(GrantType::RefreshToken).then_some(refresh);
                let tokens = UserTokens {
                    client,
                    user,
                    family,
                    refresh_token: refresh,
                    scope,
                    nonce: None,
                    resource: resource.as_ref(),
                    dpop,
                };
                self.mint_for_user(tokens, issuer_url, now)
            },
        )
        .await
    }
}
