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

/// Records messages instead of sending them: how many, and the last one (so a long
/// benchmark does not keep every payload alive).
#[derive(Default)]
pub struct RecordingQueue {
    sent: std::sync::atomic::AtomicUsize,
    last: Mutex<Option<OutgoingMessage>>,
}

impl RecordingQueue {
    pub fn sent(&self) -> usize {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn last(&self) -> Option<OutgoingMessage> {
        self.last.lock().expect("recorder lock").clone()
    }
}

impl Queue for RecordingQueue {
    fn send(&self, message: OutgoingMessage) -> BoxFuture<'_, Result<(), QueueError>> {
        *self.last.lock().expect("recorder lock") = Some(message);
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}
