//! The AWS SDK's HTTP client: HTTP/1.1 over rustls, with the connections to
//! each endpoint kept for the next call.
//!
//! DynamoDB and Secrets Manager speak HTTP/1.1. The SDK's own client always
//! links an HTTP/2 stack and a general connection pool beside it (about
//! 500 KB of each function's binary, whose size has a budget); this one is
//! hyper's HTTP/1.1 connection and a list of idle connections per endpoint.
//! Everything else (signing, retries, attempt and operation timeouts) is the
//! SDK's, around it.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// An idle connection older than this is closed rather than used: a server
/// may have dropped it meanwhile (and a frozen Lambda sandbox cannot see it
/// go).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most idle connections kept per endpoint: a Lambda instance serves one
/// request at a time, which makes at most a few calls at once; a local
/// server (`cargo lambda watch`) serves many.
const MAX_IDLE: usize = 64;

/// How long a name lookup's addresses serve later connections: long enough
/// for the connections a request opens together to share one lookup, short
/// against any DNS answer's lifetime.
const LOOKUP_FRESH: Duration = Duration::from_secs(1);

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Endpoint {
    https: bool,
    host: String,
    port: u16,
}

struct Idle {
    sender: SendRequest<SdkBody>,
    since: Instant,
}

/// An endpoint's addresses and when they were looked up; the slot is held
/// while a lookup is under way, so callers that arrive meanwhile wait for
/// it rather than look the name up again.
type Lookup = Arc<tokio::sync::Mutex<Option<(Instant, Vec<SocketAddr>)>>>;

struct Inner {
    tls: TlsConnector,
    idle: Mutex<HashMap<Endpoint, Vec<Idle>>>,
    lookups: Mutex<HashMap<Endpoint, Lookup>>,
    /// Name lookups made, for the tests.
    looked_up: AtomicUsize,
}

/// The client, shared by every SDK client built from one configuration.
#[derive(Clone)]
pub struct Http1Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Http1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http1Client")
    }
}

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("no trusted CA certificate could be read")]
    NoRoots,
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

impl Http1Client {
    /// A client trusting the CA certificates in `pem` (one or more PEM
    /// blocks) and, if given, those of `extra`.
    pub fn trusting(pem: &[u8], extra: Option<&[u8]>) -> Result<Self, TlsSetupError> {
        let mut roots = rustls::RootCertStore::empty();
        for source in std::iter::once(pem).chain(extra) {
            let certs = CertificateDer::pem_slice_iter(source).filter_map(Result::ok);
            roots.add_parsable_certificates(certs);
        }
        Self::with_roots(roots)
    }

    /// A client trusting the system's CA certificates.
    pub fn trusting_system() -> Result<Self, TlsSetupError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        Self::with_roots(roots)
    }

    fn with_roots(roots: rustls::RootCertStore) -> Result<Self, TlsSetupError> {
        if roots.is_empty() {
            return Err(TlsSetupError::NoRoots);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            inner: Arc::new(Inner {
                tls: TlsConnector::from(Arc::new(config)),
                idle: Mutex::new(HashMap::new()),
                lookups: Mutex::new(HashMap::new()),
                looked_up: AtomicUsize::new(0),
            }),
        })
    }

    pub fn shared(self) -> SharedHttpClient {
        SharedHttpClient::new(self)
    }
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.clone(),
            connect_timeout: settings.connect_timeout(),
        })
    }
}

#[derive(Clone)]
struct Connector {
    inner: Arc<Inner>,
    connect_timeout: Option<Duration>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http1Connector")
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let this = self.clone();
        HttpConnectorFuture::new(async move { this.send(request).await })
    }
}

fn io_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ConnectorError {
    ConnectorError::io(e.into())
}

/// A request that failed on the wire is the SDK's to retry (`io`); one
/// hyper refused to write is not.
fn send_error(e: hyper::Error) -> ConnectorError {
    if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
        io_error(e)
    } else {
        ConnectorError::other(e.into(), None)
    }
}

