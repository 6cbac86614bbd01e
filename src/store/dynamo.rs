//! The DynamoDB implementation of [`Store`].
//!
//! Users table, key `username`: one item per user.
//! Tokens table, key `pk`: `RF#<family>` refresh families and `OS#<hash>` ops
//! sessions. Every expirable item carries `ttl` (epoch seconds) for DynamoDB's
//! TTL deletion, which is late, so reads check `expires_at` themselves.

use super::{BoxError, RefreshFamily, Rotation, Session, Store, StoreError};
use crate::config::StoreConfig;
use crate::core::clock::{epoch_millis, from_epoch_millis};
use crate::core::throttle::Throttle;
use crate::core::tokens::FamilyId;
use crate::core::user::{User, Username};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

type Item = HashMap<String, AttributeValue>;

pub const USERS_KEY: &str = "username";
pub const TOKENS_KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "ttl";

/// The store: one SDK client, built at cold start and shared by reference.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    users: String,
    tokens: String,
}

impl DynamoStore {
    pub fn new(client: Client, config: &StoreConfig) -> Self {
        Self {
            client,
            users: config.users_table.clone(),
            tokens: config.tokens_table.clone(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates both tables with the keys and TTL setting of `template.yaml`;
    /// tables that exist are left as they are. Returns a line per table.
    pub async fn create_tables(&self) -> Result<Vec<String>, StoreError> {
        let mut report = Vec::new();
        for (table, key) in [(&self.users, USERS_KEY), (&self.tokens, TOKENS_KEY)] {
            let created = self.create_table(table, key).await?;
            self.wait_active(table).await?;
            let ttl = self.enable_ttl(table).await?;
            report.push(format!(
                "{table}: {}, TTL on `{TTL_ATTRIBUTE}` {}",
                if created { "created" } else { "already exists" },
                if ttl { "enabled" } else { "already enabled" }
            ));
        }
        Ok(report)
    }

    async fn create_table(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let def = AttributeDefinition::builder()
            .attribute_name(key)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let schema = KeySchemaElement::builder()
            .attribute_name(key)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let res = self
            .client
            .create_table()
            .table_name(table)
            .attribute_definitions(def)
            .key_schema(schema)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(false),
            Err(e) => Err(classify(table, e)),
        }
    }

    async fn wait_active(&self, table: &str) -> Result<(), StoreError> {
        for _ in 0..60 {
            let out = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| classify(table, e))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Backend(
            format!("table {table} did not become ACTIVE within 30 s").into(),
        ))
    }

    async fn enable_ttl(&self, table: &str) -> Result<bool, StoreError> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        let status = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(false);
        }
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| classify(table, e))?;
        Ok(true)
    }

    /// Updates a user item only if it exists, so no write can resurrect a user
    /// deleted meanwhile as a partial item. `false` when there was none.
    async fn update_existing_user<const N: usize>(
        &self,
        username: &Username,
        update: &str,
        values: [(&str, AttributeValue); N],
    ) -> Result<bool, StoreError> {
        let (k, v) = Self::user_key(username);
        let mut req = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(k, v)
            .update_expression(update)
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", USERS_KEY);
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        Ok(conditional(&self.users, req.send().await)?.is_some())
    }

    fn user_key(username: &Username) -> (String, AttributeValue) {
        (USERS_KEY.to_string(), s(username.as_str()))
    }
}

fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    error_code(err) == Some("ConditionalCheckFailedException")
}

/// A conditional write's outcome: `Some(output)` if its condition held, `None`
/// if it did not; any other failure is classified.
fn conditional<T, E, R>(
    table: &str,
    res: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(out) => Ok(Some(out)),
        Err(e) if is_condition_failure(&e) => Ok(None),
        Err(e) => Err(classify(table, e)),
    }
}

/// Turns an SDK error into a store error that keeps it as the source.
fn classify<E, R>(table: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if error_code(&err) == Some("ResourceNotFoundException") {
        return StoreError::MissingTable(table.to_string());
    }
    let unreachable = matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    );
    let boxed: BoxError = Box::new(err);
    if unreachable {
        StoreError::Unreachable(boxed)
    } else {
        StoreError::Backend(boxed)
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn millis(t: OffsetDateTime) -> AttributeValue {
    n(epoch_millis(t))
}

fn ttl(t: OffsetDateTime) -> AttributeValue {
    n(t.unix_timestamp())
}

fn get_s<'a>(item: &'a Item, key: &str) -> Result<&'a str, StoreError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "`{key}` is missing or not a string"
        ))),
    }
}

fn get_n(item: &Item, key: &str) -> Result<i64, StoreError> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("`{key}` is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "`{key}` is missing or not a number"
        ))),
    }
}

