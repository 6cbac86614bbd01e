//! Passwords: the newtype that parses them, the Argon2id hasher and the
//! strength policy applied when one is set.

use super::record::token::random;
use super::record::user::Username;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use unicode_normalization::UnicodeNormalization;

/// Longest password accepted, in bytes as received.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password `token-admin` accepts, in characters (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Argon2id at 7 MiB, 5 passes, 1 lane: one of the settings OWASP lists as
/// equal in defence (each trades memory for passes; 19 MiB and 2 passes is
/// another). The smallest work area keeps a 128 MB function's memory and its
/// cold start's first touch of that area small, for about the same time per
/// check. A hash made with less memory or fewer passes is replaced at its
/// user's next log in ([`Hasher::needs_rehash`]).
pub const ARGON2_M_KIB: u32 = 7_168;
pub const ARGON2_T: u32 = 5;
pub const ARGON2_P: u32 = 1;

/// A well-formed Argon2id PHC string with the current parameters and a random
/// salt and digest: no password is known to match it. Verifying against it
/// makes an unknown user cost one full Argon2id run, like a known one. A
/// unit test checks its parameters against the constants.
const DUMMY_HASH: &str = "$argon2id$v=19$m=7168,t=5,p=1$2tawvM75tHhN4G40R2+SCA$opWuUeoGfL0tgoKMDVdcoMnbAIW8fcOSiiioWmZkTZQ";

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

    /// The rules for a new password, those of NIST SP 800-63B: a length, and
    /// no password that leans on a common one or on the user's own words
    /// (`context`: the username, the email, the name). No composition
    /// rules. Leaning means fewer than [`MIN_PASSWORD_CHARS`] characters
    /// are left once the longest common password or context word it
    /// contains is taken out (`password1`, `alice.smith1`, `Dragon1986`); a
    /// password repeated (`abcabcabc`) counts as once, and one character
    /// repeated or run in sequence (`aaaaaaaa`, `bcdefghi`) is refused.
    pub fn check_strength(&self, context: &[&str]) -> Result<(), PasswordError> {
        let pw = self.expose();
        if pw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        let lower = pw.to_lowercase();
        let unit = shortest_period(&lower);
        if unit.chars().count() < MIN_PASSWORD_CHARS || is_run(unit) {
            return Err(PasswordError::Weak(
                " (a short part repeated, or characters in sequence)".into(),
            ));
        }
        let own: Vec<String> = context.iter().flat_map(|w| context_words(w)).collect();
        let own_longest = own.iter().map(String::len).max().unwrap_or(0);
        let leaned = longest_contained(unit, own_longest, |w| own.iter().any(|o| o == w));
        let common = longest_contained(unit, LONGEST_COMMON, is_common);
        let left = unit.chars().count() - leaned.max(common);
        if left < MIN_PASSWORD_CHARS {
            let hint = if leaned >= common {
                " (it leans on the username, email or name)"
            } else {
                " (it leans on a common password)"
            };
            return Err(PasswordError::Weak(hint.into()));
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

/// The 30,000 most common passwords of a public frequency list, lowercase
/// and sorted (`common-passwords.txt`, 240 KB), front-coded: each word is
/// a byte holding how many leading bytes it shares with the word before,
/// then the rest of it (bytes from `!` up, so a count is never taken for a
/// letter). 113 KB in the binary; a full strength estimator with its
/// dictionaries and a regex engine cost it about 2 MB. A test checks it is
/// the text list (`UPDATE_COMMON_PASSWORDS=1` writes it again).
const COMMON: &[u8] = include_bytes!("common-passwords.fc");
/// The longest word of [`COMMON`], in bytes.
const LONGEST_COMMON: usize = 20;

/// The decoded list: every word in one buffer, and where each ends.
struct Common {
    text: String,
    ends: Vec<u32>,
}

impl Common {
    fn decode(coded: &[u8]) -> Self {
        let mut text = String::with_capacity(coded.len() * 2);
        let mut ends: Vec<u32> = Vec::with_capacity(30_000);
        let mut word: Vec<u8> = Vec::with_capacity(LONGEST_COMMON);
        let flush = |word: &[u8], text: &mut String, ends: &mut Vec<u32>| {
            if let Ok(w) = std::str::from_utf8(word) {
                text.push_str(w);
                ends.push(text.len() as u32);
            }
        };
        for &b in coded {
            if b < b'!' {
                if !word.is_empty() {
                    flush(&word, &mut text, &mut ends);
                }
                word.truncate(usize::from(b));
            } else {
                word.push(b);
            }
        }
        if !word.is_empty() {
            flush(&word, &mut text, &mut ends);
        }
        Self { text, ends }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn contains(&self, word: &str) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(word) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

fn common() -> &'static Common {
    static LIST: std::sync::OnceLock<Common> = std::sync::OnceLock::new();
    LIST.get_or_init(|| Common::decode(COMMON))
}

fn is_common(word: &str) -> bool {
    word.len() <= LONGEST_COMMON && common().contains(word)
}

/// The words of a user's own that a password must not lean on: each given
/// value, an email's local part, and a name's parts, lowercase; words of
/// fewer than four characters are too short to count.
fn context_words(value: &str) -> Vec<String> {
    let value = value.trim().to_lowercase();
    let mut words = vec![value.clone()];
    if let Some((local, _)) = value.split_once('@') {
        words.push(local.to_string());
    }
    words.extend(
        value
            .split(|c: char| c.is_whitespace() || c == '@' || c == '.' || c == '_' || c == '-')
            .map(str::to_string),
    );
    words.retain(|w| w.chars().count() >= 4);
    words
}

/// The length in characters of the longest substring of `s`, of at most
/// `max_bytes`, that `listed` accepts (0 when none).
fn longest_contained(s: &str, max_bytes: usize, listed: impl Fn(&str) -> bool) -> usize {
    let starts: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    let mut best = 0;
    for (n, &i) in starts.iter().enumerate() {
        let ends = starts[n + 1..]
            .iter()
            .copied()
            .chain(std::iter::once(s.len()));
        for (len, j) in ends.enumerate().take_while(|(_, j)| j - i <= max_bytes) {
            if len + 1 > best && listed(&s[i..j]) {
                best = len + 1;
            }
        }
    }
    best
}

/// `s` as the shortest unit it repeats (`abcabc` is `abc`), or `s` itself.
fn shortest_period(s: &str) -> &str {
    let len = s.len();
    (1..len)
        .filter(|p| len.is_multiple_of(*p) && s.is_char_boundary(*p))
        .find(|&p| s.as_bytes().chunks(p).all(|c| c == &s.as_bytes()[..p]))
        .map_or(s, |p| &s[..p])
}

/// One character repeated, or a run whose characters step by one
/// (`aaaa`, `abcd`, `4321`).
fn is_run(s: &str) -> bool {
    let cs: Vec<i64> = s.chars().map(|c| i64::from(u32::from(c))).collect();
    let Some(step) = cs.windows(2).next().map(|w| w[1] - w[0]) else {
        return true;
    };
    step.abs() <= 1 && cs.windows(2).all(|w| w[1] - w[0] == step)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Argon2id with fixed parameters, built once, with one reusable 7 MiB work
/// area: allocating it per verification costs page faults on every log in and
/// leaves a freed copy in each allocator arena (measured: +7 ms and a 240 MiB
/// peak over 1,000 log ins).
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    params: Params,
    work: Arc<Work>,
}

/// The work area and how far its first writing has come.
struct Work {
    area: Mutex<Vec<Block>>,
    /// [`UNPREPARED`], [`PREPARING`] or [`PREPARED`].
    state: AtomicU8,
}

const UNPREPARED: u8 = 0;
const PREPARING: u8 = 1;
const PREPARED: u8 = 2;

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
            work: Arc::new(Work {
                area: Mutex::new(Vec::new()),
                state: AtomicU8::new(UNPREPARED),
            }),
        }
    }

    /// Whether the caller is the one to run [`Hasher::prepare_work_area`]:
    /// `true` once per hasher, for the first to ask. A verification that
    /// finds the area busy with that writing waits for it instead of
    /// writing an area of its own.
    pub fn claim_preparation(&self) -> bool {
        self.work
            .state
            .compare_exchange(UNPREPARED, PREPARING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Allocates the work area and writes every page of it, so the first
    /// verification finds its 7 MiB already mapped: a fraction of the cost
    /// of a verification (no hashing), done before it is needed.
    pub fn prepare_work_area(&self) {
        if let Ok(mut memory) = self.work.area.lock() {
            // An area already there was written by a verification.
            if memory.len() != self.params.block_count() {
                *memory = new_area(self.params.block_count());
                std::hint::black_box(memory.as_mut_slice());
            }
        }
        self.work.state.store(PREPARED, Ordering::Release);
    }

    /// A PHC string with a fresh random salt.
    pub fn hash(&self, password: &Password) -> Result<String, HashError> {
        let salt: [u8; 16] = random().map_err(|_| HashError("no randomness".into()))?;
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
        let mut memory = match self.work.area.try_lock() {
            Ok(memory) => memory,
            // The area's first writing is under way: waiting for it costs
            // less than writing a second area.
            Err(TryLockError::WouldBlock)
                if self.work.state.load(Ordering::Acquire) == PREPARING =>
            {
                self.work.area.lock().ok()?
            }
            Err(_) => return None,
        };
        if memory.len() != self.params.block_count() {
            *memory = new_area(self.params.block_count());
        }
        // Whoever holds a whole area has it written: from now on a
        // verification that finds it busy takes the plain path rather than
        // queue behind this one, as it would behind the first writing.
        self.work.state.store(PREPARED, Ordering::Release);
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
        Some(subtle::ConstantTimeEq::ct_eq(&out[..], expected.as_bytes()).into())
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

/// A work area of `blocks` blocks, every page of it mapped and written
/// (each block once: a block is not a type whose zeroes the allocator could
/// hand out as untouched pages).
fn new_area(blocks: usize) -> Vec<Block> {
    let mut area = Vec::with_capacity(blocks);
    map_pages(area.spare_capacity_mut());
    area.resize(blocks, Block::default());
    area
}

/// Asks the kernel to map the whole pages of `memory` in one call
/// (`MADV_POPULATE_WRITE`, Linux 5.14 and later) rather than one fault per
/// page as they are first written: a fresh 7 MiB area then takes about half
/// the CPU to write (1.0 against 1.8-1.9 ms here). Where the kernel lacks
/// it, the call fails and the writing faults the pages in as before.
#[cfg(target_os = "linux")]
fn map_pages<T>(memory: &mut [std::mem::MaybeUninit<T>]) {
    // SAFETY: sysconf reads a constant of the system.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => return,
    };
    let start = memory.as_mut_ptr() as usize;
    let end = start + std::mem::size_of_val(memory);
    let (first, last) = (start.next_multiple_of(page), end / page * page);
    if first < last {
        // SAFETY: [first, last) lies inside `memory`, borrowed mutably here
        // and not yet initialised; mapping its pages changes nothing Rust
        // can observe, and a failure leaves them as they were.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn map_pages<T>(_memory: &mut [std::mem::MaybeUninit<T>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_waits_for_the_work_area_being_prepared() {
        let hasher = Hasher::new();
        let password = Password::parse("correct horse battery").unwrap();
        let phc = hasher.hash(&password).unwrap();
        assert!(hasher.claim_preparation());
        assert!(!hasher.claim_preparation(), "claimed once only");
        // Held as a preparation holds it: a verification now waits rather
        // than take the plain path, and still answers rightly.
        let held = hasher.work.area.lock().unwrap();
        let verifier = {
            let (hasher, phc) = (hasher.clone(), phc.clone());
            std::thread::spawn(move || {
                let right = Password::parse("correct horse battery").unwrap();
                let wrong = Password::parse("correct horse battery!").unwrap();
                (
                    hasher.verify(&right, Some(&phc)),
                    hasher.verify(&wrong, Some(&phc)),
                )
            })
        };
        // Two verifications the plain way take a fraction of this.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!verifier.is_finished(), "the verification waited");
        drop(held);
        hasher.prepare_work_area();
        assert_eq!(verifier.join().unwrap(), (true, false));
        assert_eq!(hasher.work.state.load(Ordering::Acquire), PREPARED);
        assert_eq!(
            hasher.work.area.lock().unwrap().len(),
            hasher.params.block_count(),
            "one area, reused"
        );
        // Once prepared, a busy area sends a verification the plain way.
        let _held = hasher.work.area.lock().unwrap();
        assert!(hasher.verify(&password, Some(&phc)));
    }

    #[test]
    fn a_verification_that_writes_the_area_lets_the_next_go_the_plain_way() {
        let hasher = Hasher::new();
        let password = Password::parse("correct horse battery").unwrap();
        let phc = hasher.hash(&password).unwrap();
        // A first log in claimed the writing, but its verification got the
        // area before the writing thread did.
        assert!(hasher.claim_preparation());
        assert!(hasher.verify(&password, Some(&phc)));
        assert_eq!(hasher.work.state.load(Ordering::Acquire), PREPARED);
        // So a verification that finds it busy now (held here as another
        // verification holds it) does not wait for it.
        let held = hasher.work.area.lock().unwrap();
        let verifier = {
            let (hasher, phc) = (hasher.clone(), phc.clone());
            std::thread::spawn(move || {
                let right = Password::parse("correct horse battery").unwrap();
                hasher.verify(&right, Some(&phc))
            })
        };
        let waited = std::time::Instant::now();
        while !verifier.is_finished() && waited.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let finished = verifier.is_finished();
        drop(held);
        assert!(finished, "the verification queued behind the held area");
        assert!(verifier.join().unwrap());
        // The writing that was claimed finds the area whole and keeps it.
        hasher.prepare_work_area();
        assert_eq!(
            hasher.work.area.lock().unwrap().len(),
            hasher.params.block_count()
        );
    }

    #[test]
    fn hash_then_verify() {
        let h = Hasher::new();
        let pw = Password::parse("correct horse battery staple").unwrap();
        let phc = h.hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{phc}");
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
        // The setting this issuer used before (19 MiB, 2 passes): equal in
        // defence, but replaced, so that every user's check costs what an
        // unknown user's does and uses the one work area.
        let former = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19_456, 2, 1, None).unwrap(),
        );
        let former_phc = former
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(
            h.verify(&pw, Some(&former_phc)),
            "former hashes still verify"
        );
        assert!(h.needs_rehash(&former_phc));
        // More memory and more passes than the setting: kept.
        let stronger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(ARGON2_M_KIB * 2, ARGON2_T + 1, 1, None).unwrap(),
        );
        let stronger_phc = stronger
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(h.verify(&pw, Some(&stronger_phc)));
        assert!(!h.needs_rehash(&stronger_phc));
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

    /// Front-codes a sorted list as [`COMMON`] holds it.
    fn front_code(words: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev: &[u8] = b"";
        for w in words {
            let w = w.as_bytes();
            let shared = prev.iter().zip(w).take_while(|(a, b)| a == b).count();
            out.push(shared as u8);
            out.extend_from_slice(&w[shared..]);
            prev = w;
        }
        out
    }

    #[test]
    fn the_common_list_is_the_text_list_sorted_lowercase_and_its_longest_is_known() {
        let text = include_str!("common-passwords.txt");
        let words: Vec<&str> = text.lines().collect();
        let coded = front_code(&words);
        if std::env::var_os("UPDATE_COMMON_PASSWORDS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/core/common-passwords.fc");
            std::fs::write(path, &coded).unwrap();
        }
        assert!(
            COMMON == coded.as_slice(),
            "common-passwords.fc is the text list"
        );
        let list = common();
        assert_eq!(list.len(), words.len());
        assert!(list.len() >= 30_000);
        let decoded: Vec<&str> = (0..list.len()).map(|i| list.get(i)).collect();
        assert_eq!(decoded, words);
        assert!(decoded.windows(2).all(|w| w[0] < w[1]));
        assert!(decoded
            .iter()
            .all(|w| *w == w.to_lowercase() && w.bytes().all(|b| b >= b'!')));
        assert_eq!(decoded.iter().map(|w| w.len()).max(), Some(LONGEST_COMMON));
        assert!(is_common("password") && !is_common("correct horse"));
        assert!(is_common(words[0]) && is_common(words[words.len() - 1]));
        assert!(!is_common("") && !is_common("qzxj-not-common"));
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
        let weak = |s: &str, context: &[&str]| {
            matches!(p(s).check_strength(context), Err(PasswordError::Weak(_)))
        };
        // A common password with a little around it.
        assert!(weak("Dragon1986", &[]));
        assert!(weak("iloveyou!!", &[]));
        assert!(weak("PASSWORD", &[]));
        // The user's own words, whole or in parts.
        assert!(weak("admin@admin1", &["admin", "admin@example.com", ""]));
        assert!(weak("Smith2024!", &["asmith", "a@b.c", "Anna Smith"]));
        assert!(!weak(
            "Smith and 7 quiet otters",
            &["asmith", "a@b.c", "Anna Smith"]
        ));
        // Repeats and runs.
        assert!(weak("aaaaaaaaaa", &[]));
        assert!(weak("abcabcabcabc", &[]));
        assert!(weak("bcdefghijk", &[]));
        assert!(weak("87654321", &[]));
        assert!(weak("password1password1", &[]));
        // Nothing common, nothing of the user's: long enough is enough.
        assert!(!weak("vX9#kq2!Lm", &["alice"]));
        // The longest password is checked too, and quickly.
        let long = "Zq".repeat(300) + &"w".repeat(424);
        assert!(p(&long).check_strength(&[]).is_ok());
        // Spaces and any script are fine; no composition rules.
        assert!(p("ночь улица фонарь аптека").check_strength(&[]).is_ok());
    }
}
