//! Browser sessions, `BS#<hash of the cookie>` in the tokens table. The item
//! lives until its absolute end (`ttl`); idle expiry and log out are read
//! from its fields.

use super::codec::{
    get_n, get_s, get_time, get_time_opt, get_username, get_uuid, millis, n, s, ttl, Item,
};
use super::{conditional, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::browser::{BrowserSession, SignInAgain};
use crate::core::record::client::ClientId;
use crate::core::record::token::FamilyId;
use crate::core::store::{BrowserSessionStore, StoreError};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) const PREFIX: &str = "BS#";
/// The index of browser sessions by user, and its key: the user's id, on
/// `BS#` items only. It projects keys alone, so a session's updates
/// (which never change its user) never write to it.
pub const SESSIONS_BY_USER_INDEX: &str = "sessions_by_user";
pub const SESSION_USER: &str = "session_user";
const CLIENTS: &str = "clients";
const FAMILIES: &str = "families";
const ENDED_AT: &str = "ended_at";

fn session_key(token_hash: &str) -> AttributeValue {
    AttributeValue::S(format!("{PREFIX}{token_hash}"))
}

fn strings(item: &Item, key: &str) -> Vec<String> {
    match item.get(key) {
        Some(AttributeValue::Ss(v)) | Some(AttributeValue::Ns(v)) => v.clone(),
        Some(AttributeValue::L(v)) => v.iter().filter_map(|a| a.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    }
}

fn from_item(token_hash: &str, item: &Item) -> Result<BrowserSession, StoreError> {
    let clients = strings(item, CLIENTS)
        .iter()
        .map(|c| ClientId::parse(c).map_err(|e| StoreError::Corrupt(format!("`{CLIENTS}`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let families = strings(item, FAMILIES)
        .iter()
        .map(|f| {
            FamilyId::parse(f)
                .ok_or_else(|| StoreError::Corrupt(format!("`{FAMILIES}`: not a family id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BrowserSession {
        families,
        token_hash: token_hash.to_string(),
        id: get_s(item, "session_id")?.to_string(),
        user_id: get_uuid(item, "user_id")?,
        username: get_username(item, "username")?,
        token_version: get_n(item, "token_version")? as u64,
        auth_time: get_time(item, "auth_time")?,
        // A list, so the order of the methods is kept.
        amr: strings(item, "amr"),
        clients,
        created_at: get_time(item, "created_at")?,
        idle_until: get_time(item, "idle_until")?,
        expires_at: get_time(item, "expires_at")?,
        ended_at: get_time_opt(item, ENDED_AT)?,
    })
}

fn returned(token_hash: &str, item: Option<&Item>) -> Result<BrowserSession, StoreError> {
    match item {
        Some(item) => from_item(token_hash, item),
        None => Err(StoreError::Corrupt(
            "a browser-session write returned nothing".into(),
        )),
    }
}

impl BrowserSessionStore for DynamoStore {
    async fn put_browser_session(&self, b: &BrowserSession) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, session_key(&b.token_hash))
            .item("session_id", s(&b.id))
            .item("user_id", s(&b.user_id.to_string()))
            .item(SESSION_USER, s(&b.user_id.to_string()))
            .item("username", s(b.username.as_str()))
            .item("token_version", n(b.token_version as i64))
            .item("auth_time", millis(b.auth_time))
            .item(
                "amr",
                AttributeValue::L(b.amr.iter().map(|m| s(m)).collect()),
            )
            .item("created_at", millis(b.created_at))
            .item("idle_until", millis(b.idle_until))
            .item("expires_at", millis(b.expires_at))
            .item(TTL_ATTRIBUTE, ttl(b.expires_at));
        if !b.families.is_empty() {
            req = req.item(
                FAMILIES,
                AttributeValue::Ss(b.families.iter().map(|f| f.to_string()).collect()),
            );
        }
        if !b.clients.is_empty() {
            req = req.item(
                CLIENTS,
                AttributeValue::Ss(b.clients.iter().map(|c| c.as_str().to_string()).collect()),
            );
        }
        // The key is the hash of 256 random bits: a session there with the
        // same id is this put's own, retried.
        put_once(&self.tokens, req, |old| {
            get_s(old, "session_id").is_ok_and(|id| id == b.id)
        })
        .await
    }

    async fn get_browser_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify(&self.tokens, e))?;
        out.item().map(|i| from_item(token_hash, i)).transpose()
    }

    async fn use_browser_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
        client: &ClientId,
        family: &FamilyId,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let req = self
            .live_session_update(token_hash, now, "SET idle_until = :i ADD #c :c, #f :f", "")
            .expression_attribute_values(":i", millis(idle_until))
            .expression_attribute_values(":c", one(client.as_str()))
            .expression_attribute_values(":f", one(&family.to_string()))
            .return_values(ReturnValue::AllNew);
        self.written(token_hash, req.send().await)
    }

    async fn reauthenticate_browser_session(
        &self,
        token_hash: &str,
        again: &SignInAgain<'_>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let req = self
            .live_session_update(
                token_hash,
                again.at,
                "SET auth_time = :now, amr = :amr, idle_until = :i ADD #c :c, #f :f",
                " AND token_version = :v",
            )
            .expression_attribute_values(
                ":amr",
                AttributeValue::L(again.amr.iter().map(|m| s(m)).collect()),
            )
            .expression_attribute_values(":i", millis(again.idle_until))
            .expression_attribute_values(":v", n(again.token_version as i64))
            .expression_attribute_values(":c", one(again.client.as_str()))
            .expression_attribute_values(":f", one(&again.family.to_string()))
            .return_values(ReturnValue::AllNew);
        self.written(token_hash, req.send().await)
    }

    async fn end_browser_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let req = self
            .live_session_update(token_hash, now, "SET #e = :now", "")
            .return_values(ReturnValue::AllOld);
        self.written(token_hash, req.send().await)
    }

    async fn user_browser_sessions(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<BrowserSession>, StoreError> {
        let hashes = self.session_hashes_of(user_id).await?;
        let reads = hashes.iter().map(|h| self.get_browser_session(h));
        let mut sessions = Vec::with_capacity(hashes.len());
        for read in futures_util::future::join_all(reads).await {
            // One gone since the query (its TTL passed) is simply not listed.
            sessions.extend(read?.filter(|s| s.user_id == user_id));
        }
        sessions.sort_by_key(|s| s.created_at);
        Ok(sessions)
    }
}

/// A string set of one value (`#c` and `#f` grow by `ADD`).
fn one(value: &str) -> AttributeValue {
    AttributeValue::Ss(vec![value.to_string()])
}

impl DynamoStore {
    /// An update of the session under `token_hash` that holds only while it
    /// is live at `now` (`:now`; stored, not ended, neither idle nor past
    /// its end) and `extra_condition` holds. `#k`, `#e`, `#c` and `#f` name
    /// the key, `ended_at`, the clients and the families.
    fn live_session_update(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        update: &str,
        extra_condition: &str,
    ) -> UpdateItemFluentBuilder {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists(#k) AND attribute_not_exists(#e) \
                 AND idle_until > :now AND expires_at > :now{extra_condition}"
            ))
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#e", ENDED_AT)
            .expression_attribute_values(":now", millis(now));
        if update.contains("#c") {
            req = req
                .expression_attribute_names("#c", CLIENTS)
                .expression_attribute_names("#f", FAMILIES);
        }
        req
    }

    /// The session a conditional update returned; `None` when its
    /// condition failed.
    fn written<R: std::fmt::Debug + Send + Sync + 'static>(
        &self,
        token_hash: &str,
        res: Result<UpdateItemOutput, SdkError<UpdateItemError, R>>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        match conditional(&self.tokens, res)? {
            Some(out) => returned(token_hash, out.attributes()).map(Some),
            None => Ok(None),
        }
    }
}

impl DynamoStore {
    /// The keys of every stored browser session of `user_id`, from the
    /// sparse index of sessions by user (only `BS#` items carry its key).
    async fn session_hashes_of(&self, user_id: Uuid) -> Result<Vec<String>, StoreError> {
        let mut hashes = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tokens)
                .index_name(SESSIONS_BY_USER_INDEX)
                .key_condition_expression("#u = :u")
                .expression_attribute_names("#u", SESSION_USER)
                .expression_attribute_values(":u", s(&user_id.to_string()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| super::classify(&self.tokens, e))?;
            for item in out.items() {
                if let Some(hash) = get_s(item, TOKENS_KEY)?.strip_prefix(PREFIX) {
                    hashes.push(hash.to_string());
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(hashes)
    }
}
