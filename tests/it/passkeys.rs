//! Passkeys through the real handler (API §13), against DynamoDB Local: a
//! software authenticator (ES256, EdDSA and RS256 keys, CBOR written here)
//! registers at the page an app's `action=register-passkey` leads to and
//! signs in with no password; every part of an assertion that is not right
//! is refused, one assertion signs in once however many post it at once,
//! and an operator's reset takes the passkeys away.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{json, Value};
use token_issuer::core::record::browser::SESSION_COOKIE;
use token_issuer::core::store::{AdminStore as _, UserStore as _};

/// The relying party the test issuer is: its origin and host.
fn rp() -> (String, String) {
    (format!("https://{API_DOMAIN}"), API_DOMAIN.to_string())
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// The smallest CBOR writer the attestation needs.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        head(out, 0, v as u64);
    } else {
        head(out, 1, (-1 - v) as u64);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn text(out: &mut Vec<u8>, t: &str) {
    head(out, 3, t.len() as u64);
    out.extend_from_slice(t.as_bytes());
}

enum Key {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(ring::rsa::KeyPair),
}

/// A software authenticator holding one discoverable credential.
struct Authenticator {
    key: Key,
    id: Vec<u8>,
    /// The signature counter (0 and never moved: it keeps none).
    count: u32,
    counts: bool,
    /// Backup eligible (a synced passkey).
    synced: bool,
    /// The user handle it stored at registration.
    handle: Vec<u8>,
}

impl Authenticator {
    fn new(alg: i64, counts: bool, synced: bool) -> Self {
        let key = match alg {
            -7 => {
                let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
                let rng = SystemRandom::new();
                let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
                Key::Es256(EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap())
            }
            -8 => {
                let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
                Key::EdDsa(Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap())
            }
            // A fixed RSA key: making one is slow, and nothing here needs it new.
            _ => {
                let pem = pem::parse(include_bytes!("../fixtures/rsa2048-pkcs8.pem")).unwrap();
                Key::Rs256(ring::rsa::KeyPair::from_pkcs8(pem.contents()).unwrap())
            }
        };
        Self {
            key,
            id: uuid::Uuid::new_v4().as_bytes().repeat(2),
            count: 0,
            counts,
            synced,
            handle: Vec::new(),
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.key {
            Key::Es256(k) => {
                let point = k.public_key().as_ref();
                head(&mut out, 5, 5);
                for (l, v) in [(1, 2), (3, -7), (-1, 1)] {
                    int(&mut out, l);
                    int(&mut out, v);
                }
                int(&mut out, -2);
                bytes(&mut out, &point[1..33]);
                int(&mut out, -3);
                bytes(&mut out, &point[33..65]);
            }
            Key::EdDsa(k) => {
                head(&mut out, 5, 4);
                for (l, v) in [(1, 1), (3, -8), (-1, 6)] {
                    int(&mut out, l);
                    int(&mut out, v);
                }
                int(&mut out, -2);
                bytes(&mut out, k.public_key().as_ref());
            }
            Key::Rs256(k) => {
                let c = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(k.public());
                head(&mut out, 5, 4);
                for (l, v) in [(1, 3), (3, -257)] {
                    int(&mut out, l);
                    int(&mut out, v);
                }
                int(&mut out, -1);
                bytes(&mut out, &c.n);
                int(&mut out, -2);
                bytes(&mut out, &c.e);
            }
        }
        out
    }

    fn flags(&self, extra: u8) -> u8 {
        // UP, UV, and BE with BS for a synced passkey.
        0x01 | 0x04 | if self.synced { 0x18 } else { 0 } | extra
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Es256(k) => k.sign(&rng, data).unwrap().as_ref().to_vec(),
            Key::EdDsa(k) => k.sign(data).as_ref().to_vec(),
            Key::Rs256(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, data, &mut sig)
                    .unwrap();
                sig
            }
        }
    }

    /// `navigator.credentials.create` on the registration page `page`:
    /// the fields its form posts.
    fn register(&mut self, page: &Reply, origin: &str, rp_id: &str) -> Params {
        let html = page.text();
        let challenge = data_attribute(&html, "challenge");
        assert_eq!(data_attribute(&html, "rp"), rp_id);
        self.handle = URL_SAFE_NO_PAD
            .decode(data_attribute(&html, "user"))
            .unwrap();
        let client_data = json!({
            "type": "webauthn.create", "challenge": challenge, "origin": origin,
            "crossOrigin": false
        })
        .to_string();
        let mut auth = sha256(rp_id.as_bytes());
        auth.push(self.flags(0x40));
        auth.extend(self.count.to_be_bytes());
        auth.extend([0u8; 16]);
        auth.extend((self.id.len() as u16).to_be_bytes());
        auth.extend(&self.id);
        auth.extend(self.cose_key());
        let mut attestation = Vec::new();
        head(&mut attestation, 5, 3);
        text(&mut attestation, "fmt");
        text(&mut attestation, "none");
        text(&mut attestation, "attStmt");
        head(&mut attestation, 5, 0);
        text(&mut attestation, "authData");
        bytes(&mut attestation, &auth);
        let mut fields = hidden_fields(&html);
        fields.push(("client_data", URL_SAFE_NO_PAD.encode(client_data)));
        fields.push(("attestation_object", URL_SAFE_NO_PAD.encode(attestation)));
        fields
    }

    /// `navigator.credentials.get` on the login page `page`, with
    /// `tamper` applied to the client data and authenticator data before
    /// signing: the passkey form's fields.
    fn assert(&mut self, page: &Reply, tamper: Tamper) -> Params {
        let html = page.text();
        let challenge = data_attribute(&html, "challenge");
        let (origin, rp_id) = rp();
        let client_data = json!({
            "type": tamper.kind.unwrap_or("webauthn.get"), "challenge": challenge,
            "origin": tamper.origin.unwrap_or(&origin), "crossOrigin": false
        })
        .to_string();
        if self.counts && tamper.count_up {
            self.count += 1;
        }
        let mut auth = sha256(tamper.rp_id.unwrap_or(&rp_id).as_bytes());
        auth.push(self.flags(0) & !tamper.clear_flags);
        auth.extend(self.count.to_be_bytes());
        let mut signed = auth.clone();
        signed.extend(sha256(client_data.as_bytes()));
        let mut signature = self.sign(&signed);
        if tamper.bad_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        let mut fields = vec![(
            "passkey_token",
            hidden_field(&html, "passkey_token").expect("a passkey form"),
        )];
        fields.extend(
            hidden_fields(&html)
                .into_iter()
                .filter(|(k, _)| !matches!(*k, "form_token" | "username")),
        );
        let handle = tamper.handle.unwrap_or(&self.handle);
        let id = tamper.id.unwrap_or(&self.id);
        for (k, v) in [
            ("credential_id", id),
            ("client_data", client_data.as_bytes()),
            ("authenticator_data", &auth),
            ("signature", &signature),
            ("user_handle", handle),
        ] {
            fields.push((k, URL_SAFE_NO_PAD.encode(v)));
        }
        fields
    }
}

