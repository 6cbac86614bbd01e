//! Brute-force throttling per username (OWASP ASVS V2.2, NIST SP 800-63B
//! §5.2.2, Keycloak's brute-force detection): after `threshold` consecutive
//! failures the username is locked; every further failure after a lock ends
//! locks it again for twice as long, up to `max`. A success clears it.
//! Usernames that do not exist are counted alike, so a 429 reveals nothing.

use super::user::LoginName;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Consecutive failures before the first lock.
    pub threshold: u32,
    /// The first lock; each later one doubles it.
    pub initial: Duration,
    /// The longest lock.
    pub max: Duration,
    /// How long failures are remembered without a new one.
    pub memory: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            threshold: 10,
            initial: Duration::minutes(1),
            max: Duration::minutes(15),
            memory: Duration::hours(24),
        }
    }
}

/// A username's failure record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    pub failures: i64,
    pub lockouts: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
}

impl Throttle {
    /// Whole seconds to wait, while locked.
    pub fn retry_after(&self, now: OffsetDateTime) -> Option<u64> {
        let until = self.locked_until.filter(|u| *u > now)?;
        let ms = (until - now).whole_milliseconds();
        Some(((ms + 999) / 1000).max(1) as u64)
    }

    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }
}

impl ThrottleSettings {
    /// Failures that trigger a lock: the threshold at first, then every one.
    pub fn failures_to_lock(&self, lockouts: i64) -> i64 {
        if lockouts == 0 {
            i64::from(self.threshold.max(1))
        } else {
            1
        }
    }

    /// The lock after `lockouts` earlier ones: initial × 2^lockouts, capped.
    pub fn lock_for(&self, lockouts: i64) -> Duration {
        let factor = 2i64.saturating_pow(lockouts.clamp(0, 30) as u32);
        let secs = self.initial.whole_seconds().saturating_mul(factor);
        Duration::seconds(secs).min(self.max)
    }
}

/// The storage key for a username as typed, in its normal form: SHA-256 of a
/// label and the name, so keys are short, carry no personal data and can
/// never equal a token's hash.
pub fn key(name: &LoginName) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"throttle\0");
    ctx.update(name.as_str().as_bytes());
    URL_SAFE_NO_PAD.encode(ctx.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_the_cap() {
        let s = ThrottleSettings::default();
        let waits: Vec<i64> = (0..7).map(|n| s.lock_for(n).whole_seconds()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(s.lock_for(1000).whole_seconds(), 900);
        assert_eq!(s.failures_to_lock(0), 10);
        assert_eq!(s.failures_to_lock(3), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let t = |until: Option<OffsetDateTime>| Throttle {
            failures: 0,
            lockouts: 1,
            locked_until: until,
            expires_at: now + Duration::hours(1),
        };
        assert_eq!(
            t(Some(now + Duration::milliseconds(60_000))).retry_after(now),
            Some(60)
        );
        assert_eq!(
            t(Some(now + Duration::milliseconds(59_001))).retry_after(now),
            Some(60)
        );
        assert_eq!(
            t(Some(now + Duration::milliseconds(1))).retry_after(now),
            Some(1)
        );
        assert_eq!(t(Some(now)).retry_after(now), None);
        assert_eq!(t(None).retry_after(now), None);
    }

    #[test]
    fn keys_follow_username_normalisation() {
        let key = |raw: &str| key(&LoginName::parse(raw));
        assert_eq!(key("Admin"), key("admin"));
        assert_ne!(key("admin"), key("admin2"));
        assert_eq!(key(&"X".repeat(5000)), key(&"x".repeat(5000)));
        assert_eq!(key("admin").len(), 43);
        assert_ne!(key("admin"), crate::core::tokens::token_hash("admin"));
    }
}