impl Connector {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let mut req = request
            .try_into_http1x()
            .map_err(|e| ConnectorError::user(e.into()))?;
        let uri = req.uri().clone();
        let endpoint = endpoint_of(&uri)?;
        // HTTP/1.1 sends the path and query in the request line, the
        // authority in `Host` (which the signature covers).
        if !req.headers().contains_key(::http::header::HOST) {
            if let Some(a) = uri.authority() {
                let host = ::http::HeaderValue::from_str(a.as_str())
                    .map_err(|e| ConnectorError::user(e.into()))?;
                req.headers_mut().insert(::http::header::HOST, host);
            }
        }
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        *req.uri_mut() =
            ::http::Uri::try_from(target).map_err(|e| ConnectorError::user(e.into()))?;
        // An idle connection that turns out closed gives the request back
        // unsent; it then goes on a new connection.
        let mut req = Some(req);
        while let Some(mut sender) = self.idle_connection(&endpoint) {
            let Some(r) = req.take() else { break };
            match sender.try_send_request(r).await {
                Ok(resp) => return self.answer(endpoint, sender, resp),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = Some(unsent),
                    None => return Err(send_error(e.into_error())),
                },
            }
        }
        let Some(req) = req else {
            return Err(ConnectorError::other("the request was lost".into(), None));
        };
        let mut sender = self.connect(&endpoint).await?;
        let resp = sender.send_request(req).await.map_err(send_error)?;
        self.answer(endpoint, sender, resp)
    }

    /// The response for the SDK; the connection is kept for a later call
    /// (it is ready again once this response's body is read).
    fn answer(
        &self,
        endpoint: Endpoint,
        sender: SendRequest<SdkBody>,
        resp: ::http::Response<hyper::body::Incoming>,
    ) -> Result<HttpResponse, ConnectorError> {
        if let Ok(mut idle) = self.inner.idle.lock() {
            let list = idle.entry(endpoint).or_default();
            if list.len() < MAX_IDLE {
                list.push(Idle {
                    sender,
                    since: Instant::now(),
                });
            }
        }
        let (parts, body) = resp.into_parts();
        let resp = ::http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
        // Fails only for a status outside 100..=999, which hyper never parses.
        HttpResponse::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))
    }

    /// A kept connection to `endpoint` ready for a request, if there is
    /// one; closed and stale ones are dropped on the way.
    fn idle_connection(&self, endpoint: &Endpoint) -> Option<SendRequest<SdkBody>> {
        let mut idle = self.inner.idle.lock().ok()?;
        let list = idle.get_mut(endpoint)?;
        list.retain(|c| !c.sender.is_closed() && c.since.elapsed() < IDLE_TIMEOUT);
        let ready = list.iter().position(|c| c.sender.is_ready())?;
        Some(list.swap_remove(ready).sender)
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<SendRequest<SdkBody>, ConnectorError> {
        let connecting = async {
            let addresses = self.addresses(endpoint).await.map_err(io_error)?;
            let tcp = TcpStream::connect(addresses.as_slice())
                .await
                .map_err(io_error)?;
            // Requests are small and answered at once: no Nagle delay.
            let _ = tcp.set_nodelay(true);
            if !endpoint.https {
                return handshake(tcp).await;
            }
            let name = ServerName::try_from(endpoint.host.clone())
                .map_err(|e| ConnectorError::user(e.into()))?;
            let tls = self.inner.tls.connect(name, tcp).await.map_err(io_error)?;
            handshake(tls).await
        };
        match self.connect_timeout {
            None => connecting.await,
            Some(limit) => tokio::time::timeout(limit, connecting)
                .await
                .map_err(|e| ConnectorError::timeout(e.into()))?,
        }
    }
}

impl Connector {
    /// `endpoint`'s addresses: one lookup for the connections opened
    /// together (a log in's first round opens four; each lookup took a
    /// blocking thread of its own), none when the last is under
    /// [`LOOKUP_FRESH`] old.
    async fn addresses(&self, endpoint: &Endpoint) -> std::io::Result<Vec<SocketAddr>> {
        let slot = match self.inner.lookups.lock() {
            Ok(mut lookups) => lookups.entry(endpoint.clone()).or_default().clone(),
            Err(_) => Lookup::default(),
        };
        let mut held = slot.lock().await;
        if let Some((at, addresses)) = held.as_ref() {
            if at.elapsed() < LOOKUP_FRESH {
                return Ok(addresses.clone());
            }
        }
        self.inner.looked_up.fetch_add(1, Ordering::Relaxed);
        let addresses: Vec<SocketAddr> =
            tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port))
                .await?
                .collect();
        if addresses.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} has no address", endpoint.host),
            ));
        }
        *held = Some((Instant::now(), addresses.clone()));
        Ok(addresses)
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<SdkBody>, ConnectorError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(send_error)?;
    // The connection runs until either side closes it; its end is seen by
    // the sender (`is_closed`).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn endpoint_of(uri: &::http::Uri) -> Result<Endpoint, ConnectorError> {
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(ConnectorError::user(
                format!("not an http(s) endpoint: {uri}").into(),
            ))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| ConnectorError::user(format!("no host: {uri}").into()))?;
    // `[::1]` connects as `::1`.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Endpoint { https, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_their_scheme_s_port() {
        let e = |u: &str| endpoint_of(&u.parse().unwrap());
        assert_eq!(
            e("https://dynamodb.eu-west-1.amazonaws.com/").unwrap(),
            Endpoint {
                https: true,
                host: "dynamodb.eu-west-1.amazonaws.com".into(),
                port: 443
            }
        );
        assert_eq!(e("http://[::1]:8000").unwrap().host, "::1");
        assert_eq!(e("http://127.0.0.1:8000/x").unwrap().port, 8000);
        assert!(e("ftp://h/").is_err());
    }

    #[tokio::test]
    async fn connections_opened_together_share_one_name_lookup() {
        let client = Http1Client::trusting(crate::aws::AMAZON_ROOTS, None).unwrap();
        let connector = Connector {
            inner: client.inner.clone(),
            connect_timeout: None,
        };
        let endpoint = endpoint_of(&"http://localhost:9".parse().unwrap()).unwrap();
        let lookups = (0..4).map(|_| connector.addresses(&endpoint));
        let found = futures_util::future::join_all(lookups).await;
        assert!(found
            .iter()
            .all(|a| a.as_ref().is_ok_and(|a| !a.is_empty())));
        assert_eq!(client.inner.looked_up.load(Ordering::Relaxed), 1);
        // Once the addresses are older than their freshness, a new lookup.
        if let Ok(lookups) = client.inner.lookups.lock() {
            let slot = lookups[&endpoint].clone();
            let mut held = slot.try_lock().unwrap();
            if let Some((at, _)) = held.as_mut() {
                *at = at.checked_sub(LOOKUP_FRESH).unwrap();
            }
        }
        connector.addresses(&endpoint).await.unwrap();
        assert_eq!(client.inner.looked_up.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn no_roots_is_an_error() {
        assert!(matches!(
            Http1Client::trusting(b"not a certificate", None),
            Err(TlsSetupError::NoRoots)
        ));
    }
}
