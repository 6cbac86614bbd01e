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
pub mod compose;
pub mod config;
pub mod core;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod observe;
pub mod scheme;
pub mod store;
pub mod telemetry;

pub use http::{handle, App};

/// Serves Lambda invocations until the runtime shuts the process down.
pub async fn run<S: core::store::Store + 'static, K: core::sign::Refresh + 'static>(
    app: App<S, K>,
) -> Result<(), lambda_http::Error> {
    let app = &app;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handle(app, req).await)
    }))
    .await
}
