//! A refresh-token family as stored, and what a rotation of it found.

use super::browser::SessionLink;
use super::client::{ClientId, Scopes};
use super::resource::ResourceUri;
use super::token::FamilyId;
use super::user::Username;
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
    /// The browser session it was issued in (API §12), whose end revokes it.
    pub session: Option<Box<SessionLink>>,
}

/// The OAuth client a family belongs to, and the scope granted at its start.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientBinding {
    pub client_id: ClientId,
    pub scope: Scopes,
    /// The resource its access tokens are for (RFC 8707); `None`: the
    /// client's audience.
    pub resource: Option<ResourceUri>,
    /// The DPoP key (RFC 7638 thumbprint) a public client's refresh tokens
    /// are bound to (RFC 9449 §5): a refresh needs a proof made with it.
    pub dpop_jkt: Option<String>,
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
    Rotated(Box<RefreshFamily>),
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
