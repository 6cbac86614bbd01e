#![no_main]
//! Log-in decoding never panics, and what it accepts keeps the API's limits.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if let Ok(creds) = token_issuer::http::user::decode_login(&req) {
        assert!(!creds.username.is_empty());
        assert!(!creds.password.expose().is_empty());
        assert!(req.body().len() <= 8 * 1024);
    }
});
