//! The device authorization grant (RFC 8628). A device asks for codes; the
//! user types the user code on the device page, which sends the browser
//! through the authorization endpoint for the device's client with the
//! issuer's own callback as redirect URI, so the browser session, a second
//! factor and consent apply as they do to any app. The callback redeems
//! that code at once (PKCE with a verifier derived from the device code's
//! hash under the signing key, so nothing else can) and keeps the grant,
//! sealed, for the device's next poll, which takes it once.

use super::authorization_code::CodeExchange;
use super::{grant_scope, OAuthGrant};
use crate::core::audit::Origin;
use crate::core::authorize::s256;
use crate::core::error::{Error, Fault, Refusal};
use crate::core::record::client::{Client, GrantType, Scopes};
pub use crate::core::record::device::{
    device_callback_url, DeviceRefusal, DEVICE_CALLBACK_PATH, DEVICE_PAGE_PATH,
};
use crate::core::record::device::{
    new_device_code, new_user_code, normalize_user_code, DeviceRequest, DeviceStatus,
    DEVICE_CODE_TTL, POLL_INTERVAL_SECS,
};
use crate::core::record::token::{token_hash, RefreshToken};
use crate::core::seal::SealError;
use crate::core::sign::Signer;
use crate::core::store::{
    ClientStore, CodeStore, DeviceStore, FamilyStore, Reservation, ResourceStore, ThrottleStore,
    UserStore,
};
use crate::core::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// User codes one address may submit in a window: a person needs one or
/// two; guessing one of the live codes needs billions.
pub const USER_CODE_ATTEMPTS: i64 = 10;
const USER_CODE_WINDOW: Duration = Duration::minutes(15);

