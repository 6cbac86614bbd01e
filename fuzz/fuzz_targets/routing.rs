#![no_main]
//! Routing never panics and only matches the contract's exact paths.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "/api/v2/auth/token",
    "/api/v2/auth/token/refresh",
    "/api/v2/auth/token/revoke",
    "/api/user/authenticate",
    "/api/user/refresh",
    "/api/user/logout",
    "/api/auth/token/acquire",
    "/api/auth/currentuser",
    "/api/auth/token/release",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
];

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if token_issuer::http::route_name(&req).is_some() {
        assert!(PATHS.contains(&req.uri().path()), "{}", req.uri().path());
    }
});
