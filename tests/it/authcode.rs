//! The authorization code flow with PKCE (API §11) through the real handler
//! against DynamoDB Local: the login page, every validation and error path,
//! the code's binding, expiry and single use, CSRF, lockout through the page.

use crate::common::*;
use serde_json::json;
use std::sync::Arc;
use time::Duration;
use token_issuer::core::record::client::GrantType;

const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

struct Flow {
    env: TestEnv,
    secret: String,
}

impl std::ops::Deref for Flow {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

async fn setup() -> Flow {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, CODE_FLOW, "openid profile email")
        .await
        .unwrap();
    Flow { env, secret }
}

/// The shared well-behaved request, with a state that needs escaping in HTML
/// and in a URL.
fn request(client: &str) -> Params {
    set(authorization(client), "state", Some("st-123 &x"))
}

fn assert_page(r: &Reply) {
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    r.assert_no_store();
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let csp = r.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(r.header("location").is_none());
}

impl Flow {
    async fn page(&self, pairs: &[(&'static str, String)]) -> Reply {
        self.call(&authorize_get(pairs)).await
    }

    /// Shows the page for `pairs`, then posts its form with these credentials.
    async fn sign_in(&self, pairs: &[(&'static str, String)], user: &str, password: &str) -> Reply {
        let page = self.page(pairs).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let mut fields = hidden_fields(&page.text());
        fields.push(("username", user.into()));
        fields.push(("password", password.into()));
        self.call(&authorize_post(&fields)).await
    }

    async fn code(&self) -> String {
        let r = self.sign_in(&request("web"), "Admin", PASSWORD).await;
        let q = redirect_query(&r);
        query_param(&q, "code").expect("a code").to_string()
    }

    async fn redeem(
        &self,
        client: (&str, &str),
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Reply {
        self.call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
            Some(client),
        ))
        .await
    }

    async fn refresh(&self, token: &str) -> Reply {
        self.call(&oauth_event(
            "oauth-token-refresh",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            Some(("web", &self.secret)),
        ))
        .await
    }
}

/// Refresh families and codes stored: one of each per sign-in.
async fn signed_in(env: &TestEnv) -> usize {
    env.token_items()
        .await
        .iter()
        .filter(|i| {
            i.get("pk")
                .and_then(|p| p.as_s().ok())
                .is_some_and(|p| p.starts_with("RF#") || p.starts_with("AC#"))
        })
        .count()
}

#[tokio::test]
async fn the_page_signs_in_and_the_code_gives_tokens_once() {
    let env = setup().await;
    let page = env.page(&request("web")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_page(&page);
    let csp = page.header("content-security-policy").unwrap();
    // The redirect after the post is a form action too, for the browser.
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    let html = page.text();
    assert!(html.contains("<label for=\"username\">"));
    assert!(html.contains("<label for=\"password\">"));
    assert!(html.contains("method=\"post\""));
    // One script, the passkey ceremony's (API §13), allowed by its hash;
    // the password form is a plain form that needs none.
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!html.contains(" onclick") && !html.contains("javascript:"));
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "no external resource: {external}");
    }
    // The state is escaped, never raw HTML.
    assert!(html.contains("value=\"st-123 &amp;x\""));

    let mut fields = hidden_fields(&html);
    fields.push(("username", "admin".into()));
    fields.push(("password", PASSWORD.into()));
    let r = env.call(&authorize_post(&fields)).await;
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let q = redirect_query(&r);
    assert_eq!(query_param(&q, "state"), Some("st-123 &x"));
    assert_eq!(query_param(&q, "iss"), Some(ISSUER));
    let code = query_param(&q, "code").unwrap().to_string();
    assert!(code.len() >= 43, "at least 256 bits: {code}");
    // Only the hash is stored.
    let items = format!("{:?}", env.token_items().await);
    assert!(!items.contains(&code));

    let r = env
        .redeem(("web", &env.secret), &code, REDIRECT_URI, VERIFIER)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_no_store();
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile");
    let access = verify_access_token(&env, body["access_token"].as_str().unwrap(), ISSUER).await;
    assert_eq!(access["client_id"], "web");
    assert_eq!(access["sub"], env.admin.id.to_string());
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["aud"], "web");
    assert_eq!(id["iss"], ISSUER);
    assert_eq!(id["auth_time"], START.unix_timestamp());
    let refresh = body["refresh_token"].as_str().unwrap().to_string();

