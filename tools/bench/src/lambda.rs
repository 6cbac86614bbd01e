//! The Lambda-shaped mode: the release function under the CPU share Lambda
//! gives each memory size (one vCPU at 1,769 MB, proportionally less below;
//! a cgroup v1 `cpu` quota), talking TLS to DynamoDB Local through a local
//! terminator whose CA only the bench's own build of the function
//! (`bench-issuer`) trusts. Per memory size: Init, the first log in after a
//! cold start as shipped (`WARM_UP` unset: on at small memory sizes), with
//! the warm-up off and with it on (all also with Init free of the share,
//! `init_free`), warm log
//! in p50/p99, refresh p50, peak RSS, the phases of a first log in and what
//! is left of it with each part of its work done first; then throughput
//! with 1, 2 and 4 function processes. Writes `lambda` and
//! `throughput` into target/bench/summary.json.

use crate::common::*;
use crate::function::Function;
use crate::share::CpuShare;
use crate::{bench_env, event_text, function_env, median, ms, out_dir, pct, sibling};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use token_issuer::core::password::{Hasher, Password};
use tokio::net::{TcpListener, TcpStream};

/// The memory sizes timed: `BENCH_MEMORY_SIZES` (comma-separated MB), or
/// these.
const MEMORY_SIZES: [u64; 3] = [128, 512, 1769];

fn memory_sizes() -> Vec<u64> {
    match std::env::var("BENCH_MEMORY_SIZES") {
        Err(_) => MEMORY_SIZES.to_vec(),
        Ok(v) => v
            .split(',')
            .map(|mb| match mb.trim().parse() {
                Ok(mb @ 128..=10240) => mb,
                _ => {
                    panic!("BENCH_MEMORY_SIZES: MB from 128 to 10240, comma-separated (got {v:?})")
                }
            })
            .collect(),
    }
}

/// Lambda arm64's prices, USD: per GB-second and per million requests.
const GB_SECOND: f64 = 0.000_013_333_4;
const PER_MILLION_REQUESTS: f64 = 0.20;

/// What a million requests of `p50_ms` cost at `mb`: the duration billed is
/// the measured time (whole milliseconds) under that size's CPU share, so
/// no model of how CPU work stretches is needed. The README's table is this.
fn usd_per_million(p50_ms: f64, mb: u64) -> f64 {
    let billed_s = p50_ms.ceil() / 1000.0;
    billed_s * (mb as f64 / 1024.0) * GB_SECOND * 1e6 + PER_MILLION_REQUESTS
}
/// Runs of `bench-first-login` per figure.
const COLD_STARTS: usize = 5;
/// Cold starts per figure through the runtime API. At 128 MB a first log in
/// ends in one 100 ms quota period or the next: the median of five starts
/// of one and the same function ranged from 0.77 to 1.73 of the ideal over
/// three runs.
const COLD_STARTS_TIMED: usize = 11;
const WARM_LOGINS: usize = 30;
const THROUGHPUT_SECS: u64 = 8;

/// The figures, in order, then the report.
pub async fn run() {
    let env = bench_env().await;
    let bench = Bench::start(&env).await;
    bench.reaches_storage_over_tls().await;
    let (lambda, skipped) = bench.memory_sizes().await;
    if let Some(why) = &skipped {
        println!(
            "lambda: the CPU-share runs are skipped: they need root and the cgroup v1 cpu \
             controller ({why})"
        );
    }
    let throughput = bench.throughput(&env).await;
    let path = write_summary(&lambda, throughput);
    report(&lambda);
    println!("\nwrote {}", path.display());
}

