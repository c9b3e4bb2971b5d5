//! GitLab signing tokens (Standard Webhooks) end to end against moto server.

use integration_tests::*;
use webhook_intake::routing_key::RoutingKey;
use webhook_intake::verification::{sign_standard_webhook, signing_key};
use webhook_intake::{App, Provider};

const TOKEN: &str = "dev-gitlab-signed-token";
const SIGNING: &str = "whsec_ZGV2LWdpdGxhYi1zaWduaW5nLXRva2VuLTMyYnl0ZXM=";
const ROTATED: &str = "whsec_cm90YXRlZC1zaWduaW5nLXRva2VuLTMyYnl0ZXMh";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn signed<'a>(body: &'a [u8], id: &'a str, secret: &'a str, at: u64) -> Send<'a> {
    Send { delivery_id: id, signing: Some((secret, at)), ..Send::gitlab("Push Hook", body, TOKEN) }
}

async fn setup(signing: &[&str]) -> (Stack, App) {
    let stack = Stack::new(false).await;
    let record = serde_json::json!({"team_id": "t_sign", "secrets": [TOKEN], "signing_secrets": signing});
    stack.put_record(Provider::GitLab, RoutingKey::for_gitlab_token(TOKEN).as_str(), &record.to_string()).await;
    let app = stack.app(Provider::GitLab).await;
    (stack, app)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_delivery_is_accepted_and_webhook_id_is_its_delivery_id() {
    let (stack, app) = setup(&[SIGNING]).await;
    let body = fixture("gitlab/push-event.json");
    let r = app.handle(&signed(&body, "msg_2Lw3Xp9", SIGNING, now()).request()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(json(&r.body)["delivery_id"], "msg_2Lw3Xp9");
    let messages = stack.messages().await;
    assert_eq!(json(&messages[0].body)["delivery_id"], "msg_2Lw3Xp9");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_delivery_id_of_a_signed_delivery_comes_from_what_was_signed() {
    let (stack, app) = setup(&[SIGNING]).await;
    let body = fixture("gitlab/push-event.json");
    // A webhook-id SQS cannot carry as it is (a space) beside unsigned id headers that a
    // relay could set: the id is the signed one's digest, not theirs.
    let mut request = signed(&body, "msg 2", SIGNING, now()).request();
    request.headers.insert("idempotency-key", "ATTACKER-CHOSEN".parse().unwrap());
    request.headers.insert("x-gitlab-event-uuid", "ATTACKER-CHOSEN-TOO".parse().unwrap());
    let r = app.handle(&request).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let expected = webhook_intake::envelope::digest_delivery_id("webhook-id", b"msg 2");
    assert_eq!(json(&r.body)["delivery_id"], expected.as_str());
    assert_eq!(json(&stack.messages().await[0].body)["delivery_id"], expected.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_without_a_valid_fresh_signature() {
    let (stack, app) = setup(&[SIGNING]).await;
    let body = fixture("gitlab/push-event.json");
    let t = now();
    let cases: Vec<(&str, webhook_intake::http::HttpRequest)> = vec![
        ("no signature headers", Send::gitlab("Push Hook", &body, TOKEN).request()),
        ("expired (6 minutes old)", signed(&body, "m1", SIGNING, t - 360).request()),
        ("from the future (6 minutes ahead)", signed(&body, "m2", SIGNING, t + 360).request()),
        ("another signing secret", signed(&body, "m3", ROTATED, t).request()),
        ("tampered body", {
            let mut r = signed(&body, "m4", SIGNING, t).request();
            r.body.push(b' ');
            r
        }),
        ("tampered webhook-id", {
            let mut r = signed(&body, "m5", SIGNING, t).request();
            r.headers.insert("webhook-id", "m5-replayed".parse().unwrap());
            r
        }),
    ];
    for (name, request) in cases {
        let r = app.handle(&request).await;
        assert_eq!(r.status, 403, "{name}: {}", r.body);
    }
    // A wrong token is refused before the signature is even looked at.
    let wrong = Send { secret: "other-token", ..signed(&body, "m6", SIGNING, t) };
    assert_eq!(app.handle(&wrong.request()).await.status, 403);
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn any_of_several_signatures_and_signing_secrets_verifies() {
    let (stack, app) = setup(&[ROTATED, SIGNING]).await;
    let body = fixture("gitlab/push-event.json");
    let t = now();
    for (id, secret) in [("r1", SIGNING), ("r2", ROTATED)] {
        assert_eq!(app.handle(&signed(&body, id, secret, t).request()).await.status, 202, "{secret}");
    }
    // GitLab may send several signatures at once (e.g. during its own rotation).
    let mut request = Send::gitlab("Push Hook", &body, TOKEN).request();
    let other = sign_standard_webhook(&signing_key("whsec_b3RoZXItb3RoZXItb3RoZXItb3RoZXI=").unwrap(), "r3", t, &body);
    let good = sign_standard_webhook(&signing_key(SIGNING).unwrap(), "r3", t, &body);
    request.headers.insert("webhook-id", "r3".parse().unwrap());
    request.headers.insert("webhook-timestamp", t.to_string().parse().unwrap());
    request.headers.insert("webhook-signature", format!("{other} {good}").parse().unwrap());
    assert_eq!(app.handle(&request).await.status, 202);
    assert_eq!(stack.messages().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_without_signing_secrets_behaves_as_before() {
    let (stack, app) = setup(&[]).await;
    let body = fixture("gitlab/push-event.json");
    assert_eq!(app.handle(&Send::gitlab("Push Hook", &body, TOKEN).request()).await.status, 202);
    // Signature headers on a delivery whose record has no signing secrets are not checked.
    assert_eq!(app.handle(&signed(&body, "x", ROTATED, now() - 3600).request()).await.status, 202);
    assert_eq!(stack.messages().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_signing_secret_is_an_operator_error() {
    let stack = Stack::new(false).await;
    let record = serde_json::json!({"secrets": [TOKEN], "signing_secrets": ["not-a-whsec"]});
    stack.put_record(Provider::GitLab, RoutingKey::for_gitlab_token(TOKEN).as_str(), &record.to_string()).await;
    let app = stack.app(Provider::GitLab).await;
    let body = fixture("gitlab/push-event.json");
    assert_eq!(app.handle(&signed(&body, "z", SIGNING, now()).request()).await.status, 403);
    assert!(stack.messages().await.is_empty());
}
