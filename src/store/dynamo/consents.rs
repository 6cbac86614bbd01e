//! Users' consents to third-party clients (API §14), `CG#<user id>#<client
//! id>` in the tokens table: one item per user and client, replaced when
//! the user allows more, deleted when withdrawn. Keyed by the user's id, so
//! a user deleted and made again under the same name has none.

use super::codec::{get_s, get_time, get_uuid, millis, s, Item};
use super::{classify, DynamoStore, TOKENS_KEY};
use crate::core::record::client::{ClientId, Scopes};
use crate::core::record::consent::Consent;
use crate::core::store::{ConsentStore, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

pub(super) const PREFIX: &str = "CG#";

fn key(user_id: Uuid, client: &ClientId) -> AttributeValue {
    s(&format!("{PREFIX}{user_id}#{client}"))
}

fn from_item(item: &Item) -> Result<Consent, StoreError> {
    Ok(Consent {
        user_id: get_uuid(item, "user_id")?,
        client_id: ClientId::parse(get_s(item, "client_id")?)
            .map_err(|e| StoreError::Corrupt(format!("`client_id`: {e}")))?,
        scopes: Scopes::parse(get_s(item, "scopes")?)
            .map_err(|e| StoreError::Corrupt(format!("`scopes`: {e}")))?,
        granted_at: get_time(item, "granted_at")?,
    })
}

impl ConsentStore for DynamoStore {
    async fn get_consent(
        &self,
        user_id: Uuid,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(user_id, client))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(from_item).transpose()
    }

    async fn put_consent(&self, c: &Consent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, key(c.user_id, &c.client_id))
            .item("user_id", s(&c.user_id.to_string()))
            .item("client_id", s(c.client_id.as_str()))
            .item("scopes", s(&c.scopes.to_string()))
            .item("granted_at", millis(c.granted_at))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(())
    }
}

impl DynamoStore {
    pub(super) async fn scan_consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError> {
        let prefix = format!("{PREFIX}{user_id}#");
        let mut found = self.scan_prefix(&prefix, from_item).await?;
        found.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
        Ok(found)
    }

    pub(super) async fn delete_consent_item(
        &self,
        user_id: Uuid,
        client: &ClientId,
    ) -> Result<bool, StoreError> {
        self.delete_existing(key(user_id, client)).await
    }
}
