//! The issuer's costs against their irreducible floor:
//! warm per-route latency of the real handler on DynamoDB Local, the floor
//! parts timed alone, cold start of the release binary (and of an empty
//! `lambda_http` hello world) through a minimal Lambda Runtime API, peak
//! memory over 1,000 log ins, and the arm64 binary size. Prints a table and
//! writes `target/bench/summary.json`.

use crate::common::*;
use crate::function::Function;
use crate::{bench_env, event_text, function_env, ms, out_dir, pct, root, sibling};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use token_issuer::core::password::{Hasher, Password};
use token_issuer::core::record::family::{RefreshFamily, Rotation};
use token_issuer::core::record::throttle::{AttemptLimit, Throttle};
use token_issuer::core::record::token::{FamilyId, RefreshToken};
use token_issuer::core::record::user::Username;
use token_issuer::core::sign::{self, Signer, TokenType};
use token_issuer::core::store::{
    FamilyStore as _, Reservation, ThrottleStore as _, UserStore as _,
};

const WARM_N: usize = 200;
/// The bench's attempts are counted and cleared like a log in's, never refused.
const NO_LIMIT: AttemptLimit = AttemptLimit {
    first: i64::MAX,
    later: i64::MAX,
};
/// Rounds run and dropped first, while DynamoDB Local's JVM compiles its hot code.
const WARMUP_ROUNDS: usize = 100;
const STARTS: usize = 10;
const RSS_LOGINS: usize = 1000;
/// Refreshes after them, to count what a refresh logs.
const RSS_REFRESHES: usize = 100;
/// Warm decisions whose log lines are counted.
const DECISIONS_LOGGED: usize = 50;

/// The figures, in order, then the report.
pub async fn run() {
    let env = bench_env().await;
    let mut out = Map::new();
    warm_latency_and_floor(&env, &mut out).await;
    let decision = authorizer_decision(&env, &mut out).await;
    // The release binaries: as shipped, on plain HTTP to DynamoDB Local.
    let fenv = function_env(
        &env,
        &[
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_EC2_METADATA_DISABLED",
            "PATH",
        ],
        vec![("RUST_LOG".into(), "info".into())],
    );
    cold_start(&fenv, &mut out).await;
    authorizer_cold_start(&fenv, decision, &mut out).await;
    peak_memory(&fenv, &mut out).await;
    binary_size(&mut out);
    // The cost per million comes from `scripts/bench.sh lambda`, which
    // measures each memory size under its CPU share: an estimate from these
    // unthrottled figures disagreed with it.
    report(out);
}

// ---- warm latency and the floor, in process, interleaved -------------------

/// One round = one request of each route, each floor part alone, and one
/// log-in skeleton. Interleaving puts every figure in the same conditions:
/// DynamoDB Local is a JVM that keeps speeding up (JIT) for hundreds of
/// requests, and timing the routes first and the floor after made the
/// same log in 23 ms early and 17 ms late. The warm-up rounds are dropped.
async fn warm_latency_and_floor(env: &TestEnv, out: &mut Map<String, Value>) {
    let mut warm = Warm::new(env).await;
    let mut s = Samples::default();
    for round in 0..WARMUP_ROUNDS + WARM_N {
        if round == WARMUP_ROUNDS {
            s = Samples::default();
        }
        warm.storage_floor(&mut s, round).await;
        warm.routes(&mut s).await;
        let [total, reads, argon, writes] = warm.skeleton(Shape::Now).await;
        s.sk_total.push(total);
        s.sk_reads.push(reads);
        s.sk_argon.push(argon);
        s.sk_writes.push(writes);
        s.sk_one_item
            .push(warm.skeleton(Shape::OneItemPerUsername).await[0]);
        s.sk_on_user
            .push(warm.skeleton(Shape::CountsOnUser).await[0]);
        s.sk_minimal.push(warm.skeleton(Shape::Minimal).await[0]);
        warm.cpu_floor(&mut s).await;
    }
    s.record(out);
}

