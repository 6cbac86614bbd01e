//! What the bench's own builds of the function share: their SDK
//! configuration, which trusts the bench's local TLS terminator as well.
//!
//! The shipped binaries call [`token_issuer::aws::lambda_sdk_config`] and
//! trust Amazon's roots alone; no setting of theirs reaches a CA. These
//! builds are the only ones that read `TEST_CA_FILE`.

/// The function's SDK configuration, trusting also the CA certificate in
/// `TEST_CA_FILE` where it is set (`scripts/bench.sh lambda` makes it);
/// where it is not, the shipped configuration.
pub async fn sdk_config() -> Result<aws_config::SdkConfig, lambda_http::Error> {
    let ca = match std::env::var_os("TEST_CA_FILE") {
        Some(path) => Some(
            std::fs::read(&path)
                .map_err(|e| format!("TEST_CA_FILE {}: {e}", path.to_string_lossy()))?,
        ),
        None => None,
    };
    Ok(token_issuer::aws::lambda_sdk_config_trusting(ca.as_deref()).await?)
}
