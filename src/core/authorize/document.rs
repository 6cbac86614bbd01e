//! The client an authorization request names: stored, or described by the
//! metadata document at its https client id (API §14). A document is
//! fetched when none is cached or the cached one is older than
//! [`DOCUMENT_MAX_AGE`], only here, where the redirect URI is checked
//! against it; the token endpoint and logout use the cached client, which
//! also keeps its tokens' liveness checkable from storage alone.

use crate::core::audit::{self, Origin};
use crate::core::error::Error;
use crate::core::record::client::{Client, ClientId};
use crate::core::record::client_document::{document_client, DOCUMENT_MAX_AGE};
use crate::core::sign::Signer;
use crate::core::store::{ClientStore, RegistrationStore, ThrottleStore};
use crate::core::Issuer;

impl<S: ClientStore + RegistrationStore + ThrottleStore, K: Signer + ?Sized> Issuer<S, K> {
    /// The client `raw` names, if there is one; its state (enabled, lapsed)
    /// is the caller's to check.
    pub(super) async fn authorizing_client(
        &self,
        raw: &str,
        origin: &Origin<'_>,
    ) -> Result<Option<Client>, Error> {
        let Ok(id) = ClientId::parse(raw) else {
            return Ok(None);
        };
        let Some(documents) = self.documents.as_ref().filter(|_| id.is_document()) else {
            return Ok(if id.is_document() {
                None
            } else {
                self.store.get_client(&id).await?
            });
        };
        let cached = self.store.get_client(&id).await?;
        let now = self.now();
        match &cached {
            // An operator disabled it: no fetch brings it back.
            Some(c) if !c.enabled => return Ok(cached),
            Some(c) if now - c.created_at < DOCUMENT_MAX_AGE => return Ok(cached),
            _ => {}
        }
        // Each fetch counts against the address's registration budget, so
        // nobody can make the issuer fetch URL after URL for free.
        if let Err(wait) = self.count_registration(origin, now).await? {
            audit::client_document_refused(origin, &id, &format!("rate limited ({wait} s)"));
            return Ok(None);
        }
        let body = match documents.fetch(id.as_str()).await {
            Ok(body) => body,
            Err(e) => {
                audit::client_document_refused(origin, &id, &e.to_string());
                return Ok(None);
            }
        };
        let settings = &self.settings.registration;
        let made = document_client(&id, &body, &settings.scopes, now, settings.unused)?;
        let mut client = match made {
            Ok(c) => c,
            Err(e) => {
                audit::client_document_refused(origin, &id, &e.to_string());
                return Ok(None);
            }
        };
        // What an operator set on it stays.
        client.require_mfa = cached.as_ref().is_some_and(|c| c.require_mfa);
        // The document may ask for DPoP itself; an operator may too.
        client.require_dpop |= cached.as_ref().is_some_and(|c| c.require_dpop);
        if !self.store.put_document_client(&client).await? {
            // Disabled since it was read.
            return Ok(None);
        }
        audit::client_document_fetched(origin, &id, cached.is_some());
        Ok(Some(client))
    }
}
