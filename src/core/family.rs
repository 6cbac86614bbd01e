//! Refresh-token families: rotation with reuse detection, and revocation.

use super::audit::{self, Origin};
use super::error::{Error, Refusal};
use super::record::family::{RefreshFamily, Rotation};
use super::record::token::{FamilyId, RefreshToken};
use super::record::user::User;
use super::store::{FamilyStore, UserStore};
use super::{Issuer, TokenGrant};
use crate::core::sign::Signer;
use time::OffsetDateTime;

/// A rotation that succeeded: the user, the family as it was read, and the
/// family's new live token with its (unchanged) absolute expiry.
#[derive(Debug)]
pub struct Rotated {
    pub user: User,
    pub family: RefreshFamily,
    pub next: RefreshToken,
    pub expires_at: OffsetDateTime,
}

impl<S: FamilyStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Exchanges a refresh token of a vendor dialect for a new pair of the
    /// same family (rotation). Presenting an already consumed token revokes
    /// the whole family.
    pub async fn refresh(
        &self,
        presented: &str,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<TokenGrant, Error> {
        let now = self.now();
        // A family of an OAuth client works only at the token endpoint.
        let vendor_only = |f: &RefreshFamily| match f.client {
            None => Ok(()),
            Some(_) => Err(Refusal::InvalidRefreshToken),
        };
        let r = self
            .rotate(presented, vendor_only, None, origin, now)
            .await?;
        self.grant(
            r.user,
            r.next,
            r.expires_at,
            &r.family.id.to_string(),
            issuer_url,
            now,
        )
    }

    /// Rotates the family of `presented` if `admit` accepts the family as
    /// stored (the right client, the right scope); a family it refuses is
    /// left untouched, its refusal the answer. `bind` binds a family bound
    /// to no DPoP key yet to that one.
    pub(super) async fn rotate(
        &self,
        presented: &str,
        admit: impl FnOnce(&RefreshFamily) -> Result<(), Refusal>,
        bind: Option<&str>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<Rotated, Error> {
        let token = RefreshToken::parse(presented).ok_or(Refusal::InvalidRefreshToken)?;
        self.rotate_hash(*token.family(), &token.hash(), admit, bind, origin, now)
            .await
    }

    /// [`Issuer::rotate`] of the token whose hash is `presented_hash`.
    pub(super) async fn rotate_hash(
        &self,
        family: FamilyId,
        presented_hash: &str,
        admit: impl FnOnce(&RefreshFamily) -> Result<(), Refusal>,
        bind: Option<&str>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<Rotated, Error> {
        // Every read comes before the one write (the rotation), and after it only
        // signing can fail: a storage fault never consumes a token without
        // handing out its successor.
        let Some(stored) = self.store.get_refresh_family(&family).await? else {
            return Err(Refusal::InvalidRefreshToken.into());
        };
        admit(&stored)?;
        let user = match self.store.get_user(&stored.username).await? {
            // Disabled, deleted, recreated or re-passworded users lose their families.
            Some(u)
                if u.accepts_tokens_from(
                    stored.user_id,
                    stored.token_version,
                    stored.created_at,
                ) =>
            {
                u
            }
            _ => {
                self.store.revoke_family(&family, None, now).await?;
                return Err(Refusal::InvalidRefreshToken.into());
            }
        };
        let next = RefreshToken::generate(family)?;
        let next_hash = next.hash();
        match self
            .store
            .rotate_refresh(
                &family,
                presented_hash,
                &next_hash,
                stored.generation,
                bind,
                now,
            )
            .await?
        {
            Rotation::Rotated(rotated) => Ok(Rotated {
                user,
                family: stored,
                next,
                expires_at: rotated.expires_at,
            }),
            // This rotation's own write, applied once already: its answer was
            // lost and the SDK sent it again. The successor is ours.
            Rotation::Refused(Some(found)) if found.live_token_hash == next_hash => Ok(Rotated {
                user,
                family: stored,
                next,
                expires_at: found.expires_at,
            }),
            Rotation::Refused(found) => {
                if found.is_some_and(|f| f.is_reuse(now)) {
                    let revoked = self.store.revoke_family(&family, None, now).await?;
                    audit::refresh_reuse_detected(
                        origin,
                        &family,
                        stored.user_id,
                        &stored.username,
                        revoked,
                    );
                }
                Err(Refusal::InvalidRefreshToken.into())
            }
        }
    }

    /// Revokes the family of a refresh token. Unknown, expired, revoked or
    /// garbage tokens succeed too, so the route cannot be used to test tokens.
    pub async fn revoke(&self, presented: &str, origin: &Origin<'_>) -> Result<(), Error> {
        if let Some(token) = RefreshToken::parse(presented) {
            let now = self.now();
            if self
                .store
                .revoke_family(token.family(), Some(&token.hash()), now)
                .await?
            {
                audit::token_revoked(origin, token.family());
            }
        }
        Ok(())
    }
}
