//! The integration tests, linked into one binary: each test file used to be
//! its own 220 MB debug executable, and fifteen of them filled a CI disk.
//! `logs.rs` stays separate because it installs a process-wide subscriber.

#[path = "../common/mod.rs"]
mod common;

mod admin_cli;
mod authcode;
mod authorizer;
mod browser;
mod client_documents;
mod consent;
mod device;
mod dpop;
mod events;
mod factors;
mod faults;
mod hostile;
mod iam;
mod keys;
mod lockout;
mod login_user;
mod login_v2;
mod malformed;
mod mcp;
mod oauth;
mod oauth_client;
mod oidc_client;
mod openapi;
mod ops;
mod ops_client;
mod passkeys;
mod refresh;
mod registration;
mod resources;
mod routing;
mod schemathesis;
mod sso;
mod startup;
mod structure;
mod sweeper;
mod template;
mod throttle;
mod tls;
