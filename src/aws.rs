//! The AWS SDK configuration shared by every client (DynamoDB, Secrets Manager).

use std::time::Duration;

/// Amazon's root CAs: every AWS endpoint we call chains to one of them.
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

/// SDK settings that keep a storage outage well inside the function's timeout
/// (short connect and attempt timeouts, three attempts at most), and TLS that
/// trusts Amazon's roots only: loading the system's whole CA store took 2.7 ms
/// of every cold start. `TLS_NATIVE_ROOTS=true` restores the system store (for
/// an endpoint with another CA).
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    let native = std::env::var("TLS_NATIVE_ROOTS").is_ok_and(|v| v == "1" || v == "true");
    if !native {
        if let Some(client) = amazon_roots_client() {
            loader = loader.http_client(client);
        }
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
