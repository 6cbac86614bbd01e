//! One sign-in in a real browser: headless Chromium, driven over WebDriver
//! by chromedriver, opens the authorization URL a standard client library
//! (the `oauth2` crate) built from the discovery document, fills in the login
//! page, is sent back to the web app's redirect URI on another origin, and the
//! app redeems the code. The issuer is the real handler behind a small
//! HTTP/1.1 front that turns each request into the API Gateway event it
//! would be. The test saves a screenshot of the page (docs/login-page.png
//! when `UPDATE_SCREENSHOT=1`).

use crate::common::front::{read_request, serve_issuer, write_response};
use crate::common::*;
use serde_json::{json, Value};
use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use token_issuer::core::record::client::{ClientId, GrantType, RedirectUri, Scopes};
use token_issuer::core::store::{AdminStore as _, UserStore as _};
use tokio::net::TcpListener;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The web app's redirect URI: remembers each callback's target.
/// The issuer's listener and URL (on `host`), and the app's listener and
/// redirect URI, each on a free port.
struct Sites {
    issuer_listener: TcpListener,
    issuer: String,
    app_listener: TcpListener,
    redirect: String,
}

async fn sites(host: &str) -> Sites {
    let issuer_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!(
        "http://{host}:{}",
        issuer_listener.local_addr().unwrap().port()
    );
    let app_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!(
        "http://127.0.0.1:{}/callback",
        app_listener.local_addr().unwrap().port()
    );
    Sites {
        issuer_listener,
        issuer,
        app_listener,
        redirect,
    }
}

async fn serve_app(listener: TcpListener, seen: tokio::sync::mpsc::UnboundedSender<String>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let Some(req) = read_request(&mut stream).await else {
            continue;
        };
        let html = b"<!doctype html><title>Demo app</title><h1>Signed in</h1>";
        let headers = [("content-type".to_string(), "text/html".to_string())];
        write_response(&mut stream, 200, &headers, html).await;
        if req.target.starts_with("/callback") {
            let _ = seen.send(req.target);
        }
    }
}

/// A blocking HTTP/1.1 exchange on loopback: chromedriver's API, and the
/// web app's own calls to the issuer.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let body = body.unwrap_or(b"");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    // Read by the response's own framing: chromedriver keeps the
    // connection open whatever the request asked.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).expect("a response");
        assert!(n > 0, "the connection closed before a response");
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let mut body = raw[end + 4..].to_vec();
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut chunk).expect("a response body");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[i + 2..i + 2 + size]);
        raw = &raw[i + 2 + size + 2..];
    }
    out
}

/// chromedriver, stopped (with its browser) when dropped.
struct Driver {
    process: Child,
    base: String,
    session: Option<String>,
}

