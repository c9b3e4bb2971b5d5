//! The pipeline in process, against Secrets Manager and SQS on moto server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::*;
use webhook_dev::event::Signatures;
use webhook_intake::aws::{SecretsManagerStore, SqsQueue};
use webhook_intake::pipeline::Backends;
use webhook_intake::response::FORBIDDEN_MESSAGE;
use webhook_intake::{App, Provider};

const DEV: &str = "dev-webhook-secret";
const REPO: &str = "repository/186853002";

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_gets_its_status_and_envelope() {
    let stack = Stack::new(false).await;
    let manifest = manifest();
    let mut accepted = HashMap::new();
    for provider in Provider::ALL {
        let app = stack.app(provider).await;
        for spec in manifest.events.iter().filter(|s| s.provider().unwrap() == provider) {
            let response = app.handle(&sample_request(spec)).await;
            assert_eq!(response.status, spec.expect, "{}: {}", spec.file, response.body);
            let body = json(&response.body);
            match spec.expect {
                202 => {
                    assert_eq!(body["status"], "accepted");
                    assert_eq!(body["delivery_id"], spec.delivery_id());
                    accepted.insert(spec.delivery_id(), spec.clone());
                }
                200 if spec.event == "ping" => assert_eq!(body, serde_json::json!({"status": "pong"})),
                200 => assert_eq!(body, serde_json::json!({"status": "ignored", "event": spec.event})),
                _ => assert!(body["error"].is_string(), "{}", spec.file),
            }
        }
    }
    let messages = stack.messages().await;
    assert_eq!(messages.len(), accepted.len(), "one message per 202, nothing for the rest");
    for m in messages {
        let envelope = json(&m.body);
        let spec = &accepted[envelope["delivery_id"].as_str().unwrap()];
        let raw = fixture(&spec.payload);
        let payload: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let provider = spec.provider().unwrap();
        assert_eq!(envelope["schema"], "webhook-envelope/v1");
        assert_eq!(envelope["provider"], provider.name());
        assert_eq!(envelope["event"], spec.event.as_str());
        assert_eq!(envelope["team_id"], "t_dev");
        assert!(envelope["connection_id"].as_str().unwrap().starts_with("c_"));
        assert!(envelope["received_at"].as_str().unwrap().ends_with('Z'));
        // The payload goes in byte for byte, not re-encoded.
        let raw_text = std::str::from_utf8(&raw).unwrap().trim();
        assert!(m.body.ends_with(&format!("\"payload\":{raw_text}}}")), "{}: payload re-encoded", spec.file);
        assert_eq!(envelope["payload"], payload);
        let (repository, action, installation) = match provider {
            Provider::GitLab => (
                &payload["project"]["path_with_namespace"],
                &payload["object_attributes"]["action"],
                &serde_json::Value::Null,
            ),
            // Only an App route (integration/…) vouches for the installation a payload names.
            _ if spec.target.starts_with("integration/") => {
                (&payload["repository"]["full_name"], &payload["action"], &payload["installation"]["id"])
            }
            _ => (&payload["repository"]["full_name"], &payload["action"], &serde_json::Value::Null),
        };
        assert_eq!(&envelope["repository"], repository, "{}", spec.file);
        assert_eq!(&envelope["action"], action, "{}", spec.file);
        assert_eq!(&envelope["installation_id"], installation, "{}", spec.file);
        let expected_key = match provider {
            Provider::GitLab => webhook_intake::routing_key::RoutingKey::for_gitlab_token(&spec.secret).to_string(),
            _ => spec.target.clone(),
        };
        assert_eq!(envelope["routing_key"], expected_key.as_str());
        let host = if provider == Provider::GitHubEnterprise {
            serde_json::json!(spec.target)
        } else {
            serde_json::Value::Null
        };
        assert_eq!(envelope["enterprise_host"], host);
        assert_eq!(m.attributes["provider"], provider.name());
        assert_eq!(m.attributes["event"], spec.event);
        assert_eq!(m.attributes["delivery_id"], spec.delivery_id());
        assert_eq!(m.attributes["team_id"], "t_dev");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_accepts_both_secrets_then_refuses_the_removed_one() {
    let stack = Stack::new(false).await;
    let key = "organization/4242";
    stack.put_record(Provider::GitHub, key, r#"{"team_id":"t_rot","secrets":["brand-new","old-one"]}"#).await;
    let app = App::connect(stack.config_with(Provider::GitHub, &[("SECRET_CACHE_TTL_SECONDS", "1")])).await;
    let body = fixture("github/push.json");
    for secret in ["old-one", "brand-new"] {
        let r = app.handle(&Send::github("push", &body, secret, key).request()).await;
        assert_eq!(r.status, 202, "{secret}: {}", r.body);
    }
    stack.put_record(Provider::GitHub, key, r#"{"team_id":"t_rot","secrets":["brand-new"]}"#).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = app.handle(&Send::github("push", &body, "old-one", key).request()).await;
    assert_eq!((r.status, json(&r.body)["error"].as_str()), (403, Some(FORBIDDEN_MESSAGE)));
    let r = app.handle(&Send::github("push", &body, "brand-new", key).request()).await;
    assert_eq!(r.status, 202);
    assert_eq!(stack.messages().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_just_rotated_secret_is_re_read_on_mismatch_without_waiting_for_the_ttl() {
    let stack = Stack::new(false).await;
    let key = "organization/5151";
    stack.put_record(Provider::GitHub, key, r#"{"secrets":["before"]}"#).await;
    let mut config = stack.config(Provider::GitHub);
    // The production window is 30 s; the behaviour under test is the re-read itself.
    config.cache.revalidate_after = Duration::ZERO;
    let app = App::connect(config).await;
    let body = fixture("github/push.json");
    assert_eq!(app.handle(&Send::github("push", &body, "before", key).request()).await.status, 202);
    stack.put_record(Provider::GitHub, key, r#"{"secrets":["after"]}"#).await;
    let calls = app.secret_store_calls();
    assert_eq!(app.handle(&Send::github("push", &body, "after", key).request()).await.status, 202);
    assert_eq!(app.secret_store_calls(), calls + 1, "exactly one re-read");
    assert_eq!(app.handle(&Send::github("push", &body, "before", key).request()).await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_production_window_stops_re_reads_of_a_young_record() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let body = fixture("github/push.json");
    assert_eq!(app.handle(&Send::github("push", &body, DEV, REPO).request()).await.status, 202);
    let calls = app.secret_store_calls();
    for _ in 0..5 {
        assert_eq!(app.handle(&Send::github("push", &body, "forged", REPO).request()).await.status, 403);
    }
    assert_eq!(app.secret_store_calls(), calls, "wrong signatures must not turn into Secrets Manager calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_and_unknown_routing_key_look_the_same() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let body = fixture("github/pull_request.opened.json");
    let wrong = app.handle(&Send::github("pull_request", &body, "guess", REPO).request()).await;
    let unknown = app.handle(&Send::github("pull_request", &body, DEV, "organization/31337").request()).await;
    assert_eq!((wrong.status, unknown.status), (403, 403));
    assert_eq!(wrong, unknown, "same status, headers and body");
    let gitlab = stack.app(Provider::GitLab).await;
    let r = gitlab.handle(&Send::gitlab("Push Hook", &fixture("gitlab/push-event.json"), "guess").request()).await;
    assert_eq!((r.status, r.body), (403, wrong.body));
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_deliveries_get_the_right_4xx_and_queue_nothing() {
    let stack = Stack::new(false).await;
    let github = App::connect(stack.config_with(Provider::GitHub, &[("MAX_BODY_BYTES", "100000")])).await;
    let ghes = stack.app(Provider::GitHubEnterprise).await;
    let gitlab = stack.app(Provider::GitLab).await;
    let push = fixture("github/push.json");
    let good = Send::github("push", &push, DEV, REPO);
    let without = |name: &str| -> Vec<(String, String)> {
        good.headers().into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case(name)).collect()
    };
    let replace = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut h = without(name);
        h.push((name.into(), value.into()));
        h
    };
    let sig = good.headers().into_iter().find(|(k, _)| k == "X-Hub-Signature-256").unwrap().1;
    type Case<'a> = (&'a str, Vec<(String, String)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        ("no signature", without("X-Hub-Signature-256"), push.clone(), 401),
        (
            "sha1 only",
            Send { signatures: Signatures::Sha1Only, ..Send::github("push", &push, DEV, REPO) }.headers(),
            push.clone(),
            401,
        ),
        ("not sha256=", replace("X-Hub-Signature-256", &sig.replace("sha256=", "sha512=")), push.clone(), 401),
        ("short hex", replace("X-Hub-Signature-256", &sig[..sig.len() - 2]), push.clone(), 401),
        ("non-hex", replace("X-Hub-Signature-256", &format!("sha256={}", "g".repeat(64))), push.clone(), 401),
        ("no target type", without("X-GitHub-Hook-Installation-Target-Type"), push.clone(), 401),
        ("no target id", without("X-GitHub-Hook-Installation-Target-ID"), push.clone(), 401),
        ("traversal in target", replace("X-GitHub-Hook-Installation-Target-ID", ".."), push.clone(), 401),
        ("slash in target", replace("X-GitHub-Hook-Installation-Target-ID", "1/../../x"), push.clone(), 401),
        ("tampered body", good.headers(), [&push[..], b" "].concat(), 403),
        ("too large", good.headers(), vec![b' '; 100_001], 413),
    ];
    for (name, headers, body, status) in cases {
        let r = github.handle(&request_with(Provider::GitHub, &headers, &body)).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert!(json(&r.body)["error"].is_string(), "{name}");
        assert!(!r.body.contains(&sig[7..]), "{name}: response echoes the signature");
    }
    let mut twice = good.headers();
    twice.push(("X-Hub-Signature-256".into(), sig.clone()));
    assert_eq!(
        github.handle(&request_with(Provider::GitHub, &twice, &push)).await.status,
        401,
        "repeated signature header"
    );

    // Verification comes before anything else is believed.
    let ping = fixture("github/ping.json");
    assert_eq!(github.handle(&Send::github("ping", &ping, "forged", REPO).request()).await.status, 403);
    assert_eq!(github.handle(&Send::github("watch", &ping, "forged", REPO).request()).await.status, 403);
    // Authentic but unusable: 400.
    let r = github.handle(&Send::github("push", b"not json", DEV, REPO).request()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let no_event: Vec<_> = good.headers().into_iter().filter(|(k, _)| k != "X-GitHub-Event").collect();
    assert_eq!(github.handle(&request_with(Provider::GitHub, &no_event, &push)).await.status, 400);
    let mut get = good.request();
    get.method = "GET".into();
    let r = github.handle(&get).await;
    assert_eq!((r.status, r.headers.contains(&("allow", "POST".into()))), (405, true));

    let ghes_push = fixture("github-enterprise/push.json");
    let mut no_host =
        Send { provider: Provider::GitHubEnterprise, ..Send::github("push", &ghes_push, DEV, "octocoders.github.io") }
            .headers();
    no_host.retain(|(k, _)| k != "X-GitHub-Enterprise-Host");
    assert_eq!(ghes.handle(&request_with(Provider::GitHubEnterprise, &no_host, &ghes_push)).await.status, 401);
    let ok =
        Send { provider: Provider::GitHubEnterprise, ..Send::github("push", &ghes_push, DEV, "OctoCoders.GitHub.io") };
    assert_eq!(ghes.handle(&ok.request()).await.status, 202, "host is matched case-insensitively");

    let gl_push = fixture("gitlab/push-event.json");
    let no_token = Send { signatures: Signatures::None, ..Send::gitlab("Push Hook", &gl_push, "x") };
    assert_eq!(gitlab.handle(&no_token.request()).await.status, 401);
    let mut two_tokens = Send::gitlab("Push Hook", &gl_push, "dev-gitlab-token").headers();
    two_tokens.push(("X-Gitlab-Token".into(), "dev-gitlab-token".into()));
    assert_eq!(gitlab.handle(&request_with(Provider::GitLab, &two_tokens, &gl_push)).await.status, 401);

    let messages = stack.messages().await;
    assert_eq!(messages.len(), 1, "only the one valid GHES delivery is queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_ignored_and_issue_notes_forward_nothing() {
    let stack = Stack::new(false).await;
    let github = stack.app(Provider::GitHub).await;
    let gitlab = stack.app(Provider::GitLab).await;
    let r = github.handle(&Send::github("ping", &fixture("github/ping.json"), DEV, REPO).request()).await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"pong"}"#));
    let r = github.handle(&Send::github("star", &fixture("github/ping.json"), DEV, REPO).request()).await;
    assert_eq!((r.status, json(&r.body)["status"].as_str()), (200, Some("ignored")));
    let r = gitlab
        .handle(&Send::gitlab("Note Hook", &fixture("gitlab/comment-issue-event.json"), "dev-gitlab-token").request())
        .await;
    assert_eq!((r.status, json(&r.body)["event"].as_str()), (200, Some("Note Hook")));
    assert!(stack.messages().await.is_empty());
    // FORWARD_EVENTS overrides the table.
    let tags = App::connect(stack.config_with(Provider::GitLab, &[("FORWARD_EVENTS", "Tag Push Hook")])).await;
    assert_eq!(
        tags.handle(&Send::gitlab("Tag Push Hook", &fixture("gitlab/tag-event.json"), "dev-gitlab-token").request())
            .await
            .status,
        202
    );
    assert_eq!(
        tags.handle(&Send::gitlab("Push Hook", &fixture("gitlab/push-event.json"), "dev-gitlab-token").request())
            .await
            .status,
        200
    );
    assert_eq!(stack.messages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_queue_enqueues_a_redelivered_guid_once() {
    let stack = Stack::new(true).await;
    let app = stack.app(Provider::GitHub).await;
    let body = fixture("github/pull_request.opened.json");
    let first = Send::github("pull_request", &body, DEV, REPO);
    for _ in 0..2 {
        assert_eq!(app.handle(&first.request()).await.status, 202, "a redelivery is still acknowledged");
    }
    let other =
        Send { delivery_id: "99999999-2222-3333-4444-555555555555", ..Send::github("pull_request", &body, DEV, REPO) };
    assert_eq!(app.handle(&other.request()).await.status, 202);
    let messages = stack.messages().await;
    assert_eq!(messages.len(), 2, "the redelivered GUID is deduplicated, the new one is not");
    for m in &messages {
        assert_eq!(m.group_id.as_deref(), Some("github:t_dev:Codertocat/Hello-World"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_path_makes_no_secrets_manager_call() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let body = fixture("github/push.json");
    assert_eq!(app.handle(&Send::github("push", &body, DEV, REPO).request()).await.status, 202);
    assert_eq!(app.secret_store_calls(), 1);
    for _ in 0..10 {
        assert_eq!(app.handle(&Send::github("push", &body, DEV, REPO).request()).await.status, 202);
    }
    assert_eq!(app.secret_store_calls(), 1);
    // Unknown keys are negatively cached too.
    for _ in 0..3 {
        assert_eq!(app.handle(&Send::github("push", &body, DEV, "organization/404").request()).await.status, 403);
    }
    assert_eq!(app.secret_store_calls(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_failures_answer_503_within_8_seconds_and_never_2xx() {
    let stack = Stack::new(false).await;
    let body = fixture("github/push.json");
    let request = Send::github("push", &body, DEV, REPO).request();

    // SQS refuses: the queue does not exist.
    let mut config = stack.config(Provider::GitHub);
    config.queue_url = format!("{}-missing", stack.queue_url);
    let app = App::connect(config).await;
    let started = Instant::now();
    let r = app.handle(&request).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.headers.iter().any(|(k, _)| *k == "retry-after"));
    assert!(started.elapsed() < Duration::from_secs(8));

    // Secrets Manager unreachable: nothing listens on the endpoint.
    let sdk = webhook_intake::aws::sdk_config().await;
    let dead = aws_sdk_secretsmanager::config::Builder::from(&sdk).endpoint_url("http://127.0.0.1:9").build();
    let store = Arc::new(SecretsManagerStore::new(aws_sdk_secretsmanager::Client::from_conf(dead)));
    let queue = Arc::new(SqsQueue::new(webhook_intake::aws::sqs(&sdk), stack.queue_url.clone()));
    let app = App::new(stack.config(Provider::GitHub), Backends { secrets: store, queue, payloads: None });
    let started = Instant::now();
    let r = app.handle(&request).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_secret_record_is_an_operator_error_not_a_pass() {
    let stack = Stack::new(false).await;
    stack.put_record(Provider::GitHub, "organization/1", r#"{"secrets":[""]}"#).await;
    let app = stack.app(Provider::GitHub).await;
    // An empty secret would let anyone sign; the record is refused, nothing is accepted, and
    // the answer is the same 403 as for an unknown key (it is logged as an error).
    let body = fixture("github/push.json");
    let r = app.handle(&Send::github("push", &body, "", "organization/1").request()).await;
    let unknown = app.handle(&Send::github("push", &body, "", "organization/2").request()).await;
    assert_eq!((r.status, &r.body), (403, &unknown.body));
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn delivery_ids_are_scoped_to_the_tenant() {
    // Two GitLab hooks (two tokens, two tenants) sending the same event UUID, as older GitLab
    // does for several hooks fired by one event: a FIFO queue keeps both.
    let stack = Stack::new(true).await;
    stack
        .put_record(
            Provider::GitLab,
            webhook_intake::routing_key::RoutingKey::for_gitlab_token("tenant-b-token").as_str(),
            r#"{"team_id":"t_b","secrets":["tenant-b-token"]}"#,
        )
        .await;
    let app = stack.app(Provider::GitLab).await;
    let body = fixture("gitlab/push-event.json");
    for token in ["dev-gitlab-token", "tenant-b-token"] {
        let send = Send { delivery_id: "shared-event-uuid", ..Send::gitlab("Push Hook", &body, token) };
        assert_eq!(app.handle(&send.request()).await.status, 202);
    }
    let teams: std::collections::BTreeSet<String> =
        stack.messages().await.iter().map(|m| m.attributes["team_id"].clone()).collect();
    assert_eq!(teams.into_iter().collect::<Vec<_>>(), ["t_b", "t_dev"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_unsigned_content_type_cannot_turn_signed_json_into_a_form() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let body = br#"{"action":"opened","repository":{"full_name":"real/repo"},"title":"x&payload={%22repository%22:{%22full_name%22:%22evil/x%22}}&"}"#;
    let mut headers = Send::github("pull_request", body, DEV, REPO).headers();
    for (k, v) in headers.iter_mut() {
        if k == "Content-Type" {
            *v = "application/x-www-form-urlencoded".into();
        }
    }
    assert_eq!(app.handle(&request_with(Provider::GitHub, &headers, body)).await.status, 202);
    let messages = stack.messages().await;
    let envelope = json(&messages[0].body);
    assert_eq!(envelope["repository"], "real/repo");
    assert!(messages[0].body.ends_with(&format!("\"payload\":{}}}", std::str::from_utf8(body).unwrap())));
}
