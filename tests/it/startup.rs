//! The function binary refuses to start on a bad setting, naming it, and
//! reads the settings Lambda gives it.

use std::process::Command;

fn start(envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_token-issuer"));
    // No shared AWS files unless a test names them.
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
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

/// The function's own settings, and the AWS ones Lambda provides.
const SETTINGS: &[(&str, &str)] = &[
    ("USERS_TABLE", "users"),
    ("TOKENS_TABLE", "tokens"),
    ("AUDIENCE", "a"),
];
const AWS: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
];

/// Starts with the settings of `parts` together: start-up must stop, logging
/// `expected`. (Past the key, start-up needs the Lambda runtime API, absent
/// here, so even a good start stops, after the key's log line.)
fn stops_with(parts: &[&[(&str, &str)]], expected: &str) {
    let (ok, log) = start(&parts.concat());
    assert!(!ok, "{log}");
    assert!(log.contains(expected), "{log}");
}

#[test]
fn missing_and_bad_settings_stop_start_up_with_their_name() {
    stops_with(
        &[&[("TOKENS_TABLE", "t-t-t"), ("AUDIENCE", "a")]],
        "USERS_TABLE is not set",
    );
    stops_with(
        &[SETTINGS, &[("ACCESS_TOKEN_TTL_SECONDS", "an hour")]],
        "ACCESS_TOKEN_TTL_SECONDS is invalid",
    );
    stops_with(&[SETTINGS, &AWS[1..]], "no AWS region: set AWS_REGION");
    stops_with(
        &[SETTINGS, &AWS[..2]],
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
    stops_with(
        &[
            SETTINGS,
            AWS,
            &[("SIGNING_KEY_FILE", "/nonexistent/key.pem")],
        ],
        "/nonexistent/key.pem",
    );
}

#[test]
fn without_a_key_file_it_warns_about_the_ephemeral_key() {
    stops_with(&[SETTINGS, AWS], "ephemeral key");
}

/// Outside Lambda, region and static keys may come from the shared files of
/// the selected profile, as the SDK's standard chain reads them.
#[test]
fn region_and_keys_can_come_from_the_shared_files() {
    let dir = std::env::temp_dir().join(format!("aws-files-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[dev]\naws_access_key_id = local\naws_secret_access_key = local\n",
    )
    .unwrap();
    let files: &[(&str, &str)] = &[
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
    ];
    // The default profile has a region but no keys.
    stops_with(&[SETTINGS, files], "no AWS credentials");
    // The dev profile has both: start-up goes on to the key.
    let (_, log) = start(&[SETTINGS, files, &[("AWS_PROFILE", "dev")]].concat());
    assert!(!log.contains("no AWS"), "{log}");
    assert!(log.contains("ephemeral key"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `WARM_UP` unset follows the memory size Lambda gives the function: a
/// 128 MB function warms up before it asks for its first request, a
/// 1,024 MB one does not, and a size that is not a number stops start-up.
/// (Storage is a closed port here: the warm-up finds it unreachable at once
/// and is skipped, as it would be in Lambda.)
#[test]
fn the_warm_up_follows_the_memory_size() {
    let run = |mb: &str| {
        let extra: &[(&str, &str)] = &[
            ("RUST_LOG", "debug"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mb),
        ];
        start(&[SETTINGS, AWS, extra].concat())
    };
    let (_, small) = run("128");
    assert!(small.contains("warmed up"), "{small}");
    let (_, large) = run("1024");
    assert!(large.contains("ephemeral key"), "{large}");
    assert!(!large.contains("warmed up"), "{large}");
    let (ok, bad) = run("lots");
    assert!(
        !ok && bad.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        "{bad}"
    );
}

/// The functions' cryptography is ring's: aws-lc's C library made each
/// function 1.68 MiB bigger and, by default, seeded its random generator
/// from CPU jitter entropy on a process's first TLS handshake (about 65 ms
/// of CPU at a full vCPU, 1 to 2 s at 128 MB). This holds the function's
/// binary, built with the same settings as the shipped one, to ring alone.
/// (A stripped release binary has no names left to look for; this one
/// keeps them.)
#[test]
fn the_function_links_ring_and_not_aws_lc() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_token-issuer")).expect("the function's binary");
    let has = |s: &str| bin.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(
        has("ring_core_0_17"),
        "the binary keeps ring's symbol names, so the check below means something"
    );
    assert!(
        !has("aws_lc_0_"),
        "aws-lc is linked into the function again: a dependency's feature brought it back"
    );
}
