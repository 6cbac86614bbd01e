//! The issuer core: credentials, token minting, sessions. It knows no dialect
//! and reads time only from the injected [`Clock`].

pub mod clock;
pub mod error;
pub mod password;
pub mod throttle;
pub mod tokens;
pub mod user;

use crate::keys::KeySet;
use crate::store::{RefreshFamily, Rotation, Session, Store};
use clock::Clock;
pub use error::AuthError;
use password::{Hasher, Password};
use std::sync::Arc;
use throttle::{Throttle, ThrottleSettings};
use time::{Duration, OffsetDateTime};
use tokens::{AccessClaims, FamilyId, RefreshToken, SessionToken};
use user::{User, Username};

/// How long an ops session lives after its last use (contract §3).
pub const SESSION_IDLE: Duration = Duration::hours(6);

/// Token lifetimes and the audience, from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub throttle: ThrottleSettings,
}

/// What a caller presents to log in.
#[derive(Debug)]
pub struct Credentials {
    /// As received; normalised here.
    pub username: String,
    pub password: Password,
    /// `Some` only where the dialect carries one (ops); compared case-insensitively.
    pub auth_source: Option<String>,
}

/// An access token and the refresh token of a (new or continued) family.
#[derive(Debug)]
pub struct TokenGrant {
    pub user: User,
    /// Wrapped so a `{:?}` of the grant cannot print a live token.
    pub access_token: crate::secret::Secret<String>,
    pub access_expires_at: OffsetDateTime,
    pub access_ttl_secs: i64,
    pub refresh_token: RefreshToken,
    pub refresh_expires_at: OffsetDateTime,
}

/// A new ops session.
#[derive(Debug)]
pub struct SessionGrant {
    pub user: User,
    pub token: SessionToken,
    pub expires_at: OffsetDateTime,
}

