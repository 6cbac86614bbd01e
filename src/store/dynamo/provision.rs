//! Creating the tables, with the keys and TTL setting of `template.yaml`
//! (for `token-admin tables create` and the tests).

use super::browser_sessions::{SESSIONS_BY_USER_INDEX, SESSION_USER};
use super::{backend, classify, error_code, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE, USERS_KEY};
use crate::core::store::StoreError;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use std::time::Duration;

/// How long a new table may take to become ACTIVE.
const TABLE_READY: Duration = Duration::from_secs(300);

impl DynamoStore {
    /// Creates both tables; tables that exist are left as they are. Returns a
    /// line per table.
    pub async fn create_tables(&self) -> Result<Vec<String>, StoreError> {
        let mut report = Vec::new();
        for (table, key) in [(&self.users, USERS_KEY), (&self.tokens, TOKENS_KEY)] {
            let created = self.create_table(table, key).await?;
            self.client
                .wait_until_table_exists()
                .table_name(table)
                .wait(TABLE_READY)
                .await
                .map_err(backend)?;
            let ttl = self.enable_ttl(table).await?;
            let mut line = format!(
                "{table}: {}, TTL on `{TTL_ATTRIBUTE}` {}",
                if created { "created" } else { "already exists" },
                if ttl { "enabled" } else { "already enabled" }
            );
            if key == TOKENS_KEY {
                let index = self.add_sessions_index(table).await?;
                line.push_str(&format!(", index `{SESSIONS_BY_USER_INDEX}` {index}"));
            }
            report.push(line);
        }
        Ok(report)
    }

    async fn create_table(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .create_table()
            .table_name(table)
            .attribute_definitions(string_attribute(key)?)
            .key_schema(hash_key(key)?)
            .billing_mode(BillingMode::PayPerRequest);
        if key == TOKENS_KEY {
            req = req
                .attribute_definitions(string_attribute(SESSION_USER)?)
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(SESSIONS_BY_USER_INDEX)
                        .key_schema(hash_key(SESSION_USER)?)
                        .projection(keys_only())
                        .build()
                        .map_err(backend)?,
                );
        }
        let res = req.send().await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(false),
            Err(e) => Err(classify(table, e)),
        }
    }

    /// Adds the index of browser sessions by user to a tokens table made
    /// before it existed. It does not wait for the index to be built (in
    /// AWS that takes minutes, and DynamoDB Local may leave it building for
    /// long): the line says where it stands.
    async fn add_sessions_index(&self, table: &str) -> Result<&'static str, StoreError> {
        match self.sessions_index_status(table).await? {
            Some(IndexStatus::Active) => return Ok("present"),
            Some(_) => return Ok("being built"),
            None => {}
        }
        self.client
            .update_table()
            .table_name(table)
            .attribute_definitions(string_attribute(SESSION_USER)?)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(
                        CreateGlobalSecondaryIndexAction::builder()
                            .index_name(SESSIONS_BY_USER_INDEX)
                            .key_schema(hash_key(SESSION_USER)?)
                            .projection(keys_only())
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        Ok("added (being built; run this again to see it done)")
    }

    async fn sessions_index_status(&self, table: &str) -> Result<Option<IndexStatus>, StoreError> {
        let out = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        Ok(out
            .table()
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .find(|i| i.index_name() == Some(SESSIONS_BY_USER_INDEX))
            .map(|i| i.index_status().cloned().unwrap_or(IndexStatus::Active)))
    }

    async fn enable_ttl(&self, table: &str) -> Result<bool, StoreError> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        let status = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(false);
        }
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(backend)?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        Ok(true)
    }
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(backend)
}

fn hash_key(name: &str) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(KeyType::Hash)
        .build()
        .map_err(backend)
}

fn keys_only() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::KeysOnly)
        .build()
}
