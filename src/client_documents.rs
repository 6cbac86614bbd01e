//! The client metadata document port over HTTPS (API §14). Anyone may name
//! a URL as a client id, so the fetch is guarded: https only; every address
//! the host resolves to must be public (no loopback, private, link-local,
//! unique-local, shared or reserved address), unless a test setting allows
//! them, and the connection goes to an address that was checked, so a
//! second DNS answer cannot swap in another; no redirect is followed; the
//! answer must be `200` JSON of at most [`MAX_DOCUMENT_BYTES`], all within
//! [`FETCH_TIMEOUT`]. TLS trusts the system's roots, as back-channel
//! logout does.

use crate::core::documents::{ClientDocuments, Fetch, FetchError};
use crate::core::record::client_document::MAX_DOCUMENT_BYTES;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::body::Body as _;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The whole fetch: resolving, connecting, TLS, the answer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Fetches documents.
pub struct HttpClientDocuments {
    private_addresses: bool,
    extra_ca_pem: Option<Vec<u8>>,
    timeout: Duration,
    tls: OnceLock<Result<TlsConnector, String>>,
}

impl Default for HttpClientDocuments {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClientDocuments {
    /// Public addresses only, the system's roots, [`FETCH_TIMEOUT`].
    pub fn new() -> Self {
        Self {
            private_addresses: false,
            extra_ca_pem: None,
            timeout: FETCH_TIMEOUT,
            tls: OnceLock::new(),
        }
    }

    /// Lets hosts resolve to loopback and private addresses: for tests
    /// and local runs only.
    pub fn allowing_private_addresses(mut self, allow: bool) -> Self {
        self.private_addresses = allow;
        self
    }

    /// Trusts the CA certificates in `pem` besides the system's.
    pub fn trusting(mut self, pem: Option<Vec<u8>>) -> Self {
        self.extra_ca_pem = pem;
        self
    }

    fn tls(&self) -> Result<&TlsConnector, FetchError> {
        self.tls
            .get_or_init(|| crate::notify::web_tls(self.extra_ca_pem.as_deref()))
            .as_ref()
            .map_err(|e| FetchError(e.clone()))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let fail = |why: String| FetchError(why);
        let uri: http::Uri = url.parse().map_err(|_| fail("not a URL".into()))?;
        if uri.scheme_str() != Some("https") {
            return Err(fail("not https".into()));
        }
        let host = uri.host().ok_or_else(|| fail("no host".into()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| fail(format!("{bare} does not resolve: {e}")))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(fail(format!("{bare} has no address")));
        }
        if !self.private_addresses {
            if let Some(a) = addresses.iter().find(|a| !is_public(a.ip())) {
                return Err(fail(format!(
                    "{bare} resolves to {}, not a public address",
                    a.ip()
                )));
            }
        }
        let mut tcp = None;
        let mut last = String::new();
        for a in &addresses {
            match TcpStream::connect(a).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let tcp = tcp.ok_or_else(|| fail(format!("cannot connect to {bare}: {last}")))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(bare.to_string()).map_err(|e| fail(e.to_string()))?;
        let stream = self
            .tls()?
            .connect(name, tcp)
            .await
            .map_err(|e| fail(format!("TLS: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let driver = Abort(tokio::spawn(conn));
        let authority = uri.authority().map_or(host, |a| a.as_str());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = http::Request::get(path)
            .header(HOST, authority)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, "token-issuer")
            .body(String::new())
            .map_err(|e| fail(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(fail(format!(
                "answered {status}: redirects are not followed"
            )));
        }
        if status != http::StatusCode::OK {
            return Err(fail(format!("answered {status}")));
        }
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(fail("the answer is not application/json".into()));
        }
        let too_big = || fail(format!("the document is over {MAX_DOCUMENT_BYTES} bytes"));
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(too_big());
        }
        let mut body = response.into_body();
        let mut out = Vec::new();
        while let Some(frame) =
            futures_util::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| fail(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > MAX_DOCUMENT_BYTES {
                    return Err(too_big());
                }
                out.extend_from_slice(&data);
            }
        }
        drop(driver);
        Ok(out)
    }
}

/// Stops the connection's task however the fetch ends.
struct Abort<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Abort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ClientDocuments for HttpClientDocuments {
    fn fetch<'a>(&'a self, url: &'a str) -> Fetch<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.get(url)).await {
                Ok(r) => r,
                Err(_) => Err(FetchError(format!(
                    "no answer within {} s",
                    self.timeout.as_secs_f32()
                ))),
            }
        })
    }
}

/// Whether `ip` is an address of the public internet: not loopback,
/// unspecified, private, shared (CGNAT), link-local, unique-local,
/// multicast, broadcast, documentation, benchmarking or reserved; an IPv4
/// address inside IPv6 (mapped, NAT64) is judged as the IPv4 one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || s[..6] == [0; 6]
                || v6 == Ipv6Addr::UNSPECIFIED)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
