//! The records the core exchanges with its storage and signing ports: plain
//! data, the value types they are made of, and the rules that read only their
//! own fields. They sit below the ports and the flows and import nothing of
//! the crate outside this folder; `tests/it/structure.rs` checks that.

pub mod browser;
pub mod claims;
pub mod client;
pub mod client_document;
pub mod code;
pub mod consent;
pub mod device;
pub mod dpop;
pub mod factor;
pub mod family;
pub mod passkey;
pub mod registration;
pub mod resource;
pub mod session;
pub mod state;
pub mod throttle;
pub mod token;
pub mod user;
