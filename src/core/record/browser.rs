//! A browser session (API §12): what single sign-on remembers of a sign-in
//! at the login page, keyed by the hash of its cookie's value.

use super::client::ClientId;
use super::token::FamilyId;
use super::user::Username;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The cookie's name: `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`.
pub const SESSION_COOKIE: &str = "__Host-session";

/// The RFC 8176 method of a password sign-in.
pub const AMR_PASSWORD: &str = "pwd";

/// How long a browser session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ended this long after its last use.
    pub idle: Duration,
    /// Ended this long after the sign-in, however often it is used.
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(10),
        }
    }
}

/// A browser session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserSession {
    /// SHA-256 of the cookie's value: the storage key.
    pub token_hash: String,
    /// The public session id: the tokens' `sid`, the logout token's `sid`.
    pub id: String,
    pub user_id: Uuid,
    pub username: Username,
    /// The user's token version at sign-in: a revocation that raised it
    /// (disable, password change, `revoke-tokens`) ended this session.
    pub token_version: u64,
    /// When the user last proved who they are (`auth_time`).
    pub auth_time: OffsetDateTime,
    /// How (`amr`, RFC 8176).
    pub amr: Vec<String>,
    /// The clients that received tokens in this session.
    pub clients: Vec<ClientId>,
    /// The refresh families issued in it: ending the session revokes them.
    pub families: Vec<FamilyId>,
    pub created_at: OffsetDateTime,
    /// Past this the session is idle and over, unless used before.
    pub idle_until: OffsetDateTime,
    /// The absolute end.
    pub expires_at: OffsetDateTime,
    /// When it was ended (log out); `None` while it may be live.
    pub ended_at: Option<OffsetDateTime>,
}

impl BrowserSession {
    /// Whether the session may be used at `now` by its stored fields alone
    /// (the user's own state is the caller's to check).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.ended_at.is_none() && self.idle_until > now && self.expires_at > now
    }

    /// Whether the sign-in is older than `max_age` at `now`.
    pub fn older_than(&self, max_age: Duration, now: OffsetDateTime) -> bool {
        // `auth_time` is compared in whole seconds, as the claim carries it.
        now.unix_timestamp() - self.auth_time.unix_timestamp() > max_age.whole_seconds()
    }

    /// The idle expiry after a use at `now`: never past the absolute end.
    pub fn next_idle(
        limits: &SessionLimits,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> OffsetDateTime {
        (now + limits.idle).min(expires_at)
    }
}

/// A sign-in again within a live session (`prompt=login`, `max_age`):
/// what it changes. The user must still be at `token_version`.
#[derive(Debug, Clone, Copy)]
pub struct SignInAgain<'a> {
    pub token_version: u64,
    /// The new `auth_time`.
    pub at: OffsetDateTime,
    pub amr: &'a [String],
    pub idle_until: OffsetDateTime,
    /// The client it was for, and the family it started, which join the
    /// session.
    pub client: &'a ClientId,
    pub family: &'a FamilyId,
}

/// What a family and its tokens keep of the browser session they were
/// issued in.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLink {
    pub id: String,
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
}

impl From<&BrowserSession> for SessionLink {
    fn from(s: &BrowserSession) -> Self {
        Self {
            id: s.id.clone(),
            auth_time: s.auth_time,
            amr: s.amr.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: OffsetDateTime) -> BrowserSession {
        BrowserSession {
            token_hash: "h".into(),
            id: "s".into(),
            user_id: Uuid::nil(),
            username: Username::parse("a").unwrap(),
            token_version: 0,
            auth_time: now,
            amr: vec![AMR_PASSWORD.into()],
            clients: vec![],
            families: vec![],
            created_at: now,
            idle_until: now + Duration::minutes(30),
            expires_at: now + Duration::hours(10),
            ended_at: None,
        }
    }

    #[test]
    fn a_session_lives_until_idle_or_absolute_end_or_logout() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let s = session(now);
        assert!(s.is_live(now + Duration::minutes(29)));
        assert!(!s.is_live(now + Duration::minutes(30)));
        let mut used = s.clone();
        used.idle_until = now + Duration::hours(11);
        assert!(!used.is_live(now + Duration::hours(10)));
        let mut ended = s.clone();
        ended.ended_at = Some(now);
        assert!(!ended.is_live(now));
        let limits = SessionLimits::default();
        assert_eq!(
            BrowserSession::next_idle(
                &limits,
                now + Duration::hours(9) + Duration::minutes(50),
                s.expires_at
            ),
            s.expires_at
        );
    }

    #[test]
    fn max_age_counts_whole_seconds() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let s = session(now);
        assert!(!s.older_than(Duration::seconds(60), now + Duration::seconds(60)));
        assert!(s.older_than(Duration::seconds(60), now + Duration::seconds(61)));
        assert!(s.older_than(Duration::ZERO, now + Duration::seconds(1)));
        assert!(!s.older_than(Duration::ZERO, now));
    }
}
