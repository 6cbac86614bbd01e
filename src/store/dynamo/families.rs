//! Refresh-family items in the tokens table, `RF#<family id>`: the live
//! token's hash, a `generation` counting rotations, and the hashes of the
//! last [`CONSUMED_SLOTS`] consumed tokens in slots `c0`…`c15`, rotation `g`
//! writing slot `g mod 16`. The item's size and a rotation's write cost stay
//! the same however long the family lives. (Families written before slots
//! keep their `consumed` set; it is read, never grown.)

use super::codec::{
    get_n_opt, get_s, get_time, get_time_opt, get_username, get_uuid, millis, n, s, ttl, Item,
};
use super::{
    classify, conditional, is_condition_failure, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE,
};
use crate::core::record::browser::SessionLink;
use crate::core::record::client::{ClientId, Scopes};
use crate::core::record::family::{ClientBinding, FamilyAtRefusal, RefreshFamily, Rotation};
use crate::core::record::resource::ResourceUri;
use crate::core::record::state::FamilyState;
use crate::core::record::token::FamilyId;
use crate::core::store::{FamilyStore, StoreError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use time::OffsetDateTime;

/// The legacy set of every consumed hash.
const CONSUMED: &str = "consumed";
const REVOKED_AT: &str = "revoked_at";
const GENERATION: &str = "generation";
/// The OAuth client of the family and its granted scope (absent: a vendor dialect's).
const CLIENT_ID: &str = "client_id";
const SCOPE: &str = "scope";
/// The resource its access tokens are for (RFC 8707).
const RESOURCE: &str = "resource";
/// The DPoP key a public client's refresh tokens are bound to (RFC 9449).
const DPOP_JKT: &str = "dpop_jkt";
const ISSUED_VIA: &str = "issued_via";
/// The browser session it was issued in: its id, `auth_time` and `amr`.
const SESSION_ID: &str = "session_id";
const AUTH_TIME: &str = "auth_time";
const AMR: &str = "amr";

/// How many consumed tokens are remembered: reuse of any of the last 16
/// revokes the family; an older one is simply invalid.
pub const CONSUMED_SLOTS: u64 = 16;

fn slot(i: u64) -> String {
    format!("c{}", i % CONSUMED_SLOTS)
}

/// Revoke with a presented token: it is the live one or a remembered
/// consumed one. Built once per process.
fn revoke_condition() -> &'static str {
    static CONDITION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CONDITION.get_or_init(|| {
        let slots: Vec<String> = (0..CONSUMED_SLOTS)
            .map(|i| format!("{} = :h", slot(i)))
            .collect();
        format!(
            "attribute_exists(#k) AND attribute_not_exists(#revoked) \
             AND (token_hash = :h OR {} OR contains(#consumed, :h))",
            slots.join(" OR ")
        )
    })
}

/// Whether `hash` is one of the item's remembered consumed tokens.
fn holds_consumed(item: &Item, hash: &str) -> bool {
    let in_slots = (0..CONSUMED_SLOTS)
        .any(|i| matches!(item.get(&slot(i)), Some(AttributeValue::S(h)) if h == hash));
    in_slots
        || matches!(
            item.get(CONSUMED),
            Some(AttributeValue::Ss(set)) if set.iter().any(|h| h == hash)
        )
}

pub(super) const PREFIX: &str = "RF#";

pub(super) fn family_key(id: &FamilyId) -> AttributeValue {
    AttributeValue::S(format!("{PREFIX}{id}"))
}

pub(super) fn family_from_item(id: &FamilyId, item: &Item) -> Result<RefreshFamily, StoreError> {
    Ok(RefreshFamily {
        id: *id,
        username: get_username(item, "username")?,
        user_id: get_uuid(item, "user_id")?,
        token_hash: get_s(item, "token_hash")?.to_string(),
        token_version: get_n_opt(item, "token_version")?.map(|v| v as u64),
        generation: get_n_opt(item, GENERATION)?.unwrap_or(0) as u64,
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        revoked_at: get_time_opt(item, REVOKED_AT)?,
        issued_via: match item.get(ISSUED_VIA) {
            None => None,
            Some(_) => Some(get_s(item, ISSUED_VIA)?.to_string()),
        },
        session: match item.get(SESSION_ID) {
            None => None,
            Some(_) => Some(Box::new(SessionLink {
                id: get_s(item, SESSION_ID)?.to_string(),
                auth_time: get_time(item, AUTH_TIME)?,
                amr: match item.get(AMR) {
                    Some(AttributeValue::L(l)) => {
                        l.iter().filter_map(|a| a.as_s().ok().cloned()).collect()
                    }
                    _ => Vec::new(),
                },
            })),
        },
        client: match item.get(CLIENT_ID) {
            None => None,
            Some(_) => Some(ClientBinding {
                client_id: ClientId::parse(get_s(item, CLIENT_ID)?)
                    .map_err(|e| StoreError::Corrupt(format!("`{CLIENT_ID}`: {e}")))?,
                scope: Scopes::parse(get_s(item, SCOPE)?)
                    .map_err(|e| StoreError::Corrupt(format!("`{SCOPE}`: {e}")))?,
                resource: match item.get(RESOURCE) {
                    None => None,
                    Some(_) => Some(
                        ResourceUri::parse(get_s(item, RESOURCE)?)
                            .map_err(|e| StoreError::Corrupt(format!("`{RESOURCE}`: {e}")))?,
                    ),
                },
                dpop_jkt: match item.get(DPOP_JKT) {
                    None => None,
                    Some(_) => Some(get_s(item, DPOP_JKT)?.to_string()),
                },
            }),
        },
    })
}

