//! Users and the newtypes that parse what identifies them.

use super::factor::Factors;
use std::fmt;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// Longest username accepted, in bytes after normalisation.
pub const MAX_USERNAME_BYTES: usize = 256;

/// A username in its normal form: Unicode NFC, then lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("the username is empty")]
    Empty,
    #[error("the username is longer than {MAX_USERNAME_BYTES} bytes")]
    TooLong,
    #[error("the username contains a control character")]
    ControlCharacter,
    #[error("the username starts or ends with white space")]
    Whitespace,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let normal: String = raw.nfc().collect::<String>().to_lowercase();
        if normal.is_empty() {
            return Err(UsernameError::Empty);
        }
        if normal.len() > MAX_USERNAME_BYTES {
            return Err(UsernameError::TooLong);
        }
        if normal.chars().any(char::is_control) {
            return Err(UsernameError::ControlCharacter);
        }
        if normal.trim() != normal {
            return Err(UsernameError::Whitespace);
        }
        Ok(Self(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username as typed at log in, normalised once: a valid [`Username`], or
/// the normal form of one that cannot exist (still throttled like any other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginName {
    Valid(Username),
    Invalid(String),
}

impl LoginName {
    pub fn parse(raw: &str) -> Self {
        match Username::parse(raw) {
            Ok(name) => Self::Valid(name),
            Err(_) => Self::Invalid(raw.nfc().collect::<String>().to_lowercase()),
        }
    }

    pub fn username(&self) -> Option<&Username> {
        match self {
            Self::Valid(name) => Some(name),
            Self::Invalid(_) => None,
        }
    }

    /// The normal form, valid or not.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Valid(name) => name.as_str(),
            Self::Invalid(raw) => raw,
        }
    }
}

pub const DEFAULT_AUTH_SOURCE: &str = "local";

/// A user as an operator describes one, apart from the username (parsed
/// first, on its own) and the password (checked by the core's policy).
#[derive(Debug, Clone, Copy)]
pub struct UserFields<'a> {
    pub full_name: &'a str,
    pub email: &'a str,
    /// The numeric role of the user dialect.
    pub role: i64,
    /// Role names; each is trimmed, blank ones are skipped.
    pub roles: &'a [String],
    /// `None` gives the user a new random one.
    pub customer_id: Option<Uuid>,
    /// Trimmed; must not be blank.
    pub auth_source: &'a str,
}

/// Why a user cannot be created as described.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NewUserError {
    #[error("the auth source is empty")]
    EmptyAuthSource,
}

/// A user that may be created: [`NewUser::parse`] is the only way to one,
/// and [`User::new`] the only way from it to a stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    username: Username,
    full_name: String,
    email: String,
    role: i64,
    roles: Vec<String>,
    customer_id: Option<Uuid>,
    auth_source: String,
}

impl NewUser {
    pub fn parse(username: Username, f: UserFields<'_>) -> Result<Self, NewUserError> {
        let auth_source = f.auth_source.trim();
        if auth_source.is_empty() {
            return Err(NewUserError::EmptyAuthSource);
        }
        Ok(Self {
            username,
            full_name: f.full_name.to_string(),
            email: f.email.to_string(),
            role: f.role,
            roles: f
                .roles
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            customer_id: f.customer_id,
            auth_source: auth_source.to_string(),
        })
    }

    pub fn username(&self) -> &Username {
        &self.username
    }
}

/// A user as every check after log in sees it: everything but the password
/// hash, which only a log in and a password change read. The authorizer's
/// role may read no more of a user than this.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: Uuid,
    pub username: Username,
    pub full_name: String,
    pub email: String,
    pub role: i64,
    pub roles: Vec<String>,
    pub customer_id: Uuid,
    pub auth_source: String,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    pub password_changed_at: OffsetDateTime,
    /// Not-before for refresh families and sessions written before
    /// [`Account::token_version`] existed; kept up to date for them.
    pub tokens_revoked_at: Option<OffsetDateTime>,
    /// Raised by every disable and password change; each refresh family and
    /// session carries the version it was made under and only works while it
    /// is still the user's. A counter, so no clocks of different machines are
    /// compared.
    pub token_version: u64,
    /// An operator requires a second factor of this user (API §13).
    pub mfa_required: bool,
    /// An operator lets this user sign in with a password alone on the
    /// password-only routes, factor or not (a service account).
    pub password_only: bool,
}

/// A user as stored: the account, its password and its second factors.
#[derive(Clone, PartialEq)]
pub struct User {
    pub account: Account,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub factors: Factors,
}

/// The hash and the factors never show in a `{:?}`, at any log level.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("account", &self.account)
            .field("password_hash", &"[redacted]")
            .field("factors", &self.factors.has_any())
            .finish()
    }
}

impl User {
    /// Whether a password alone may not sign this user in on a route that
    /// cannot ask for more (API §13): a factor enrolled or required, and
    /// no operator's leave.
    pub fn needs_more_than_a_password(&self) -> bool {
        (self.factors.has_any() || self.mfa_required) && !self.password_only
    }
}