impl Driver {
    fn start(profile: &std::path::Path) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: `scripts/tools.sh browser` installs Debian's chromium and chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut driver = Self {
            process,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The flags a closed network and a root user need: no sandbox, and
        // none of the background connections Chromium would make.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=960,760",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let created = driver.call("POST", "/session", Some(caps));
        driver.session = Some(
            created["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no session: {created}"))
                .to_string(),
        );
        driver
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        eprintln!("webdriver: {method} {path}");
        let (status, bytes) = http(
            method,
            &format!("{}{path}", self.base),
            &[("content-type", "application/json")],
            body.as_deref().map(str::as_bytes),
        );
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn session(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let id = self.session.as_deref().expect("a session");
        self.call(method, &format!("/session/{id}{path}"), body)
    }

    fn find(&self, css: &str) -> String {
        let found = self.session(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().expect("an element").to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.session("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.session(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.session("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.session("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits (up to 30 s) until the browser is at a URL starting `prefix`:
    /// a redirect followed, before the browser may be closed.
    fn wait_url(&self, prefix: &str) {
        let started = Instant::now();
        loop {
            let at = self.session("GET", "/url", None);
            if at.as_str().is_some_and(|u| u.starts_with(prefix)) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "still at {at}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 20 s) until the element `css` shows `expected`: a click
    /// that posts a form returns before the next page has loaded, and the
    /// old page's element may still be there.
    fn wait_text(&self, css: &str, expected: &str) {
        let started = Instant::now();
        loop {
            let found = self.try_text(css);
            if found.as_deref() == Some(expected) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{css} shows {found:?}, not {expected:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page has an element `css`: a click that leads to
    /// another page can return before that page is shown.
    fn wait_for(&self, css: &str) {
        let started = Instant::now();
        while self.try_text(css).is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {css} on the page"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text of `css`, or `None` while there is no such element.
    fn try_text(&self, css: &str) -> Option<String> {
        let id = self.session.as_deref().expect("a session");
        let body = json!({"using": "css selector", "value": css}).to_string();
        let (status, bytes) = http(
            "POST",
            &format!("{}/session/{id}/element", self.base),
            &[("content-type", "application/json")],
            Some(body.as_bytes()),
        );
        let found: Value = serde_json::from_slice(&bytes).ok()?;
        let el = found["value"][ELEMENT].as_str().filter(|_| status == 200)?;
        let (status, bytes) = http(
            "GET",
            &format!("{}/session/{id}/element/{el}/text", self.base),
            &[],
            None,
        );
        let text: Value = serde_json::from_slice(&bytes).ok()?;
        (status == 200).then(|| text["value"].as_str().unwrap_or("").to_string())
    }

    fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = self.session("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("a screenshot"))
            .expect("base64 PNG")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = std::panic::catch_unwind(|| {
                http("DELETE", &format!("{}/session/{id}", self.base), &[], None)
            });
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_signs_in_through_the_login_page_and_the_app_redeems_the_code() {
    use oauth2::basic::BasicClient;
    use oauth2::{AuthUrl, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};

    let Sites {
        issuer_listener,
        issuer,
        app_listener,
        redirect,
    } = sites("127.0.0.1").await;
    let fixed = issuer.clone();
    let env = Arc::new(TestEnv::with_config(|c| c.issuer = Some(fixed)).await);
    // Registered as `token-admin client create` would.
    let secret = token_issuer::core::record::client::ClientSecret::generate().unwrap();
    env.store
        .create_client(&token_issuer::core::record::client::Client {
            id: ClientId::parse("demo-web").unwrap(),
            secret_hash: Some(secret.hash()),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: Scopes::parse("openid profile email").unwrap(),
            audience: None,
            redirect_uris: vec![RedirectUri::parse(&redirect).unwrap()],
            name: Some("Acme Projects".into()),
            enabled: true,
            created_at: START,
            logout: token_issuer::core::record::client::LogoutUris::parse(
                &[redirect.replace("/callback", "/signed-out")],
                None,
            )
            .unwrap(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        })
        .await
        .unwrap();
    tokio::spawn(serve_issuer(env.clone(), issuer_listener));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(serve_app(app_listener, seen_tx));

    // The app knows the issuer URL only, and discovers the rest.
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let (status, body) = tokio::task::spawn_blocking(move || http("GET", &discovery, &[], None))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(meta["issuer"], issuer.as_str());
    let client = BasicClient::new(oauth2::ClientId::new("demo-web".into()))
        .set_auth_uri(
            AuthUrl::new(meta["authorization_endpoint"].as_str().unwrap().into()).unwrap(),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("nonce", "browser-nonce-1")
        .set_pkce_challenge(challenge)
        .url();

    let profile = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium"));
    let url = url.to_string();
    let redirect_prefix = redirect.clone();
    let shot = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&profile);
        driver.session("POST", "/url", Some(json!({"url": url})));
        let title = driver.session("GET", "/title", None);
        assert_eq!(title, "Sign in to Acme Projects");
        assert!(driver.text("p.lead").contains("Acme Projects"));
        // A wrong password first: the page comes back with one message.
        driver.type_into("#username", "Admin");
        driver.type_into("#password", "not the password");
        let shot = driver.screenshot();
        driver.click("button[type=submit]");
        driver.wait_text(".alert", "Incorrect username or password.");
        // The username is kept; the right password signs in.
        driver.type_into("#password", PASSWORD);
        driver.click("button[type=submit]");
        let started = Instant::now();
        loop {
            let at = driver.session("GET", "/url", None);
            if at.as_str().is_some_and(|u| u.starts_with(&redirect_prefix)) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "still at {at}");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(driver.text("h1"), "Signed in");
        (driver, shot)
    })
    .await
    .unwrap();
    let (driver, shot) = shot;
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("login-page.png");
    std::fs::write(&out, &shot).unwrap();
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/login-page.png");
        std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
        std::fs::write(docs, &shot).unwrap();
    }

    // The callback the browser made, with code, state and iss (RFC 9207).
    let target = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a callback")
        .unwrap();
    let query: Vec<(String, String)> = target
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (
                k.to_string(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect();
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in {target}"))
    };
    assert_eq!(get("state"), *state.secret());
    assert_eq!(get("iss"), issuer);

    // The app redeems the code at the discovered token endpoint.
    let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_string();
    let form_body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &get("code")),
        ("redirect_uri", &redirect),
        ("code_verifier", verifier.secret()),
    ]);
    let auth = basic("demo-web", secret.expose());
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(
            "POST",
            &token_endpoint,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &auth),
            ],
            Some(form_body.as_bytes()),
        )
    })
    .await
    .unwrap();
    let tokens: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{tokens}");
    let access = verify_access_token(&env, tokens["access_token"].as_str().unwrap(), &issuer).await;
    assert_eq!(access["username"], "admin");
    assert_eq!(access["client_id"], "demo-web");
    use base64::Engine;
    let id_token = tokens["id_token"].as_str().unwrap();
    let id: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(id["nonce"], "browser-nonce-1");
    assert_eq!(id["aud"], "demo-web");
    assert_eq!(id["iss"], issuer.as_str());

    // Single sign-on (API §12): a second app of the same browser gets its
    // code at once; the browser never sees the login page.
    let b = BasicClient::new(oauth2::ClientId::new("demo-b".into()))
        .set_auth_uri(
            AuthUrl::new(meta["authorization_endpoint"].as_str().unwrap().into()).unwrap(),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).unwrap());
    env.store
        .create_client(&token_issuer::core::record::client::Client {
            id: ClientId::parse("demo-b").unwrap(),
            secret_hash: None,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("openid").unwrap(),
            audience: None,
            redirect_uris: vec![RedirectUri::parse(&redirect).unwrap()],
            name: Some("Acme Billing".into()),
            enabled: true,
            created_at: START,
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        })
        .await
        .unwrap();
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, b_state) = b
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(challenge)
        .url();
    let url = url.to_string();
    let redirect_b = redirect.clone();
    let driver = tokio::task::spawn_blocking(move || {
        driver.session("POST", "/url", Some(json!({"url": url})));
        let at = driver.session("GET", "/url", None);
        assert!(
            at.as_str().is_some_and(|u| u.starts_with(&redirect_b)),
            "app B's sign-in went straight back: {at}"
        );
        assert_eq!(driver.text("h1"), "Signed in");
        driver
    })
    .await
    .unwrap();
    let b_callback = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("app B's callback")
        .unwrap();
    assert!(b_callback.contains("code="), "{b_callback}");
    assert!(
        b_callback.contains(&format!("state={}", b_state.secret())),
        "{b_callback}"
    );

    // Logging out at app A: its ID token names the session, so nothing is
    // asked, and the browser lands on A's signed-out page; app B must ask
    // for the password again.
    let logout = format!(
        "{issuer}/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        id_token,
        percent_encoding::utf8_percent_encode(
            &redirect.replace("/callback", "/signed-out"),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (b_again, _) = b
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(challenge)
        .url();
    let b_again = b_again.to_string();
    let signed_out = redirect.replace("/callback", "/signed-out?state=bye");
    // Without the hint the user is asked first; confirming ends the session
    // and shows the signed-out page (both pages are screenshots in docs/).
    let ask = format!("{issuer}/oauth2/logout?client_id=demo-web");
    let (driver, confirm_shot, signed_out_shot) = tokio::task::spawn_blocking(move || {
        driver.session("POST", "/url", Some(json!({"url": ask})));
        assert_eq!(driver.session("GET", "/title", None), "Sign out");
        assert!(driver.text("p.lead").contains("Acme Projects"));
        let confirm_shot = driver.screenshot();
        driver.click("button[type=submit]");
        driver.wait_text("h1", "Signed out");
        let signed_out_shot = driver.screenshot();
        (driver, confirm_shot, signed_out_shot)
    })
    .await
    .unwrap();
    for (name, png) in [
        ("logout-confirm.png", &confirm_shot),
        ("signed-out.png", &signed_out_shot),
    ] {
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
            let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join(name);
            std::fs::write(docs, png).unwrap();
        }
    }
    let driver = tokio::task::spawn_blocking(move || {
        driver.session("POST", "/url", Some(json!({"url": logout})));
        let at = driver.session("GET", "/url", None);
        assert_eq!(at.as_str(), Some(signed_out.as_str()), "back at app A");
        driver.session("POST", "/url", Some(json!({"url": b_again})));
        let title = driver.session("GET", "/title", None);
        assert_eq!(title, "Sign in to Acme Billing", "app B asks again");
        driver
    })
    .await
    .unwrap();

    // A known browser (API §2): attackers from 100 addresses lock the
    // username for everyone, yet this browser, which keeps the device
    // cookie its sign-in set, signs in again.
    for i in 0..100 {
        let mut ev = login(
            "v2-login",
            json!({"username": "admin", "password": "wrong"}),
        );
        ev["requestContext"]["http"]["sourceIp"] = json!(format!("198.18.0.{}", i + 1));
        assert_eq!(env.call(&ev).await.status, 401);
    }
    let mut ev = login(
        "v2-login",
        json!({"username": "admin", "password": PASSWORD}),
    );
    ev["requestContext"]["http"]["sourceIp"] = json!("198.18.1.1");
    assert_eq!(env.call(&ev).await.status, 429, "locked for everyone");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    // `prompt=login`: the session alone would skip the page.
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_extra_param("prompt", "login")
        .set_pkce_challenge(challenge)
        .url();
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        driver.session("POST", "/url", Some(json!({"url": url})));
        driver.type_into("#username", "Admin");
        driver.type_into("#password", PASSWORD);
        driver.click("button[type=submit]");
        let started = Instant::now();
        loop {
            let at = driver.session("GET", "/url", None);
            if at.as_str().is_some_and(|u| u.starts_with(&redirect)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the known browser is still at {at}: {}",
                driver.text("body")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a second callback")
        .unwrap();
    assert!(again.contains("code="), "{again}");
}

/// Two-step sign-in in the browser (API §13): an app asks for a second
/// factor, the user enrols by reading the key off the page into an
/// "authenticator" (the test's own RFC 6238 code), then signs in again with
/// a code. Screenshots of both pages: docs/enrol-page.png and
/// docs/code-page.png when `UPDATE_SCREENSHOT=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_enrols_a_one_time_code_app_and_signs_in_with_a_code() {
    use token_issuer::core::record::factor::{step_of, TotpSecret};
    let Sites {
        issuer_listener,
        issuer,
        app_listener,
        redirect,
    } = sites("127.0.0.1").await;
    let fixed = issuer.clone();
    let env = Arc::new(TestEnv::with_config(|c| c.issuer = Some(fixed)).await);
    let secret = token_issuer::core::record::client::ClientSecret::generate().unwrap();
    env.store
        .create_client(&token_issuer::core::record::client::Client {
            id: ClientId::parse("demo-web").unwrap(),
            secret_hash: Some(secret.hash()),
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("openid").unwrap(),
            audience: None,
            redirect_uris: vec![RedirectUri::parse(&redirect).unwrap()],
            name: Some("Acme Projects".into()),
            enabled: true,
            created_at: START,
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        })
        .await
        .unwrap();
    tokio::spawn(serve_issuer(env.clone(), issuer_listener));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(serve_app(app_listener, seen_tx));

    let challenge = token_issuer::core::authorize::s256(VERIFIER);
    let url = format!(
        "{issuer}/oauth2/authorize?response_type=code&client_id=demo-web&scope=openid\
         &redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256\
         &acr_values=mfa",
        percent_encoding::utf8_percent_encode(&redirect, percent_encoding::NON_ALPHANUMERIC)
    );
    let code_at = {
        let env = env.clone();
        move |secret: &TotpSecret| {
            let step = step_of(env.app.issuer().now()).unwrap();
            secret.code_at(step)
        }
    };
    let profile = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium"));
    let prefix = redirect.clone();
    let clock = env.clock.clone();
    let shots = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&profile);
        let sign_in = |driver: &Driver| {
            driver.session("POST", "/url", Some(json!({"url": url})));
            driver.type_into("#username", "Admin");
            driver.type_into("#password", PASSWORD);
            driver.click("button[type=submit]");
        };
        sign_in(&driver);
        driver.wait_text("h1", "Set up two-step sign-in");
        // The key as the page shows it, typed into the "app".
        let key = driver.text("#secret");
        let secret = TotpSecret::from_bytes(&base32_decode(&key)).expect("a 20-byte key");
        assert!(driver.text("#recovery").split_whitespace().count() == 10);
        let enrol_shot = driver.screenshot();
        driver.type_into("#code", &code_at(&secret));
        driver.click("button[type=submit]");
        driver.wait_url(&prefix);

        // Later, in a fresh browser session (the app asks again), a code.
        driver.session("DELETE", "/cookie", None);
        clock.advance(time::Duration::seconds(60));
        sign_in(&driver);
        driver.wait_text("h1", "Enter your code");
        driver.type_into("#code", "000000");
        driver.click("button[type=submit]");
        driver.wait_text(".alert", "That code is not right. Try again.");
        let code_shot = driver.screenshot();
        driver.type_into("#code", &code_at(&secret));
        driver.click("button[type=submit]");
        driver.wait_url(&prefix);
        (enrol_shot, code_shot)
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let target = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .expect("a callback")
            .unwrap();
        assert!(
            target.contains("code=") && target.contains("state=s1"),
            "{target}"
        );
    }
    let (enrol_shot, code_shot) = shots;
    for (png, name) in [(enrol_shot, "enrol-page.png"), (code_shot, "code-page.png")] {
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
            let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join(name);
            std::fs::write(docs, &png).unwrap();
        }
    }
}

