//! Protected resources (RFC 8707, API §14), `RS#<uri>` in the tokens table,
//! written only by the admin tool. A token check reads one's existence in
//! the same `BatchGetItem` as the token's family and client.

use super::codec::{get_s, get_time, millis, s, Item};
use super::{classify, put_once, DynamoStore, TOKENS_KEY};
use crate::core::record::client::Scopes;
use crate::core::record::resource::{Resource, ResourceUri};
use crate::core::store::{ResourceStore, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

pub(super) const PREFIX: &str = "RS#";

pub(super) fn resource_key(uri: &str) -> AttributeValue {
    s(&format!("{PREFIX}{uri}"))
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("`{key}`: {e}"))
}

fn from_item(item: &Item) -> Result<Resource, StoreError> {
    let uri = get_s(item, TOKENS_KEY)?
        .strip_prefix(PREFIX)
        .ok_or_else(|| corrupt(TOKENS_KEY, "not a resource"))?;
    Ok(Resource {
        uri: ResourceUri::parse(uri).map_err(|e| corrupt(TOKENS_KEY, e))?,
        scopes: Scopes::parse(get_s(item, "scopes")?).map_err(|e| corrupt("scopes", e))?,
        created_at: get_time(item, "created_at")?,
    })
}

impl ResourceStore for DynamoStore {
    async fn get_resource(&self, uri: &ResourceUri) -> Result<Option<Resource>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, resource_key(uri.as_str()))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(from_item).transpose()
    }
}

impl DynamoStore {
    pub(super) async fn put_resource(&self, r: &Resource) -> Result<(), StoreError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, resource_key(r.uri.as_str()))
            .item("scopes", s(&r.scopes.to_string()))
            .item("created_at", millis(r.created_at));
        put_once(&self.tokens, req, |old| {
            get_time(old, "created_at").is_ok_and(|c| c == r.created_at)
        })
        .await
    }

    pub(super) async fn scan_resources(&self) -> Result<Vec<Resource>, StoreError> {
        let mut found = self.scan_prefix(PREFIX, from_item).await?;
        found.sort_by(|a, b| a.uri.as_str().cmp(b.uri.as_str()));
        Ok(found)
    }

    pub(super) async fn delete_resource_item(&self, uri: &ResourceUri) -> Result<bool, StoreError> {
        self.delete_existing(resource_key(uri.as_str())).await
    }
}
