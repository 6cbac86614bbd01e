//! Passkeys at the login page (API §13): a sign-in with a discoverable
//! credential alone, and the registration a signed-in user is offered when
//! the request asks (`action=register-passkey`). As with the code step,
//! nothing is stored between the page and its post: each page's challenge
//! is a token the form key MACs, bound to the authorization request (and a
//! registration's also to the browser session and its user). A sign-in's
//! challenge is spent when used, so one assertion signs in once even with
//! an authenticator that keeps no counter.

use super::form_token::token_input;
use super::session::LiveSession;
use super::{AuthCode, AuthorizationRequest, PasskeyRegistration, SignedIn};
use crate::core::audit::{self, Origin};
use crate::core::error::{Error, Fault, Refusal};
use crate::core::record::passkey::{
    challenge_hash, relying_party, verify_assertion, verify_registration, Assertion, Ceremony,
};
use crate::core::record::token::{random, token_hash};
use crate::core::record::user::User;
use crate::core::sign::Signer;
use crate::core::store::{
    BrowserSessionStore, ClientStore, CodeStore, ConsentStore, FactorStore, FamilyStore,
    PasskeyStore, ThrottleStore, UserStore,
};
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a passkey page may be used.
pub const PASSKEY_FORM_TTL_SECS: i64 = 10 * 60;

/// The RFC 8176 method of the user verification a passkey requires.
pub const AMR_USER: &str = "user";

/// A passkey sign-in as the page posts it: the challenge token and the
/// assertion's parts, each base64url. No `Debug`: it holds a signature.
#[derive(Clone, Copy)]
pub struct PasskeySubmission<'a> {
    pub token: &'a str,
    pub credential_id: &'a str,
    pub client_data: &'a str,
    pub authenticator_data: &'a str,
    pub signature: &'a str,
    pub user_handle: &'a str,
}

/// What a registration page's post leads to.
pub enum Registered {
    /// Back to the client with its code (the passkey stored, or declined).
    Code(AuthCode),
    /// The passkey did not verify or is registered already: the page
    /// again, with a new challenge.
    Again(PasskeyRegistration),
    /// A third-party client: the consent page next (API §14).
    Consent(super::ConsentOffer),
}

/// A registration page's post: its token, and the new credential's client
/// data and attestation (base64url), or `None` when the user declined.
#[derive(Clone, Copy)]
pub struct RegistrationSubmission<'a> {
    pub token: &'a str,
    pub response: Option<(&'a str, &'a str)>,
}

fn b64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A token's MACed input: a label no other form's starts with, its fields,
/// what it is bound to, and the request.
fn mac_input(label: &[u8], fields: &[u8], bound: &[u8], req: &AuthorizationRequest) -> Vec<u8> {
    let expires = fields
        .first_chunk::<8>()
        .map_or(0, |e| i64::from_be_bytes(*e));
    let mut data = label.to_vec();
    data.extend_from_slice(fields);
    data.extend_from_slice(bound);
    data.push(0);
    data.extend_from_slice(&token_input(req, expires));
    data
}