/// The attributes of a family a token check reads (no token hashes).
pub(super) const STATE_ATTRIBUTES: [&str; 7] = [
    "user_id",
    "token_version",
    "created_at",
    "expires_at",
    REVOKED_AT,
    CLIENT_ID,
    ISSUED_VIA,
];

/// A family as a token check reads it.
pub(super) fn family_state_from_item(item: &Item) -> Result<FamilyState, StoreError> {
    Ok(FamilyState {
        user_id: get_uuid(item, "user_id")?,
        token_version: get_n_opt(item, "token_version")?.map(|v| v as u64),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        revoked_at: get_time_opt(item, REVOKED_AT)?,
        client_id: match item.get(CLIENT_ID) {
            None => None,
            Some(_) => Some(
                ClientId::parse(get_s(item, CLIENT_ID)?)
                    .map_err(|e| StoreError::Corrupt(format!("`{CLIENT_ID}`: {e}")))?,
            ),
        },
        issued_via: match item.get(ISSUED_VIA) {
            None => None,
            Some(_) => Some(get_s(item, ISSUED_VIA)?.to_string()),
        },
    })
}

/// What a refused rotation found, read from the item as it was.
fn found_at_refusal(item: &Item, presented_hash: &str) -> Result<FamilyAtRefusal, StoreError> {
    Ok(FamilyAtRefusal {
        presented_was_consumed: holds_consumed(item, presented_hash),
        revoked: item.contains_key(REVOKED_AT),
        expires_at: get_time(item, "expires_at")?,
        live_token_hash: get_s(item, "token_hash")?.to_string(),
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
            .item(GENERATION, n(f.generation as i64));
        if let Some(v) = f.token_version {
            req = req.item("token_version", n(v as i64));
        }
        if let Some(d) = &f.issued_via {
            req = req.item(ISSUED_VIA, s(d));
        }
        if let Some(c) = &f.client {
            req = req
                .item(CLIENT_ID, s(c.client_id.as_str()))
                .item(SCOPE, s(&c.scope.to_string()));
            if let Some(r) = &c.resource {
                req = req.item(RESOURCE, s(r.as_str()));
            }
            if let Some(k) = &c.dpop_jkt {
                req = req.item(DPOP_JKT, s(k));
            }
        }
        if let Some(link) = &f.session {
            req = req
                .item(SESSION_ID, s(&link.id))
                .item(AUTH_TIME, millis(link.auth_time))
                .item(
                    AMR,
                    AttributeValue::L(link.amr.iter().map(|m| s(m)).collect()),
                );
        }
        // A retry of this put finds the same family holding the same token.
        put_once(&self.tokens, req, |old| {
            get_s(old, "token_hash").is_ok_and(|h| h == f.token_hash)
        })
        .await
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
        generation: u64,
        bind: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        // A family written before generations has none: it is generation 0.
        let same_generation = if generation == 0 {
            "(attribute_not_exists(#g) OR #g = :g)"
        } else {
            "#g = :g"
        };
        let mut update = String::from("SET token_hash = :next, #g = :g1, #slot = :presented");
        if bind.is_some() {
            // Once bound, a family keeps its key.
            update.push_str(", #dpop = if_not_exists(#dpop, :jkt)");
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, family_key(id));
        if let Some(jkt) = bind {
            req = req
                .expression_attribute_names("#dpop", DPOP_JKT)
                .expression_attribute_values(":jkt", s(jkt));
        }
        let res = req
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists(#k) AND token_hash = :presented AND {same_generation} \
                 AND attribute_not_exists(#revoked) AND expires_at > :now"
            ))
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#g", GENERATION)
            .expression_attribute_names("#slot", slot(generation))
            .expression_attribute_names("#revoked", REVOKED_AT)
            .expression_attribute_values(":next", s(next_hash))
            .expression_attribute_values(":presented", s(presented_hash))
            .expression_attribute_values(":g", n(generation as i64))
            .expression_attribute_values(":g1", n(generation as i64 + 1))
            .expression_attribute_values(":now", millis(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match res {
            Ok(out) => match out.attributes() {
                Some(item) => {
                    // What the rotation cost, for the soak (scripts/soak.sh).
                    let units = out.consumed_capacity().and_then(|c| c.capacity_units());
                    tracing::debug!(write_units = units, generation = generation + 1, "rotated");
                    Ok(Rotation::Rotated(Box::new(family_from_item(id, item)?)))
                }
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
                .condition_expression(revoke_condition())
                .expression_attribute_names("#consumed", CONSUMED)
                .expression_attribute_values(":h", s(h)),
            None => {
                req.condition_expression("attribute_exists(#k) AND attribute_not_exists(#revoked)")
            }
        };
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }
}
