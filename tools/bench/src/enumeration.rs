//! Enumeration resistance, measured: the four ways a log in can fail must cost
//! the same, so timing tells an attacker nothing. Prints their latency
//! distributions side by side (real handler, DynamoDB Local) and writes
//! `target/bench/enumeration.json`.

use crate::common::*;
use crate::{bench_env, out_dir};
use serde_json::{json, Value};
use std::time::Instant;

const N: usize = 200;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Row {
    name: &'static str,
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
}

type Case<'a> = (&'static str, Box<dyn Fn(usize) -> Value + 'a>);

/// Round-robin over the cases, so drift (a warming JVM, a busy core) hits all alike.
async fn measure(env: &TestEnv, cases: &[Case<'_>]) -> Vec<Row> {
    for i in 0..20 {
        for (_, make) in cases {
            env.call(&make(N + i)).await;
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(N); cases.len()];
    for i in 0..N {
        for (c, (name, make)) in cases.iter().enumerate() {
            let ev = make(i);
            let started = Instant::now();
            let r = env.call(&ev).await;
            samples[c].push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, 401, "{name}: {}", r.text());
        }
    }
    cases
        .iter()
        .zip(samples)
        .map(|((name, _), mut ms)| {
            ms.sort_by(|a, b| a.total_cmp(b));
            Row {
                name,
                p50: percentile(&ms, 0.5),
                p90: percentile(&ms, 0.9),
                p99: percentile(&ms, 0.99),
                mean: ms.iter().sum::<f64>() / ms.len() as f64,
            }
        })
        .collect()
}

/// The cases, measured, reported.
pub async fn run() {
    // Lockout would turn repeated failures into 429s: the bench's env keeps it
    // out of the way.
    let env = bench_env().await;
    env.add_user("disabled", PASSWORD, |u| u.enabled = false)
        .await;
    env.add_user("ldapuser", PASSWORD, |u| u.auth_source = "ldap".into())
        .await;
    let rows = measure(&env, &cases()).await;
    report(&rows);
}

/// Every way a log in fails, each built afresh per request.
fn cases() -> Vec<Case<'static>> {
    let v2 = |user: String, pw: &str| login("v2-login", json!({"username": user, "password": pw}));
    let ops = |user: &str, pw: &str, source: &str| {
        login(
            "ops-acquire",
            json!({"username": user, "password": pw, "authSource": source}),
        )
    };
    vec![
        (
            "v2: wrong password",
            Box::new(move |_| v2("admin".into(), "wrong password")),
        ),
        (
            "v2: unknown user",
            Box::new(move |i| v2(format!("nobody-{i}"), PASSWORD)),
        ),
        (
            "v2: disabled user",
            Box::new(move |_| v2("disabled".into(), PASSWORD)),
        ),
        (
            "ops: wrong password",
            Box::new(move |_| ops("ldapuser", "wrong password", "ldap")),
        ),
        (
            "ops: wrong auth source",
            Box::new(move |_| ops("ldapuser", PASSWORD, "local")),
        ),
    ]
}

/// The table, the largest difference, and `target/bench/enumeration.json`.
fn report(rows: &[Row]) {
    println!("\nfailed log ins, {N} each, through the real handler on DynamoDB Local (ms)");
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>8}",
        "case", "p50", "p90", "p99", "mean"
    );
    for r in rows {
        println!(
            "{:<24} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            r.name, r.p50, r.p90, r.p99, r.mean
        );
    }
    let p50s: Vec<f64> = rows.iter().map(|r| r.p50).collect();
    let spread = p50s.iter().cloned().fold(f64::MIN, f64::max)
        - p50s.iter().cloned().fold(f64::MAX, f64::min);
    println!("largest p50 difference between cases: {spread:.2} ms");
    let json: Value = rows
        .iter()
        .map(|r| {
            (
                r.name.to_string(),
                json!({"p50_ms": r.p50, "p90_ms": r.p90, "p99_ms": r.p99, "mean_ms": r.mean}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    let dir = out_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("enumeration.json"), format!("{json:#}"));
}
