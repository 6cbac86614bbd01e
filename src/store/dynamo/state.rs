//! A token's state in one request: a consistent `BatchGetItem` over both
//! tables for its family, user, client and revocation record.

use super::clients::{client_key, client_state_from_item, revoked_key};
use super::codec::user_key;
use super::codec::{self, get_s, Item};
use super::families::{family_key, family_state_from_item};
use super::resources::resource_key;
use super::users::{account_from_item, account_projection};
use super::{backend, classify, DynamoStore, TOKENS_KEY, USERS_KEY};
use crate::core::store::{StoreError, TokenState, TokenStateQuery, TokenStateStore};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;

/// Every attribute of the tokens table a token check reads: the key, a
/// family's and a client's state. The authorizer's role in template.yaml
/// may read these and no others (no token or secret hash).
pub const TOKEN_STATE_ATTRIBUTES: [&str; 10] = [
    TOKENS_KEY,
    super::families::STATE_ATTRIBUTES[0],
    super::families::STATE_ATTRIBUTES[1],
    super::families::STATE_ATTRIBUTES[2],
    super::families::STATE_ATTRIBUTES[3],
    super::families::STATE_ATTRIBUTES[4],
    super::families::STATE_ATTRIBUTES[5],
    super::families::STATE_ATTRIBUTES[6],
    super::clients::STATE_ATTRIBUTES[0],
    super::clients::STATE_ATTRIBUTES[1],
];

/// `ProjectionExpression` and its names for [`TOKEN_STATE_ATTRIBUTES`],
/// made once per process.
fn token_state_projection() -> &'static codec::Projection {
    static P: std::sync::LazyLock<codec::Projection> =
        std::sync::LazyLock::new(|| codec::projection(&TOKEN_STATE_ATTRIBUTES));
    &P
}

/// Unprocessed keys (throttling) are asked for again this many times.
const ATTEMPTS: usize = 3;

impl TokenStateStore for DynamoStore {
    async fn token_state(&self, q: TokenStateQuery<'_>) -> Result<TokenState, StoreError> {
        let mut token_keys: Vec<Item> = Vec::new();
        if let Some(f) = q.family {
            token_keys.push(HashMap::from([(TOKENS_KEY.to_string(), family_key(f))]));
        }
        if let Some(c) = q.client {
            token_keys.push(HashMap::from([(TOKENS_KEY.to_string(), client_key(c))]));
        }
        if let Some(j) = q.revoked_jti {
            token_keys.push(HashMap::from([(TOKENS_KEY.to_string(), revoked_key(j))]));
        }
        if let Some(r) = q.resource {
            token_keys.push(HashMap::from([(TOKENS_KEY.to_string(), resource_key(r))]));
        }
        let mut request: HashMap<String, KeysAndAttributes> = HashMap::new();
        if !token_keys.is_empty() {
            let (projection, names) = token_state_projection();
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(token_keys))
                .projection_expression(projection.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            request.insert(self.tokens.clone(), keys);
        }
        if let Some(u) = q.user {
            let (projection, names) = account_projection();
            let keys = KeysAndAttributes::builder()
                .keys(HashMap::from([(USERS_KEY.to_string(), user_key(u))]))
                .projection_expression(projection.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            request.insert(self.users.clone(), keys);
        }
        let mut state = TokenState::default();
        for _ in 0..ATTEMPTS {
            if request.is_empty() {
                return Ok(state);
            }
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| classify(&self.tokens, e))?;
            for (table, items) in out.responses().into_iter().flatten() {
                for item in items {
                    if *table == self.users {
                        state.user = Some(account_from_item(item)?);
                        continue;
                    }
                    let key = get_s(item, TOKENS_KEY)?;
                    if key.starts_with(super::families::PREFIX) {
                        if q.family.is_some() {
                            state.family = Some(family_state_from_item(item)?);
                        }
                    } else if key.starts_with(super::clients::REVOKED_PREFIX) {
                        state.jti_revoked = true;
                    } else if key.starts_with(super::resources::PREFIX) {
                        state.resource_registered = true;
                    } else {
                        state.client = Some(client_state_from_item(item)?);
                    }
                }
            }
            request = out.unprocessed_keys().cloned().unwrap_or_default();
        }
        if request.is_empty() {
            Ok(state)
        } else {
            Err(backend(
                "BatchGetItem left keys unprocessed after 3 attempts (throttled)",
            ))
        }
    }
}
