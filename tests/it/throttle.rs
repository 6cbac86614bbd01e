//! Brute-force throttling per username, on DynamoDB Local with
//! an injected clock.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;

fn v2(user: &str, pw: &str) -> Value {
    login("v2-login", json!({"username": user, "password": pw}))
}

async fn fail(env: &TestEnv, user: &str, times: usize) {
    for i in 0..times {
        let r = env.call(&v2(user, "wrong password")).await;
        assert_eq!(r.status, 401, "failure {} of {times} for {user}", i + 1);
    }
}

async fn locked_for(env: &TestEnv, ev: &Value) -> u64 {
    let r = env.call(ev).await;
    assert_eq!(r.status, 429, "{}", r.text());
    r.assert_no_store();
    r.header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn ten_failures_lock_even_the_right_password_out() {
    let env = TestEnv::new().await;
    fail(&env, "admin", 10).await;
    assert_eq!(locked_for(&env, &v2("admin", PASSWORD)).await, 60);
    let r = env.call(&v2("Admin", PASSWORD)).await;
    assert_eq!(
        r.text(),
        r#"{"errorCode":"AUTH_1003","errorMessage":"Too many failed attempts","content":"","pageable":""}"#
    );
    // The wait counts down.
    env.clock.advance(Duration::seconds(45));
    assert_eq!(locked_for(&env, &v2("admin", PASSWORD)).await, 15);
    // After it, the right password works and resets the count.
    env.clock.advance(Duration::seconds(15));
    assert_eq!(env.call(&v2("admin", PASSWORD)).await.status, 200);
    fail(&env, "admin", 9).await;
    assert_eq!(env.call(&v2("admin", PASSWORD)).await.status, 200);
}

#[tokio::test]
async fn every_dialect_answers_429_in_its_shape() {
    let env = TestEnv::new().await;
    fail(&env, "admin", 10).await;
    let user = login(
        "user-authenticate",
        json!({"userName": "admin", "password": PASSWORD}),
    );
    let ops = login(
        "ops-acquire",
        json!({"username": "admin", "password": PASSWORD}),
    );
    for (ev, body) in [
        (
            user,
            r#"{"responseKey":"TOO_MANY_ATTEMPTS","responseMessage":"Too many failed attempts"}"#,
        ),
        (
            ops,
            r#"{"message":"Too many failed attempts","httpStatusCode":429,"apiErrorCode":429}"#,
        ),
    ] {
        let r = env.call(&ev).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.text(), body);
        assert_eq!(r.header("retry-after"), Some("60"));
        r.assert_json();
    }
}

#[tokio::test]
async fn later_failures_double_the_wait_up_to_the_cap() {
    let env = TestEnv::new().await;
    fail(&env, "admin", 10).await;
    let mut waits = vec![locked_for(&env, &v2("admin", "x")).await];
    for _ in 0..5 {
        env.clock
            .advance(Duration::seconds(waits[waits.len() - 1] as i64));
        // One more failure after a lock relocks at once, for twice as long.
        fail(&env, "admin", 1).await;
        waits.push(locked_for(&env, &v2("admin", PASSWORD)).await);
    }
    assert_eq!(waits, [60, 120, 240, 480, 900, 900]);
    env.clock.advance(Duration::seconds(900));
    assert_eq!(
        env.call(&v2("admin", PASSWORD)).await.status,
        200,
        "success resets"
    );
    fail(&env, "admin", 9).await;
    assert_eq!(env.call(&v2("admin", "x")).await.status, 401);
}

#[tokio::test]
async fn unknown_usernames_lock_alike_so_429_reveals_nothing() {
    let env = TestEnv::new().await;
    fail(&env, "admin", 10).await;
    fail(&env, "nobody-here", 10).await;
    let known = env.call(&v2("admin", "x")).await;
    let unknown = env.call(&v2("nobody-here", "x")).await;
    assert_eq!(known.status, 429);
    assert_eq!(
        (
            unknown.status,
            unknown.text(),
            unknown.header("retry-after")
        ),
        (known.status, known.text(), known.header("retry-after"))
    );
    // Other usernames are not affected.
    env.add_user("other", PASSWORD, |_| {}).await;
    assert_eq!(env.call(&v2("other", PASSWORD)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_all_count() {
    let env = Arc::new(TestEnv::new().await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { env.call(&v2("admin", "wrong password")).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    assert_eq!(locked_for(&env, &v2("admin", PASSWORD)).await, 60);
}

#[tokio::test]
async fn failures_are_forgotten_after_a_day_and_expire_by_ttl() {
    let env = TestEnv::new().await;
    fail(&env, "admin", 9).await;
    let items = env.token_items().await;
    let record = items
        .iter()
        .find(|i| i["pk"].as_s().unwrap().starts_with("TH#"))
        .expect("a throttle record");
    assert!(record.contains_key("ttl"));
    assert!(
        !format!("{record:?}").contains("admin"),
        "keys carry no username"
    );
    // A day later the nine failures no longer count, although TTL has not run.
    env.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    fail(&env, "admin", 9).await;
    assert_eq!(env.call(&v2("admin", PASSWORD)).await.status, 200);
}

#[tokio::test]
async fn the_threshold_and_waits_are_configurable() {
    let env = TestEnv::with_config(|c| {
        c.lockout_threshold = 3;
        c.lockout_initial = std::time::Duration::from_secs(5);
        c.lockout_max = std::time::Duration::from_secs(8);
    })
    .await;
    fail(&env, "admin", 3).await;
    assert_eq!(locked_for(&env, &v2("admin", PASSWORD)).await, 5);
    env.clock.advance(Duration::seconds(5));
    fail(&env, "admin", 1).await;
    assert_eq!(locked_for(&env, &v2("admin", PASSWORD)).await, 8);
}
