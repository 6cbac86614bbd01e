//! The sealing port: how the core keeps a second factor's secret (API §13)
//! so that only the issuer can read it. `crate::keys::seal` implements it
//! with a key only the function's role may read; the core never sees it.

/// Sealing or opening failed: no randomness, or a sealed value that this
/// key did not seal for this context (altered, another user's, another key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the system random number generator failed")]
    Random,
    #[error("the sealed value does not open with this key and context")]
    Open,
    #[error("no key seals second factors here")]
    NoKey,
}

pub trait Sealer: Send + Sync {
    /// `secret` encrypted and authenticated, bound to `context` (the
    /// owner's id): it opens only with the same key and context.
    fn seal(&self, secret: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError>;

    /// What [`Sealer::seal`] sealed for `context`.
    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError>;
}
