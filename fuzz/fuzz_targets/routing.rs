#![no_main]
//! Routing never panics and only matches the route table's exact paths.

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use token_issuer::http::routes::ROUTES;

fuzz_target!(|input: common::Input| {
    let Some(req) = input.request("/") else { return };
    if let Some(name) = token_issuer::http::route_name(&req) {
        let path = req.uri().path();
        assert!(
            ROUTES
                .iter()
                .any(|r| r.name == name && r.path == path && r.method == req.method()),
            "{path}"
        );
    }
});
