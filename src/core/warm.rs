//! Work done at cold start so that the first request does not pay for it:
//! the storage connections a log in uses at once (with their TLS handshakes,
//! credentials and endpoint resolution), the Argon2id work area (7 MiB of
//! memory touched for the first time), and the signing key's first use.
//! Nothing here can fail start-up: a warm-up that fails or is slow is
//! skipped, and the first request does that work itself. It runs only with
//! `WARM_UP` on: where Init is on the first user's clock it only moves that
//! work, and adds reads of its own.

use super::record::user::Username;
use super::sign::{self, TokenType};
use super::store::UserStore;
use super::Issuer;
use crate::core::sign::Signer;
use std::time::{Duration, Instant};

/// The longest the storage warm-up may hold start-up.
const STORAGE_BUDGET: Duration = Duration::from_secs(1);

/// What the warm-up did, for the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct WarmUp {
    pub storage_ms: Option<f64>,
    /// Mapping the Argon2id work area.
    pub argon2_ms: f64,
    pub signing_ms: Option<f64>,
}

impl<S: UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Opens the connections a log in needs, maps the Argon2id work area and
    /// signs one throw-away token.
    pub async fn warm_up(&self) -> WarmUp {
        let storage = self.warm_storage(super::login::WIDEST_ROUND).await;
        let t1 = Instant::now();
        self.prepare_work_area().await;
        let argon2_ms = ms(t1.elapsed());
        let t2 = Instant::now();
        let signed = sign::sign(
            self.signer(),
            TokenType::Jwt,
            &serde_json::json!({"warm_up": true}),
        )
        .is_ok();
        WarmUp {
            storage_ms: storage,
            argon2_ms,
            signing_ms: signed.then(|| ms(t2.elapsed())),
        }
    }
}

impl<S, K: ?Sized> Issuer<S, K> {
    /// Writes the Argon2id work area, unless a log in has begun to.
    pub async fn prepare_work_area(&self) {
        if let Some(writing) = self.start_preparing_work_area() {
            let _ = writing.await;
        }
    }

    /// Starts writing the Argon2id work area on a blocking thread, when no
    /// one has claimed that yet; the writing, for whoever must wait for it.
    pub(super) fn start_preparing_work_area(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.hasher.claim_preparation().then(|| {
            let hasher = self.hasher.clone();
            tokio::task::spawn_blocking(move || hasher.prepare_work_area())
        })
    }
}

impl<S: UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Opens `connections` storage connections (as many as the function's
    /// requests use at once); the time it took, or `None` when storage did
    /// not answer within its budget.
    pub async fn warm_storage(&self, connections: usize) -> Option<f64> {
        let t0 = Instant::now();
        // A name that is never registered: these reads find nothing.
        let name = Username::parse("warm-up.token-issuer.invalid").ok()?;
        let reads = concurrent_reads(self, &name, connections);
        match tokio::time::timeout(STORAGE_BUDGET, reads).await {
            Ok(true) => Some(ms(t0.elapsed())),
            _ => None,
        }
    }
}

/// `n` reads at once, so each takes its own connection; `true` when all
/// answered. Each reads an account (named attributes), not a whole user:
/// the authorizer's role may read no more, and a denied read would still
/// open its connection but fail in every Init.
async fn concurrent_reads<S: UserStore, K: ?Sized>(
    issuer: &Issuer<S, K>,
    name: &Username,
    n: usize,
) -> bool {
    let reads = (0..n).map(|_| issuer.store.get_account(name));
    futures_util::future::join_all(reads)
        .await
        .iter()
        .all(Result::is_ok)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
