//! The back-channel port: how the core tells an app that a browser session
//! it got tokens in has ended (Back-Channel Logout 1.0). `crate::notify`
//! implements it over HTTP; the core only signs the token and bounds the
//! wait.

use std::future::Future;
use std::pin::Pin;

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("no answer within the bound")]
    Timeout,
    #[error("the app answered {0}")]
    Status(u16),
    #[error("the request failed: {0}")]
    Failed(String),
}

pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

pub trait BackChannel: Send + Sync {
    /// POSTs `logout_token=<token>` (form-encoded) to `uri`; `Ok` for a 2xx.
    fn deliver<'a>(&'a self, uri: &'a str, logout_token: &'a str) -> Delivery<'a>;
}
