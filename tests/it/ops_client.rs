//! The ops vendor's own clients: the API under `/suite-api`, change password,
//! and `emailAddress`.

use crate::common::*;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a fresh and long pass phrase 2037";

fn with_token(ev: Value, token: &str) -> Value {
    with_header(ev, "authorization", &format!("OpsToken {token}"))
}

fn change(token: &str, current: &str, new: &str) -> Value {
    let ev = with_body(
        event("suite-api-passwordchange"),
        &json!({"currentPassword": current, "newPassword": new}).to_string(),
    );
    with_token(ev, token)
}

async fn acquire(env: &TestEnv, name: &str, password: &str) -> Reply {
    let body = json!({"username": "admin", "password": password});
    env.call(&login(name, body)).await
}

async fn acquired(env: &TestEnv, name: &str) -> String {
    let r = acquire(env, name, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

async fn current_user(env: &TestEnv, token: &str) -> Reply {
    env.call(&with_token(event("suite-api-currentuser"), token))
        .await
}

#[tokio::test]
async fn a_client_that_knows_only_the_suite_api_base_works_unchanged() {
    let env = TestEnv::new().await;
    // Acquire, current user, change password, current user, release.
    let token = acquired(&env, "suite-api-acquire").await;
    let me = current_user(&env, &token).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["emailAddress"], "admin@admin");
    assert_eq!(me.json()["username"], "admin");

    let r = env.call(&change(&token, PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), None);
    r.assert_no_store();
    // The session that made the change stays valid.
    assert_eq!(current_user(&env, &token).await.status, 200);
    let r = env
        .call(&with_token(event("suite-api-release"), &token))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(current_user(&env, &token).await.status, 401);
    // The old password is gone, the new one works, at both bases.
    assert_eq!(
        acquire(&env, "suite-api-acquire", PASSWORD).await.status,
        401
    );
    assert_eq!(acquire(&env, "ops-acquire", NEW_PASSWORD).await.status, 200);
    assert_eq!(
        acquire(&env, "suite-api-acquire", NEW_PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_bare_and_suite_api_paths_answer_alike() {
    let env = TestEnv::new().await;
    let bare = acquired(&env, "ops-acquire").await;
    let suite = acquired(&env, "suite-api-acquire").await;
    // A session from either base is good at both.
    for token in [&bare, &suite] {
        for name in ["ops-currentuser", "suite-api-currentuser"] {
            let r = env.call(&with_token(event(name), token)).await;
            assert_eq!(r.status, 200, "{name}");
        }
    }
    for name in ["ops-currentuser", "suite-api-currentuser"] {
        let r = env.call(&with_token(event(name), "garbage")).await;
        assert_eq!((r.status, r.body.len()), (401, 0), "{name}");
    }
    let wrong = json!({"username": "admin", "password": 5});
    for name in ["ops-acquire", "suite-api-acquire"] {
        let r = env.call(&login(name, wrong.clone())).await;
        assert_eq!(
            (r.status, r.text()),
            (
                400,
                r#"{"message":"Invalid request","httpStatusCode":400,"apiErrorCode":400}"#.into()
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn change_password_ends_every_other_session_and_family() {
    let env = TestEnv::new().await;
    let mine = acquired(&env, "ops-acquire").await;
    let other = acquired(&env, "ops-acquire").await;
    let v2 = env.call(&event("v2-login")).await.json();
    let v2_refresh = v2["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let user = env.call(&event("user-authenticate")).await.json();
    let user_refresh = user["refreshToken"].as_str().unwrap().to_string();

    let mut ev = with_token(event("ops-passwordchange"), &mine);
    ev = with_body(
        ev,
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}).to_string(),
    );
    assert_eq!(env.call(&ev).await.status, 204);

    assert_eq!(current_user(&env, &mine).await.status, 200, "kept");
    assert_eq!(current_user(&env, &other).await.status, 401, "ended");
    let refresh = |name: &str, token: &str| {
        with_body(event(name), &json!({"refreshToken": token}).to_string())
    };
    assert_eq!(
        env.call(&refresh("v2-refresh", &v2_refresh)).await.status,
        401
    );
    assert_eq!(
        env.call(&refresh("user-refresh", &user_refresh))
            .await
            .status,
        401
    );
    // New log ins after the change work, refreshes included.
    let r = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": NEW_PASSWORD}),
        ))
        .await;
    let fresh = r.json()["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.call(&refresh("v2-refresh", &fresh)).await.status, 200);
}

#[tokio::test]
async fn a_wrong_current_password_is_a_counted_failed_attempt() {
    let env = TestEnv::new().await;
    let token = acquired(&env, "ops-acquire").await;
    for i in 0..10 {
        let r = env
            .call(&change(&token, "not my password", NEW_PASSWORD))
            .await;
        assert_eq!((r.status, r.body.len()), (401, 0), "attempt {i}");
    }
    // Locked now, like a log in: the right current password is not checked.
    let r = env.call(&change(&token, PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(
        r.text(),
        r#"{"message":"Too many failed attempts","httpStatusCode":429,"apiErrorCode":429}"#
    );
    // Nothing changed; the session itself still works.
    assert_eq!(current_user(&env, &token).await.status, 200);
    env.clock.advance(time::Duration::seconds(60));
    assert_eq!(acquire(&env, "ops-acquire", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_new_password_the_rules_refuse_is_a_400_and_changes_nothing() {
    let env = TestEnv::new().await;
    let token = acquired(&env, "ops-acquire").await;
    for weak in [
        "short",
        "password1",
        "admin@admin1",
        "12345678",
        "Dragon1986!",
        "abcabcabcabc",
        "Admin-1234567",
    ] {
        let r = env.call(&change(&token, PASSWORD, weak)).await;
        assert_eq!(r.status, 400, "{weak}");
        r.assert_json();
        r.assert_no_store();
        assert_eq!(
            r.text(),
            r#"{"message":"The new password is not allowed","httpStatusCode":400,"apiErrorCode":400}"#,
            "{weak}"
        );
    }
    assert_eq!(acquire(&env, "ops-acquire", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn change_password_refuses_bad_requests_in_the_ops_shape() {
    let env = TestEnv::new().await;
    let token = acquired(&env, "ops-acquire").await;
    let invalid = r#"{"message":"Invalid request","httpStatusCode":400,"apiErrorCode":400}"#;
    let base = with_token(event("suite-api-passwordchange"), &token);
    let long = "p".repeat(1025);
    for body in [
        json!({"currentPassword": PASSWORD}).to_string(),
        json!({"currentPassword": PASSWORD, "newPassword": ""}).to_string(),
        json!({"currentPassword": PASSWORD, "newPassword": 7}).to_string(),
        json!({"currentPassword": null, "newPassword": NEW_PASSWORD}).to_string(),
        json!({"currentPassword": PASSWORD, "newPassword": long}).to_string(),
        "not json".to_string(),
        "[]".to_string(),
    ] {
        let r = env.call(&with_body(base.clone(), &body)).await;
        assert_eq!((r.status, r.text()), (400, invalid.to_string()), "{body}");
    }
    let r = env
        .call(&with_header(base.clone(), "content-type", "text/plain"))
        .await;
    assert_eq!(r.status, 400);
    // No or a dead token: an empty 401, before the body is looked at.
    for ev in [
        without_header(base.clone(), "authorization"),
        with_token(event("suite-api-passwordchange"), "garbage"),
    ] {
        let r = env.call(&ev).await;
        assert_eq!((r.status, r.body.len()), (401, 0));
    }
    // POST is not the method.
    let mut post = base.clone();
    post["requestContext"]["http"]["method"] = json!("POST");
    let r = env.call(&post).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("PUT"));
    assert_eq!(acquire(&env, "ops-acquire", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn email_address_is_left_out_when_the_user_has_none() {
    let env = TestEnv::new().await;
    env.add_user("noemail", PASSWORD, |_| {}).await;
    let r = env
        .call(&login(
            "ops-acquire",
            json!({"username": "noemail", "password": PASSWORD}),
        ))
        .await;
    let token = r.json()["token"].as_str().unwrap().to_string();
    let me = current_user(&env, &token).await.json();
    assert!(me.get("emailAddress").is_none(), "{me}");
    assert_eq!(me["username"], "noemail");
}
