//! The empty `lambda_http` function the cold-start benchmark compares against:
//! the floor a Rust Lambda cannot start faster than.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, Error>(Response::new(Body::from(r#"{"hello":"world"}"#)))
    }))
    .await
}
