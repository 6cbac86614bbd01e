//! The front channel of the authorization code flow with PKCE (RFC 6749
//! §4.1, RFC 7636): the checks of an authorization request and the sign-in
//! that issues a code. The code's redemption is a grant
//! (`oauth/authorization_code.rs`).
//!
//! A successful sign-in starts the refresh family at once, bound to the
//! client, and the code names it.

use super::audit::{self, Origin};
use super::error::{Error, Fault};
use super::login::Authenticated;
use super::oauth::grant_scope;
use super::record::browser::{BrowserSession, SessionLink, SignInAgain};
use super::record::client::{Client, GrantType, RedirectUri, Scopes};
use super::record::code::StoredCode;
use super::record::device::device_callback_url;
use super::record::family::{ClientBinding, RefreshFamily};
use super::record::resource::{Resource, ResourceUri};
use super::record::token::{random, token_hash, RefreshToken};
use super::record::user::Username;
use super::store::{
    BrowserSessionStore, ClientStore, CodeStore, ConsentStore, FamilyStore, RegistrationStore,
    ResourceStore, StoreError, ThrottleStore, UserStore,
};
use super::Issuer;
use crate::core::sign::Signer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

pub mod consent;
pub mod document;
pub mod factor;
pub mod form_token;
pub mod passkey;
pub mod session;

pub use consent::{ConsentOffer, ConsentSubmission, Consented};
pub use factor::{CodeSubmission, Enrolment, PasswordStep};
pub use passkey::{PasskeySubmission, Registered, RegistrationSubmission};
pub use session::{SessionAnswer, SessionCookie};

/// How long a code may be redeemed (RFC 6749 §4.1.2 recommends at most ten
/// minutes; a browser redirect takes seconds).
pub const CODE_TTL: Duration = Duration::seconds(60);
/// Longest `state` echoed back, in bytes.
pub const MAX_STATE_BYTES: usize = 1024;
/// Longest `nonce` put in an ID token, in bytes.
pub const MAX_NONCE_BYTES: usize = 512;
/// Longest `acr_values` accepted, in bytes.
pub const MAX_ACR_VALUES_BYTES: usize = 256;
/// Longest `login_hint` used to fill in the username, in bytes.
pub const MAX_LOGIN_HINT_BYTES: usize = 256;

/// A parameter of the request: absent (or empty), given once, or repeated
/// (RFC 6749 §3.1: "MUST NOT be included more than once").
pub type Param<'a> = Result<Option<&'a str>, Repeated>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// The parameters of `GET /oauth2/authorize` as received, and again (from
/// the login form's hidden fields) at `POST`.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeParams<'a> {
    pub response_type: Param<'a>,
    pub client_id: Param<'a>,
    pub redirect_uri: Param<'a>,
    pub scope: Param<'a>,
    pub state: Param<'a>,
    pub nonce: Param<'a>,
    pub code_challenge: Param<'a>,
    pub code_challenge_method: Param<'a>,
    pub response_mode: Param<'a>,
    pub prompt: Param<'a>,
    pub login_hint: Param<'a>,
    pub max_age: Param<'a>,
    pub id_token_hint: Param<'a>,
    pub request: Param<'a>,
    pub request_uri: Param<'a>,
    pub acr_values: Param<'a>,
    /// `action=register-passkey`: add a passkey to the account (API §13).
    pub action: Param<'a>,
    /// RFC 8707: the API the tokens are for (one per request here).
    pub resource: Param<'a>,
}

