//! A token's state as a check reads it: only what a decision needs.

use super::client::ClientId;
use time::OffsetDateTime;

/// A refresh family as a token check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyState {
    pub user_id: uuid::Uuid,
    /// The user's token version at log in (`None`: an older family).
    pub token_version: Option<u64>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// The OAuth client it was issued to.
    pub client_id: Option<ClientId>,
    /// The dialect of the log in that started it.
    pub issued_via: Option<String>,
}

impl FamilyState {
    /// As [`super::family::RefreshFamily::is_live`].
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// An OAuth client as a token check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientState {
    pub enabled: bool,
    /// The `aud` of its access tokens; `None`: the issuer's.
    pub audience: Option<String>,
    /// When a self-registered client lapses unless used.
    pub expires_at: Option<OffsetDateTime>,
}

impl ClientState {
    /// As [`super::client::Client::is_active`].
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.enabled && self.expires_at.is_none_or(|e| e > now)
    }
}
