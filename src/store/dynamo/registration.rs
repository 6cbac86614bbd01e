//! Self-registration (API §14): the initial access tokens an operator hands
//! out, `IT#<hash>` in the tokens table with `ttl` at their expiry; and the
//! writes the function makes to the clients that register themselves, whose
//! ids all start `dyn-`, and to those described by a metadata document,
//! whose ids are https URLs, so its role may write those clients and no
//! other.

use super::clients::{client_key, client_to_item};
use super::codec::{get_s, get_time, millis, s, ttl, Item};
use super::{classify, conditional, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::client::{Client, ClientId};
use crate::core::record::registration::InitialAccessToken;
use crate::core::store::{RegistrationStore, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

pub(super) const PREFIX: &str = "IT#";
/// `CL#` and the self-registered clients' id prefix.
pub(super) const CLIENT_PREFIX: &str = "CL#dyn-";
/// `CL#` and the start of every metadata document's URL.
pub(super) const DOCUMENT_CLIENT_PREFIX: &str = "CL#https://";

fn key(hash: &str) -> AttributeValue {
    s(&format!("{PREFIX}{hash}"))
}

fn from_item(item: &Item) -> Result<InitialAccessToken, StoreError> {
    let hash = get_s(item, TOKENS_KEY)?
        .strip_prefix(PREFIX)
        .ok_or_else(|| StoreError::Corrupt("not an initial access token".into()))?;
    Ok(InitialAccessToken {
        hash: hash.to_string(),
        note: match item.get("note") {
            None => None,
            Some(_) => Some(get_s(item, "note")?.to_string()),
        },
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

impl RegistrationStore for DynamoStore {
    async fn register_client(&self, client: &Client) -> Result<(), StoreError> {
        self.create_client_item(client).await
    }

    async fn put_document_client(&self, client: &Client) -> Result<bool, StoreError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(client_to_item(client)))
            .condition_expression("attribute_not_exists(#k) OR enabled = :t")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_values(":t", AttributeValue::Bool(true));
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }

    async fn keep_client(&self, id: &ClientId, until: OffsetDateTime) -> Result<bool, StoreError> {
        let req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, client_key(id))
            .update_expression("SET expires_at = :e, #t = :t")
            .condition_expression("attribute_exists(expires_at)")
            .expression_attribute_names("#t", TTL_ATTRIBUTE)
            .expression_attribute_values(":e", millis(until))
            .expression_attribute_values(":t", ttl(until));
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }

    async fn initial_access_token(
        &self,
        hash: &str,
    ) -> Result<Option<InitialAccessToken>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(from_item).transpose()
    }
}

impl DynamoStore {
    pub(super) async fn put_initial_access_token(
        &self,
        t: &InitialAccessToken,
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, key(&t.hash))
            .item("created_at", millis(t.created_at))
            .item("expires_at", millis(t.expires_at))
            .item(TTL_ATTRIBUTE, ttl(t.expires_at));
        if let Some(note) = &t.note {
            req = req.item("note", s(note));
        }
        put_once(&self.tokens, req, |old| {
            get_time(old, "created_at").is_ok_and(|c| c == t.created_at)
        })
        .await
    }

    pub(super) async fn scan_initial_access_tokens(
        &self,
    ) -> Result<Vec<InitialAccessToken>, StoreError> {
        let mut found = self.scan_prefix(PREFIX, from_item).await?;
        found.sort_by_key(|t| t.created_at);
        Ok(found)
    }

    pub(super) async fn delete_initial_access_token_item(
        &self,
        hash: &str,
    ) -> Result<bool, StoreError> {
        self.delete_existing(key(hash)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::client::REGISTERED_ID_PREFIX;

    #[test]
    fn the_writable_document_clients_are_the_https_ids() {
        let id = ClientId::parse("https://app.example.com/c.json").unwrap();
        assert!(id.is_document());
        let AttributeValue::S(key) = client_key(&id) else {
            panic!("a string key")
        };
        assert!(key.starts_with(DOCUMENT_CLIENT_PREFIX));
    }

    #[test]
    fn the_writable_client_prefix_is_the_registered_ids() {
        assert_eq!(
            CLIENT_PREFIX,
            format!(
                "{}{REGISTERED_ID_PREFIX}",
                super::super::clients::CLIENT_PREFIX
            )
        );
    }
}
