//! Tracing set-up shared by the function and the admin tool.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` as `level` or `target=level,...` directives (default `info`).
/// `Targets` rather than `EnvFilter`: no regex engine in the binary.
pub fn filter_from_env(default: &str) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| default.parse().ok())
        .unwrap_or_default()
}

/// JSON logs for CloudWatch; level from `RUST_LOG` (default `info`).
pub fn init_json() {
    init_json_with(filter_from_env("info"), std::io::stdout);
}

/// The same JSON format to any writer (tests capture the logs with it).
pub fn init_json_with<W>(filter: Targets, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // A second init (tests) is harmless, so its error is ignored.
    let _ = tracing_subscriber::fmt()
        .json()
        // The builder's own default is INFO; `filter` alone decides.
        .with_max_level(LevelFilter::TRACE)
        .with_writer(writer)
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line already
        .finish()
        .with(filter)
        .try_init();
}

/// Plain warnings on stderr for the command-line tool.
pub fn init_cli() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .finish()
        .with(filter_from_env("warn"))
        .try_init();
}
