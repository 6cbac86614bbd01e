//! Refresh-family items in the tokens table, `RF#<family id>`: the live
//! token's hash and the set of consumed ones.

use super::codec::{get_n_opt, get_s, get_time, get_username, get_uuid, millis, n, s, ttl, Item};
use super::{classify, conditional, is_condition_failure, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::family::{FamilyAtRefusal, RefreshFamily, Rotation};
use crate::core::store::{FamilyStore, StoreError};
use crate::core::tokens::FamilyId;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;

const CONSUMED: &str = "consumed";
const REVOKED_AT: &str = "revoked_at";

fn family_key(id: &FamilyId) -> AttributeValue {
    AttributeValue::S(format!("RF#{id}"))
}

fn family_from_item(id: &FamilyId, item: &Item) -> Result<RefreshFamily, StoreError> {
    Ok(RefreshFamily {
        id: *id,
        username: get_username(item, "username")?,
        user_id: get_uuid(item, "user_id")?,
        token_hash: get_s(item, "token_hash")?.to_string(),
        token_version: get_n_opt(item, "token_version")?.map(|v| v as u64),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

/// What a refused rotation found, read from the item as it was.
fn found_at_refusal(item: &Item, presented_hash: &str) -> Result<FamilyAtRefusal, StoreError> {
    Ok(FamilyAtRefusal {
        presented_was_consumed: matches!(
            item.get(CONSUMED),
            Some(AttributeValue::Ss(set)) if set.iter().any(|h| h == presented_hash)
        ),
        revoked: item.contains_key(REVOKED_AT),
        expires_at: get_time(item, "expires_at")?,
    })
}

impl FamilyStore for DynamoStore {
    async fn put_refresh_family(&self, f: &RefreshFamily) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, family_key(&f.id))
            .item("username", s(f.username.as_str()))
            .item("user_id", s(&f.user_id.to_string()))
            .item("token_hash", s(&f.token_hash))
            .item("created_at", millis(f.created_at))
            .item("expires_at", millis(f.expires_at))
            .item(TTL_ATTRIBUTE, ttl(f.expires_at))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", TOKENS_KEY);
        if let Some(v) = f.token_version {
            req = req.item("token_version", n(v as i64));
        }
        conditional(&self.tokens, req.send().await)?
            .map(drop)
            .ok_or(StoreError::AlreadyExists)
    }

    async fn get_refresh_family(&self, id: &FamilyId) -> Result<Option<RefreshFamily>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, family_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item()
            .map(|item| family_from_item(id, item))
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        id: &FamilyId,
        presented_hash: &str,
        next_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, family_key(id))
            .update_expression("SET token_hash = :next ADD #consumed :old")
            .condition_expression(
                "attribute_exists(#k) AND token_hash = :presented \
                 AND attribute_not_exists(#revoked) AND expires_at > :now",
            )
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#consumed", CONSUMED)
            .expression_attribute_names("#revoked", REVOKED_AT)
            .expression_attribute_values(":next", s(next_hash))
            .expression_attribute_values(":presented", s(presented_hash))
            .expression_attribute_values(
                ":old",
                AttributeValue::Ss(vec![presented_hash.to_string()]),
            )
            .expression_attribute_values(":now", millis(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => match out.attributes() {
                Some(item) => Ok(Rotation::Rotated(family_from_item(id, item)?)),
                None => Err(StoreError::Corrupt("rotation returned nothing".into())),
            },
            Err(e) if is_condition_failure(&e) => {
                // The item as it was when the condition failed, so no second read races.
                let old = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
                    _ => None,
                };
                old.map(|item| found_at_refusal(item, presented_hash))
                    .transpose()
                    .map(Rotation::Refused)
            }
            Err(e) => Err(classify(&self.tokens, e)),
        }
    }

    async fn revoke_family(
        &self,
        id: &FamilyId,
        presented_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, family_key(id))
            .update_expression("SET #revoked = :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#revoked", REVOKED_AT)
            .expression_attribute_values(":now", millis(now));
        req = match presented_hash {
            Some(h) => req
                .condition_expression(
                    "attribute_exists(#k) AND attribute_not_exists(#revoked) \
                     AND (token_hash = :h OR contains(#consumed, :h))",
                )
                .expression_attribute_names("#consumed", CONSUMED)
                .expression_attribute_values(":h", s(h)),
            None => {
                req.condition_expression("attribute_exists(#k) AND attribute_not_exists(#revoked)")
            }
        };
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }
}
