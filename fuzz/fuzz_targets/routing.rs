#![no_main]
//! Routing never panics and only matches the route table's exact paths, or
//! a metadata route's with the issuer's path inserted (RFC 8414 §3.1).

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use token_issuer::http::routes::{Route, ROUTES};

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if let Some(name) = token_issuer::http::route_name(&req) {
        let path = req.uri().path();
        assert!(
            ROUTES
                .iter()
                .any(|r| r.name == name
                    && r.method == req.method()
                    && (r.path == path
                        || (matches!(
                            r.route,
                            Route::AuthorizationServerMetadata | Route::OpenIdConfiguration
                        ) && path
                            .strip_prefix(r.path)
                            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))))),
            "{path}"
        );
    }
});
