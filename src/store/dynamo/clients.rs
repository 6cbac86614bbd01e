//! OAuth client items in the tokens table, `CL#<client id>`, which never
//! expire (no `ttl`); and revoked access tokens, `AT#<jti>`, kept until the
//! token would have expired anyway.

use super::codec::{get_s, get_time, millis, s, ttl, Item};
use super::{classify, conditional, put_once, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::client::{Client, ClientId, GrantType, LogoutUris, RedirectUri, Scopes};
use crate::core::record::state::ClientState;
use crate::core::store::{AccessTokenStore, ClientStore, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

pub(super) const CLIENT_PREFIX: &str = "CL#";
pub(super) const REVOKED_PREFIX: &str = "AT#";
const SECRET_HASH: &str = "secret_hash";

pub(super) fn client_key(id: &ClientId) -> AttributeValue {
    AttributeValue::S(format!("{CLIENT_PREFIX}{id}"))
}

pub(super) fn revoked_key(jti: &str) -> AttributeValue {
    AttributeValue::S(format!("{REVOKED_PREFIX}{jti}"))
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("`{key}`: {e}"))
}

/// The attributes of a client a token check reads (not its secret's hash).
pub(super) const STATE_ATTRIBUTES: [&str; 3] = ["enabled", "audience", EXPIRES_AT];

/// When a self-registered client lapses unless used (and its `ttl`).
const EXPIRES_AT: &str = "expires_at";

fn expires_at(item: &Item) -> Result<Option<OffsetDateTime>, StoreError> {
    match item.get(EXPIRES_AT) {
        None => Ok(None),
        Some(_) => get_time(item, EXPIRES_AT).map(Some),
    }
}

/// A client as a token check reads it.
pub(super) fn client_state_from_item(item: &Item) -> Result<ClientState, StoreError> {
    Ok(ClientState {
        enabled: matches!(item.get("enabled"), Some(AttributeValue::Bool(true))),
        audience: match item.get("audience") {
            None => None,
            Some(_) => Some(get_s(item, "audience")?.to_string()),
        },
        expires_at: expires_at(item)?,
    })
}

/// The post-logout redirect URIs and the back-channel logout URI.
const POST_LOGOUT: &str = "post_logout_redirect_uris";
const BACKCHANNEL: &str = "backchannel_logout_uri";

/// A list of URIs; an absent one is empty.
fn uri_list(item: &Item, key: &str) -> Result<Vec<RedirectUri>, StoreError> {
    match item.get(key) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(u) => RedirectUri::parse(u).map_err(|e| corrupt(key, e)),
                _ => Err(corrupt(key, "holds a non-string")),
            })
            .collect(),
        Some(_) => Err(corrupt(key, "not a list")),
    }
}

fn uri_values(uris: &[RedirectUri]) -> AttributeValue {
    AttributeValue::L(uris.iter().map(|u| s(u.as_str())).collect())
}

pub(super) fn client_from_item(item: &Item) -> Result<Client, StoreError> {
    let key = get_s(item, TOKENS_KEY)?;
    let id = key
        .strip_prefix(CLIENT_PREFIX)
        .ok_or_else(|| corrupt(TOKENS_KEY, "not a client"))?;
    let grant_types = match item.get("grant_types") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(g) => {
                    GrantType::parse(g).ok_or_else(|| corrupt("grant_types", g))
                }
                _ => Err(corrupt("grant_types", "holds a non-string")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(corrupt("grant_types", "missing or not a list")),
    };
    // Clients registered before redirect URIs existed have none.
    let redirect_uris = uri_list(item, "redirect_uris")?;
    let post_logout_redirect_uris = uri_list(item, POST_LOGOUT)?;
    let backchannel = match item.get(BACKCHANNEL) {
        None => None,
        Some(_) => Some(
            RedirectUri::parse(get_s(item, BACKCHANNEL)?).map_err(|e| corrupt(BACKCHANNEL, e))?,
        ),
    };
    Ok(Client {
        logout: LogoutUris {
            post_logout_redirect_uris,
            backchannel,
        },
        require_mfa: matches!(item.get("require_mfa"), Some(AttributeValue::Bool(true))),
        require_dpop: matches!(item.get("require_dpop"), Some(AttributeValue::Bool(true))),
        redirect_uris,
        name: match item.get("name") {
            None => None,
            Some(_) => Some(get_s(item, "name")?.to_string()),
        },
        id: ClientId::parse(id).map_err(|e| corrupt(TOKENS_KEY, e))?,
        secret_hash: match item.get(SECRET_HASH) {
            None => None,
            Some(_) => Some(get_s(item, SECRET_HASH)?.to_string()),
        },
        grant_types,
        scopes: Scopes::parse(get_s(item, "scopes")?).map_err(|e| corrupt("scopes", e))?,
        audience: match item.get("audience") {
            None => None,
            Some(_) => Some(get_s(item, "audience")?.to_string()),
        },
        enabled: matches!(item.get("enabled"), Some(AttributeValue::Bool(true))),
        created_at: get_time(item, "created_at")?,
        third_party: matches!(item.get("third_party"), Some(AttributeValue::Bool(true))),
        expires_at: expires_at(item)?,
    })
}

