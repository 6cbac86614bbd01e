//! Second factors (API §13): one-time codes (TOTP, RFC 6238: HMAC-SHA-1,
//! six digits, 30-second steps, one step of skew either way) and recovery
//! codes (ten, each good once, stored as hashes only).

use super::token::{random, token_hash, RandomError};
use std::fmt;
use time::OffsetDateTime;

/// Digits of a one-time code.
pub const TOTP_DIGITS: usize = 6;
/// Seconds of one time step.
pub const TOTP_STEP_SECS: i64 = 30;
/// Steps a code may be early or late.
pub const TOTP_SKEW_STEPS: i64 = 1;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a TOTP secret: 160 bits, the size RFC 4226 recommends.
pub const TOTP_SECRET_BYTES: usize = 20;

/// RFC 4648's base32 alphabet: what authenticator apps read.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A TOTP secret in the clear. It never shows in a `{:?}`; stored only
/// sealed by the issuer's factor key.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; TOTP_SECRET_BYTES]);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(random()?))
    }

    /// The secret of `bytes` (as unsealed); `None` when not its size.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, as a user types it into an app.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://` URI authenticator apps read from the QR code:
    /// `issuer` names the service, `account` the user.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer),
        )
    }

    /// The code of time step `step` (RFC 4226 §5.3's dynamic truncation).
    pub fn code_at(&self, step: u64) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let mac = ring::hmac::sign(&key, &step.to_be_bytes());
        let mac = mac.as_ref();
        let offset = (mac[mac.len() - 1] & 0x0f) as usize;
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        format!(
            "{:0width$}",
            binary % 10u32.pow(TOTP_DIGITS as u32),
            width = TOTP_DIGITS
        )
    }

    /// The time step `code` is the code of, within the skew around `now`,
    /// and later than `last_used` (a code is accepted once); `None` when
    /// it matches none. Every candidate is compared in constant time.
    pub fn matching_step(
        &self,
        code: &str,
        now: OffsetDateTime,
        last_used: Option<u64>,
    ) -> Option<u64> {
        let code = code.trim();
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now)?;
        let mut found = None;
        for delta in -TOTP_SKEW_STEPS..=TOTP_SKEW_STEPS {
            let Some(step) = current.checked_add_signed(delta) else {
                continue;
            };
            let matches: bool =
                subtle::ConstantTimeEq::ct_eq(self.code_at(step).as_bytes(), code.as_bytes())
                    .into();
            if matches && last_used.is_none_or(|last| step > last) {
                found = Some(step);
            }
        }
        found
    }
}

/// The time step of `now`.
pub fn step_of(now: OffsetDateTime) -> Option<u64> {
    u64::try_from(now.unix_timestamp().div_euclid(TOTP_STEP_SECS)).ok()
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A recovery code as shown to the user once: ten base32 characters in two
/// groups (`ABCDE-FGHJK`), 50 random bits.
pub struct RecoveryCode(String);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([redacted])")
    }
}

impl RecoveryCode {
    /// A fresh set of [`RECOVERY_CODES`].
    pub fn generate_set() -> Result<Vec<Self>, RandomError> {
        (0..RECOVERY_CODES)
            .map(|_| {
                let raw = base32(&random::<7>()?);
                Ok(Self(format!("{}-{}", &raw[..5], &raw[5..10])))
            })
            .collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A code as [`RecoveryCode::expose`] showed it; `None` for anything else.
    pub fn from_shown(shown: &str) -> Option<Self> {
        let ok = shown.len() == 11
            && shown.as_bytes()[5] == b'-'
            && shown
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 5 || BASE32.contains(&b));
        ok.then(|| Self(shown.to_string()))
    }

    /// What is stored of it.
    pub fn hash(&self) -> String {
        recovery_hash(&self.0).unwrap_or_default()
    }
}

/// The stored form of a typed recovery code: case, spaces and dashes do not
/// matter. `None` for what cannot be one.
pub fn recovery_hash(typed: &str) -> Option<String> {
    let normal: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (normal.len() == 10 && normal.bytes().all(|b| BASE32.contains(&b))).then(|| token_hash(&normal))
}

/// What is stored of a user's second factors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Factors {
    /// The TOTP secret sealed by the factor key; `None`: not enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    /// The last time step whose code was accepted.
    pub totp_last_step: Option<u64>,
    /// Hashes of the recovery codes not used yet.
    pub recovery: Vec<String>,
    pub enrolled_at: Option<OffsetDateTime>,
    /// The passkeys registered, in no order.
    pub passkeys: Vec<super::passkey::Passkey>,
}

impl Factors {
    pub fn has_any(&self) -> bool {
        self.totp_sealed.is_some() || !self.passkeys.is_empty()
    }

    pub fn passkey(&self, id: &[u8]) -> Option<&super::passkey::Passkey> {
        self.passkeys.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    /// RFC 6238 Appendix B's SHA-1 seed.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn codes_are_rfc_6238s_test_vectors() {
        // The appendix gives eight digits; six are their last six.
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let at = OffsetDateTime::from_unix_timestamp(t).unwrap();
            assert_eq!(
                rfc_secret().code_at(step_of(at).unwrap()),
                eight[2..],
                "T={t}"
            );
        }
    }

    #[test]
    fn base32_is_rfc_4648s() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn a_code_matches_one_step_early_or_late_and_only_after_the_last_used() {
        let s = rfc_secret();
        let now = OffsetDateTime::from_unix_timestamp(1_234_567_890).unwrap();
        let step = step_of(now).unwrap();
        for delta in [-1i64, 0, 1] {
            let code = s.code_at(step.checked_add_signed(delta).unwrap());
            assert_eq!(
                s.matching_step(&code, now, None),
                step.checked_add_signed(delta)
            );
        }
        for delta in [-2i64, 2] {
            let code = s.code_at(step.checked_add_signed(delta).unwrap());
            assert_eq!(s.matching_step(&code, now, None), None, "{delta}");
        }
        let code = s.code_at(step);
        assert_eq!(s.matching_step(&code, now, Some(step)), None, "a replay");
        assert_eq!(s.matching_step(&code, now, Some(step - 1)), Some(step));
        // The next step's code still works after this one's.
        let later = now + Duration::seconds(TOTP_STEP_SECS);
        assert_eq!(
            s.matching_step(&s.code_at(step + 1), later, Some(step)),
            Some(step + 1)
        );
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(s.matching_step(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_account_and_parameters() {
        let uri = rfc_secret().otpauth_uri("Acme ID", "ethan@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20ID:ethan%40example%2Ecom?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20ID&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hashed_whatever_their_typing() {
        let set = RecoveryCode::generate_set().unwrap();
        assert_eq!(set.len(), RECOVERY_CODES);
        let hashes: std::collections::BTreeSet<String> = set.iter().map(|c| c.hash()).collect();
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let code = set[0].expose();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(recovery_hash(&typed), Some(set[0].hash()));
        assert_eq!(recovery_hash("ABCDE-FGHI1"), None, "1 is not base32");
        assert_eq!(recovery_hash("ABCDE"), None);
        assert!(!format!("{:?}", set[0]).contains(code));
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret([redacted])");
    }
}
