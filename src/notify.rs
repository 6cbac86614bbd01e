//! The back-channel port over HTTP: a logout token POSTed to an app's
//! registered URI, with TLS that trusts the system's roots (apps are not
//! AWS endpoints, so Amazon's roots alone would not do).
//!
//! One request per connection, and only the status line is read: that is
//! all Back-Channel Logout asks of the exchange. An HTTP client crate's own
//! copy of the HTTP/1.1 and pooling machinery cost the function 400 KB
//! (its size budget is 8 MiB); this uses the TLS stack the SDK already
//! links. The TLS configuration is built at the first log out and kept.

use crate::core::notify::{BackChannel, Delivery, DeliveryError};
use rustls::pki_types::ServerName;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The longest status line read.
const MAX_STATUS_LINE: usize = 1024;

/// Posts logout tokens.
#[derive(Default)]
pub struct HttpBackChannel {
    tls: OnceLock<Result<TlsConnector, String>>,
}

impl HttpBackChannel {
    pub fn new() -> Self {
        Self::default()
    }

    fn tls(&self) -> Result<&TlsConnector, DeliveryError> {
        self.tls
            .get_or_init(|| web_tls(None))
            .as_ref()
            .map_err(|e| DeliveryError::Failed(e.clone()))
    }
}

/// TLS 1.2 and 1.3 to apps' hosts, with the system's CA certificates and
/// those of `extra_pem` (a missing bundle is this error, at the first use).
pub(crate) fn web_tls(extra_pem: Option<&[u8]>) -> Result<TlsConnector, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (mut added, _) = roots.add_parsable_certificates(found.certs);
    if let Some(pem) = extra_pem {
        let extra = CertificateDer::pem_slice_iter(pem).filter_map(Result::ok);
        added += roots.add_parsable_certificates(extra).0;
    }
    if added == 0 {
        return Err(format!(
            "no system CA certificates ({} errors)",
            found.errors.len()
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Where a registered URI points: `https` or (loopback) `http`, host, port,
/// and the path with its query.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn target(uri: &str) -> Result<Target, DeliveryError> {
    let bad = |why: &str| DeliveryError::Failed(format!("{why}: {uri}"));
    let parsed: lambda_http::http::Uri = uri.parse().map_err(|_| bad("not a URI"))?;
    let tls = match parsed.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("not http(s)")),
    };
    let host = parsed.host().ok_or_else(|| bad("no host"))?;
    // `[::1]` connects as `::1`.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = parsed
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    Ok(Target {
        tls,
        host,
        port,
        path,
    })
}

impl BackChannel for HttpBackChannel {
    fn deliver<'a>(&'a self, uri: &'a str, logout_token: &'a str) -> Delivery<'a> {
        Box::pin(async move {
            let t = target(uri)?;
            let failed = |e: std::io::Error| DeliveryError::Failed(e.to_string());
            let tcp = TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(failed)?;
            let _ = tcp.set_nodelay(true);
            let request = request(&t, logout_token);
            let status = if t.tls {
                let name = ServerName::try_from(t.host.clone())
                    .map_err(|e| DeliveryError::Failed(e.to_string()))?;
                let stream = self.tls()?.connect(name, tcp).await.map_err(failed)?;
                exchange(stream, &request).await?
            } else {
                exchange(tcp, &request).await?
            };
            // Back-Channel Logout 1.0 §2.8: 200 (or any success) accepts it.
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(DeliveryError::Status(status))
            }
        })
    }
}

/// The request: `POST`, form-encoded, one per connection.
fn request(t: &Target, logout_token: &str) -> Vec<u8> {
    let body = url_form(logout_token);
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let default_port = if t.tls { 443 } else { 80 };
    let authority = if t.port == default_port {
        host
    } else {
        format!("{host}:{}", t.port)
    };
    format!(
        "POST {} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        t.path,
        body.len()
    )
    .into_bytes()
}

/// Sends `request` and reads the status code of the answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<u16, DeliveryError> {
    let failed = |e: std::io::Error| DeliveryError::Failed(e.to_string());
    stream.write_all(request).await.map_err(failed)?;
    stream.flush().await.map_err(failed)?;
    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut buf).await.map_err(failed)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_of(&head)
        .ok_or_else(|| DeliveryError::Failed("no HTTP status line in the answer".into()))
}

/// The code of an `HTTP/1.x NNN reason` status line.
fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    let code = parts.next()?;
    (code.len() == 3).then(|| code.parse().ok()).flatten()
}

/// RFC 3986 unreserved characters stay as they are; all else is escaped.
const FORM_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `logout_token=<token>`: a JWS is base64url and dots, so it goes as it is;
/// anything else would be escaped.
fn url_form(token: &str) -> String {
    let mut out = String::from("logout_token=");
    out.extend(percent_encoding::utf8_percent_encode(token, FORM_VALUE));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_is_read_and_nothing_else_passes_for_one() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_of(b"HTTP/1.0 503 Busy\r\nx: y\r\n"), Some(503));
        assert_eq!(status_of(b"HTTP/1.1 204\r\n"), Some(204));
        for bad in [
            &b""[..],
            b"SSH-2.0-x\r\n",
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 2000 OK",
            b"HTTP/2 200",
        ] {
            assert_eq!(status_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_request_names_the_host_path_and_form() {
        let t = target("https://app.example.com/oauth2/backchannel?x=1").unwrap();
        assert!(t.tls && t.port == 443);
        let r = String::from_utf8(request(&t, "a.b-c_d")).unwrap();
        assert!(
            r.starts_with("POST /oauth2/backchannel?x=1 HTTP/1.1\r\nhost: app.example.com\r\n"),
            "{r}"
        );
        assert!(r.ends_with("\r\n\r\nlogout_token=a.b-c_d"), "{r}");
        assert!(r.contains("content-length: 20\r\n"), "{r}");
        let t = target("http://[::1]:8080").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8080, "/")
        );
        assert!(String::from_utf8(request(&t, "x"))
            .unwrap()
            .contains("host: [::1]:8080\r\n"));
        assert!(target("ftp://x/").is_err());
    }
}
