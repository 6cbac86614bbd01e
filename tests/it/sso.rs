//! Browser sessions and single sign-on (API §12) through the real handler
//! against DynamoDB Local, on the manual clock: the session a page sign-in
//! starts, a second app's code without the page, `prompt`, `max_age`,
//! `id_token_hint`, idle and absolute expiry, and the ends a disable, a
//! password change and `revoke-tokens` bring.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;
use token_issuer::admin::{user_command, Telling, UserCommand, UsernameArgs};
use token_issuer::core::store::{AdminStore as _, BrowserSessionStore as _};

const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const COOKIE: &str = "__Host-session";
const NEW_PASSWORD: &str = "a quite different passphrase";

/// Two web apps of the same user's, A and B, each with its secret.
struct Apps {
    env: TestEnv,
    a: String,
    b: String,
}

impl std::ops::Deref for Apps {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

async fn apps() -> Apps {
    let env = TestEnv::new().await;
    let a = env
        .add_client("app-a", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let b = env
        .add_client("app-b", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    Apps { env, a, b }
}

/// `GET /oauth2/authorize` for `client` with `extra` parameters, carrying
/// the session cookie `session` as API Gateway passes cookies.
fn authorize(client: &str, extra: &[(&'static str, &str)], session: Option<&str>) -> Value {
    let mut pairs = authorization(client);
    for (k, v) in extra {
        pairs = set(pairs, k, Some(v));
    }
    let mut ev = authorize_get(&pairs);
    if let Some(s) = session {
        ev["cookies"] = json!(["theme=dark", format!("{COOKIE}={s}")]);
    }
    ev
}

/// The login page, not a redirect.
fn assert_login_page(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("name=\"password\""), "{}", r.text());
}

/// The error a redirect carries.
fn redirect_error(r: &Reply) -> String {
    let q = redirect_query(r);
    assert!(query_param(&q, "code").is_none(), "{q:?}");
    assert_eq!(query_param(&q, "state"), Some("af0ifjsldkj"));
    query_param(&q, "error").expect("an error").to_string()
}

impl Apps {
    /// Signs in at `client`'s login page: the code and the session cookie.
    async fn sign_in(&self, client: &str, user: &str, password: &str) -> (String, String) {
        let page = self.call(&authorize(client, &[], None)).await;
        assert_login_page(&page);
        let r = self
            .call(&authorize_post(&login_form(&page, user, password)))
            .await;
        let q = redirect_query(&r);
        let set = r
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with(&format!("{COOKIE}=")))
            .expect("a session cookie");
        for attribute in [
            "Secure",
            "HttpOnly",
            "Path=/",
            "SameSite=Lax",
            "Max-Age=36000",
        ] {
            assert!(set.contains(attribute), "{attribute}: {set}");
        }
        assert!(!set.to_lowercase().contains("domain="), "{set}");
        let value = set[COOKIE.len() + 1..]
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(value.len() >= 43, "256 bits: {value}");
        (query_param(&q, "code").unwrap().to_string(), value)
    }

    /// A code from the session alone, without the page.
    async fn silent_code(
        &self,
        client: &str,
        extra: &[(&'static str, &str)],
        session: &str,
    ) -> String {
        let r = self.call(&authorize(client, extra, Some(session))).await;
        let q = redirect_query(&r);
        assert_eq!(query_param(&q, "state"), Some("af0ifjsldkj"));
        assert_eq!(query_param(&q, "iss"), Some(ISSUER));
        // Nothing new is set: the session stays the one cookie.
        assert!(r.header("set-cookie").is_none(), "{r:?}");
        query_param(&q, "code").expect("a code").to_string()
    }

    async fn redeem(&self, client: &str, code: &str) -> Value {
        let secret = if client == "app-a" { &self.a } else { &self.b };
        let r = self
            .call(&oauth_event(
                "oauth-token-authorization-code",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ],
                Some((client, secret)),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

#[tokio::test]
async fn a_second_app_gets_its_code_without_the_page_and_the_tokens_name_the_session() {
    let apps = apps().await;
    let (code_a, session) = apps.sign_in("app-a", "Admin", PASSWORD).await;
    let tokens_a = apps.redeem("app-a", &code_a).await;
    apps.advance(Duration::minutes(5));
    let code_b = apps.silent_code("app-b", &[], &session).await;
    let tokens_b = apps.redeem("app-b", &code_b).await;

    let id_a = jwt_claims(tokens_a["id_token"].as_str().unwrap());
    let id_b = jwt_claims(tokens_b["id_token"].as_str().unwrap());
    // One session: one sid, the sign-in's time and method for both apps.
    let sid = id_a["sid"].as_str().expect("a sid").to_string();
    assert_eq!(id_b["sid"], sid);
    assert_eq!(id_a["auth_time"], START.unix_timestamp());
    assert_eq!(id_b["auth_time"], START.unix_timestamp());
    assert_eq!(id_a["amr"], json!(["pwd"]));
    assert_eq!(id_b["amr"], json!(["pwd"]));
    assert_eq!(id_b["aud"], "app-b");
    assert_eq!(id_b["nonce"], "n-0S6_WzA2Mj");
    // The sid is no secret of the cookie's.
    assert!(!session.contains(&sid) && sid.len() >= 22);
    for tokens in [&tokens_a, &tokens_b] {
        let access =
            verify_access_token(&apps, tokens["access_token"].as_str().unwrap(), ISSUER).await;
        assert_eq!(access["sid"], sid);
        assert_ne!(access["fid"], Value::Null, "the family, for revocation");
    }
    // Each app's tokens live on: introspection and refresh still work.
    let r = apps
        .call(&oauth_event(
            "oauth-token-refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens_b["refresh_token"].as_str().unwrap()),
            ],
            Some(("app-b", &apps.b)),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let refreshed = jwt_claims(r.json()["id_token"].as_str().unwrap());
    assert_eq!(refreshed["sid"], sid);
    assert_eq!(refreshed["auth_time"], START.unix_timestamp());
    let r = apps
        .call(&oauth_event(
            "oauth-introspect",
            &[("token", tokens_a["access_token"].as_str().unwrap())],
            Some(("app-a", &apps.a)),
        ))
        .await;
    assert_eq!(r.json()["active"], true, "{}", r.text());

    // The session knows both apps; the admin tool lists it.
    let sessions = apps
        .store
        .user_browser_sessions(apps.admin.id)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, sid);
    let mut clients: Vec<&str> = sessions[0].clients.iter().map(|c| c.as_str()).collect();
    clients.sort();
    assert_eq!(clients, ["app-a", "app-b"]);
    // Only the hash of the cookie is stored.
    assert!(!format!("{:?}", apps.token_items().await).contains(&session));
}

#[tokio::test]
async fn prompt_none_answers_from_the_session_or_with_login_required() {
    let apps = apps().await;
    // No cookie, an unknown one, a malformed one: no session.
    for cookie in [None, Some("x".repeat(43)), Some("%%%".to_string())] {
        let r = apps
            .call(&authorize(
                "app-a",
                &[("prompt", "none")],
                cookie.as_deref(),
            ))
            .await;
        assert_eq!(redirect_error(&r), "login_required");
    }
    let (_, session) = apps.sign_in("app-a", "admin", PASSWORD).await;
    let code = apps
        .silent_code("app-b", &[("prompt", "none")], &session)
        .await;
    apps.redeem("app-b", &code).await;
    // `none` with another value is malformed, with or without a session.
    let r = apps
        .call(&authorize(
            "app-b",
            &[("prompt", "none login")],
            Some(&session),
        ))
        .await;
    assert_eq!(redirect_error(&r), "invalid_request");
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_for_the_password_again() {
    let apps = apps().await;
    let (_, session) = apps.sign_in("app-a", "admin", PASSWORD).await;
    let r = apps
        .call(&authorize("app-b", &[("prompt", "login")], Some(&session)))
        .await;
    assert_login_page(&r);
    apps.advance(Duration::seconds(120));
    let r = apps
        .call(&authorize("app-b", &[("max_age", "60")], Some(&session)))
        .await;
    assert_login_page(&r);
    let r = apps
        .call(&authorize(
            "app-b",
            &[("max_age", "60"), ("prompt", "none")],
            Some(&session),
        ))
        .await;
    assert_eq!(redirect_error(&r), "login_required");
    // A sign-in recent enough passes.
    apps.silent_code("app-b", &[("max_age", "600")], &session)
        .await;
    for bad in ["-1", "1.5", "soon"] {
        let r = apps
            .call(&authorize("app-b", &[("max_age", bad)], Some(&session)))
            .await;
        assert_eq!(redirect_error(&r), "invalid_request", "max_age={bad}");
    }
    // Signing in again at the page gives the new sign-in's time.
    let page = apps
        .call(&authorize("app-b", &[("prompt", "login")], Some(&session)))
        .await;
    let r = apps
        .call(&authorize_post(&login_form(&page, "admin", PASSWORD)))
        .await;
    let code = query_param(&redirect_query(&r), "code")
        .unwrap()
        .to_string();
    let id = jwt_claims(
        apps.redeem("app-b", &code).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        id["auth_time"],
        (START + Duration::seconds(120)).unix_timestamp()
    );
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_asks_for_sign_in() {
    let apps = apps().await;
    apps.add_user("bob", PASSWORD, |_| {}).await;
    let (code, bob_session) = apps.sign_in("app-a", "bob", PASSWORD).await;
    let bob_id_token = apps.redeem("app-a", &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, admin_session) = apps.sign_in("app-a", "admin", PASSWORD).await;
    let admin_tokens = apps.redeem("app-a", &code).await;
    // Bob's hint in the admin's browser.
    let r = apps
        .call(&authorize(
            "app-b",
            &[("prompt", "none"), ("id_token_hint", &bob_id_token)],
            Some(&admin_session),
        ))
        .await;
    assert_eq!(redirect_error(&r), "login_required");
    let r = apps
        .call(&authorize(
            "app-b",
            &[("id_token_hint", &bob_id_token)],
            Some(&admin_session),
        ))
        .await;
    assert_login_page(&r);
    // His own browser, even once the hint has expired.
    apps.advance(Duration::hours(2));
    let r = apps
        .call(&authorize(
            "app-b",
            &[("id_token_hint", &bob_id_token)],
            Some(&bob_session),
        ))
        .await;
    // Bob's session idled out meanwhile: the page.
    assert_login_page(&r);
    let (_, bob_session) = apps.sign_in("app-a", "bob", PASSWORD).await;
    apps.silent_code(
        "app-b",
        &[("prompt", "none"), ("id_token_hint", &bob_id_token)],
        &bob_session,
    )
    .await;
    // Not an ID token of this issuer's: an access token, a forged one.
    let access = admin_tokens["access_token"].as_str().unwrap();
    let mut parts: Vec<&str> = bob_id_token.split('.').collect();
    let forged_claims = {
        use base64::Engine as _;
        let mut claims = jwt_claims(&bob_id_token);
        claims["sub"] = json!(apps.admin.id.to_string());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    };
    parts[1] = &forged_claims;
    let forged = parts.join(".");
    for hint in [access, forged.as_str(), "not-a-token"] {
        let r = apps
            .call(&authorize(
                "app-b",
                &[("id_token_hint", hint)],
                Some(&bob_session),
            ))
            .await;
        assert_eq!(redirect_error(&r), "invalid_request", "{hint}");
    }
}

#[tokio::test]
async fn a_session_ends_when_idle_and_at_its_absolute_limit() {
    let apps = apps().await;
    let (_, session) = apps.sign_in("app-a", "admin", PASSWORD).await;
    // Used every 25 minutes, it lives on past its first idle limit.
    for _ in 0..3 {
        apps.advance(Duration::minutes(25));
        apps.silent_code("app-b", &[("prompt", "none")], &session)
            .await;
    }
    // Idle for 30 minutes: over.
    apps.advance(Duration::minutes(30));
    let r = apps
        .call(&authorize("app-b", &[("prompt", "none")], Some(&session)))
        .await;
    assert_eq!(redirect_error(&r), "login_required");

    // However often it is used, it ends 10 hours after the sign-in.
    let (_, session) = apps.sign_in("app-a", "admin", PASSWORD).await;
    let signed_in = apps.app.issuer().now();
    while apps.app.issuer().now() + Duration::minutes(20) < signed_in + Duration::hours(10) {
        apps.advance(Duration::minutes(20));
        apps.silent_code("app-b", &[("prompt", "none")], &session)
            .await;
    }
    apps.advance(Duration::minutes(20));
    let r = apps
        .call(&authorize("app-b", &[("prompt", "none")], Some(&session)))
        .await;
    assert_eq!(redirect_error(&r), "login_required");
}

/// The `sid` of a token response's ID token.
fn sid_of(tokens: &Value) -> String {
    jwt_claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

impl Apps {
    /// The sessions whose logout tokens app B heard next, `n` of them, and
    /// then no more.
    async fn b_heard(
        &self,
        heard: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
        n: usize,
    ) -> std::collections::BTreeSet<String> {
        let mut sids = std::collections::BTreeSet::new();
        for _ in 0..n {
            let (_, claims) = self.heard_logout_token(heard, "app-b", ISSUER).await;
            assert_eq!(claims["sub"], self.admin.id.to_string());
            sids.insert(claims["sid"].as_str().unwrap().to_string());
        }
        let more = tokio::time::timeout(std::time::Duration::from_millis(300), heard.recv()).await;
        assert!(more.is_err(), "one logout token per session: {more:?}");
        sids
    }

    /// `token-admin user <cmd> --username admin`, telling apps as the
    /// function would.
    async fn admin_command(&self, cmd: fn(UsernameArgs) -> UserCommand) {
        let telling = Telling::Apps {
            issuer_url: ISSUER.into(),
            signer: self.app.issuer().signer_handle(),
            channel: std::sync::Arc::new(token_issuer::notify::HttpBackChannel::new()),
        };
        let args = UsernameArgs {
            username: "admin".into(),
            password_stdin: false,
        };
        let now = self.app.issuer().now();
        user_command(&self.store, &telling, cmd(args), now)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_a_disable_revoke_tokens_and_a_delete_end_every_session_and_tell_its_apps(
) {
    let apps = apps().await;
    let (uri, mut heard) = backchannel_receiver(Some(200)).await;
    apps.register_logout("app-b", Some(&uri)).await;
    let ended = |label: &'static str, session: String| {
        let apps = &apps;
        async move {
            let r = apps
                .call(&authorize("app-b", &[("prompt", "none")], Some(&session)))
                .await;
            assert_eq!(redirect_error(&r), "login_required", "{label}");
        }
    };
    // Two browsers of the admin's, each signed in to both apps: the ops
    // dialect's password change ends both, and app B hears of each.
    let (one, _, b_one) = apps.both_signed_in().await;
    let (two, _, b_two) = apps.both_signed_in().await;
    let ops = apps
        .call(&login(
            "ops-acquire",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json();
    let change = with_header(
        with_body(
            event("ops-passwordchange"),
            &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}).to_string(),
        ),
        "authorization",
        &format!("OpsToken {}", ops["token"].as_str().unwrap()),
    );
    assert_eq!(apps.call(&change).await.status, 204);
    ended("password change", one).await;
    ended("password change", two).await;
    assert_eq!(
        apps.b_heard(&mut heard, 2).await,
        [sid_of(&b_one), sid_of(&b_two)].into()
    );

    // token-admin's disable, revoke-tokens: each ends the session and
    // tells app B.
    let (session, _, b) = apps.both_signed_in_with(NEW_PASSWORD).await;
    apps.admin_command(UserCommand::Disable).await;
    apps.set_admin_enabled(true).await;
    ended("disable", session).await;
    assert_eq!(apps.b_heard(&mut heard, 1).await, [sid_of(&b)].into());

    let (session, _, b) = apps.both_signed_in_with(NEW_PASSWORD).await;
    apps.admin_command(UserCommand::RevokeTokens).await;
    ended("revoke-tokens", session).await;
    assert_eq!(apps.b_heard(&mut heard, 1).await, [sid_of(&b)].into());
    // A session begun after the change is not touched by it.
    let (spared, _, spared_b) = apps.both_signed_in_with(NEW_PASSWORD).await;
    assert!(apps.session_lives(&spared).await);

    // Every one of the user's ended sessions shows so.
    let sessions = apps
        .store
        .user_browser_sessions(apps.admin.id)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 5);
    let (live, ended_ones): (Vec<_>, Vec<_>) = sessions.iter().partition(|s| s.ended_at.is_none());
    assert_eq!(ended_ones.len(), 4);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, sid_of(&spared_b));

    // Deleting the user ends the last one.
    apps.admin_command(UserCommand::Delete).await;
    ended("delete", spared).await;
    assert_eq!(
        apps.b_heard(&mut heard, 1).await,
        [sid_of(&spared_b)].into()
    );
}

#[tokio::test]
async fn the_metadata_names_the_prompt_values_and_session_claims() {
    let env = TestEnv::new().await;
    let doc = env.call(&event("openid-configuration")).await.json();
    assert_eq!(doc["prompt_values_supported"], json!(["none", "login"]));
    let claims = doc["claims_supported"].as_array().unwrap();
    for c in ["sid", "amr", "auth_time"] {
        assert!(claims.contains(&json!(c)), "{c}");
    }
}

// ---- log out (RP-initiated and back-channel) -------------------------------

const SIGNED_OUT: &str = "https://app.example.com/signed-out";

/// `GET /oauth2/logout?pairs` from the browser holding `session`.
fn logout_get(pairs: &[(&'static str, &str)], session: Option<&str>) -> Value {
    let mut ev = authorize_query(&form(pairs));
    ev["rawPath"] = json!("/oauth2/logout");
    ev["requestContext"]["http"]["path"] = json!("/oauth2/logout");
    if let Some(s) = session {
        ev["cookies"] = json!([format!("{COOKIE}={s}")]);
    }
    ev
}

/// `POST /oauth2/logout` with the form `pairs`.
fn logout_post(pairs: &[(&'static str, String)], session: Option<&str>) -> Value {
    let mut ev = with_body(event("oauth-authorize-submit"), &form(&borrowed(pairs)));
    ev["rawPath"] = json!("/oauth2/logout");
    ev["requestContext"]["http"]["path"] = json!("/oauth2/logout");
    if let Some(s) = session {
        ev["cookies"] = json!([format!("{COOKIE}={s}")]);
    }
    ev
}

/// The session cookie cleared, with the attributes it was set with.
fn assert_cleared(r: &Reply) {
    let set = r.header("set-cookie").expect("the cookie cleared");
    assert_eq!(
        set,
        "__Host-session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    );
}

/// A page with the rules of the login page, and no redirect.
fn assert_logout_page(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    r.assert_no_store();
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let csp = r.header("content-security-policy").expect("a CSP");
    assert!(csp.starts_with("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(r.header("location").is_none());
    let html = r.text();
    assert!(!html.contains("<script"), "no JavaScript");
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "no external resource: {external}");
    }
}

impl Apps {
    /// Registers where each app hears of log outs.
    async fn register_logout(&self, client: &str, backchannel: Option<&str>) {
        use token_issuer::core::record::client::{ClientId, LogoutUris};
        let logout = LogoutUris::parse(&[SIGNED_OUT.to_string()], backchannel).unwrap();
        assert!(self
            .store
            .set_client_logout(&ClientId::parse(client).unwrap(), &logout)
            .await
            .unwrap());
    }

    /// Both apps signed in through one session: (session, A's tokens, B's tokens).
    async fn both_signed_in(&self) -> (String, Value, Value) {
        self.both_signed_in_with(PASSWORD).await
    }

    async fn both_signed_in_with(&self, password: &str) -> (String, Value, Value) {
        let (code, session) = self.sign_in("app-a", "admin", password).await;
        let a = self.redeem("app-a", &code).await;
        let code = self.silent_code("app-b", &[], &session).await;
        let b = self.redeem("app-b", &code).await;
        (session, a, b)
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .call(&oauth_event(
                "oauth-introspect",
                &[("token", token)],
                Some(("app-a", &self.a)),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    async fn refresh_status(&self, client: &str, tokens: &Value) -> u16 {
        let secret = if client == "app-a" { &self.a } else { &self.b };
        self.call(&oauth_event(
            "oauth-token-refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
            Some((client, secret)),
        ))
        .await
        .status
    }

    /// Whether `session` still gives a code without the page.
    async fn session_lives(&self, session: &str) -> bool {
        let r = self
            .call(&authorize("app-b", &[("prompt", "none")], Some(session)))
            .await;
        query_param(&redirect_query(&r), "code").is_some()
    }
}

#[tokio::test]
async fn logout_with_the_sessions_id_token_ends_it_and_every_family_issued_in_it() {
    let apps = apps().await;
    apps.register_logout("app-a", None).await;
    let (session, a, b) = apps.both_signed_in().await;
    let hint = a["id_token"].as_str().unwrap();
    let r = apps
        .call(&logout_get(
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "bye 1"),
            ],
            Some(&session),
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(&*format!("{SIGNED_OUT}?state=bye%201"))
    );
    r.assert_no_store();
    assert_cleared(&r);
    // Both apps' tokens end: the session's families are revoked.
    for tokens in [&a, &b] {
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(apps.introspect(access).await["active"], false);
    }
    assert_eq!(apps.refresh_status("app-a", &a).await, 400);
    assert_eq!(apps.refresh_status("app-b", &b).await, 400);
    assert!(!apps.session_lives(&session).await);
    // Again: nothing left to end, the same way back.
    let r = apps
        .call(&logout_get(
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
            Some(&session),
        ))
        .await;
    assert_eq!(r.header("location"), Some(SIGNED_OUT));
    // Without a redirect URI: the signed-out page.
    let r = apps.call(&logout_get(&[], None)).await;
    assert_logout_page(&r);
    assert!(r.text().contains("Signed out"), "{}", r.text());
}

#[tokio::test]
async fn logout_without_a_hint_of_this_session_asks_first_and_ends_nothing_until_confirmed() {
    let apps = apps().await;
    apps.register_logout("app-a", None).await;
    let (session, a, _) = apps.both_signed_in().await;
    // Another user's ID token, from another browser: not this session's.
    apps.add_user("bob", PASSWORD, |_| {}).await;
    let (code, _) = apps.sign_in("app-a", "bob", PASSWORD).await;
    let bobs = apps.redeem("app-a", &code).await;
    for pairs in [
        vec![
            ("client_id", "app-a"),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ],
        vec![("id_token_hint", bobs["id_token"].as_str().unwrap())],
    ] {
        let r = apps.call(&logout_get(&pairs, Some(&session))).await;
        assert_logout_page(&r);
        assert!(r.text().contains("Sign out?"), "{}", r.text());
        assert!(r.header("set-cookie").is_none());
        assert!(apps.session_lives(&session).await, "nothing ended");
    }
    let page = apps
        .call(&logout_get(
            &[
                ("client_id", "app-a"),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "s"),
            ],
            Some(&session),
        ))
        .await;
    let html = page.text();
    let fields: Vec<(&'static str, String)> = [
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "form_token",
    ]
    .into_iter()
    .filter_map(|k| hidden_field(&html, k).map(|v| (k, v)))
    .collect();
    assert_eq!(fields.len(), 4, "{html}");
    // CSRF: a post without the token, with a forged one, or with a token
    // made for another browser's session ends nothing.
    let mut confirm = fields.clone();
    confirm.push(("confirm", "yes".into()));
    let without: Vec<_> = confirm
        .iter()
        .filter(|(k, _)| *k != "form_token")
        .cloned()
        .collect();
    let forged = set(
        confirm.clone(),
        "form_token",
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    for (what, pairs, cookie) in [
        ("no token", &without, Some(session.as_str())),
        ("a forged token", &forged, Some(session.as_str())),
        (
            "another browser",
            &confirm,
            Some("another-browsers-cookie-value-aaaaaaaaaaaaaaaa"),
        ),
    ] {
        let r = apps.call(&logout_post(pairs, cookie)).await;
        assert!(r.status == 200 || r.status == 302, "{what}: {}", r.text());
        assert!(apps.session_lives(&session).await, "{what}: nothing ended");
    }
    // The user's own confirmation ends it.
    let r = apps.call(&logout_post(&confirm, Some(&session))).await;
    assert_eq!(
        r.header("location"),
        Some(&*format!("{SIGNED_OUT}?state=s")),
        "{}",
        r.text()
    );
    assert_cleared(&r);
    assert!(!apps.session_lives(&session).await);
    let access = a["access_token"].as_str().unwrap();
    assert_eq!(apps.introspect(access).await["active"], false);
}

#[tokio::test]
async fn a_logout_never_redirects_where_the_app_did_not_register() {
    let apps = apps().await;
    apps.register_logout("app-a", None).await;
    let (session, a, b) = apps.both_signed_in().await;
    let hint_a = a["id_token"].as_str().unwrap();
    let hint_b = b["id_token"].as_str().unwrap();
    let evil = "https://evil.example/steal";
    for (what, pairs) in [
        (
            "an unregistered URI",
            vec![
                ("id_token_hint", hint_a),
                ("post_logout_redirect_uri", evil),
            ],
        ),
        (
            "a URI without a client",
            vec![("post_logout_redirect_uri", SIGNED_OUT)],
        ),
        (
            "app B's hint and app A's id",
            vec![("id_token_hint", hint_b), ("client_id", "app-a")],
        ),
        (
            "app B, which registered none",
            vec![
                ("client_id", "app-b"),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "an unknown client",
            vec![
                ("client_id", "nobody"),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "a forged hint",
            vec![
                ("id_token_hint", "eyJhbGciOiJub25lIn0.e30."),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "a repeated parameter",
            vec![("client_id", "app-a"), ("client_id", "app-a")],
        ),
    ] {
        let r = apps.call(&logout_get(&pairs, Some(&session))).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.header("location").is_none(), "{what}");
        assert!(r.header("set-cookie").is_none(), "{what}");
        assert!(apps.session_lives(&session).await, "{what}: nothing ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_app_of_the_session_gets_a_logout_token_and_a_hanging_one_delays_nobody() {
    let apps = apps().await;
    let (uri_a, mut heard_a) = backchannel_receiver(Some(200)).await;
    let (uri_b, mut heard_b) = backchannel_receiver(None).await;
    apps.register_logout("app-a", Some(&uri_a)).await;
    apps.register_logout("app-b", Some(&uri_b)).await;
    let (session, a, _) = apps.both_signed_in().await;
    let sid = jwt_claims(a["id_token"].as_str().unwrap())["sid"].clone();
    let started = std::time::Instant::now();
    let r = apps
        .call(&logout_get(
            &[("id_token_hint", a["id_token"].as_str().unwrap())],
            Some(&session),
        ))
        .await;
    let took = started.elapsed();
    assert_logout_page(&r);
    assert_cleared(&r);
    // B never answers; the user waits for it at most its 2-second bound.
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");

    for (client, heard) in [("app-a", &mut heard_a), ("app-b", &mut heard_b)] {
        let (token, claims) = apps.heard_logout_token(heard, client, ISSUER).await;
        assert_eq!(claims["sub"], apps.admin.id.to_string());
        assert_eq!(claims["sid"], sid);
        // Never accepted as an access token.
        let r = apps
            .call(&oauth_event(
                "oauth-introspect",
                &[("token", &token)],
                Some(("app-a", &apps.a)),
            ))
            .await;
        assert_eq!(r.json()["active"], false);
    }
}

#[tokio::test]
async fn signing_in_again_stays_in_the_session_and_another_user_ends_it() {
    let apps = apps().await;
    apps.add_client("app-c", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let (session, a, b) = apps.both_signed_in().await;
    let sid = jwt_claims(a["id_token"].as_str().unwrap())["sid"].clone();
    // App A asks for the password again: the same session, a new auth_time.
    apps.advance(Duration::minutes(3));
    let page = apps
        .call(&authorize("app-a", &[("prompt", "login")], Some(&session)))
        .await;
    assert_login_page(&page);
    let mut post = authorize_post(&login_form(&page, "admin", PASSWORD));
    post["cookies"] = json!([format!("{COOKIE}={session}")]);
    let r = apps.call(&post).await;
    let code = query_param(&redirect_query(&r), "code")
        .unwrap()
        .to_string();
    let again = apps.redeem("app-a", &code).await;
    let id = jwt_claims(again["id_token"].as_str().unwrap());
    assert_eq!(id["sid"], sid, "the same session");
    assert_eq!(
        id["auth_time"],
        (START + Duration::minutes(3)).unix_timestamp()
    );
    // The cookie stays the same value, so the browser keeps one session.
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{COOKIE}=")))
        .unwrap()
        .to_string();
    assert!(set.starts_with(&format!("{COOKIE}={session};")), "{set}");
    // One log out ends the tokens of both sign-ins.
    let r = apps
        .call(&logout_get(
            &[("id_token_hint", again["id_token"].as_str().unwrap())],
            Some(&session),
        ))
        .await;
    assert_logout_page(&r);
    for tokens in [&a, &b, &again] {
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(apps.introspect(access).await["active"], false);
    }

    // Another user signing in in this browser ends the first user's session.
    apps.add_user("bob", PASSWORD, |_| {}).await;
    let (_, admins) = apps.sign_in("app-a", "admin", PASSWORD).await;
    let code = apps.silent_code("app-b", &[], &admins).await;
    let admin_b = apps.redeem("app-b", &code).await;
    let page = apps.call(&authorize("app-c", &[], None)).await;
    let mut post = authorize_post(&login_form(&page, "bob", PASSWORD));
    post["cookies"] = json!([format!("{COOKIE}={admins}")]);
    let r = apps.call(&post).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let access = admin_b["access_token"].as_str().unwrap();
    assert_eq!(apps.introspect(access).await["active"], false);
    assert!(!apps.session_lives(&admins).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logouts_and_silent_authorizations_at_once_end_the_session_once_and_leave_no_token_alive() {
    let apps = apps().await;
    let (uri, mut heard) = backchannel_receiver(Some(200)).await;
    apps.register_logout("app-b", Some(&uri)).await;
    let (session, a, b) = apps.both_signed_in().await;
    let hint = a["id_token"].as_str().unwrap();
    // Sixteen silent authorizations in the session, one every 2 ms, and
    // four log outs of it at once a little after the first: some codes
    // come before the end, some while it happens, the rest after.
    let logout = logout_get(&[("id_token_hint", hint)], Some(&session));
    let silent = authorize("app-b", &[("prompt", "none")], Some(&session));
    let after = |ms: u64| tokio::time::sleep(std::time::Duration::from_millis(ms));
    let env = &apps;
    let (logouts, silents) = tokio::join!(
        futures_util::future::join_all((0..4).map(|_| async {
            after(LOGOUT_AT_MS).await;
            env.call(&logout).await
        })),
        futures_util::future::join_all((0..16).map(|i| {
            let silent = &silent;
            async move {
                after(2 * i).await;
                env.call(silent).await
            }
        })),
    );
    for r in &logouts {
        assert_logout_page(r);
        assert_cleared(r);
    }
    // A code given out in the race dies with the session: its tokens are
    // refused, or never issued.
    let mut codes = 0;
    for r in &silents {
        let q = redirect_query(r);
        let Some(code) = query_param(&q, "code") else {
            assert_eq!(query_param(&q, "error"), Some("login_required"), "{q:?}");
            continue;
        };
        codes += 1;
        let r = apps
            .call(&oauth_event(
                "oauth-token-authorization-code",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ],
                Some(("app-b", &apps.b)),
            ))
            .await;
        if r.status == 200 {
            let tokens = r.json();
            let access = tokens["access_token"].as_str().unwrap();
            assert_eq!(apps.introspect(access).await["active"], false);
            assert_ne!(apps.refresh_status("app-b", &tokens).await, 200);
        } else {
            assert_eq!(r.status, 400, "{}", r.text());
        }
    }
    assert!(!apps.session_lives(&session).await);
    assert_ne!(apps.refresh_status("app-b", &b).await, 200);
    // One end, so one logout token for B, however many asked.
    assert_eq!(apps.b_heard(&mut heard, 1).await, [sid_of(&b)].into());
    eprintln!("codes given out in the race: {codes} of 16");
}

/// When the log outs start, against the silent authorizations' 0 to 30 ms.
const LOGOUT_AT_MS: u64 = 10;