#[derive(Default)]
struct Samples {
    login: Vec<f64>,
    refresh: Vec<f64>,
    /// A second app's authorization from the browser session: no page.
    sso: Vec<f64>,
    acquire: Vec<f64>,
    jwks: Vec<f64>,
    argon: Vec<f64>,
    sign: Vec<f64>,
    get_user: Vec<f64>,
    reserve: Vec<f64>,
    clear: Vec<f64>,
    record_login: Vec<f64>,
    put_family: Vec<f64>,
    get_family: Vec<f64>,
    rotate: Vec<f64>,
    sk_total: Vec<f64>,
    sk_reads: Vec<f64>,
    sk_argon: Vec<f64>,
    sk_writes: Vec<f64>,
    sk_one_item: Vec<f64>,
    sk_on_user: Vec<f64>,
    sk_minimal: Vec<f64>,
}

/// The calls a log in's skeleton makes.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// As the issuer stores counts: reads = the user, the pair, the
    /// username, the address; writes = the log-in record, the family, the
    /// pair's and the username's clears, the address's count taken back.
    /// Nine calls.
    Now,
    /// The pair's and the username's counts in one item per username:
    /// seven calls.
    OneItemPerUsername,
    /// Those counts on the user's own item, counted by an update that
    /// returns the user and cleared by the log-in record: five calls.
    CountsOnUser,
    /// The minimal log in's: reads = the user; writes = the family. Two
    /// calls, no lockout.
    Minimal,
}

async fn timed<T>(into: &mut Vec<f64>, f: impl std::future::Future<Output = T>) -> T {
    let t = Instant::now();
    let r = f.await;
    into.push(ms(t.elapsed()));
    r
}

/// What the warm rounds work with and carry from one round to the next.
struct Warm<'a> {
    env: &'a TestEnv,
    hasher: Hasher,
    password: Password,
    phc: String,
    claims: Value,
    keys: &'a dyn Signer,
    name: Username,
    now: OffsetDateTime,
    later: OffsetDateTime,
    /// The family the floor's rotations advance, one hash at a time.
    family: FamilyId,
    family_hash: String,
    family_generation: u64,
    login: Value,
    acquire: Value,
    jwks: Value,
    /// `GET /oauth2/authorize` of a second app, with the session cookie.
    sso: Value,
    refresh_template: Value,
    /// The refresh route's live token.
    token: String,
}

impl<'a> Warm<'a> {
    async fn new(env: &'a TestEnv) -> Self {
        let now = env.app.issuer().now();
        let claims = json!({"iss": "https://x", "sub": env.admin.id.to_string(), "aud": "a", "iat": 1, "nbf": 1,
            "exp": 2, "jti": "j", "sid": "s", "username": "admin", "name": "Admin", "email": "a@a",
            "roles": ["Administrator"], "role": 2, "customer_id": env.admin.customer_id.to_string(), "auth_source": "local"});
        // The family the floor's rotations advance.
        let fam = new_family(
            env,
            now,
            RefreshToken::generate(FamilyId::generate().unwrap())
                .unwrap()
                .hash(),
        );
        env.store.put_refresh_family(&fam).await.unwrap();
        let login = event("v2-login");
        let sso = sso_event(env).await;
        let first = env.call(&login).await.json();
        let token = first["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        Self {
            env,
            hasher: Hasher::new(),
            password: Password::parse(PASSWORD).unwrap(),
            phc: env.admin.password_hash.clone(),
            claims,
            keys: env.app.issuer().signer(),
            name: env.admin.username.clone(),
            now,
            later: now + time::Duration::days(1),
            family: fam.id,
            family_hash: fam.token_hash,
            family_generation: 0,
            login,
            acquire: event("ops-acquire"),
            sso,
            jwks: event("jwks"),
            refresh_template: event("v2-refresh"),
            token,
        }
    }

    /// The floor's DynamoDB calls, each alone.
    async fn storage_floor(&mut self, s: &mut Samples, round: usize) {
        let store = &self.env.store;
        let (name, now, later) = (&self.name, self.now, self.later);
        // Untimed: the first DynamoDB call after a pause (the previous
        // round's Argon2id) is slower on this machine; no timed call should
        // pay that except where a log in itself pays it (its writes).
        store.get_user(name).await.unwrap();
        timed(&mut s.get_user, store.get_user(name)).await.unwrap();
        let Reservation::Counted(counted) = timed(
            &mut s.reserve,
            store.reserve_attempt("bench-key", "bench-key", NO_LIMIT, now, later),
        )
        .await
        .unwrap() else {
            panic!("the bench's attempts are never refused")
        };
        timed(
            &mut s.clear,
            store.clear_after_success("bench-key", &counted),
        )
        .await
        .unwrap();
        timed(&mut s.record_login, store.record_login(name, now))
            .await
            .unwrap();
        let f = new_family(self.env, now, "h".into());
        timed(&mut s.put_family, store.put_refresh_family(&f))
            .await
            .unwrap();
        timed(&mut s.get_family, store.get_refresh_family(&self.family))
            .await
            .unwrap();
        let next = format!("h{round}");
        let r = timed(
            &mut s.rotate,
            store.rotate_refresh(
                &self.family,
                &self.family_hash,
                &next,
                self.family_generation,
                None,
                now,
            ),
        )
        .await
        .unwrap();
        assert!(matches!(r, Rotation::Rotated(_)));
        self.family_hash = next;
        self.family_generation += 1;
    }

