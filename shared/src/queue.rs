//! Where accepted deliveries go. SQS is in `aws.rs`; the recorder here stands in for it
//! where no network belongs (benchmarks, fuzzing).

use std::sync::Mutex;

use crate::envelope::OutgoingMessage;
use crate::BoxFuture;

/// The queue could not take the message; the delivery must not be acknowledged.
#[derive(Clone, Debug)]
pub struct QueueError(pub String);

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueueError {}

pub trait Queue: Send + Sync {
    /// Resolves only once the queue has durably accepted the message.
    fn send(&self, message: OutgoingMessage) -> BoxFuture<'_, Result<(), QueueError>>;
}

/// Keeps every message instead of sending it.
#[derive(Default)]
pub struct RecordingQueue {
    pub messages: Mutex<Vec<OutgoingMessage>>,
}

impl Queue for RecordingQueue {
    fn send(&self, message: OutgoingMessage) -> BoxFuture<'_, Result<(), QueueError>> {
        self.messages.lock().expect("recorder lock").push(message);
        Box::pin(std::future::ready(Ok(())))
    }
}
