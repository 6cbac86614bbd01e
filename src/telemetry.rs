//! Tracing set-up shared by the function and the admin tool.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer as _;

/// An error and its sources on one line, for the log: the one place errors
/// are formatted.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `RUST_LOG` as `level` or `target=level,...` directives (default `info`).
/// `Targets` rather than `EnvFilter`: no regex engine in the binary.
pub fn filter_from_env(default: &str) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| default.parse().ok())
        .unwrap_or_default()
}

/// Crates whose verbose output carries what must never be logged: the Lambda
/// runtime logs the raw event (with the password in its body) at trace, the
/// AWS SDK logs DynamoDB items (password hashes) and HTTP bodies. Matched as
/// target prefixes.
const CAPPED: &[&str] = &["aws_", "lambda_", "hyper", "h2", "rustls", "tower"];

/// The most verbose level those crates may log at, whatever `RUST_LOG` says.
const CAP: LevelFilter = LevelFilter::INFO;

/// `filter` with every capped crate held to [`CAP`]: its directives for them
/// lowered, and the crates' own default lowered too.
pub fn capped(filter: Targets) -> Targets {
    use tracing::Level;
    let mut out = filter.clone();
    for (target, level) in filter.iter() {
        if CAPPED.iter().any(|c| target.starts_with(c)) {
            out = out.with_target(target, level.min(CAP));
        }
    }
    for prefix in CAPPED {
        let enabled = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .find(|l| filter.would_enable(prefix, l))
        .map_or(LevelFilter::OFF, LevelFilter::from_level);
        out = out.with_target(*prefix, enabled.min(CAP));
    }
    out
}

/// JSON logs for CloudWatch; level from `RUST_LOG` (default `info`).
pub fn init_json() {
    init_json_with(filter_from_env("info"), std::io::stdout);
}

/// The same JSON format to any writer (tests capture the logs with it).
/// Each line carries the fields of the request's span (the Lambda request id
/// and X-Ray trace id). EMF documents (target [`crate::metrics::TARGET`])
/// go to the same writer as bare JSON lines, whatever the filter says, as
/// CloudWatch reads metrics only from those.
pub fn init_json_with<W>(filter: Targets, writer: W)
where
    W: for<'a> MakeWriter<'a> + Clone + Send + Sync + 'static,
{
    let emf_target = crate::metrics::TARGET;
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer.clone())
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line already
        .with_filter(capped(filter).with_target(emf_target, LevelFilter::OFF));
    let metrics = tracing_subscriber::fmt::layer()
        .event_format(BareMessage)
        .with_writer(writer)
        .with_filter(Targets::new().with_target(emf_target, LevelFilter::INFO));
    // A second init (tests) is harmless, so its error is ignored.
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(metrics)
        .try_init();
}

/// An event's message alone, as written: EMF documents are whole JSON lines.
struct BareMessage;

impl<S, N> FormatEvent<S, N> for BareMessage
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        struct Message<'w, 'b>(&'w mut Writer<'b>, std::fmt::Result);
        impl tracing::field::Visit for Message<'_, '_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.1 = write!(self.0, "{value:?}");
                }
            }
        }
        let mut m = Message(&mut writer, Ok(()));
        event.record(&mut m);
        m.1?;
        writeln!(writer)
    }
}

/// Plain warnings, and the audit event of each change, on stderr for the
/// command-line tool.
pub fn init_cli() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .finish()
        .with(capped(filter_from_env("warn,audit=info")))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_runtime_and_the_sdk_never_log_below_info() {
        for directives in [
            "trace",
            "aws_smithy_runtime=trace,trace",
            "lambda_runtime=trace",
        ] {
            let f = capped(directives.parse().unwrap());
            for target in [
                "aws_smithy_runtime::client::orchestrator",
                "lambda_runtime",
                "hyper_util::client",
            ] {
                assert!(
                    !f.would_enable(target, &Level::DEBUG),
                    "{directives}: {target}"
                );
            }
        }
        let f = capped("trace".parse().unwrap());
        assert!(f.would_enable("token_issuer::core", &Level::TRACE));
        assert!(f.would_enable("aws_smithy_runtime", &Level::INFO));
        // Quiet stays quiet.
        let f = capped("warn".parse().unwrap());
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime", &Level::WARN));
    }
}