/// The issuer core: one per process, built at cold start.
pub struct Issuer<S> {
    store: S,
    keys: KeySet,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl<S: Store> Issuer<S> {
    pub fn new(store: S, keys: KeySet, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            store,
            keys,
            hasher: Hasher::new(),
            clock,
            settings,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Now, cut to the millisecond: the precision times are stored with, so an
    /// expiry shown at log in is the one shown after a refresh.
    pub fn now(&self) -> OffsetDateTime {
        let t = self.clock.now();
        t.replace_millisecond(t.millisecond()).unwrap_or(t)
    }

    /// Checks a username and password. Every failure costs one Argon2id run and
    /// ends in the same [`AuthError::InvalidCredentials`]; a locked username is
    /// refused before any password is checked.
    async fn authenticate(&self, creds: Credentials) -> Result<User, AuthError> {
        let now = self.now();
        let key = throttle::key(&creds.username);
        // A name that cannot be normalised cannot exist; it is looked up as nobody.
        let name = Username::parse(&creds.username).ok();
        let (user, record) = tokio::try_join!(
            async {
                match &name {
                    Some(name) => self.store.get_user(name).await,
                    None => Ok(None),
                }
            },
            self.store.get_throttle(&key)
        )?;
        if let Some(wait) = record.as_ref().and_then(|t| t.retry_after(now)) {
            return Err(AuthError::TooManyAttempts {
                retry_after_secs: wait,
            });
        }
        match self.check_password(creds, user).await {
            Ok(user) => {
                if record.is_some() {
                    self.store.clear_throttle(&key).await?;
                }
                Ok(user)
            }
            Err(AuthError::InvalidCredentials) => {
                self.count_failure(&key, record, now).await?;
                Err(AuthError::InvalidCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Adds one failure atomically (K concurrent failures count K) and locks
    /// the username when that reaches the policy's mark.
    async fn count_failure(
        &self,
        key: &str,
        before: Option<Throttle>,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let policy = &self.settings.throttle;
        if before.as_ref().is_some_and(|t| t.is_stale(now)) {
            self.store.clear_throttle(key).await?;
        }
        let after = self.store.record_failure(key, now + policy.memory).await?;
        let needed = policy.failures_to_lock(after.lockouts);
        if after.failures >= needed {
            let until = now + policy.lock_for(after.lockouts);
            self.store
                .lock_throttle(key, needed, now, until, until.max(now + policy.memory))
                .await?;
        }
        Ok(())
    }

    async fn check_password(
        &self,
        creds: Credentials,
        user: Option<User>,
    ) -> Result<User, AuthError> {
        let hasher = self.hasher.clone();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let password = creds.password;
        // Argon2 is CPU-bound for tens of milliseconds: keep it off the async workers.
        let (matches, password) = tokio::task::spawn_blocking(move || {
            let ok = hasher.verify(&password, phc.as_deref());
            (ok, password)
        })
        .await?;
        let Some(mut user) = user else {
            return Err(AuthError::InvalidCredentials);
        };
        let source_ok = creds
            .auth_source
            .as_deref()
            .is_none_or(|s| user.has_auth_source(s));
        if !(matches && user.enabled && source_ok) {
            return Err(AuthError::InvalidCredentials);
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            // Upgrade a hash made with weaker parameters, now that the password is known.
            let hasher = self.hasher.clone();
            let new_hash = tokio::task::spawn_blocking(move || hasher.hash(&password)).await??;
            if self
                .store
                .replace_password_hash(&user.username, &user.password_hash, &new_hash)
                .await?
            {
                user.password_hash = new_hash;
            }
        }
        Ok(user)
    }

    /// Marks the log in; a user deleted while logging in is refused.
    async fn record_login(&self, mut user: User, at: OffsetDateTime) -> Result<User, AuthError> {
        if !self.store.record_login(&user.username, at).await? {
            return Err(AuthError::InvalidCredentials);
        }
        user.last_login_at = Some(at);
        Ok(user)
    }

    /// Log in for the v2 and user dialects: an access token and a new refresh family.
    pub async fn login_with_tokens(
        &self,
        creds: Credentials,
        issuer_url: &str,
    ) -> Result<TokenGrant, AuthError> {
        let user = self.authenticate(creds).await?;
        let now = self.now();
        let family = RefreshFamily {
            id: FamilyId::generate()?,
            username: user.username.clone(),
            user_id: user.id,
            token_hash: String::new(),
            created_at: now,
            expires_at: now + self.settings.refresh_ttl,
        };
        let refresh = RefreshToken::generate(family.id)?;
        let family = RefreshFamily {
            token_hash: refresh.hash(),
            ..family
        };
        // Independent writes: run them together to save a round trip.
        let (user, ()) = tokio::try_join!(self.record_login(user, now), async {
            Ok(self.store.put_refresh_family(&family).await?)
        })?;
        self.grant(
            user,
            refresh,
            family.expires_at,
            &family.id.to_string(),
            issuer_url,
            now,
        )
    }

    fn grant(
        &self,
        user: User,
        refresh_token: RefreshToken,
        refresh_expires_at: OffsetDateTime,
        sid: &str,
        issuer_url: &str,
        now: OffsetDateTime,
    ) -> Result<TokenGrant, AuthError> {
        let access_expires_at = now + self.settings.access_ttl;
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: issuer_url.to_string(),
            sub: user.id.to_string(),
            aud: self.settings.audience.clone(),
            iat,
            nbf: iat,
            exp: access_expires_at.unix_timestamp(),
            jti: tokens::new_jti()?,
            sid: sid.to_string(),
            username: user.username.to_string(),
            name: user.full_name.clone(),
            email: user.email.clone(),
            roles: user.roles.clone(),
            role: user.role,
            customer_id: user.customer_id.to_string(),
            auth_source: user.auth_source.clone(),
        };
        let access_token = crate::secret::Secret::new(self.keys.sign(&claims)?);
        Ok(TokenGrant {
            user,
            access_token,
            access_expires_at,
            access_ttl_secs: self.settings.access_ttl.whole_seconds(),
            refresh_token,
            refresh_expires_at,
        })
    }

    /// Exchanges a refresh token for a new pair of the same family (rotation).
    /// Presenting an already consumed token revokes the whole family.
    pub async fn refresh(
        &self,
        presented: &str,
        issuer_url: &str,
    ) -> Result<TokenGrant, AuthError> {
        let token = RefreshToken::parse(presented).ok_or(AuthError::InvalidRefreshToken)?;
        let now = self.now();
        let family = *token.family();
        // Every read comes before the one write (the rotation), and after it only
        // signing can fail: a storage fault never consumes a token without
        // handing out its successor.
        let Some(stored) = self.store.get_refresh_family(&family).await? else {
            return Err(AuthError::InvalidRefreshToken);
        };
        let user = match self.store.get_user(&stored.username).await? {
            // Disabled, deleted, recreated or re-passworded users lose their families.
            Some(u) if u.accepts_tokens_from(stored.user_id, stored.created_at) => u,
            _ => {
                self.store.revoke_family(&family, None, now).await?;
                return Err(AuthError::InvalidRefreshToken);
            }
        };
        let next = RefreshToken::generate(family)?;
        match self
            .store
            .rotate_refresh(&family, &token.hash(), &next.hash(), now)
            .await?
        {
            Rotation::Rotated(rotated) => self.grant(
                user,
                next,
                rotated.expires_at,
                &family.to_string(),
                issuer_url,
                now,
            ),
            Rotation::Refused { consumed } => {
                if consumed {
                    tracing::warn!(family = %family, "refresh token reuse: family revoked");
                    self.store.revoke_family(&family, None, now).await?;
                }
                Err(AuthError::InvalidRefreshToken)
            }
        }
    }

    /// Revokes the family of a refresh token. Unknown, expired, revoked or
    /// garbage tokens succeed too, so the route cannot be used to test tokens.
    pub async fn revoke(&self, presented: &str) -> Result<(), AuthError> {
        if let Some(token) = RefreshToken::parse(presented) {
            let now = self.now();
            self.store
                .revoke_family(token.family(), Some(&token.hash()), now)
                .await?;
        }
        Ok(())
    }

    /// Log in for the ops dialect: a new sliding session.
    pub async fn login_with_session(&self, creds: Credentials) -> Result<SessionGrant, AuthError> {
        let user = self.authenticate(creds).await?;
        let now = self.now();
        let token = SessionToken::generate()?;
        let session = Session {
            token_hash: token.hash(),
            username: user.username.clone(),
            user_id: user.id,
            created_at: now,
            expires_at: now + SESSION_IDLE,
        };
        let (user, ()) = tokio::try_join!(self.record_login(user, now), async {
            Ok(self.store.put_session(&session).await?)
        })?;
        Ok(SessionGrant {
            user,
            token,
            expires_at: session.expires_at,
        })
    }

    /// The user behind a live session; slides the session to now + 6 h.
    pub async fn current_user(&self, presented: &str) -> Result<User, AuthError> {
        let token = SessionToken::parse(presented).ok_or(AuthError::InvalidSession)?;
        let now = self.now();
        let hash = token.hash();
        let session = self
            .store
            .touch_session(&hash, now, now + SESSION_IDLE)
            .await?
            .ok_or(AuthError::InvalidSession)?;
        let user = self.store.get_user(&session.username).await?;
        match user {
            // The same user, still enabled, whose password has not changed since.
            Some(u) if u.accepts_tokens_from(session.user_id, session.created_at) => Ok(u),
            _ => {
                self.store.delete_session(&hash).await?;
                Err(AuthError::InvalidSession)
            }
        }
    }

    /// Ends a session at once. A token that is not a live session is refused.
    pub async fn release(&self, presented: &str) -> Result<(), AuthError> {
        let token = SessionToken::parse(presented).ok_or(AuthError::InvalidSession)?;
        let now = self.now();
        if self.store.end_session(&token.hash(), now).await? {
            Ok(())
        } else {
            Err(AuthError::InvalidSession)
        }
    }
}
