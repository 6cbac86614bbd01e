//! Consent (API §14) through the real handler against DynamoDB Local: a
//! client that registered itself gets its code only after the user allows
//! it, once per scope set; `prompt=consent` asks again, `prompt=none`
//! without an allowance is `consent_required`, Deny is `access_denied`.

use crate::common::*;
use serde_json::{json, Value};
use token_issuer::core::record::client::ClientId;
use token_issuer::core::record::registration::RegistrationPolicy;
use token_issuer::core::store::{AdminStore, ConsentStore};

const COOKIE: &str = "__Host-session";

/// An environment whose clients may register, and one that did (public,
/// scopes `openid profile email`).
async fn third_party() -> (TestEnv, String) {
    let env = TestEnv::with_config(|c| c.registration.policy = RegistrationPolicy::Public).await;
    let body = json!({"client_name": "Agent Smith", "redirect_uris": [REDIRECT_URI]});
    let r = env
        .call(&with_body(event("oauth-register"), &body.to_string()))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["client_id"].as_str().unwrap().to_string();
    (env, id)
}

fn authorize(client: &str, extra: &[(&'static str, &str)], session: Option<&str>) -> Value {
    let mut pairs = authorization(client);
    for (k, v) in extra {
        pairs = set(pairs, k, Some(v));
    }
    let mut ev = authorize_get(&pairs);
    if let Some(s) = session {
        ev["cookies"] = json!([format!("{COOKIE}={s}")]);
    }
    ev
}

fn post(fields: &Params, session: Option<&str>) -> Value {
    let mut ev = authorize_post(fields);
    if let Some(s) = session {
        ev["cookies"] = json!([format!("{COOKIE}={s}")]);
    }
    ev
}

fn assert_consent_page(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_no_store();
    let html = r.text();
    assert!(html.contains("Allow Agent Smith?"), "{html}");
    assert!(
        html.contains("https://app.example.com"),
        "the redirect host: {html}"
    );
    assert!(html.contains("See your name and username"), "{html}");
    assert!(hidden_field(&html, "consent_token").is_some());
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

/// Signs in at the login page: the consent page, and the session cookie.
async fn sign_in(env: &TestEnv, client: &str) -> (Reply, String) {
    let page = env.call(&authorize(client, &[], None)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let r = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    let cookie = r.cookie(COOKIE).expect("a session");
    (r, cookie)
}

fn answer(page: &Reply, choice: &str) -> Params {
    let mut fields = hidden_fields(&page.text());
    fields.push(("consent", choice.into()));
    fields
}

async fn redeem(env: &TestEnv, client: &str, r: &Reply) -> Reply {
    let q = redirect_query(r);
    let code = query_param(&q, "code").expect("a code");
    env.call(&oauth_event(
        "oauth-token-authorization-code",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", client),
        ],
        None,
    ))
    .await
}

#[tokio::test]
async fn a_third_party_gets_its_code_once_the_user_allows_it() {
    let (env, client) = third_party().await;
    let (page, cookie) = sign_in(&env, &client).await;
    assert_consent_page(&page);
    let r = env
        .call(&post(&answer(&page, "allow"), Some(&cookie)))
        .await;
    let tokens = redeem(&env, &client, &r).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let given = env
        .store
        .get_consent(env.admin.id, &ClientId::parse(&client).unwrap())
        .await
        .unwrap()
        .expect("remembered");
    assert_eq!(given.scopes.to_string(), "openid profile");

    // Remembered: the session's next authorization gets its code at once,
    // also with prompt=none ...
    for extra in [&[][..], &[("prompt", "none")][..]] {
        let r = env.call(&authorize(&client, extra, Some(&cookie))).await;
        assert!(
            query_param(&redirect_query(&r), "code").is_some(),
            "{extra:?}"
        );
    }
    // ... but prompt=consent asks again, and so does a wider scope.
    let r = env
        .call(&authorize(&client, &[("prompt", "consent")], Some(&cookie)))
        .await;
    assert_consent_page(&r);
    let r = env
        .call(&authorize(
            &client,
            &[("scope", "openid email")],
            Some(&cookie),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("See your email address"));
    let r = env.call(&post(&answer(&r, "allow"), Some(&cookie))).await;
    assert!(query_param(&redirect_query(&r), "code").is_some());
    let given = env
        .store
        .get_consent(env.admin.id, &ClientId::parse(&client).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        given.scopes.to_string(),
        "openid profile email",
        "widened, not replaced"
    );

    // Withdrawn by an operator: asked again.
    assert!(env
        .store
        .withdraw_consent(env.admin.id, &ClientId::parse(&client).unwrap())
        .await
        .unwrap());
    let r = env
        .call(&authorize(&client, &[("prompt", "none")], Some(&cookie)))
        .await;
    assert_eq!(
        query_param(&redirect_query(&r), "error"),
        Some("consent_required")
    );
    assert_consent_page(&env.call(&authorize(&client, &[], Some(&cookie))).await);
}

#[tokio::test]
async fn deny_is_access_denied_and_a_forged_answer_changes_nothing() {
    let (env, client) = third_party().await;
    let (page, cookie) = sign_in(&env, &client).await;
    let r = env.call(&post(&answer(&page, "deny"), Some(&cookie))).await;
    let q = redirect_query(&r);
    assert_eq!(query_param(&q, "error"), Some("access_denied"));
    assert_eq!(query_param(&q, "state"), Some("af0ifjsldkj"));
    assert!(query_param(&q, "code").is_none());

    // The page's token is bound to its session and request: another
    // browser, no cookie, or an edited field gives the login page again.
    let (page, cookie) = sign_in(&env, &client).await;
    let (_, other) = sign_in(&env, &client).await;
    // An answer that is neither button's is an error page, not a choice.
    for bad in ["maybe", ""] {
        let r = env.call(&post(&answer(&page, bad), Some(&cookie))).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.header("location").is_none());
    }
    let forged = set(
        answer(&page, "allow"),
        "scope",
        Some("openid profile email"),
    );
    for (fields, session) in [
        (answer(&page, "allow"), Some(other.as_str())),
        (answer(&page, "allow"), None),
        (forged, Some(cookie.as_str())),
    ] {
        let r = env.call(&post(&fields, session)).await;
        assert!(r.header("location").is_none(), "{}", r.text());
        assert!(r.text().contains("name=\"password\""), "{}", r.text());
    }
    assert!(env
        .store
        .list_consents(env.admin.id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_operators_client_never_asks() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let page = env
        .call(&authorize("web", &[("prompt", "consent")], None))
        .await;
    let r = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    redeem_web(&env, &r, &secret).await;
}