    // Another client presenting the used code (leaked to it) is refused and
    // ends nothing: only the code's own client proves a replay.
    let other = env
        .add_client("other", false, CODE_FLOW, "openid")
        .await
        .unwrap();
    let r = env
        .redeem(("other", &other), &code, REDIRECT_URI, VERIFIER)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = env.refresh(&refresh).await;
    assert_eq!(r.status, 200, "the family lives: {}", r.text());
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_string();

    // A second presentation fails and revokes what the first one issued.
    let again = env
        .redeem(("web", &env.secret), &code, REDIRECT_URI, VERIFIER)
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    let r = env.refresh(&refresh).await;
    assert_eq!(r.status, 400, "the family is revoked: {}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let env = setup().await;
    let base = request("web");
    let cases = [
        (
            "unknown client",
            set(base.clone(), "client_id", Some("nobody")),
        ),
        ("no client", set(base.clone(), "client_id", None)),
        (
            "unregistered redirect",
            set(
                base.clone(),
                "redirect_uri",
                Some("https://evil.example/cb"),
            ),
        ),
        (
            "redirect prefix",
            set(
                base.clone(),
                "redirect_uri",
                Some("https://app.example.com/callback/x"),
            ),
        ),
        ("no redirect", set(base.clone(), "redirect_uri", None)),
        ("repeated client", {
            let mut p = base.clone();
            p.push(("client_id", "web".into()));
            p
        }),
        ("repeated redirect", {
            let mut p = base.clone();
            p.push(("redirect_uri", "https://evil.example/cb".into()));
            p
        }),
    ];
    for (case, pairs) in cases {
        for r in [
            env.page(&pairs).await,
            env.call(&authorize_post(&pairs)).await,
        ] {
            assert_eq!(r.status, 400, "{case}: {}", r.text());
            assert_page(&r);
            assert!(r.text().contains("Sign-in problem"), "{case}");
        }
    }
    // A disabled client is unknown here too.
    use token_issuer::core::store::AdminStore as _;
    let id = token_issuer::core::record::client::ClientId::parse("web").unwrap();
    assert_eq!(env.page(&request("web")).await.status, 200);
    assert!(env.store.set_client_enabled(&id, false).await.unwrap());
    let r = env.page(&request("web")).await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let env = setup().await;
    env.add_client("no-code", false, &[GrantType::Password], "openid")
        .await;
    let base = request("web");
    let cases = [
        (set(base.clone(), "code_challenge", None), "invalid_request"),
        (
            set(base.clone(), "code_challenge_method", None),
            "invalid_request",
        ),
        (
            set(base.clone(), "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            set(base.clone(), "code_challenge", Some("short")),
            "invalid_request",
        ),
        (set(base.clone(), "response_type", None), "invalid_request"),
        (
            set(base.clone(), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            set(base.clone(), "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            set(base.clone(), "scope", Some("openid admin")),
            "invalid_scope",
        ),
        (set(base.clone(), "prompt", Some("none")), "login_required"),
        (
            set(base.clone(), "request", Some("eyJ...")),
            "request_not_supported",
        ),
        (
            set(request("no-code"), "scope", Some("openid")),
            "unauthorized_client",
        ),
        (
            {
                let mut p = base.clone();
                p.push(("scope", "openid".into()));
                p
            },
            "invalid_request",
        ),
    ];
    for (pairs, error) in cases {
        let r = env.page(&pairs).await;
        let q = redirect_query(&r);
        assert_eq!(query_param(&q, "error"), Some(error), "{pairs:?}");
        assert!(query_param(&q, "error_description").is_some());
        assert_eq!(query_param(&q, "state"), Some("st-123 &x"), "{pairs:?}");
        assert_eq!(query_param(&q, "iss"), Some(ISSUER));
        assert!(query_param(&q, "code").is_none());
    }
    // Nothing was signed in or stored.
    assert_eq!(signed_in(&env).await, 0);
}

#[tokio::test]
async fn a_code_works_only_with_its_verifier_redirect_uri_and_client_in_time() {
    let env = setup().await;
    let other_secret = env
        .add_client("other", false, CODE_FLOW, "openid profile email")
        .await
        .unwrap();
    env.add_client("spa", true, CODE_FLOW, "openid profile")
        .await;
    let code = env.code().await;
    let web = ("web", env.secret.as_str());
    let refused = |r: Reply| {
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"], "invalid_grant");
    };
    let wrong_verifier = "x".repeat(43);
    refused(env.redeem(web, &code, REDIRECT_URI, &wrong_verifier).await);
    refused(env.redeem(web, &code, REDIRECT_URI, "too-short").await);
    refused(
        env.redeem(web, &code, "https://app.example.com/other", VERIFIER)
            .await,
    );
    refused(
        env.redeem(("other", &other_secret), &code, REDIRECT_URI, VERIFIER)
            .await,
    );
    refused(env.redeem(web, "not-a-code", REDIRECT_URI, VERIFIER).await);
    let r = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
            Some(web),
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request", "no code_verifier");
    // None of those used the code up: the right request still works.
    let r = env.redeem(web, &code, REDIRECT_URI, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Sixty seconds, then never.
    let late = env.code().await;
    env.clock.advance(Duration::seconds(61));
    refused(env.redeem(web, &late, REDIRECT_URI, VERIFIER).await);

    // A public client sends its client_id alone.
    let r = env.sign_in(&request("spa"), "Admin", PASSWORD).await;
    let q = redirect_query(&r);
    let code = query_param(&q, "code").unwrap();
    let r = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_simultaneous_redemptions_give_at_most_one_grant_and_revoke_it() {
    let env = Arc::new(setup().await);
    let code = env.code().await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let env = env.clone();
            let code = code.clone();
            tokio::spawn(async move {
                env.redeem(("web", &env.secret), &code, REDIRECT_URI, VERIFIER)
                    .await
            })
        })
        .collect();
    let mut granted = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => granted.push(r.json()),
            400 => assert_eq!(r.json()["error"], "invalid_grant"),
            other => panic!("{other}: {}", r.text()),
        }
    }
    // One redemption at most uses the code; the others are replays, and a
    // replay revokes the family, so whatever was granted no longer works.
    assert!(granted.len() <= 1, "{granted:?}");
    for g in &granted {
        let r = env.refresh(g["refresh_token"].as_str().unwrap()).await;
        assert_eq!(r.status, 400, "the replays revoked it: {}", r.text());
    }
    let families = env
        .token_items()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|p| p.starts_with("RF#")))
        .collect::<Vec<_>>();
    assert_eq!(families.len(), 1);
    assert!(families[0].contains_key("revoked_at"), "{families:?}");
}

