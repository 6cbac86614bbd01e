//! How the user commands that end a user's browser sessions (`disable`,
//! `set-password`, `revoke-tokens`, `delete`) tell the sessions' apps:
//! with logout tokens signed as the issuer, from the function's own
//! settings (`ISSUER`, and `SIGNING_KEY_SECRET_ID` or `SIGNING_KEY_FILE`),
//! sent from where the tool runs. Without them the sessions still end and
//! the tool says the apps were not told.

use super::AdminError;
use crate::config::{LogoutSignerConfig, SigningKeySetting};
use crate::core::backchannel::Teller;
use crate::core::notify::BackChannel;
use crate::core::sign::Signer;
use crate::keys::{KeySource, Keys};
use std::sync::Arc;
use time::OffsetDateTime;

pub enum Telling {
    /// Signing as `issuer_url`, through `channel`.
    Apps {
        issuer_url: String,
        signer: Arc<dyn Signer>,
        channel: Arc<dyn BackChannel>,
    },
    /// Not at all: the setting that is missing.
    Nobody(&'static str),
}

impl Telling {
    /// From the environment; the signing key is read at once, so a setting
    /// that names an unreadable key stops the command before it changes
    /// anything.
    pub async fn from_env() -> Result<Self, AdminError> {
        let config = match LogoutSignerConfig::from_env()? {
            Ok(c) => c,
            Err(missing) => return Ok(Self::Nobody(missing)),
        };
        let source = match config.key {
            SigningKeySetting::Secret(id) => KeySource::SecretsManager(id),
            SigningKeySetting::File(path) => KeySource::File(path),
        };
        let keys: Keys = crate::keys::load(&source, &crate::aws::sdk_config().await)
            .await?
            .into();
        Ok(Self::Apps {
            issuer_url: config.issuer,
            signer: Arc::new(keys),
            channel: Arc::new(crate::notify::HttpBackChannel::new()),
        })
    }

    /// What tells apps of an end at `now`; `None` when nobody is told.
    pub(super) fn teller(&self, now: OffsetDateTime) -> Option<Teller<'_, dyn Signer>> {
        match self {
            Self::Apps {
                issuer_url,
                signer,
                channel,
            } => Some(Teller {
                signer: signer.as_ref(),
                channel: channel.as_ref(),
                issuer_url,
                now,
            }),
            Self::Nobody(_) => None,
        }
    }
}
