//! Authorization codes, `AC#<hash of the code>` in the tokens table. A code
//! may be redeemed for 60 seconds, but the item is kept a day (`ttl`), so a
//! code presented again later is still known as used and revokes its family.

use super::codec::{get_s, get_time, millis, s, ttl, Item};
use super::{classify, is_condition_failure, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::client::{ClientId, Scopes};
use crate::core::record::code::{CodeRedemption, Redemption, StoredCode};
use crate::core::record::token::FamilyId;
use crate::core::store::{CodeStore, StoreError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::Duration;

pub(super) const PREFIX: &str = "AC#";
/// How long a used or expired code is remembered.
const KEEP: Duration = Duration::days(1);
const REDEEMED_BY: &str = "redeemed_by";

fn code_key(hash: &str) -> AttributeValue {
    AttributeValue::S(format!("{PREFIX}{hash}"))
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("`{key}`: {e}"))
}

fn code_to_item(c: &StoredCode) -> Item {
    let mut item = Item::new();
    item.insert(TOKENS_KEY.into(), code_key(&c.hash));
    item.insert("client_id".into(), s(c.client_id.as_str()));
    item.insert("redirect_uri".into(), s(&c.redirect_uri));
    item.insert("code_challenge".into(), s(&c.code_challenge));
    item.insert("scope".into(), s(&c.scope.to_string()));
    if let Some(nonce) = &c.nonce {
        item.insert("nonce".into(), s(nonce));
    }
    item.insert("family".into(), s(&c.family.to_string()));
    item.insert("refresh_hash".into(), s(&c.refresh_hash));
    item.insert("expires_at".into(), millis(c.expires_at));
    item.insert(TTL_ATTRIBUTE.into(), ttl(c.expires_at + KEEP));
    item
}

fn code_from_item(item: &Item) -> Result<StoredCode, StoreError> {
    let key = get_s(item, TOKENS_KEY)?;
    let hash = key
        .strip_prefix(PREFIX)
        .ok_or_else(|| corrupt(TOKENS_KEY, "not a code"))?;
    Ok(StoredCode {
        hash: hash.to_string(),
        client_id: ClientId::parse(get_s(item, "client_id")?)
            .map_err(|e| corrupt("client_id", e))?,
        redirect_uri: get_s(item, "redirect_uri")?.to_string(),
        code_challenge: get_s(item, "code_challenge")?.to_string(),
        scope: Scopes::parse(get_s(item, "scope")?).map_err(|e| corrupt("scope", e))?,
        nonce: match item.get("nonce") {
            None => None,
            Some(_) => Some(get_s(item, "nonce")?.to_string()),
        },
        family: FamilyId::parse(get_s(item, "family")?)
            .ok_or_else(|| corrupt("family", "not a family id"))?,
        refresh_hash: get_s(item, "refresh_hash")?.to_string(),
        expires_at: get_time(item, "expires_at")?,
    })
}

impl CodeStore for DynamoStore {
    async fn put_code(&self, code: &StoredCode) -> Result<(), StoreError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(code_to_item(code)));
        put_once(&self.tokens, req, |old| {
            get_s(old, "family").is_ok_and(|f| f == code.family.to_string())
        })
        .await
    }

    async fn redeem_code(
        &self,
        hash: &str,
        r: &CodeRedemption<'_>,
    ) -> Result<Redemption, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, code_key(hash))
            .update_expression("SET #by = :attempt, redeemed_at = :now")
            .condition_expression(
                "attribute_exists(#k) AND attribute_not_exists(#by) AND expires_at > :now \
                 AND client_id = :client AND redirect_uri = :uri AND code_challenge = :challenge",
            )
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#by", REDEEMED_BY)
            .expression_attribute_values(":attempt", s(r.attempt))
            .expression_attribute_values(":now", millis(r.now))
            .expression_attribute_values(":client", s(r.client_id.as_str()))
            .expression_attribute_values(":uri", s(r.redirect_uri))
            .expression_attribute_values(":challenge", s(r.code_challenge))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => match out.attributes() {
                Some(item) => Ok(Redemption::Redeemed(code_from_item(item)?)),
                None => Err(StoreError::Corrupt("redemption returned nothing".into())),
            },
            Err(e) if is_condition_failure(&e) => {
                let old = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
                    _ => None,
                };
                let Some(old) = old else {
                    return Ok(Redemption::Refused);
                };
                match old.get(REDEEMED_BY) {
                    // This very write, applied once already: its answer was lost.
                    Some(AttributeValue::S(by)) if by == r.attempt => {
                        Ok(Redemption::Redeemed(code_from_item(old)?))
                    }
                    Some(_) => Ok(Redemption::Replayed(code_from_item(old)?)),
                    None => Ok(Redemption::Refused),
                }
            }
            Err(e) => Err(classify(&self.tokens, e)),
        }
    }
}
