//! Telling apps that a browser session ended (API §12; Back-Channel Logout
//! 1.0): each app that got tokens in the session and registered a
//! back-channel URI is sent its own logout token, all at once, each within
//! [`DELIVERY_BOUND`]. A failure is logged and counted, never the caller's
//! error. The function tells apps when a user logs out or changes the
//! password; `token-admin` when it disables, deletes or logs a user out
//! everywhere.

use super::audit::{self, Origin};
use super::error::Fault;
use super::notify::BackChannel;
use super::record::browser::BrowserSession;
use super::record::claims::{LogoutClaims, BACKCHANNEL_LOGOUT_EVENT};
use super::record::client::ClientId;
use super::record::token;
use super::sign::{self, Signer, TokenType};
use super::store::{BrowserSessionStore, ClientStore, StoreError};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long an app may take to accept a logout token; the user waits no
/// longer (the deliveries run at once).
pub const DELIVERY_BOUND: Duration = Duration::from_secs(2);
/// How long a logout token is good for.
const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

/// How many apps heard of an end, and how many could not be told.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    pub notified: usize,
    pub failed: usize,
}

impl std::ops::Add for Told {
    type Output = Told;
    fn add(self, other: Told) -> Told {
        Told {
            notified: self.notified + other.notified,
            failed: self.failed + other.failed,
        }
    }
}

/// What ending a user's sessions did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionsEnded {
    pub sessions: usize,
    pub told: Told,
}

/// What tells apps: the signer of logout tokens, the channel they go by,
/// the issuer they name, and the time of the end.
pub struct Teller<'a, K: Signer + ?Sized> {
    pub signer: &'a K,
    pub channel: &'a dyn BackChannel,
    pub issuer_url: &'a str,
    pub now: OffsetDateTime,
}

impl<K: Signer + ?Sized> Teller<'_, K> {
    /// Tells every app of `session` that registered a back-channel URI.
    pub async fn tell_apps<S: ClientStore>(
        &self,
        store: &S,
        session: &BrowserSession,
        origin: &Origin<'_>,
    ) -> Told {
        let results = futures_util::future::join_all(
            session
                .clients
                .iter()
                .map(|c| async move { (c, self.tell_app(store, session, c).await) }),
        )
        .await;
        let mut told = Told::default();
        for (client, result) in results {
            match result {
                None => {}
                Some(Ok(())) => {
                    told.notified += 1;
                    audit::backchannel_logout(origin, client, &session.id, None);
                }
                Some(Err(why)) => {
                    told.failed += 1;
                    audit::backchannel_logout(origin, client, &session.id, Some(&why));
                }
            }
        }
        told
    }

    /// Tells one app, if it registered a back-channel URI: `None` when it
    /// did not, else whether it accepted the token within the bound.
    async fn tell_app<S: ClientStore>(
        &self,
        store: &S,
        session: &BrowserSession,
        client: &ClientId,
    ) -> Option<Result<(), String>> {
        let found = match store.get_client(client).await {
            Ok(c) => c,
            Err(e) => return Some(Err(e.to_string())),
        };
        let uri = found?.logout.backchannel?;
        let token = match self.logout_token(session, client) {
            Ok(t) => t,
            Err(e) => return Some(Err(e.to_string())),
        };
        let sent = tokio::time::timeout(DELIVERY_BOUND, self.channel.deliver(uri.as_str(), &token));
        Some(match sent.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 2 seconds".to_string()),
        })
    }

    /// A logout token for `client` of `session`'s end.
    fn logout_token(&self, session: &BrowserSession, client: &ClientId) -> Result<String, Fault> {
        let iat = self.now.unix_timestamp();
        let claims = LogoutClaims {
            iss: self.issuer_url,
            aud: client.as_str(),
            iat,
            exp: iat + LOGOUT_TOKEN_TTL_SECS,
            jti: token::new_jti()?,
            sub: session.user_id.to_string(),
            sid: &session.id,
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
        };
        Ok(sign::sign(self.signer, TokenType::LogoutToken, &claims)?)
    }
}

/// Ends every session of `user_id` that a change of the user already
/// refuses: one begun below token version `version` (the version a disable,
/// a password change or `revoke-tokens` raised; `u64::MAX` for a deleted
/// user), so one begun since is spared. Each is marked ended at `now` and,
/// given a `teller`, its apps are told, all at once. Its refresh families
/// need no revoking: the raised version already refuses them.
pub async fn end_sessions_of<S, K>(
    store: &S,
    teller: Option<&Teller<'_, K>>,
    user_id: Uuid,
    version: u64,
    now: OffsetDateTime,
    origin: &Origin<'_>,
) -> Result<SessionsEnded, StoreError>
where
    S: BrowserSessionStore + ClientStore,
    K: Signer + ?Sized,
{
    let sessions = store.user_browser_sessions(user_id).await?;
    let ends = sessions
        .iter()
        .filter(|s| s.is_live(now) && s.token_version < version)
        .map(|s| store.end_browser_session(&s.token_hash, now));
    let mut ended = Vec::new();
    for end in futures_util::future::join_all(ends).await {
        // `None`: a log out ended it meanwhile, and told its apps.
        if let Some(session) = end? {
            audit::browser_session_ended(origin, &session.username, &session.id, 0);
            ended.push(session);
        }
    }
    let told = match teller {
        Some(t) => {
            futures_util::future::join_all(ended.iter().map(|s| t.tell_apps(store, s, origin)))
                .await
                .into_iter()
                .fold(Told::default(), |a, b| a + b)
        }
        None => Told::default(),
    };
    Ok(SessionsEnded {
        sessions: ended.len(),
        told,
    })
}
