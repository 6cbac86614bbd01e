//! The records the core exchanges with its storage port: plain data and the
//! rules that read only their own fields. They sit below the port and the
//! flows, and import nothing of the crate but the bottom-floor types
//! (usernames, client ids and scopes, token ids) they are made of;
//! `tests/it/structure.rs` checks that.

pub mod code;
pub mod family;
pub mod session;
pub mod state;
