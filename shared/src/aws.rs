//! AWS clients, built once per process with bounded timeouts and retries.
//!
//! Source hosts give up after 10 s, so a Secrets Manager lookup (≤ 3 s) plus an SQS send
//! (≤ 4 s) must always answer inside 8 s. `AWS_ENDPOINT_URL` and the other standard
//! variables are honoured through aws-config (this is how tests reach moto server).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::secret_cache::{BoxFuture, SecretStore, StoreError};

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> SdkConfig {
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(50)))
        .load()
        .await
}

fn timeouts(attempt: Duration, total: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(800))
        .operation_attempt_timeout(attempt)
        .operation_timeout(total)
        .build()
}

pub fn secrets_manager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeouts(Duration::from_millis(1200), Duration::from_secs(3)))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(timeouts(Duration::from_millis(1500), Duration::from_secs(4)))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Secret records read from Secrets Manager.
pub struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerStore {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManagerStore { client }
    }
}

impl SecretStore for SecretsManagerStore {
    fn fetch<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            match self.client.get_secret_value().secret_id(secret_id).send().await {
                Ok(out) => {
                    if let Some(s) = out.secret_string {
                        Ok(Some(s))
                    } else if let Some(b) = out.secret_binary {
                        String::from_utf8(b.into_inner())
                            .map(Some)
                            .map_err(|_| StoreError(format!("secret {secret_id} is binary and not UTF-8")))
                    } else {
                        Ok(None)
                    }
                }
                Err(e) => match e.as_service_error() {
                    Some(GetSecretValueError::ResourceNotFoundException(_)) => Ok(None),
                    _ => Err(StoreError(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())),
                },
            }
        })
    }
}
