//! `grant_type=refresh_token` (RFC 6749 §6).

use super::mint::UserTokens;
use super::{Asked, Granted, OAuthGrant};
use crate::core::audit::Origin;
use crate::core::error::{Error, Refusal};
use crate::core::record::client::{Client, GrantType, Scopes};
use crate::core::record::family::RefreshFamily;
use crate::core::record::resource::ResourceUri;
use crate::core::sign::Signer;
use crate::core::store::{FamilyStore, ResourceStore, UserStore};
use crate::core::Issuer;

impl<S: FamilyStore + ResourceStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// `grant_type=refresh_token` (RFC 6749 §6): rotation with reuse
    /// detection; the token works only for the client it was issued to, and
    /// a narrower scope may be asked for, never a wider one; likewise the
    /// resource (RFC 8707): the family's, or none named.
    pub async fn refresh_grant(
        &self,
        client: &Client,
        presented: &str,
        asked: Asked<'_>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<OAuthGrant, Error> {
        let Asked {
            scope,
            resource,
            dpop,
        } = asked;
        Self::require_grant(client, GrantType::RefreshToken)?;
        let asked = match resource {
            Some(raw) => Some(ResourceUri::parse(raw).map_err(|_| Refusal::InvalidTarget)?),
            None => None,
        };
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
            // Bound to a key: only a proof made with it refreshes (RFC 9449
            // §5). Refused before the rotation, so a thief with the token
            // and another key cannot even end the family.
            if binding.dpop_jkt.is_some() && binding.dpop_jkt.as_deref() != dpop {
                return Err(Refusal::InvalidRefreshToken);
            }
            let scope = match requested {
                Some(r) if !r.is_empty() => {
                    if !r.is_subset_of(&binding.scope) {
                        return Err(Refusal::InvalidScope);
                    }
                    r
                }
                _ => binding.scope.clone(),
            };
            // Checked before the rotation, so a refused widening costs the
            // client nothing.
            if asked.is_some() && asked.as_ref() != binding.resource.as_ref() {
                return Err(Refusal::InvalidTarget);
            }
            granted = Some(scope);
            Ok(())
        };
        let now = self.now();
        let bind = dpop.filter(|_| client.is_public());
        let r = self.rotate(presented, admit, bind, origin, now).await?;
        let scope = granted.unwrap_or_default();
        let family_resource = r.family.client.as_ref().and_then(|b| b.resource.as_ref());
        let resource = self
            .token_resource(resource, Granted::Family(family_resource))
            .await?;
        let tokens = UserTokens {
            client,
            user: &r.user,
            family: &r.family,
            refresh_token: Some(r.next),
            scope,
            nonce: None,
            resource: resource.as_ref(),
            dpop,
        };
        self.mint_for_user(tokens, issuer_url, now)
    }
}
