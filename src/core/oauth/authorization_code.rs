//! `grant_type=authorization_code` with PKCE (RFC 6749 §4.1.3, RFC 7636
//! §4.6). The sign-in started the family and the code names it: redeeming
//! the code hands out that family's first tokens, and presenting the code
//! again revokes the family, whoever holds its tokens by then (§4.1.2).

use super::mint::UserTokens;
use super::{Granted, OAuthGrant};
use crate::core::audit::{self, Origin};
use crate::core::authorize::{is_pkce_string, s256};
use crate::core::error::{Error, Refusal};
use crate::core::record::client::{Client, GrantType};
use crate::core::record::code::{CodeRedemption, Redemption};
use crate::core::record::family::RefreshFamily;
use crate::core::record::resource::ResourceUri;
use crate::core::record::token::{self, token_hash};
use crate::core::sign::Signer;
use crate::core::store::{CodeStore, FamilyStore, ResourceStore, UserStore};
use crate::core::Issuer;

/// What a client presents to exchange a code (RFC 6749 §4.1.3, RFC 7636
/// §4.5, RFC 8707 §2.2).
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a str,
    pub resource: Option<&'a str>,
    /// The key of the request's accepted DPoP proof.
    pub dpop: Option<&'a str>,
}

impl<S: CodeStore + FamilyStore + ResourceStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn code_grant(
        &self,
        client: &Client,
        exchange: CodeExchange<'_>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        Self::require_grant(client, GrantType::AuthorizationCode)?;
        self.redeem_code(client, exchange, origin, issuer_url).await
    }

    /// The code's redemption, for the token endpoint and for the device
    /// callback (whose client may have only the device grant).
    pub(super) async fn redeem_code(
        &self,
        client: &Client,
        exchange: CodeExchange<'_>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        let CodeExchange {
            code,
            redirect_uri,
            verifier,
            resource,
            dpop,
        } = exchange;
        if !is_pkce_string(verifier) {
            return Err(Refusal::InvalidCode.into());
        }
        // A resource that cannot be one is refused before the code is spent.
        if resource.is_some_and(|r| ResourceUri::parse(r).is_err()) {
            return Err(Refusal::InvalidTarget.into());
        }
        let now = self.now();
        let attempt = token::new_jti()?;
        let redemption = self
            .store
            .redeem_code(
                &token_hash(code),
                &CodeRedemption {
                    client_id: &client.id,
                    redirect_uri,
                    code_challenge: &s256(verifier),
                    attempt: &attempt,
                    now,
                },
            )
            .await?;
        let stored = match redemption {
            Redemption::Redeemed(stored) => stored,
            // Only the client the code was issued to can prove a replay: any
            // other holder of a leaked, used code must not end the session.
            Redemption::Replayed(stored) if stored.client_id == client.id => {
                if self.store.revoke_family(&stored.family, None, now).await? {
                    audit::code_replayed(origin, &stored.family);
                }
                return Err(Refusal::InvalidCode.into());
            }
            Redemption::Replayed(_) | Redemption::Refused => {
                return Err(Refusal::InvalidCode.into())
            }
        };
        let ours = |f: &RefreshFamily| match &f.client {
            Some(b) if b.client_id == client.id => Ok(()),
            _ => Err(Refusal::InvalidCode),
        };
        // The family may have ended since the sign-in (log out, disabled user).
        let r = match self
            .rotate_hash(
                stored.family,
                &stored.refresh_hash,
                ours,
                dpop.filter(|_| client.is_public()),
                origin,
                now,
            )
            .await
        {
            Err(Error::Refused(_)) => return Err(Refusal::InvalidCode.into()),
            other => other?,
        };
        let granted = r.family.client.as_ref().and_then(|b| b.resource.as_ref());
        let resource = self
            .token_resource(resource, Granted::Family(granted))
            .await?;
        let refresh = client.allows(GrantType::RefreshToken).then_some(r.next);
        let tokens = UserTokens {
            client,
            user: &r.user,
            family: &r.family,
            refresh_token: refresh,
            scope: stored.scope,
            nonce: stored.nonce.as_deref(),
            resource: resource.as_ref(),
            dpop,
        };
        self.mint_for_user(tokens, issuer_url, now)
    }
}
