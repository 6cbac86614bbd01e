//! The AWS SDK configuration shared by every client (DynamoDB, Secrets Manager).

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use aws_types::SdkConfig;
use std::time::Duration;

/// Amazon's root CAs: every AWS endpoint we call chains to one of them.
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

#[derive(Debug, thiserror::Error)]
pub enum SdkConfigError {
    #[error("AWS_REGION is not set (Lambda sets it; set it to run the function elsewhere)")]
    NoRegion,
    #[error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: the function takes its \
         credentials from the environment only (Lambda sets them; elsewhere export them, \
         any value for DynamoDB Local, or `aws configure export-credentials --format env`)"
    )]
    NoCredentials,
}

/// The function's SDK configuration, from the environment Lambda provides
/// (region, the role's credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and `AWS_SESSION_TOKEN`) and the `AWS_ENDPOINT_URL[_SERVICE]` overrides, and
/// nothing else. The SDK's default loader also prepares profile files, SSO, STS
/// and the instance metadata service, none of which a function uses: skipping
/// it shortens every cold start and lets the linker drop that code.
pub fn lambda_sdk_config() -> Result<SdkConfig, SdkConfigError> {
    use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .ok_or(SdkConfigError::NoRegion)?;
    // Checked here so a missing setting stops start-up by name, rather than
    // failing every request later.
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if !(set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY")) {
        return Err(SdkConfigError::NoCredentials);
    }
    let mut builder = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .timeout_config(timeouts())
        .retry_config(retries())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .service_config(EnvEndpoints);
    builder.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    if let Some(client) = tls_client() {
        builder = builder.http_client(client);
    }
    Ok(builder.build())
}

/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`: the SDK's own names
/// for pointing a client at a local emulator.
#[derive(Debug)]
struct EnvEndpoints;

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        var(&format!("{}_{service}", key.env())).or_else(|| var(key.env()))
    }
}

fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(3)
}

/// The HTTPS client, unless `TLS_NATIVE_ROOTS=true` asks for the SDK's default.
fn tls_client() -> Option<aws_sdk_dynamodb::config::SharedHttpClient> {
    let native = std::env::var("TLS_NATIVE_ROOTS").is_ok_and(|v| v == "1" || v == "true");
    if native {
        None
    } else {
        amazon_roots_client()
    }
}

/// SDK settings that keep a storage outage well inside the function's timeout
/// (short connect and attempt timeouts, three attempts at most), and TLS that
/// trusts Amazon's roots only: loading the system's whole CA store took 2.7 ms
/// of every cold start. `TLS_NATIVE_ROOTS=true` restores the system store (for
/// an endpoint with another CA). This one is for `token-admin`, run by people:
/// the SDK's full chain (profiles, SSO, instance roles) finds their credentials.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(client) = tls_client() {
        loader = loader.http_client(client);
    }
    loader.load().await
}

fn amazon_roots_client() -> Option<aws_sdk_dynamodb::config::SharedHttpClient> {
    use aws_smithy_http_client::tls;
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS);
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .ok()?;
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context)
            .build_https(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn the_bundled_roots_are_five_der_certificates() {
        let text = std::str::from_utf8(AMAZON_ROOTS).unwrap();
        let blocks: Vec<&str> = text
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|b| b.split("-----END CERTIFICATE-----").next().unwrap())
            .collect();
        assert_eq!(blocks.len(), 5);
        for b in blocks {
            let b64: String = b.split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert_eq!(der[0], 0x30, "an ASN.1 SEQUENCE");
        }
        assert!(amazon_roots_client().is_some());
    }
}
