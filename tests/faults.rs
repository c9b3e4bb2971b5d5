//! AWS having a bad minute: servers stopped, hanging or restarted under a running app.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::*;
use webhook_dev::local::Aws;
use webhook_intake::aws::{self, SecretsManagerStore, SqsQueue};
use webhook_intake::http::HttpResponse;
use webhook_intake::pipeline::Backends;
use webhook_intake::{App, Provider};

const DEV: &str = "dev-webhook-secret";
const REPO: &str = "repository/186853002";

async fn timed(app: &App, request: &webhook_intake::http::HttpRequest) -> (HttpResponse, Duration) {
    let started = Instant::now();
    let r = app.handle(request).await;
    (r, started.elapsed())
}

fn assert_unavailable(r: &HttpResponse, took: Duration, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    assert!(r.headers.iter().any(|(k, v)| *k == "retry-after" && v == "5"), "{what}: no Retry-After");
    assert!(took < Duration::from_secs(8), "{what}: took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn outage_answers_503_and_the_app_recovers_after_restart() {
    let mut moto = MotoServer::start();
    let sdk = sdk_for(&moto.endpoint()).await;
    let stack = Stack::on(Aws::from_sdk(&sdk), false).await;
    let config = stack.config(Provider::GitHub);
    let app = App::new(config.clone(), aws::backends(&config, &sdk));
    let body = fixture("github/push.json");
    let good = Send::github("push", &body, DEV, REPO).request();
    let unknown = Send::github("push", &body, DEV, "organization/777").request();
    assert_eq!(app.handle(&good).await.status, 202);

    moto.stop();
    // The record is cached, so verification succeeds; the queue is down: 503, never 2xx.
    let (r, took) = timed(&app, &good).await;
    assert_unavailable(&r, took, "queue down");
    // A key never seen cannot be looked up: 503, not 403 (the sender must retry).
    let (r, took) = timed(&app, &unknown).await;
    assert_unavailable(&r, took, "secrets manager down");

    let moto = MotoServer::start_on(moto.port);
    stack.provision().await; // moto keeps its state in memory: the restart lost it
    let r = app.handle(&good).await;
    assert_eq!(r.status, 202, "after restart: {}", r.body);
    assert_eq!(stack.messages().await.len(), 1, "only the delivery accepted after the restart is queued");
    drop(moto);
}

#[tokio::test(flavor = "multi_thread")]
async fn hanging_endpoints_still_answer_within_8_seconds() {
    // Accepts connections (the kernel does) and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole = format!("http://{}", black_hole.local_addr().unwrap());
    let stack = Stack::new(false).await;
    let good_sdk = webhook_intake::aws::sdk_config().await;
    let dead_sdk = sdk_for(&hole).await;
    let body = fixture("github/push.json");
    let request = Send::github("push", &body, DEV, REPO).request();

    let secrets_hang = App::new(
        stack.config(Provider::GitHub),
        Backends {
            secrets: Arc::new(SecretsManagerStore::new(aws::secrets_manager(&dead_sdk))),
            queue: Arc::new(SqsQueue::new(aws::sqs(&good_sdk), stack.queue_url.clone())),
            payloads: None,
        },
    );
    let (r, took) = timed(&secrets_hang, &request).await;
    assert_unavailable(&r, took, "secrets manager hangs");

    let queue_hangs = App::new(
        stack.config(Provider::GitHub),
        Backends {
            secrets: Arc::new(SecretsManagerStore::new(aws::secrets_manager(&good_sdk))),
            queue: Arc::new(SqsQueue::new(aws::sqs(&dead_sdk), stack.queue_url.clone())),
            payloads: None,
        },
    );
    let (r, took) = timed(&queue_hangs, &request).await;
    assert_unavailable(&r, took, "sqs hangs");
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_records_keep_verifying_while_secrets_manager_is_down() {
    let stack = Stack::new(false).await; // SQS stays up on the shared server
    let mut secrets_server = MotoServer::start();
    let secrets_sdk = sdk_for(&secrets_server.endpoint()).await;
    let secrets_aws = Aws::from_sdk(&secrets_sdk);
    let record = manifest().records.into_iter().find(|r| r.routing_key == REPO).unwrap();
    secrets_aws.put_secret(&stack.secret_id(Provider::GitHub, REPO), &record.value()).await.unwrap();
    let config =
        stack.config_with(Provider::GitHub, &[("SECRET_CACHE_TTL_SECONDS", "1"), ("SECRET_MAX_STALE_SECONDS", "3")]);
    let app = App::new(
        config,
        Backends {
            secrets: Arc::new(SecretsManagerStore::new(aws::secrets_manager(&secrets_sdk))),
            queue: Arc::new(SqsQueue::new(aws::sqs(&webhook_intake::aws::sdk_config().await), stack.queue_url.clone())),
            payloads: None,
        },
    );
    let body = fixture("github/push.json");
    let good = Send::github("push", &body, DEV, REPO).request();
    assert_eq!(app.handle(&good).await.status, 202);

    secrets_server.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await; // past the TTL
    let r = app.handle(&good).await;
    assert_eq!(r.status, 202, "a stale record keeps verifying: {}", r.body);
    let forged = Send::github("push", &body, "guess", REPO).request();
    assert_eq!(app.handle(&forged).await.status, 403, "and keeps refusing forgeries");
    let (r, took) = timed(&app, &Send::github("push", &body, DEV, "organization/1234").request()).await;
    assert_unavailable(&r, took, "unseen key while secrets manager is down");

    tokio::time::sleep(Duration::from_millis(3000)).await; // past TTL + max stale
    let (r, took) = timed(&app, &good).await;
    assert_unavailable(&r, took, "record too stale to trust");
    assert_eq!(stack.messages().await.len(), 2);
}

/// Deleting a record from the console or the CLI schedules it for deletion, and Secrets
/// Manager then answers reads with an error rather than "not found": that is a revocation,
/// so the cached copy must stop verifying at its TTL, with 403 and not a retryable 503.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_scheduled_for_deletion_is_revoked_at_its_ttl() {
    let stack = Stack::new(false).await;
    let config =
        stack.config_with(Provider::GitHub, &[("SECRET_CACHE_TTL_SECONDS", "1"), ("SECRET_MAX_STALE_SECONDS", "3600")]);
    let app = App::connect(config).await;
    let body = fixture("github/push.json");
    let good = Send::github("push", &body, DEV, REPO).request();
    assert_eq!(app.handle(&good).await.status, 202);

    let deleted = stack
        .aws
        .secrets
        .delete_secret()
        .secret_id(stack.secret_id(Provider::GitHub, REPO))
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert!(deleted.deletion_date.is_some(), "scheduled, not removed");
    tokio::time::sleep(Duration::from_millis(1500)).await; // past the TTL
    let r = app.handle(&good).await;
    assert_eq!(r.status, 403, "a revoked record, not an outage: {}", r.body);
    assert_eq!(stack.messages().await.len(), 1);
}