/// `token-issuer-bench pair`: two sides started alternately, cold, under one
/// memory size's share, each to a first log in; paired because two starts a
/// minute apart differ by more than most changes to a first log in. A side
/// is a build of the function (`PAIR_A_BIN`, `PAIR_B_BIN`; the bench's own
/// `bench-issuer` by default) and the key of the TLS terminator it talks to
/// (`PAIR_A_KEY`, `PAIR_B_KEY`: `server`, RSA, by default, or `server-ec`,
/// ECDSA P-256; both in `target/bench/tls/`). `PAIR_MB` (1769) and `PAIR_N`
/// (30) set the share and the pairs.
pub async fn pair() {
    let env = bench_env().await;
    let bench = Bench::start(&env).await;
    bench.reaches_storage_over_tls().await;
    let setting = |k: &str| std::env::var(k).ok();
    let mb: u64 = setting("PAIR_MB").map_or(1769, |v| v.parse().expect("PAIR_MB: a number"));
    let pairs: usize = setting("PAIR_N").map_or(30, |v| v.parse().expect("PAIR_N: a number"));
    let share = CpuShare::new(mb).expect("a CPU share (root, cgroup v1 cpu)");
    let plain = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("DynamoDB Local");
    let side = |name: &str| {
        let bin =
            setting(&format!("PAIR_{name}_BIN")).map_or_else(|| bench.bin.clone(), PathBuf::from);
        let key = setting(&format!("PAIR_{name}_KEY")).unwrap_or_else(|| "server".into());
        let upstream = plain.trim_start_matches("http://").to_string();
        let mut fenv = bench.no_warm.clone();
        fenv.push((
            "AWS_ENDPOINT_URL_DYNAMODB".into(),
            tls_terminator_with(upstream, &key),
        ));
        println!(
            "pair: {name} = {} with the terminator's {key} key",
            bin.display()
        );
        (bin, fenv)
    };
    let sides = [side("A"), side("B")];
    // DynamoDB Local's JVM gets faster over its first thousands of requests.
    let full = CpuShare::new(1769).expect("a CPU share");
    for _ in 0..12 {
        bench.warm(&full).await;
    }
    let mut firsts = [Vec::new(), Vec::new()];
    let mut hellos = Vec::new();
    for i in 0..pairs {
        // Each side goes first in half the pairs.
        for k in [i % 2, 1 - i % 2] {
            let (bin, fenv) = &sides[k];
            firsts[k].push(cold_once(bin, fenv, &share, &bench.login).await.1);
        }
        hellos.push(
            cold_once(&bench.hello_bin, &bench.fenv, &share, &bench.jwks)
                .await
                .1,
        );
        println!(
            "pair {i}: A {:.2} ms, B {:.2} ms",
            firsts[0][i], firsts[1][i]
        );
    }
    let warm = bench.warm(&share).await.login_p50;
    let ideal = median(hellos.clone()) + warm;
    let b_less: Vec<f64> = firsts[0]
        .iter()
        .zip(&firsts[1])
        .map(|(a, b)| a - b)
        .collect();
    let quartiles = |v: &[f64]| {
        let mut v = v.to_vec();
        (pct(&mut v, 0.25), pct(&mut v, 0.5), pct(&mut v, 0.75))
    };
    for (name, f) in ["A", "B"].iter().zip(&firsts) {
        let (q1, m, q3) = quartiles(f);
        println!(
            "{name}: first log in after a cold start, median {m:.2} ms (quartiles {q1:.2}, {q3:.2}); \
             cold_vs_ideal_ratio {:.2}",
            m / ideal
        );
    }
    println!(
        "B less than A: median {:.2} ms per pair, less in {} of {pairs}; the empty function's \
         cold start {:.2} ms, warm log in p50 {warm:.2} ms, at {mb} MB",
        median(b_less.clone()),
        b_less.iter().filter(|d| **d > 0.0).count(),
        median(hellos),
    );
}

/// The bench's function, its settings and the events it is sent.
struct Bench {
    bin: PathBuf,
    hello_bin: PathBuf,
    phases_bin: PathBuf,
    fenv: Vec<(String, String)>,
    no_warm: Vec<(String, String)>,
    /// As shipped: `WARM_UP` unset, so it follows the memory size.
    shipped: Vec<(String, String)>,
    login: String,
    jwks: String,
}

