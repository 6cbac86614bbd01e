//! Lockout per username and source address with a per-username ceiling
//!: attempts counted before their password is checked, so
//! simultaneous attempts get no more checks than the limit; an attacker's
//! address locks itself, not the user; operators can unlock.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;
use token_issuer::admin::{user_command, Telling, UserCommand, UsernameArgs};
use token_issuer::core::record::throttle::AttemptLimit;
use token_issuer::core::store::{Reservation, ThrottleStore as _};

const VICTIM_IP: &str = "203.0.113.10";
const ATTACKER_IP: &str = "198.51.100.7";

fn v2_from(ip: &str, user: &str, pw: &str) -> Value {
    let mut ev = login("v2-login", json!({"username": user, "password": pw}));
    ev["requestContext"]["http"]["sourceIp"] = json!(ip);
    ev
}

async fn status(env: &TestEnv, ev: &Value) -> u16 {
    env.call(ev).await.status
}

/// Sends `n` wrong passwords at once through the handler (at most 50 in
/// flight); returns the count of 401s (password checks), of 429s (every one
/// carrying `Retry-After`) and of server errors, which must be the dialect's.
async fn simultaneous(env: &Arc<TestEnv>, n: usize, user: &str) -> (usize, usize, usize) {
    let events = (0..n)
        .map(|_| v2_from(ATTACKER_IP, user, "wrong password"))
        .collect();
    let (mut checked, mut refused, mut failed) = (0, 0, 0);
    for r in at_once(env, events, 50).await {
        match r.status {
            401 => checked += 1,
            429 => {
                let wait: u64 = r
                    .header("retry-after")
                    .expect("Retry-After")
                    .parse()
                    .unwrap();
                assert!(wait >= 1, "{wait}");
                refused += 1;
            }
            500 => {
                assert_eq!(
                    r.text(),
                    r#"{"errorCode":"GEN_1002","errorMessage":"Internal error","content":"","pageable":""}"#
                );
                failed += 1;
            }
            other => panic!("{other}: {}", r.text()),
        }
    }
    (checked, refused, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_attempts_get_no_more_checks_than_the_limit() {
    let env = Arc::new(TestEnv::new().await);
    for user in ["admin", "nobody-at-all"] {
        let (checked, refused, failed) = simultaneous(&env, 50, user).await;
        println!("lockout: 50 simultaneous wrong passwords for {user}: {checked} checked (401), {refused} refused (429)");
        assert!(checked <= 10, "{user}: {checked} password checks");
        assert_eq!((checked + refused, failed), (50, 0));
        // Locked now: the right password is refused unchecked, from that address.
        let r = env.call(&v2_from(ATTACKER_IP, user, PASSWORD)).await;
        assert_eq!(r.status, 429, "{user}: {}", r.text());
    }
}

#[tokio::test]
async fn an_attackers_address_is_locked_not_the_user() {
    let env = TestEnv::new().await;
    for _ in 0..10 {
        assert_eq!(
            status(&env, &v2_from(ATTACKER_IP, "admin", "wrong password")).await,
            401
        );
    }
    let r = env.call(&v2_from(ATTACKER_IP, "admin", PASSWORD)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("60"));
    // The user, from their own address, is not locked out.
    assert_eq!(
        status(&env, &v2_from(VICTIM_IP, "Admin", PASSWORD)).await,
        200
    );
    // Nor does their success lift the attacker's lock.
    assert_eq!(
        status(&env, &v2_from(ATTACKER_IP, "admin", PASSWORD)).await,
        429
    );
}

#[tokio::test]
async fn the_source_address_comes_from_the_request_context_not_a_header() {
    let env = TestEnv::new().await;
    for i in 0..10 {
        // A forged X-Forwarded-For per attempt changes nothing.
        let ev = with_header(
            v2_from(ATTACKER_IP, "admin", "wrong password"),
            "x-forwarded-for",
            &format!("192.0.2.{i}"),
        );
        assert_eq!(status(&env, &ev).await, 401);
    }
    let ev = with_header(
        v2_from(ATTACKER_IP, "admin", PASSWORD),
        "x-forwarded-for",
        "192.0.2.200",
    );
    assert_eq!(status(&env, &ev).await, 429);
    // REST API events carry the address in requestContext.identity.
    let mut rest = with_body(
        event("v2-login-rest-v1"),
        &json!({"username": "admin", "password": PASSWORD}).to_string(),
    );
    rest["requestContext"]["identity"]["sourceIp"] = json!(ATTACKER_IP);
    assert_eq!(status(&env, &rest).await, 429);
    rest["requestContext"]["identity"]["sourceIp"] = json!(VICTIM_IP);
    assert_eq!(status(&env, &rest).await, 200);
}

#[tokio::test]
async fn failures_from_many_addresses_lock_the_username_at_the_ceiling() {
    let env = TestEnv::new().await;
    // 100 failures from 20 addresses, 5 each: no pair reaches its 10.
    for i in 0..100 {
        let ip = format!("198.51.100.{}", i % 20);
        assert_eq!(
            status(&env, &v2_from(&ip, "admin", "wrong password")).await,
            401,
            "failure {i}"
        );
    }
    // The username is locked for everyone, from any address.
    let r = env.call(&v2_from(VICTIM_IP, "admin", PASSWORD)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("60"));
    env.clock.advance(Duration::seconds(60));
    assert_eq!(
        status(&env, &v2_from(VICTIM_IP, "admin", PASSWORD)).await,
        200
    );
}

#[tokio::test]
async fn username_locks_double_up_to_the_cap() {
    let env = TestEnv::with_config(|c| c.lockout_user_threshold = 4).await;
    let mut waits = Vec::new();
    for round in 0..6 {
        for i in 0..4 {
            let ip = format!("198.51.100.{}", round * 4 + i);
            assert_eq!(
                status(&env, &v2_from(&ip, "admin", "wrong password")).await,
                401
            );
        }
        let r = env.call(&v2_from(VICTIM_IP, "admin", PASSWORD)).await;
        assert_eq!(r.status, 429);
        let wait: i64 = r.header("retry-after").unwrap().parse().unwrap();
        waits.push(wait);
        env.clock.advance(Duration::seconds(wait));
    }
    // The ceiling is needed again each time, and the wait doubles to the cap.
    assert_eq!(waits, [60, 120, 240, 480, 900, 900]);
    assert_eq!(
        status(&env, &v2_from(VICTIM_IP, "admin", PASSWORD)).await,
        200
    );
}

#[tokio::test]
async fn a_success_never_clears_failures_counted_meanwhile() {
    let env = TestEnv::new().await;
    let now = env.app.issuer().now();
    let later = now + Duration::days(1);
    let limit = AttemptLimit {
        first: 10,
        later: 1,
    };
    let reserve = || env.store.reserve_attempt("k", "k", limit, now, later);
    // A success counted first; two more attempts counted while it was checked.
    let Reservation::Counted(mine) = reserve().await.unwrap() else {
        panic!("counted")
    };
    assert_eq!(mine.failures, 1);
    for _ in 0..2 {
        assert!(matches!(reserve().await.unwrap(), Reservation::Counted(_)));
    }
    env.store.clear_after_success("k", &mine).await.unwrap();
    // Only the success's own count was taken back.
    let Reservation::Counted(after) = reserve().await.unwrap() else {
        panic!("counted")
    };
    assert_eq!(after.failures, 3, "two kept, plus this one");
    // With nothing counted meanwhile, a success clears the record.
    env.store.clear_after_success("k", &after).await.unwrap();
    let Reservation::Counted(fresh) = reserve().await.unwrap() else {
        panic!("counted")
    };
    assert_eq!(fresh.failures, 1, "nothing was counted meanwhile: cleared");
}

fn args(username: &str) -> UsernameArgs {
    UsernameArgs {
        username: username.into(),
        password_stdin: false,
    }
}

#[tokio::test]
async fn the_admin_tool_lifts_every_lock_of_a_username() {
    let env = TestEnv::with_config(|c| c.lockout_user_threshold = 20).await;
    // Lock two addresses' pairs and the username itself.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..10 {
            assert_eq!(
                status(&env, &v2_from(ip, "admin", "wrong password")).await,
                401
            );
        }
    }
    assert_eq!(
        status(&env, &v2_from(VICTIM_IP, "admin", PASSWORD)).await,
        429
    );
    // Another username's lock is not touched.
    env.add_user("other", PASSWORD, |_| {}).await;
    for _ in 0..10 {
        status(&env, &v2_from(ATTACKER_IP, "other", "wrong password")).await;
    }
    let now = env.app.issuer().now();
    user_command(
        &env.store,
        &Telling::Nobody("ISSUER"),
        UserCommand::Show(args("Admin")),
        now,
    )
    .await
    .unwrap();
    user_command(
        &env.store,
        &Telling::Nobody("ISSUER"),
        UserCommand::Unlock(args("Admin")),
        now,
    )
    .await
    .unwrap();
    for ip in ["198.51.100.1", "198.51.100.2", VICTIM_IP] {
        assert_eq!(
            status(&env, &v2_from(ip, "admin", PASSWORD)).await,
            200,
            "{ip}"
        );
    }
    assert_eq!(
        status(&env, &v2_from(ATTACKER_IP, "other", PASSWORD)).await,
        429
    );
}

