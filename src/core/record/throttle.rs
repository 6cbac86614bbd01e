//! Brute-force throttling (OWASP ASVS V2.2, NIST SP 800-63B §5.2.2,
//! Keycloak's brute-force detection), counted in two scopes:
//!
//! - per **username and source address**: after `threshold` consecutive
//!   failures the pair is locked; every further failure after a lock ends locks
//!   it again for twice as long, up to `max`. An attacker's address locks
//!   itself out, not the user.
//! - per **username**, from all addresses together: `user_threshold`
//!   consecutive failures lock the username for everyone, with the same
//!   doubling; a ceiling against attackers with many addresses.
//!
//! An attempt is counted *before* its password is checked, by a conditional
//! write that refuses once the scope's limit is reached, so N simultaneous
//! attempts never get more password checks than the limit. A success clears
//! both counts. Usernames that do not exist are counted alike, so a 429
//! reveals nothing.

use super::user::LoginName;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Consecutive failures of one username from one address before the
    /// pair's first lock.
    pub threshold: u32,
    /// Consecutive failures of one username from all addresses before the
    /// username's lock; every lock of the username needs this many.
    pub user_threshold: u32,
    /// The first lock; each later one doubles it.
    pub initial: Duration,
    /// The longest lock.
    pub max: Duration,
    /// How long failures are remembered without a new one.
    pub memory: Duration,
    /// Failed log ins one source address may make across all usernames
    /// within [`ThrottleSettings::address_window`] (password spraying).
    pub address_threshold: u32,
    /// The address budget's window: from its first failure.
    pub address_window: Duration,
    /// How long a counted attempt may still be in flight: past it, one that
    /// never finished (the route's deadline, a fault) is taken as failed.
    /// Above the function's timeout, so no live attempt is written off.
    pub in_flight: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            threshold: 10,
            user_threshold: 100,
            initial: Duration::minutes(1),
            max: Duration::minutes(15),
            memory: Duration::hours(24),
            address_threshold: 100,
            address_window: Duration::minutes(15),
            in_flight: Duration::minutes(1),
        }
    }
}

/// The two scopes attempts are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One username from one source address.
    Pair,
    /// One username from all addresses.
    Username,
    /// One source address, across all usernames: a budget of failures per
    /// window against password spraying.
    Address,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pair => "pair",
            Self::Username => "username",
            Self::Address => "address",
        }
    }
}

/// How many attempts a scope's record may count before it must be locked:
/// `first` while it has never been locked, `later` after a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub first: i64,
    pub later: i64,
}

impl AttemptLimit {
    /// Failures that lock a record with `lockouts` earlier locks.
    pub fn needed(self, lockouts: i64) -> i64 {
        if lockouts == 0 {
            self.first
        } else {
            self.later
        }
    }
}

/// A scope's failure record as stored.
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

    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|u| u > now)
    }
}

impl ThrottleSettings {
    /// When the last attempt was counted: every count sets the record to
    /// expire `memory` later.
    pub fn last_counted(&self, record: &Throttle) -> OffsetDateTime {
        record.expires_at - self.memory
    }

    /// The lock a record at its limit but never locked is owed, if its
    /// attempts were abandoned: counted, then never finished (a route cut by
    /// its deadline, a fault), so no lock was set and every attempt would be
    /// refused until the record expired. The unfinished attempt is taken as a
    /// failure at the time it was counted: the lock starts then, so the scope
    /// is refused no longer than its lock. `None` while one may be in flight.
    pub fn abandoned_lock(
        &self,
        scope: Scope,
        record: &Throttle,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        if scope == Scope::Address {
            // Its window ends by itself.
            return None;
        }
        let at_limit = record.failures >= self.limit(scope).needed(record.lockouts);
        let last = self.last_counted(record);
        let done = last + self.in_flight <= now;
        (at_limit && !record.is_locked(now) && done).then(|| last + self.lock_for(record.lockouts))
    }
}

impl ThrottleSettings {
    /// The pair: the threshold at first, then every failure after a lock.
    /// The username: the ceiling every time, so a few stray failures cannot
    /// keep a user locked out for everyone.
    pub fn limit(&self, scope: Scope) -> AttemptLimit {
        match scope {
            Scope::Pair => AttemptLimit {
                first: i64::from(self.threshold.max(1)),
                later: 1,
            },
            Scope::Username => {
                let n = i64::from(self.user_threshold.max(1));
                AttemptLimit { first: n, later: n }
            }
            Scope::Address => {
                let n = i64::from(self.address_threshold.max(1));
                AttemptLimit { first: n, later: n }
            }
        }
    }

