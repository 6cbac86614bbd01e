//! DPoP at the issuer (RFC 9449): a request's proof is checked against the
//! request, its server nonce too when nonces are on, then spent, so that
//! one proof is accepted once (§11.1).
//!
//! Nonces need no storage: one is the number of a 5-minute window and a
//! tag over it under a key derived from the signing key, good in its
//! window and the next, so every instance accepts every other's.

use super::error::{Error, Refusal};
use super::record::claims::TokenClaims;
use super::record::client::Client;
pub use super::record::dpop::DpopRefusal;
use super::record::dpop::{check_proof, Expected, Proof, IAT_WINDOW};
use super::record::token::token_hash;
use super::sign::Signer;
use super::store::{DpopStore, StoreError};
use super::Issuer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::OffsetDateTime;

/// How long one nonce window lasts; a nonce is good in its window and the
/// next.
const NONCE_WINDOW_SECS: i64 = 300;
const NONCE_CONTEXT: &[u8] = b"dpop-nonce\0";
const NONCE_TAG: usize = 16;

/// Checks `proof` against the request, then `nonce_ok` on its nonce, then
/// spends it. A refusal is the client's; a storage fault is not, and
/// nothing is accepted then.
pub async fn accept_proof<S: DpopStore>(
    store: &S,
    proof: &str,
    expected: &Expected<'_>,
    nonce_ok: impl FnOnce(Option<&str>) -> bool,
) -> Result<Result<Proof, DpopRefusal>, StoreError> {
    let proof = match check_proof(proof, expected) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.into())),
    };
    // Before spending: the client retries with a new proof anyway.
    if !nonce_ok(proof.nonce.as_deref()) {
        return Ok(Err(DpopRefusal::Nonce));
    }
    // Per key: two clients choosing one `jti` do not collide.
    let hash = token_hash(&format!("{}\0{}", proof.jkt, proof.jti));
    // Once the window has passed, `iat` refuses the proof on its own.
    let spent = store.spend_proof(&hash, proof.iat + IAT_WINDOW).await?;
    Ok(if spent {
        Ok(proof)
    } else {
        Err(DpopRefusal::Replayed)
    })
}

fn nonce_window(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(NONCE_WINDOW_SECS)
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// The nonce to hand out at `now` (`DPoP-Nonce`).
    pub fn dpop_nonce(&self, now: OffsetDateTime) -> String {
        let window = nonce_window(now).to_be_bytes();
        let tag = self.signer().form_mac(&[NONCE_CONTEXT, &window].concat());
        let mut raw = window.to_vec();
        raw.extend_from_slice(&tag[..NONCE_TAG.min(tag.len())]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether `nonce` is one this issuer handed out for `now`'s window or
    /// the one before.
    fn dpop_nonce_valid(&self, nonce: Option<&str>, now: OffsetDateTime) -> bool {
        let Some(raw) = nonce.and_then(|n| URL_SAFE_NO_PAD.decode(n).ok()) else {
            return false;
        };
        let Some((window, tag)) = raw.split_first_chunk::<8>() else {
            return false;
        };
        let current = nonce_window(now);
        let w = i64::from_be_bytes(*window);
        if w != current && w != current - 1 {
            return false;
        }
        let expected = self.signer().form_mac(&[NONCE_CONTEXT, window].concat());
        expected.get(..NONCE_TAG) == Some(tag)
    }
}

impl<S: DpopStore, K: Signer + ?Sized> Issuer<S, K> {
    /// The proof of a request to the issuer, checked, its nonce too when
    /// nonces are on, and spent.
    pub async fn accepted_proof(
        &self,
        proof: &str,
        expected: Expected<'_>,
    ) -> Result<Proof, Error> {
        let nonces = self.settings.dpop_nonces;
        let now = expected.now;
        let nonce_ok = |n: Option<&str>| !nonces || self.dpop_nonce_valid(n, now);
        match accept_proof(&self.store, proof, &expected, nonce_ok).await? {
            Ok(p) => Ok(p),
            Err(DpopRefusal::Nonce) => Err(Refusal::UseDpopNonce(self.dpop_nonce(now)).into()),
            Err(r) => Err(Refusal::InvalidDpopProof(r).into()),
        }
    }

    /// The proof of a token request (`proof`, the `DPoP` header) at
    /// `token_url`: `None` when there is none and the client needs none.
    pub async fn token_proof(
        &self,
        client: &Client,
        proof: Option<&str>,
        token_url: &str,
    ) -> Result<Option<Proof>, Error> {
        let Some(proof) = proof else {
            return if client.require_dpop {
                Err(Refusal::DpopRequired.into())
            } else {
                Ok(None)
            };
        };
        let expected = Expected {
            method: "POST",
            url: token_url,
            access_token: None,
            now: self.now(),
        };
        self.accepted_proof(proof, expected).await.map(Some)
    }
}

/// How an access token came to a resource (RFC 9449 §7): as a bearer token,
/// or with a DPoP proof for this request.
#[derive(Debug, Clone, Copy)]
pub enum Presentation<'a> {
    Bearer,
    Dpop {
        proof: &'a str,
        /// The request's method and URL, as the proof must name them.
        method: &'a str,
        url: &'a str,
    },
}

impl<S: DpopStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Whether a verified access token (`token`, its `claims`) may be used
    /// as presented: a bound token only with a proof made with its key,
    /// which names this request and the token; an unbound one only as a
    /// bearer token.
    pub async fn check_presentation(
        &self,
        token: &str,
        claims: &TokenClaims,
        presented: Presentation<'_>,
    ) -> Result<(), Error> {
        let bound = claims.cnf.as_ref().map(|c| c.jkt.as_str());
        let Presentation::Dpop { proof, method, url } = presented else {
            return match bound {
                None => Ok(()),
                Some(_) => Err(Refusal::InvalidDpopToken.into()),
            };
        };
        let expected = Expected {
            method,
            url,
            access_token: Some(token),
            now: self.now(),
        };
        let proof = self.accepted_proof(proof, expected).await?;
        if bound == Some(proof.jkt.as_str()) {
            Ok(())
        } else {
            Err(Refusal::InvalidDpopToken.into())
        }
    }
}