impl Bench {
    /// Starts the TLS terminator and settles the function's environment.
    async fn start(env: &TestEnv) -> Self {
        let plain = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("DynamoDB Local");
        let upstream = plain.trim_start_matches("http://").to_string();
        let endpoint = tls_terminator(upstream);
        let fenv = function_env(
            env,
            &[
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_REGION",
                "AWS_EC2_METADATA_DISABLED",
                "PATH",
            ],
            vec![
                ("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint),
                (
                    "TEST_CA_FILE".into(),
                    out_dir().join("tls/ca.pem").display().to_string(),
                ),
                ("RUST_LOG".into(), "warn".into()),
            ],
        );
        Self {
            bin: sibling("bench-issuer"),
            hello_bin: sibling("bench-hello"),
            phases_bin: sibling("bench-first-login"),
            no_warm: crate::without_warm_up(&fenv),
            shipped: fenv
                .iter()
                .filter(|(k, _)| k != "WARM_UP")
                .cloned()
                .collect(),
            fenv,
            login: event_text("v2-login"),
            jwks: event_text("jwks"),
        }
    }

    /// The function must reach DynamoDB over TLS at all.
    async fn reaches_storage_over_tls(&self) {
        let mut f = Function::start(&self.bin, &self.fenv).await;
        let (_, resp) = f.invoke(&self.login).await;
        assert_eq!(resp["statusCode"], 200, "TLS mode: {resp}");
    }

    /// Each memory size's figures, under its CPU share; stops, with the
    /// reason, where the shares cannot be made.
    async fn memory_sizes(&self) -> (Map<String, Value>, Option<String>) {
        let mut lambda = Map::new();
        for mb in memory_sizes() {
            let share = match CpuShare::new(mb) {
                Ok(s) => s,
                Err(why) => return (lambda, Some(why)),
            };
            let figures = self.memory_size(mb, &share).await;
            println!("lambda {mb} MB: {figures:#}");
            lambda.insert(mb.to_string(), figures);
        }
        (lambda, None)
    }

    async fn memory_size(&self, mb: u64, share: &CpuShare) -> Value {
        let cold = self.cold_starts(share).await;
        let warm = self.warm(share).await;
        let phases = self.first_login_phases(share).await;
        let parts = self.first_login_parts(share).await;
        let first_login = median(cold.first_logins);
        let first_login_with_warm_up = median(cold.first_logins_with_warm_up);
        let cold_start = median(cold.jwks);
        let hello = median(cold.hello);
        // What a first log in could cost at best: the empty function's cold
        // start, then a warm log in.
        let ideal = hello + warm.login_p50;
        let free = cold.init_free;
        let free_ideal = median(free.hello.clone()) + warm.login_p50;
        let init_free = json!({
            "init_with_warm_up_ms": median(free.inits_with_warm_up),
            "first_login_ms": median(free.first_logins.clone()),
            "first_login_without_warm_up_ms": median(free.first_logins_without_warm_up.clone()),
            "first_login_with_warm_up_ms": median(free.first_logins_with_warm_up.clone()),
            "hello_cold_start_ms": median(free.hello),
            "cold_vs_ideal_ratio": median(free.first_logins) / free_ideal,
            "cold_vs_ideal_ratio_without_warm_up":
                median(free.first_logins_without_warm_up) / free_ideal,
            "cold_vs_ideal_ratio_with_warm_up": median(free.first_logins_with_warm_up) / free_ideal,
        });
        let first_login_without_warm_up = median(cold.first_logins_without_warm_up);
        json!({
            "init_ms": median(cold.inits),
            "init_without_warm_up_ms": median(cold.inits_without_warm_up),
            "init_with_warm_up_ms": median(cold.inits_with_warm_up),
            "hello_init_ms": median(cold.hello_inits),
            "cold_start_ms": cold_start,
            "first_login_ms": first_login,
            "first_login_without_warm_up_ms": first_login_without_warm_up,
            "first_login_with_warm_up_ms": first_login_with_warm_up,
            "hello_cold_start_ms": hello,
            "warm_login_p50_ms": warm.login_p50,
            "warm_login_p99_ms": warm.login_p99,
            "refresh_p50_ms": warm.refresh_p50,
            "login_usd_per_million": usd_per_million(warm.login_p50, mb),
            "refresh_usd_per_million": usd_per_million(warm.refresh_p50, mb),
            "peak_rss_mib": warm.rss,
            "cold_login_ratio": first_login / (cold_start + warm.login_p50),
            "cold_vs_ideal_ratio": first_login / ideal,
            "cold_vs_ideal_ratio_without_warm_up": first_login_without_warm_up / ideal,
            "cold_vs_ideal_ratio_with_warm_up": first_login_with_warm_up / ideal,
            "first_login_phases_ms": Value::Object(phases),
            "first_login_parts_ms": Value::Object(parts),
            "init_free": init_free,
        })
    }

    /// Cold: Init, then the first request (a log in as shipped, with the
    /// warm-up off and with it on, or the JWKS as shipped; the empty
    /// function's JWKS), each also with Init free of the share. Each round
    /// starts the kinds in a new order: in a fixed order, the start as
    /// shipped, which is the start with the warm-up at 128 MB, came out at
    /// 1.30-1.33 of the ideal against 1.11-1.14 over three runs. Prints
    /// every kind's times, sorted.
    async fn cold_starts(&self, share: &CpuShare) -> Cold {
        let (bin, hello) = (self.bin.as_path(), self.hello_bin.as_path());
        let (login, jwks) = (self.login.as_str(), self.jwks.as_str());
        type Env<'a> = &'a [(String, String)];
        // The function, its settings, its event, and whether Init is free.
        let kinds: [(&Path, Env<'_>, &str, bool); 9] = [
            (bin, &self.shipped, login, false),
            (bin, &self.no_warm, login, false),
            (bin, &self.fenv, login, false),
            (bin, &self.shipped, jwks, false),
            (hello, &self.fenv, jwks, false),
            (bin, &self.shipped, login, true),
            (bin, &self.no_warm, login, true),
            (bin, &self.fenv, login, true),
            (hello, &self.fenv, jwks, true),
        ];
        const NAMES: [&str; 9] = [
            "login as shipped",
            "login, warm-up off",
            "login, warm-up on",
            "JWKS as shipped",
            "empty function",
            "Init free: login as shipped",
            "Init free: login, warm-up off",
            "Init free: login, warm-up on",
            "Init free: empty function",
        ];
        let mut times: [Vec<(f64, f64)>; 9] = Default::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..COLD_STARTS_TIMED {
            for i in shuffled::<9>(&mut seed) {
                let (bin, env, event, free) = kinds[i];
                times[i].push(match free {
                    false => cold_once(bin, env, share, event).await,
                    true => cold_once_init_free(bin, env, share, event).await,
                });
            }
        }
        for (name, t) in NAMES.iter().zip(&times) {
            let mut totals: Vec<f64> = t.iter().map(|t| t.1).collect();
            totals.sort_by(f64::total_cmp);
            let shown: Vec<String> = totals.iter().map(|t| format!("{t:.1}")).collect();
            println!("cold {} MB, {name}: {} ms", share.mb(), shown.join(" "));
        }
        let [shipped, off, on, jwks, hello, free_shipped, free_off, free_on, free_hello] =
            times.map(|t| t.into_iter().unzip::<f64, f64, Vec<f64>, Vec<f64>>());
        Cold {
            inits: shipped.0,
            first_logins: shipped.1,
            inits_without_warm_up: off.0,
            first_logins_without_warm_up: off.1,
            inits_with_warm_up: on.0,
            first_logins_with_warm_up: on.1,
            jwks: jwks.1,
            hello_inits: hello.0,
            hello: hello.1,
            init_free: InitFree {
                first_logins: free_shipped.1,
                first_logins_without_warm_up: free_off.1,
                inits_with_warm_up: free_on.0,
                first_logins_with_warm_up: free_on.1,
                hello: free_hello.1,
            },
        }
    }

    /// Warm: one instance, its log ins and refreshes, and its peak RSS.
    async fn warm(&self, share: &CpuShare) -> Warm {
        let mut f = Function::start_in(&self.bin, &self.fenv, Some(share)).await;
        let mut logins = Vec::new();
        let mut refresh_token = String::new();
        for i in 0..(5 + WARM_LOGINS) {
            let sent = Instant::now();
            let (at, resp) = f.invoke(&self.login).await;
            assert_eq!(resp["statusCode"], 200, "{resp}");
            if i >= 5 {
                logins.push(ms(at - sent));
            }
            refresh_token = refresh_token_of(&resp);
        }
        let mut refreshes = Vec::new();
        for _ in 0..WARM_LOGINS {
            let ev = json!({"refreshToken": refresh_token}).to_string();
            let mut e = event("v2-refresh");
            e["body"] = Value::String(ev);
            let sent = Instant::now();
            let (at, resp) = f.invoke(&e.to_string()).await;
            assert_eq!(resp["statusCode"], 200, "{resp}");
            refreshes.push(ms(at - sent));
            refresh_token = refresh_token_of(&resp);
        }
        Warm {
            login_p50: pct(&mut logins, 0.5),
            login_p99: pct(&mut logins, 0.99),
            refresh_p50: median(refreshes),
            rss: f.peak_rss_mib(),
        }
    }

    /// The phases of a first log in (`bench-first-login`), in fresh
    /// processes under the share: their medians.
    async fn first_login_phases(&self, share: &CpuShare) -> Map<String, Value> {
        let mut phases: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for _ in 0..COLD_STARTS {
            let mut cmd = tokio::process::Command::new(&self.phases_bin);
            cmd.envs(self.fenv.iter().cloned()).stderr(Stdio::null());
            share.confine(&mut cmd);
            let out = cmd.output().await.expect("run bench-first-login");
            let line: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
            for (k, v) in line.as_object().unwrap() {
                phases
                    .entry(k.clone())
                    .or_default()
                    .push(v.as_f64().unwrap());
            }
        }
        phases
            .into_iter()
            .map(|(k, v)| (k, json!(median(v))))
            .collect()
    }

    /// What a first log in through the handler costs beyond the second
    /// (`bench-first-login login PART`, fresh processes under the share, the
    /// parts interleaved), with nothing done before it and with each part of
    /// a cold start's work done first: medians of the first log in and of
    /// its excess over the second.
    async fn first_login_parts(&self, share: &CpuShare) -> Map<String, Value> {
        const PARTS: [&str; 4] = ["none", "connections", "area", "all"];
        let mut runs: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); PARTS.len()];
        for _ in 0..COLD_STARTS {
            for (part, (firsts, excesses)) in PARTS.iter().zip(runs.iter_mut()) {
                let mut cmd = tokio::process::Command::new(&self.phases_bin);
                cmd.args(["login", part])
                    .envs(self.no_warm.iter().cloned())
                    .env("LOGIN_EVENT", &self.login)
                    .stderr(Stdio::null());
                share.confine(&mut cmd);
                let out = cmd.output().await.expect("run bench-first-login");
                let line: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
                let f = |k: &str| line[k].as_f64().unwrap();
                firsts.push(f("first"));
                excesses.push(f("first") - f("second"));
            }
        }
        PARTS
            .iter()
            .zip(runs)
            .map(|(part, (firsts, excesses))| {
                let v = json!({"first": median(firsts), "excess": median(excesses)});
                (part.to_string(), v)
            })
            .collect()
    }