    /// The wait to announce when every allowed attempt is already counted
    /// but the lock has not started yet: the lock that is coming.
    pub fn pending_wait(&self, record: &Throttle) -> u64 {
        self.lock_for(record.lockouts).whole_seconds().max(1) as u64
    }

    /// The lock after `lockouts` earlier ones: initial × 2^lockouts, capped.
    pub fn lock_for(&self, lockouts: i64) -> Duration {
        let factor = 2i64.saturating_pow(lockouts.clamp(0, 30) as u32);
        let secs = self.initial.whole_seconds().saturating_mul(factor);
        Duration::seconds(secs).min(self.max)
    }
}

/// The storage key of a username's record (as typed, in its normal form):
/// SHA-256 of a label and the name, so keys are short, carry no personal
/// data and can never equal a token's hash.
pub fn key(name: &LoginName) -> String {
    digest(&[b"throttle", name.as_str().as_bytes()])
}

/// The storage key of a username and source address pair's record.
/// `source` is `None` outside API Gateway; such attempts share one pair.
pub fn pair_key(name: &LoginName, source: Option<&str>) -> String {
    digest(&[
        b"throttle-pair",
        name.as_str().as_bytes(),
        source.unwrap_or("").as_bytes(),
    ])
}

/// The storage key of a source address's budget across usernames.
pub fn address_key(source: Option<&str>) -> String {
    digest(&[b"throttle-address", source.unwrap_or("").as_bytes()])
}

/// The storage key of a source address's hourly budget of client
/// registrations (API §14).
pub fn registration_key(source: Option<&str>) -> String {
    digest(&[b"registration", source.unwrap_or("").as_bytes()])
}

/// SHA-256 of the parts, each preceded by its length, so no two lists of
/// parts hash alike.
fn digest(parts: &[&[u8]]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
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
        assert_eq!(s.limit(Scope::Pair).needed(0), 10);
        assert_eq!(s.limit(Scope::Pair).needed(3), 1);
        assert_eq!(s.limit(Scope::Username).needed(0), 100);
        assert_eq!(s.limit(Scope::Username).needed(3), 100);
    }

    #[test]
    fn an_abandoned_record_is_owed_the_lock_from_its_last_count() {
        let s = ThrottleSettings::default();
        let counted = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let record = |failures, lockouts| Throttle {
            failures,
            lockouts,
            locked_until: None,
            expires_at: counted + s.memory,
        };
        // In flight: nothing yet.
        assert_eq!(
            s.abandoned_lock(Scope::Pair, &record(10, 0), counted + Duration::seconds(59)),
            None
        );
        // Past the in-flight bound: the lock the tenth failure would have set.
        assert_eq!(
            s.abandoned_lock(Scope::Pair, &record(10, 0), counted + Duration::seconds(60)),
            Some(counted + Duration::minutes(1))
        );
        assert_eq!(
            s.abandoned_lock(
                Scope::Username,
                &record(100, 6),
                counted + Duration::hours(1)
            ),
            Some(counted + Duration::minutes(15))
        );
        // Under the limit, or already locked: not abandoned.
        assert_eq!(
            s.abandoned_lock(Scope::Pair, &record(9, 0), counted + Duration::hours(1)),
            None
        );
        let mut locked = record(0, 1);
        locked.locked_until = Some(counted + Duration::hours(2));
        assert_eq!(
            s.abandoned_lock(Scope::Pair, &locked, counted + Duration::hours(1)),
            None
        );
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
        assert_ne!(key("admin"), super::super::token::token_hash("admin"));
        let pair = |raw: &str, ip| pair_key(&LoginName::parse(raw), Some(ip));
        assert_eq!(pair("Admin", "192.0.2.1"), pair("admin", "192.0.2.1"));
        assert_ne!(pair("admin", "192.0.2.1"), pair("admin", "192.0.2.2"));
        assert_ne!(pair("admin", "192.0.2.1"), key("admin"));
    }
}
