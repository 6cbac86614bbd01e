//! The tests' HTTP/1.1 front: the real handler served over a socket, each
//! request turned into the API Gateway event (HTTP API, payload 2.0) it
//! would be, for clients that speak HTTP (a browser, an OpenAPI fuzzer).

use super::*;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A request read off a socket: method, target, headers, body.
pub struct HttpRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub async fn read_request(stream: &mut TcpStream) -> Option<HttpRequest> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(HttpRequest {
        method,
        target,
        headers,
        body,
    })
}

pub async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) {
    let mut out = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

/// The request as API Gateway (HTTP API, payload 2.0) would deliver it.
pub fn to_event(req: &HttpRequest) -> Value {
    use base64::Engine;
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let mut ev = event("oauth-authorize");
    ev["rawPath"] = json!(path);
    ev["rawQueryString"] = json!(query);
    ev["requestContext"]["http"]["path"] = json!(path);
    ev["requestContext"]["http"]["method"] = json!(req.method);
    ev["requestContext"]["http"]["sourceIp"] = json!("127.0.0.1");
    let mut headers = serde_json::Map::new();
    for (k, v) in &req.headers {
        headers.insert(k.clone(), json!(v));
    }
    // API Gateway hands cookies over in their own array, not as a header.
    if let Some(Value::String(cookie)) = headers.remove("cookie") {
        ev["cookies"] = json!(cookie.split(';').map(str::trim).collect::<Vec<_>>());
    }
    ev["headers"] = Value::Object(headers);
    let mut params = serde_json::Map::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        params.insert(dec(k), json!(dec(v)));
    }
    ev["queryStringParameters"] = Value::Object(params);
    ev["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&req.body));
    ev["isBase64Encoded"] = json!(true);
    ev
}

/// Serves the issuer's routes over HTTP through the real handler.
pub async fn serve_issuer(env: Arc<TestEnv>, listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let env = env.clone();
        tokio::spawn(async move {
            let Some(req) = read_request(&mut stream).await else {
                return;
            };
            // API Gateway answers a request it cannot put into an event
            // itself (a header value no event may hold), as 400.
            let Some(reply) = env.try_call(&to_event(&req)).await else {
                write_response(&mut stream, 400, &[], b"Bad Request").await;
                return;
            };
            let headers: Vec<(String, String)> = reply
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            write_response(&mut stream, reply.status, &headers, &reply.body).await;
        });
    }
}