/// 200 at once, 50 in flight (more starve DynamoDB Local on this machine,
/// whose conditional updates of one item queue past the SDK's 2 s attempt
/// timeout): no password check beyond the limit, no server error, and the
/// lock holds for the right password after.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_hundred_simultaneous_attempts() {
    let env = Arc::new(TestEnv::new().await);
    let (checked, refused, failed) = simultaneous(&env, 200, "admin").await;
    assert_eq!((checked + refused, failed), (200, 0));
    assert!(checked <= 10, "{checked} password checks");
    assert_eq!(
        status(&env, &v2_from(ATTACKER_IP, "admin", PASSWORD)).await,
        429
    );
}

/// One address sprays one wrong password over 150 usernames at once (API
/// §2): its budget (100 failures in 15 minutes) gets exactly that many
/// password checks; the rest, and then every log in from it, the right
/// password included, are refused unchecked until the window passes. The
/// same users log in from their own addresses meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn one_address_spraying_many_usernames_gets_its_budget_of_checks() {
    let env = Arc::new(TestEnv::new().await);
    let events = (0..150)
        .map(|i| v2_from(ATTACKER_IP, &format!("user-{i}"), "Summer2037!"))
        .collect();
    let (mut checked, mut refused) = (0, 0);
    for r in at_once(&env, events, IN_FLIGHT).await {
        match r.status {
            401 => checked += 1,
            429 => {
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=900).contains(&wait), "{wait}");
                refused += 1;
            }
            other => panic!("{other}: {}", r.text()),
        }
    }
    assert_eq!((checked, refused), (100, 50), "the budget, exactly");
    // Spent: the right password from that address is refused unchecked...
    let r = env.call(&v2_from(ATTACKER_IP, "admin", PASSWORD)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    // ...while the user logs in from elsewhere, and no username is locked.
    assert_eq!(
        status(&env, &v2_from(VICTIM_IP, "admin", PASSWORD)).await,
        200
    );
    // The window passes.
    env.clock.advance(Duration::minutes(15));
    assert_eq!(
        status(&env, &v2_from(ATTACKER_IP, "admin", PASSWORD)).await,
        200
    );
    // A success from the address takes back only its own attempt.
    for i in 0..3 {
        let ev = v2_from(ATTACKER_IP, &format!("user-{i}"), "wrong");
        assert_eq!(status(&env, &ev).await, 401);
    }
    assert_eq!(
        status(&env, &v2_from(ATTACKER_IP, "admin", PASSWORD)).await,
        200
    );
}