#[tokio::test]
async fn the_form_token_binds_the_post_to_its_request_and_expires() {
    let env = setup().await;
    let page = env.page(&request("web")).await;
    let fields = hidden_fields(&page.text());
    let post = |fields: Vec<(&'static str, String)>| {
        let mut f = fields;
        f.push(("username", "Admin".into()));
        f.push(("password", PASSWORD.into()));
        authorize_post(&f)
    };
    let expired_message = "This sign-in page has expired";
    // Missing.
    let r = env
        .call(&post(set(fields.clone(), "form_token", None)))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_page(&r);
    assert!(r.text().contains(expired_message));
    // From another request (another state), or tampered with.
    let other = env.page(&set(request("web"), "state", Some("other"))).await;
    let other_token = hidden_fields(&other.text())
        .into_iter()
        .find(|(k, _)| *k == "form_token")
        .unwrap()
        .1;
    for token in [other_token.as_str(), "AAAA", "not base64!"] {
        let r = env
            .call(&post(set(fields.clone(), "form_token", Some(token))))
            .await;
        assert_eq!(r.status, 400, "{token}");
        assert!(r.text().contains(expired_message));
    }
    // The same token with another request's state.
    let r = env
        .call(&post(set(fields.clone(), "state", Some("other"))))
        .await;
    assert_eq!(r.status, 400);
    // None of them checked the password or signed in.
    assert_eq!(signed_in(&env).await, 0);
    // Expired: fifteen minutes.
    env.clock.advance(Duration::minutes(16));
    let r = env.call(&post(fields.clone())).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains(expired_message));
    // The re-rendered page's fresh token works.
    let fresh = hidden_fields(&r.text());
    let r = env.call(&post(fresh)).await;
    assert_eq!(r.status, 302, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn thirty_simultaneous_wrong_passwords_through_the_page_get_at_most_ten_checks() {
    let env = Arc::new(setup().await);
    // One page, posted thirty times at once, as a script would.
    let page = env.page(&request("web")).await;
    let mut fields = hidden_fields(&page.text());
    fields.push(("username", "Admin".into()));
    fields.push(("password", "wrong password".into()));
    let post = authorize_post(&fields);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let env = env.clone();
            let post = post.clone();
            tokio::spawn(async move { env.call(&post).await })
        })
        .collect();
    let (mut checked, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            // A password was checked: the page again, with the generic message.
            200 => {
                assert!(r.text().contains("Incorrect username or password."));
                checked += 1;
            }
            429 => {
                assert!(r.header("retry-after").is_some());
                assert!(r.text().contains("Too many failed sign-in attempts"));
                refused += 1;
            }
            other => panic!("{other}: {}", r.text()),
        }
    }
    // The pair's threshold is 10: counted before checking, never more checks.
    assert!(checked <= 10, "{checked} password checks");
    assert_eq!(checked + refused, 30);
    // And the right password is refused unchecked while locked.
    let r = env.sign_in(&request("web"), "Admin", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(signed_in(&env).await, 0);
}

