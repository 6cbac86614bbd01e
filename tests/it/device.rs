//! The device authorization grant (RFC 8628, API §15) through the real
//! handler against DynamoDB Local: codes for a device, the device page
//! (the code typed, the question, the sign-in through the authorization
//! endpoint, the callback), and every answer of a poll: pending, slow
//! down, tokens once, denied, expired; wrong codes past the address's
//! limit; and a question or callback without this browser's cookie.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;
use token_issuer::core::record::client::GrantType;

pub(crate) const DEVICE_GRANTS: &[GrantType] = &[GrantType::DeviceCode, GrantType::RefreshToken];
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An event of the page dialect (the authorize events) at `path`.
pub(crate) fn page_event(
    method: &str,
    path: &str,
    query: &str,
    body: Option<&str>,
    cookie: Option<&str>,
) -> Value {
    let mut ev = match body {
        Some(b) => with_body(event("oauth-authorize-submit"), b),
        None => event("oauth-authorize"),
    };
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["rawQueryString"] = json!(query);
    ev.as_object_mut().unwrap().remove("queryStringParameters");
    match cookie {
        Some(c) => with_header(ev, "cookie", c),
        None => ev,
    }
}

pub(crate) fn at(mut ev: Value, path: &str) -> Value {
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    ev
}

fn error_of(r: &Reply) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

struct Device {
    device_code: String,
    user_code: String,
}

async fn start(env: &TestEnv, client: &str) -> Reply {
    let ev = oauth_event(
        "oauth-token-password",
        &[("client_id", client), ("scope", "openid profile")],
        None,
    );
    env.call(&at(ev, "/oauth2/device_authorization")).await
}

async fn new_device(env: &TestEnv) -> Device {
    let r = start(env, "tv").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_no_store();
    let b = r.json();
    let user_code = b["user_code"].as_str().unwrap().to_string();
    assert_eq!(
        b["verification_uri"],
        format!("https://{API_DOMAIN}/oauth2/device")
    );
    assert_eq!(
        b["verification_uri_complete"],
        format!("https://{API_DOMAIN}/oauth2/device?user_code={user_code}")
    );
    assert_eq!(
        (b["expires_in"].as_i64(), b["interval"].as_i64()),
        (Some(600), Some(5))
    );
    Device {
        device_code: b["device_code"].as_str().unwrap().to_string(),
        user_code,
    }
}

async fn poll(env: &TestEnv, device: &Device) -> Reply {
    env.call(&oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", &device.device_code),
            ("client_id", "tv"),
        ],
        None,
    ))
    .await
}

/// Types `code` on the device page from `ip`: the answer.
pub(crate) async fn type_code(env: &TestEnv, code: &str, ip: &str) -> Reply {
    let mut ev = page_event(
        "POST",
        "/oauth2/device",
        "",
        Some(&form(&[("user_code", code)])),
        None,
    );
    ev["requestContext"]["http"]["sourceIp"] = json!(ip);
    env.call(&ev).await
}

