//! User items in the users table, keyed by the normalised username.

use super::codec::{
    get_n, get_n_opt, get_s, get_time, get_time_opt, get_username, get_uuid, millis, n, s,
    user_key, Item,
};
use super::{classify, conditional, DynamoStore, USERS_KEY};
use crate::core::record::client::{Client, ClientId, LogoutUris};
use crate::core::record::consent::Consent;
use crate::core::record::factor::Factors;
use crate::core::record::registration::InitialAccessToken;
use crate::core::record::resource::{Resource, ResourceUri};
use crate::core::record::throttle::Throttle;
use crate::core::record::user::{Account, User, Username};
use crate::core::store::{AdminStore, FactorStore, StoreError, TotpEnrolment, UserStore};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;
use uuid::Uuid;

/// Every attribute of a user item but the password hash: what
/// [`UserStore::get_account`] and token checks read. The authorizer's role in
/// template.yaml may read these and no others.
pub const ACCOUNT_ATTRIBUTES: [&str; 16] = [
    USERS_KEY,
    "id",
    "full_name",
    "email",
    "role",
    "roles",
    "customer_id",
    "auth_source",
    "enabled",
    "created_at",
    "last_login_at",
    "password_changed_at",
    "tokens_revoked_at",
    "token_version",
    "mfa_required",
    "password_only",
];

/// The attributes of a user's second factors (API §13): never in
/// [`ACCOUNT_ATTRIBUTES`], so only the function's log in reads them.
const TOTP_SEALED: &str = "totp_sealed";
const TOTP_LAST_STEP: &str = "totp_last_step";
const RECOVERY: &str = "recovery_codes";
const FACTORS_AT: &str = "factors_enrolled_at";

/// `ProjectionExpression` and its names for [`ACCOUNT_ATTRIBUTES`], made
/// once per process.
pub(super) fn account_projection() -> &'static super::codec::Projection {
    static P: std::sync::LazyLock<super::codec::Projection> =
        std::sync::LazyLock::new(|| super::codec::projection(&ACCOUNT_ATTRIBUTES));
    &P
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
    item.insert("token_version".into(), n(u.token_version as i64));
    // Policy flags only when set, as the update that sets them writes them.
    for (name, set) in [
        ("mfa_required", u.mfa_required),
        ("password_only", u.password_only),
    ] {
        if set {
            item.insert(name.into(), AttributeValue::Bool(true));
        }
    }
    let f = &u.factors;
    if let Some(sealed) = &f.totp_sealed {
        item.insert(TOTP_SEALED.into(), AttributeValue::B(sealed.clone().into()));
    }
    if let Some(step) = f.totp_last_step {
        item.insert(TOTP_LAST_STEP.into(), n(step as i64));
    }
    if !f.recovery.is_empty() {
        item.insert(RECOVERY.into(), AttributeValue::Ss(f.recovery.clone()));
    }
    if let Some(at) = f.enrolled_at {
        item.insert(FACTORS_AT.into(), millis(at));
    }
    if let Some(keys) = super::passkeys::passkeys_value(&f.passkeys) {
        item.insert(super::passkeys::PASSKEYS.into(), keys);
    }
    item
}

pub(super) fn user_from_item(item: &Item) -> Result<User, StoreError> {
    let totp_sealed = match item.get(TOTP_SEALED) {
        None => None,
        Some(AttributeValue::B(b)) => Some(b.clone().into_inner()),
        Some(_) => return Err(StoreError::Corrupt(format!("`{TOTP_SEALED}` is not bytes"))),
    };
    let recovery = match item.get(RECOVERY) {
        None => Vec::new(),
        Some(AttributeValue::Ss(set)) => set.clone(),
        Some(_) => {
            return Err(StoreError::Corrupt(format!(
                "`{RECOVERY}` is not a string set"
            )))
        }
    };
    Ok(User {
        account: account_from_item(item)?,
        password_hash: get_s(item, "password_hash")?.to_string(),
        factors: Factors {
            totp_sealed,
            totp_last_step: get_n_opt(item, TOTP_LAST_STEP)?.map(|s| s as u64),
            recovery,
            enrolled_at: get_time_opt(item, FACTORS_AT)?,
            passkeys: super::passkeys::passkeys_from_item(item)?,
        },
    })
}

pub(super) fn account_from_item(item: &Item) -> Result<Account, StoreError> {
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
    Ok(Account {
        id: get_uuid(item, "id")?,
        username: get_username(item, USERS_KEY)?,
        full_name: get_s(item, "full_name")?.to_string(),
        email: get_s(item, "email")?.to_string(),
        role: get_n(item, "role")?,
        roles,
        customer_id: get_uuid(item, "customer_id")?,
        auth_source: get_s(item, "auth_source")?.to_string(),
        enabled: matches!(item.get("enabled"), Some(AttributeValue::Bool(true))),
        created_at: get_time(item, "created_at")?,
        last_login_at: get_time_opt(item, "last_login_at")?,
        password_changed_at: get_time(item, "password_changed_at")?,
        tokens_revoked_at: get_time_opt(item, "tokens_revoked_at")?,
        token_version: get_n_opt(item, "token_version")?.unwrap_or(0) as u64,
        mfa_required: matches!(item.get("mfa_required"), Some(AttributeValue::Bool(true))),
        password_only: matches!(item.get("password_only"), Some(AttributeValue::Bool(true))),
    })
}