/// RFC 4648 base32, as an authenticator app reads a typed key.
fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut buffer, mut out) = (0u32, 0u64, Vec::new());
    for c in text.trim().bytes() {
        let Some(v) = alphabet.iter().position(|a| *a == c) else {
            continue;
        };
        buffer = (buffer << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Passkeys in the browser (API §13): Chromium's virtual authenticator,
/// added over WebDriver, stands in for a platform authenticator with user
/// verification. An app asks for a passkey to be registered; the user signs
/// in with the password and the page's script makes the passkey. Later, in
/// a fresh browser session, the passkey alone signs in, and satisfies an
/// app's request for a second factor. The issuer is at `localhost` (a
/// secure context, and a relying-party id an IP address cannot be).
/// Screenshot: docs/passkey-page.png when `UPDATE_SCREENSHOT=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_registers_a_passkey_and_signs_in_with_it_alone() {
    let Sites {
        issuer_listener,
        issuer,
        app_listener,
        redirect,
    } = sites("localhost").await;
    let fixed = issuer.clone();
    let env = Arc::new(TestEnv::with_config(|c| c.issuer = Some(fixed)).await);
    let secret = token_issuer::core::record::client::ClientSecret::generate().unwrap();
    env.store
        .create_client(&token_issuer::core::record::client::Client {
            id: ClientId::parse("demo-web").unwrap(),
            secret_hash: Some(secret.hash()),
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("openid").unwrap(),
            audience: None,
            redirect_uris: vec![RedirectUri::parse(&redirect).unwrap()],
            name: Some("Acme Projects".into()),
            enabled: true,
            created_at: START,
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        })
        .await
        .unwrap();
    tokio::spawn(serve_issuer(env.clone(), issuer_listener));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(serve_app(app_listener, seen_tx));

    let challenge = token_issuer::core::authorize::s256(VERIFIER);
    let url = |extra: &str| {
        format!(
            "{issuer}/oauth2/authorize?response_type=code&client_id=demo-web&scope=openid\
             &redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256{extra}",
            percent_encoding::utf8_percent_encode(&redirect, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let (register, mfa) = (url("&action=register-passkey"), url("&acr_values=mfa"));
    let profile = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium"));
    let prefix = redirect.clone();
    let (shot, credentials) = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&profile);
        let authenticator = driver.session(
            "POST",
            "/webauthn/authenticator",
            Some(json!({
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true
            })),
        );
        let authenticator = authenticator
            .as_str()
            .expect("an authenticator id")
            .to_string();
        driver.session("POST", "/url", Some(json!({"url": register})));
        driver.type_into("#username", "Admin");
        driver.type_into("#password", PASSWORD);
        driver.click("button[type=submit]");
        driver.wait_text("h1", "Add a passkey");
        let shot = driver.screenshot();
        driver.click("#passkey-button");
        driver.wait_url(&prefix);
        let credentials = driver.session(
            "GET",
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            None,
        );

        // A fresh browser session: no password, the passkey alone.
        driver.session("DELETE", "/cookie", None);
        driver.session("POST", "/url", Some(json!({"url": mfa})));
        driver.wait_text("#passkey-button", "Sign in with a passkey");
        driver.click("#passkey-button");
        driver.wait_url(&prefix);
        (shot, credentials)
    })
    .await
    .unwrap();
    let credentials = credentials.as_array().expect("credentials").clone();
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    assert_eq!(credentials[0]["isResidentCredential"], true);
    let mut targets = Vec::new();
    for _ in 0..2 {
        let target = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .expect("a callback")
            .unwrap();
        targets.push(target);
    }
    // The second sign-in's code: the tokens say a passkey signed in.
    let query = targets[1].split_once('?').unwrap().1.to_string();
    let code = query
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_string();
    let r = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", VERIFIER),
            ],
            Some(("demo-web", secret.expose())),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = jwt_claims(r.json()["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(id["acr"], "mfa");
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.factors.passkeys.len(), 1);
    assert!(user.factors.passkeys[0].sign_count > 0);
    assert!(user.factors.passkeys[0].last_used_at.is_some());
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/passkey-page.png");
        std::fs::write(docs, &shot).unwrap();
    }
}

