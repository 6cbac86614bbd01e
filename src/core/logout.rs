//! Log out of a browser session (API §12; OpenID Connect RP-Initiated
//! Logout 1.0 and Back-Channel Logout 1.0): which session a request may
//! end, and what ending one does. Every refresh family issued in the
//! session is revoked (so introspection and the authorizer refuse its
//! access tokens within their bound), and each app that got tokens in it
//! and registered a back-channel URI is sent a logout token
//! ([`super::backchannel`]).

use super::audit::{self, Origin};
use super::authorize::Param;
use super::backchannel::{self, SessionsEnded, Teller, Told};
use super::error::Fault;
use super::record::claims::IdTokenHint;
use super::record::client::{Client, ClientId, RedirectUri};
use super::record::token::token_hash;
use super::sign::Signer;
use super::store::{BrowserSessionStore, ClientStore, FamilyStore, StoreError};
use super::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use uuid::Uuid;

/// Longest `state` echoed back, in bytes.
pub const MAX_LOGOUT_STATE_BYTES: usize = 1024;

/// The parameters of `GET` or `POST /oauth2/logout`, as received.
#[derive(Debug, Clone, Copy)]
pub struct LogoutParams<'a> {
    pub id_token_hint: Param<'a>,
    pub client_id: Param<'a>,
    pub post_logout_redirect_uri: Param<'a>,
    pub state: Param<'a>,
}

/// A log out request that passed its checks.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    /// The app asking, by `client_id` or the hint's audience.
    pub client: Option<Client>,
    /// Where to send the browser afterwards: registered for `client`.
    pub redirect: Option<RedirectUri>,
    pub state: Option<String>,
    /// The verified `id_token_hint`.
    hint: Option<IdTokenHint>,
}

/// Why a log out request is refused with an error page: the browser is
/// never redirected, since where to is what is in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoutRefusal {
    #[error("A parameter is repeated.")]
    RepeatedParameter,
    #[error("The id_token_hint is not an ID token of this issuer.")]
    InvalidIdTokenHint,
    #[error("The application is not registered, or is disabled.")]
    UnknownClient,
    #[error("The client_id is not the audience of the id_token_hint.")]
    ClientMismatch,
    #[error("A post_logout_redirect_uri needs a client_id or an id_token_hint.")]
    RedirectWithoutClient,
    #[error("The post_logout_redirect_uri is not one registered for this application.")]
    UnregisteredRedirectUri,
    #[error("The state is too long or not printable.")]
    MalformedState,
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("{0}")]
    Refused(LogoutRefusal),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for LogoutError {
    fn from(e: StoreError) -> Self {
        Self::Fault(e.into())
    }
}

/// What a log out did, or must ask first.
#[derive(Debug)]
pub enum LogoutAnswer {
    /// The session ended: the apps told, and how many failed to hear it.
    Ended { notified: usize, failed: usize },
    /// The browser has no live session: nothing to end.
    NothingToEnd,
    /// The request cannot show it comes from this session's app (no or
    /// another session's `id_token_hint`): the user must confirm.
    Confirm,
}

/// How long a log out confirmation may be submitted.
pub const LOGOUT_FORM_TTL_SECS: i64 = 10 * 60;

