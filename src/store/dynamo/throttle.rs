//! Failed-log-in records in the tokens table, `TH#<throttle key>`.

use super::codec::{get_n, get_time, get_time_opt, millis, n, ttl, Item};
use super::{classify, conditional, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::store::{StoreError, ThrottleStore};
use crate::core::throttle::Throttle;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

fn throttle_key(key: &str) -> AttributeValue {
    AttributeValue::S(format!("TH#{key}"))
}

fn throttle_from_item(item: &Item) -> Result<Throttle, StoreError> {
    Ok(Throttle {
        failures: get_n(item, "failures").unwrap_or(0),
        lockouts: get_n(item, "lockouts").unwrap_or(0),
        locked_until: get_time_opt(item, "locked_until")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

impl ThrottleStore for DynamoStore {
    async fn get_throttle(&self, key: &str) -> Result<Option<Throttle>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(throttle_from_item).transpose()
    }

    async fn record_failure(
        &self,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<Throttle, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            // Names are aliased: several of these are DynamoDB reserved words.
            .update_expression("SET #exp = :e, #ttl = :ttl ADD #f :one, #l :zero")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#l", "lockouts")
            .expression_attribute_values(":e", millis(expires_at))
            .expression_attribute_values(":ttl", ttl(expires_at))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        match out.attributes() {
            Some(item) => throttle_from_item(item),
            None => Err(StoreError::Corrupt("failure count returned nothing".into())),
        }
    }

    async fn lock_throttle(
        &self,
        key: &str,
        min_failures: i64,
        now: OffsetDateTime,
        until: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .update_expression("SET #u = :until, #f = :zero, #exp = :e, #ttl = :ttl ADD #l :one")
            .condition_expression("#f >= :min AND (attribute_not_exists(#u) OR #u <= :now)")
            .expression_attribute_names("#u", "locked_until")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#l", "lockouts")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":until", millis(until))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":min", n(min_failures))
            .expression_attribute_values(":now", millis(now))
            .expression_attribute_values(":e", millis(expires_at))
            .expression_attribute_values(":ttl", ttl(expires_at))
            .send()
            .await;
        Ok(conditional(&self.tokens, res)?.is_some())
    }

    async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(())
    }
}
