//! The DynamoDB adapter of the core's storage port.
//!
//! Users table, key `username`: one item per user ([`users`]).
//! Tokens table, key `pk`: `RF#<family>` refresh families ([`families`]),
//! `OS#<hash>` ops sessions ([`sessions`]), `TH#<key>` failure records
//! ([`throttle`]), `CL#<client id>` OAuth clients and `AT#<jti>` revoked
//! access tokens ([`clients`]), `AC#<hash>` authorization codes ([`codes`]), `BS#<hash>` browser sessions
//! ([`browser_sessions`]), `IT#<hash>` initial access tokens
//! ([`registration`]), `PK#`/`PC#` passkeys ([`passkeys`]), `RS#<uri>`
//! protected resources ([`resources`]), `CG#<user>#<client>` consents
//! ([`consents`]). Every expirable item carries `ttl` (epoch seconds) for
//! DynamoDB's TTL deletion, which is late, so reads check `expires_at`
//! themselves. [`codec`] turns values into attributes and back; [`provision`]
//! creates the tables.

mod browser_sessions;
mod clients;
pub mod codec;
mod codes;
mod consents;
mod devices;
mod dpop;
mod families;
mod passkeys;
pub mod provision;
mod registration;
mod resources;
mod sessions;
mod state;
mod throttle;
mod users;

pub use browser_sessions::{SESSIONS_BY_USER_INDEX, SESSION_USER};
pub use state::TOKEN_STATE_ATTRIBUTES;
pub use users::ACCOUNT_ATTRIBUTES;

use crate::core::store::{BoxError, StoreError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::Client;

pub const USERS_KEY: &str = "username";
pub const TOKENS_KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "ttl";
/// The key prefixes of the tokens table's items the function writes; of
/// the OAuth clients (`CL#`) it writes only the self-registered ones
/// (`CL#dyn-`), so its role may write nothing else.
pub const FUNCTION_WRITES: [&str; 14] = [
    families::PREFIX,
    browser_sessions::PREFIX,
    sessions::PREFIX,
    throttle::PREFIX,
    clients::REVOKED_PREFIX,
    codes::PREFIX,
    passkeys::OWNER_PREFIX,
    passkeys::CHALLENGE_PREFIX,
    registration::CLIENT_PREFIX,
    registration::DOCUMENT_CLIENT_PREFIX,
    consents::PREFIX,
    dpop::PREFIX,
    devices::DEVICE_PREFIX,
    devices::USER_CODE_PREFIX,
];

/// The two tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub tokens: String,
}

/// The store: one SDK client, built at cold start and shared by reference.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    users: String,
    tokens: String,
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self {
            client,
            users: tables.users,
            tokens: tables.tokens,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every tokens-table item whose key starts with `prefix`, read by
    /// `read`: a scan, for the admin tool only.
    async fn scan_prefix<T>(
        &self,
        prefix: &str,
        read: impl Fn(&codec::Item) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<codec::Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.tokens)
                .filter_expression("begins_with(#k, :p)")
                .expression_attribute_names("#k", TOKENS_KEY)
                .expression_attribute_values(":p", codec::s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(&self.tokens, e))?;
            for item in out.items() {
                found.push(read(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Deletes the tokens-table item `key`: `false` when there was none.
    async fn delete_existing(
        &self,
        key: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Result<bool, StoreError> {
        let req = self
            .client
            .delete_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key)
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", TOKENS_KEY);
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
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

impl DynamoStore {
    /// Writes `<prefix><hash>`, kept until `until`, unless it exists: `false`
    /// when it did (spent already). A single-use mark: passkey challenges,
    /// DPoP proofs.
    async fn spend_once(
        &self,
        prefix: &str,
        hash: &str,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Whose put it is, so the SDK's retry of a put that was applied
        // is not taken for a second spending.
        let mine = uuid::Uuid::new_v4().to_string();
        let mut item = codec::Item::new();
        item.insert(TOKENS_KEY.into(), codec::s(&format!("{prefix}{hash}")));
        item.insert("spent_by".into(), codec::s(&mine));
        item.insert(TTL_ATTRIBUTE.into(), codec::ttl(until));
        let req = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(item));
        match put_once(&self.tokens, req, |old| {
            old.get("spent_by").and_then(|v| v.as_s().ok()) == Some(&mine)
        })
        .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A put that must not overwrite (`attribute_not_exists`), and that the SDK
/// may send twice when an answer is lost: `Ok` when it was applied, or when
/// the item already there is this very put's (`is_ours` of the item the
/// failed condition returns), else [`StoreError::AlreadyExists`].
async fn put_once(
    table: &str,
    req: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    is_ours: impl FnOnce(&codec::Item) -> bool,
) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
    let res = req
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", TOKENS_KEY)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_condition_failure(&e) => {
            let old = match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => c.item(),
                _ => None,
            };
            if old.is_some_and(is_ours) {
                Ok(())
            } else {
                Err(StoreError::AlreadyExists)
            }
        }
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
    if unreachable {
        StoreError::Unreachable {
            backend: BACKEND,
            source: Box::new(err),
        }
    } else {
        backend(err)
    }
}

/// How store errors name this adapter for people.
const BACKEND: &str = "DynamoDB";

fn backend(err: impl Into<BoxError>) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        source: err.into(),
    }
}