impl DynamoStore {
    /// Updates a user item only if it exists, so no write can resurrect a user
    /// deleted meanwhile as a partial item. The attributes it set, or `None`
    /// when there was no such user.
    async fn update_existing_user(
        &self,
        username: &Username,
        update: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .update_expression(update)
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", USERS_KEY)
            .return_values(ReturnValue::UpdatedNew);
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        Ok(conditional(&self.users, req.send().await)?
            .map(|out| out.attributes.unwrap_or_default()))
    }

    /// An update that also raises the user's token version; the new version.
    async fn revoke_tokens_with(
        &self,
        username: &Username,
        set: &str,
        mut values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<u64>, StoreError> {
        values.push((":one", n(1)));
        let update = format!("SET {set} ADD token_version :one");
        match self.update_existing_user(username, &update, values).await? {
            Some(item) => Ok(Some(get_n(&item, "token_version")? as u64)),
            None => Ok(None),
        }
    }
}

impl UserStore for DynamoStore {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.users, e))?;
        out.item().map(user_from_item).transpose()
    }

    async fn get_account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        let (projection, names) = account_projection();
        let out = self
            .client
            .get_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .projection_expression(projection.clone())
            .set_expression_attribute_names(Some(names.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.users, e))?;
        out.item().map(account_from_item).transpose()
    }

    async fn record_login(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .update_existing_user(username, "SET last_login_at = :t", vec![(":t", millis(at))])
            .await?
            .is_some())
    }

    async fn set_password(
        &self,
        username: &Username,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<Option<u64>, StoreError> {
        // tokens_revoked_at still ends families and sessions older than versions.
        self.revoke_tokens_with(
            username,
            "password_hash = :h, password_changed_at = :t, tokens_revoked_at = :t",
            vec![(":h", s(password_hash)), (":t", millis(at))],
        )
        .await
    }

    async fn replace_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .update_expression("SET password_hash = :new")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(old))
            .send()
            .await;
        Ok(conditional(&self.users, res)?.is_some())
    }
}

impl DynamoStore {
    /// A conditional update of the user `username` that holds only while it
    /// is still the user `user_id` (not deleted and made again) and
    /// `condition` holds; whether it was made.
    async fn update_factors(
        &self,
        username: &Username,
        user_id: Uuid,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .update_expression(update)
            .condition_expression(format!("id = :id AND {condition}"))
            .expression_attribute_values(":id", s(&user_id.to_string()));
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        Ok(conditional(&self.users, req.send().await)?.is_some())
    }
}

impl FactorStore for DynamoStore {
    async fn enrol_totp(
        &self,
        username: &Username,
        user_id: Uuid,
        enrolment: &TotpEnrolment<'_>,
    ) -> Result<bool, StoreError> {
        let mut values = vec![
            (":t", AttributeValue::B(enrolment.sealed.to_vec().into())),
            (":s", n(enrolment.step as i64)),
            (":at", millis(enrolment.at)),
        ];
        // DynamoDB stores no empty set: no codes is no attribute.
        let recovery = if enrolment.recovery.is_empty() {
            format!(" REMOVE {RECOVERY}")
        } else {
            values.push((":r", AttributeValue::Ss(enrolment.recovery.to_vec())));
            format!(", {RECOVERY} = :r")
        };
        self.update_factors(
            username,
            user_id,
            &format!("SET {TOTP_SEALED} = :t, {TOTP_LAST_STEP} = :s, {FACTORS_AT} = :at{recovery}"),
            &format!("attribute_not_exists({TOTP_SEALED})"),
            values,
        )
        .await
    }

    async fn use_totp_step(
        &self,
        username: &Username,
        user_id: Uuid,
        step: u64,
    ) -> Result<bool, StoreError> {
        self.update_factors(
            username,
            user_id,
            &format!("SET {TOTP_LAST_STEP} = :s"),
            &format!(
                "attribute_exists({TOTP_SEALED}) AND \
                 (attribute_not_exists({TOTP_LAST_STEP}) OR {TOTP_LAST_STEP} < :s)"
            ),
            vec![(":s", n(step as i64))],
        )
        .await
    }

