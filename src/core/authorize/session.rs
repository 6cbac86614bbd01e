//! Single sign-on (API §12): the browser session a sign-in at the login
//! page starts, and the authorizations it answers without the page
//! (`prompt`, `max_age` and `id_token_hint` decide when it may).

use super::{
    AuthCode, AuthorizationRequest, AuthorizeError, AuthorizeRefusal, Prompt, RedirectError,
};
use crate::core::audit::{self, Origin};
use crate::core::error::{Error, Fault};
use crate::core::record::browser::{BrowserSession, SessionLink, AMR_PASSWORD};
use crate::core::record::client::ClientId;
use crate::core::record::family::ClientBinding;
use crate::core::record::token::{random, token_hash};
use crate::core::record::user::User;
use crate::core::sign::Signer;
use crate::core::store::{BrowserSessionStore, CodeStore, ConsentStore, FamilyStore, UserStore};
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// A browser session's cookie value: 256 bits from the system CSPRNG. Only
/// its SHA-256 is stored.
pub struct SessionCookie(SecretString);

impl SessionCookie {
    fn generate() -> Result<Self, Fault> {
        let bytes: [u8; 32] = random()?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// The value the browser presented, kept as the session's.
    pub(super) fn presented(value: &str) -> Self {
        Self(SecretString::from(value.to_string()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A live browser session the request's cookie names, and its user.
pub struct LiveSession {
    pub(super) session: BrowserSession,
    pub(super) user: User,
}

/// What an authorization request gets from the browser's session.
pub enum SessionAnswer {
    /// A code at once, without the page.
    Code(AuthCode),
    /// The login page.
    SignIn,
    /// The page that offers to register a passkey (`action=register-passkey`).
    RegisterPasskey(super::PasskeyRegistration),
    /// A third-party client's consent page (API §14).
    Consent(super::ConsentOffer),
}

impl<S: BrowserSessionStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// A new session of `user`'s, signed in with a password at `now` for
    /// `client`, and its cookie; not yet stored.
    pub(super) fn new_browser_session(
        &self,
        user: &User,
        client: &ClientId,
        now: OffsetDateTime,
    ) -> Result<(BrowserSession, SessionCookie), Fault> {
        let cookie = SessionCookie::generate()?;
        let id: [u8; 16] = random()?;
        let limits = &self.settings.sessions;
        let expires_at = now + limits.absolute;
        let session = BrowserSession {
            token_hash: token_hash(cookie.expose()),
            id: URL_SAFE_NO_PAD.encode(id),
            user_id: user.id,
            username: user.username.clone(),
            token_version: user.token_version,
            auth_time: now,
            amr: vec![AMR_PASSWORD.to_string()],
            clients: vec![client.clone()],
            // The sign-in's family joins once it is made.
            families: Vec::new(),
            created_at: now,
            idle_until: BrowserSession::next_idle(limits, now, expires_at),
            expires_at,
            ended_at: None,
        };
        Ok((session, cookie))
    }

    /// The live session the browser's `cookie` names, if any: stored, not
    /// ended, idle or past its end, and its user still the one who signed in
    /// (enabled, same token version: a disable, password change or
    /// `revoke-tokens` since ended it).
    pub async fn browser_session(
        &self,
        cookie: Option<&str>,
    ) -> Result<Option<LiveSession>, Error> {
        let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
            return Ok(None);
        };
        let now = self.now();
        let Some(session) = self
            .store
            .get_browser_session(&token_hash(cookie))
            .await?
            .filter(|s| s.is_live(now))
        else {
            return Ok(None);
        };
        let user = self.store.get_user(&session.username).await?.filter(|u| {
            u.accepts_tokens_from(
                session.user_id,
                Some(session.token_version),
                session.created_at,
            )
        });
        Ok(user.map(|user| LiveSession { session, user }))
    }
}

impl<
        S: BrowserSessionStore + CodeStore + ConsentStore + FamilyStore + UserStore,
        K: Signer + ?Sized,
    > Issuer<S, K>
{
    /// Answers a checked authorization request from the browser's session:
    /// a code at once when the session may be used, the login page when
    /// the user must sign in, or `login_required` for `prompt=none`.
    pub async fn authorize_in_session(
        &self,
        req: &AuthorizationRequest,
        live: Option<LiveSession>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<SessionAnswer, AuthorizeError> {
        let refuse = |refusal| {
            Err(AuthorizeError::Redirect(RedirectError {
                redirect_uri: req.redirect_uri.clone(),
                state: req.state.clone(),
                refusal,
            }))
        };
        let now = self.now();
        // The hint must be this issuer's own ID token; it may have expired.
        let hinted = match &req.id_token_hint {
            None => None,
            Some(hint) => match self.keys.verify_id_token(hint.expose_secret()) {
                Some(claims) if claims.iss == issuer_url => Some(claims.sub),
                _ => return refuse(AuthorizeRefusal::InvalidIdTokenHint),
            },
        };
        let usable = live.filter(|l| {
            req.prompt != Prompt::Login
                && !req
                    .max_age
                    .is_some_and(|max| l.session.older_than(max, now))
                && hinted
                    .as_deref()
                    .is_none_or(|sub| sub == l.user.id.to_string())
                // A sign-in that needs a second factor takes a session
                // only if its sign-in had one (API §13).
                && (!self.wants_second_factor(req, &l.user)
                    || l.session.amr.iter().any(|m| m == super::factor::AMR_MFA))
        });
        let Some(live) = usable else {
            return match req.prompt {
                Prompt::None => refuse(AuthorizeRefusal::LoginRequired),
                Prompt::Default | Prompt::Login => Ok(SessionAnswer::SignIn),
            };
        };
        // A new passkey signs in on its own and outlives a password
        // change: only a sign-in of the last few minutes may add one.
        if req.register_passkey && live.session.older_than(super::REGISTRATION_MAX_AGE, now) {
            return Ok(SessionAnswer::SignIn);
        }
        if req.register_passkey {
            let offer =
                self.registration_offer(req, &live.session.token_hash, &live.user, issuer_url)?;
            return Ok(SessionAnswer::RegisterPasskey(offer));
        }
        if self.needs_consent(req, live.user.id).await? {
            if req.prompt == Prompt::None {
                return refuse(AuthorizeRefusal::ConsentRequired);
            }
            let offer = self.consent_offer(req, &live.session.token_hash, &live.user)?;
            return Ok(SessionAnswer::Consent(offer));
        }
        match self.session_code(req, live, origin).await? {
            Some(code) => Ok(SessionAnswer::Code(code)),
            None => match req.prompt {
                Prompt::None => refuse(AuthorizeRefusal::LoginRequired),
                Prompt::Default | Prompt::Login => Ok(SessionAnswer::SignIn),
            },
        }
    }

    /// A code for `req` from the live session: a family joins the session
    /// and the code names it. `None` when the session ended meanwhile.
    pub(super) async fn session_code(
        &self,
        req: &AuthorizationRequest,
        LiveSession { session, user }: LiveSession,
        origin: &Origin<'_>,
    ) -> Result<Option<AuthCode>, Fault> {
        let now = self.now();
        let link = SessionLink::from(&session);
        let binding = ClientBinding {
            client_id: req.client.id.clone(),
            scope: req.scope.clone(),
            resource: req.resource.as_ref().map(|r| r.uri.clone()),
            // Bound at the code's redemption, to the key of its proof.
            dpop_jkt: None,
        };
        let (family, first) = self.new_family(&user, Some(binding), Some(link), origin, now)?;
        let idle_until =
            BrowserSession::next_idle(&self.settings.sessions, now, session.expires_at);
        // The family is written before the session records it, so a log out
        // that ends the session after the record finds the family to revoke;
        // the code goes out only once the record held.
        let (code, ()) = tokio::try_join!(self.store_code(req, &family, &first, now), async {
            let put: Result<(), Fault> = Ok(self.store.put_refresh_family(&family).await?);
            put
        })?;
        let used = self
            .store
            .use_browser_session(
                &session.token_hash,
                now,
                idle_until,
                &req.client.id,
                &family.id,
            )
            .await?;
        if used.is_none() {
            // Ended meanwhile: the code was never given out; its family
            // ends so nothing of it can be used.
            self.store.revoke_family(&family.id, None, now).await?;
            return Ok(None);
        }
        audit::browser_session_used(origin, &user.username, &session.id, req.client.id.as_str());
        Ok(Some(code))
    }
}