/// A request that passed every check: the page may be shown and a code issued.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: RedirectUri,
    /// As the client asked (the page's form carries it back unchanged).
    pub requested_scope: Option<String>,
    /// What the tokens will carry.
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub login_hint: Option<String>,
    /// What the request says of signing in again (API §12).
    pub prompt: Prompt,
    /// `max_age`: sign in again when the session's sign-in is older.
    pub max_age: Option<Duration>,
    /// `id_token_hint`, unverified: the session's decision checks it. A
    /// token, so a `{:?}` of the request never shows it.
    pub id_token_hint: Option<SecretString>,
    /// `acr_values` as the client sent them (the page's form carries them
    /// back unchanged).
    pub acr_values: Option<String>,
    /// `acr_values` names `mfa`: this sign-in needs a second factor.
    pub wants_mfa: bool,
    /// `action=register-passkey`: once signed in, the user is offered to
    /// register a passkey before returning to the client (API §13).
    pub register_passkey: bool,
    /// The registered resource the tokens are for (RFC 8707).
    pub resource: Option<Resource>,
    /// `prompt=consent`: a third-party client's consent page is shown even
    /// when the user allowed it before (API §14).
    pub force_consent: bool,
}

/// The one `action` value: register a passkey after signing in.
pub const REGISTER_PASSKEY: &str = "register-passkey";

/// The `prompt` values this issuer acts on (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prompt {
    /// No `prompt`: use a live session, else show the page.
    #[default]
    Default,
    /// `none`: never show a page.
    None,
    /// `login` (or `select_account`, which has no page of its own here):
    /// always ask for the password.
    Login,
}

/// The `prompt` values advertised in the metadata.
pub const PROMPT_VALUES: &[&str] = &["none", "login"];

/// Why the browser cannot be sent back to the client: the client or the
/// redirect URI is unknown, so redirecting could hand the response to an
/// attacker (RFC 6749 §4.1.2.1). The user sees an error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoRedirect {
    #[error("The request names no client (client_id is missing).")]
    MissingClient,
    #[error("The client_id parameter is repeated.")]
    RepeatedClient,
    #[error("The application is not registered, or is disabled.")]
    UnknownClient,
    #[error("The request has no redirect_uri.")]
    MissingRedirectUri,
    #[error("The redirect_uri parameter is repeated.")]
    RepeatedRedirectUri,
    #[error("The redirect_uri is not one registered for this application.")]
    UnregisteredRedirectUri,
}

/// Why a request is refused on the client's redirect URI (RFC 6749
/// §4.1.2.1, OpenID Connect Core §3.1.2.6). The oauth dialect gives each its
/// wire code and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    RepeatedState,
    MalformedState,
    RepeatedParameter,
    RequestObject,
    RequestUri,
    MissingResponseType,
    UnsupportedResponseType,
    UnsupportedResponseMode,
    /// The client may not use the code flow.
    CodeFlowNotAllowed,
    MissingCodeChallenge,
    UnsupportedChallengeMethod,
    MalformedCodeChallenge,
    InvalidScope,
    MalformedNonce,
    /// `prompt=none` together with another value.
    InvalidPrompt,
    /// `max_age` is not a whole number of seconds.
    MalformedMaxAge,
    /// `acr_values` too long or not printable.
    MalformedAcrValues,
    /// `action` is not `register-passkey`, or comes with `prompt=none`,
    /// which shows no page to register on.
    InvalidAction,
    /// `id_token_hint` is not an ID token this issuer signed.
    InvalidIdTokenHint,
    /// `resource` is not a registered resource (RFC 8707 `invalid_target`).
    InvalidTarget,
    /// `prompt=none`, but the user must sign in.
    LoginRequired,
    /// `prompt=none`, but the user must be asked to consent (API §14).
    ConsentRequired,
    /// The user denied the client at the consent page.
    AccessDenied,
}

/// A refusal the client hears of on its redirect URI, with the state to
/// echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub redirect_uri: RedirectUri,
    pub state: Option<String>,
    pub refusal: AuthorizeRefusal,
}

/// Why an authorization request goes no further.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error("{0}")]
    NoRedirect(NoRedirect),
    #[error("refused on the redirect URI: {:?}", .0.refusal)]
    Redirect(RedirectError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        Self::Fault(e.into())
    }
}

