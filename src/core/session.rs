//! Ops sessions: opaque tokens that slide to six hours after their last use.

use super::audit::{self, Origin};
use super::error::{Error, Refusal};
use super::login::{Authenticated, Credentials, PasswordRoute};
use super::password::Password;
use super::record::session::Session;
use super::record::token::SessionToken;
use super::record::user::{Account, User};
use super::store::{
    BrowserSessionStore, ClientStore, FamilyStore, SessionStore, ThrottleStore, UserStore,
};
use super::Issuer;
use crate::core::sign::Signer;
use time::{Duration, OffsetDateTime};

/// How long an ops session lives after its last use.
pub const SESSION_IDLE: Duration = Duration::hours(6);

/// A new ops session.
#[derive(Debug)]
pub struct SessionGrant {
    pub user: User,
    pub token: SessionToken,
    pub expires_at: OffsetDateTime,
}

impl<S: FamilyStore + SessionStore + ThrottleStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Log in for the ops dialect: a new sliding session.
    pub async fn login_with_session(
        &self,
        creds: Credentials,
        origin: &Origin<'_>,
    ) -> Result<SessionGrant, Error> {
        let Authenticated { user, settlement } = self
            .authenticate(creds, PasswordRoute::VENDOR, origin)
            .await?;
        let now = self.now();
        let token = SessionToken::generate()?;
        let session = Session {
            token_hash: token.hash(),
            username: user.username.clone(),
            user_id: user.id,
            token_version: Some(user.token_version),
            created_at: now,
            expires_at: now + SESSION_IDLE,
        };
        let ((), user, ()) = tokio::try_join!(
            self.settle(settlement),
            self.record_login(user, now),
            async { Ok(self.store.put_session(&session).await?) }
        )?;
        audit::login_succeeded(origin, &user);
        Ok(SessionGrant {
            user,
            token,
            expires_at: session.expires_at,
        })
    }

    /// The user behind a live session; slides the session to now + 6 h.
    pub async fn current_user(&self, presented: &str) -> Result<Account, Error> {
        let token = SessionToken::parse(presented).ok_or(Refusal::InvalidSession)?;
        let now = self.now();
        let hash = token.hash();
        let session = self
            .store
            .touch_session(&hash, now, now + SESSION_IDLE)
            .await?
            .ok_or(Refusal::InvalidSession)?;
        let user = self.store.get_account(&session.username).await?;
        match user {
            // The same user, still enabled, whose password has not changed since.
            Some(u)
                if u.accepts_tokens_from(
                    session.user_id,
                    session.token_version,
                    session.created_at,
                ) =>
            {
                Ok(u)
            }
            _ => {
                self.store.delete_session(&hash).await?;
                Err(Refusal::InvalidSession.into())
            }
        }
    }

    /// Ends a session at once. A token that is not a live session is refused.
    pub async fn release(&self, presented: &str, origin: &Origin<'_>) -> Result<(), Error> {
        let token = SessionToken::parse(presented).ok_or(Refusal::InvalidSession)?;
        let now = self.now();
        match self.store.end_session(&token.hash(), now).await? {
            Some(ended) => {
                audit::session_released(origin, ended.user_id, &ended.username);
                Ok(())
            }
            None => Err(Refusal::InvalidSession.into()),
        }
    }
}

impl<S, K> Issuer<S, K>
where
    S: BrowserSessionStore + ClientStore + FamilyStore + SessionStore + ThrottleStore + UserStore,
    K: Signer + ?Sized,
{
    /// Changes the password of the session's user: the current password is
    /// checked like a log in (counted, throttled), the new one must pass the
    /// password rules. Every other session, browser session and refresh
    /// family of the user ends, and the apps of the browser sessions are
    /// told (`issuer_url` names the logout tokens' issuer); the calling
    /// session stays valid.
    pub async fn change_password(
        &self,
        presented: &str,
        current: Password,
        new: Password,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<(), Error> {
        let user = self.current_user(presented).await?;
        let hash = SessionToken::parse(presented)
            .ok_or(Refusal::InvalidSession)?
            .hash();
        let creds = Credentials {
            username: user.username.to_string(),
            password: current,
            auth_source: None,
            device: None,
        };
        let Authenticated { user, settlement } = self
            .authenticate(creds, PasswordRoute::VENDOR, origin)
            .await?;
        self.settle(settlement).await?;
        new.check_strength_for(&user.username, &user.email, &user.full_name)
            .map_err(|e| Refusal::PasswordNotAllowed(e.to_string()))?;
        let hasher = self.hasher.clone();
        let new_hash = tokio::task::spawn_blocking(move || hasher.hash(&new)).await??;
        let now = self.now();
        let Some(version) = self
            .store
            .set_password(&user.username, &new_hash, now)
            .await?
        else {
            return Err(Refusal::InvalidSession.into());
        };
        // Every family and session of an older version ends; the caller's
        // session moves to the new version, so it alone survives.
        let kept = self.store.restamp_session(&hash, version).await?;
        audit::password_changed(origin, user.id, &user.username);
        self.end_sessions_of(user.id, version, issuer_url, origin)
            .await?;
        if kept {
            Ok(())
        } else {
            Err(Refusal::InvalidSession.into())
        }
    }
}