pub(super) fn client_to_item(c: &Client) -> Item {
    let mut item = Item::new();
    item.insert(TOKENS_KEY.into(), client_key(&c.id));
    if let Some(h) = &c.secret_hash {
        item.insert(SECRET_HASH.into(), s(h));
    }
    item.insert(
        "grant_types".into(),
        AttributeValue::L(c.grant_types.iter().map(|g| s(g.as_str())).collect()),
    );
    item.insert("scopes".into(), s(&c.scopes.to_string()));
    if let Some(a) = &c.audience {
        item.insert("audience".into(), s(a));
    }
    if !c.redirect_uris.is_empty() {
        item.insert(
            "redirect_uris".into(),
            AttributeValue::L(c.redirect_uris.iter().map(|u| s(u.as_str())).collect()),
        );
    }
    if let Some(name) = &c.name {
        item.insert("name".into(), s(name));
    }
    if !c.logout.post_logout_redirect_uris.is_empty() {
        item.insert(
            POST_LOGOUT.into(),
            uri_values(&c.logout.post_logout_redirect_uris),
        );
    }
    if let Some(u) = &c.logout.backchannel {
        item.insert(BACKCHANNEL.into(), s(u.as_str()));
    }
    item.insert("enabled".into(), AttributeValue::Bool(c.enabled));
    item.insert("created_at".into(), millis(c.created_at));
    if c.require_mfa {
        item.insert("require_mfa".into(), AttributeValue::Bool(true));
    }
    if c.require_dpop {
        item.insert("require_dpop".into(), AttributeValue::Bool(true));
    }
    if c.third_party {
        item.insert("third_party".into(), AttributeValue::Bool(true));
    }
    if let Some(at) = c.expires_at {
        item.insert(EXPIRES_AT.into(), millis(at));
        item.insert(TTL_ATTRIBUTE.into(), ttl(at));
    }
    item
}

impl ClientStore for DynamoStore {
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, client_key(id))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(client_from_item).transpose()
    }
}

impl AccessTokenStore for DynamoStore {
    async fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, revoked_key(jti))
            .item("expires_at", millis(expires_at))
            .item(TTL_ATTRIBUTE, ttl(expires_at))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(())
    }

    async fn access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, revoked_key(jti))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(out.item().is_some())
    }
}

impl DynamoStore {
    pub(super) async fn create_client_item(&self, client: &Client) -> Result<(), StoreError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(client_to_item(client)));
        put_once(&self.tokens, req, |old| {
            get_time(old, "created_at").is_ok_and(|t| t == client.created_at)
        })
        .await
    }

    pub(super) async fn scan_clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut clients = self.scan_prefix(CLIENT_PREFIX, client_from_item).await?;
        clients.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(clients)
    }

    /// Replaces a confidential client's secret hash (a public one has none).
    pub(super) async fn set_client_secret_item(
        &self,
        id: &ClientId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        self.update_client(
            id,
            "SET secret_hash = :h",
            " AND attribute_exists(secret_hash)",
            &[(":h", s(hash))],
        )
        .await
    }

    pub(super) async fn set_client_enabled_item(
        &self,
        id: &ClientId,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        self.update_client(
            id,
            "SET enabled = :e",
            "",
            &[(":e", AttributeValue::Bool(enabled))],
        )
        .await
    }

    /// Replaces the client's logout URIs.
    pub(super) async fn set_client_logout_item(
        &self,
        id: &ClientId,
        logout: &LogoutUris,
    ) -> Result<bool, StoreError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut values = Vec::new();
        if logout.post_logout_redirect_uris.is_empty() {
            remove.push(POST_LOGOUT);
        } else {
            set.push(format!("{POST_LOGOUT} = :p"));
            values.push((":p", uri_values(&logout.post_logout_redirect_uris)));
        }
        match &logout.backchannel {
            None => remove.push(BACKCHANNEL),
            Some(u) => {
                set.push(format!("{BACKCHANNEL} = :b"));
                values.push((":b", s(u.as_str())));
            }
        }
        let mut update = String::new();
        if !set.is_empty() {
            update.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        self.update_client(id, update.trim(), "", &values).await
    }

    /// Updates an existing client only, so no update makes a partial one.
    pub(super) async fn update_client(
        &self,
        id: &ClientId,
        set: &str,
        extra_condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, client_key(id))
            .update_expression(set)
            .condition_expression(format!("attribute_exists(#k){extra_condition}"))
            .expression_attribute_names("#k", TOKENS_KEY);
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }

    pub(super) async fn delete_client_item(&self, id: &ClientId) -> Result<bool, StoreError> {
        self.delete_existing(client_key(id)).await
    }
}