/// A client that registered itself: after the sign-in, the consent page in
/// a real browser, then Allow and the code. Screenshot:
/// docs/consent-page.png when `UPDATE_SCREENSHOT=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_allows_a_third_party_at_the_consent_page() {
    let Sites {
        issuer_listener,
        issuer,
        app_listener,
        redirect,
    } = sites("localhost").await;
    let fixed = issuer.clone();
    let env = Arc::new(
        TestEnv::with_config(|c| {
            c.issuer = Some(fixed);
            c.registration.policy =
                token_issuer::core::record::registration::RegistrationPolicy::Public;
        })
        .await,
    );
    let body = json!({"client_name": "Acme Agent", "redirect_uris": [redirect]});
    let r = env
        .call(&with_body(event("oauth-register"), &body.to_string()))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let client = r.json()["client_id"].as_str().unwrap().to_string();
    tokio::spawn(serve_issuer(env.clone(), issuer_listener));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(serve_app(app_listener, seen_tx));

    let challenge = token_issuer::core::authorize::s256(VERIFIER);
    let url = format!(
        "{issuer}/oauth2/authorize?response_type=code&client_id={client}&scope=openid%20profile\
         &redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        percent_encoding::utf8_percent_encode(&redirect, percent_encoding::NON_ALPHANUMERIC)
    );
    let profile = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium"));
    let prefix = redirect.clone();
    let (shot, scopes) = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&profile);
        driver.session("POST", "/url", Some(json!({"url": url})));
        driver.type_into("#username", "Admin");
        driver.type_into("#password", PASSWORD);
        driver.click("button[type=submit]");
        driver.wait_text("h1", "Allow Acme Agent?");
        let scopes = driver.text("#scopes");
        let shot = driver.screenshot();
        driver.click("#allow");
        // The browser lives until it has followed the redirect to the app.
        driver.wait_url(&prefix);
        (shot, scopes)
    })
    .await
    .unwrap();
    assert!(scopes.contains("See your name and username"), "{scopes}");
    let target = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a callback")
        .unwrap();
    let query = target.split_once('?').unwrap().1.to_string();
    let code = query
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_string();
    let r = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", VERIFIER),
                ("client_id", &client),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/consent-page.png");
        std::fs::write(docs, &shot).unwrap();
    }
}

