//! The issuer core: credentials, lockout, token minting, rotation, sessions.
//! It knows no dialect and no adapter: it owns the storage port ([`store`])
//! and the records it exchanges, and reads time only from the injected
//! [`Clock`].

pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod clock;
pub mod device;
pub mod documents;
pub mod dpop;
pub mod error;
pub mod family;
pub mod login;
pub mod logout;
pub mod notify;
pub mod oauth;
pub mod password;
pub mod record;
pub mod seal;
pub mod session;
pub mod sign;
pub mod store;
pub mod warm;

use clock::Clock;
pub use error::{Error, Fault, Refusal};
pub use login::Credentials;
use password::Hasher;
use record::browser::SessionLimits;
use record::claims::AccessClaims;
use record::throttle::ThrottleSettings;
use record::token::{self, RefreshToken};
use record::user::User;
use secrecy::SecretString;
pub use session::SessionGrant;
use sign::{Signer, TokenType};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Token lifetimes, the audience and the lockout policy.
#[derive(Debug, Clone)]
pub struct Settings {
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub throttle: ThrottleSettings,
    /// How long browser sessions last (API §12).
    pub sessions: SessionLimits,
    /// Who may register clients, and on what terms (API §14).
    pub registration: oauth::register::RegistrationSettings,
    /// Every DPoP proof must carry the issuer's nonce (RFC 9449 §8).
    pub dpop_nonces: bool,
}

/// An access token and the refresh token of a (new or continued) family.
#[derive(Debug)]
pub struct TokenGrant {
    pub user: User,
    /// Wrapped so a `{:?}` of the grant cannot print a live token.
    pub access_token: SecretString,
    /// When the access token expires (its `exp` is this, in whole seconds).
    pub access_expires_at: OffsetDateTime,
    pub access_ttl_secs: i64,
    pub refresh_token: RefreshToken,
    pub refresh_expires_at: OffsetDateTime,
}

/// The issuer core: one per process, built at cold start. `K` is the
/// signing port's type: the function's edge takes any (`dyn Signer`), the
/// authorizer names its own, so its verification is a direct call and the
/// signing it never does is not in its binary.
pub struct Issuer<S, K: ?Sized = dyn Signer> {
    store: S,
    keys: Arc<K>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// Where logout tokens go; `None`: no app is told (the authorizer).
    back_channel: Option<Arc<dyn notify::BackChannel>>,
    /// What seals second factors' secrets; `None`: nobody enrols here (the
    /// authorizer).
    sealer: Option<Arc<dyn seal::Sealer>>,
    /// What fetches client metadata documents; `None`: an https client id
    /// is unknown (API §14).
    documents: Option<Arc<dyn documents::ClientDocuments>>,
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    pub fn new(store: S, keys: Arc<K>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            store,
            keys,
            hasher: Hasher::new(),
            clock,
            settings,
            back_channel: None,
            sealer: None,
            documents: None,
        }
    }

    /// Accepts clients whose id is the URL of their metadata document,
    /// fetched through `documents` (API §14).
    pub fn with_client_documents(mut self, documents: Arc<dyn documents::ClientDocuments>) -> Self {
        self.documents = Some(documents);
        self
    }

    /// Whether an https client id names a metadata document here.
    pub fn client_documents_supported(&self) -> bool {
        self.documents.is_some()
    }

    /// Seals second factors' secrets with `sealer` (API §13).
    pub fn with_sealer(mut self, sealer: Arc<dyn seal::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Tells apps of ended sessions through `channel` (back-channel logout).
    pub fn with_back_channel(mut self, channel: Arc<dyn notify::BackChannel>) -> Self {
        self.back_channel = Some(channel);
        self
    }

    /// How long browser sessions last, for the edge's cookie.
    pub fn session_limits(&self) -> &record::browser::SessionLimits {
        &self.settings.sessions
    }

    /// The signing port, for the edge's keyed MACs and published keys.
    pub fn signer(&self) -> &K {
        self.keys.as_ref()
    }

    /// The signer shared, for a tool that signs as this issuer.
    pub fn signer_handle(&self) -> Arc<K> {
        self.keys.clone()
    }

    /// Now, cut to the millisecond: the precision times are stored with, so an
    /// expiry shown at log in is the one shown after a refresh.
    pub fn now(&self) -> OffsetDateTime {
        let t = self.clock.now();
        t.replace_millisecond(t.millisecond()).unwrap_or(t)
    }

    fn grant(
        &self,
        user: User,
        refresh_token: RefreshToken,
        refresh_expires_at: OffsetDateTime,
        sid: &str,
        issuer_url: &str,
        now: OffsetDateTime,
    ) -> Result<TokenGrant, Error> {
        // Cut to the second: `exp` has no fraction, and the expiry a dialect
        // shows must be the same instant.
        let access_expires_at = now + self.settings.access_ttl;
        let access_expires_at = access_expires_at
            .replace_nanosecond(0)
            .unwrap_or(access_expires_at);
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: issuer_url.to_string(),
            sub: user.id.to_string(),
            aud: self.settings.audience.clone(),
            iat,
            nbf: iat,
            exp: access_expires_at.unix_timestamp(),
            jti: token::new_jti()?,
            sid: sid.to_string(),
            username: user.username.to_string(),
            name: user.full_name.clone(),
            email: user.email.clone(),
            roles: user.roles.clone(),
            role: user.role,
            customer_id: user.customer_id.to_string(),
            auth_source: user.auth_source.clone(),
        };
        let access_token = SecretString::from(sign::sign(self.signer(), TokenType::Jwt, &claims)?);
        Ok(TokenGrant {
            user,
            access_token,
            access_expires_at,
            access_ttl_secs: self.settings.access_ttl.whole_seconds(),
            refresh_token,
            refresh_expires_at,
        })
    }
}
