//! The multi-region layout's sweeper (`SweeperFunction` in `template.yaml`),
//! its inline code run as Lambda would run it, with boto3, against the
//! tokens table in DynamoDB Local, under its own identity so that its calls
//! are held against its policy (`tests/it/iam.rs`).

use crate::common::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The sweeper's code as the template deploys it.
fn inline_code() -> String {
    let path = format!("{}/template.yaml", env!("CARGO_MANIFEST_DIR"));
    let t: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).expect("template.yaml"))
            .expect("template.yaml is YAML");
    t["Resources"]["SweeperFunction"]["Properties"]["InlineCode"]
        .as_str()
        .expect("the sweeper's InlineCode")
        .to_string()
}

/// A Python with boto3: the one scripts/tools.sh installs for moto.
fn python() -> String {
    let tools = std::env::var("TOOLS_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/token-issuer-tools",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    format!("{tools}/moto/bin/python")
}

/// Runs the handler once, as Lambda would with 15 minutes left, and returns
/// what it returned.
fn sweep(table: &str) -> Value {
    let dir = std::env::temp_dir().join(unique("sweeper-"));
    std::fs::create_dir_all(&dir).expect("a directory for the code");
    std::fs::write(dir.join("index.py"), inline_code()).expect("index.py");
    let run = "import json, index\n\
               class Context:\n    def get_remaining_time_in_millis(self):\n        return 900000\n\
               print(json.dumps(index.handler({}, Context())))\n";
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(run)
        .current_dir(&dir)
        .env("TOKENS_TABLE", table)
        .env("AWS_ACCESS_KEY_ID", SWEEPER_IDENTITY)
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "the sweeper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("the handler's result");
    serde_json::from_str(last).expect("JSON")
}

/// The refresh families among `items`.
fn family(items: &[std::collections::HashMap<String, AttributeValue>]) -> BTreeSet<String> {
    keys(items)
        .into_iter()
        .filter(|k| k.starts_with("RF#"))
        .collect()
}

fn keys(items: &[std::collections::HashMap<String, AttributeValue>]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| i.get("pk").and_then(|p| p.as_s().ok()).cloned())
        .collect()
}

#[tokio::test]
async fn the_sweeper_deletes_exactly_the_items_past_their_end() {
    let env = TestEnv::new().await;
    let now = OffsetDateTime::now_utc();
    // A family whose absolute end passed a day ago (logged in 31 days
    // before now, with a 30-day family) and one logged in now: items the
    // function really writes, with its `ttl`.
    env.clock.set(now - time::Duration::days(31));
    let old = env.call(&event("v2-login")).await;
    assert_eq!(old.status, 200, "{}", old.text());
    let old_family = family(&env.token_items().await);
    env.clock.set(now);
    let fresh = env.call(&event("v2-login")).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    let fresh_family = family(&env.token_items().await)
        .difference(&old_family)
        .cloned()
        .collect::<BTreeSet<_>>();
    assert_eq!((old_family.len(), fresh_family.len()), (1, 1));
    // Items of other kinds, past their end and not, and one without `ttl`
    // (an operator's client, which never expires).
    let put = |pk: &str, ttl: Option<i64>| {
        let mut req = env
            .store
            .client()
            .put_item()
            .table_name(&env.config.store.tokens_table)
            .item("pk", AttributeValue::S(pk.into()));
        if let Some(ttl) = ttl {
            req = req.item("ttl", AttributeValue::N(ttl.to_string()));
        }
        req.send()
    };
    let t = now.unix_timestamp();
    put("TH#spent", Some(t - 60)).await.expect("put");
    put("AC#spent", Some(t - 1)).await.expect("put");
    put("BS#spent", Some(t - 86_400)).await.expect("put");
    put("TH#counting", Some(t + 900)).await.expect("put");
    put("CL#operator-client", None).await.expect("put");
    // Past their end: the old family and those three; the log ins' throttle
    // record was moved forward by the second one and lives on.
    let expired: BTreeSet<String> = old_family
        .iter()
        .cloned()
        .chain(["TH#spent", "AC#spent", "BS#spent"].map(String::from))
        .collect();
    let everything = keys(&env.token_items().await);
    assert!(everything
        .iter()
        .any(|k| k.starts_with("TH#") && k != "TH#spent" && k != "TH#counting"));

    let result = sweep(&env.config.store.tokens_table);
    assert_eq!(result["swept"], expired.len(), "{result}");
    assert_eq!(result["kept"], 0, "{result}");
    assert_eq!(result["complete"], true, "{result}");
    let left = keys(&env.token_items().await);
    let kept: BTreeSet<String> = everything.difference(&expired).cloned().collect();
    assert_eq!(left, kept);
    assert!(left.is_superset(&fresh_family));
    assert!(left.contains("CL#operator-client") && left.contains("TH#counting"));

    // The family swept was already over: its refresh is refused as before.
    // The live one still refreshes.
    let refresh = |r: &Reply| {
        login(
            "v2-refresh",
            serde_json::json!({ "refreshToken": r.json()["content"][0]["refreshToken"] }),
        )
    };
    assert_eq!(env.call(&refresh(&old)).await.status, 401);
    assert_eq!(env.call(&refresh(&fresh)).await.status, 200);

    // A second run finds nothing.
    let again = sweep(&env.config.store.tokens_table);
    assert_eq!(again["swept"], 0, "{again}");
}