    /// The routes, through the real handler.
    async fn routes(&mut self, s: &mut Samples) {
        let env = self.env;
        let r = timed(&mut s.login, env.call(&self.login)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        // Built before the clock starts: the harness's work is not the handler's.
        let ev = with_body(
            self.refresh_template.clone(),
            &json!({ "refreshToken": self.token }).to_string(),
        );
        let r = timed(&mut s.refresh, env.call(&ev)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        self.token = r.json()["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let r = timed(&mut s.sso, env.call(&self.sso)).await;
        assert_eq!(r.status, 302, "{}", r.text());
        let r = timed(&mut s.acquire, env.call(&self.acquire)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = timed(&mut s.jwks, env.call(&self.jwks)).await;
        assert_eq!(r.status, 200);
    }

    /// The skeleton of a log in: the same parts in the order and with the
    /// concurrency of a real one (reads together, Argon2id, writes
    /// together, signature) and nothing else: no event decoding, routing,
    /// claims or response. The log in's gap to it is the issuer's own
    /// work; its gap to the floor is what this machine adds (the JVM
    /// shares the two cores, and answers slower after a pause).
    ///
    /// The other shapes time the minimal log in the same way, and the two
    /// storage layouts that would make fewer calls, to tell what each
    /// could reach before one is built.
    async fn skeleton(&self, shape: Shape) -> [f64; 4] {
        let store = &self.env.store;
        let (name, now, later) = (&self.name, self.now, self.later);
        let counts = shape != Shape::Minimal;
        let pair = shape == Shape::Now;
        let user_read = shape != Shape::CountsOnUser;
        let count = |key: &'static str, on: bool| async move {
            if !on {
                return None;
            }
            match store
                .reserve_attempt(key, "bench-key", NO_LIMIT, now, later)
                .await
            {
                Ok(Reservation::Counted(r)) => Some(r),
                other => panic!("the bench's attempts are counted: {other:?}"),
            }
        };
        let clear = |key: &'static str, r: Option<Throttle>| async move {
            if let Some(r) = r {
                store.clear_after_success(key, &r).await.unwrap();
            }
        };
        let t = Instant::now();
        let (user, whole, pair_counted, ()) = tokio::join!(
            async {
                if user_read {
                    Some(store.get_user(name).await.unwrap().unwrap())
                } else {
                    None
                }
            },
            // With counts on the user's item, this update would also
            // return the user: timed as the username's count.
            count("bench-key", counts),
            count("bench-pair", pair),
            async {
                if counts {
                    let window = store.reserve_in_window(
                        "bench-address",
                        "bench-address",
                        i64::MAX,
                        now,
                        later,
                    );
                    window.await.unwrap();
                }
            },
        );
        let t1 = Instant::now();
        let phc = user.map_or(self.phc.clone(), |u| u.password_hash);
        assert!(self.hasher.verify(&self.password, Some(&phc)));
        let t2 = Instant::now();
        let f = new_family(self.env, now, "h".into());
        tokio::join!(
            async {
                if counts {
                    store.record_login(name, now).await.unwrap();
                }
            },
            async { store.put_refresh_family(&f).await.unwrap() },
            // With counts on the user's item, the log-in record clears them.
            clear("bench-key", whole.filter(|_| user_read)),
            clear("bench-pair", pair_counted),
            async {
                if counts {
                    store.uncount_attempt("bench-address").await.unwrap();
                }
            },
        );
        let t3 = Instant::now();
        sign::sign(self.keys, TokenType::Jwt, &self.claims).unwrap();
        [ms(t.elapsed()), ms(t1 - t), ms(t2 - t1), ms(t3 - t2)]
    }

    /// The floor's CPU parts, each alone.
    async fn cpu_floor(&self, s: &mut Samples) {
        let ok = timed(&mut s.argon, async {
            self.hasher.verify(&self.password, Some(&self.phc))
        })
        .await;
        assert!(ok);
        timed(&mut s.sign, async {
            sign::sign(self.keys, TokenType::Jwt, &self.claims).unwrap()
        })
        .await;
    }
}

/// A browser session of the admin's, started by a sign-in at the page for
/// one app: the event of a second app's authorization in it.
async fn sso_event(env: &TestEnv) -> Value {
    for app in ["bench-web-a", "bench-web-b"] {
        env.add_client(app, false, CODE_FLOW, "openid profile")
            .await
            .unwrap();
    }
    let page = env
        .call(&authorize_get(&authorization("bench-web-a")))
        .await;
    let r = env
        .call(&authorize_post(&login_form(&page, "admin", PASSWORD)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let session = r.cookie("__Host-session").expect("a session cookie");
    let mut ev = authorize_get(&authorization("bench-web-b"));
    ev["cookies"] = json!([format!("__Host-session={session}")]);
    ev
}

/// A new live family of the admin's, made at `now`.
fn new_family(env: &TestEnv, now: OffsetDateTime, token_hash: String) -> RefreshFamily {
    RefreshFamily {
        id: FamilyId::generate().unwrap(),
        username: env.admin.username.clone(),
        user_id: env.admin.id,
        token_hash,
        token_version: Some(0),
        generation: 0,
        created_at: now,
        expires_at: now + time::Duration::days(30),
        revoked_at: None,
        client: None,
        issued_via: None,
        session: None,
    }
}

impl Samples {
    /// The medians (and the log in's p99), the floors and the ratios.
    fn record(mut self, out: &mut Map<String, Value>) {
        let s = &mut self;
        let p50 = |v: &mut Vec<f64>| pct(v, 0.5);
        let login_p50 = p50(&mut s.login);
        out.insert("login_p50_ms".into(), json!(login_p50));
        out.insert("login_p99_ms".into(), json!(pct(&mut s.login, 0.99)));
        let refresh_p50 = p50(&mut s.refresh);
        out.insert("refresh_p50_ms".into(), json!(refresh_p50));
        out.insert("acquire_p50_ms".into(), json!(p50(&mut s.acquire)));
        out.insert("jwks_p50_ms".into(), json!(p50(&mut s.jwks)));
        out.insert("sso_authorize_p50_ms".into(), json!(p50(&mut s.sso)));
        let (argon, sign) = (p50(&mut s.argon), p50(&mut s.sign));
        let (gu, rs, cl, rl, pf) = (
            p50(&mut s.get_user),
            p50(&mut s.reserve),
            p50(&mut s.clear),
            p50(&mut s.record_login),
            p50(&mut s.put_family),
        );
        let (gf, ro) = (p50(&mut s.get_family), p50(&mut s.rotate));
        // One call of each kind a log in makes, each alone: the user read, the
        // attempt counted before the check (two scopes, in parallel), the two
        // writes of a success and the count cleared after it.
        let login_floor = argon + sign + gu + rs + rl + pf + cl;
        let refresh_floor = sign + gf + gu + ro;
        // The log in any implementation without lockout makes: read the
        // user, verify, write one item, sign.
        let login_minimal = argon + sign + gu + pf;
        out.insert("argon2_verify_ms".into(), json!(argon));
        out.insert("rs256_sign_ms".into(), json!(sign));
        out.insert(
            "dynamodb_call_ms".into(),
            json!({"get_user": gu, "reserve_attempt": rs, "clear_after_success": cl,
                   "record_login": rl, "put_family": pf,
                   "get_family": gf, "rotate": ro}),
        );
        out.insert("login_floor_ms".into(), json!(login_floor));
        out.insert(
            "login_overhead_ratio".into(),
            json!(login_p50 / login_floor),
        );
        out.insert("login_minimal_ms".into(), json!(login_minimal));
        out.insert(
            "login_vs_minimal_ratio".into(),
            json!(login_p50 / login_minimal),
        );
        out.insert("refresh_floor_ms".into(), json!(refresh_floor));
        out.insert(
            "refresh_overhead_ratio".into(),
            json!(refresh_p50 / refresh_floor),
        );
        let skeleton = p50(&mut s.sk_total);
        out.insert(
            "login_skeleton_ms".into(),
            json!({"total": skeleton, "reads": p50(&mut s.sk_reads),
                   "argon2_verify": p50(&mut s.sk_argon), "writes": p50(&mut s.sk_writes)}),
        );
        out.insert(
            "login_vs_skeleton_ratio".into(),
            json!(login_p50 / skeleton),
        );
        // What each layout's calls alone come to, against the minimal log
        // in: a log in cannot be nearer the minimal than its skeleton.
        // The minimal log in's own skeleton shows what running its parts
        // in one go adds on this machine.
        let (one_item, on_user) = (p50(&mut s.sk_one_item), p50(&mut s.sk_on_user));
        let minimal_skeleton = p50(&mut s.sk_minimal);
        out.insert(
            "skeleton_vs_minimal_ratio".into(),
            json!({"nine_calls": skeleton / login_minimal,
                   "seven_calls_one_item_per_username": one_item / login_minimal,
                   "five_calls_counts_on_user": on_user / login_minimal,
                   "two_calls_minimal": minimal_skeleton / login_minimal}),
        );
    }
}

// ---- the authorizer's decision, against one GetItem, interleaved ------------

/// Returns the decision event (a live user's token), for the authorizer's
/// cold start.
async fn authorizer_decision(env: &TestEnv, out: &mut Map<String, Value>) -> Value {
    let uncached = env.authorizer(|c| c.revocation_cache = Duration::ZERO);
    let cached = env.authorizer(|c| c.revocation_cache = Duration::from_secs(60));
    let user_login = env.call(&event("user-authenticate")).await.json();
    let mut decision_ev: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/authorizer/bearer-valid.json")).unwrap(),
    )
    .unwrap();
    decision_ev["headers"]["authorization"] = json!(format!(
        "Bearer {}",
        user_login["accessToken"].as_str().unwrap()
    ));
    let name = &env.admin.username;
    let (mut dec, mut dec_cached, mut get_item) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..(WARMUP_ROUNDS + WARM_N) {
        let t0 = Instant::now();
        let a = uncached.handle(decision_ev.clone()).await;
        let t1 = Instant::now();
        let b = cached.handle(decision_ev.clone()).await;
        let t2 = Instant::now();
        env.store.get_user(name).await.unwrap();
        let t3 = Instant::now();
        assert_eq!(a["isAuthorized"], true, "{a}");
        assert_eq!(b["isAuthorized"], true, "{b}");
        if i >= WARMUP_ROUNDS {
            dec.push(ms(t1 - t0));
            dec_cached.push(ms(t2 - t1));
            get_item.push(ms(t3 - t2));
        }
    }
    let (dec_p50, dec_p99) = (pct(&mut dec, 0.5), pct(&mut dec, 0.99));
    let get_item_p50 = pct(&mut get_item, 0.5);
    out.insert(
        "authorizer_decision_ms".into(),
        json!({"p50": dec_p50, "p99": dec_p99, "cached_p50": pct(&mut dec_cached, 0.5),
               "get_item_p50": get_item_p50}),
    );
    out.insert(
        "authorizer_vs_get_item_ratio".into(),
        json!(dec_p50 / get_item_p50),
    );
    authorizer_dpop_decision(env, &decision_ev, out).await;
    decision_ev
}

/// What DPoP adds to a decision: the same token check with a proof to
/// verify and spend (one conditional `PutItem`), against the bearer
/// decision of a token of the same size, interleaved. Each round signs a
/// new proof first, outside the timing, as a client would.
async fn authorizer_dpop_decision(env: &TestEnv, bearer_ev: &Value, out: &mut Map<String, Value>) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ring::digest::{digest, SHA256};
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
    use token_issuer::core::clock::Clock as _;
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
    let point = key.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    let proof = |htm: &str, htu: &str, ath: Option<&str>| {
        let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": htm, "htu": htu,
            "iat": env.clock.now().unix_timestamp()});
        if let Some(token) = ath {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())));
        }
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD
                .encode(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = key.sign(&rng, signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    };
    let secret = env
        .add_client(
            "bench-dpop",
            false,
            &token_issuer::core::record::client::GrantType::ALL,
            "openid",
        )
        .await
        .unwrap();
    let grant = |with_proof: bool| {
        let ev = oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "Admin"),
                ("password", PASSWORD),
            ],
            Some(("bench-dpop", &secret)),
        );
        if with_proof {
            with_header(
                ev,
                "dpop",
                &proof("POST", &format!("https://{API_DOMAIN}/oauth2/token"), None),
            )
        } else {
            ev
        }
    };
    let bound = env.call(&grant(true)).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = env.call(&grant(false)).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env.authorizer(|c| c.revocation_cache = Duration::ZERO);
    let url = format!(
        "https://{}{}",
        bearer_ev["requestContext"]["domainName"].as_str().unwrap(),
        bearer_ev["rawPath"].as_str().unwrap()
    );
    let method = bearer_ev["requestContext"]["http"]["method"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bearer_req = bearer_ev.clone();
    bearer_req["headers"]["authorization"] = json!(format!("Bearer {bearer}"));
    let (mut plain, mut dpop) = (Vec::new(), Vec::new());
    for i in 0..(WARMUP_ROUNDS + WARM_N) {
        let mut dpop_req = bearer_ev.clone();
        dpop_req["headers"]["authorization"] = json!(format!("DPoP {bound}"));
        dpop_req["headers"]["dpop"] = json!(proof(&method, &url, Some(&bound)));
        let t0 = Instant::now();
        let x = a.handle(bearer_req.clone()).await;
        let t1 = Instant::now();
        let y = a.handle(dpop_req).await;
        let t2 = Instant::now();
        assert_eq!(x["isAuthorized"], true, "{x}");
        assert_eq!(y["isAuthorized"], true, "{y}");
        if i >= WARMUP_ROUNDS {
            plain.push(ms(t1 - t0));
            dpop.push(ms(t2 - t1));
        }
    }
    let (plain_p50, dpop_p50) = (pct(&mut plain, 0.5), pct(&mut dpop, 0.5));
    out.insert(
        "authorizer_dpop_decision_ms".into(),
        json!({"p50": dpop_p50, "p99": pct(&mut dpop, 0.99), "bearer_p50": plain_p50,
               "added_p50": dpop_p50 - plain_p50}),
    );
}

