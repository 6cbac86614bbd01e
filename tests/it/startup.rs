//! The function binary refuses to start on a bad setting, naming it.

use std::process::Command;

fn start(envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_token-issuer"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run token-issuer");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn missing_and_bad_settings_stop_start_up_with_their_name() {
    let (ok, log) = start(&[("TOKENS_TABLE", "t-t-t"), ("AUDIENCE", "a")]);
    assert!(!ok);
    assert!(log.contains("USERS_TABLE is not set"), "{log}");

    let (ok, log) = start(&[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "a"),
        ("ACCESS_TOKEN_TTL_SECONDS", "an hour"),
    ]);
    assert!(!ok);
    assert!(log.contains("ACCESS_TOKEN_TTL_SECONDS is invalid"), "{log}");

    let (ok, log) = start(&[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "a"),
    ]);
    assert!(!ok);
    assert!(log.contains("AWS_REGION is not set"), "{log}");

    let (ok, log) = start(&[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "a"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
    ]);
    assert!(!ok);
    assert!(
        log.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        "{log}"
    );

    let (ok, log) = start(&[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "a"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("SIGNING_KEY_FILE", "/nonexistent/key.pem"),
    ]);
    assert!(!ok);
    assert!(log.contains("/nonexistent/key.pem"), "{log}");
}

#[test]
fn without_a_key_file_it_warns_about_the_ephemeral_key() {
    // Past the key, start-up needs the Lambda runtime API, absent here: it stops
    // after the warning, which is what this checks.
    let (ok, log) = start(&[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "a"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ]);
    assert!(!ok);
    assert!(log.contains("ephemeral key"), "{log}");
}