/// What a device is given (RFC 8628 §3.2).
#[derive(Debug)]
pub struct NewDevice {
    pub device_code: SecretString,
    /// `XXXX-XXXX`.
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// What the device page found for a typed user code.
#[derive(Debug)]
pub enum DeviceLookup {
    /// A pending request: where to send the browser.
    Found {
        device_hash: String,
        client: Box<Client>,
        scope: Scopes,
    },
    /// No such code, or no longer waiting.
    Unknown,
    /// This address typed too many codes; it may again after this long.
    TooMany { retry_after_secs: u64 },
}

/// How a device's request ended at the callback.
#[derive(Debug, PartialEq, Eq)]
pub enum DeviceOutcome {
    Approved,
    Denied,
    /// Expired, answered already, or unknown.
    Gone,
}

fn device_hash(device_code: &str) -> String {
    token_hash(device_code)
}

fn user_hash(normalized: &str) -> String {
    token_hash(&format!("user-code\0{normalized}"))
}

/// The grant as sealed for the device: what the token endpoint answers.
fn grant_to_json(g: &OAuthGrant) -> Value {
    json!({
        "access_token": g.access_token.expose_secret(),
        "expires_in": g.expires_in,
        "refresh_token": g.refresh_token.as_ref().map(|t| t.expose().to_string()),
        "scope": g.scope.to_string(),
        "id_token": g.id_token.as_ref().map(|t| t.expose_secret().to_string()),
    })
}

fn grant_from_json(v: &Value) -> Option<OAuthGrant> {
    Some(OAuthGrant {
        access_token: SecretString::from(v["access_token"].as_str()?.to_string()),
        expires_in: v["expires_in"].as_i64()?,
        refresh_token: match v["refresh_token"].as_str() {
            Some(t) => Some(RefreshToken::parse(t)?),
            None => None,
        },
        scope: Scopes::parse(v["scope"].as_str()?).ok()?,
        id_token: v["id_token"]
            .as_str()
            .map(|t| SecretString::from(t.to_string())),
        dpop_bound: false,
    })
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// The PKCE verifier of a device's authorization request: derived from
    /// its device code's hash under the signing key, so only the issuer
    /// can redeem the code its callback receives.
    pub fn device_verifier(&self, device_hash: &str) -> String {
        let mac = self
            .signer()
            .form_mac(format!("device-pkce\0{device_hash}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac)
    }

    /// The `code_challenge` that goes with [`Issuer::device_verifier`].
    pub fn device_challenge(&self, device_hash: &str) -> String {
        s256(&self.device_verifier(device_hash))
    }
}

impl<
        S: ClientStore
            + CodeStore
            + DeviceStore
            + FamilyStore
            + ResourceStore
            + ThrottleStore
            + UserStore,
        K: Signer + ?Sized,
    > Issuer<S, K>
{
    /// `POST /oauth2/device_authorization` (RFC 8628 §3.1): codes for a
    /// client allowed the grant, for the scope it may have.
    pub async fn start_device(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<NewDevice, Error> {
        Self::require_grant(client, GrantType::DeviceCode)?;
        let scope = grant_scope(client, scope, true)?;
        let now = self.now();
        let request = DeviceRequest {
            client_id: client.id.clone(),
            scope,
            expires_at: now + DEVICE_CODE_TTL,
            interval_secs: POLL_INTERVAL_SECS,
            last_poll_at: None,
            status: DeviceStatus::Pending,
        };
        // 20^8 user codes: a collision with a live one is rare; draw again.
        for _ in 0..5 {
            let device_code = new_device_code().map_err(Fault::from)?;
            let user_code = new_user_code().map_err(Fault::from)?;
            let plain = normalize_user_code(&user_code).unwrap_or_default();
            if self
                .store
                .put_device(&device_hash(&device_code), &user_hash(&plain), &request)
                .await?
            {
                return Ok(NewDevice {
                    device_code: SecretString::from(device_code),
                    user_code,
                    expires_in: DEVICE_CODE_TTL.whole_seconds(),
                    interval: POLL_INTERVAL_SECS,
                });
            }
        }
        Err(Fault::Store(crate::core::store::StoreError::AlreadyExists).into())
    }

    /// The device page: the pending request a typed user code names. Every
    /// code typed counts against the address's window, so guessing costs.
    pub async fn find_device(
        &self,
        typed: &str,
        origin: &Origin<'_>,
    ) -> Result<DeviceLookup, Error> {
        let now = self.now();
        let key = format!("device-code\0{}", origin.source_ip.unwrap_or("unknown"));
        let key = token_hash(&key);
        let counted = match self
            .store
            .reserve_in_window(&key, &key, USER_CODE_ATTEMPTS, now, now + USER_CODE_WINDOW)
            .await?
        {
            Reservation::Counted(_) => true,
            Reservation::Refused(old) if old.is_stale(now) => self
                .store
                .restart_attempts(&key, &key, &old, now + USER_CODE_WINDOW)
                .await?
                .is_some(),
            Reservation::Refused(old) => {
                let ms = (old.expires_at - now).whole_milliseconds().max(1);
                return Ok(DeviceLookup::TooMany {
                    retry_after_secs: ((ms + 999) / 1000) as u64,
                });
            }
        };
        if !counted {
            return Ok(DeviceLookup::TooMany {
                retry_after_secs: 1,
            });
        }
        let Some(plain) = normalize_user_code(typed) else {
            return Ok(DeviceLookup::Unknown);
        };
        let Some((device_hash, request)) =
            self.store.device_of_user_code(&user_hash(&plain)).await?
        else {
            return Ok(DeviceLookup::Unknown);
        };
        if request.status != DeviceStatus::Pending || request.is_expired(now) {
            return Ok(DeviceLookup::Unknown);
        }
        let Some(client) = self
            .store
            .get_client(&request.client_id)
            .await?
            .filter(|c| c.is_active(now) && c.allows(GrantType::DeviceCode))
        else {
            return Ok(DeviceLookup::Unknown);
        };
        Ok(DeviceLookup::Found {
            device_hash,
            client: Box::new(client),
            scope: request.scope,
        })
    }

    /// A pending, live request's client and scope, for the device page to
    /// send the browser on with.
    pub async fn pending_device(
        &self,
        device_hash: &str,
    ) -> Result<Option<(Client, Scopes)>, Error> {
        let now = self.now();
        let Some(request) = self.store.get_device(device_hash).await? else {
            return Ok(None);
        };
        if request.status != DeviceStatus::Pending || request.is_expired(now) {
            return Ok(None);
        }
        let client = self
            .store
            .get_client(&request.client_id)
            .await?
            .filter(|c| c.is_active(now) && c.allows(GrantType::DeviceCode));
        Ok(client.map(|c| (c, request.scope)))
    }

    /// The callback: the authorization endpoint's answer for a device's
    /// request (`code`, or `None` when the user denied it). An approval
    /// redeems the code at once and keeps the grant, sealed, for the device.
    pub async fn finish_device(
        &self,
        device_hash: &str,
        code: Option<&str>,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<DeviceOutcome, Error> {
        let now = self.now();
        let Some(request) = self.store.get_device(device_hash).await? else {
            return Ok(DeviceOutcome::Gone);
        };
        if request.status != DeviceStatus::Pending || request.is_expired(now) {
            return Ok(DeviceOutcome::Gone);
        }
        let Some(code) = code else {
            return Ok(if self.store.settle_device(device_hash, None).await? {
                DeviceOutcome::Denied
            } else {
                DeviceOutcome::Gone
            });
        };
        let Some(client) = self
            .store
            .get_client(&request.client_id)
            .await?
            .filter(|c| c.allows(GrantType::DeviceCode))
        else {
            return Ok(DeviceOutcome::Gone);
        };
        let callback = device_callback_url(issuer_url);
        let verifier = self.device_verifier(device_hash);
        let exchange = CodeExchange {
            code,
            redirect_uri: &callback,
            verifier: &verifier,
            resource: None,
            dpop: None,
        };
        let grant = match self
            .redeem_code(&client, exchange, origin, issuer_url)
            .await
        {
            Ok(g) => g,
            Err(Error::Refused(_)) => return Ok(DeviceOutcome::Gone),
            Err(e) => return Err(e),
        };
        let sealer = self
            .sealer
            .as_deref()
            .ok_or(Fault::Seal(SealError::NoKey))?;
        let sealed = sealer
            .seal(
                grant_to_json(&grant).to_string().as_bytes(),
                device_hash.as_bytes(),
            )
            .map_err(Fault::from)?;
        Ok(
            if self.store.settle_device(device_hash, Some(&sealed)).await? {
                DeviceOutcome::Approved
            } else {
                DeviceOutcome::Gone
            },
        )
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
    /// §3.4): the device's poll.
    pub async fn device_grant(
        &self,
        client: &Client,
        device_code: &str,
    ) -> Result<OAuthGrant, Error> {
        Self::require_grant(client, GrantType::DeviceCode)?;
        let refused = |r| Err(Refusal::Device(r).into());
        let hash = device_hash(device_code);
        let now: OffsetDateTime = self.now();
        let Some(request) = self.store.get_device(&hash).await? else {
            return refused(DeviceRefusal::Invalid);
        };
        if request.client_id != client.id {
            return refused(DeviceRefusal::Invalid);
        }
        match request.status {
            DeviceStatus::Done => return refused(DeviceRefusal::Invalid),
            DeviceStatus::Denied => return refused(DeviceRefusal::Denied),
            _ if request.is_expired(now) => return refused(DeviceRefusal::Expired),
            DeviceStatus::Pending => {
                let slow = request.too_soon(now);
                self.store.note_poll(&hash, now, slow).await?;
                return refused(if slow {
                    DeviceRefusal::SlowDown
                } else {
                    DeviceRefusal::Pending
                });
            }
            DeviceStatus::Approved(_) => {}
        }
        let Some(sealed) = self.store.take_device_grant(&hash).await? else {
            return refused(DeviceRefusal::Invalid);
        };
        let sealer = self
            .sealer
            .as_deref()
            .ok_or(Fault::Seal(SealError::NoKey))?;
        let opened = sealer.open(&sealed, hash.as_bytes()).map_err(Fault::from)?;
        serde_json::from_slice::<Value>(&opened)
            .ok()
            .as_ref()
            .and_then(grant_from_json)
            .ok_or_else(|| Fault::Seal(SealError::Open).into())
    }
}