// ---- cold start, peak memory: the release binaries --------------------------

/// Median time from process start to the first answered request.
async fn cold(bin: &Path, env: &[(String, String)], first: &str) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..STARTS {
        let mut f = Function::start(bin, env).await;
        let (at, resp) = f.invoke(first).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
        samples.push(ms(at - f.started));
    }
    pct(&mut samples, 0.5)
}

/// The issuer's cold start against the empty function's, to a first JWKS
/// and to a first log in, with and without the warm-up.
async fn cold_start(fenv: &[(String, String)], out: &mut Map<String, Value>) {
    let issuer_bin = sibling("token-issuer");
    let hello_bin = sibling("bench-hello");
    let jwks_text = event_text("jwks");
    let login_text = event_text("v2-login");
    // The binary's own start against the empty function's: without the
    // warm-up, which deliberately does a first request's work in Init.
    let bare = crate::without_warm_up(fenv);
    let cold_issuer = cold(&issuer_bin, &bare, &jwks_text).await;
    let cold_hello = cold(&hello_bin, fenv, &jwks_text).await;
    let cold_warmed = cold(&issuer_bin, fenv, &jwks_text).await;
    let cold_login = cold(&issuer_bin, fenv, &login_text).await;
    let cold_login_bare = cold(&issuer_bin, &bare, &login_text).await;
    out.insert("cold_start_ms".into(), json!(cold_issuer));
    out.insert("hello_cold_start_ms".into(), json!(cold_hello));
    out.insert("cold_start_ratio".into(), json!(cold_issuer / cold_hello));
    out.insert("cold_start_with_warm_up_ms".into(), json!(cold_warmed));
    out.insert("cold_login_ms".into(), json!(cold_login));
    out.insert(
        "cold_login_without_warm_up_ms".into(),
        json!(cold_login_bare),
    );
}

