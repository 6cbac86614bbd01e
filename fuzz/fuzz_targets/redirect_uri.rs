#![no_main]
//! A redirect URI the registration accepts is one the login page may send a
//! browser to: https (or http on a loopback host), no fragment, no userinfo,
//! nothing that could break out of a header or an HTML attribute, and its
//! origin (the page's `form-action`) a prefix of it without a path.

use libfuzzer_sys::fuzz_target;
use token_issuer::core::record::client::RedirectUri;

fuzz_target!(|raw: &str| {
    let Ok(uri) = RedirectUri::parse(raw) else { return };
    let s = uri.as_str();
    assert_eq!(s, raw);
    assert!(s.len() <= 1024);
    assert!(!s.contains('#'));
    assert!(s.bytes().all(|b| (0x21..=0x7e).contains(&b) && !b"\"<>\\^`{|}".contains(&b)));
    let lower = s.to_ascii_lowercase();
    let origin = uri.origin();
    assert!(s.starts_with(origin));
    let after_scheme = origin.split_once("://").map(|(_, rest)| rest).expect("a scheme");
    assert!(!after_scheme.is_empty() && !after_scheme.contains(['/', '?', '@']));
    if !lower.starts_with("https://") {
        assert!(lower.starts_with("http://"));
        let host = after_scheme.rsplit_once(':').map_or(after_scheme, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() { h } else { after_scheme }
        });
        assert!(
            matches!(host.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "[::1]"),
            "{s}"
        );
    }
});
