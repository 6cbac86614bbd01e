//! The login page's second step (API §13): after a right password, a user
//! who has a one-time-code app, or must have one, gives a code (or a
//! recovery code), or enrols first. Nothing is stored between the steps:
//! the next form carries the pending sign-in in a token the form key MACs
//! (bound to the authorization request and the username), and an enrolment
//! also the new secret and recovery codes, sealed for the user. Each code
//! is an attempt under §2's rules, counted before it is checked.

use super::form_token::token_input;
use super::{AuthorizationRequest, SignedIn};
use crate::core::audit::{self, Origin};
use crate::core::error::{Error, Refusal};
use crate::core::login::{Authenticated, Credentials, PasswordRoute};
use crate::core::record::browser::AMR_PASSWORD;
use crate::core::record::factor::{recovery_hash, RecoveryCode, TotpSecret, TOTP_SECRET_BYTES};
use crate::core::record::user::User;
use crate::core::seal::{SealError, Sealer};
use crate::core::sign::Signer;
use crate::core::store::{
    BrowserSessionStore, ClientStore, CodeStore, ConsentStore, FactorStore, FamilyStore,
    ThrottleStore, TotpEnrolment, UserStore,
};
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

/// The RFC 8176 methods of a sign-in with a password and a code.
pub const AMR_OTP: &str = "otp";
pub const AMR_MFA: &str = "mfa";
/// How long the code or enrolment form may be submitted.
pub const FACTOR_FORM_TTL_SECS: i64 = 10 * 60;

/// What the login page's password step leads to.
pub enum PasswordStep {
    /// Signed in with the password alone.
    SignedIn(SignedIn),
    /// The page asks for a code; `token` carries the pending sign-in of
    /// `username` (its normal form, which the next form carries back).
    Code { token: String, username: String },
    /// The page enrols the user first.
    Enrol(Enrolment),
}

/// What the enrolment page shows, once per pending sign-in: the secret (as
/// base32 and as the `otpauth://` URI its QR code holds) and the recovery
/// codes, which the page shows now and never again.
pub struct Enrolment {
    pub token: String,
    pub username: String,
    pub secret: TotpSecret,
    pub otpauth: String,
    pub recovery: Vec<RecoveryCode>,
}

/// The second step's post: the pending sign-in's username and token, and
/// the code typed. No `Debug`: a `{:?}` would print the code.
#[derive(Clone, Copy)]
pub struct CodeSubmission<'a> {
    pub username: &'a str,
    pub token: &'a str,
    pub code: &'a str,
}

/// A pending sign-in, as its form token carries it.
struct Pending {
    user_id: Uuid,
    token_version: u64,
    /// An enrolment's secret and recovery codes, sealed for the user.
    sealed: Option<Vec<u8>>,
}

/// What the token's MAC covers: a label no other form's input starts with,
/// the token's own fields, the username and the request.
fn factor_input(
    req: &AuthorizationRequest,
    username: &str,
    fields: &[u8],
    expires: i64,
) -> Vec<u8> {
    let mut data = b"factor\0".to_vec();
    data.extend_from_slice(fields);
    data.extend_from_slice(username.as_bytes());
    data.push(0);
    data.extend_from_slice(&token_input(req, expires));
    data
}

/// The fields of a pending sign-in: `expires ‖ user id ‖ version ‖ sealed
/// length (2) ‖ sealed`.
fn pending_fields(expires: i64, p: &Pending) -> Vec<u8> {
    let sealed = p.sealed.as_deref().unwrap_or_default();
    let mut out = expires.to_be_bytes().to_vec();
    out.extend_from_slice(p.user_id.as_bytes());
    out.extend_from_slice(&p.token_version.to_be_bytes());
    out.extend_from_slice(&(sealed.len() as u16).to_be_bytes());
    out.extend_from_slice(sealed);
    out
}

fn parse_fields(raw: &[u8]) -> Option<(i64, Pending, usize)> {
    let (expires, rest) = raw.split_first_chunk::<8>()?;
    let (id, rest) = rest.split_first_chunk::<16>()?;
    let (version, rest) = rest.split_first_chunk::<8>()?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let len = u16::from_be_bytes(*len) as usize;
    let sealed = rest.get(..len)?;
    Some((
        i64::from_be_bytes(*expires),
        Pending {
            user_id: Uuid::from_bytes(*id),
            token_version: u64::from_be_bytes(*version),
            sealed: (!sealed.is_empty()).then(|| sealed.to_vec()),
        },
        8 + 16 + 8 + 2 + len,
    ))
}

/// The secret and recovery codes an enrolment carries, as one blob.
fn enrolment_blob(secret: &TotpSecret, codes: &[RecoveryCode]) -> Vec<u8> {
    let mut blob = secret.expose().to_vec();
    let joined: Vec<&str> = codes.iter().map(RecoveryCode::expose).collect();
    blob.extend_from_slice(joined.join(",").as_bytes());
    blob
}

