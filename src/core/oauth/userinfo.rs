//! OpenID Connect userinfo (Core §5.3).

use crate::core::dpop::Presentation;
use crate::core::error::{Error, Refusal};
use crate::core::record::client::{Scopes, OPENID};
use crate::core::record::user::Account;
use crate::core::sign::Signer;
use crate::core::store::{DpopStore, TokenStateStore};
use crate::core::Issuer;

impl<S: TokenStateStore + DpopStore, K: Signer + ?Sized> Issuer<S, K> {
    /// OpenID Connect userinfo: the user of an active access token with
    /// scope `openid`.
    ///
    /// The account and the token's scope, which decides the claims released
    /// (Core §5.4: `profile` the names, `email` the address). A DPoP-bound
    /// token needs its proof (`presented`).
    pub async fn userinfo(
        &self,
        token: &str,
        presented: Presentation<'_>,
        issuer_url: &str,
    ) -> Result<(Account, Scopes), Error> {
        let active = self
            .active_access_token(token, issuer_url)
            .await?
            .ok_or(Refusal::InvalidToken)?;
        self.check_presentation(token, &active.claims, presented)
            .await?;
        let scope = active
            .claims
            .scope
            .as_deref()
            .and_then(|s| Scopes::parse(s).ok())
            .filter(|s| s.contains(OPENID));
        match (active.user, scope) {
            (Some(user), Some(scope)) => Ok((user, scope)),
            _ => Err(Refusal::InsufficientScope(OPENID).into()),
        }
    }
}