/// The device page in a real browser (RFC 8628): the code typed, the
/// question answered, the sign-in, and the device's poll then gets its
/// tokens. The question is a screenshot in docs/ (`UPDATE_SCREENSHOT=1`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_a_device_in_at_the_device_page() {
    use crate::device::DEVICE_GRANTS;
    let Sites {
        issuer_listener,
        issuer,
        ..
    } = sites("localhost").await;
    let fixed = issuer.clone();
    let env = Arc::new(TestEnv::with_config(|c| c.issuer = Some(fixed)).await);
    env.add_client("living-room-tv", true, DEVICE_GRANTS, "openid profile")
        .await;
    let start = crate::device::at(
        oauth_event(
            "oauth-token-password",
            &[("client_id", "living-room-tv")],
            None,
        ),
        "/oauth2/device_authorization",
    );
    let r = env.call(&start).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let user_code = r.json()["user_code"].as_str().unwrap().to_string();
    let device_code = r.json()["device_code"].as_str().unwrap().to_string();
    tokio::spawn(serve_issuer(env.clone(), issuer_listener));

    let url = format!("{issuer}/oauth2/device");
    let profile = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium"));
    let typed = user_code.clone();
    let (shot, done) = tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&profile);
        driver.session("POST", "/url", Some(json!({"url": url})));
        driver.wait_text("h1", "Sign in a device");
        driver.type_into("#user_code", &typed);
        driver.click("button[type=submit]");
        driver.wait_text("h1", "Sign in a device?");
        let shot = driver.screenshot();
        driver.click("button[value=continue]");
        // The confirmation posts, then is sent on to the login page.
        driver.wait_for("#username");
        driver.type_into("#username", "Admin");
        driver.type_into("#password", PASSWORD);
        driver.click("button[type=submit]");
        driver.wait_text("h1", "Device signed in");
        (shot, driver.text("p.lead"))
    })
    .await
    .unwrap();
    assert!(done.contains("Your device is signed in"), "{done}");
    let r = env
        .call(&oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
                ("client_id", "living-room-tv"),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        jwt_claims(r.json()["access_token"].as_str().unwrap())["sub"],
        env.admin.id.to_string()
    );
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/device-page.png");
        std::fs::write(docs, &shot).unwrap();
    }
}
