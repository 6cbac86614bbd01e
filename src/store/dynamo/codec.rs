//! Values to DynamoDB attributes and back. Times are stored as epoch
//! milliseconds; `ttl` as epoch seconds, as DynamoDB's TTL wants.

use crate::core::clock::{epoch_millis, from_epoch_millis};
use crate::core::record::user::Username;
use crate::core::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn millis(t: OffsetDateTime) -> AttributeValue {
    n(epoch_millis(t))
}

pub fn ttl(t: OffsetDateTime) -> AttributeValue {
    n(t.unix_timestamp())
}

pub fn get_s<'a>(item: &'a Item, key: &str) -> Result<&'a str, StoreError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "`{key}` is missing or not a string"
        ))),
    }
}

pub fn get_n(item: &Item, key: &str) -> Result<i64, StoreError> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("`{key}` is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "`{key}` is missing or not a number"
        ))),
    }
}

/// An optional number: absent is `None`, present but malformed is an error.
pub fn get_n_opt(item: &Item, key: &str) -> Result<Option<i64>, StoreError> {
    match item.get(key) {
        Some(_) => get_n(item, key).map(Some),
        None => Ok(None),
    }
}

pub fn get_time(item: &Item, key: &str) -> Result<OffsetDateTime, StoreError> {
    get_n(item, key).map(from_epoch_millis)
}

/// An optional time: absent is `None`, present but malformed is an error.
pub fn get_time_opt(item: &Item, key: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    match item.get(key) {
        Some(_) => get_time(item, key).map(Some),
        None => Ok(None),
    }
}

pub fn get_uuid(item: &Item, key: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(get_s(item, key)?)
        .map_err(|_| StoreError::Corrupt(format!("`{key}` is not a UUID")))
}

pub fn get_username(item: &Item, key: &str) -> Result<Username, StoreError> {
    Username::parse(get_s(item, key)?).map_err(|e| StoreError::Corrupt(format!("`{key}`: {e}")))
}

/// `ProjectionExpression` and its names for `attributes` (some are reserved
/// words, so all go by placeholder).
pub type Projection = (String, std::collections::HashMap<String, String>);

pub fn projection(attributes: &[&str]) -> Projection {
    let names = attributes
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("#a{i}"), a.to_string()))
        .collect();
    let expr = (0..attributes.len())
        .map(|i| format!("#a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (expr, names)
}

/// A user item's key: the normalised username.
pub fn user_key(username: &crate::core::record::user::Username) -> AttributeValue {
    s(username.as_str())
}