fn get_time(item: &Item, key: &str) -> Result<OffsetDateTime, StoreError> {
    get_n(item, key).map(from_epoch_millis)
}

fn get_uuid(item: &Item, key: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(get_s(item, key)?)
        .map_err(|_| StoreError::Corrupt(format!("`{key}` is not a UUID")))
}

fn get_username(item: &Item, key: &str) -> Result<Username, StoreError> {
    Username::parse(get_s(item, key)?).map_err(|e| StoreError::Corrupt(format!("`{key}`: {e}")))
}

fn user_to_item(u: &User) -> Item {
    let mut item = Item::new();
    item.insert(USERS_KEY.into(), s(u.username.as_str()));
    item.insert("id".into(), s(&u.id.to_string()));
    item.insert("password_hash".into(), s(&u.password_hash));
    item.insert("full_name".into(), s(&u.full_name));
    item.insert("email".into(), s(&u.email));
    item.insert("role".into(), n(u.role));
    item.insert(
        "roles".into(),
        AttributeValue::L(u.roles.iter().map(|r| s(r)).collect()),
    );
    item.insert("customer_id".into(), s(&u.customer_id.to_string()));
    item.insert("auth_source".into(), s(&u.auth_source));
    item.insert("enabled".into(), AttributeValue::Bool(u.enabled));
    item.insert("created_at".into(), millis(u.created_at));
    item.insert("password_changed_at".into(), millis(u.password_changed_at));
    if let Some(t) = u.last_login_at {
        item.insert("last_login_at".into(), millis(t));
    }
    if let Some(t) = u.tokens_revoked_at {
        item.insert("tokens_revoked_at".into(), millis(t));
    }
    item
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    let roles = match item.get("roles") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(r) => Ok(r.clone()),
                _ => Err(StoreError::Corrupt("`roles` holds a non-string".into())),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
        _ => return Err(StoreError::Corrupt("`roles` is not a list".into())),
    };
    Ok(User {
        id: get_uuid(item, "id")?,
        username: get_username(item, USERS_KEY)?,
        password_hash: get_s(item, "password_hash")?.to_string(),
        full_name: get_s(item, "full_name")?.to_string(),
        email: get_s(item, "email")?.to_string(),
        role: get_n(item, "role")?,
        roles,
        customer_id: get_uuid(item, "customer_id")?,
        auth_source: get_s(item, "auth_source")?.to_string(),
        enabled: matches!(item.get("enabled"), Some(AttributeValue::Bool(true))),
        created_at: get_time(item, "created_at")?,
        last_login_at: match item.get("last_login_at") {
            Some(_) => Some(get_time(item, "last_login_at")?),
            None => None,
        },
        password_changed_at: get_time(item, "password_changed_at")?,
        tokens_revoked_at: match item.get("tokens_revoked_at") {
            Some(_) => Some(get_time(item, "tokens_revoked_at")?),
            None => None,
        },
    })
}

fn family_key(id: &FamilyId) -> AttributeValue {
    AttributeValue::S(format!("RF#{id}"))
}

