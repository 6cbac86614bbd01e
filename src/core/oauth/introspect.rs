//! Introspection (RFC 7662).

use super::ActiveToken;
use crate::core::error::Error;
use crate::core::record::client::Client;
use crate::core::record::family::RefreshFamily;
use crate::core::record::token::RefreshToken;
use crate::core::record::user::Account;
use crate::core::sign::Signer;
use crate::core::store::{FamilyStore, TokenStateStore, UserStore};
use crate::core::Issuer;

/// What introspection reports of an active refresh token.
#[derive(Debug)]
pub enum Introspected {
    Access(ActiveToken),
    Refresh {
        family: RefreshFamily,
        user: Account,
    },
}

impl<S: FamilyStore + TokenStateStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// RFC 7662 for the authenticated client `caller`: an active access
    /// token of any dialect, or the live token of a refresh family; `None`
    /// for anything else. A client learns only of the tokens it was issued
    /// and of access tokens for the audience it serves (its own audience,
    /// by default the issuer's; vendor tokens are for the issuer's), so one
    /// client cannot test another's tokens (RFC 7662 §4).
    pub async fn introspect(
        &self,
        token: &str,
        issuer_url: &str,
        caller: &Client,
    ) -> Result<Option<Introspected>, Error> {
        let serves = |aud: &str| self.audience_of(caller) == aud;
        if let Some(refresh) = RefreshToken::parse(token) {
            let Some(family) = self.store.get_refresh_family(refresh.family()).await? else {
                return Ok(None);
            };
            if family.token_hash != refresh.hash() || !family.is_live(self.now()) {
                return Ok(None);
            }
            let visible = match &family.client {
                Some(b) => b.client_id == caller.id,
                None => serves(&self.settings.audience),
            };
            if !visible {
                return Ok(None);
            }
            let user = self.store.get_account(&family.username).await?;
            return Ok(user
                .filter(|u| {
                    u.accepts_tokens_from(family.user_id, family.token_version, family.created_at)
                })
                .map(|user| Introspected::Refresh { family, user }));
        }
        let Some(claims) = self.verified_claims(token, issuer_url) else {
            return Ok(None);
        };
        let issued_to_caller = claims.client_id.as_deref() == Some(caller.id.as_str());
        if !(issued_to_caller || serves(&claims.aud)) {
            return Ok(None);
        }
        Ok(self.liveness(&claims).await?.map(|l| {
            Introspected::Access(ActiveToken {
                claims,
                user: l.user,
            })
        }))
    }
}