/// What the confirmation's token authenticates: a label (no login form's
/// input starts so), the expiry, the hash of the session cookie, and the
/// request as the form carries it, each field ended by a NUL.
fn logout_form_input(cookie: Option<&str>, req: &LogoutRequest, expires: i64) -> Vec<u8> {
    let mut data = b"logout\0".to_vec();
    data.extend_from_slice(&expires.to_be_bytes());
    let session = cookie.map(token_hash).unwrap_or_default();
    for field in [
        session.as_str(),
        req.client.as_ref().map_or("", |c| c.id.as_str()),
        req.redirect.as_ref().map_or("", |u| u.as_str()),
        req.state.as_deref().unwrap_or(""),
    ] {
        data.extend_from_slice(field.as_bytes());
        data.push(0);
    }
    data
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl<S: BrowserSessionStore + ClientStore + FamilyStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Checks a log out request: the hint (signature and issuer; it may
    /// have expired), the client, and the redirect URI registered for it.
    pub async fn check_logout(
        &self,
        p: &LogoutParams<'_>,
        issuer_url: &str,
    ) -> Result<LogoutRequest, LogoutError> {
        let refuse = |r| Err(LogoutError::Refused(r));
        let (Ok(hint), Ok(client_id), Ok(redirect), Ok(state)) = (
            p.id_token_hint,
            p.client_id,
            p.post_logout_redirect_uri,
            p.state,
        ) else {
            return refuse(LogoutRefusal::RepeatedParameter);
        };
        if state.is_some_and(|s| s.len() > MAX_LOGOUT_STATE_BYTES || !printable(s)) {
            return refuse(LogoutRefusal::MalformedState);
        }
        let hint = match hint {
            None => None,
            Some(raw) => match self.keys.verify_id_token(raw) {
                Some(h) if h.iss == issuer_url => Some(h),
                _ => return refuse(LogoutRefusal::InvalidIdTokenHint),
            },
        };
        let named = match (client_id, &hint) {
            (Some(id), Some(h)) if id != h.aud => return refuse(LogoutRefusal::ClientMismatch),
            (Some(id), _) => Some(id),
            (None, Some(h)) => Some(h.aud.as_str()),
            (None, None) => None,
        };
        let client = match named {
            None => None,
            Some(raw) => {
                let found = match ClientId::parse(raw) {
                    Ok(id) => self.store.get_client(&id).await?,
                    Err(_) => None,
                };
                match found.filter(|c| c.is_active(self.now())) {
                    Some(c) => Some(c),
                    None => return refuse(LogoutRefusal::UnknownClient),
                }
            }
        };
        let redirect = match (redirect, &client) {
            (None, _) => None,
            (Some(_), None) => return refuse(LogoutRefusal::RedirectWithoutClient),
            (Some(raw), Some(c)) => match c.post_logout_redirect_uri(raw) {
                Some(u) => Some(u.clone()),
                None => return refuse(LogoutRefusal::UnregisteredRedirectUri),
            },
        };
        Ok(LogoutRequest {
            client,
            redirect,
            state: state.map(str::to_string),
            hint,
        })
    }

    /// A checked request from the browser whose session cookie is
    /// `cookie`: ends the session at once when the hint shows the request
    /// comes from it; otherwise the user must confirm.
    pub async fn logout(
        &self,
        req: &LogoutRequest,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<LogoutAnswer, Fault> {
        let Some(hash) = cookie
            .filter(|c| !c.is_empty() && c.len() <= 128)
            .map(token_hash)
        else {
            return Ok(LogoutAnswer::NothingToEnd);
        };
        let now = self.now();
        let Some(session) = self
            .store
            .get_browser_session(&hash)
            .await?
            .filter(|s| s.is_live(now))
        else {
            return Ok(LogoutAnswer::NothingToEnd);
        };
        let ours = req.hint.as_ref().is_some_and(|h| match &h.sid {
            Some(sid) => *sid == session.id,
            None => h.sub == session.user_id.to_string(),
        });
        if !ours {
            return Ok(LogoutAnswer::Confirm);
        }
        self.end_browser_session(&hash, issuer_url, origin).await
    }

    /// The user confirmed: ends the session `cookie` names, if live.
    pub async fn confirm_logout(
        &self,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<LogoutAnswer, Fault> {
        match cookie.filter(|c| !c.is_empty() && c.len() <= 128) {
            Some(c) => {
                self.end_browser_session(&token_hash(c), issuer_url, origin)
                    .await
            }
            None => Ok(LogoutAnswer::NothingToEnd),
        }
    }

    /// Ends the session stored under `hash` if it is live: its families
    /// revoked, its apps told.
    pub(super) async fn end_browser_session(
        &self,
        hash: &str,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<LogoutAnswer, Fault> {
        let now = self.now();
        let Some(ended) = self.store.end_browser_session(hash, now).await? else {
            return Ok(LogoutAnswer::NothingToEnd);
        };
        let revokes = ended
            .families
            .iter()
            .map(|f| self.store.revoke_family(f, None, now));
        for revoked in futures_util::future::join_all(revokes).await {
            revoked?;
        }
        audit::browser_session_ended(origin, &ended.username, &ended.id, ended.families.len());
        let told = match self.teller(issuer_url) {
            Some(teller) => teller.tell_apps(&self.store, &ended, origin).await,
            None => Told::default(),
        };
        Ok(LogoutAnswer::Ended {
            notified: told.notified,
            failed: told.failed,
        })
    }

    /// Ends every session of `user_id` begun below token version
    /// `version`, and tells their apps ([`backchannel::end_sessions_of`]).
    pub async fn end_sessions_of(
        &self,
        user_id: Uuid,
        version: u64,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<SessionsEnded, Fault> {
        let teller = self.teller(issuer_url);
        let now = self.now();
        Ok(backchannel::end_sessions_of(
            &self.store,
            teller.as_ref(),
            user_id,
            version,
            now,
            origin,
        )
        .await?)
    }

    /// What tells apps of an end now, if this issuer tells apps at all.
    fn teller<'a>(&'a self, issuer_url: &'a str) -> Option<Teller<'a, K>> {
        Some(Teller {
            signer: self.signer(),
            channel: self.back_channel.as_deref()?,
            issuer_url,
            now: self.now(),
        })
    }

    /// The confirmation form's token: binds the user's confirmation to
    /// this browser's session (`cookie`) and to the request the form
    /// carries back, for [`LOGOUT_FORM_TTL_SECS`] from `now` (unix seconds).
    /// Another site cannot make one, so it cannot post a log out (CSRF).
    pub fn logout_form_token(&self, cookie: Option<&str>, req: &LogoutRequest, now: i64) -> String {
        let expires = now + LOGOUT_FORM_TTL_SECS;
        let mac = self
            .signer()
            .form_mac(&logout_form_input(cookie, req, expires));
        let mut raw = expires.to_be_bytes().to_vec();
        raw.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether `token` was made for this session and request, and is still
    /// good at `now`.
    pub fn logout_form_token_valid(
        &self,
        cookie: Option<&str>,
        req: &LogoutRequest,
        token: &str,
        now: i64,
    ) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let Some((expires, mac)) = raw.split_first_chunk::<8>() else {
            return false;
        };
        let expires = i64::from_be_bytes(*expires);
        expires > now
            && expires <= now + LOGOUT_FORM_TTL_SECS
            && self
                .signer()
                .form_mac_matches(&logout_form_input(cookie, req, expires), mac)
    }
}
