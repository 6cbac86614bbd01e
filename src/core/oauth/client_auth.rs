//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3).

use super::ClientAuth;
use crate::core::error::{Error, Refusal};
use crate::core::record::client::{secret_matches, Client, ClientId};
use crate::core::sign::Signer;
use crate::core::store::{ClientStore, RegistrationStore};
use crate::core::Issuer;
use secrecy::ExposeSecret;

impl<S: ClientStore + RegistrationStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Authenticates a client. Unknown client, wrong secret, disabled client
    /// and a missing or surplus secret are one refusal, and an unknown client
    /// still pays for a secret comparison. A self-registered client's use
    /// keeps it from lapsing.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Client, Error> {
        let raw_id = match auth {
            ClientAuth::Secret { id, .. } | ClientAuth::Public { id } => id,
        };
        let client = match ClientId::parse(raw_id) {
            Ok(id) => self.store.get_client(&id).await?,
            Err(_) => None,
        };
        let ok = match auth {
            ClientAuth::Secret { secret, .. } => secret_matches(
                secret.expose_secret(),
                client.as_ref().and_then(|c| c.secret_hash.as_deref()),
            ),
            ClientAuth::Public { .. } => client.as_ref().is_some_and(Client::is_public),
        };
        let now = self.now();
        match client {
            Some(c) if ok && c.is_active(now) => {
                self.keep_client(&c, now).await?;
                Ok(c)
            }
            _ => Err(Refusal::InvalidClient.into()),
        }
    }
}
