#![no_main]
//! The oauth dialect's decoding (form bodies, client authentication, bearer
//! tokens) never panics, and what it accepts keeps the API's limits.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use token_issuer::http::request::{basic_credentials, bearer_token, FormBody};

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    let header = input.authorization.as_deref().unwrap_or_default().trim().to_lowercase();
    if let Some(Ok(_)) = basic_credentials(&req) {
        assert!(header.starts_with("basic "));
    }
    if let Some(token) = bearer_token(&req) {
        assert!(!token.is_empty());
        assert!(header.starts_with("bearer "));
    }
    if let Ok(form) = FormBody::from_request(&req) {
        assert!(req.body().len() <= 8 * 1024);
        for key in ["grant_type", "username", "client_id", "token", "scope"] {
            if let Ok(Some(v)) = form.optional(key) {
                assert!(!v.is_empty());
            }
        }
        let _ = token_issuer::http::oauth::client_auth(&req, &form);
    }
});