impl User {
    /// An enabled user made of `new`, with a new random id, created and its
    /// password set at `now`. `password_hash` is the Argon2id PHC string of a
    /// password the core's policy accepted.
    pub fn new(new: NewUser, password_hash: String, now: OffsetDateTime) -> Self {
        Self {
            password_hash,
            factors: Factors::default(),
            account: Account {
                id: Uuid::new_v4(),
                username: new.username,
                full_name: new.full_name,
                email: new.email,
                role: new.role,
                roles: new.roles,
                customer_id: new.customer_id.unwrap_or_else(Uuid::new_v4),
                auth_source: new.auth_source,
                enabled: true,
                created_at: now,
                last_login_at: None,
                password_changed_at: now,
                tokens_revoked_at: None,
                token_version: 0,
                mfa_required: false,
                password_only: false,
            },
        }
    }
}

impl std::ops::Deref for User {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.account
    }
}

impl std::ops::DerefMut for User {
    fn deref_mut(&mut self) -> &mut Account {
        &mut self.account
    }
}

impl Account {
    /// Whether a refresh family or session of the user `user_id`, made under
    /// `version` (`None`: written before versions, at `created_at`), may still
    /// be used: same user (not deleted and recreated), enabled, and nothing
    /// revoked since.
    pub fn accepts_tokens_from(
        &self,
        user_id: Uuid,
        version: Option<u64>,
        created_at: OffsetDateTime,
    ) -> bool {
        let current = match version {
            Some(v) => v == self.token_version,
            None => {
                self.password_changed_at <= created_at
                    && self.tokens_revoked_at.is_none_or(|t| created_at > t)
            }
        };
        self.id == user_id && self.enabled && current
    }

    /// Auth sources compare case-insensitively.
    pub fn has_auth_source(&self, source: &str) -> bool {
        self.auth_source.to_lowercase() == source.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_debug_never_shows_its_hash() {
        let user = User {
            password_hash: "$argon2id$v=19$secret-hash".into(),
            factors: Factors::default(),
            account: Account {
                id: uuid::Uuid::nil(),
                username: Username::parse("a").unwrap(),
                full_name: String::new(),
                email: String::new(),
                role: 0,
                roles: vec![],
                customer_id: uuid::Uuid::nil(),
                auth_source: "local".into(),
                enabled: true,
                created_at: OffsetDateTime::UNIX_EPOCH,
                last_login_at: None,
                password_changed_at: OffsetDateTime::UNIX_EPOCH,
                tokens_revoked_at: None,
                token_version: 0,
                mfa_required: false,
                password_only: false,
            },
        };
        let shown = format!("{user:?}");
        assert!(
            !shown.contains("secret-hash") && shown.contains("[redacted]"),
            "{shown}"
        );
    }

    fn fields<'a>(roles: &'a [String], auth_source: &'a str) -> UserFields<'a> {
        UserFields {
            full_name: " Ann ",
            email: "ann@example.com",
            role: 3,
            roles,
            customer_id: None,
            auth_source,
        }
    }

    #[test]
    fn a_new_user_is_enabled_with_trimmed_roles_and_auth_source() {
        let roles = [" admin ".to_string(), " ".into(), "ops".into()];
        let name = Username::parse("Ann").unwrap();
        let new = NewUser::parse(name.clone(), fields(&roles, " ldap ")).unwrap();
        assert_eq!(new.username(), &name);
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        let user = User::new(new, "$argon2id$hash".into(), now);
        assert_eq!(user.roles, ["admin", "ops"]);
        assert_eq!(user.auth_source, "ldap");
        assert_eq!(user.full_name, " Ann ", "kept as given");
        assert!(user.enabled && user.last_login_at.is_none());
        assert_eq!((user.created_at, user.password_changed_at), (now, now));
        assert_eq!(user.token_version, 0);
        assert_ne!(user.id, user.customer_id, "both new and random");
        assert_eq!(user.password_hash, "$argon2id$hash");
        let given = Uuid::new_v4();
        let new = NewUser::parse(
            name,
            UserFields {
                customer_id: Some(given),
                ..fields(&[], "local")
            },
        )
        .unwrap();
        assert_eq!(User::new(new, String::new(), now).customer_id, given);
    }

    #[test]
    fn a_new_user_needs_an_auth_source() {
        let name = Username::parse("ann").unwrap();
        assert_eq!(
            NewUser::parse(name, fields(&[], " \t")),
            Err(NewUserError::EmptyAuthSource)
        );
    }

    #[test]
    fn usernames_are_nfc_and_lower_case() {
        assert_eq!(Username::parse("Admin").unwrap().as_str(), "admin");
        // "É" written as E + combining acute becomes the single code point, lower-cased.
        assert_eq!(
            Username::parse("E\u{301}MILE").unwrap().as_str(),
            "\u{e9}mile"
        );
        assert_eq!(
            Username::parse("\u{c9}mile").unwrap(),
            Username::parse("e\u{301}mile").unwrap()
        );
    }

    #[test]
    fn bad_usernames_are_refused() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(
            Username::parse(&"a".repeat(257)),
            Err(UsernameError::TooLong)
        );
        assert!(Username::parse(&"a".repeat(256)).is_ok());
        assert_eq!(
            Username::parse("a\nb"),
            Err(UsernameError::ControlCharacter)
        );
        assert_eq!(Username::parse(" admin"), Err(UsernameError::Whitespace));
    }
}