#[tokio::test]
async fn wrong_passwords_show_one_message_and_lock_out_through_the_page() {
    let env = setup().await;
    let generic = "Incorrect username or password.";
    let wrong = env
        .sign_in(&request("web"), "Admin", "wrong password")
        .await;
    assert_eq!(wrong.status, 200);
    assert_page(&wrong);
    let unknown = env
        .sign_in(&request("web"), "nobody", "wrong password")
        .await;
    assert_eq!(unknown.status, 200);
    // The same page for an unknown user as for a wrong password.
    let strip = |html: String, name: &str| html.replace(&format!("value=\"{name}\""), "value=\"\"");
    // The form's token and the passkey challenge differ on every page.
    let token_free = |html: String| {
        let token = hidden_field(&html, "form_token").unwrap();
        let challenge = hidden_field(&html, "passkey_token").unwrap();
        html.replace(token.as_str(), "")
            .replace(challenge.as_str(), "")
    };
    assert_eq!(
        token_free(strip(wrong.text(), "Admin")),
        token_free(strip(unknown.text(), "nobody"))
    );
    assert!(wrong.text().contains(generic));
    // The username is kept, the password never echoed.
    assert!(wrong.text().contains("value=\"Admin\""));
    assert!(!wrong.text().contains("wrong password"));
    // Missing password: asked again, nothing checked.
    let page = env.page(&request("web")).await;
    let mut fields = hidden_fields(&page.text());
    fields.push(("username", "Admin".into()));
    let r = env.call(&authorize_post(&fields)).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Enter your username and password."));

    // The pair threshold is 10: the first was above, nine more lock it.
    for _ in 0..9 {
        let r = env
            .sign_in(&request("web"), "Admin", "wrong password")
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = env.sign_in(&request("web"), "Admin", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_page(&r);
    assert!(r.header("retry-after").is_some());
    assert!(r.text().contains("Too many failed sign-in attempts"));
}

#[tokio::test]
async fn the_page_works_under_a_stage_and_the_metadata_names_it() {
    let env = setup().await;
    let mut ev = authorize_get(&request("web"));
    ev["rawPath"] = json!("/prod/oauth2/authorize");
    ev["requestContext"]["http"]["path"] = json!("/prod/oauth2/authorize");
    ev["requestContext"]["stage"] = json!("prod");
    let r = env.call(&ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Relative, so it posts to /prod/oauth2/authorize.
    assert!(r.text().contains("action=\"authorize\""));

    let meta = env.call(&event("oauth-authorization-server")).await.json();
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{ISSUER}/oauth2/authorize")
    );
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    let oidc = env.call(&event("openid-configuration")).await.json();
    assert_eq!(
        oidc["authorization_endpoint"],
        meta["authorization_endpoint"]
    );
    assert!(oidc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("authorization_code")));
}
