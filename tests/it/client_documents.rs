//! Client ID metadata documents (API §14): an https client id names a JSON
//! document the issuer fetches over verified TLS from a server this test
//! runs. Each network guard is tried against the fetcher itself (a private
//! address, a redirect, a document too big, declared or not, a stalled
//! answer, a wrong media type, an unknown CA, http); then the whole flow
//! through the real handler: sign-in, consent and tokens for a document's
//! client, the cache, a changed document, an operator's disable, and a
//! document that names another client.

use crate::common::certs::{make_certificates, tls_acceptor};
use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use token_issuer::client_documents::HttpClientDocuments;
use token_issuer::core::documents::ClientDocuments;
use token_issuer::core::record::client::ClientId;
use token_issuer::core::store::{AdminStore, ClientStore};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the document server answers at a path.
#[derive(Clone)]
enum Answer {
    Json(Vec<u8>),
    /// Status, headers and body, as given.
    Raw(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// The body in chunks, with no length declared.
    Chunked(Vec<u8>),
    /// Accepts and never answers.
    Stall,
}

/// An HTTPS server for `localhost` signed by a test CA; its answers are
/// set per path, and it counts the requests per path.
pub(crate) struct DocumentServer {
    base: String,
    pub(crate) ca: Vec<u8>,
    dir: PathBuf,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl DocumentServer {
    pub(crate) async fn start() -> Self {
        let dir = std::env::temp_dir().join(unique("documents"));
        std::fs::create_dir_all(&dir).unwrap();
        make_certificates(&dir);
        let acceptor = tls_acceptor(&dir);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (a, h) = (answers.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (acceptor, answers, hits) = (acceptor.clone(), a.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).to_string();
                    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
                    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let answer = answers.lock().unwrap().get(&path).cloned();
                    let bytes = match answer {
                        None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
                        Some(Answer::Stall) => {
                            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                            return;
                        }
                        Some(Answer::Json(body)) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend(body);
                            r
                        }
                        Some(Answer::Raw(status, headers, body)) => {
                            let mut r = format!("HTTP/1.1 {status} X\r\n");
                            for (k, v) in headers {
                                r.push_str(&format!("{k}: {v}\r\n"));
                            }
                            r.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
                            let mut r = r.into_bytes();
                            r.extend(body);
                            r
                        }
                        Some(Answer::Chunked(body)) => {
                            let mut r = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                            for chunk in body.chunks(1000) {
                                r.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
                                r.extend(chunk);
                                r.extend(b"\r\n");
                            }
                            r.extend(b"0\r\n\r\n");
                            r
                        }
                    };
                    let _ = tls.write_all(&bytes).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        let ca = std::fs::read(dir.join("ca.pem")).unwrap();
        Self {
            base,
            ca,
            dir,
            answers,
            hits,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer(&self, path: &str, a: Answer) {
        self.answers.lock().unwrap().insert(path.into(), a);
    }

    /// Serves the document of a client called `name`, naming itself.
    pub(crate) fn document(&self, path: &str, name: &str, redirect_uris: &[&str]) -> String {
        let url = self.url(path);
        let doc = json!({
            "client_id": url,
            "client_name": name,
            "redirect_uris": redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        });
        self.answer(path, Answer::Json(doc.to_string().into_bytes()));
        url
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// A fetcher as the tests configure it: the test CA, loopback allowed.
    fn fetcher(&self) -> HttpClientDocuments {
        HttpClientDocuments::new()
            .allowing_private_addresses(true)
            .trusting(Some(self.ca.clone()))
    }
}

impl Drop for DocumentServer {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn refused(f: &HttpClientDocuments, url: &str) -> String {
    match f.fetch(url).await {
        Ok(body) => panic!("{url} was fetched: {}", String::from_utf8_lossy(&body)),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn every_network_guard_of_the_fetch_holds() {
    let server = DocumentServer::start().await;
    let url = server.document("/client.json", "Agent", &[REDIRECT_URI]);
    let body = server.fetcher().fetch(&url).await.expect("fetched");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["client_id"], url.as_str());

    // Outside a test setting, loopback is not a public address: nothing
    // is even requested.
    let before = server.hits("/client.json");
    let public_only = HttpClientDocuments::new().trusting(Some(server.ca.clone()));
    let why = refused(&public_only, &url).await;
    assert!(why.contains("not a public address"), "{why}");
    let why = refused(&public_only, &url.replace("localhost", "127.0.0.1")).await;
    assert!(why.contains("not a public address"), "{why}");
    assert_eq!(server.hits("/client.json"), before);

    // Redirects are not followed.
    server.answer(
        "/moved.json",
        Answer::Raw(302, vec![("location", url.clone())], Vec::new()),
    );
    let why = refused(&server.fetcher(), &server.url("/moved.json")).await;
    assert!(why.contains("redirects are not followed"), "{why}");
    assert_eq!(server.hits("/client.json"), before);

    // At most 5 KB: declared, or found while reading an undeclared length.
    let big = format!(
        "{{\"client_id\":\"{}\",\"x\":\"{}\"}}",
        url,
        "a".repeat(6000)
    );
    server.answer("/big.json", Answer::Json(big.clone().into_bytes()));
    let why = refused(&server.fetcher(), &server.url("/big.json")).await;
    assert!(why.contains("over 5120 bytes"), "{why}");
    server.answer("/chunked.json", Answer::Chunked(big.into_bytes()));
    let why = refused(&server.fetcher(), &server.url("/chunked.json")).await;
    assert!(why.contains("over 5120 bytes"), "{why}");
    // A small document in chunks is read whole.
    server.answer("/small.json", Answer::Chunked(body.clone()));
    assert_eq!(
        server.fetcher().fetch(&server.url("/small.json")).await,
        Ok(body.clone())
    );

    // JSON only, 200 only.
    server.answer(
        "/page.html",
        Answer::Raw(
            200,
            vec![("content-type", "text/html".into())],
            body.clone(),
        ),
    );
    let why = refused(&server.fetcher(), &server.url("/page.html")).await;
    assert!(why.contains("not application/json"), "{why}");
    let why = refused(&server.fetcher(), &server.url("/missing.json")).await;
    assert!(why.contains("404"), "{why}");

    // An answer that never comes ends at the time limit.
    server.answer("/slow.json", Answer::Stall);
    let why = refused(&server.fetcher(), &server.url("/slow.json")).await;
    assert!(why.contains("no answer within 2 s"), "{why}");

    // TLS is verified: the system's roots do not know the test's CA.
    let untrusting = HttpClientDocuments::new().allowing_private_addresses(true);
    let why = refused(&untrusting, &url).await;
    assert!(why.contains("TLS"), "{why}");
    // https only.
    let why = refused(&server.fetcher(), &url.replace("https:", "http:")).await;
    assert!(why.contains("not https"), "{why}");
}

async fn documents_env(server: &DocumentServer) -> TestEnv {
    let ca = server.ca.clone();
    TestEnv::with_config(move |c| {
        c.registration.documents = true;
        c.registration.documents_private_addresses = true;
        c.registration.documents_ca_pem = Some(ca);
    })
    .await
}

fn authorize(client: &str, session: Option<&str>) -> Value {
    let mut ev = authorize_get(&authorization(client));
    if let Some(s) = session {
        ev["cookies"] = json!([format!("__Host-session={s}")]);
    }
    ev
}

fn assert_unknown_client(r: &Reply) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not valid"), "{}", r.text());
}

#[tokio::test]
async fn a_documents_client_signs_in_with_consent_and_its_document_is_cached() {
    let server = DocumentServer::start().await;
    let env = documents_env(&server).await;
    let meta = env.call(&event("oauth-authorization-server")).await;
    assert_eq!(
        meta.json()["client_id_metadata_document_supported"],
        true,
        "{}",
        meta.text()
    );
    let client = server.document("/agent.json", "Doc Agent", &[REDIRECT_URI]);

    // The login page names the client as its document does.
    let page = env.call(&authorize(&client, None)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Doc Agent"), "{}", page.text());
    assert_eq!(server.hits("/agent.json"), 1);
    let consent = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    assert_eq!(consent.status, 200, "{}", consent.text());
    assert!(
        consent.text().contains("Allow Doc Agent?"),
        "{}",
        consent.text()
    );
    let session = consent.cookie("__Host-session").expect("a session");
    let mut answer = hidden_fields(&consent.text());
    answer.push(("consent", "allow".into()));
    let mut ev = authorize_post(&answer);
    ev["cookies"] = json!([format!("__Host-session={session}")]);
    let r = env.call(&ev).await;
    let q = redirect_query(&r);
    let code = query_param(&q, "code").expect("a code").to_string();
    let tokens = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("client_id", &client),
            ],
            None,
        ))
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let body = tokens.json();
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], client.as_str());
    // The token is live (its client is cached in storage) and refreshes.
    let userinfo = env
        .call(&with_header(
            event("oauth-userinfo"),
            "authorization",
            &format!("Bearer {}", body["access_token"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(userinfo.status, 200, "{}", userinfo.text());
    let refreshed = env
        .call(&oauth_event(
            "oauth-token-refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("client_id", &client),
            ],
            None,
        ))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    // All that took one fetch; the cached client is a third party's.
    assert_eq!(server.hits("/agent.json"), 1);
    let id = ClientId::parse(&client).unwrap();
    let cached = env.store.get_client(&id).await.unwrap().expect("cached");
    assert!(cached.third_party && cached.is_public() && cached.expires_at.is_some());

    // The allowance is remembered: the session gets its next code at once.
    let r = env.call(&authorize(&client, Some(&session))).await;
    assert!(query_param(&redirect_query(&r), "code").is_some());
    assert_eq!(server.hits("/agent.json"), 1);

    // Five minutes on, the document is read again; it no longer lists the
    // redirect URI, so the request is refused.
    env.clock.advance(time::Duration::minutes(6));
    server.document(
        "/agent.json",
        "Doc Agent",
        &["https://app.example.com/other"],
    );
    let r = env.call(&authorize(&client, Some(&session))).await;
    assert_unknown_client(&r);
    assert!(r.text().contains("redirect"), "{}", r.text());
    assert_eq!(server.hits("/agent.json"), 2);

    // An operator's disable holds: no fetch brings the client back.
    server.document("/agent.json", "Doc Agent", &[REDIRECT_URI]);
    env.clock.advance(time::Duration::minutes(6));
    assert!(env.store.set_client_enabled(&id, false).await.unwrap());
    assert_unknown_client(&env.call(&authorize(&client, Some(&session))).await);
    assert_eq!(server.hits("/agent.json"), 2);
}

#[tokio::test]
async fn a_document_that_names_another_client_or_cannot_be_had_makes_no_client() {
    let server = DocumentServer::start().await;
    let env = documents_env(&server).await;
    let url = server.url("/impostor.json");
    let doc = json!({"client_id": "https://app.example.com/client.json", "redirect_uris": [REDIRECT_URI]});
    server.answer("/impostor.json", Answer::Json(doc.to_string().into_bytes()));
    assert_unknown_client(&env.call(&authorize(&url, None)).await);
    assert_unknown_client(
        &env.call(&authorize(&server.url("/absent.json"), None))
            .await,
    );
    for id in [url, server.url("/absent.json")] {
        let id = ClientId::parse(&id).unwrap();
        assert!(env.store.get_client(&id).await.unwrap().is_none());
    }
    // A client id URL that breaks the rules is never fetched.
    let dotted = format!("{}/a/../agent.json", server.base);
    assert_unknown_client(&env.call(&authorize(&dotted, None)).await);
    assert_eq!(
        server.hits("/agent.json") + server.hits("/a/../agent.json"),
        0
    );
}

#[tokio::test]
async fn without_the_setting_an_https_client_id_is_unknown_and_never_fetched() {
    let server = DocumentServer::start().await;
    let env = TestEnv::new().await;
    let meta = env.call(&event("oauth-authorization-server")).await;
    assert!(meta
        .json()
        .get("client_id_metadata_document_supported")
        .is_none());
    let client = server.document("/agent.json", "Doc Agent", &[REDIRECT_URI]);
    assert_unknown_client(&env.call(&authorize(&client, None)).await);
    assert_eq!(server.hits("/agent.json"), 0);
}

#[tokio::test]
async fn fetches_count_against_the_address_budget() {
    let server = DocumentServer::start().await;
    let ca = server.ca.clone();
    let env = TestEnv::with_config(move |c| {
        c.registration.documents = true;
        c.registration.documents_private_addresses = true;
        c.registration.documents_ca_pem = Some(ca);
        c.registration.per_address_hourly = 3;
    })
    .await;
    // Four distinct documents at once from one address: three fetched.
    let urls: Vec<String> = (0..4)
        .map(|i| server.document(&format!("/a{i}.json"), "A", &[REDIRECT_URI]))
        .collect();
    let events: Vec<Value> = urls.iter().map(|u| authorize(u, None)).collect();
    let replies = futures_util::future::join_all(events.iter().map(|e| env.call(e))).await;
    let shown = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        shown,
        3,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let fetched: usize = (0..4).map(|i| server.hits(&format!("/a{i}.json"))).sum();
    assert_eq!(fetched, 3);
}
