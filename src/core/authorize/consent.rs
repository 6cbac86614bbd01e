//! Consent (API §14): a third-party client (one that registered itself)
//! gets its code only once the signed-in user allowed it the scopes it
//! asks for. An allowance is remembered per user and client; `prompt=consent`
//! asks again. Clients an operator registered are trusted and never ask.
//!
//! Nothing is stored between the page and its post: the page's token is
//! MACed over the request, the session cookie's hash, the user and their
//! token version, like a passkey registration's.

use super::form_token::token_input;
use super::{AuthCode, AuthorizationRequest};
use crate::core::audit::{self, Origin};
use crate::core::error::{Error, Fault, Refusal};
use crate::core::record::consent::{scope_in_words, Consent};
use crate::core::record::token::{random, token_hash};
use crate::core::record::user::User;
use crate::core::sign::Signer;
use crate::core::store::{
    BrowserSessionStore, ClientStore, CodeStore, ConsentStore, FamilyStore, UserStore,
};
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

/// How long a consent page may be answered.
pub const CONSENT_FORM_TTL_SECS: i64 = 10 * 60;

const LABEL: &[u8] = b"consent\0";
/// `expires ‖ nonce ‖ user id ‖ token version`.
const FIELDS: usize = 8 + 16 + 16 + 8;

/// What the consent page shows and posts back.
pub struct ConsentOffer {
    /// The form's token (base64url).
    pub token: String,
    /// The redirect URI's host, where the browser goes next.
    pub redirect_host: String,
    /// Each scope asked for, in words.
    pub scopes: Vec<String>,
    pub username: String,
}

/// The consent page's answer: its token, and whether the user allowed.
#[derive(Clone, Copy)]
pub struct ConsentSubmission<'a> {
    pub token: &'a str,
    pub allow: bool,
}

/// Where a consent page's answer goes.
pub enum Consented {
    /// Allowed: back to the client with its code.
    Code(AuthCode),
    /// Denied: back to the client with `access_denied`.
    Denied,
}

fn mac_input(fields: &[u8], session_hash: &str, req: &AuthorizationRequest) -> Vec<u8> {
    let expires = fields
        .first_chunk::<8>()
        .map_or(0, |e| i64::from_be_bytes(*e));
    let mut data = LABEL.to_vec();
    data.extend_from_slice(fields);
    data.extend_from_slice(session_hash.as_bytes());
    data.push(0);
    data.extend_from_slice(&token_input(req, expires));
    data
}

impl<S: ConsentStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Whether `user` must be asked before `req`'s client gets a code.
    pub(super) async fn needs_consent(
        &self,
        req: &AuthorizationRequest,
        user_id: Uuid,
    ) -> Result<bool, Fault> {
        if !req.client.third_party {
            return Ok(false);
        }
        if req.force_consent {
            return Ok(true);
        }
        let given = self.store.get_consent(user_id, &req.client.id).await?;
        Ok(!given.is_some_and(|c| c.covers(&req.scope)))
    }

    /// The consent page for `user`, signed in to the session whose cookie
    /// hashes to `session_hash`.
    pub(super) fn consent_offer(
        &self,
        req: &AuthorizationRequest,
        session_hash: &str,
        user: &User,
    ) -> Result<ConsentOffer, Fault> {
        let expires = self.now().unix_timestamp() + CONSENT_FORM_TTL_SECS;
        let nonce: [u8; 16] = random()?;
        let mut fields = expires.to_be_bytes().to_vec();
        fields.extend_from_slice(&nonce);
        fields.extend_from_slice(user.id.as_bytes());
        fields.extend_from_slice(&user.token_version.to_be_bytes());
        let mac = self
            .signer()
            .form_mac(&mac_input(&fields, session_hash, req));
        fields.extend_from_slice(&mac);
        Ok(ConsentOffer {
            token: URL_SAFE_NO_PAD.encode(fields),
            redirect_host: req.redirect_uri.origin().to_string(),
            scopes: req.scope.iter().map(scope_in_words).collect(),
            username: user.username.as_str().to_string(),
        })
    }

    /// The user and token version a consent token names, if it was made
    /// for this request and session and is still good.
    fn open_consent_token(
        &self,
        token: &str,
        session_hash: &str,
        req: &AuthorizationRequest,
    ) -> Option<(Uuid, u64)> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        let fields = raw.get(..FIELDS)?;
        let mac = raw.get(FIELDS..)?;
        let expires = i64::from_be_bytes(*fields.first_chunk::<8>()?);
        let now = self.now().unix_timestamp();
        let fresh = expires > now && expires <= now + CONSENT_FORM_TTL_SECS;
        let good = fresh
            && self
                .signer()
                .form_mac_matches(&mac_input(fields, session_hash, req), mac);
        let user = Uuid::from_bytes(fields.get(24..40)?.try_into().ok()?);
        let version = u64::from_be_bytes(fields.get(40..48)?.try_into().ok()?);
        good.then_some((user, version))
    }
}

impl<S, K> Issuer<S, K>
where
    S: BrowserSessionStore + ClientStore + CodeStore + ConsentStore + FamilyStore + UserStore,
    K: Signer + ?Sized,
{
    /// The consent page's post: the user's answer, in the session that was
    /// asked. Allowed, the allowance is remembered (with what was allowed
    /// before) and the code issued from the session.
    pub async fn finish_consent(
        &self,
        req: &AuthorizationRequest,
        sub: ConsentSubmission<'_>,
        cookie: Option<&str>,
        origin: &Origin<'_>,
    ) -> Result<Consented, Error> {
        let expired = || Err(Error::Refused(Refusal::InvalidSession));
        let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
            return expired();
        };
        let session_hash = token_hash(cookie);
        let Some((user_id, version)) = self.open_consent_token(sub.token, &session_hash, req)
        else {
            return expired();
        };
        let Some(live) = self.browser_session(Some(cookie)).await? else {
            return expired();
        };
        if live.user.id != user_id || live.user.token_version != version {
            return expired();
        }
        if !sub.allow {
            audit::consent_denied(origin, &live.user, &req.client.id);
            return Ok(Consented::Denied);
        }
        let now = self.now();
        let before = self.store.get_consent(user_id, &req.client.id).await?;
        let consent = Consent::widened(before.as_ref(), user_id, &req.client.id, &req.scope, now);
        self.store.put_consent(&consent).await?;
        audit::consent_given(origin, &live.user, &req.client.id, &req.scope.to_string());
        match self.session_code(req, live, origin).await? {
            Some(code) => Ok(Consented::Code(code)),
            None => expired(),
        }
    }
}