/// An authorization code as handed to the browser: 256 bits from the
/// system CSPRNG. Only its SHA-256 is stored.
pub struct AuthCode(SecretString);

impl AuthCode {
    fn generate() -> Result<Self, Fault> {
        let bytes: [u8; 32] = random()?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// The PKCE `S256` challenge of a verifier: `BASE64URL(SHA256(verifier))`.
pub fn s256(verifier: &str) -> String {
    token_hash(verifier)
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`. A challenge
/// has the same alphabet; an `S256` one is exactly 43 characters.
pub(super) fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The space-separated `prompt` values: `None` when `none` comes with
/// another value (Core §3.1.2.1). Values with no page here (`consent`) are
/// passed over.
fn prompt_of(raw: &str) -> Option<Prompt> {
    let values: Vec<&str> = raw.split(' ').filter(|v| !v.is_empty()).collect();
    if values.contains(&"none") {
        return (values.len() == 1).then_some(Prompt::None);
    }
    if values
        .iter()
        .any(|v| matches!(*v, "login" | "select_account"))
    {
        return Some(Prompt::Login);
    }
    Some(Prompt::Default)
}

fn get(v: Param<'_>) -> Option<&str> {
    v.ok().flatten()
}

/// Visible ASCII and spaces only: what a state or nonce may hold here, so it
/// is safe to echo in a URL, a page and a token.
fn is_printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl<S: ClientStore + RegistrationStore + ResourceStore + ThrottleStore, K: Signer + ?Sized>
    Issuer<S, K>
{
    /// Checks an authorization request in the order RFC 6749 §4.1.2.1 needs:
    /// client and redirect URI first (never redirect elsewhere), then
    /// everything else, reported on the redirect URI.
    pub async fn check_authorization(
        &self,
        p: &AuthorizeParams<'_>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let no_redirect = |e| Err(AuthorizeError::NoRedirect(e));
        let raw_id = match p.client_id {
            Err(Repeated) => return no_redirect(NoRedirect::RepeatedClient),
            Ok(None) => return no_redirect(NoRedirect::MissingClient),
            Ok(Some(id)) => id,
        };
        let client = match self.authorizing_client(raw_id, origin).await {
            Ok(c) => c,
            Err(Error::Fault(f)) => return Err(f.into()),
            Err(Error::Refused(_)) => None,
        };
        let now = self.now();
        let Some(client) = client.filter(|c| c.is_active(now)) else {
            return no_redirect(NoRedirect::UnknownClient);
        };
        if let Err(e) = self.keep_client(&client, now).await {
            return match e {
                Error::Refused(_) => no_redirect(NoRedirect::UnknownClient),
                Error::Fault(f) => Err(f.into()),
            };
        }
        // A device's client comes back to the issuer's own device callback
        // (RFC 8628, by way of the device page), which it never registers.
        let device_callback = device_callback_url(issuer_url);
        let mut for_device = false;
        let redirect_uri = match p.redirect_uri {
            Err(Repeated) => return no_redirect(NoRedirect::RepeatedRedirectUri),
            Ok(None) => return no_redirect(NoRedirect::MissingRedirectUri),
            Ok(Some(raw)) => match client.redirect_uri(raw) {
                Some(u) => u.clone(),
                None if raw == device_callback && client.allows(GrantType::DeviceCode) => {
                    match RedirectUri::parse(raw) {
                        Ok(u) => {
                            for_device = true;
                            u
                        }
                        Err(_) => return no_redirect(NoRedirect::UnregisteredRedirectUri),
                    }
                }
                None => return no_redirect(NoRedirect::UnregisteredRedirectUri),
            },
        };
        // From here on, errors go back to the client. A state that cannot be
        // echoed safely is not echoed, and is itself the error.
        let (state, state_error) = match p.state {
            Err(Repeated) => (None, Some(AuthorizeRefusal::RepeatedState)),
            Ok(Some(s)) if s.len() > MAX_STATE_BYTES || !is_printable(s) => {
                (None, Some(AuthorizeRefusal::MalformedState))
            }
            Ok(s) => (s.map(str::to_string), None),
        };
        let fail = |refusal| {
            Err(AuthorizeError::Redirect(RedirectError {
                redirect_uri: redirect_uri.clone(),
                state: state.clone(),
                refusal,
            }))
        };
        if let Some(refusal) = state_error {
            return fail(refusal);
        }
        // Every other parameter is checked for repetition before its value.
        let repeated = [
            ("response_type", p.response_type),
            ("scope", p.scope),
            ("nonce", p.nonce),
            ("code_challenge", p.code_challenge),
            ("code_challenge_method", p.code_challenge_method),
            ("response_mode", p.response_mode),
            ("prompt", p.prompt),
            ("login_hint", p.login_hint),
            ("max_age", p.max_age),
            ("id_token_hint", p.id_token_hint),
            ("request", p.request),
            ("request_uri", p.request_uri),
            ("acr_values", p.acr_values),
            ("action", p.action),
            ("resource", p.resource),
        ]
        .into_iter()
        .any(|(_, v)| v.is_err());
        if repeated {
            return fail(AuthorizeRefusal::RepeatedParameter);
        }
        if get(p.request).is_some() {
            return fail(AuthorizeRefusal::RequestObject);
        }
        if get(p.request_uri).is_some() {
            return fail(AuthorizeRefusal::RequestUri);
        }
        match get(p.response_type) {
            None => return fail(AuthorizeRefusal::MissingResponseType),
            Some("code") => {}
            Some(_) => return fail(AuthorizeRefusal::UnsupportedResponseType),
        }
        if get(p.response_mode).is_some_and(|m| m != "query") {
            return fail(AuthorizeRefusal::UnsupportedResponseMode);
        }
        if !client.allows(GrantType::AuthorizationCode) && !for_device {
            return fail(AuthorizeRefusal::CodeFlowNotAllowed);
        }
        let Some(challenge) = get(p.code_challenge) else {
            return fail(AuthorizeRefusal::MissingCodeChallenge);
        };
        if get(p.code_challenge_method) != Some("S256") {
            return fail(AuthorizeRefusal::UnsupportedChallengeMethod);
        }
        if challenge.len() != 43 || !is_pkce_string(challenge) {
            return fail(AuthorizeRefusal::MalformedCodeChallenge);
        }
        let requested_scope = get(p.scope);
        let scope = match grant_scope(&client, requested_scope, true) {
            Ok(s) => s,
            Err(_) => return fail(AuthorizeRefusal::InvalidScope),
        };
        let nonce = get(p.nonce);
        if nonce.is_some_and(|n| n.len() > MAX_NONCE_BYTES || !is_printable(n)) {
            return fail(AuthorizeRefusal::MalformedNonce);
        }
        let prompt = match get(p.prompt).map(prompt_of) {
            None => Prompt::Default,
            Some(Some(prompt)) => prompt,
            Some(None) => return fail(AuthorizeRefusal::InvalidPrompt),
        };
        let max_age = match get(p.max_age) {
            None => None,
            Some(raw) => match raw.parse::<u32>() {
                Ok(secs) => Some(Duration::seconds(i64::from(secs))),
                Err(_) => return fail(AuthorizeRefusal::MalformedMaxAge),
            },
        };
        let acr_values = get(p.acr_values);
        if acr_values.is_some_and(|a| a.len() > MAX_ACR_VALUES_BYTES || !is_printable(a)) {
            return fail(AuthorizeRefusal::MalformedAcrValues);
        }
        let register_passkey = match get(p.action) {
            None => false,
            Some(REGISTER_PASSKEY) if prompt != Prompt::None => true,
            Some(_) => return fail(AuthorizeRefusal::InvalidAction),
        };
        let resource = match get(p.resource) {
            None => None,
            Some(raw) => {
                let found = match ResourceUri::parse(raw) {
                    Ok(uri) => self.store.get_resource(&uri).await?,
                    Err(_) => None,
                };
                match found {
                    Some(r) => Some(r),
                    None => return fail(AuthorizeRefusal::InvalidTarget),
                }
            }
        };
        let login_hint = get(p.login_hint)
            .filter(|h| h.len() <= MAX_LOGIN_HINT_BYTES && is_printable(h))
            .map(str::to_string);
        Ok(AuthorizationRequest {
            redirect_uri,
            requested_scope: requested_scope.map(str::to_string),
            scope,
            state,
            nonce: nonce.map(str::to_string),
            code_challenge: challenge.to_string(),
            login_hint,
            prompt,
            max_age,
            id_token_hint: get(p.id_token_hint).map(|h| SecretString::from(h.to_string())),
            acr_values: acr_values.map(str::to_string),
            wants_mfa: acr_values.is_some_and(|a| a.split(' ').any(|v| v == "mfa")),
            register_passkey,
            resource,
            force_consent: get(p.prompt).is_some_and(|v| v.split(' ').any(|v| v == "consent")),
            client,
        })
    }
}

impl<
        S: BrowserSessionStore
            + ClientStore
            + CodeStore
            + ConsentStore
            + FamilyStore
            + ThrottleStore
            + UserStore,
        K: Signer + ?Sized,
    > Issuer<S, K>
{
    /// A sign-in at the login page whose every step passed (`checked`, by
    /// the methods `amr`): starts the family and stores a code for it. The sign-in joins
    /// the browser's live session when it is the same user's (`prompt=login`,
    /// `max_age`: its `auth_time` moves), so one log out still ends
    /// everything signed in here; another user's session is ended first.
    /// Otherwise a new session starts (API §12). The cookie is the session's.
    pub(super) async fn complete_sign_in(
        &self,
        req: &AuthorizationRequest,
        checked: Authenticated,
        amr: Vec<String>,
        cookie: Option<&str>,
        issuer_url: &str,
        origin: &Origin<'_>,
    ) -> Result<SignedIn, Error> {
        let now = self.now();
        let current = match cookie.filter(|c| !c.is_empty() && c.len() <= 128) {
            Some(c) => self
                .store
                .get_browser_session(&token_hash(c))
                .await?
                .filter(|s| s.is_live(now))
                .map(|s| (s, c)),
            None => None,
        };
        let user = &checked.user;
        let joined = match current {
            Some((s, c)) if s.user_id == user.id && s.token_version == user.token_version => {
                Some((s, SessionCookie::presented(c)))
            }
            Some((other, _)) => {
                // Signing in as someone else in this browser logs the other out.
                self.end_browser_session(&other.token_hash, issuer_url, origin)
                    .await?;
                None
            }
            None => None,
        };
        // A new session; when joining, the one that carries the joined
        // session's id on should that end meanwhile.
        let (mut spare, spare_cookie) = self.new_browser_session(user, &req.client.id, now)?;
        spare.amr = amr.clone();
        let link = match &joined {
            Some((s, _)) => {
                spare.id = s.id.clone();
                SessionLink {
                    id: s.id.clone(),
                    auth_time: now,
                    amr: amr.clone(),
                }
            }
            None => SessionLink::from(&spare),
        };
        let username = user.username.clone();
        let token_version = user.token_version;
        // A third party's code waits for the user's consent (after a
        // passkey registration, when there is one).
        let consent = !req.register_passkey && self.needs_consent(req, user.id).await?;
        let binding = ClientBinding {
            client_id: req.client.id.clone(),
            scope: req.scope.clone(),
            resource: req.resource.as_ref().map(|r| r.uri.clone()),
            // Bound at the code's redemption, to the key of its proof.
            dpop_jkt: None,
        };
        let (user, family, first) = self
            .start_family(
                checked,
                Some(binding),
                Some(link),
                origin,
                now,
                |u, f, r| Ok((u.clone(), f.clone(), r)),
            )
            .await?;
        spare.families = vec![family.id];
        let fresh = joined.is_none();
        // A sign-in that goes on to register a passkey gets its code after
        // that page, from the session; its family is the session's.
        let code = async {
            if req.register_passkey || consent {
                return Ok(None);
            }
            self.store_code(req, &family, &first, now).await.map(Some)
        };
        let (code, cookie) = tokio::try_join!(code, async {
            if let Some((s, c)) = joined {
                let again = SignInAgain {
                    token_version,
                    at: now,
                    amr: &amr,
                    idle_until: BrowserSession::next_idle(
                        &self.settings.sessions,
                        now,
                        s.expires_at,
                    ),
                    client: &req.client.id,
                    family: &family.id,
                };
                let kept = self
                    .store
                    .reauthenticate_browser_session(&s.token_hash, &again)
                    .await?;
                if kept.is_some() {
                    return Ok::<_, Fault>(c);
                }
            }
            self.store.put_browser_session(&spare).await?;
            Ok(spare_cookie)
        })?;
        if fresh {
            audit::browser_session_started(origin, &username, &spare.id);
        }
        let next = match code {
            Some(code) => AfterSignIn::Code(code),
            None if consent => AfterSignIn::Consent(self.consent_offer(
                req,
                &token_hash(cookie.expose()),
                &user,
            )?),
            None => AfterSignIn::RegisterPasskey(self.registration_offer(
                req,
                &token_hash(cookie.expose()),
                &user,
                issuer_url,
            )?),
        };
        Ok(SignedIn {
            next,
            username,
            cookie,
        })
    }
}

impl<S: CodeStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Stores a code for the family `family` just started, whose first
    /// token is `first`.
    pub(super) async fn store_code(
        &self,
        req: &AuthorizationRequest,
        family: &RefreshFamily,
        first: &RefreshToken,
        now: OffsetDateTime,
    ) -> Result<AuthCode, Fault> {
        let code = AuthCode::generate()?;
        self.store
            .put_code(&StoredCode {
                hash: token_hash(code.expose()),
                client_id: req.client.id.clone(),
                redirect_uri: req.redirect_uri.as_str().to_string(),
                code_challenge: req.code_challenge.clone(),
                scope: req.scope.clone(),
                nonce: req.nonce.clone(),
                family: family.id,
                refresh_hash: first.hash(),
                expires_at: now + CODE_TTL,
            })
            .await?;
        Ok(code)
    }
}

/// What the page needs to offer a registration.
pub struct PasskeyRegistration {
    /// The challenge, which is also the form's token (base64url).
    pub token: String,
    /// The WebAuthn user handle: the user's id, never their name.
    pub user_handle: String,
    pub username: String,
    pub rp_id: String,
    /// The user's passkeys already registered (base64url), which the
    /// authenticator need not make again.
    pub exclude: Vec<String>,
}

/// How recent a session's sign-in must be for its user to be offered a
/// passkey without signing in again.
pub const REGISTRATION_MAX_AGE: Duration = Duration::minutes(5);

/// Where a finished sign-in goes: back to the client with its code, or on
/// to the passkey registration the request asked for.
pub enum AfterSignIn {
    Code(AuthCode),
    RegisterPasskey(PasskeyRegistration),
    /// A third-party client: the consent page first (API §14).
    Consent(ConsentOffer),
}

/// A sign-in at the login page: what comes next, who signed in, and the
/// browser session's cookie value.
pub struct SignedIn {
    pub next: AfterSignIn,
    pub username: Username,
    pub cookie: SessionCookie,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_is_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_string(verifier));
        assert!(!is_pkce_string(&verifier[..42]));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}+", &verifier[..42])));
    }
}
