//! Spent DPoP proofs: `DP#<hash of the key's thumbprint and the jti>`, kept
//! until the proof's `iat` window closes and a day more, as passkey
//! challenges are.

use super::DynamoStore;
use crate::core::store::{DpopStore, StoreError};
use time::{Duration, OffsetDateTime};

pub(super) const PREFIX: &str = "DP#";

impl DpopStore for DynamoStore {
    async fn spend_proof(&self, hash: &str, expires: OffsetDateTime) -> Result<bool, StoreError> {
        self.spend_once(PREFIX, hash, expires + Duration::days(1))
            .await
    }
}
