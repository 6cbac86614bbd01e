//! A serverless token issuer: three vendor login dialects on one AWS Lambda,
//! users and tokens in DynamoDB.
//!
//! Data flows one way: request → the edge ([`http`]: context, route table,
//! dialect decode) → the issuer core ([`core`]) → its storage port, which
//! [`store`] implements on DynamoDB → core → dialect encode. [`keys`] signs;
//! [`notify`] tells apps of log outs; [`compose`] wires configuration into
//! the parts; [`observe`] wraps each request of either function in its
//! span, summary line and metrics.

pub mod admin;
pub mod authorizer;
pub mod aws;
pub mod client_documents;
pub mod compose;
pub mod config;
pub mod core;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod observe;
pub mod scheme;
pub mod sdk_http;
pub mod store;
pub mod telemetry;

pub use http::{handle, App};

/// Serves Lambda invocations until the runtime shuts the process down.
pub async fn run<S: core::store::Store + 'static, K: core::sign::Refresh + 'static>(
    app: App<S, K>,
) -> Result<(), lambda_http::Error> {
    let app = &app;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(Finished(handle(app, req).await))
    }))
    .await
}

/// A response whose body is final: the runtime sends it as it is. The
/// runtime's own conversion of a `Response<Body>` collects every body and
/// decodes text again by its charset, which costs each request a copy and
/// the binary the text decoders of every charset (158 KiB).
struct Finished(lambda_http::Response<lambda_http::Body>);

impl lambda_http::IntoResponse for Finished {
    fn into_response(
        self,
    ) -> lambda_http::BoxFuture<'static, lambda_http::Response<lambda_http::Body>> {
        Box::pin(std::future::ready(self.0))
    }
}
