//! An ops session as stored.

use super::user::Username;
use time::OffsetDateTime;
use uuid::Uuid;

/// An ops session, keyed by the hash of its token.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub username: Username,
    pub user_id: Uuid,
    /// The user's token version at log in (`None`: an older session).
    pub token_version: Option<u64>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}
