#![no_main]
//! Refresh, revoke and logout body decoding never panics; a token it accepts is
//! a non-empty string from a body within the limit.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if let Ok(token) = token_issuer::http::request::refresh_token(&req) {
        assert!(!token.is_empty());
        assert!(req.body().len() <= 8 * 1024);
    }
});
