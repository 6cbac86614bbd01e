//! Log in: throttling, the password check and the records a success leaves.

use super::error::{Error, Refusal};
use super::family::RefreshFamily;
use super::password::Password;
use super::store::Store;
use super::throttle::{self, Throttle};
use super::tokens::{FamilyId, RefreshToken};
use super::user::{LoginName, User};
use super::{Issuer, TokenGrant};
use time::OffsetDateTime;

/// What a caller presents to log in.
#[derive(Debug)]
pub struct Credentials {
    /// As received; normalised once, here.
    pub username: String,
    pub password: Password,
    /// `Some` only where the dialect carries one (ops); compared case-insensitively.
    pub auth_source: Option<String>,
}

impl<S: Store> Issuer<S> {
    /// Checks a username and password. Every failure costs one Argon2id run and
    /// ends in the same [`Refusal::InvalidCredentials`]; a locked username is
    /// refused before any password is checked.
    pub(super) async fn authenticate(&self, creds: Credentials) -> Result<User, Error> {
        let now = self.now();
        let name = LoginName::parse(&creds.username);
        let key = throttle::key(&name);
        let (user, record) = tokio::try_join!(
            async {
                match name.username() {
                    Some(name) => self.store.get_user(name).await,
                    // A name that cannot be normalised cannot exist.
                    None => Ok(None),
                }
            },
            self.store.get_throttle(&key)
        )?;
        if let Some(wait) = record.as_ref().and_then(|t| t.retry_after(now)) {
            return Err(Refusal::TooManyAttempts {
                retry_after_secs: wait,
            }
            .into());
        }
        match self.check_password(creds, user).await {
            Ok(user) => {
                if record.is_some() {
                    self.store.clear_throttle(&key).await?;
                }
                Ok(user)
            }
            Err(Error::Refused(Refusal::InvalidCredentials)) => {
                self.count_failure(&key, record, now).await?;
                Err(Refusal::InvalidCredentials.into())
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
    ) -> Result<(), Error> {
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

    async fn check_password(&self, creds: Credentials, user: Option<User>) -> Result<User, Error> {
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
            return Err(Refusal::InvalidCredentials.into());
        };
        let source_ok = creds
            .auth_source
            .as_deref()
            .is_none_or(|s| user.has_auth_source(s));
        if !(matches && user.enabled && source_ok) {
            return Err(Refusal::InvalidCredentials.into());
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
    pub(super) async fn record_login(
        &self,
        mut user: User,
        at: OffsetDateTime,
    ) -> Result<User, Error> {
        if !self.store.record_login(&user.username, at).await? {
            return Err(Refusal::InvalidCredentials.into());
        }
        user.last_login_at = Some(at);
        Ok(user)
    }

    /// Log in for the v2 and user dialects: an access token and a new refresh family.
    pub async fn login_with_tokens(
        &self,
        creds: Credentials,
        issuer_url: &str,
    ) -> Result<TokenGrant, Error> {
        let user = self.authenticate(creds).await?;
        let now = self.now();
        let id = FamilyId::generate()?;
        let refresh = RefreshToken::generate(id)?;
        let family = RefreshFamily {
            id,
            username: user.username.clone(),
            user_id: user.id,
            token_hash: refresh.hash(),
            created_at: now,
            expires_at: now + self.settings.refresh_ttl,
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
}