/// What a test changes of an assertion.
#[derive(Clone, Copy)]
struct Tamper<'a> {
    kind: Option<&'a str>,
    origin: Option<&'a str>,
    rp_id: Option<&'a str>,
    clear_flags: u8,
    bad_signature: bool,
    handle: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    count_up: bool,
}

const HONEST: Tamper<'static> = Tamper {
    kind: None,
    origin: None,
    rp_id: None,
    clear_flags: 0,
    bad_signature: false,
    handle: None,
    id: None,
    count_up: true,
};

/// The `data-<name>` of the page's passkey form.
fn data_attribute(html: &str, name: &str) -> String {
    let marker = format!("data-{name}=\"");
    let rest = &html[html.find(&marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// `event` with the browser session cookie `session`.
fn with_session(mut ev: Value, session: Option<&str>) -> Value {
    if let Some(s) = session {
        ev["cookies"] = json!([format!("{SESSION_COOKIE}={s}")]);
    }
    ev
}

/// The code on a redirect to the client, redeemed: the ID token's claims.
async fn id_claims(env: &TestEnv, r: &Reply, secret: &str) -> Value {
    jwt_claims(
        redeem_web(env, r, secret).await["id_token"]
            .as_str()
            .unwrap(),
    )
}

const REFUSED: &str = "That passkey could not sign you in.";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_registers_passkeys_and_signs_in_with_one_alone() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let (origin, rp_id) = rp();
    let register = set(authorization("web"), "action", Some("register-passkey"));

    // No session: the login page first (with its passkey form and the
    // script its policy allows by hash), then the offer.
    let page = env.call(&authorize_get(&register)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("id=\"passkey-form\"") && html.contains("<script>"));
    // Without the script the passkey form stays hidden: the password form
    // is the page.
    let form = &html[html.find("id=\"passkey-form\"").unwrap()..];
    assert!(
        form[..form.find('>').unwrap()].ends_with(" hidden"),
        "{form}"
    );
    let csp = page.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let offer = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    assert_eq!(offer.status, 200, "{}", offer.text());
    assert!(offer.text().contains("Add a passkey"), "{}", offer.text());
    let session = offer.cookie(SESSION_COOKIE).expect("a session");
    // The user handle is the user's id, not the name.
    let handle = URL_SAFE_NO_PAD
        .decode(data_attribute(&offer.text(), "user"))
        .unwrap();
    assert_eq!(handle, env.admin.id.as_bytes());

    let mut es = Authenticator::new(-7, true, false);
    let fields = es.register(&offer, &origin, &rp_id);
    // The offer is bound to its session: without the cookie, the page
    // starts over.
    let r = env.call(&authorize_post(&fields)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("expired"));
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    let claims = id_claims(&env, &r, &secret).await;
    assert_eq!(claims["amr"], json!(["pwd"]), "the session's sign-in");
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.factors.passkeys.len(), 1);
    assert_eq!(user.factors.passkeys[0].id, es.id);
    assert!(user.needs_more_than_a_password());

    // That session signed in with a password alone, which no longer does
    // for a user with a passkey: the page asks again, and the passkey
    // signs in (and on to the offer the request asked for).
    let page = env
        .call(&with_session(authorize_get(&register), Some(&session)))
        .await;
    assert!(page.text().contains("name=\"password\""), "{}", page.text());
    // A password alone is no longer enough: with no code app yet, the
    // user enrols one (never a code step they could not pass).
    let enrol = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    assert!(
        enrol.text().contains("Set up two-step sign-in"),
        "{}",
        enrol.text()
    );
    let offer = env.call(&authorize_post(&es.assert(&page, HONEST))).await;
    assert!(offer.text().contains("Add a passkey"), "{}", offer.text());
    let session = offer.cookie(SESSION_COOKIE).expect("a session");

    // With a live session that had a passkey the offer comes at once; a
    // second and third passkey (EdDSA, synced; RS256 without a counter)
    // join the first.
    let mut ed = Authenticator::new(-8, true, true);
    let mut rs = Authenticator::new(-257, false, false);
    for a in [&mut ed, &mut rs] {
        let offer = env
            .call(&with_session(authorize_get(&register), Some(&session)))
            .await;
        assert!(offer.text().contains("Add a passkey"), "{}", offer.text());
        // The ones registered already are excluded.
        assert!(data_attribute(&offer.text(), "exclude").contains(&URL_SAFE_NO_PAD.encode(&es.id)));
        let fields = a.register(&offer, &origin, &rp_id);
        let r = env
            .call(&with_session(authorize_post(&fields), Some(&session)))
            .await;
        assert_eq!(r.status, 302, "{}", r.text());
    }
    // The same credential again is not added, and the page says so.
    let offer = env
        .call(&with_session(authorize_get(&register), Some(&session)))
        .await;
    let fields = es.register(&offer, &origin, &rp_id);
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("That passkey could not be added"));
    // Declining goes back to the app.
    let mut skip = hidden_fields(&r.text());
    skip.push(("skip", "1".into()));
    let r = env
        .call(&with_session(authorize_post(&skip), Some(&session)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.factors.passkeys.len(), 3);
    let synced = user.factors.passkey(&ed.id).unwrap();
    assert!(synced.backup_eligible && synced.backed_up);

    // A new browser, no password: each passkey signs in alone, with a
    // second factor's strength (a request that needs one is satisfied).
    let mfa = set(authorization("web"), "acr_values", Some("mfa"));
    for (a, method) in [(&mut es, "hwk"), (&mut ed, "swk"), (&mut rs, "hwk")] {
        let page = env.call(&authorize_get(&mfa)).await;
        let r = env.call(&authorize_post(&a.assert(&page, HONEST))).await;
        let claims = id_claims(&env, &r, &secret).await;
        assert_eq!(claims["amr"], json!([method, "user", "mfa"]));
        assert_eq!(claims["acr"], "mfa");
        assert!(r.cookie(SESSION_COOKIE).is_some(), "a session starts");
    }
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.factors.passkey(&es.id).unwrap().sign_count, es.count);
    assert!(user.factors.passkey(&es.id).unwrap().last_used_at.is_some());

    // A session whose sign-in is older than five minutes is not offered a
    // passkey: the page asks to sign in again first.
    env.clock.advance(time::Duration::minutes(6));
    let page = env
        .call(&with_session(authorize_get(&register), Some(&session)))
        .await;
    assert!(page.text().contains("name=\"password\""), "{}", page.text());
    assert!(!page.text().contains("Add a passkey"));

    // The vendor dialects refuse the user now, as a wrong password.
    let r = env
        .call(&login(
            "v2-login",
            json!({"username": "Admin", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(r.status, 401);

    // An operator's reset takes them away: a passkey no longer signs in.
    assert!(env.store.reset_factors(&env.admin.username).await.unwrap());
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let r = env.call(&authorize_post(&es.assert(&page, HONEST))).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains(REFUSED), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_wrong_part_of_an_assertion_is_refused_and_one_signs_in_once() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let (origin, rp_id) = rp();
    let register = set(authorization("web"), "action", Some("register-passkey"));
    let page = env.call(&authorize_get(&register)).await;
    let offer = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    let session = offer.cookie(SESSION_COOKIE).unwrap();
    // An authenticator without a counter: only the spent challenge keeps
    // an assertion from signing in twice.
    let mut key = Authenticator::new(-7, false, false);
    let fields = key.register(&offer, &origin, &rp_id);
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());

    let stranger = Authenticator::new(-7, false, false);
    let other_handle = uuid::Uuid::new_v4();
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "a registration's type",
            Tamper {
                kind: Some("webauthn.create"),
                ..HONEST
            },
        ),
        (
            "another origin",
            Tamper {
                origin: Some("https://evil.example"),
                ..HONEST
            },
        ),
        (
            "another relying party",
            Tamper {
                rp_id: Some("evil.example"),
                ..HONEST
            },
        ),
        (
            "no user verification",
            Tamper {
                clear_flags: 0x04,
                ..HONEST
            },
        ),
        (
            "no user presence",
            Tamper {
                clear_flags: 0x01,
                ..HONEST
            },
        ),
        (
            "a bad signature",
            Tamper {
                bad_signature: true,
                ..HONEST
            },
        ),
        (
            "another user's handle",
            Tamper {
                handle: Some(other_handle.as_bytes()),
                ..HONEST
            },
        ),
        (
            "an unknown credential",
            Tamper {
                id: Some(&stranger.id),
                ..HONEST
            },
        ),
    ];
    for (what, tamper) in cases {
        let page = env.call(&authorize_get(&authorization("web"))).await;
        let r = env.call(&authorize_post(&key.assert(&page, tamper))).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        assert!(r.text().contains(REFUSED), "{what}: {}", r.text());
        assert!(r.cookie(SESSION_COOKIE).is_none(), "{what}");
    }
    // A good one clears the failures counted (§2) before the next part.
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let r = env.call(&authorize_post(&key.assert(&page, HONEST))).await;
    assert_eq!(r.status, 302, "{}", r.text());
    // Its session had a passkey: it may register more.
    let session = r.cookie(SESSION_COOKIE).unwrap();

    // A challenge of another request: the page starts over.
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let mut fields = key.assert(&page, HONEST);
    let other = set(authorization("web"), "state", Some("another"));
    for (k, v) in &mut fields {
        if let Some((_, o)) = other.iter().find(|(ok, _)| ok == k) {
            *v = o.clone();
        }
    }
    let r = env.call(&authorize_post(&fields)).await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Eight posts of one good assertion at once: one signs in.
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let fields = key.assert(&page, HONEST);
    let event = authorize_post(&fields);
    let posts = (0..8).map(|_| env.call(&event));
    let replies = futures_util::future::join_all(posts).await;
    let signed_in: Vec<&Reply> = replies.iter().filter(|r| r.status == 302).collect();
    assert_eq!(
        signed_in.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 302) {
        assert!(r.text().contains(REFUSED));
    }
    id_claims(&env, signed_in[0], &secret).await;
    // And later, the same post again.
    let r = env.call(&authorize_post(&fields)).await;
    assert!(r.text().contains(REFUSED));

    // A counter that goes back is a cloned key: refused.
    let mut counted = Authenticator::new(-7, true, false);
    let offer = env
        .call(&with_session(authorize_get(&register), Some(&session)))
        .await;
    let fields = counted.register(&offer, &origin, &rp_id);
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let r = env
        .call(&authorize_post(&counted.assert(&page, HONEST)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let page = env.call(&authorize_get(&authorization("web"))).await;
    let stale = Tamper {
        count_up: false,
        ..HONEST
    };
    let r = env
        .call(&authorize_post(&counted.assert(&page, stale)))
        .await;
    assert!(r.text().contains(REFUSED), "{}", r.text());

    // A disabled user's passkey signs nobody in.
    let page = env.call(&authorize_get(&authorization("web"))).await;
    env.store
        .set_enabled(&env.admin.username, false, env.app.issuer().now())
        .await
        .unwrap();
    let r = env
        .call(&authorize_post(&counted.assert(&page, HONEST)))
        .await;
    assert!(r.text().contains(REFUSED), "{}", r.text());

    // A registration whose attestation does not verify is not stored.
    env.store
        .set_enabled(&env.admin.username, true, env.app.issuer().now())
        .await
        .unwrap();
    let page = env.call(&authorize_get(&register)).await;
    let offer = env
        .call(&authorize_post(&counted.assert(&page, HONEST)))
        .await;
    assert!(offer.text().contains("Add a passkey"), "{}", offer.text());
    let session = offer.cookie(SESSION_COOKIE).unwrap();
    let mut fields =
        Authenticator::new(-7, true, false).register(&offer, "https://evil.example", &rp_id);
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    assert!(r.text().contains("That passkey could not be added"));
    for (k, v) in &mut fields {
        if *k == "attestation_object" {
            *v = "not-cbor".into();
        }
    }
    let r = env
        .call(&with_session(authorize_post(&fields), Some(&session)))
        .await;
    assert_eq!(r.status, 200);
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.factors.passkeys.len(), 2);
}

#[tokio::test]
async fn action_takes_one_value_and_no_prompt_none() {
    let env = TestEnv::new().await;
    env.add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    for extra in [
        vec![("action", "delete-account")],
        vec![("action", "register-passkey"), ("prompt", "none")],
    ] {
        let mut request = authorization("web");
        for (k, v) in extra {
            request = set(request, k, Some(v));
        }
        let r = env.call(&authorize_get(&request)).await;
        assert_eq!(r.status, 302, "{}", r.text());
        let q = redirect_query(&r);
        assert_eq!(query_param(&q, "error"), Some("invalid_request"));
    }
}