    /// Throughput: N processes, each fed as fast as it answers, sharing one
    /// DynamoDB Local; per second and per CPU-second of the functions,
    /// against what Argon2id alone allows, timed between the log ins of the
    /// one-process window.
    async fn throughput(&self, env: &TestEnv) -> Map<String, Value> {
        let mut argon = ArgonAlone::new(env);
        let mut throughput = Map::new();
        for n in [1usize, 2, 4] {
            let mut row = Map::new();
            for kind in [Kind::Login, Kind::Refresh] {
                let (count, secs, cpu) = if n == 1 && kind == Kind::Login {
                    let f = Function::start(&self.bin, &self.fenv).await;
                    feed(f, &self.login, kind, Some(&mut argon)).await
                } else {
                    self.throughput_of(n, kind).await
                };
                let name = kind.name();
                row.insert(format!("{name}s_per_second"), json!(count as f64 / secs));
                row.insert(format!("{name}s_per_cpu_second"), json!(count as f64 / cpu));
            }
            throughput.insert(n.to_string(), Value::Object(row));
        }
        let one = throughput["1"]["logins_per_cpu_second"].as_f64().unwrap();
        let argon_limit = argon.per_cpu_second();
        throughput.insert("argon2id_limit_per_cpu_second".into(), json!(argon_limit));
        throughput.insert("login_vs_argon2id_limit".into(), json!(one / argon_limit));
        println!("throughput: {:#}", Value::Object(throughput.clone()));
        throughput
    }

