//! What the issuer core answers instead of a grant: a refusal of the caller,
//! or a fault of the service. Dialects match [`Refusal`] exhaustively, so a new
//! refusal does not compile until every dialect has an answer for it; every
//! [`Fault`] is a server error.

use super::password::HashError;
use super::record::device::DeviceRefusal;
use super::record::dpop::DpopRefusal;
use super::record::token::RandomError;
use super::sign::SignError;
use super::store::StoreError;

/// The caller's request was understood and refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
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
    /// A new password the password rules refuse (too short, too guessable).
    #[error("the new password is not allowed: {0}")]
    PasswordNotAllowed(String),
    /// Unknown client, wrong secret, disabled client, or a secret where the
    /// client has none: one variant, so they cannot be told apart.
    #[error("client authentication failed")]
    InvalidClient,
    /// The client may not use this grant.
    #[error("the client may not use the grant {0}")]
    UnauthorizedClient(&'static str),
    /// An authorization code that is unknown, expired, already used, of
    /// another client, or presented with the wrong redirect URI or PKCE
    /// verifier: one variant, so they cannot be told apart.
    #[error("invalid authorization code")]
    InvalidCode,
    /// A scope the client may not have, or a malformed one.
    #[error("the requested scope is invalid or not allowed")]
    InvalidScope,
    /// A bearer token that is not active (RFC 6750).
    #[error("the access token is not active")]
    InvalidToken,
    /// An active bearer token without the scope the route needs (RFC 6750).
    #[error("the access token lacks the scope {0}")]
    InsufficientScope(&'static str),
    /// A `resource` that is not registered, or that the grant's family was
    /// not issued for (RFC 8707 §2: `invalid_target`).
    #[error("the requested resource is unknown or not allowed")]
    InvalidTarget,
    /// A DPoP proof that fails a check of RFC 9449 §4.3, or was used before.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(DpopRefusal),
    /// The proof must carry this server nonce (RFC 9449 §8); the client
    /// retries with it.
    #[error("the DPoP proof needs the server's nonce")]
    UseDpopNonce(String),
    /// A client registered to use DPoP sent no proof (RFC 9449 §5.2).
    #[error("the client must send a DPoP proof")]
    DpopRequired,
    /// At a resource: a DPoP-bound token presented without its proof, or a
    /// token not bound to the proof's key (RFC 9449 §7).
    #[error("the access token is not usable with this proof")]
    InvalidDpopToken,
    /// A device's poll that gets no tokens (RFC 8628 §3.5).
    #[error("{0}")]
    Device(DeviceRefusal),
}

/// The service failed; the caller gets a server error and the log the chain.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("signing failed")]
    Key(#[from] SignError),
    #[error("randomness failed")]
    Random(#[from] RandomError),
    #[error("hashing failed")]
    Hash(#[from] HashError),
    #[error("a worker task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("sealing a second factor failed")]
    Seal(#[from] crate::core::seal::SealError),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Fault(#[from] Fault),
}

macro_rules! fault_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Fault(e.into())
            }
        }
    )*};
}
fault_from!(
    StoreError,
    SignError,
    RandomError,
    HashError,
    tokio::task::JoinError,
    crate::core::seal::SealError
);
