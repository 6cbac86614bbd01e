//! Passwords: the newtype that parses them, the Argon2id hasher and the
//! strength policy applied when one is set.

use super::record::user::Username;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};
use unicode_normalization::UnicodeNormalization;

/// Longest password accepted, in bytes as received.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password `token-admin` accepts, in characters (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
pub const ARGON2_M_KIB: u32 = 19_456;
pub const ARGON2_T: u32 = 2;
pub const ARGON2_P: u32 = 1;

/// A well-formed Argon2id PHC string with the current parameters and a random
/// salt and digest: no password is known to match it. Verifying against it
/// makes an unknown user cost one full Argon2id run, like a known one
///. A unit test checks its parameters against the constants.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$hhfJTB5sWqbkaZmV/CGp6g$pQnhMVaGA2XaZNc1V0nsLCbBU7fe3U4zlprKqHHIpfs";

/// A password in NFC form, never printed.
#[derive(Clone, Debug)]
pub struct Password(SecretString);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password is empty")]
    Empty,
    #[error("the password is shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is too easy to guess{0}")]
    Weak(String),
}

impl Password {
    /// Checks the length as received, then normalises.
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        if raw.is_empty() {
            return Err(PasswordError::Empty);
        }
        Ok(Self(SecretString::from(raw.nfc().collect::<String>())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The rules for a new password: length and an entropy estimate, no
    /// composition rules. `context` holds words the password must not lean on
    /// (the username, the email).
    pub fn check_strength(&self, context: &[&str]) -> Result<(), PasswordError> {
        let pw = self.expose();
        if pw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        let estimate = zxcvbn::zxcvbn(pw, context);
        if estimate.score() < zxcvbn::Score::Three {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            return Err(PasswordError::Weak(hint));
        }
        Ok(())
    }

    /// [`Password::check_strength`] for a user's password, wherever it is
    /// set: the user's own names are the words it must not lean on.
    pub fn check_strength_for(
        &self,
        username: &Username,
        email: &str,
        full_name: &str,
    ) -> Result<(), PasswordError> {
        self.check_strength(&[username.as_str(), email, full_name])
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Argon2id with fixed parameters, built once, with one reusable 19 MiB work
/// area: allocating it per verification costs page faults on every log in and
/// leaves a freed copy in each allocator arena (measured: +7 ms and a 240 MiB
/// peak over 1,000 log ins).
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    params: Params,
    memory: Arc<Mutex<Vec<Block>>>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        // The constants are valid (a test checks the resulting hashes); argon2's
        // default is the same OWASP setting anyway.
        let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default();
        Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            params,
            // Allocated on first use, so start-up does not pay for it.
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Allocates the work area and writes every page of it, so the first
    /// verification finds its 19 MiB already mapped: a fraction of the cost
    /// of a verification (no hashing), done at cold start.
    pub fn prepare_work_area(&self) {
        let Ok(mut memory) = self.memory.lock() else {
            return;
        };
        if memory.len() != self.params.block_count() {
            *memory = vec![Block::default(); self.params.block_count()];
        }
        // Written block by block (`vec!` may hand out untouched zero pages).
        for block in memory.iter_mut() {
            *block = Block::default();
        }
        std::hint::black_box(memory.as_mut_slice());
    }

    /// A PHC string with a fresh random salt.
    pub fn hash(&self, password: &Password) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| HashError("no randomness".into()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
        self.argon
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Verifies against `phc`, or against the dummy hash when there is no user,
    /// so both paths cost one Argon2id run. A malformed stored hash never matches.
    pub fn verify(&self, password: &Password, phc: Option<&str>) -> bool {
        let (phc, real) = match phc {
            Some(h) => (h, true),
            None => (DUMMY_HASH, false),
        };
        let ok = match PasswordHash::new(phc) {
            Ok(parsed) => match self.verify_in_place(password, &parsed) {
                Some(ok) => ok,
                // Other parameters (an old hash) or the work area busy: the plain path.
                None => self
                    .argon
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok(),
            },
            Err(_) => {
                // Keep the cost even when the stored hash is corrupt.
                if let Ok(dummy) = PasswordHash::new(DUMMY_HASH) {
                    let _ = self
                        .argon
                        .verify_password(password.expose().as_bytes(), &dummy);
                }
                false
            }
        };
        ok && real
    }

    /// Verifies a hash made with the current parameters in the reusable work
    /// area; `None` when that does not apply.
    fn verify_in_place(&self, password: &Password, parsed: &PasswordHash<'_>) -> Option<bool> {
        if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
            return None;
        }
        let params = Params::try_from(parsed).ok()?;
        let same = params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost();
        let expected = parsed.hash?;
        if !same {
            return None;
        }
        let mut salt_buf = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
        let mut out = vec![0u8; expected.len()];
        let mut memory = self.memory.try_lock().ok()?;
        if memory.len() != self.params.block_count() {
            *memory = vec![Block::default(); self.params.block_count()];
        }
        self.argon
            .hash_password_into_with_memory(
                password.expose().as_bytes(),
                salt,
                &mut out,
                memory.as_mut_slice(),
            )
            .ok()?;
        // Constant time: the comparison must not leak how much matched. Slices
        // of different lengths are unequal (the length itself is not secret).
        Some(aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok())
    }

    /// Whether a stored hash is weaker than the current setting (another
    /// algorithm or version, or lower memory or time cost), so the next
    /// successful log in should replace it.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => p.m_cost() < ARGON2_M_KIB || p.t_cost() < ARGON2_T || p.p_cost() < ARGON2_P,
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = Hasher::new();
        let pw = Password::parse("correct horse battery staple").unwrap();
        let phc = h.hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify(&pw, Some(&phc)));
        assert!(!h.verify(&Password::parse("wrong").unwrap(), Some(&phc)));
        assert!(!h.verify(&pw, Some("not a phc string")));
        // Two hashes of one password differ by salt.
        assert_ne!(phc, h.hash(&pw).unwrap());
    }

    #[test]
    fn dummy_hash_has_current_parameters_and_never_matches() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (ARGON2_M_KIB, ARGON2_T, ARGON2_P)
        );
        let h = Hasher::new();
        assert!(!h.verify(&Password::parse("anything at all").unwrap(), None));
    }

    #[test]
    fn weaker_hashes_need_a_rehash() {
        let h = Hasher::new();
        let pw = Password::parse("correct horse battery staple").unwrap();
        assert!(!h.needs_rehash(&h.hash(&pw).unwrap()));
        assert!(!h.needs_rehash(DUMMY_HASH));
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let weak_phc = weak
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(h.verify(&pw, Some(&weak_phc)), "old hashes still verify");
        assert!(h.needs_rehash(&weak_phc));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default());
        let i_phc = argon2i
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(h.needs_rehash(&i_phc));
    }

    #[test]
    fn passwords_are_nfc_normalised() {
        let h = Hasher::new();
        let composed = Password::parse("caf\u{e9} au lait, s'il vous pla\u{ee}t").unwrap();
        let decomposed = Password::parse("cafe\u{301} au lait, s'il vous plai\u{302}t").unwrap();
        let phc = h.hash(&composed).unwrap();
        assert!(h.verify(&decomposed, Some(&phc)));
    }

    #[test]
    fn length_limits() {
        assert_eq!(
            Password::parse(&"a".repeat(1025)).unwrap_err(),
            PasswordError::TooLong
        );
        assert!(Password::parse(&"a".repeat(1024)).is_ok());
        // The limit is on bytes: 342 three-byte characters are 1026 bytes.
        assert_eq!(
            Password::parse(&"€".repeat(342)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(Password::parse("").unwrap_err(), PasswordError::Empty);
    }

    #[test]
    fn strength_policy() {
        let p = |s: &str| Password::parse(s).unwrap();
        assert_eq!(p("Ab1!").check_strength(&[]), Err(PasswordError::TooShort));
        assert!(matches!(
            p("password1").check_strength(&[]),
            Err(PasswordError::Weak(_))
        ));
        assert!(matches!(
            p("12345678").check_strength(&[]),
            Err(PasswordError::Weak(_))
        ));
        assert!(matches!(
            p("alice.smith1").check_strength(&["alice.smith"]),
            Err(PasswordError::Weak(_))
        ));
        assert!(p("correct horse battery staple")
            .check_strength(&[])
            .is_ok());
        // Spaces and any script are fine; no composition rules.
        assert!(p("ночь улица фонарь аптека").check_strength(&[]).is_ok());
    }
}