    /// `n` processes answering `kind` for `THROUGHPUT_SECS`: requests
    /// answered, the longest run's seconds, the CPU seconds of all.
    async fn throughput_of(&self, n: usize, kind: Kind) -> (u64, f64, f64) {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (bin, fenv, login) = (self.bin.clone(), self.fenv.clone(), self.login.clone());
                tokio::spawn(async move {
                    let f = Function::start(&bin, &fenv).await;
                    feed(f, &login, kind, None).await
                })
            })
            .collect();
        let (mut count, mut secs, mut cpu) = (0u64, 0f64, 0f64);
        for t in tasks {
            let (c, s, u) = t.await.unwrap();
            count += c;
            secs = secs.max(s);
            cpu += u;
        }
        (count, secs, cpu)
    }
}

#[derive(Default)]
struct Cold {
    /// As shipped.
    inits: Vec<f64>,
    first_logins: Vec<f64>,
    inits_without_warm_up: Vec<f64>,
    first_logins_without_warm_up: Vec<f64>,
    first_logins_with_warm_up: Vec<f64>,
    inits_with_warm_up: Vec<f64>,
    hello_inits: Vec<f64>,
    jwks: Vec<f64>,
    /// The empty `lambda_http` function's cold start, to its first answer.
    hello: Vec<f64>,
    /// The same starts with Init free of the share.
    init_free: InitFree,
}

