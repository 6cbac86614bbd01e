//! A serverless token issuer: three vendor login dialects on one AWS Lambda,
//! users and tokens in DynamoDB.
//!
//! Data flows one way: request → dialect decode ([`http`]) → issuer core
//! ([`core`]) → storage ([`store`]) → core → dialect encode.

pub mod admin;
pub mod aws;
pub mod compose;
pub mod config;
pub mod core;
pub mod http;
pub mod keys;
pub mod secret;
pub mod store;
pub mod telemetry;

pub use http::{handle, App};

/// Serves Lambda invocations until the runtime shuts the process down.
pub async fn run<S: store::Store + 'static>(app: App<S>) -> Result<(), lambda_http::Error> {
    let app = &app;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handle(app, req).await)
    }))
    .await
}
