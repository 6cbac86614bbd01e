//! Storage faults: with DynamoDB unreachable, hanging or throttling, every
//! route answers its dialect's server error within a bounded time, issues no
//! token, and leaves no half-done rotation or session change behind.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use token_issuer::core::record::client::GrantType;
use token_issuer::store::DynamoStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The edge's 6 s deadline, and a little for the test's own scheduling:
/// well inside the function's 10 s timeout.
const BOUND: Duration = Duration::from_millis(6_500);

async fn store_at(endpoint: &str, env: &TestEnv) -> DynamoStore {
    let sdk = token_issuer::aws::lambda_sdk_config().await.unwrap();
    // Each store its own retry budget: the SDK shares one per service within a
    // process, and the throttling endpoint would spend it for every test.
    let partition = aws_sdk_dynamodb::config::retry::RetryPartition::new(unique("faults"));
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .retry_partition(partition)
        .build();
    token_issuer::compose::store(aws_sdk_dynamodb::Client::from_conf(conf), &env.config.store)
}

/// A port nobody listens on.
async fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Accepts connections and never answers: a hung DynamoDB.
async fn black_hole() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = l.accept().await {
            held.push(sock);
        }
    });
    format!("http://{addr}")
}

/// Answers every request as DynamoDB does when it throttles.
async fn throttling() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#;
                            let resp = format!(
                                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if sock.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

const V2_ERROR: &str =
    r#"{"errorCode":"GEN_1002","errorMessage":"Internal error","content":"","pageable":""}"#;
const USER_ERROR: &str =
    r#"{"responseKey":"SERVER_ERROR","responseMessage":"Server is temporarily unavailable"}"#;
const OPS_ERROR: &str = r#"{"message":"Internal error","httpStatusCode":500,"apiErrorCode":500}"#;

/// Every route that touches storage, with a live refresh token and session.
fn requests(refresh: &str, session: &str) -> Vec<(&'static str, Value, &'static str)> {
    let body = |t: &str| json!({ "refreshToken": t }).to_string();
    let ops =
        |name: &str| with_header(event(name), "authorization", &format!("OpsToken {session}"));
    vec![
        ("v2 login", event("v2-login"), V2_ERROR),
        (
            "v2 refresh",
            with_body(event("v2-refresh"), &body(refresh)),
            V2_ERROR,
        ),
        (
            "v2 revoke",
            with_body(event("v2-revoke"), &body(refresh)),
            V2_ERROR,
        ),
        ("user authenticate", event("user-authenticate"), USER_ERROR),
        (
            "user refresh",
            with_body(event("user-refresh"), &body(refresh)),
            USER_ERROR,
        ),
        (
            "user logout",
            with_body(event("user-logout"), &body(refresh)),
            USER_ERROR,
        ),
        ("ops acquire", event("ops-acquire"), OPS_ERROR),
        ("ops currentuser", ops("ops-currentuser"), OPS_ERROR),
        ("ops release", ops("ops-release"), OPS_ERROR),
        (
            "ops passwordchange",
            with_body(
                ops("ops-passwordchange"),
                &json!({"currentPassword": PASSWORD, "newPassword": "a fresh and long pass phrase 2037"})
                    .to_string(),
            ),
            OPS_ERROR,
        ),
        (
            "oauth password grant",
            oauth_event(
                "oauth-token-password",
                &[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", PASSWORD),
                ],
                Some(("app", "any secret")),
            ),
            OAUTH_ERROR,
        ),
        (
            "oauth refresh grant",
            oauth_event(
                "oauth-token-refresh",
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
                Some(("app", "any secret")),
            ),
            OAUTH_ERROR,
        ),
        (
            "oauth client credentials",
            oauth_event(
                "oauth-token-client-credentials",
                &[("grant_type", "client_credentials")],
                Some(("app", "any secret")),
            ),
            OAUTH_ERROR,
        ),
        (
            "oauth revoke",
            oauth_event("oauth-revoke", &[("token", refresh)], Some(("app", "any secret"))),
            OAUTH_ERROR,
        ),
        (
            "oauth introspect",
            oauth_event("oauth-introspect", &[("token", refresh)], Some(("app", "any secret"))),
            OAUTH_ERROR,
        ),
        ("login page", authorize_get(&authorization("web")), PAGE_ERROR),
        (
            "login page post",
            authorize_post(&authorization("web")),
            PAGE_ERROR,
        ),
    ]
}

const OAUTH_ERROR: &str = r#"{"error":"server_error","error_description":"Internal error"}"#;
/// The login page's server error is an HTML page with this sentence.
const PAGE_ERROR: &str = "Something went wrong on our side. Please try again in a moment.";

/// The dialect's server error: the exact body, or for the page its sentence.
fn assert_server_error(r: &Reply, expected: &str, what: &str) {
    assert_eq!(r.status, 500, "{what}: {}", r.text());
    if expected == PAGE_ERROR {
        assert!(r.text().contains(PAGE_ERROR), "{what}: {}", r.text());
    } else {
        assert_eq!(r.text(), expected, "{what}");
    }
    r.assert_no_store();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_fails_cleanly_and_leaves_state_intact() {
    let good = TestEnv::new().await;
    good.add_client("app", false, &GrantType::ALL, "openid")
        .await;
    good.add_client("web", false, CODE_FLOW, "openid profile")
        .await;
    let login = good.call(&event("v2-login")).await.json();
    let mut refresh = login["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let session = good.call(&event("ops-acquire")).await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();

    for (kind, endpoint) in [
        ("unreachable (closed port)", closed_port().await),
        ("hanging (accepts, never answers)", black_hole().await),
        (
            "throttling (ProvisionedThroughputExceeded)",
            throttling().await,
        ),
    ] {
        let store = store_at(&endpoint, &good).await;
        let bad = Arc::new(TestEnv::on_store(good.config.clone(), store).await);
        let tasks: Vec<_> = requests(&refresh, &session)
            .into_iter()
            .map(|(route, ev, expected)| {
                let bad = bad.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let r = bad.call(&ev).await;
                    (route, expected, started.elapsed(), r)
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            let (route, expected, took, r) = t.await.unwrap();
            assert_server_error(&r, expected, &format!("{kind} / {route}"));
            assert!(took < BOUND, "{kind} / {route} took {took:?}");
            times.push(format!("{route} {} ms", took.as_millis()));
        }
        println!("fault: {kind}: every route 500: {}", times.join(", "));

        // Nothing was half done: the token and the session work as before.
        let ev = with_body(
            event("v2-refresh"),
            &json!({ "refreshToken": refresh }).to_string(),
        );
        let r = good.call(&ev).await;
        assert_eq!(
            r.status,
            200,
            "{kind}: the refresh token survived: {}",
            r.text()
        );
        // Carry on with the newest token for the next fault.
        refresh = r.json()["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let cu = with_header(
            event("ops-currentuser"),
            "authorization",
            &format!("OpsToken {session}"),
        );
        assert_eq!(
            good.call(&cu).await.status,
            200,
            "{kind}: the session survived"
        );
    }
}

/// Forwards to DynamoDB Local, but when armed drops the answer to the next
/// request naming `target` (e.g. `UpdateItem`), after DynamoDB applied it: a
/// response lost on the network. The connection closes as the answer
/// arrives, so the SDK retries at once; waiting out its attempt timeout
/// instead made the retry race the call's 3 s budget on a loaded machine.
async fn lossy_proxy(
    upstream: String,
    armed: Arc<std::sync::Mutex<Option<&'static str>>>,
) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let upstream = upstream.clone();
            let armed = armed.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let mute = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let m = mute.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let hit = {
                            let text = String::from_utf8_lossy(&buf[..n]);
                            let mut guard = armed.lock().unwrap();
                            let hit = guard.is_some_and(|target| {
                                text.contains(&format!("DynamoDB_20120810.{target}"))
                            });
                            if hit {
                                *guard = None;
                            }
                            hit
                        };
                        if hit {
                            m.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if mute.load(std::sync::atomic::Ordering::SeqCst) {
                        // DynamoDB answered; the client never hears it.
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_response_is_retried_without_revoking_or_failing() {
    let good = TestEnv::new().await;
    let armed = Arc::new(std::sync::Mutex::new(None));
    let proxy = lossy_proxy(endpoint(), armed.clone()).await;
    let env = TestEnv::on_store(good.config.clone(), store_at(&proxy, &good).await).await;

    // A log in whose family put is applied but whose answer is lost.
    *armed.lock().unwrap() = Some("PutItem");
    let r = env.call(&event("v2-login")).await;
    assert_eq!(
        r.status,
        200,
        "the retried put finds its own family: {}",
        r.text()
    );
    assert!(armed.lock().unwrap().is_none(), "a response was dropped");
    let mut token = r.json()["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // A rotation applied, its answer lost, the SDK sends it again.
    for round in 0..2 {
        *armed.lock().unwrap() = Some("UpdateItem");
        let ev = with_body(
            event("v2-refresh"),
            &json!({ "refreshToken": token }).to_string(),
        );
        let r = env.call(&ev).await;
        assert_eq!(
            r.status,
            200,
            "round {round}: not reuse, not a 500: {}",
            r.text()
        );
        assert!(armed.lock().unwrap().is_none(), "a response was dropped");
        token = r.json()["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
    }
    // The family was not revoked: the client's next refresh works.
    let ev = with_body(
        event("v2-refresh"),
        &json!({ "refreshToken": token }).to_string(),
    );
    assert_eq!(good.call(&ev).await.status, 200);

    // An ops log in whose session put is lost works too.
    *armed.lock().unwrap() = Some("PutItem");
    let r = env.call(&event("ops-acquire")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let session = r.json()["token"].as_str().unwrap().to_string();
    let cu = with_header(
        event("ops-currentuser"),
        "authorization",
        &format!("OpsToken {session}"),
    );
    assert_eq!(good.call(&cu).await.status, 200);
}

/// The cold-start warm-up opens storage connections and touches the
/// password hash's memory; with storage down or hanging it gives up within
/// its budget and never fails.
#[tokio::test]
async fn the_warm_up_never_fails_start_up_and_is_bounded() {
    let good = TestEnv::new().await;
    let w = good.app.issuer().warm_up().await;
    assert!(w.storage_ms.is_some(), "{w:?}");
    assert!(w.argon2_ms > 0.0 && w.signing_ms.is_some(), "{w:?}");
    for (kind, endpoint) in [
        ("unreachable", closed_port().await),
        ("hanging", black_hole().await),
    ] {
        let store = store_at(&endpoint, &good).await;
        let bad = TestEnv::on_store(good.config.clone(), store).await;
        let started = Instant::now();
        let w = bad.app.issuer().warm_up().await;
        let took = started.elapsed();
        assert!(w.storage_ms.is_none(), "{kind}: {w:?}");
        assert!(w.signing_ms.is_some(), "{kind}: the rest still warms");
        assert!(took < Duration::from_millis(1_800), "{kind}: {took:?}");
        // The function then serves as it would have: a 500, not a crash.
        assert_eq!(bad.call(&event("v2-login")).await.status, 500, "{kind}");
    }
}

/// What [`proxy`] does with a request naming its target.
#[derive(Clone, Copy)]
enum OnTarget {
    /// Never sends it on: the call hangs until its caller gives up.
    Withhold,
    /// Answers it itself, as DynamoDB answers a write to a table that is not
    /// there, and closes.
    Refuse,
}

/// Forwards to DynamoDB Local, but for a request naming `target`.
async fn proxy(upstream: String, target: &'static str, on: OnTarget) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let cw = Arc::new(tokio::sync::Mutex::new(cw));
                let back = cw.clone();
                let down = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 || back.lock().await.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text.contains(&format!("DynamoDB_20120810.{target}")) {
                        match on {
                            // Held: the connection stays open, unanswered.
                            OnTarget::Withhold => std::future::pending::<()>().await,
                            OnTarget::Refuse => {
                                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;
                                let answer = format!(
                                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n\
                                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                    body.len()
                                );
                                let mut cw = cw.lock().await;
                                let _ = cw.write_all(answer.as_bytes()).await;
                                let _ = cw.shutdown().await;
                                break;
                            }
                        }
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                down.abort();
            });
        }
    });
    format!("http://{addr}")
}

/// A lock always ends (API §2): attempts counted and then cut by the route's
/// deadline (here the user's read hangs) leave the pair at its limit with no
/// lock. Past the time an attempt can be in flight, the scope is locked as
/// the last failure would have locked it, from when it was counted, so it is
/// refused no longer than that lock, not until the record expires a day later.
#[tokio::test]
async fn attempts_cut_after_their_count_never_leave_a_lock_that_does_not_end() {
    const DEADLINE: Duration = Duration::from_millis(300);
    let good = TestEnv::new().await;
    let mut config = good.config.clone();
    config.request_deadline = DEADLINE;
    let proxy = proxy(endpoint(), "GetItem", OnTarget::Withhold).await;
    let cut = TestEnv::on_store(config, store_at(&proxy, &good).await).await;
    // Ten log ins with the right password, each counted, then cut while its
    // user is read: the deadline itself answers, well before the SDK's own
    // 2 s attempt timeout would have.
    for i in 0..10 {
        let started = Instant::now();
        let r = cut.call(&event("v2-login")).await;
        let took = started.elapsed();
        assert_eq!(
            (r.status, r.text().as_str()),
            (500, V2_ERROR),
            "attempt {i}"
        );
        assert!(
            took >= DEADLINE && took < Duration::from_millis(1_500),
            "attempt {i}: {took:?}"
        );
    }
    // The pair is at its limit: refused while those attempts could still be in flight...
    let r = good.call(&event("v2-login")).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // ...and once none can be, locked as the tenth failure would have been:
    // one minute from its count, which has passed, so the right password works.
    good.clock.advance(time::Duration::seconds(61));
    let r = good.call(&event("v2-login")).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Every route, the oauth dialect's and the login page's included, answers
/// its server error when its deadline passes: here 300 ms against a
/// DynamoDB that never answers, so the answer, well before the SDK's own 2 s
/// attempt timeout, can only be the deadline's. The authorizer refuses
/// within its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_when_its_deadline_passes() {
    const DEADLINE: Duration = Duration::from_millis(300);
    const WELL_BEFORE_THE_SDK: Duration = Duration::from_millis(1_500);
    let good = TestEnv::new().await;
    good.add_client("app", false, &GrantType::ALL, "openid")
        .await;
    good.add_client("web", false, CODE_FLOW, "openid profile")
        .await;
    let login = good.call(&event("v2-login")).await.json();
    let refresh = login["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let access = login["content"][0]["token"].as_str().unwrap().to_string();
    let session = good.call(&event("ops-acquire")).await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut config = good.config.clone();
    config.request_deadline = DEADLINE;
    let hung = store_at(&black_hole().await, &good).await;
    let bad = Arc::new(TestEnv::on_store(config.clone(), hung.clone()).await);
    let tasks: Vec<_> = requests(&refresh, &session)
        .into_iter()
        .map(|(route, ev, expected)| {
            let bad = bad.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = bad.call(&ev).await;
                (route, expected, started.elapsed(), r)
            })
        })
        .collect();
    for t in tasks {
        let (route, expected, took, r) = t.await.unwrap();
        assert_server_error(&r, expected, route);
        assert!(
            took >= DEADLINE && took < WELL_BEFORE_THE_SDK,
            "{route}: {took:?}"
        );
    }
    // The authorizer: a valid token whose state cannot be read in time.
    config.issuer = Some(format!("https://{API_DOMAIN}"));
    let pem = good.key_pem.as_deref().unwrap();
    let keys = token_issuer::keys::KeySet::from_pem(pem.as_bytes()).unwrap();
    let a = token_issuer::compose::authorizer(&config, hung, keys, good.clock.clone()).unwrap();
    let mut ev: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/authorizer/bearer-valid.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    ev["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let started = Instant::now();
    let answer = a.handle(ev).await;
    let took = started.elapsed();
    assert_eq!(answer["isAuthorized"], false, "{answer}");
    assert!(
        took >= DEADLINE && took < WELL_BEFORE_THE_SDK,
        "authorizer: {took:?}"
    );
}

/// A log in's tokens are signed while its success's writes are out, and
/// answered only when every write succeeded: with the new family's write
/// refused, each password log in answers its dialect's server error, no
/// token, and the user's counts are settled (the next log in is not refused).
#[tokio::test]
async fn a_log_in_whose_family_write_fails_answers_no_token() {
    let good = TestEnv::new().await;
    let secret = good
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    // A log in's only PutItem is its new family's.
    let proxy = proxy(endpoint(), "PutItem", OnTarget::Refuse).await;
    let refused = TestEnv::on_store(good.config.clone(), store_at(&proxy, &good).await).await;
    let mut routes: Vec<_> = requests("unused", "unused")
        .into_iter()
        .filter(|(route, _, _)| ["v2 login", "user authenticate"].contains(route))
        .collect();
    routes.push((
        "oauth password grant",
        oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            Some(("app", &secret)),
        ),
        OAUTH_ERROR,
    ));
    assert_eq!(routes.len(), 3);
    for _ in 0..3 {
        for (route, ev, expected) in &routes {
            let r = refused.call(ev).await;
            assert_server_error(&r, expected, route);
        }
    }
    // Nine failed writes, yet nothing was counted against the user.
    let r = good.call(&event("v2-login")).await;
    assert_eq!(r.status, 200, "{}", r.text());
}
