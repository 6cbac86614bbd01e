//! Users and the newtypes that parse what identifies them.

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
}

/// A user as stored: the account and its password.
#[derive(Clone, PartialEq)]
pub struct User {
    pub account: Account,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// The hash never shows in a `{:?}`, at any log level.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("account", &self.account)
            .field("password_hash", &"[redacted]")
            .finish()
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
            },
        };
        let shown = format!("{user:?}");
        assert!(
            !shown.contains("secret-hash") && shown.contains("[redacted]"),
            "{shown}"
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
