//! Storage behind one trait; [`dynamo::DynamoStore`] is the implementation.

pub mod dynamo;

use crate::core::throttle::Throttle;
use crate::core::tokens::FamilyId;
use crate::core::user::{User, Username};
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

pub use dynamo::DynamoStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the item already exists")]
    AlreadyExists,
    #[error("the table {0} does not exist (run `token-admin tables create`)")]
    MissingTable(String),
    #[error("cannot reach DynamoDB")]
    Unreachable(#[source] BoxError),
    #[error("DynamoDB request failed")]
    Backend(#[source] BoxError),
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A refresh-token family: the hash of its one live token and its absolute expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshFamily {
    pub id: FamilyId,
    pub username: Username,
    pub user_id: Uuid,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a rotation attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The presented token was the live one; the family now holds the new hash.
    Rotated(RefreshFamily),
    /// Refused. `consumed` says the presented token was an earlier token of a
    /// live family: reuse.
    Refused { consumed: bool },
}

/// An ops session, keyed by the hash of its token.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub username: Username,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Everything the issuer and the admin tool read and write.
pub trait Store: Send + Sync {
    fn get_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Fails with [`StoreError::AlreadyExists`] when the username is taken.
    fn create_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list_users(&self) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// Also ends every refresh family and session of the user (not-before = `at`).
    /// `false` when there is no such user.
    fn set_password(
        &self,
        username: &Username,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Disabling also ends every refresh family and session of the user
    /// (not-before = `at`). `false` when there is no such user.
    fn set_enabled(
        &self,
        username: &Username,
        enabled: bool,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Swaps a password hash for a stronger one of the same password, only if
    /// the stored hash is still `old` (a concurrent password change wins);
    /// revokes nothing. `false` when the swap did not happen.
    fn replace_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `false` when there is no such user.
    fn delete_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets the last-login time; `false` when the user vanished meanwhile.
    fn record_login(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn put_refresh_family(
        &self,
        family: &RefreshFamily,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_refresh_family(
        &self,
        id: &FamilyId,
    ) -> impl Future<Output = Result<Option<RefreshFamily>, StoreError>> + Send;

    /// Swaps the family's live hash from `presented` to `next` in one conditional
    /// write, provided the family is neither revoked nor expired at `now`.
    fn rotate_refresh(
        &self,
        id: &FamilyId,
        presented_hash: &str,
        next_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes the family if `presented_hash` is its live or an earlier token
    /// (`None`: unconditionally). `false` when nothing was revoked.
    fn revoke_family(
        &self,
        id: &FamilyId,
        presented_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A username's failure record, stale or not; `None` when there is none.
    fn get_throttle(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Throttle>, StoreError>> + Send;

    /// Adds one failure atomically and returns the record after it.
    fn record_failure(
        &self,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Throttle, StoreError>> + Send;

    /// Locks until `until` if the record has at least `min_failures` and is
    /// not locked at `now` (so concurrent failures lock once); resets the
    /// failures and counts the lockout.
    fn lock_throttle(
        &self,
        key: &str,
        min_failures: i64,
        now: OffsetDateTime,
        until: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn clear_throttle(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn put_session(&self, session: &Session)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Slides a live session to `new_expiry` in one conditional write and returns
    /// it; `None` when it does not exist or expired before `now`.
    fn touch_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        new_expiry: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Deletes a session that is live at `now`; `false` when there was none.
    fn end_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn delete_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
