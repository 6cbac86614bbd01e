//! The AWS SDK configuration shared by every client (DynamoDB, Secrets Manager).

use crate::sdk_http::{Http1Client, TlsSetupError};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use aws_types::SdkConfig;
use std::time::Duration;

/// Amazon's root CAs: every AWS endpoint we call chains to one of them.
pub(crate) const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

#[derive(Debug, thiserror::Error)]
pub enum SdkConfigError {
    #[error(
        "no AWS region: set AWS_REGION (Lambda sets it) or a region in the shared config file"
    )]
    NoRegion,
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets \
         them; any value works for DynamoDB Local) or static keys in the shared credentials \
         file; the function does not run SSO, credential processes or role assumption"
    )]
    NoCredentials,
    #[error("the HTTPS client cannot be made: {0}")]
    Tls(#[from] TlsSetupError),
}

/// The function's SDK configuration: the region and credentials from the
/// environment (Lambda sets `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`), else from the shared
/// config and credentials files (`~/.aws`, `AWS_PROFILE`; static keys only),
/// and the `AWS_ENDPOINT_URL[_SERVICE]` overrides. These are the parts of the
/// SDK's standard chain a function meets. Its SSO, STS, credential-process and
/// instance-metadata providers are left out: linking them made the binary
/// 1.1 MiB larger and building them cost cold start. In Lambda no file is read.
/// TLS trusts Amazon's roots alone, and no setting changes that.
pub async fn lambda_sdk_config() -> Result<SdkConfig, SdkConfigError> {
    lambda_sdk_config_trusting(None).await
}

/// [`lambda_sdk_config`], trusting the CA certificates in `extra_ca_pem`
/// (PEM) beside Amazon's roots. The functions never call it: only a caller's
/// code can pass a CA, not a setting. The bench's own builds of the function
/// (`tools/bench`) pass the CA of their local TLS terminator.
pub async fn lambda_sdk_config_trusting(
    extra_ca_pem: Option<&[u8]>,
) -> Result<SdkConfig, SdkConfigError> {
    use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let env_credentials =
        var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some();
    if region.is_none() {
        region = shared_region().await;
    }
    let credentials = if env_credentials {
        SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
    } else {
        SharedCredentialsProvider::new(
            shared_static_credentials()
                .await
                .ok_or(SdkConfigError::NoCredentials)?,
        )
    };
    let region = region.ok_or(SdkConfigError::NoRegion)?;
    let mut builder = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region))
        .credentials_provider(credentials)
        .timeout_config(timeouts())
        .retry_config(retries())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .service_config(EnvEndpoints);
    builder.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    let client = Http1Client::trusting(AMAZON_ROOTS, extra_ca_pem)
        .map_err(SdkConfigError::Tls)?
        .shared();
    Ok(builder.http_client(client).build())
}

/// The region of the selected profile (`AWS_PROFILE`, else `default`) of
/// `~/.aws/config` (or `AWS_CONFIG_FILE`), by the SDK's own profile region
/// provider (which follows `source_profile`, as the standard chain does).
/// Missing or unreadable files hold none.
async fn shared_region() -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    aws_config::profile::ProfileFileRegionProvider::new()
        .region()
        .await
        .map(|r| r.to_string())
}

/// The static keys (`aws_access_key_id`, `aws_secret_access_key`, optionally
/// `aws_session_token`) of the selected profile (`AWS_PROFILE`, else
/// `default`): from the shared credentials file (`[name]`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`), else the shared
/// config file (`[profile name]` or `[default]`, `AWS_CONFIG_FILE`, else
/// `~/.aws/config`). Missing or unreadable files hold none.
///
/// The SDK's public provider for profile credentials,
/// `aws_config::profile::ProfileFileCredentialsProvider`, is not used: it links
/// the STS client (role assumption and web identity, 3 MB) into the binary
/// whatever the profile holds, and its file reader is internal API.
async fn shared_static_credentials() -> Option<aws_credential_types::Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let home = var("HOME").unwrap_or_default();
    let path = |name: &str, default: &str| {
        let p = var(name).unwrap_or_else(|| format!("~/.aws/{default}"));
        match p.strip_prefix("~/") {
            Some(rest) => format!("{home}/{rest}"),
            None => p,
        }
    };
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let keys = |file: String, section: String| -> Option<aws_credential_types::Credentials> {
        let ini = ini::Ini::load_from_file(file).ok()?;
        let s = ini.section(Some(section))?;
        Some(aws_credential_types::Credentials::new(
            s.get("aws_access_key_id")?,
            s.get("aws_secret_access_key")?,
            s.get("aws_session_token").map(str::to_string),
            None,
            "shared credentials file",
        ))
    };
    let config_section = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    keys(path("AWS_SHARED_CREDENTIALS_FILE", "credentials"), profile)
        .or_else(|| keys(path("AWS_CONFIG_FILE", "config"), config_section))
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

/// One call: 1 s to connect, 2 s per attempt, 3 s in all (so at most two
/// attempts); a log in makes two rounds of calls, so a slow DynamoDB is a
/// clean error inside the edge's 6 s deadline, which bounds every route
/// whatever it does.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(3)
}

/// SDK settings that keep a storage outage well inside a command's patience
/// (short connect and attempt timeouts, 3 s per call). This one is for
/// `token-admin`, run by people: the SDK's full chain (profiles, SSO,
/// instance roles) finds their credentials, and the system's CA store is
/// trusted, as a person's network (a TLS-inspecting proxy) may need. The
/// functions trust Amazon's roots alone, with no setting to change that.
pub async fn sdk_config() -> SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries());
    // Without the system's CA store (none installed) the SDK's calls fail
    // on their own, each saying so.
    match Http1Client::trusting_system() {
        Ok(client) => loader.http_client(client.shared()),
        Err(_) => loader,
    }
    .load()
    .await
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
        assert!(Http1Client::trusting(AMAZON_ROOTS, None).is_ok());
    }
}
