//! The keys a warm instance signs and publishes with: those of its last read
//! of the key ring, read again at most every `every`, so a rotation or a
//! withdrawn key reaches every warm instance within that bound.

use super::{secret, KeyError, KeySet, KeySource};
use crate::core::record::claims::{IdTokenHint, TokenClaims};
use crate::core::sign::{self, SignError, Signer, TokenType};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// A read of the ring that fails is tried again this soon, not every request.
const RETRY: Duration = Duration::from_secs(30);
/// A read of the ring never holds a request longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Keys {
    current: RwLock<Arc<KeySet>>,
    refresh: Option<Refresh>,
}

struct Refresh {
    client: aws_sdk_secretsmanager::Client,
    /// The ring, or its public keys alone.
    source: KeySource,
    secret_id: String,
    every: Duration,
    due: Mutex<Instant>,
    /// One read at a time; the others go on with the keys they have.
    busy: tokio::sync::Mutex<()>,
}

impl From<KeySet> for Keys {
    /// Keys that never change (a PEM file, an ephemeral key).
    fn from(keys: KeySet) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
            refresh: None,
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// `keys` as read at cold start from the ring in `secret_id`, read again
    /// every `every`.
    pub fn refreshing(
        keys: KeySet,
        client: aws_sdk_secretsmanager::Client,
        source: KeySource,
        secret_id: String,
        every: Duration,
    ) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
            refresh: Some(Refresh {
                client,
                source,
                secret_id,
                every,
                due: Mutex::new(Instant::now() + every),
                busy: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The keys to sign and publish with now.
    pub fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the ring again when the bound has passed. Never fails: a ring
    /// that cannot be read (or has no active key) keeps the keys in use, and
    /// the log says why.
    pub async fn refresh_if_due(&self) {
        let Some(r) = &self.refresh else { return };
        if Instant::now() < *r.due.lock().unwrap_or_else(|p| p.into_inner()) {
            return;
        }
        let Ok(_one) = r.busy.try_lock() else { return };
        let read = tokio::time::timeout(
            READ_TIMEOUT,
            secret::load_keyset(&r.client, &r.source, &r.secret_id),
        );
        let next = match read.await {
            Ok(Ok(keys)) => {
                let kid = keys.kid().to_string();
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                tracing::debug!(kid, "key ring read again");
                r.every
            }
            Ok(Err(e @ (KeyError::NoActiveKey | KeyError::NoPublicKey | KeyError::Ring(_)))) => {
                tracing::error!(error = %e, "the key ring has no usable key; keeping the keys in use");
                RETRY.min(r.every)
            }
            Ok(Err(e)) => {
                tracing::error!(error = %crate::telemetry::chain(&e), "cannot read the key ring; keeping the keys in use");
                RETRY.min(r.every)
            }
            Err(_) => {
                tracing::error!("reading the key ring timed out; keeping the keys in use");
                RETRY.min(r.every)
            }
        };
        *r.due.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + next;
    }
}

impl From<KeyError> for SignError {
    fn from(e: KeyError) -> Self {
        Self::Keys(Box::new(e))
    }
}

/// The signing port on the keys of the instance's last read of the ring.
impl Signer for Keys {
    fn sign_payload(&self, typ: TokenType, payload: &[u8]) -> Result<String, SignError> {
        Ok(self.current().sign_payload(typ, payload)?)
    }

    fn verify(&self, token: &str) -> Option<(TokenType, TokenClaims)> {
        self.current().verify(token)
    }

    fn verify_id_token(&self, token: &str) -> Option<IdTokenHint> {
        match self.current().verify(token)? {
            (TokenType::Jwt, hint) => Some(hint),
            _ => None,
        }
    }

    fn form_mac(&self, data: &[u8]) -> Vec<u8> {
        self.current().form_mac(data)
    }

    fn form_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool {
        self.current().form_mac_matches(data, tag)
    }

    fn device_mac(&self, data: &[u8]) -> [u8; 16] {
        self.current().device_mac(data)
    }

    fn device_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool {
        self.current().device_mac_matches(data, tag)
    }

    fn pseudonym(&self, data: &[u8]) -> String {
        self.current().pseudonym(data)
    }

    fn public_jwks(&self) -> String {
        self.current().jwks_json().to_string()
    }
}

impl sign::Refresh for Keys {
    fn refresh_if_due(&self) -> impl Future<Output = ()> + Send {
        Keys::refresh_if_due(self)
    }
}