/// The authorizer's cold start: process start to its first decision on a
/// live token (minted by the release issuer with the same key).
async fn authorizer_cold_start(
    fenv: &[(String, String)],
    mut decision: Value,
    out: &mut Map<String, Value>,
) {
    let mut f = Function::start(&sibling("token-issuer"), fenv).await;
    let (_, resp) = f.invoke(&event_text("user-authenticate")).await;
    drop(f);
    let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
    decision["headers"]["authorization"] =
        json!(format!("Bearer {}", body["accessToken"].as_str().unwrap()));
    let first_decision = decision.to_string();
    let mut aenv = fenv.to_vec();
    aenv.push(("ISSUER".into(), format!("https://{API_DOMAIN}")));
    let authorizer_bin = sibling("token-authorizer");
    let mut samples = Vec::new();
    for _ in 0..STARTS {
        let mut f = Function::start(&authorizer_bin, &aenv).await;
        let (at, resp) = f.invoke(&first_decision).await;
        assert_eq!(resp["isAuthorized"], true, "{resp}");
        samples.push(ms(at - f.started));
    }
    out.insert(
        "authorizer_cold_start_ms".into(),
        json!(pct(&mut samples, 0.5)),
    );
    // What a warm decision logs: one line, cached or not.
    let mut f = Function::start(&authorizer_bin, &aenv).await;
    f.invoke(&first_decision).await;
    let before = f.log_bytes().await;
    for _ in 0..DECISIONS_LOGGED {
        let (_, resp) = f.invoke(&first_decision).await;
        assert_eq!(resp["isAuthorized"], true, "{resp}");
    }
    let logged = f.log_bytes().await - before;
    out.insert(
        "authorizer_log_bytes_per_decision".into(),
        json!(logged as f64 / DECISIONS_LOGGED as f64),
    );
}

