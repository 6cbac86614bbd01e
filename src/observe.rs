//! The observation layer both functions serve a request in, as
//! aws-lambda-rust-runtime wraps a handler in its tracing layer: a span that
//! puts the invocation's ids on every line the request logs, then the
//! request's one summary line and its EMF document. Both are read from the
//! [`Outcome`] the handler returns beside its answer, never from state it
//! sets on the side, so a handler cannot answer one thing and count another.

use crate::metrics;
use serde_json::Value;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument as _;

/// How a request went, in the terms of its summary line and its metrics.
pub trait Outcome {
    /// Writes the request's summary line (inside its span).
    fn log(&self);
    /// The outcome's metric: [`metrics::SUCCESS`], [`metrics::DENIED`], ...
    fn metric(&self) -> &'static str;
    /// The second dimension beside `Service`, with its value.
    fn detail(&self) -> Option<(&'static str, &str)>;
    /// Counts of notable events (zeros are left out of the document).
    fn events(&self) -> Vec<(&'static str, u32)>;
    /// Searchable in Logs Insights, not dimensions.
    fn properties(&self) -> Vec<(&'static str, Value)>;
}

/// Runs `handler` for one request of `service` and returns its answer, with
/// the request's span, summary line and metrics around it.
pub async fn observe<A, O: Outcome>(
    service: &'static str,
    ids: metrics::Ids<'_>,
    handler: impl Future<Output = (A, O)>,
) -> A {
    let started = Instant::now();
    // Boxed: otherwise the handler's future sits in this one's state beside
    // the argument it came in (an async fn keeps both), and a debug build
    // overflowed a test thread's 2 MiB stack.
    let handler = Box::pin(handler);
    let span = tracing::info_span!(
        "request",
        requestId = ids.lambda_request_id,
        xrayTraceId = ids.trace_id,
    );
    let (answer, outcome) = async {
        let served = handler.await;
        served.1.log();
        served
    }
    .instrument(span)
    .await;
    metrics::Document {
        service,
        detail: outcome.detail(),
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
        outcome: outcome.metric(),
        events: outcome.events(),
        cold_start: metrics::take_cold_start(),
        properties: outcome.properties(),
        ids,
        timestamp_ms: metrics::now_ms(),
    }
    .emit();
    answer
}