    async fn use_recovery_code(
        &self,
        username: &Username,
        user_id: Uuid,
        hash: &str,
    ) -> Result<bool, StoreError> {
        self.update_factors(
            username,
            user_id,
            &format!("DELETE {RECOVERY} :set"),
            &format!("contains({RECOVERY}, :h)"),
            vec![
                (":set", AttributeValue::Ss(vec![hash.to_string()])),
                (":h", s(hash)),
            ],
        )
        .await
    }
}

impl AdminStore for DynamoStore {
    async fn reset_factors(&self, username: &Username) -> Result<bool, StoreError> {
        Ok(self
            .update_existing_user(
                username,
                &format!(
                    "REMOVE {TOTP_SEALED}, {TOTP_LAST_STEP}, {RECOVERY}, {FACTORS_AT}, {}",
                    super::passkeys::PASSKEYS
                ),
                vec![],
            )
            .await?
            .is_some())
    }

    async fn set_factor_policy(
        &self,
        username: &Username,
        mfa_required: Option<bool>,
        password_only: Option<bool>,
    ) -> Result<bool, StoreError> {
        let mut set = Vec::new();
        let mut values = Vec::new();
        for (name, value, placeholder) in [
            ("mfa_required", mfa_required, ":m"),
            ("password_only", password_only, ":p"),
        ] {
            if let Some(v) = value {
                set.push(format!("{name} = {placeholder}"));
                values.push((placeholder, AttributeValue::Bool(v)));
            }
        }
        if set.is_empty() {
            return Ok(self.get_account(username).await?.is_some());
        }
        Ok(self
            .update_existing_user(username, &format!("SET {}", set.join(", ")), values)
            .await?
            .is_some())
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        self.create_client_item(client).await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.scan_clients().await
    }

    async fn set_client_logout(
        &self,
        id: &ClientId,
        logout: &LogoutUris,
    ) -> Result<bool, StoreError> {
        self.set_client_logout_item(id, logout).await
    }

    async fn set_client_requirements(
        &self,
        id: &ClientId,
        require_mfa: bool,
        require_dpop: bool,
    ) -> Result<bool, StoreError> {
        self.update_client(
            id,
            "SET require_mfa = :m, require_dpop = :d",
            "",
            &[
                (":m", AttributeValue::Bool(require_mfa)),
                (":d", AttributeValue::Bool(require_dpop)),
            ],
        )
        .await
    }

    async fn set_client_secret(&self, id: &ClientId, hash: &str) -> Result<bool, StoreError> {
        self.set_client_secret_item(id, hash).await
    }

    async fn set_client_enabled(&self, id: &ClientId, enabled: bool) -> Result<bool, StoreError> {
        self.set_client_enabled_item(id, enabled).await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        self.delete_client_item(id).await
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

    async fn set_enabled(
        &self,
        username: &Username,
        enabled: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if enabled {
            Ok(self
                .update_existing_user(
                    username,
                    "SET enabled = :e",
                    vec![(":e", AttributeValue::Bool(true))],
                )
                .await?
                .is_some())
        } else {
            Ok(self
                .revoke_tokens_with(
                    username,
                    "enabled = :e, tokens_revoked_at = :t",
                    vec![(":e", AttributeValue::Bool(false)), (":t", millis(at))],
                )
                .await?
                .is_some())
        }
    }

    async fn revoke_tokens(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .revoke_tokens_with(username, "tokens_revoked_at = :t", vec![(":t", millis(at))])
            .await?
            .is_some())
    }

    async fn delete_user(&self, username: &Username) -> Result<bool, StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.users)
            .key(USERS_KEY, user_key(username))
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", USERS_KEY)
            .send()
            .await;
        Ok(conditional(&self.users, res)?.is_some())
    }

    async fn throttle_records(&self, owner: &str) -> Result<Vec<(String, Throttle)>, StoreError> {
        self.scan_throttle_records(owner).await
    }

    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.delete_throttle_record(key).await
    }

    async fn create_initial_access_token(
        &self,
        token: &InitialAccessToken,
    ) -> Result<(), StoreError> {
        self.put_initial_access_token(token).await
    }

    async fn list_initial_access_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        self.scan_initial_access_tokens().await
    }

    async fn delete_initial_access_token(&self, hash: &str) -> Result<bool, StoreError> {
        self.delete_initial_access_token_item(hash).await
    }

    async fn create_resource(&self, resource: &Resource) -> Result<(), StoreError> {
        self.put_resource(resource).await
    }

    async fn list_resources(&self) -> Result<Vec<Resource>, StoreError> {
        self.scan_resources().await
    }

    async fn delete_resource(&self, uri: &ResourceUri) -> Result<bool, StoreError> {
        self.delete_resource_item(uri).await
    }

    async fn list_consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError> {
        self.scan_consents(user_id).await
    }

    async fn withdraw_consent(&self, user_id: Uuid, client: &ClientId) -> Result<bool, StoreError> {
        self.delete_consent_item(user_id, client).await
    }
}