/// Sends `events` through the handler all at once, at most `in_flight` in
/// flight: on this 2-core machine more at once starve DynamoDB Local (of CPU
/// where each is an Argon2id check, or of its one item's lock) until the
/// SDK's 2 s attempt timeout fires, which says nothing of the issuer. In AWS
/// each runs in its own instance.
async fn at_once(env: &Arc<TestEnv>, events: Vec<Value>, in_flight: usize) -> Vec<Reply> {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let tasks: Vec<_> = events
        .into_iter()
        .map(|ev| {
            let (env, gate) = (env.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                env.call(&ev).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

const IN_FLIGHT: usize = 10;

const BROWSER_IP: &str = "192.0.2.44";

/// The login page's post from `ip`, with the device cookie `device`.
fn page_post(form: &Params, ip: &str, device: Option<&str>) -> Value {
    let mut ev = authorize_post(form);
    ev["requestContext"]["http"]["sourceIp"] = json!(ip);
    if let Some(d) = device {
        // API Gateway (payload 2.0) hands cookies over in their own array.
        ev["cookies"] = json!([format!("theme=dark"), format!("__Host-device={d}")]);
    }
    ev
}

/// Signs in at the page from `ip`; the response.
async fn page_sign_in(env: &TestEnv, ip: &str, password: &str, device: Option<&str>) -> Reply {
    let page = env.call(&authorize_get(&authorization("web"))).await;
    assert_eq!(page.status, 200, "{}", page.text());
    env.call(&page_post(
        &login_form(&page, "admin", password),
        ip,
        device,
    ))
    .await
}

/// The device cookie a successful sign-in set.
fn device_cookie(r: &Reply) -> String {
    assert_eq!(r.status, 302, "{}", r.text());
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("__Host-device="))
        .expect("a device cookie");
    for attribute in [
        "Secure",
        "HttpOnly",
        "Path=/",
        "SameSite=Strict",
        "Max-Age=2592000",
    ] {
        assert!(set.contains(attribute), "{attribute}: {set}");
    }
    assert!(!set.to_lowercase().contains("domain="), "{set}");
    set["__Host-device=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// 120 addresses fail once each against one username (API §2): the
/// username is locked for everyone at its ceiling, but a browser that
/// signed in as that user at the login page still signs in; a forged, a
/// foreign or no cookie does not pass, nor do other dialects.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn many_addresses_lock_a_username_but_not_its_known_browser() {
    let env = Arc::new(TestEnv::new().await);
    env.add_client("web", false, CODE_FLOW, "openid profile")
        .await;
    env.add_user("other", PASSWORD, |_| {}).await;
    let device = device_cookie(&page_sign_in(&env, BROWSER_IP, PASSWORD, None).await);
    let events = (0..120)
        .map(|i| {
            v2_from(
                &format!("198.18.{}.{}", i / 200, i % 200 + 1),
                "admin",
                "wrong",
            )
        })
        .collect();
    let statuses: Vec<u16> = at_once(&env, events, IN_FLIGHT)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 100, "the username's ceiling: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // Locked for everyone: a new address, the API, the page without a cookie.
    assert_eq!(
        status(&env, &v2_from("192.0.2.99", "admin", PASSWORD)).await,
        429
    );
    let r = page_sign_in(&env, BROWSER_IP, PASSWORD, None).await;
    assert_eq!(r.status, 429, "{}", r.text());
    // A tampered cookie, or one made for another username, does not pass.
    let mut tampered = device.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = page_sign_in(&env, BROWSER_IP, PASSWORD, Some(&tampered)).await;
    assert_eq!(r.status, 429, "tampered");
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let foreign = env
        .call(&page_post(
            &login_form(&page, "other", PASSWORD),
            BROWSER_IP,
            None,
        ))
        .await;
    let foreign = device_cookie(&foreign);
    let r = page_sign_in(&env, BROWSER_IP, PASSWORD, Some(&foreign)).await;
    assert_eq!(r.status, 429, "another username's cookie");
    // The known browser signs in, and is known again for 30 days.
    let r = page_sign_in(&env, BROWSER_IP, PASSWORD, Some(&device)).await;
    let renewed = device_cookie(&r);
    // Its wrong passwords still count for its own address: the pair locks it.
    for _ in 0..10 {
        let r = page_sign_in(&env, BROWSER_IP, "wrong", Some(&renewed)).await;
        assert_eq!(r.status, 200, "the page again: {}", r.status);
    }
    let r = page_sign_in(&env, BROWSER_IP, PASSWORD, Some(&renewed)).await;
    assert_eq!(
        r.status, 429,
        "the pair's lock refuses even a known browser"
    );
    // A cookie older than 30 days is no longer known (the locks have passed
    // by then, so this looks at the cookie alone through the username's
    // lock started afresh from many addresses).
    env.clock.advance(Duration::days(31));
    for i in 0..100 {
        let ev = v2_from(
            &format!("198.19.{}.{}", i / 200, i % 200 + 1),
            "admin",
            "wrong",
        );
        assert_eq!(status(&env, &ev).await, 401);
    }
    let r = page_sign_in(&env, "192.0.2.45", PASSWORD, Some(&renewed)).await;
    assert_eq!(r.status, 429, "an expired cookie");
}

/// Every way to log in settles a success's counts together with its own
/// writes: with a limit of 3, two failures, a success, two more failures
/// and a success all pass from one address, because the first success
/// cleared the pair's and the username's counts; a third failure in a row
/// then locks as before. Through the real handler, per dialect.
#[tokio::test]
async fn a_success_clears_the_counts_in_every_dialect() {
    use token_issuer::core::record::client::GrantType;
    let env = TestEnv::with_config(|c| c.lockout_threshold = 3).await;
    let secret = env
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    let attempt = |dialect: &str, password: &str| -> Value {
        let mut ev = match dialect {
            "v2" => login(
                "v2-login",
                json!({"username": "admin", "password": password}),
            ),
            "user" => login(
                "user-authenticate",
                json!({"userName": "admin", "password": password}),
            ),
            "ops" => login(
                "ops-acquire",
                json!({"username": "admin", "password": password, "authSource": "local"}),
            ),
            _ => oauth_event(
                "oauth-token-password",
                &[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", password),
                ],
                Some(("app", &secret)),
            ),
        };
        ev["requestContext"]["http"]["sourceIp"] = json!(VICTIM_IP);
        ev
    };
    // The oauth dialect answers a lock as `invalid_grant` (400), the others 429.
    let locked = |r: &Reply| {
        r.status == 429 || (r.status == 400 && r.text().contains("Too many failed attempts"))
    };
    for dialect in ["v2", "user", "ops", "oauth"] {
        for round in 0..2 {
            for _ in 0..2 {
                let r = env.call(&attempt(dialect, "wrong password")).await;
                assert!(
                    matches!(r.status, 400 | 401) && !locked(&r),
                    "{dialect} round {round}: a failure, not a lock: {} {}",
                    r.status,
                    r.text()
                );
            }
            let r = env.call(&attempt(dialect, PASSWORD)).await;
            assert_eq!(r.status, 200, "{dialect} round {round}: {}", r.text());
        }
        for _ in 0..3 {
            env.call(&attempt(dialect, "wrong password")).await;
        }
        let r = env.call(&attempt(dialect, PASSWORD)).await;
        assert!(
            locked(&r),
            "{dialect}: locked after three in a row: {}",
            r.text()
        );
        // The next dialect starts from no lock.
        let now = env.app.issuer().now();
        user_command(
            &env.store,
            &Telling::Nobody("ISSUER"),
            UserCommand::Unlock(args("admin")),
            now,
        )
        .await
        .unwrap();
    }
}