fn family_from_item(id: &FamilyId, item: &Item) -> Result<RefreshFamily, StoreError> {
    Ok(RefreshFamily {
        id: *id,
        username: get_username(item, "username")?,
        user_id: get_uuid(item, "user_id")?,
        token_hash: get_s(item, "token_hash")?.to_string(),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

fn holds_consumed(item: &Item, hash: &str) -> bool {
    matches!(item.get("consumed"), Some(AttributeValue::Ss(set)) if set.iter().any(|h| h == hash))
}

fn throttle_key(key: &str) -> AttributeValue {
    AttributeValue::S(format!("TH#{key}"))
}

fn throttle_from_item(item: &Item) -> Result<Throttle, StoreError> {
    Ok(Throttle {
        failures: get_n(item, "failures").unwrap_or(0),
        lockouts: get_n(item, "lockouts").unwrap_or(0),
        locked_until: match item.get("locked_until") {
            Some(_) => Some(get_time(item, "locked_until")?),
            None => None,
        },
        expires_at: get_time(item, "expires_at")?,
    })
}

fn session_key(token_hash: &str) -> AttributeValue {
    AttributeValue::S(format!("OS#{token_hash}"))
}

fn session_from_item(token_hash: &str, item: &Item) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: token_hash.to_string(),
        username: get_username(item, "username")?,
        user_id: get_uuid(item, "user_id")?,
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

impl Store for DynamoStore {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let (k, v) = Self::user_key(username);
        let out = self
            .client
            .get_item()
            .table_name(&self.users)
            .key(k, v)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.users, e))?;
        out.item().map(user_from_item).transpose()
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.users)
            .set_item(Some(user_to_item(user)))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", USERS_KEY)
            .send()
            .await;
        conditional(&self.users, res)?
            .map(drop)
            .ok_or(StoreError::AlreadyExists)
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.users)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(&self.users, e))?;
            for item in out.items() {
                users.push(user_from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        users.sort_by(|a, b| a.username.as_str().cmp(b.username.as_str()));
        Ok(users)
    }

    async fn set_password(
        &self,
        username: &Username,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update_existing_user(
            username,
            "SET password_hash = :h, password_changed_at = :t, tokens_revoked_at = :t",
            [(":h", s(password_hash)), (":t", millis(at))],
        )
        .await
    }

    async fn set_enabled(
        &self,
        username: &Username,
        enabled: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if enabled {
            self.update_existing_user(
                username,
                "SET enabled = :e",
                [(":e", AttributeValue::Bool(true))],
            )
            .await
        } else {
            self.update_existing_user(
                username,
                "SET enabled = :e, tokens_revoked_at = :t",
                [(":e", AttributeValue::Bool(false)), (":t", millis(at))],
            )
            .await
        }
    }

    async fn replace_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let (k, v) = Self::user_key(username);
        let res = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(k, v)
            .update_expression("SET password_hash = :new")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(old))
            .send()
            .await;
        Ok(conditional(&self.users, res)?.is_some())
    }

    async fn delete_user(&self, username: &Username) -> Result<bool, StoreError> {
        let (k, v) = Self::user_key(username);
        let res = self
            .client
            .delete_item()
            .table_name(&self.users)
            .key(k, v)
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", USERS_KEY)
            .send()
            .await;
        Ok(conditional(&self.users, res)?.is_some())
    }

    async fn record_login(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update_existing_user(username, "SET last_login_at = :t", [(":t", millis(at))])
            .await
    }

    async fn put_refresh_family(&self, f: &RefreshFamily) -> Result<(), StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, family_key(&f.id))
            .item("kind", s("refresh_family"))
            .item("username", s(f.username.as_str()))
            .item("user_id", s(&f.user_id.to_string()))
            .item("token_hash", s(&f.token_hash))
            .item("generation", n(0))
            .item("created_at", millis(f.created_at))
            .item("expires_at", millis(f.expires_at))
            .item(TTL_ATTRIBUTE, ttl(f.expires_at))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", TOKENS_KEY)
            .send()
            .await;
        conditional(&self.tokens, res)?
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
            .update_expression(
                "SET token_hash = :next, generation = generation + :one ADD #consumed :old",
            )
            .condition_expression(
                "attribute_exists(#k) AND token_hash = :presented \
                 AND attribute_not_exists(revoked_at) AND expires_at > :now",
            )
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_names("#consumed", "consumed")
            .expression_attribute_values(":next", s(next_hash))
            .expression_attribute_values(":presented", s(presented_hash))
            .expression_attribute_values(
                ":old",
                AttributeValue::Ss(vec![presented_hash.to_string()]),
            )
            .expression_attribute_values(":one", n(1))
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
                let old = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                    _ => None,
                });
                let consumed = old.as_ref().is_some_and(|item| {
                    holds_consumed(item, presented_hash)
                        && !item.contains_key("revoked_at")
                        && get_n(item, "expires_at").is_ok_and(|e| e > epoch_millis(now))
                });
                Ok(Rotation::Refused { consumed })
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
            .update_expression("SET revoked_at = :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_values(":now", millis(now));
        req = match presented_hash {
            Some(h) => req
                .condition_expression(
                    "attribute_exists(#k) AND attribute_not_exists(revoked_at) \
                     AND (token_hash = :h OR contains(#consumed, :h))",
                )
                .expression_attribute_names("#consumed", "consumed")
                .expression_attribute_values(":h", s(h)),
            None => req
                .condition_expression("attribute_exists(#k) AND attribute_not_exists(revoked_at)"),
        };
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }

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

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, session_key(&session.token_hash))
            .item("kind", s("ops_session"))
            .item("username", s(session.username.as_str()))
            .item("user_id", s(&session.user_id.to_string()))
            .item("created_at", millis(session.created_at))
            .item("expires_at", millis(session.expires_at))
            .item(TTL_ATTRIBUTE, ttl(session.expires_at))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", TOKENS_KEY)
            .send()
            .await;
        conditional(&self.tokens, res)?
            .map(drop)
            .ok_or(StoreError::AlreadyExists)
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

    async fn end_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, session_key(token_hash))
            .condition_expression("attribute_exists(#k) AND expires_at > :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            .expression_attribute_values(":now", millis(now))
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