#[derive(Default)]
struct InitFree {
    first_logins: Vec<f64>,
    first_logins_without_warm_up: Vec<f64>,
    first_logins_with_warm_up: Vec<f64>,
    inits_with_warm_up: Vec<f64>,
    hello: Vec<f64>,
}

struct Warm {
    login_p50: f64,
    login_p99: f64,
    refresh_p50: f64,
    rss: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Login,
    Refresh,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Refresh => "refresh",
        }
    }
}

/// One function process fed `kind` as fast as it answers, for
/// `THROUGHPUT_SECS`: (requests, seconds, CPU seconds). With `argon`, one
/// Argon2id verification alone after every `ARGON_EVERY` answers, while the
/// function waits (its time is left out of the window).
async fn feed(
    mut f: Function,
    login: &str,
    kind: Kind,
    mut argon: Option<&mut ArgonAlone>,
) -> (u64, f64, f64) {
    let (_, first) = f.invoke(login).await;
    let mut token = refresh_token_of(&first);
    let pid = f.child.id().unwrap_or(0);
    let cpu0 = cpu_seconds(pid);
    let t0 = Instant::now();
    let mut aside = Duration::ZERO;
    let mut done = 0u64;
    while t0.elapsed() - aside < Duration::from_secs(THROUGHPUT_SECS) {
        if let Some(argon) = argon.as_deref_mut() {
            if done % ARGON_EVERY == 0 {
                let t = Instant::now();
                argon.verify_once();
                aside += t.elapsed();
            }
        }
        let ev = if kind == Kind::Login {
            login.to_string()
        } else {
            let mut e = event("v2-refresh");
            e["body"] = Value::String(json!({"refreshToken": token}).to_string());
            e.to_string()
        };
        let (_, resp) = f.invoke(&ev).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
        if kind == Kind::Refresh {
            token = refresh_token_of(&resp);
        }
        done += 1;
    }
    let secs = (t0.elapsed() - aside).as_secs_f64();
    (done, secs, cpu_seconds(pid) - cpu0)
}