const SIGN_IN: &[u8] = b"passkey\0";
const REGISTER: &[u8] = b"passkey-new\0";
/// `expires ‖ nonce` of a sign-in's token.
const SIGN_IN_FIELDS: usize = 8 + 16;
/// `expires ‖ nonce ‖ user id ‖ token version` of a registration's.
const REGISTER_FIELDS: usize = 8 + 16 + 16 + 8;

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    fn passkey_token(
        &self,
        label: &[u8],
        mut fields: Vec<u8>,
        bound: &[u8],
        req: &AuthorizationRequest,
    ) -> String {
        let mac = self
            .signer()
            .form_mac(&mac_input(label, &fields, bound, req));
        fields.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(fields)
    }

    /// The token's bytes and fields, if it was made for this request (and
    /// `bound`) and is still good.
    fn open_passkey_token(
        &self,
        label: &[u8],
        len: usize,
        token: &str,
        bound: &[u8],
        req: &AuthorizationRequest,
    ) -> Option<(Vec<u8>, i64)> {
        let raw = b64(token)?;
        let fields = raw.get(..len)?;
        let mac = raw.get(len..)?;
        let expires = i64::from_be_bytes(*fields.first_chunk::<8>()?);
        let now = self.now().unix_timestamp();
        let fresh = expires > now && expires <= now + PASSKEY_FORM_TTL_SECS;
        (fresh
            && self
                .signer()
                .form_mac_matches(&mac_input(label, fields, bound, req), mac))
        .then_some((raw, expires))
    }

    /// The challenge of a login page's passkey sign-in (base64url): also
    /// the token its form posts back.
    pub fn passkey_challenge(&self, req: &AuthorizationRequest) -> Result<String, Fault> {
        let expires = self.now().unix_timestamp() + PASSKEY_FORM_TTL_SECS;
        let nonce: [u8; 16] = random()?;
        let mut fields = expires.to_be_bytes().to_vec();
        fields.extend_from_slice(&nonce);
        Ok(self.passkey_token(SIGN_IN, fields, b"", req))
    }

    /// A registration for `user`, signed in to the session whose cookie
    /// hashes to `session_hash`.
    pub(super) fn registration_offer(
        &self,
        req: &AuthorizationRequest,
        session_hash: &str,
        user: &User,
        issuer_url: &str,
    ) -> Result<PasskeyRegistration, Fault> {
        let expires = self.now().unix_timestamp() + PASSKEY_FORM_TTL_SECS;
        let nonce: [u8; 16] = random()?;
        let mut fields = expires.to_be_bytes().to_vec();
        fields.extend_from_slice(&nonce);
        fields.extend_from_slice(user.id.as_bytes());
        fields.extend_from_slice(&user.token_version.to_be_bytes());
        Ok(PasskeyRegistration {
            token: self.passkey_token(REGISTER, fields, session_hash.as_bytes(), req),
            user_handle: URL_SAFE_NO_PAD.encode(user.id.as_bytes()),
            username: user.username.as_str().to_string(),
            rp_id: relying_party(issuer_url).1,
            exclude: user.factors.passkeys.iter().map(|p| p.id_text()).collect(),
        })
    }
}