fn parse_blob(blob: &[u8]) -> Option<(TotpSecret, Vec<RecoveryCode>)> {
    let secret = TotpSecret::from_bytes(blob.get(..TOTP_SECRET_BYTES)?)?;
    let text = std::str::from_utf8(blob.get(TOTP_SECRET_BYTES..)?).ok()?;
    let codes = text
        .split(',')
        .map(RecoveryCode::from_shown)
        .collect::<Option<Vec<_>>>()?;
    Some((secret, codes))
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    fn sealer(&self) -> Result<&dyn Sealer, SealError> {
        self.sealer.as_deref().ok_or(SealError::NoKey)
    }

    /// Whether this sign-in needs a second factor: the user has one, an
    /// operator requires one of the user or of the client, or the request
    /// asks (`acr_values=mfa`).
    pub(super) fn wants_second_factor(&self, req: &AuthorizationRequest, user: &User) -> bool {
        user.factors.has_any() || user.mfa_required || req.client.require_mfa || req.wants_mfa
    }

    fn factor_token(&self, req: &AuthorizationRequest, username: &str, p: &Pending) -> String {
        let expires = self.now().unix_timestamp() + FACTOR_FORM_TTL_SECS;
        let mut raw = pending_fields(expires, p);
        let mac = self
            .signer()
            .form_mac(&factor_input(req, username, &raw, expires));
        raw.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The pending sign-in `token` carries, if it was made for this request
    /// and username and is still good.
    fn pending(&self, req: &AuthorizationRequest, username: &str, token: &str) -> Option<Pending> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (expires, pending, len) = parse_fields(&raw)?;
        let (fields, mac) = raw.split_at(len);
        let now = self.now().unix_timestamp();
        let fresh = expires > now && expires <= now + FACTOR_FORM_TTL_SECS;
        (fresh
            && self
                .signer()
                .form_mac_matches(&factor_input(req, username, fields, expires), mac))
        .then_some(pending)
    }

    /// The enrolment page of a pending enrolment again (a wrong code): the
    /// same secret and codes. `None` when `token` is not one.
    pub fn enrolment_again(
        &self,
        req: &AuthorizationRequest,
        username: &str,
        token: &str,
        issuer_url: &str,
    ) -> Option<Enrolment> {
        let p = self.pending(req, username, token)?;
        let blob = self
            .sealer()
            .ok()?
            .open(p.sealed.as_deref()?, p.user_id.as_bytes())
            .ok()?;
        let (secret, recovery) = parse_blob(&blob)?;
        Some(Enrolment {
            token: token.to_string(),
            username: username.to_string(),
            otpauth: secret.otpauth_uri(issuer_label(issuer_url), username),
            secret,
            recovery,
        })
    }
}