/// The question's form fields and the cookie it set.
pub(crate) fn question(r: &Reply) -> (Vec<(&'static str, String)>, String) {
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let fields = vec![
        ("device", hidden_field(&html, "device").expect("device")),
        (
            "form_token",
            hidden_field(&html, "form_token").expect("form_token"),
        ),
    ];
    let cookie = r
        .cookie("__Host-device-request")
        .expect("the request cookie");
    (fields, cookie)
}

pub(crate) async fn answer(
    env: &TestEnv,
    fields: &[(&'static str, String)],
    answer: &str,
    cookie: Option<&str>,
) -> Reply {
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("answer", answer));
    let cookie = cookie.map(|c| format!("__Host-device-request={c}"));
    env.call(&page_event(
        "POST",
        "/oauth2/device",
        "",
        Some(&form(&pairs)),
        cookie.as_deref(),
    ))
    .await
}

/// Follows the question's redirect through the authorization endpoint:
/// the login page, signed in; the callback's query.
pub(crate) async fn sign_in(env: &TestEnv, redirect: &Reply) -> String {
    sign_in_at(env, redirect, &format!("https://{API_DOMAIN}")).await
}

/// [`sign_in`] at an issuer with another URL.
pub(crate) async fn sign_in_at(env: &TestEnv, redirect: &Reply, issuer: &str) -> String {
    assert_eq!(redirect.status, 302, "{}", redirect.text());
    let location = redirect.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, format!("{issuer}/oauth2/authorize"));
    let page = env.call(&authorize_query(query)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let fields = login_form(&page, "Admin", PASSWORD);
    let r = env.call(&authorize_post(&fields)).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, format!("{issuer}/oauth2/device/callback"));
    query.to_string()
}

pub(crate) async fn callback(env: &TestEnv, query: &str, cookie: Option<&str>) -> Reply {
    let cookie = cookie.map(|c| format!("__Host-device-request={c}"));
    env.call(&page_event(
        "GET",
        "/oauth2/device/callback",
        query,
        None,
        cookie.as_deref(),
    ))
    .await
}

async fn setup() -> TestEnv {
    let env = TestEnv::new().await;
    env.add_client("tv", true, DEVICE_GRANTS, "openid profile")
        .await;
    env
}

#[tokio::test]
async fn a_device_is_approved_on_the_page_and_its_poll_gets_tokens_once() {
    let env = setup().await;
    let meta = env.call(&event("openid-configuration")).await.json();
    assert_eq!(
        meta["device_authorization_endpoint"],
        format!("https://{API_DOMAIN}/oauth2/device_authorization")
    );
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!(DEVICE_GRANT)));

    let device = new_device(&env).await;
    assert_eq!(device.user_code.len(), 9);
    // Before the user answers: pending; polling again at once: slow down.
    let r = poll(&env, &device).await;
    assert_eq!(
        (r.status, error_of(&r)),
        (400, "authorization_pending".into())
    );
    let r = poll(&env, &device).await;
    assert_eq!((r.status, error_of(&r)), (400, "slow_down".into()));

    // The page, with the code filled in from verification_uri_complete.
    let query = format!("user_code={}", device.user_code);
    let page = env
        .call(&page_event("GET", "/oauth2/device", &query, None, None))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&device.user_code));
    // Typed in lower case with spaces: the same code. The question names the app.
    let typed = device.user_code.to_lowercase().replace('-', " ");
    let q = type_code(&env, &typed, "198.51.100.1").await;
    assert!(q.text().contains("tv"), "{}", q.text());
    let (fields, cookie) = question(&q);
    // Another site's post (no cookie) asks nothing and signs nothing in.
    let r = answer(&env, &fields, "continue", None).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = answer(&env, &fields, "continue", Some(&cookie)).await;
    let back = sign_in(&env, &r).await;
    // The callback in another browser (no cookie) does nothing.
    let r = callback(&env, &back, None).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("no longer valid"));
    let r = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Device signed in"));

    // The next poll, after the interval (raised by the slow down): tokens.
    env.clock.advance(Duration::seconds(11));
    let r = poll(&env, &device).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let tokens = r.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["sub"],
        env.admin.id.to_string()
    );
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["client_id"],
        "tv"
    );
    // Once.
    let r = poll(&env, &device).await;
    assert_eq!((r.status, error_of(&r)), (400, "invalid_grant".into()));
    // The refresh token works for the device's client.
    let r = env
        .call(&oauth_event(
            "oauth-token-refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                ("client_id", "tv"),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The code is spent: typing it again finds nothing.
    let r = type_code(&env, &device.user_code, "198.51.100.1").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn denied_expired_and_other_clients_codes_are_answered_as_the_rfc_says() {
    let env = setup().await;
    // Denied on the page.
    let device = new_device(&env).await;
    let (fields, cookie) = question(&type_code(&env, &device.user_code, "198.51.100.2").await);
    let r = answer(&env, &fields, "deny", Some(&cookie)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Request denied"));
    let r = poll(&env, &device).await;
    assert_eq!((r.status, error_of(&r)), (400, "access_denied".into()));

    // Expired: the poll says so, and the page no longer knows the code.
    let device = new_device(&env).await;
    env.clock.advance(Duration::minutes(10));
    let r = poll(&env, &device).await;
    assert_eq!((r.status, error_of(&r)), (400, "expired_token".into()));
    assert_eq!(
        type_code(&env, &device.user_code, "198.51.100.2")
            .await
            .status,
        400
    );

    // Another client's device code, and a made-up one.
    env.add_client("radio", true, DEVICE_GRANTS, "openid").await;
    let device = new_device(&env).await;
    let r = env
        .call(&oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", &device.device_code),
                ("client_id", "radio"),
            ],
            None,
        ))
        .await;
    assert_eq!((r.status, error_of(&r)), (400, "invalid_grant".into()));
    let made_up = Device {
        device_code: "x".repeat(43),
        user_code: String::new(),
    };
    assert_eq!(error_of(&poll(&env, &made_up).await), "invalid_grant");

    // A client without the grant gets no codes.
    env.add_client("web", true, CODE_FLOW, "openid").await;
    let r = start(&env, "web").await;
    assert_eq!(
        (r.status, error_of(&r)),
        (400, "unauthorized_client".into())
    );
    // A device client may not use the code flow for its own redirect URI.
    let r = env.call(&authorize_get(&authorization("tv"))).await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert!(r
        .header("location")
        .unwrap()
        .contains("error=unauthorized_client"));
}

#[tokio::test]
async fn wrong_codes_from_one_address_are_limited() {
    let env = setup().await;
    let device = new_device(&env).await;
    for i in 0..10 {
        let r = type_code(&env, "BBBB-BBBB", "203.0.113.66").await;
        assert_eq!(r.status, 400, "attempt {i}: {}", r.text());
        assert!(r.text().contains("not valid"));
    }
    // The limit reached: even the right code waits.
    let r = type_code(&env, &device.user_code, "203.0.113.66").await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    // Another address is not held up.
    let r = type_code(&env, &device.user_code, "203.0.113.67").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // After the window, the first address may again.
    env.clock.advance(Duration::minutes(15));
    let device = new_device(&env).await;
    let r = type_code(&env, &device.user_code, "203.0.113.66").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Ten polls at once after the approval: one gets the tokens, the others
/// `invalid_grant`. Twenty codes typed at once from one address: exactly
/// the limit's ten are looked at, the rest wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_polls_get_the_grant_once_and_simultaneous_guesses_the_limit() {
    let env = std::sync::Arc::new(setup().await);
    let device = std::sync::Arc::new(new_device(&env).await);
    let (fields, cookie) = question(&type_code(&env, &device.user_code, "198.51.100.30").await);
    let r = answer(&env, &fields, "continue", Some(&cookie)).await;
    let back = sign_in(&env, &r).await;
    assert_eq!(callback(&env, &back, Some(&cookie)).await.status, 200);
    let polls: Vec<_> = (0..10)
        .map(|_| {
            let (env, device) = (env.clone(), device.clone());
            tokio::spawn(async move { poll(&env, &device).await })
        })
        .collect();
    let mut granted = 0;
    for p in polls {
        let r = p.await.unwrap();
        match r.status {
            200 => granted += 1,
            400 => assert_eq!(error_of(&r), "invalid_grant", "{}", r.text()),
            other => panic!("{other}: {}", r.text()),
        }
    }
    assert_eq!(granted, 1);

    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { type_code(&env, "BBBB-BBBB", "203.0.113.99").await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let looked = statuses.iter().filter(|s| **s == 400).count();
    let held = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((looked, held), (10, 10), "{statuses:?}");
}
