//! What can go wrong in the issuer core, independent of any dialect.

use super::password::HashError;
use super::tokens::RandomError;
use crate::keys::KeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password, disabled user or wrong auth source: one
    /// variant, so the dialects cannot tell them apart.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid, expired, revoked or reused refresh token")]
    InvalidRefreshToken,
    #[error("missing, malformed, expired or released session token")]
    InvalidSession,
    #[error("too many failed attempts; retry after {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("signing failed")]
    Key(#[from] KeyError),
    #[error("randomness failed")]
    Random(#[from] RandomError),
    #[error("hashing failed")]
    Hash(#[from] HashError),
    #[error("a worker task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl AuthError {
    /// Failures of the service rather than of the caller.
    pub fn is_server_error(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Key(_) | Self::Random(_) | Self::Hash(_) | Self::Task(_)
        )
    }
}
