//! The AWS side: clients built once per process, and the Secrets Manager, SQS and S3
//! implementations of the pipeline's stores.
//!
//! Source hosts give up after 10 s. Every call has a connect timeout, a per-attempt timeout
//! and at most 3 attempts with the SDK's jittered exponential backoff; on top of that the
//! pipeline holds each request to an overall budget (see `pipeline::REQUEST_BUDGET`).
//! `AWS_ENDPOINT_URL` and the other standard variables are honoured through aws-config
//! (this is how the tests reach moto server).

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::config::Config;
use crate::envelope::OutgoingMessage;
use crate::payload_store::{PayloadStore, PayloadStoreError};
use crate::pipeline::Backends;
use crate::queue::{Queue, QueueError};
use crate::secret_cache::{SecretStore, StoreError};
use crate::BoxFuture;

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(None).await
}

/// As [`sdk_config`], with an explicit endpoint taking precedence over `AWS_ENDPOINT_URL`.
pub async fn sdk_config_at(endpoint: Option<&str>) -> SdkConfig {
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(50)));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
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

pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    // Path-style addressing works with every endpoint (moto server, VPC endpoints).
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(true)
        .timeout_config(timeouts(Duration::from_secs(3), Duration::from_secs(4)))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The production stores for `config`, sharing one SDK configuration.
pub fn backends(config: &Config, sdk: &SdkConfig) -> Backends {
    Backends {
        secrets: Arc::new(SecretsManagerStore::new(secrets_manager(sdk))),
        queue: Arc::new(SqsQueue::new(sqs(sdk), config.queue_url.clone())),
        payloads: config
            .payload_bucket
            .as_ref()
            .map(|bucket| Arc::new(S3PayloadStore::new(s3(sdk), bucket.clone())) as Arc<dyn PayloadStore>),
    }
}

fn describe(e: impl std::error::Error) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(e).to_string()
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
                            .map_err(|_| StoreError("the secret is binary and not UTF-8".into()))
                    } else {
                        Ok(None)
                    }
                }
                Err(e) => match e.as_service_error() {
                    Some(GetSecretValueError::ResourceNotFoundException(_)) => Ok(None),
                    // A secret scheduled for deletion (the console's and the CLI's default
                    // delete) answers this until its recovery window ends: revoked, not an
                    // outage, so it must neither be served stale nor answered with 503.
                    Some(GetSecretValueError::InvalidRequestException(e))
                        if e.message()
                            .is_some_and(|m| m.contains("marked for deletion") || m.contains("marked deleted")) =>
                    {
                        Ok(None)
                    }
                    _ => Err(StoreError(describe(e))),
                },
            }
        })
    }
}

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsQueue { client, queue_url }
    }
}

impl Queue for SqsQueue {
    fn send(&self, message: OutgoingMessage) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(message.body)
                .set_message_group_id(message.group_id)
                .set_message_deduplication_id(message.deduplication_id);
            for (name, value) in message.attributes {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .map_err(|e| QueueError(format!("message attribute {name}: {e}")))?;
                request = request.message_attributes(name, value);
            }
            request.send().await.map(|_| ()).map_err(|e| QueueError(describe(e)))
        })
    }
}

/// Offloaded payloads in S3, encrypted at rest (SSE-S3).
pub struct S3PayloadStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3PayloadStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        S3PayloadStore { client, bucket }
    }
}

impl PayloadStore for S3PayloadStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), PayloadStoreError>> {
        Box::pin(async move {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type("application/json")
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                .body(bytes.into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| PayloadStoreError(describe(e)))
        })
    }
}