/// One verification alone after this many log ins: about 30 over the window.
const ARGON_EVERY: u64 = 10;

/// Log ins per CPU-second that Argon2id alone would allow: verifications in
/// this process, each timed by the CPU it used (the functions' figure is CPU
/// time too, and on a shared machine a wall-clock timing also counts the
/// moments another process had the core). They are spread over the log ins'
/// own window: 20 taken at once before it came out anywhere between 52 and
/// 86 a second in three runs of a day, as the machine's load came and went.
struct ArgonAlone {
    hasher: Hasher,
    password: Password,
    phc: String,
    cpu_ms: Vec<f64>,
}

impl ArgonAlone {
    fn new(env: &TestEnv) -> Self {
        Self {
            hasher: Hasher::new(),
            password: Password::parse(PASSWORD).unwrap(),
            phc: env.admin.password_hash.clone(),
            cpu_ms: Vec::new(),
        }
    }

    fn verify_once(&mut self) {
        let t = thread_cpu_seconds();
        assert!(self.hasher.verify(&self.password, Some(&self.phc)));
        self.cpu_ms.push((thread_cpu_seconds() - t) * 1000.0);
    }

    fn per_cpu_second(self) -> f64 {
        1000.0 / median(self.cpu_ms)
    }
}

/// The CPU time this thread has used, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a timespec it may write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Adds `lambda` and `throughput` to the issuer mode's summary.
fn write_summary(lambda: &Map<String, Value>, throughput: Map<String, Value>) -> PathBuf {
    let path = out_dir().join("summary.json");
    let mut summary: Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    summary.insert("lambda".into(), Value::Object(lambda.clone()));
    summary.insert(
        "lambda_quota_period_ms".into(),
        crate::share::period_ms().into(),
    );
    summary.insert("throughput".into(), Value::Object(throughput));
    std::fs::write(&path, format!("{:#}", Value::Object(summary))).unwrap();
    path
}

/// The table per memory size, the cost per million, the targets.
fn report(lambda: &Map<String, Value>) {
    println!(
        "\n{:>6} {:>9} {:>11} {:>11} {:>9} {:>8} {:>10} {:>10} {:>9} {:>8}",
        "MB",
        "init",
        "cold start",
        "1st login",
        "(WARM_UP",
        "off, on)",
        "login p50",
        "login p99",
        "refresh",
        "ratio"
    );
    for (mb, v) in lambda {
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{mb:>6} {:>9.1} {:>11.1} {:>11.1} {:>9.1} {:>8.1} {:>10.1} {:>10.1} {:>9.1} {:>8.2}",
            f("init_ms"),
            f("cold_start_ms"),
            f("first_login_ms"),
            f("first_login_without_warm_up_ms"),
            f("first_login_with_warm_up_ms"),
            f("warm_login_p50_ms"),
            f("warm_login_p99_ms"),
            f("refresh_p50_ms"),
            f("cold_login_ratio")
        );
    }
    println!("\nLambda arm64, USD per million (billed duration = the p50 at that size):");
    println!("{:>6} {:>10} {:>10}", "MB", "log ins", "refreshes");
    for (mb, v) in lambda {
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{mb:>6} {:>10.2} {:>10.2}",
            f("login_usd_per_million"),
            f("refresh_usd_per_million")
        );
    }
    println!("\ntargets:");
    for (mb, v) in lambda {
        for (k, max) in [
            ("cold_login_ratio", 1.3),
            ("cold_vs_ideal_ratio", 1.2),
            ("cold_vs_ideal_ratio_without_warm_up", 1.2),
            ("cold_vs_ideal_ratio_with_warm_up", 1.2),
            ("init_free.cold_vs_ideal_ratio", 1.2),
            ("init_free.cold_vs_ideal_ratio_without_warm_up", 1.2),
            ("init_free.cold_vs_ideal_ratio_with_warm_up", 1.2),
        ] {
            let r = k
                .split('.')
                .fold(v, |v, part| &v[part])
                .as_f64()
                .unwrap_or(f64::NAN);
            println!(
                "  {k:<44} at {mb:>4} MB {r:>6.2} <= {max:<4} {}",
                if r <= max { "met" } else { "NOT met" }
            );
        }
    }
}

