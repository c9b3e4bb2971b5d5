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

/// A GitHub push payload of about `bytes` bytes: real field names, many commits.
pub fn push_payload(bytes: usize) -> Vec<u8> {
    let commit = r#"{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,"message":"Update README.md ™ 🚀","timestamp":"2019-05-15T15:20:41Z","url":"https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","author":{"name":"Codertocat","email":"21031067+Codertocat@users.noreply.github.com","username":"Codertocat"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},"added":[],"removed":[],"modified":["README.md","src/lib.rs","docs/guide.md"]}"#;
    let head = r#"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"id":186853002,"full_name":"Codertocat/Hello-World","private":false,"owner":{"login":"Codertocat","id":21031067}},"installation":{"id":1},"commits":["#;
    let mut out = String::with_capacity(bytes + commit.len());
    out.push_str(head);
    while out.len() + commit.len() + 2 < bytes {
        if !out.ends_with('[') {
            out.push(',');
        }
        out.push_str(commit);
    }
    out.push_str("]}");
    out.into_bytes()
}

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