/// The v2 refresh token in a function's answer.
fn refresh_token_in(resp: &Value) -> String {
    let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
    body["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Peak RSS of one issuer over `RSS_LOGINS` log ins, and the bytes each log
/// in and refresh logs.
async fn peak_memory(fenv: &[(String, String)], out: &mut Map<String, Value>) {
    let login_text = event_text("v2-login");
    let mut f = Function::start(&sibling("token-issuer"), fenv).await;
    let mut refresh_token = String::new();
    let before = f.log_bytes().await;
    for _ in 0..RSS_LOGINS {
        let (_, resp) = f.invoke(&login_text).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
        refresh_token = refresh_token_in(&resp);
    }
    let logged = f.log_bytes().await - before;
    out.insert("peak_rss_mib".into(), json!(f.peak_rss_mib()));
    // What each request adds to CloudWatch Logs, at the default log level.
    let before = f.log_bytes().await;
    for _ in 0..RSS_REFRESHES {
        let mut e = event("v2-refresh");
        e["body"] = json!({ "refreshToken": refresh_token }).to_string().into();
        let (_, resp) = f.invoke(&e.to_string()).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
        refresh_token = refresh_token_in(&resp);
    }
    let refreshed = f.log_bytes().await - before;
    out.insert(
        "log_bytes".into(),
        json!({"per_login": logged as f64 / RSS_LOGINS as f64,
               "per_refresh": refreshed as f64 / RSS_REFRESHES as f64}),
    );
}

/// The arm64 `bootstrap` as `cargo lambda build --release --arm64` made it.
fn binary_size(out: &mut Map<String, Value>) {
    let bootstrap = root().join("target/lambda/token-issuer/bootstrap");
    let size = std::fs::metadata(&bootstrap)
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .unwrap_or(f64::NAN);
    out.insert("binary_size_mib".into(), json!(size));
}

// ---- report -----------------------------------------------------------------

/// The table, the targets, and `target/bench/summary.json`.
fn report(out: Map<String, Value>) {
    println!("\n{:<26} {:>10}", "figure", "value");
    for (k, v) in &out {
        match v.as_f64() {
            Some(x) => println!("{k:<26} {x:>10.2}"),
            None => println!("{k:<26} {v}"),
        }
    }
    let targets = [
        ("login_overhead_ratio", 1.10),
        ("login_vs_minimal_ratio", 1.10),
        ("refresh_overhead_ratio", 1.5),
        ("cold_start_ratio", 1.5),
        ("peak_rss_mib", 48.0),
        ("binary_size_mib", 8.0),
    ];
    println!("\ntargets:");
    for (k, max) in targets {
        let v = out[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {k:<24} {v:>8.2} <= {max:<6} {}",
            if v <= max { "met" } else { "NOT met" }
        );
    }
    let path = out_dir().join("summary.json");
    std::fs::write(&path, format!("{:#}", Value::Object(out))).unwrap();
    println!("\nwrote {}", path.display());
}
