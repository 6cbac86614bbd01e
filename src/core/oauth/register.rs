//! Dynamic client registration (RFC 7591, API §14): the policy, the initial
//! access token, the per-address budget, and the lapse of unused clients.

use crate::core::audit::{self, Origin};
use crate::core::error::{Error, Fault, Refusal};
use crate::core::record::client::{Client, ClientSecret, Scopes};
use crate::core::record::registration::{
    registered_client_id, ClientMetadata, MetadataError, RegistrationPolicy,
};
use crate::core::record::throttle::registration_key;
use crate::core::record::token::token_hash;
use crate::core::sign::Signer;
use crate::core::store::{RegistrationStore, Reservation, StoreError, ThrottleStore};
use crate::core::Issuer;
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

/// What the operator allows (API §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSettings {
    pub policy: RegistrationPolicy,
    /// The scopes a self-registered client may have; one that asks for none
    /// gets all of them.
    pub scopes: Scopes,
    /// A self-registered client lapses this long after its last use.
    pub unused: Duration,
    /// Registrations one source address may make per hour.
    pub per_address_hourly: u32,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            policy: RegistrationPolicy::Off,
            scopes: Scopes::parse("openid profile email").unwrap_or_default(),
            unused: Duration::days(30),
            per_address_hourly: 20,
        }
    }
}

/// The budget's window.
const WINDOW: Duration = Duration::hours(1);

/// Why a registration is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// The policy is `off`: there is no endpoint.
    Closed,
    /// The policy is `token` and the request has no live initial access
    /// token (RFC 6750's `invalid_token`).
    InvalidToken,
    /// RFC 7591 §3.2.2.
    Metadata(MetadataError),
    /// The address's hourly budget is spent.
    TooMany { retry_after_secs: u64 },
}

#[derive(Debug)]
pub enum RegisterError {
    Refused(RegisterRefusal),
    Fault(Fault),
}

impl<E: Into<Fault>> From<E> for RegisterError {
    fn from(e: E) -> Self {
        Self::Fault(e.into())
    }
}

/// A client just registered: what RFC 7591 §3.2.1 answers.
pub struct Registered {
    pub client: Client,
    /// Shown once; only its hash is stored.
    pub secret: Option<ClientSecret>,
    pub auth_method: &'static str,
    pub response_types: Vec<&'static str>,
}

impl<S: RegistrationStore + ThrottleStore, K: Signer + ?Sized> Issuer<S, K> {
    pub fn registration_policy(&self) -> RegistrationPolicy {
        self.settings.registration.policy
    }

    /// Registers a client described by `metadata`, for a caller that
    /// presented `initial_token` (a bearer token, if any).
    pub async fn register_client(
        &self,
        metadata: &ClientMetadata<'_>,
        initial_token: Option<&SecretString>,
        origin: &Origin<'_>,
    ) -> Result<Registered, RegisterError> {
        let settings = &self.settings.registration;
        let refuse = |why: &str, r| {
            audit::client_registration_refused(origin, why);
            Err(RegisterError::Refused(r))
        };
        let now = self.now();
        match settings.policy {
            RegistrationPolicy::Off => return Err(RegisterError::Refused(RegisterRefusal::Closed)),
            RegistrationPolicy::Public => {}
            RegistrationPolicy::Token => {
                let live = match initial_token {
                    Some(t) => {
                        use secrecy::ExposeSecret as _;
                        let hash = token_hash(t.expose_secret());
                        self.store
                            .initial_access_token(&hash)
                            .await?
                            .is_some_and(|t| t.is_live(now))
                    }
                    None => false,
                };
                if !live {
                    return refuse("initial_access_token", RegisterRefusal::InvalidToken);
                }
            }
        }
        if let Err(wait) = self.count_registration(origin, now).await? {
            return refuse(
                "rate_limited",
                RegisterRefusal::TooMany {
                    retry_after_secs: wait,
                },
            );
        }
        let id = registered_client_id()?;
        let checked = match metadata.check(settings.policy, &settings.scopes, &id) {
            Ok(c) => c,
            Err(e) => {
                let why = match e {
                    MetadataError::RedirectUri(_) => "invalid_redirect_uri",
                    MetadataError::Metadata(_) => "invalid_client_metadata",
                };
                return refuse(why, RegisterRefusal::Metadata(e));
            }
        };
        let (mut client, secret) = Client::new(checked.client, now)?;
        client.third_party = true;
        client.expires_at = Some(now + settings.unused);
        self.store.register_client(&client).await?;
        audit::client_registered(
            origin,
            &client.id,
            settings.policy.as_str(),
            client.is_public(),
        );
        Ok(Registered {
            client,
            secret,
            auth_method: checked.auth_method,
            response_types: checked.response_types,
        })
    }

    /// Counts a registration against its address's hourly budget: `Err`
    /// with the seconds to wait once it is spent. A refusal counts too, so
    /// a caller cannot probe the rules for free.
    pub(crate) async fn count_registration(
        &self,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<Result<(), u64>, StoreError> {
        let key = registration_key(origin.source_ip);
        let limit = i64::from(self.settings.registration.per_address_hourly);
        // A window restarted by another registration meanwhile is read again.
        for _ in 0..3 {
            match self
                .store
                .reserve_in_window(&key, &key, limit, now, now + WINDOW)
                .await?
            {
                Reservation::Counted(_) => return Ok(Ok(())),
                Reservation::Refused(old) if old.is_stale(now) => {
                    if self
                        .store
                        .restart_attempts(&key, &key, &old, now + WINDOW)
                        .await?
                        .is_some()
                    {
                        return Ok(Ok(()));
                    }
                }
                Reservation::Refused(old) => {
                    let ms = (old.expires_at - now).whole_milliseconds().max(1);
                    return Ok(Err(((ms + 999) / 1000) as u64));
                }
            }
        }
        Ok(Err(1))
    }
}

impl<S: RegistrationStore, K: Signer + ?Sized> Issuer<S, K> {
    /// A self-registered client was used at `now`: its lapse moves, at most
    /// once a day, so an app in use never lapses and one left unused does.
    pub(crate) async fn keep_client(
        &self,
        client: &Client,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let Some(expires_at) = client.expires_at else {
            return Ok(());
        };
        let unused = self.settings.registration.unused;
        if expires_at - now >= unused - Duration::days(1) {
            return Ok(());
        }
        if !self.store.keep_client(&client.id, now + unused).await? {
            // Deleted meanwhile: nothing may be issued to it.
            return Err(Refusal::InvalidClient.into());
        }
        Ok(())
    }
}
