//! The key ring kept in Secrets Manager: one `active` key that signs, one
//! `next` key already published so verifiers (and warm Lambda instances that
//! still serve an older JWKS) know it before it signs, and `previous` keys kept
//! public-only until every token they signed has expired.

use super::{generate_pem, public_jwk, KeyError, KeySet};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How long a retired key stays in the JWKS by default: the longest access
/// token (24 h) plus the life of a warm instance that still signs with it.
pub const DEFAULT_KEEP_PREVIOUS: Duration = Duration::hours(48);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Next,
    Active,
    Previous,
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Next => "next",
            Self::Active => "active (signs)",
            Self::Previous => "previous",
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct RingKey {
    pub kid: String,
    pub status: KeyStatus,
    /// Epoch seconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// Kept while the key may sign (`next`, `active`); dropped on retirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    pub public_jwk: Jwk,
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingKey")
            .field("kid", &self.kid)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyRing {
    pub keys: Vec<RingKey>,
}

fn new_key(status: KeyStatus, now: OffsetDateTime) -> Result<RingKey, KeyError> {
    let pem = generate_pem()?;
    let jwk = public_jwk(pem.as_bytes())?;
    Ok(RingKey {
        kid: jwk.common.key_id.clone().unwrap_or_default(),
        status,
        created_at: now.unix_timestamp(),
        retired_at: None,
        private_key_pem: Some(pem),
        public_jwk: jwk,
    })
}

impl KeyRing {
    /// Reads the secret's text; an empty secret is an empty ring.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|e| KeyError::Ring(e.to_string()))
    }

    pub fn to_json(&self) -> Result<String, KeyError> {
        serde_json::to_string(self).map_err(KeyError::Jwks)
    }

    fn with_status(&self, status: KeyStatus) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.status == status)
    }

    /// previous ← active ← next ← new. Retired keys lose their private part
    /// and leave the ring `keep_previous` after retirement. The first rotation
    /// of an empty ring makes both an active and a next key.
    pub fn rotate(&mut self, now: OffsetDateTime, keep_previous: Duration) -> Result<(), KeyError> {
        let cutoff = (now - keep_previous).unix_timestamp();
        self.keys.retain(|k| {
            k.status != KeyStatus::Previous || k.retired_at.is_some_and(|t| t > cutoff)
        });
        for key in &mut self.keys {
            match key.status {
                KeyStatus::Active => {
                    key.status = KeyStatus::Previous;
                    key.retired_at = Some(now.unix_timestamp());
                    key.private_key_pem = None;
                }
                KeyStatus::Next => key.status = KeyStatus::Active,
                KeyStatus::Previous => {}
            }
        }
        if self.with_status(KeyStatus::Active).is_none() {
            self.keys.push(new_key(KeyStatus::Active, now)?);
        }
        self.keys.push(new_key(KeyStatus::Next, now)?);
        Ok(())
    }

    /// Withdraws a key at once: it leaves the ring, and with it the JWKS, so
    /// tokens it signed stop verifying. The active key is first rotated out
    /// (the published next key starts signing). An unknown kid is an error.
    pub fn revoke(
        &mut self,
        kid: &str,
        now: OffsetDateTime,
        keep_previous: Duration,
    ) -> Result<(), KeyError> {
        let Some(key) = self.keys.iter().find(|k| k.kid == kid) else {
            return Err(KeyError::NoSuchKey(kid.to_string()));
        };
        if key.status == KeyStatus::Active {
            self.rotate(now, keep_previous)?;
        }
        self.keys.retain(|k| k.kid != kid);
        Ok(())
    }

    /// The public keys of [`KeyRing::keyset`]'s JWKS, the signing key first:
    /// what the authorizer is given instead of the ring.
    pub fn public_jwks(&self) -> JwkSet {
        let mut keys: Vec<&RingKey> = self.keys.iter().collect();
        keys.sort_by_key(|k| k.status != KeyStatus::Active);
        JwkSet {
            keys: keys.into_iter().map(|k| k.public_jwk.clone()).collect(),
        }
    }

    /// The signing key and the JWKS of every key whose tokens may be live or
    /// may soon be issued.
    pub fn keyset(&self) -> Result<KeySet, KeyError> {
        let active = self
            .with_status(KeyStatus::Active)
            .ok_or(KeyError::NoActiveKey)?;
        let pem = active
            .private_key_pem
            .as_deref()
            .ok_or(KeyError::NoActiveKey)?;
        let others: Vec<Jwk> = self
            .keys
            .iter()
            .filter(|k| k.status != KeyStatus::Active)
            .map(|k| k.public_jwk.clone())
            .collect();
        KeySet::with_published(pem.as_bytes(), &others)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    fn kids(ring: &KeyRing, status: KeyStatus) -> Vec<String> {
        ring.keys
            .iter()
            .filter(|k| k.status == status)
            .map(|k| k.kid.clone())
            .collect()
    }

    #[test]
    fn rotation_promotes_next_and_retires_active() {
        let mut ring = KeyRing::parse("").unwrap();
        assert!(matches!(ring.keyset(), Err(KeyError::NoActiveKey)));

        ring.rotate(T0, DEFAULT_KEEP_PREVIOUS).unwrap();
        let first_active = kids(&ring, KeyStatus::Active);
        let first_next = kids(&ring, KeyStatus::Next);
        assert_eq!((first_active.len(), first_next.len()), (1, 1));
        let set = ring.keyset().unwrap();
        assert_eq!(set.kid(), first_active[0]);
        let jwks: serde_json::Value = serde_json::from_str(set.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "active and next");
        let retiring_pem = ring
            .with_status(KeyStatus::Active)
            .and_then(|k| k.private_key_pem.clone())
            .unwrap();

        ring.rotate(T0 + Duration::hours(1), DEFAULT_KEEP_PREVIOUS)
            .unwrap();
        assert_eq!(kids(&ring, KeyStatus::Active), first_next, "next signs now");
        assert_eq!(kids(&ring, KeyStatus::Previous), first_active);
        let previous = ring
            .keys
            .iter()
            .find(|k| k.status == KeyStatus::Previous)
            .unwrap();
        assert!(
            previous.private_key_pem.is_none(),
            "retired keys keep no private part"
        );
        let jwks: serde_json::Value =
            serde_json::from_str(ring.keyset().unwrap().jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
        // The secret's text: PEMs appear in it as JSON strings (newlines escaped).
        let json = ring.to_json().unwrap();
        let as_json = |pem: &str| serde_json::to_string(pem).unwrap();
        assert!(
            !json.contains(&as_json(&retiring_pem)),
            "the retired key's private PEM is not stored"
        );
        let active_pem = ring
            .with_status(KeyStatus::Active)
            .and_then(|k| k.private_key_pem.as_deref())
            .unwrap();
        assert!(
            json.contains(&as_json(active_pem)),
            "the new active key's private PEM is stored"
        );
    }

    #[test]
    fn a_revoked_key_leaves_the_ring_and_the_jwks_at_once() {
        let mut ring = KeyRing::default();
        ring.rotate(T0, DEFAULT_KEEP_PREVIOUS).unwrap();
        ring.rotate(T0 + Duration::hours(1), DEFAULT_KEEP_PREVIOUS)
            .unwrap();
        let previous = kids(&ring, KeyStatus::Previous)[0].clone();
        ring.revoke(&previous, T0 + Duration::hours(2), DEFAULT_KEEP_PREVIOUS)
            .unwrap();
        let jwks = ring.keyset().unwrap().jwks_json().to_string();
        assert!(!jwks.contains(&previous));
        // Revoking the signing key: the next one signs, the revoked one is gone.
        let active = kids(&ring, KeyStatus::Active)[0].clone();
        let next = kids(&ring, KeyStatus::Next)[0].clone();
        ring.revoke(&active, T0 + Duration::hours(3), DEFAULT_KEEP_PREVIOUS)
            .unwrap();
        let set = ring.keyset().unwrap();
        assert_eq!(set.kid(), next);
        assert!(!set.jwks_json().contains(&active));
        assert!(!ring.to_json().unwrap().contains(&active));
        assert!(matches!(
            ring.revoke("nope", T0, DEFAULT_KEEP_PREVIOUS),
            Err(KeyError::NoSuchKey(_))
        ));
    }

    #[test]
    fn previous_keys_leave_after_the_keep_window() {
        let mut ring = KeyRing::default();
        ring.rotate(T0, Duration::hours(48)).unwrap();
        ring.rotate(T0 + Duration::hours(1), Duration::hours(48))
            .unwrap();
        let retired = kids(&ring, KeyStatus::Previous);
        // 47 h after retirement it is still published...
        ring.rotate(T0 + Duration::hours(48), Duration::hours(48))
            .unwrap();
        assert!(kids(&ring, KeyStatus::Previous).contains(&retired[0]));
        // ...and gone once 48 h have passed.
        ring.rotate(
            T0 + Duration::hours(49) + Duration::seconds(1),
            Duration::hours(48),
        )
        .unwrap();
        assert!(!kids(&ring, KeyStatus::Previous).contains(&retired[0]));
    }

    #[test]
    fn the_ring_round_trips_and_hides_private_keys_from_debug() {
        let mut ring = KeyRing::default();
        ring.rotate(T0, DEFAULT_KEEP_PREVIOUS).unwrap();
        let text = ring.to_json().unwrap();
        let back = KeyRing::parse(&text).unwrap();
        assert_eq!(back.keyset().unwrap().kid(), ring.keyset().unwrap().kid());
        assert!(!format!("{ring:?}").contains("PRIVATE KEY"));
        assert!(matches!(
            KeyRing::parse("{not json"),
            Err(KeyError::Ring(_))
        ));
    }
}