/// The name an authenticator app shows for this issuer: its host.
fn issuer_label(issuer_url: &str) -> &str {
    let rest = issuer_url.split_once("://").map_or(issuer_url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

impl<S, K> Issuer<S, K>
where
    S: BrowserSessionStore
        + ClientStore
        + CodeStore
        + ConsentStore
        + FactorStore
        + FamilyStore
        + ThrottleStore
        + UserStore,
    K: Signer + ?Sized,
{
    /// The login page's password post: signed in with the password alone,
    /// or on to the code or enrolment step (the password's counts settled).
    pub async fn sign_in_for_code(
        &self,
        req: &AuthorizationRequest,
        creds: Credentials,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<PasswordStep, Error> {
        let checked = self
            .authenticate(creds, PasswordRoute::Page, origin)
            .await?;
        if !self.wants_second_factor(req, &checked.user) {
            let amr = vec![AMR_PASSWORD.to_string()];
            return Ok(PasswordStep::SignedIn(
                self.complete_sign_in(req, checked, amr, cookie, issuer_url, origin)
                    .await?,
            ));
        }
        let Authenticated { user, settlement } = checked;
        self.settle(settlement).await?;
        let mut pending = Pending {
            user_id: user.id,
            token_version: user.token_version,
            sealed: None,
        };
        let username = user.username.as_str();
        // A code app asks for its code; without one (none yet, or passkeys
        // only) the user enrols one, since a password needs a second step.
        if user.factors.totp_sealed.is_some() {
            return Ok(PasswordStep::Code {
                token: self.factor_token(req, username, &pending),
                username: username.to_string(),
            });
        }
        let secret = TotpSecret::generate()?;
        let recovery = RecoveryCode::generate_set()?;
        let sealed = self
            .sealer()?
            .seal(&enrolment_blob(&secret, &recovery), user.id.as_bytes())?;
        pending.sealed = Some(sealed);
        Ok(PasswordStep::Enrol(Enrolment {
            token: self.factor_token(req, username, &pending),
            username: username.to_string(),
            otpauth: secret.otpauth_uri(issuer_label(issuer_url), username),
            secret,
            recovery,
        }))
    }

    /// The code step's post, or the enrolment's: the code (or a recovery
    /// code) is an attempt counted like a password; right, it completes the
    /// sign-in with `amr` `pwd otp mfa`. A token that is not a live pending
    /// sign-in for this request and username is
    /// [`Refusal::InvalidSession`]: the page starts over.
    pub async fn sign_in_with_code(
        &self,
        req: &AuthorizationRequest,
        CodeSubmission {
            username,
            token,
            code,
        }: CodeSubmission<'_>,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<SignedIn, Error> {
        let Some(pending) = self.pending(req, username, token) else {
            return Err(Refusal::InvalidSession.into());
        };
        let checked = self
            .authenticate_with(username, None, origin, |user| {
                self.check_code(user, &pending, code, origin)
            })
            .await?;
        let amr = [AMR_PASSWORD, AMR_OTP, AMR_MFA].map(String::from).to_vec();
        self.complete_sign_in(req, checked, amr, cookie, issuer_url, origin)
            .await
    }

    /// Checks a code for the pending sign-in's user; any mismatch is
    /// [`Refusal::InvalidCredentials`], a counted failure.
    async fn check_code(
        &self,
        user: Option<User>,
        pending: &Pending,
        code: &str,
        origin: &Origin<'_>,
    ) -> Result<User, Error> {
        let failed = |user: Option<&User>, why: &str| {
            let name = user.map(|u| u.username.as_str());
            audit::second_factor_failed(origin, name, AMR_OTP, why);
            Err(Error::Refused(Refusal::InvalidCredentials))
        };
        let Some(user) = user.filter(|u| {
            u.id == pending.user_id && u.token_version == pending.token_version && u.enabled
        }) else {
            return failed(None, "not the pending sign-in's user");
        };
        let wrong = |why: &str| failed(Some(&user), why);
        let now = self.now();
        let sealer = self.sealer()?;
        let context = user.id.as_bytes();
        if let Some(sealed) = &pending.sealed {
            // Enrolment: the secret is the one the page showed.
            let Some((secret, recovery)) = sealer
                .open(sealed, context)
                .ok()
                .and_then(|blob| parse_blob(&blob))
            else {
                return wrong("the enrolment cannot be opened");
            };
            let Some(step) = secret.matching_step(code, now, None) else {
                return wrong("wrong code");
            };
            let stored = sealer.seal(secret.expose(), context)?;
            let hashes: Vec<String> = recovery.iter().map(RecoveryCode::hash).collect();
            let enrolment = TotpEnrolment {
                sealed: &stored,
                step,
                recovery: &hashes,
                at: now,
            };
            if !self
                .store
                .enrol_totp(&user.username, user.id, &enrolment)
                .await?
            {
                // Enrolled meanwhile (another tab): that secret stands.
                return wrong("enrolled meanwhile");
            }
            audit::factor_enrolled(origin, &user);
            return Ok(user);
        }
        let secret = user
            .factors
            .totp_sealed
            .as_deref()
            .and_then(|s| sealer.open(s, context).ok())
            .and_then(|bytes| TotpSecret::from_bytes(&bytes));
        if let Some(step) = secret
            .as_ref()
            .and_then(|s| s.matching_step(code, now, user.factors.totp_last_step))
        {
            if self
                .store
                .use_totp_step(&user.username, user.id, step)
                .await?
            {
                return Ok(user);
            }
            // Spent meanwhile: a replay.
            return wrong("code already used");
        }
        if let Some(hash) = recovery_hash(code) {
            if self
                .store
                .use_recovery_code(&user.username, user.id, &hash)
                .await?
            {
                let left = user.factors.recovery.len().saturating_sub(1);
                audit::recovery_code_used(origin, &user, left);
                return Ok(user);
            }
        }
        wrong("wrong code")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_label_is_the_host() {
        assert_eq!(issuer_label("https://id.example.com"), "id.example.com");
        assert_eq!(issuer_label("http://127.0.0.1:9000/x"), "127.0.0.1");
        assert_eq!(issuer_label("odd"), "odd");
    }

    #[test]
    fn pending_fields_read_back() {
        let p = Pending {
            user_id: Uuid::new_v4(),
            token_version: 7,
            sealed: Some(vec![1, 2, 3]),
        };
        let mut raw = pending_fields(99, &p);
        raw.extend_from_slice(b"mac");
        let (expires, back, len) = parse_fields(&raw).unwrap();
        assert_eq!(
            (expires, back.user_id, back.token_version),
            (99, p.user_id, 7)
        );
        assert_eq!(back.sealed, p.sealed);
        assert_eq!(&raw[len..], b"mac");
        assert!(parse_fields(&raw[..20]).is_none());
    }

    #[test]
    fn an_enrolment_blob_reads_back() {
        let secret = TotpSecret::generate().unwrap();
        let codes = RecoveryCode::generate_set().unwrap();
        let (s, c) = parse_blob(&enrolment_blob(&secret, &codes)).unwrap();
        assert_eq!(s, secret);
        assert_eq!(
            c.iter().map(RecoveryCode::expose).collect::<Vec<_>>(),
            codes.iter().map(RecoveryCode::expose).collect::<Vec<_>>()
        );
    }
}
