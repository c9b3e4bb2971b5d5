//! Request → delivery: any API Gateway event through the whole pipeline (in-memory secret
//! store, recording queue) is answered with a known status, never a panic; only a 202
//! leaves a message, and that message is JSON.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use webhook_intake::lambda::decode_event;
use webhook_intake::pipeline::{App, Backends};
use webhook_intake::queue::RecordingQueue;
use webhook_intake::secret_cache::{SecretStore, StoreError};
use webhook_intake::{BoxFuture, Config, Provider};

/// Every routing key has a record holding the dev secrets, so signed inputs get deep.
struct AnyKey;

impl SecretStore for AnyKey {
    fn fetch<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let known = !id.ends_with("/unknown");
        Box::pin(async move {
            Ok(known.then(|| r#"{"team_id":"t","secrets":["dev-webhook-secret","dev-gitlab-token"]}"#.to_owned()))
        })
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    apps: Vec<(App, Arc<RecordingQueue>)>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let apps = Provider::ALL
            .into_iter()
            .map(|provider| {
                let config = Config::from_lookup(provider, |k| (k == "QUEUE_URL").then(|| "https://sqs.local/q".to_owned())).unwrap();
                let queue = Arc::new(RecordingQueue::default());
                let backends = Backends { secrets: Arc::new(AnyKey), queue: queue.clone(), payloads: None };
                (App::new(config, backends), queue)
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        Harness { runtime, apps }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, event)) = data.split_first() else { return };
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(event) else { return };
    let harness = harness();
    let (app, queue) = &harness.apps[selector as usize % harness.apps.len()];
    let before = queue.sent();
    let status = match decode_event(event) {
        Ok(request) => harness.runtime.block_on(app.handle(&request)).status,
        Err(outcome) => outcome.status(),
    };
    assert!([200, 202, 400, 401, 403, 405, 413, 415, 503].contains(&status), "unexpected status {status}");
    assert_eq!(queue.sent(), before + usize::from(status == 202), "only a 202 enqueues, exactly once");
    if status == 202 {
        let body: serde_json::Value = serde_json::from_str(&queue.last().unwrap().body).expect("envelope is JSON");
        assert_eq!(body["schema"], "webhook-envelope/v1");
    }
});
