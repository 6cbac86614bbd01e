//! Revocation (RFC 7009).

use crate::core::audit::{self, Origin};
use crate::core::error::Error;
use crate::core::record::client::Client;
use crate::core::record::family::ClientBinding;
use crate::core::record::token::{FamilyId, RefreshToken};
use crate::core::sign::Signer;
use crate::core::store::{AccessTokenStore, FamilyStore, UserStore};
use crate::core::Issuer;
use time::OffsetDateTime;

impl<S: AccessTokenStore + FamilyStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
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
        match claims.family().and_then(FamilyId::parse) {
            Some(family) => {
                if self.store.revoke_family(&family, None, now).await? {
                    audit::token_revoked(origin, &family);
                }
            }
            None => {
                let until = OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now);
                self.store.revoke_access_token(&claims.jti, until).await?;
            }
        }
        Ok(())
    }
}
