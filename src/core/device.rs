//! Known browsers (API §2): a browser that signed in at the login page
//! carries, for 30 days, a signed device cookie for that username, and the
//! username's lock does not refuse it (the pair's lock and the address's
//! budget still do). So attackers from many addresses cannot lock a user
//! out of the login page on the browser they use.
//!
//! The cookie holds no username: a version byte, when it was made and a
//! hash of the username, then a 128-bit tag under a key derived from the
//! signing key (so every instance agrees, and a key rotation forgets every
//! browser until its next sign-in).

use super::record::user::{LoginName, Username};
use super::Issuer;
use crate::core::sign::Signer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// The cookie's name: `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`.
pub const DEVICE_COOKIE: &str = "__Host-device";
/// How long a browser stays known after a sign-in.
pub const DEVICE_TTL: Duration = Duration::days(30);

const VERSION: u8 = 1;
/// version, made-at (8 bytes), username hash (16 bytes).
const PAYLOAD: usize = 1 + 8 + 16;
const TAG: usize = 16;

fn username_hash(name: &str) -> [u8; 16] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"device\0");
    ctx.update(name.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&ctx.finish().as_ref()[..16]);
    out
}

fn payload(name: &str, made: OffsetDateTime) -> Vec<u8> {
    let mut p = Vec::with_capacity(PAYLOAD);
    p.push(VERSION);
    p.extend_from_slice(&made.unix_timestamp().to_be_bytes());
    p.extend_from_slice(&username_hash(name));
    p
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// The device cookie's value for a browser that just signed in as `name`.
    pub fn device_cookie(&self, name: &Username) -> String {
        let p = payload(name.as_str(), self.now());
        let tag = self.keys.device_mac(&p);
        URL_SAFE_NO_PAD.encode([p.as_slice(), &tag].concat())
    }

    /// Whether `value` is a device cookie this issuer made for `name` less
    /// than [`DEVICE_TTL`] ago.
    pub(super) fn knows_device(&self, value: &str, name: &LoginName, now: OffsetDateTime) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(value) else {
            return false;
        };
        if raw.len() != PAYLOAD + TAG || raw[0] != VERSION {
            return false;
        }
        let (p, tag) = raw.split_at(PAYLOAD);
        if !self.keys.device_mac_matches(p, tag) {
            return false;
        }
        let mut made = [0u8; 8];
        made.copy_from_slice(&p[1..9]);
        let Ok(made) = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(made)) else {
            return false;
        };
        let fresh = made <= now && now < made + DEVICE_TTL;
        fresh && p[9..] == username_hash(name.as_str())
    }
}
