//! Passkeys (API §13). Each user's are a map on the user item, `passkeys`,
//! keyed by the credential id (base64url); each credential id also has an
//! item of its own in the tokens table, `PK#<id>`, naming the user, since a
//! passkey sign-in names only its credential. Spent sign-in challenges are
//! `PC#<hash>` there, kept until a day after they expire.
//!
//! A credential item outlives a reset or a deleted user; it then names a
//! user without that passkey, and a sign-in with it fails at the user.

use super::codec::user_key;
use super::codec::{get_username, millis, n, s, Item};
use super::{classify, conditional, put_once, DynamoStore, TOKENS_KEY, USERS_KEY};
use crate::core::record::passkey::{Passkey, Used};
use crate::core::record::user::Username;
use crate::core::store::{PasskeyStore, StoreError, MAX_PASSKEYS};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The user item's map of passkeys.
pub(super) const PASSKEYS: &str = "passkeys";
pub(super) const OWNER_PREFIX: &str = "PK#";
pub(super) const CHALLENGE_PREFIX: &str = "PC#";
const SIGN_COUNT: &str = "sign_count";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("`{PASSKEYS}`: {what}"))
}

pub(super) fn passkey_value(p: &Passkey) -> AttributeValue {
    let mut m = HashMap::from([
        ("alg".to_string(), n(p.alg)),
        (
            "public_key".to_string(),
            AttributeValue::B(p.public_key.clone().into()),
        ),
        (SIGN_COUNT.to_string(), n(i64::from(p.sign_count))),
        ("be".to_string(), AttributeValue::Bool(p.backup_eligible)),
        ("bs".to_string(), AttributeValue::Bool(p.backed_up)),
        ("created_at".to_string(), millis(p.created_at)),
    ]);
    if let Some(at) = p.last_used_at {
        m.insert("last_used_at".into(), millis(at));
    }
    AttributeValue::M(m)
}

fn passkey_from(id: &str, value: &AttributeValue) -> Result<Passkey, StoreError> {
    let m = value.as_m().map_err(|_| corrupt("not a map"))?;
    let num = |k: &str| -> Result<Option<i64>, StoreError> {
        match m.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_n()
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Some)
                .ok_or_else(|| corrupt(k)),
        }
    };
    let flag = |k: &str| m.get(k).and_then(|v| v.as_bool().ok()).copied();
    let time = |ms: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| corrupt("a time"))
    };
    Ok(Passkey {
        id: URL_SAFE_NO_PAD
            .decode(id)
            .map_err(|_| corrupt("a credential id"))?,
        alg: num("alg")?.ok_or_else(|| corrupt("alg"))?,
        public_key: m
            .get("public_key")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| corrupt("public_key"))?,
        sign_count: num(SIGN_COUNT)?
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| corrupt(SIGN_COUNT))?,
        backup_eligible: flag("be").ok_or_else(|| corrupt("be"))?,
        backed_up: flag("bs").ok_or_else(|| corrupt("bs"))?,
        created_at: time(num("created_at")?.ok_or_else(|| corrupt("created_at"))?)?,
        last_used_at: num("last_used_at")?.map(time).transpose()?,
    })
}

/// A user item's passkeys, in no order.
pub(super) fn passkeys_from_item(item: &Item) -> Result<Vec<Passkey>, StoreError> {
    let Some(value) = item.get(PASSKEYS) else {
        return Ok(Vec::new());
    };
    let m = value.as_m().map_err(|_| corrupt("not a map"))?;
    m.iter().map(|(id, v)| passkey_from(id, v)).collect()
}

/// The user item's passkeys as one map, for a whole-item put.
pub(super) fn passkeys_value(keys: &[Passkey]) -> Option<AttributeValue> {
    (!keys.is_empty()).then(|| {
        AttributeValue::M(
            keys.iter()
                .map(|p| (p.id_text(), passkey_value(p)))
                .collect(),
        )
    })
}

fn owner_key(id: &[u8]) -> AttributeValue {
    s(&format!("{OWNER_PREFIX}{}", URL_SAFE_NO_PAD.encode(id)))
}

