//! Ops-session items in the tokens table, `OS#<token hash>`.

use super::codec::{get_n_opt, get_time, get_username, get_uuid, millis, n, s, ttl, Item};
use super::{classify, conditional, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::session::Session;
use crate::core::store::{SessionStore, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

pub(super) const PREFIX: &str = "OS#";

fn session_key(token_hash: &str) -> AttributeValue {
    AttributeValue::S(format!("{PREFIX}{token_hash}"))
}

fn session_from_item(token_hash: &str, item: &Item) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: token_hash.to_string(),
        username: get_username(item, "username")?,
        user_id: get_uuid(item, "user_id")?,
        token_version: get_n_opt(item, "token_version")?.map(|v| v as u64),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

impl SessionStore for DynamoStore {
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, session_key(&session.token_hash))
            .item("username", s(session.username.as_str()))
            .item("user_id", s(&session.user_id.to_string()))
            .item("created_at", millis(session.created_at))
            .item("expires_at", millis(session.expires_at))
            .item(TTL_ATTRIBUTE, ttl(session.expires_at));
        if let Some(v) = session.token_version {
            req = req.item("token_version", n(v as i64));
        }
        // The key is the hash of 256 random bits: a session there with the
        // same user and creation time is this put's own, retried.
        put_once(&self.tokens, req, |old| {
            get_uuid(old, "user_id").is_ok_and(|u| u == session.user_id)
                && get_time(old, "created_at").is_ok_and(|t| t == session.created_at)
        })
        .await
    }

    async fn touch_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        new_expiry: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .update_expression("SET expires_at = :e, #ttl = :ttl")
            .condition_expression("attribute_exists(#k) AND expires_at > :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":e", millis(new_expiry))
            .expression_attribute_values(":ttl", ttl(new_expiry))
            .expression_attribute_values(":now", millis(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional(&self.tokens, res)? {
            Some(out) => match out.attributes() {
                Some(item) => session_from_item(token_hash, item).map(Some),
                None => Err(StoreError::Corrupt(
                    "session update returned nothing".into(),
                )),
            },
            None => Ok(None),
        }
    }

    async fn end_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .condition_expression("attribute_exists(#k) AND expires_at > :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_values(":now", millis(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match conditional(&self.tokens, res)? {
            Some(out) => match out.attributes() {
                Some(item) => session_from_item(token_hash, item).map(Some),
                None => Err(StoreError::Corrupt(
                    "session delete returned nothing".into(),
                )),
            },
            None => Ok(None),
        }
    }

    async fn restamp_session(&self, token_hash: &str, version: u64) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .update_expression("SET token_version = :v")
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_values(":v", n(version as i64))
            .send()
            .await;
        Ok(conditional(&self.tokens, res)?.is_some())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(())
    }
}
