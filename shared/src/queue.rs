//! Forwarding envelopes to SQS.

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::envelope::OutgoingMessage;
use crate::secret_cache::BoxFuture;

/// The queue could not take the message; the delivery must not be acknowledged.
#[derive(Clone, Debug)]
pub struct QueueError(pub String);

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueueError {}

/// Where accepted deliveries go: SQS in production, a recorder in benchmarks.
pub trait Queue: Send + Sync {
    /// Resolves only once the queue has durably accepted the message.
    fn send(&self, message: OutgoingMessage) -> BoxFuture<'_, Result<(), QueueError>>;
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
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
        })
    }
}
