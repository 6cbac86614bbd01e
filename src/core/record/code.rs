//! An authorization code as stored, and what redeeming it must match.

use super::client::{ClientId, Scopes};
use super::token::FamilyId;
use time::OffsetDateTime;

/// A stored authorization code, under the hash of the code.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCode {
    pub hash: String,
    pub client_id: ClientId,
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    pub scope: Scopes,
    pub nonce: Option<String>,
    /// The family the sign-in started, and the hash of its first token,
    /// which no one holds: redeeming the code rotates it.
    pub family: FamilyId,
    pub refresh_hash: String,
    pub expires_at: OffsetDateTime,
}

/// What redeeming must match: the code is used only if it is unexpired at
/// `now`, unused, and bound to this client, redirect URI and challenge.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub client_id: &'a ClientId,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    /// Unique to this attempt, so a retry of the same write (its answer
    /// lost) is told from a second presentation of the code.
    pub attempt: &'a str,
    pub now: OffsetDateTime,
}

/// What the conditional redemption found.
#[derive(Debug, Clone, PartialEq)]
pub enum Redemption {
    /// Marked used by this attempt.
    Redeemed(StoredCode),
    /// Used before, by another attempt: a replay.
    Replayed(StoredCode),
    /// Unknown, expired, or not bound to what was presented; left as it was.
    Refused,
}