impl<S, K> Issuer<S, K>
where
    S: BrowserSessionStore
        + ClientStore
        + CodeStore
        + ConsentStore
        + FactorStore
        + FamilyStore
        + PasskeyStore
        + ThrottleStore
        + UserStore,
    K: Signer + ?Sized,
{
    /// The login page's passkey post: a good assertion of a registered
    /// passkey signs its user in, with `amr` `hwk` or `swk`, `user` and
    /// `mfa`. Its check is an attempt under §2's rules like a password's,
    /// once the credential names a user. A token that is not this
    /// request's live challenge is [`Refusal::InvalidSession`]; every
    /// other failure [`Refusal::InvalidCredentials`].
    pub async fn sign_in_with_passkey(
        &self,
        req: &AuthorizationRequest,
        sub: PasskeySubmission<'_>,
        device: Option<&str>,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<SignedIn, Error> {
        let Some((challenge, expires)) =
            self.open_passkey_token(SIGN_IN, SIGN_IN_FIELDS, sub.token, b"", req)
        else {
            return Err(Refusal::InvalidSession.into());
        };
        let failed = |username: Option<&str>, method: &str, why: &str| {
            audit::second_factor_failed(origin, username, method, why);
            Error::Refused(Refusal::InvalidCredentials)
        };
        let parts = (
            b64(sub.credential_id),
            b64(sub.client_data),
            b64(sub.authenticator_data),
            b64(sub.signature),
            b64(sub.user_handle),
        );
        let (Some(id), Some(client_data), Some(authenticator_data), Some(signature), Some(handle)) =
            parts
        else {
            return Err(failed(None, "passkey", "the assertion is not base64url"));
        };
        let Some(owner) = self.store.passkey_owner(&id).await? else {
            return Err(failed(None, "passkey", "no passkey has this credential id"));
        };
        let (rp_origin, rp_id) = relying_party(issuer_url);
        let ceremony = Ceremony {
            challenge: &challenge,
            origin: &rp_origin,
            rp_id: &rp_id,
        };
        let assertion = Assertion {
            client_data: &client_data,
            authenticator_data: &authenticator_data,
            signature: &signature,
            user_handle: &handle,
        };
        let device = device.map(|d| SecretString::from(d.to_string()));
        let mut method = "passkey";
        let checked = self
            .authenticate_with(owner.as_str(), device.as_ref(), origin, |user| async {
                let Some(user) = user.filter(|u| u.enabled) else {
                    return Err(failed(Some(owner.as_str()), "passkey", "no such user"));
                };
                let Some(passkey) = user.factors.passkey(&id) else {
                    return Err(failed(
                        Some(owner.as_str()),
                        "passkey",
                        "not the user's passkey",
                    ));
                };
                method = passkey.amr();
                let used =
                    match verify_assertion(&ceremony, passkey, user.id.as_bytes(), &assertion) {
                        Ok(used) => used,
                        Err(why) => {
                            return Err(failed(Some(owner.as_str()), method, &why.to_string()))
                        }
                    };
                // A MACed expiry within the form's life: always a time.
                let expiry =
                    OffsetDateTime::from_unix_timestamp(expires).unwrap_or_else(|_| self.now());
                if !self
                    .store
                    .spend_challenge(&challenge_hash(&challenge), expiry)
                    .await?
                {
                    return Err(failed(
                        Some(owner.as_str()),
                        method,
                        "the challenge was used",
                    ));
                }
                let from = passkey.sign_count;
                if !self
                    .store
                    .use_passkey(&user.username, user.id, &id, from, used, self.now())
                    .await?
                {
                    return Err(failed(
                        Some(owner.as_str()),
                        method,
                        "the counter moved meanwhile",
                    ));
                }
                Ok(user)
            })
            .await?;
        let amr = [method, AMR_USER, super::factor::AMR_MFA]
            .map(String::from)
            .to_vec();
        self.complete_sign_in(req, checked, amr, cookie, issuer_url, origin)
            .await
    }

    /// A registration page's post: the new passkey is checked and stored
    /// (or the user declined), and the client gets its code from the
    /// session. A token that is not this session's and request's, or a
    /// session that ended, is [`Refusal::InvalidSession`].
    pub async fn finish_registration(
        &self,
        req: &AuthorizationRequest,
        sub: RegistrationSubmission<'_>,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<Registered, Error> {
        let expired = || Err(Error::Refused(Refusal::InvalidSession));
        let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
            return expired();
        };
        let session_hash = token_hash(cookie);
        let Some((raw, _)) = self.open_passkey_token(
            REGISTER,
            REGISTER_FIELDS,
            sub.token,
            session_hash.as_bytes(),
            req,
        ) else {
            return expired();
        };
        let Some(LiveSession { session, user }) = self.browser_session(Some(cookie)).await? else {
            return expired();
        };
        let id_bytes = raw.get(24..40).and_then(|b| <[u8; 16]>::try_from(b).ok());
        let version = raw.get(40..48).and_then(|b| <[u8; 8]>::try_from(b).ok());
        if id_bytes.map(Uuid::from_bytes) != Some(user.id)
            || version.map(u64::from_be_bytes) != Some(user.token_version)
        {
            return expired();
        }
        if let Some((client_data, attestation)) = sub.response {
            let refuse = |why: &str| -> Result<Registered, Error> {
                audit::passkey_refused(origin, &user, why);
                let again = self.registration_offer(req, &session_hash, &user, issuer_url)?;
                Ok(Registered::Again(again))
            };
            let (Some(client_data), Some(attestation)) = (b64(client_data), b64(attestation))
            else {
                return refuse("the response is not base64url");
            };
            let (rp_origin, rp_id) = relying_party(issuer_url);
            let ceremony = Ceremony {
                challenge: &raw,
                origin: &rp_origin,
                rp_id: &rp_id,
            };
            let passkey =
                match verify_registration(&ceremony, &client_data, &attestation, self.now()) {
                    Ok(p) => p,
                    Err(why) => return refuse(&why.to_string()),
                };
            if !self
                .store
                .add_passkey(&user.username, user.id, &passkey)
                .await?
            {
                return refuse("registered already, or the user has the most passkeys");
            }
            audit::passkey_registered(origin, &user, &passkey.id_text(), passkey.backup_eligible);
        }
        if self.needs_consent(req, user.id).await? {
            let offer = self.consent_offer(req, &session_hash, &user)?;
            return Ok(Registered::Consent(offer));
        }
        // The session's checks against this request (`max_age`, the hint)
        // were made when the offer was shown, at most the token's life ago.
        match self
            .session_code(req, LiveSession { session, user }, origin)
            .await?
        {
            Some(code) => Ok(Registered::Code(code)),
            None => expired(),
        }
    }
}