// ---- the parts: the TLS terminator, the process's figures ----------------

/// TLS in front of DynamoDB Local, with the certificate the bench made. It
/// runs on two threads of its own: on the bench's one-thread runtime, a cold
/// function's simultaneous handshakes waited for each other's RSA signatures
/// and for the runtime API the bench serves, where DynamoDB's endpoints
/// answer each connection on its own.
fn tls_terminator(upstream: String) -> String {
    tls_terminator_with(upstream, "server")
}

/// [`tls_terminator`] with the certificate and key `name.pem` and
/// `name.key`.
fn tls_terminator_with(upstream: String, name: &str) -> String {
    use tokio_rustls::rustls;
    let dir = out_dir().join("tls");
    let read = |f: &str| {
        std::fs::read(dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e} (scripts/bench.sh lambda makes it)"))
    };
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        pem::parse_many(read(&format!("{name}.pem")))
            .unwrap()
            .into_iter()
            .map(|p| p.into_contents().into())
            .collect();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        pem::parse(read(&format!("{name}.key")))
            .unwrap()
            .into_contents()
            .into(),
    );
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tls-terminator")
        .enable_all()
        .build()
        .unwrap();
    std::thread::spawn(move || {
        rt.block_on(async move {
            let l = TcpListener::from_std(l).unwrap();
            while let Ok((sock, _)) = l.accept().await {
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    // Without it, the handshake's small writes meet delayed ACKs:
                    // a 40 ms stall per new connection that DynamoDB does not have.
                    let _ = sock.set_nodelay(true);
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = up.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        })
    });
    format!("https://localhost:{port}")
}

/// One cold start: (Init, start to the first answer), in ms.
async fn cold_once(
    bin: &Path,
    env: &[(String, String)],
    share: &CpuShare,
    event: &str,
) -> (f64, f64) {
    first_answer(Function::start_in(bin, env, Some(share)).await, event).await
}

/// [`cold_once`] with Init free of the share, as Lambda's Init has been
/// observed to run at every memory size up to 3 GB: the quota is lifted
/// until the function first asks for an event, then put back before it
/// gets one.
async fn cold_once_init_free(
    bin: &Path,
    env: &[(String, String)],
    share: &CpuShare,
    event: &str,
) -> (f64, f64) {
    share.unthrottle();
    let throttle = Box::new(share.throttler());
    let f = Function::start_with(bin, env, Some(share), Some(throttle)).await;
    let times = first_answer(f, event).await;
    share.throttle();
    times
}

/// `0..N` in an order drawn from `seed` (xorshift, Fisher-Yates): the same
/// orders in every run.
fn shuffled<const N: usize>(seed: &mut u64) -> [usize; N] {
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    for i in (1..N).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        order.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
    order
}

/// A started function's Init and its first answer to `event`, from its
/// start, in ms.
async fn first_answer(mut f: Function, event: &str) -> (f64, f64) {
    let (at, resp) = f.invoke(event).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let polled = f.runtime.first_poll.lock().unwrap().unwrap_or(at);
    (ms(polled - f.started), ms(at - f.started))
}

/// CPU seconds a process has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15, so 11 and 12 here.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// The refresh token of a vendor (`/v2`) grant.
fn refresh_token_of(resp: &Value) -> String {
    body_of(resp)["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string()
}

fn body_of(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}
