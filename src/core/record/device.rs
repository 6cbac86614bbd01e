//! The device authorization grant's records (RFC 8628): the codes a device
//! is given, and what the issuer remembers of its request until it is
//! approved, denied, taken or expired.

use super::client::{ClientId, Scopes};
use super::token::{random, RandomError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// The user code's letters (API §15): consonants without vowels, so no word
/// can be spelt, and none easily mistaken for another.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code; it is shown as two groups of four.
pub const USER_CODE_LEN: usize = 8;
/// How long a device's codes are good for.
pub const DEVICE_CODE_TTL: Duration = Duration::minutes(10);
/// How long a device waits between polls, and what `slow_down` adds.
pub const POLL_INTERVAL_SECS: i64 = 5;

/// Where the device page sends the browser back to, under the issuer.
pub const DEVICE_CALLBACK_PATH: &str = "/oauth2/device/callback";
/// The device page, under the issuer (`verification_uri`).
pub const DEVICE_PAGE_PATH: &str = "/oauth2/device";

/// The device callback's URL for an issuer.
pub fn device_callback_url(issuer_url: &str) -> String {
    format!("{issuer_url}{DEVICE_CALLBACK_PATH}")
}

/// Why a poll gets no tokens (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceRefusal {
    #[error("the user has not answered yet")]
    Pending,
    #[error("the device polls faster than its interval")]
    SlowDown,
    #[error("the user denied the request")]
    Denied,
    #[error("the device code expired")]
    Expired,
    #[error("unknown, used or another client's device code")]
    Invalid,
}

/// A new device code: 256 random bits, URL-safe.
pub fn new_device_code() -> Result<String, RandomError> {
    let bytes: [u8; 32] = random()?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new user code, `XXXX-XXXX`: each letter drawn uniformly (a byte past
/// the largest multiple of 20 is drawn again).
pub fn new_user_code() -> Result<String, RandomError> {
    let mut letters = String::with_capacity(USER_CODE_LEN + 1);
    while letters.len() < USER_CODE_LEN + 1 {
        for b in random::<32>()? {
            if b >= 240 {
                continue;
            }
            if letters.len() == 4 {
                letters.push('-');
            }
            letters.push(USER_CODE_ALPHABET[usize::from(b % 20)] as char);
            if letters.len() == USER_CODE_LEN + 1 {
                break;
            }
        }
    }
    Ok(letters)
}

/// A user code as typed, in its one stored form: case, spaces and dashes
/// do not matter. `None` when it cannot be a user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// Where a device's request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// Approved: the grant, sealed, waits for the device's next poll.
    Approved(Vec<u8>),
    Denied,
    /// Its grant was taken by the device.
    Done,
}

/// A device's request, as stored under the hash of its device code.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequest {
    pub client_id: ClientId,
    pub scope: Scopes,
    pub expires_at: OffsetDateTime,
    /// Seconds between polls; `slow_down` raises it.
    pub interval_secs: i64,
    pub last_poll_at: Option<OffsetDateTime>,
    pub status: DeviceStatus,
}

impl DeviceRequest {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Whether a poll at `now` comes before the interval has passed.
    pub fn too_soon(&self, now: OffsetDateTime) -> bool {
        self.last_poll_at
            .is_some_and(|last| now < last + Duration::seconds(self.interval_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet_and_normalize_back() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let code = new_user_code().unwrap();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            let plain = normalize_user_code(&code).unwrap();
            assert!(plain.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            assert_eq!(
                normalize_user_code(&code.to_lowercase()),
                Some(plain.clone())
            );
            assert_eq!(
                normalize_user_code(&plain.replace("", " ")),
                Some(plain.clone())
            );
            seen.insert(plain);
        }
        // 20^8 codes: 200 draws do not repeat.
        assert_eq!(seen.len(), 200);
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA",
            "ABCD-EFGH",
            "BCDF-GHJ1",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn device_codes_are_long_and_new() {
        let a = new_device_code().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_device_code().unwrap());
    }
}
