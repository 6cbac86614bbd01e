#![no_main]
//! The `Authorization: OpsToken …` parser never panics and only yields a
//! non-empty token after a known scheme.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if let Some(token) = token_issuer::http::request::ops_token(&req) {
        assert!(!token.is_empty());
        let header = input.authorization.as_deref().unwrap_or_default().trim().to_lowercase();
        assert!(header.starts_with("opstoken ") || header.starts_with("vrealizeopstoken "));
    }
});
