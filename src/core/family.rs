//! Refresh-token families: rotation with reuse detection, and revocation.

use super::audit::{self, Origin};
use super::client::{ClientId, Scopes};
use super::error::{Error, Refusal};
use super::store::Store;
use super::tokens::{FamilyId, RefreshToken};
use super::user::{User, Username};
use super::{Issuer, TokenGrant};
use time::OffsetDateTime;
use uuid::Uuid;

/// A refresh-token family: the hash of its one live token and its absolute expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshFamily {
    pub id: FamilyId,
    pub username: Username,
    pub user_id: Uuid,
    pub token_hash: String,
    /// The user's token version at log in (`None`: an older family).
    pub token_version: Option<u64>,
    /// Rotations so far; a rotation is conditional on it.
    pub generation: u64,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// When it was revoked (log out, revoke, reuse); `None` while live.
    pub revoked_at: Option<OffsetDateTime>,
    /// The OAuth client it was issued to; `None` for the vendor dialects,
    /// whose tokens work only at their own routes.
    pub client: Option<ClientBinding>,
    /// The dialect of the log in that started it, for downstream context
    /// (`None`: an older family). Never branched on.
    pub issued_via: Option<String>,
}

/// The OAuth client a family belongs to, and the scope granted at its start.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientBinding {
    pub client_id: ClientId,
    pub scope: Scopes,
}

impl RefreshFamily {
    /// Whether the family can still back a token at `now`: not revoked, not
    /// expired. (Whether its user still accepts it is the user's to say.)
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// What a rotation's conditional write found.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The presented token was the live one; the family now holds the new hash.
    Rotated(RefreshFamily),
    /// The condition failed. The family as the write found it, or `None` when
    /// there is no such family.
    Refused(Option<FamilyAtRefusal>),
}

/// The facts about a family that a refused rotation reports.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyAtRefusal {
    /// The presented hash is one of the family's consumed (earlier) tokens.
    pub presented_was_consumed: bool,
    pub revoked: bool,
    pub expires_at: OffsetDateTime,
    /// The hash the family holds as its live token.
    pub live_token_hash: String,
}

impl FamilyAtRefusal {
    /// Reuse: an earlier token of a family that is still live. A revoked or
    /// expired family has nothing left to protect.
    pub fn is_reuse(&self, now: OffsetDateTime) -> bool {
        self.presented_was_consumed && !self.revoked && self.expires_at > now
    }
}

/// A rotation that succeeded: the user, the family as it was read, and the
/// family's new live token with its (unchanged) absolute expiry.
#[derive(Debug)]
pub struct Rotated {
    pub user: User,
    pub family: RefreshFamily,
    pub next: RefreshToken,
    pub expires_at: OffsetDateTime,
}

impl<S: Store> Issuer<S> {
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
        let r = self.rotate(presented, vendor_only, origin, now).await?;
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
    /// left untouched, its refusal the answer.
    pub(super) async fn rotate(
        &self,
        presented: &str,
        admit: impl FnOnce(&RefreshFamily) -> Result<(), Refusal>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<Rotated, Error> {
        let token = RefreshToken::parse(presented).ok_or(Refusal::InvalidRefreshToken)?;
        self.rotate_hash(*token.family(), &token.hash(), admit, origin, now)
            .await
    }

    /// [`Issuer::rotate`] of the token whose hash is `presented_hash`.
    pub(super) async fn rotate_hash(
        &self,
        family: FamilyId,
        presented_hash: &str,
        admit: impl FnOnce(&RefreshFamily) -> Result<(), Refusal>,
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
            .rotate_refresh(&family, presented_hash, &next_hash, stored.generation, now)
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn only_a_consumed_token_of_a_live_family_is_reuse() {
        let now = datetime!(2026-11-22 12:00 UTC);
        let found = |consumed, revoked, expires_at| FamilyAtRefusal {
            presented_was_consumed: consumed,
            revoked,
            expires_at,
            live_token_hash: "h".into(),
        };
        let later = now + time::Duration::days(1);
        assert!(found(true, false, later).is_reuse(now));
        assert!(!found(false, false, later).is_reuse(now), "never issued");
        assert!(!found(true, true, later).is_reuse(now), "already revoked");
        assert!(!found(true, false, now).is_reuse(now), "expired");
    }
}