impl DynamoStore {
    /// Adds the passkey to the user's map: into a map there is, or as the
    /// first; `false` when neither holds (taken, full, or no such user).
    async fn add_to_user(
        &self,
        username: &Username,
        user_id: Uuid,
        passkey: &Passkey,
    ) -> Result<bool, StoreError> {
        for first in [false, true, false] {
            let req = self
                .client
                .update_item()
                .table_name(&self.users)
                .key(USERS_KEY, user_key(username))
                .expression_attribute_names("#p", PASSKEYS)
                .expression_attribute_values(":id", s(&user_id.to_string()));
            let req = if first {
                req.update_expression("SET #p = :all")
                    .condition_expression("id = :id AND attribute_not_exists(#p)")
                    .expression_attribute_values(
                        ":all",
                        AttributeValue::M(HashMap::from([(
                            passkey.id_text(),
                            passkey_value(passkey),
                        )])),
                    )
            } else {
                req.update_expression("SET #p.#c = :one")
                    .condition_expression(
                        "id = :id AND attribute_exists(#p) AND attribute_not_exists(#p.#c) \
                         AND size(#p) < :max",
                    )
                    .expression_attribute_names("#c", passkey.id_text())
                    .expression_attribute_values(":one", passkey_value(passkey))
                    .expression_attribute_values(":max", n(MAX_PASSKEYS as i64))
            };
            if conditional(&self.users, req.send().await)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl PasskeyStore for DynamoStore {
    async fn add_passkey(
        &self,
        username: &Username,
        user_id: Uuid,
        passkey: &Passkey,
    ) -> Result<bool, StoreError> {
        // The credential's own item first: its condition is what keeps one
        // credential id to one user.
        // Which put made it: a retry of this one is ours, the same
        // credential registered again (by anyone) is not.
        let mine = Uuid::new_v4().to_string();
        let mut item = Item::new();
        item.insert(TOKENS_KEY.into(), owner_key(&passkey.id));
        item.insert("username".into(), user_key(username));
        item.insert("user_id".into(), s(&user_id.to_string()));
        item.insert("put_by".into(), s(&mine));
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(item));
        let owned = put_once(&self.tokens, req, |old| {
            old.get("put_by").and_then(|v| v.as_s().ok()) == Some(&mine)
        })
        .await;
        match owned {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => return Ok(false),
            Err(e) => return Err(e),
        }
        if self.add_to_user(username, user_id, passkey).await? {
            return Ok(true);
        }
        // Not added: the credential's item goes again, best effort (one
        // left behind names a user without the passkey, and is inert).
        let _ = self
            .client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, owner_key(&passkey.id))
            .send()
            .await;
        Ok(false)
    }

    async fn passkey_owner(&self, id: &[u8]) -> Result<Option<Username>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, owner_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item()
            .map(|item| get_username(item, "username"))
            .transpose()
    }

    async fn use_passkey(
        &self,
        username: &Username,
        user_id: Uuid,
        id: &[u8],
        from: u32,
        used: Used,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .update_expression("SET #p.#c.#n = :new, #p.#c.bs = :bs, #p.#c.last_used_at = :at")
            .condition_expression("id = :id AND #p.#c.#n = :from")
            .expression_attribute_names("#p", PASSKEYS)
            .expression_attribute_names("#c", URL_SAFE_NO_PAD.encode(id))
            .expression_attribute_names("#n", SIGN_COUNT)
            .expression_attribute_values(":id", s(&user_id.to_string()))
            .expression_attribute_values(":new", n(i64::from(used.sign_count)))
            .expression_attribute_values(":from", n(i64::from(from)))
            .expression_attribute_values(":bs", AttributeValue::Bool(used.backed_up))
            .expression_attribute_values(":at", millis(at))
            .send()
            .await;
        Ok(conditional(&self.users, res)?.is_some())
    }

    async fn spend_challenge(
        &self,
        hash: &str,
        expires: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.spend_once(CHALLENGE_PREFIX, hash, expires + Duration::days(1))
            .await
    }
}
