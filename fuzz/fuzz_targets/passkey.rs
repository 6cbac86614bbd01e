#![no_main]
//! A passkey registration or assertion is a browser's bytes: whatever they
//! are, the relying party's checks answer without a panic, and a
//! registration they accept holds a key of the form a sign-in verifies with.

use libfuzzer_sys::fuzz_target;
use token_issuer::core::record::passkey::{
    verify_assertion, verify_registration, Assertion, Ceremony, Passkey, ALGORITHMS, ES256,
    MAX_CREDENTIAL_ID,
};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let (client_data, object) = rest.split_at((cut as usize).min(rest.len()));
    let ceremony = Ceremony { challenge: b"challenge", origin: "https://id.example", rp_id: "id.example" };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    if let Ok(p) = verify_registration(&ceremony, client_data, object, now) {
        assert!(ALGORITHMS.contains(&p.alg));
        assert!(!p.id.is_empty() && p.id.len() <= MAX_CREDENTIAL_ID);
        assert!(!p.public_key.is_empty());
        assert!(p.backup_eligible || !p.backed_up);
    }
    // The same bytes as an assertion's parts, against a stored key.
    let third = object.len() / 3;
    let passkey = Passkey {
        id: b"id".to_vec(),
        alg: ES256,
        public_key: object[..third].to_vec(),
        sign_count: 0,
        backup_eligible: false,
        backed_up: false,
        created_at: now,
        last_used_at: None,
    };
    let assertion = Assertion {
        client_data,
        authenticator_data: &object[third..2 * third],
        signature: &object[2 * third..],
        user_handle: b"user",
    };
    let _ = verify_assertion(&ceremony, &passkey, b"user", &assertion);
});
