//! Setting up Secrets Manager and SQS (moto server locally, or a real account) for the
//! demo and the tests, through the same SDK configuration the functions use.

use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

pub struct Aws {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
}

fn err(e: impl std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

impl Aws {
    pub async fn from_env() -> Aws {
        Aws::from_sdk(&webhook_intake::aws::sdk_config().await)
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Aws {
        Aws {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            s3: webhook_intake::aws::s3(sdk),
        }
    }

    /// Creates the payload bucket (idempotent).
    pub async fn create_bucket(&self, name: &str) -> Result<(), String> {
        match self.s3.create_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    /// An offloaded payload, and its server-side encryption.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<(Vec<u8>, Option<String>), String> {
        let out = self.s3.get_object().bucket(bucket).key(key).send().await.map_err(err)?;
        let sse = out.server_side_encryption().map(|s| s.as_str().to_owned());
        let bytes = out.body.collect().await.map_err(err)?.into_bytes().to_vec();
        Ok((bytes, sse))
    }

    /// Creates the secret `id` with `value`, or sets its current value if it exists.
    pub async fn put_secret(&self, id: &str, value: &str) -> Result<(), String> {
        match self.secrets.create_secret().name(id).secret_string(value).send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(CreateSecretError::ResourceExistsException(_))) => {
                self.secrets.put_secret_value().secret_id(id).secret_string(value).send().await.map(|_| ()).map_err(err)
            }
            Err(e) => Err(err(e)),
        }
    }

    /// The current value of secret `id`, or `None` when there is no such secret.
    pub async fn get_secret(&self, id: &str) -> Result<Option<String>, String> {
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        match self.secrets.get_secret_value().secret_id(id).send().await {
            Ok(out) => Ok(out.secret_string),
            Err(e) if matches!(e.as_service_error(), Some(GetSecretValueError::ResourceNotFoundException(_))) => {
                Ok(None)
            }
            Err(e) => Err(err(e)),
        }
    }

    pub async fn delete_secret(&self, id: &str) -> Result<(), String> {
        self.secrets
            .delete_secret()
            .secret_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err)
    }

    /// Creates a queue (FIFO when `name` ends in `.fifo`) and returns its URL.
    pub async fn create_queue(&self, name: &str) -> Result<String, String> {
        let mut request =
            self.sqs.create_queue().queue_name(name).attributes(QueueAttributeName::MaximumMessageSize, "1048576");
        if name.ends_with(".fifo") {
            request = request.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let out = request.send().await.map_err(err)?;
        out.queue_url.ok_or_else(|| "CreateQueue returned no URL".into())
    }

    /// Receives and deletes every message now in the queue, returning their bodies.
    pub async fn drain(&self, queue_url: &str) -> Result<Vec<Received>, String> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(err)?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(all);
            }
            let mut batch = self.sqs.delete_message_batch().queue_url(queue_url);
            for (i, m) in messages.iter().enumerate() {
                if let Some(handle) = &m.receipt_handle {
                    let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(err)?;
                    batch = batch.entries(entry);
                }
            }
            let out = batch.send().await.map_err(err)?;
            if !out.failed.is_empty() {
                return Err(format!("{} messages could not be deleted: {:?}", out.failed.len(), out.failed));
            }
            for m in messages {
                let attributes = m
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.string_value.unwrap_or_default()))
                    .collect();
                let group_id =
                    m.attributes.as_ref().and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId).cloned());
                all.push(Received { body: m.body.unwrap_or_default(), attributes, group_id });
            }
        }
    }
}

/// A message read back from the queue.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub attributes: std::collections::BTreeMap<String, String>,
    pub group_id: Option<String>,
}
