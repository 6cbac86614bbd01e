//! Failed-log-in records in the tokens table, `TH#<throttle key>`: consecutive
//! `failures` (attempts counted, including those still being checked),
//! `lockouts` so far, `locked_until`, `expires_at`, and `owner`, the key of
//! the username the record belongs to (for the admin tool).

use super::codec::{get_n, get_s, get_time, get_time_opt, millis, n, s, ttl, Item};
use super::{classify, conditional, is_condition_failure, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::throttle::{AttemptLimit, Throttle};
use crate::core::store::{Reservation, StoreError, ThrottleStore};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;

pub(super) const PREFIX: &str = "TH#";

fn throttle_key(key: &str) -> AttributeValue {
    AttributeValue::S(format!("{PREFIX}{key}"))
}

fn throttle_from_item(item: &Item) -> Result<Throttle, StoreError> {
    Ok(Throttle {
        failures: get_n(item, "failures").unwrap_or(0),
        lockouts: get_n(item, "lockouts").unwrap_or(0),
        locked_until: get_time_opt(item, "locked_until")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

/// A counting update's outcome: the record counted, or as it was when the
/// condition refused it.
fn reservation(
    table: &str,
    res: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        aws_sdk_dynamodb::error::SdkError<
            UpdateItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<Reservation, StoreError> {
    match res {
        Ok(out) => match out.attributes() {
            Some(item) => throttle_from_item(item).map(Reservation::Counted),
            None => Err(StoreError::Corrupt("attempt count returned nothing".into())),
        },
        Err(e) if is_condition_failure(&e) => {
            let old = match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
                _ => None,
            };
            match old {
                Some(item) => throttle_from_item(item).map(Reservation::Refused),
                None => Err(StoreError::Corrupt("refused count returned nothing".into())),
            }
        }
        Err(e) => Err(classify(table, e)),
    }
}

impl ThrottleStore for DynamoStore {
    async fn reserve_attempt(
        &self,
        key: &str,
        owner: &str,
        limit: AttemptLimit,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            // Names are aliased: several of these are DynamoDB reserved words.
            .update_expression("SET #exp = :e, #ttl = :ttl, #o = :owner ADD #f :one, #l :zero")
            .condition_expression(
                "attribute_not_exists(#k) OR (#exp > :now \
                 AND (attribute_not_exists(#u) OR #u <= :now) \
                 AND ((#l = :zero AND #f < :first) OR (#l > :zero AND #f < :later)))",
            )
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#o", "owner")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#l", "lockouts")
            .expression_attribute_names("#u", "locked_until")
            .expression_attribute_values(":e", millis(expires_at))
            .expression_attribute_values(":ttl", ttl(expires_at))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", millis(now))
            .expression_attribute_values(":first", n(limit.first))
            .expression_attribute_values(":later", n(limit.later))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        reservation(&self.tokens, res)
    }

    async fn reserve_in_window(
        &self,
        key: &str,
        owner: &str,
        limit: i64,
        now: OffsetDateTime,
        window_end: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .update_expression(
                "SET #exp = if_not_exists(#exp, :e), #ttl = if_not_exists(#ttl, :ttl), \
                 #o = :owner ADD #f :one",
            )
            .condition_expression("attribute_not_exists(#k) OR (#exp > :now AND #f < :limit)")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#o", "owner")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_values(":e", millis(window_end))
            .expression_attribute_values(":ttl", ttl(window_end))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", millis(now))
            .expression_attribute_values(":limit", n(limit))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        reservation(&self.tokens, res)
    }

    async fn restart_attempts(
        &self,
        key: &str,
        owner: &str,
        stale: &Throttle,
        expires_at: OffsetDateTime,
    ) -> Result<Option<Throttle>, StoreError> {
        let fresh = Throttle {
            failures: 1,
            lockouts: 0,
            locked_until: None,
            expires_at,
        };
        let res = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, throttle_key(key))
            .item("owner", s(owner))
            .item("failures", n(fresh.failures))
            .item("lockouts", n(fresh.lockouts))
            .item("expires_at", millis(expires_at))
            .item(TTL_ATTRIBUTE, ttl(expires_at))
            .condition_expression("#exp = :stale")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":stale", millis(stale.expires_at))
            .send()
            .await;
        Ok(conditional(&self.tokens, res)?.map(|_| fresh))
    }

    async fn uncount_attempt(&self, key: &str) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .update_expression("ADD #f :minus")
            .condition_expression("#f > :zero")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        // Nothing to take back (a lock reset the count, or the record is gone): fine.
        conditional(&self.tokens, res).map(drop)
    }

    async fn clear_after_success(&self, key: &str, counted: &Throttle) -> Result<(), StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, throttle_key(key))
            .condition_expression("#f = :f AND #l = :l")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#l", "lockouts")
            .expression_attribute_values(":f", n(counted.failures))
            .expression_attribute_values(":l", n(counted.lockouts))
            .send()
            .await;
        match conditional(&self.tokens, res)? {
            Some(_) => Ok(()),
            // Counted meanwhile: keep those, take back only this attempt.
            None => self.uncount_attempt(key).await,
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
}

impl DynamoStore {
    pub(super) async fn scan_throttle_records(
        &self,
        owner: &str,
    ) -> Result<Vec<(String, Throttle)>, StoreError> {
        let mut records = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.tokens)
                .consistent_read(true)
                .filter_expression("begins_with(#k, :prefix) AND #o = :owner")
                .expression_attribute_names("#k", TOKENS_KEY)
                .expression_attribute_names("#o", "owner")
                .expression_attribute_values(":prefix", s(PREFIX))
                .expression_attribute_values(":owner", s(owner))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(&self.tokens, e))?;
            for item in out.items() {
                let key = get_s(item, TOKENS_KEY)?
                    .strip_prefix(PREFIX)
                    .unwrap_or_default()
                    .to_string();
                records.push((key, throttle_from_item(item)?));
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(records)
    }

    pub(super) async fn delete_throttle_record(&self, key: &str) -> Result<(), StoreError> {
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
