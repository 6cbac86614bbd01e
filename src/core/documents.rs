//! The port that fetches client metadata documents (API §14): the core
//! gives a client id URL and gets the document's bytes, or why not.
//! `crate::client_documents` implements it over HTTPS with the network
//! guards; the core checks what the document says and caches the client.

use std::future::Future;
use std::pin::Pin;

/// Why no document came back: a guard refused (a private address, a
/// redirect, too big, not JSON, not `200`) or the network failed (no
/// answer in time, TLS). Either way the client is unknown for now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + 'a>>;

pub trait ClientDocuments: Send + Sync {
    /// The body of a `200` answer to `GET url`, within the size and time
    /// limits.
    fn fetch<'a>(&'a self, url: &'a str) -> Fetch<'a>;
}
