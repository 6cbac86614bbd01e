//! The bench harness. Run it with `scripts/bench.sh`, which starts DynamoDB
//! Local and builds the release binaries it measures; they sit beside this
//! one in the target directory.
//!
//! ```text
//! token-issuer-bench MODE...   run each mode, in order, in this process
//!   issuer       the issuer's costs against their floor (issuer.rs)
//!   enumeration  the four ways a log in fails, timed side by side (enumeration.rs)
//!   lambda       the Lambda-shaped mode: CPU shares, TLS, throughput (lambda.rs)
//!   pair         two builds (or terminator keys) cold-started alternately (lambda.rs)
//! ```

// The tests' harness: the real handler on fresh DynamoDB Local tables.
#[allow(dead_code)]
#[path = "../../../tests/common/mod.rs"]
mod common;
mod enumeration;
mod function;
mod issuer;
mod lambda;
mod share;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: token-issuer-bench MODE...  (MODE: issuer, enumeration, lambda, \
                     pair; run them with scripts/bench.sh)";

fn main() -> ExitCode {
    let modes: Vec<String> = std::env::args().skip(1).collect();
    if modes.iter().any(|m| m == "-h" || m == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if modes.is_empty()
        || modes
            .iter()
            .any(|m| !["issuer", "enumeration", "lambda", "pair"].contains(&m.as_str()))
    {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    // The function's own runtime (src/main.rs): one thread, plus the blocking
    // pool Argon2id runs on.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for mode in &modes {
        match mode.as_str() {
            "issuer" => rt.block_on(issuer::run()),
            "enumeration" => rt.block_on(enumeration::run()),
            "pair" => rt.block_on(lambda::pair()),
            _ => rt.block_on(lambda::run()),
        }
    }
    ExitCode::SUCCESS
}

/// Fresh tables and the real handler, with lockout out of the way: the
/// bench's repeated log ins and failures must never turn into 429s.
async fn bench_env() -> common::TestEnv {
    common::TestEnv::with_config(|c| {
        c.lockout_threshold = u32::MAX;
        c.lockout_user_threshold = u32::MAX;
        c.lockout_address_threshold = u32::MAX;
    })
    .await
}

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/bench is two folders down")
        .to_path_buf()
}

/// Where the bench writes: `target/bench/`.
fn out_dir() -> PathBuf {
    root().join("target/bench")
}

/// A binary built beside this one: the release functions
/// (`token-issuer`, `token-authorizer`) and the bench's own builds.
fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("this executable's path");
    me.parent().expect("a folder").join(name)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    pct(&mut v, 0.5)
}

fn event_text(name: &str) -> String {
    common::event(name).to_string()
}

/// The environment a release function is started with: the harness's AWS
/// settings (`inherit`, where set), the bench's tables and signing key,
/// and `extra`.
fn function_env(
    env: &common::TestEnv,
    inherit: &[&str],
    extra: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let key = out_dir().join("signing-key.pem");
    let _ = std::fs::create_dir_all(out_dir());
    if !key.exists() {
        std::fs::write(&key, token_issuer::keys::generate_pem().unwrap()).unwrap();
    }
    let mut fenv: Vec<(String, String)> = inherit
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    fenv.extend(extra);
    fenv.extend([
        ("USERS_TABLE".into(), env.config.store.users_table.clone()),
        ("TOKENS_TABLE".into(), env.config.store.tokens_table.clone()),
        ("AUDIENCE".into(), "bench".into()),
        ("SIGNING_KEY_FILE".into(), key.display().to_string()),
        // The bench times three: with the warm-up, without it
        // (`without_warm_up`), and as shipped (unset: it follows the memory
        // size).
        ("WARM_UP".into(), "true".into()),
    ]);
    fenv
}

/// `fenv` with the cold-start warm-up off (`WARM_UP=false`).
fn without_warm_up(fenv: &[(String, String)]) -> Vec<(String, String)> {
    fenv.iter()
        .cloned()
        .chain([("WARM_UP".to_string(), "false".to_string())])
        .collect()
}
