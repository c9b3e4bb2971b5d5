//! Inputs shared by the benchmarks: realistic push payloads of a given size, and a warm
//! in-process pipeline (in-memory secret store, recording queue).
#![allow(dead_code)]

use std::sync::Arc;

use webhook_intake::http::HttpRequest;
use webhook_intake::pipeline::{App, Backends};
use webhook_intake::queue::RecordingQueue;
use webhook_intake::secret_cache::{SecretStore, StoreError};
use webhook_intake::verification::sign_github;
use webhook_intake::{BoxFuture, Config, Provider};

pub const SECRET: &str = "dev-webhook-secret";

mod push_payload;
pub use push_payload::push_payload;

/// Every key has the dev secret record.
pub struct Static;

impl SecretStore for Static {
    fn fetch<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async { Ok(Some(format!(r#"{{"team_id":"t_1","secrets":["{SECRET}"]}}"#))) })
    }
}

/// The pipeline with a warm cache; the queue takes messages up to `max_message_bytes`.
pub fn app(max_message_bytes: usize) -> (App, Arc<RecordingQueue>) {
    let mut config =
        Config::from_lookup(Provider::GitHub, |k| (k == "QUEUE_URL").then(|| "https://sqs.local/q".to_owned()))
            .unwrap();
    config.max_message_bytes = max_message_bytes;
    let queue = Arc::new(RecordingQueue::default());
    (App::new(config, Backends { secrets: Arc::new(Static), queue: queue.clone(), payloads: None }), queue)
}

/// A signed GitHub push delivery carrying `body`.
pub fn request(body: Vec<u8>) -> HttpRequest {
    let mut headers = http::HeaderMap::new();
    let mut add = |k: &'static str, v: String| {
        headers.insert(k, http::HeaderValue::from_str(&v).unwrap());
    };
    add("content-type", "application/json".into());
    add("x-github-event", "push".into());
    add("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".into());
    add("x-github-hook-installation-target-type", "repository".into());
    add("x-github-hook-installation-target-id", "186853002".into());
    add("x-hub-signature-256", sign_github(SECRET.as_bytes(), &body));
    HttpRequest { method: "POST".into(), headers, body }
}
