//! Creating the tables, with the keys and TTL setting of `template.yaml`
//! (for `token-admin tables create` and the tests).

use super::{backend, classify, error_code, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE, USERS_KEY};
use crate::core::store::StoreError;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus,
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
            report.push(format!(
                "{table}: {}, TTL on `{TTL_ATTRIBUTE}` {}",
                if created { "created" } else { "already exists" },
                if ttl { "enabled" } else { "already enabled" }
            ));
        }
        Ok(report)
    }

    async fn create_table(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let def = AttributeDefinition::builder()
            .attribute_name(key)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(backend)?;
        let schema = KeySchemaElement::builder()
            .attribute_name(key)
            .key_type(KeyType::Hash)
            .build()
            .map_err(backend)?;
        let res = self
            .client
            .create_table()
            .table_name(table)
            .attribute_definitions(def)
            .key_schema(schema)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(false),
            Err(e) => Err(classify(table, e)),
        }
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
