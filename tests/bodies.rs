//! Bodies as API Gateway really delivers them: base64, form-encoded, multibyte UTF-8, and
//! payloads bigger than one SQS message (offloaded to S3 whole).

use base64::Engine;
use integration_tests::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use webhook_dev::event::{api_gateway_event, Format};
use webhook_intake::{App, Provider};

const DEV: &str = "dev-webhook-secret";
const REPO: &str = "repository/186853002";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The payload text embedded in a queued envelope, exactly as it appears in the message.
fn embedded_payload(message: &str) -> &str {
    let start = message.find(",\"payload\":").expect("payload field") + ",\"payload\":".len();
    &message[start..message.len() - 1]
}

#[tokio::test(flavor = "multi_thread")]
async fn base64_bodies_verify_on_the_decoded_bytes() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let body = fixture("github/push.json");
    let mut event = signed_event(Provider::GitHub, "push", &body, DEV);
    event["isBase64Encoded"] = json!(true);
    event["body"] = json!(b64(&body));
    let r = invoke_raw(&app, event).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let messages = stack.messages().await;
    assert_eq!(embedded_payload(&messages[0].body), std::str::from_utf8(&body).unwrap().trim());
}

#[tokio::test(flavor = "multi_thread")]
async fn github_form_bodies_are_verified_raw_then_decoded() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let json_body = fixture("github/pull_request.opened.json");
    let json_text = std::str::from_utf8(&json_body).unwrap();
    let form: String = form_encode(json_text);
    // HTTP APIs base64-encode form bodies.
    let mut event = signed_event(Provider::GitHub, "pull_request", form.as_bytes(), DEV);
    event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    event["isBase64Encoded"] = json!(true);
    event["body"] = json!(b64(form.as_bytes()));
    let r = invoke_raw(&app, event.clone()).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let messages = stack.messages().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(embedded_payload(&messages[0].body), json_text.trim(), "the decoded payload field, byte for byte");
    assert_eq!(json(&messages[0].body)["repository"], "Codertocat/Hello-World");

    // A signature over the decoded JSON instead of the raw form body is not accepted.
    let mut wrong = signed_event(Provider::GitHub, "pull_request", &json_body, DEV);
    wrong["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    wrong["body"] = json!(form);
    assert_eq!(invoke_raw(&app, wrong).await.status_code, 403);
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_payload_that_decodes_to_invalid_utf8_is_refused_not_altered() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    // Signed, and JSON once decoded, but %FF is no UTF-8: forwarding "a\u{FFFD}b" would
    // change what was signed.
    let form = b"payload=%7B%22repository%22%3A%7B%22full_name%22%3A%22a%FFb%22%7D%7D";
    let mut event = signed_event(Provider::GitHub, "push", form, DEV);
    event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    event["body"] = json!(std::str::from_utf8(form).unwrap());
    let r = invoke_raw(&app, event).await;
    assert_eq!((r.status_code, r.body.as_str()), (400, r#"{"error":"form payload is not UTF-8"}"#));
    assert!(stack.messages().await.is_empty());
}

fn form_encode(text: &str) -> String {
    let mut out = String::from("payload=");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn ghes_refuses_form_bodies_with_415_after_verification() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHubEnterprise).await;
    let form = form_encode(std::str::from_utf8(&fixture("github-enterprise/push.json")).unwrap());
    let mut event = signed_event(Provider::GitHubEnterprise, "push", form.as_bytes(), DEV);
    event["headers"]["content-type"] = json!("application/x-www-form-urlencoded; charset=utf-8");
    let r = invoke_raw(&app, event.clone()).await;
    assert_eq!(r.status_code, 415, "{}", r.body);
    assert!(json(&r.body)["error"].as_str().unwrap().contains("application/json"));
    let mut forged = signed_event(Provider::GitHubEnterprise, "push", form.as_bytes(), "guess");
    forged["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    assert_eq!(invoke_raw(&app, forged).await.status_code, 403, "verification comes first");
    assert!(stack.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn multibyte_payloads_verify_and_are_forwarded_byte_exact() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let text = "{\"action\":\"opened\",\"repository\":{\"full_name\":\"o/r™\"},\"title\":\"🚀 fix ™ \u{2028} line\u{2029}sep é\",\"escaped\":\"\\u00e9\\ud83d\\ude80\"}";
    for (format, base64) in
        [(Format::HttpApi, false), (Format::HttpApi, true), (Format::RestApi, false), (Format::FunctionUrl, false)]
    {
        let send = Send::github("pull_request", text.as_bytes(), DEV, REPO);
        let event = api_gateway_event(format, Provider::GitHub.rules().route, &send.headers(), text.as_bytes(), base64);
        let r = invoke_raw(&app, event).await;
        assert_eq!(r.status_code, 202, "{format:?}: {}", r.body);
    }
    let messages = stack.messages().await;
    assert_eq!(messages.len(), 4);
    for m in messages {
        assert_eq!(embedded_payload(&m.body), text);
        assert_eq!(json(&m.body)["repository"], "o/r™");
    }
}

/// A push payload padded past one SQS message.
fn big_payload(bytes: usize, marker: &str) -> String {
    let head = format!(
        "{{\"ref\":\"refs/heads/main\",\"repository\":{{\"full_name\":\"o/big\"}},\"marker\":\"{marker}\",\"pad\":\""
    );
    let pad = "ab™".repeat((bytes - head.len()) / 5 + 1);
    format!("{head}{pad}\"}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_too_big_for_one_message_go_to_s3_whole() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitHub).await;
    let payload = big_payload(2 * 1024 * 1024, "big-1");
    let r = app.handle(&Send::github("push", payload.as_bytes(), DEV, REPO).request()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let messages = stack.messages().await;
    assert_eq!(messages.len(), 1);
    let envelope = json(&messages[0].body);
    assert!(envelope["payload"].is_null());
    assert_eq!(envelope["repository"], "o/big");
    let reference = &envelope["payload_ref"];
    assert_eq!(reference["bucket"], stack.bucket.as_str());
    assert_eq!(reference["bytes"], payload.len());
    assert_eq!(reference["sha256"], hex::encode(Sha256::digest(payload.as_bytes())));
    let key = reference["key"].as_str().unwrap();
    let date = &envelope["received_at"].as_str().unwrap()[..10];
    let sha = reference["sha256"].as_str().unwrap();
    assert_eq!(key, format!("github/{date}/11111111-2222-3333-4444-555555555555.{sha}.json"));
    let (stored, encryption) = stack.aws.get_object(&stack.bucket, key).await.unwrap();
    assert_eq!(stored, payload.as_bytes(), "stored whole, not truncated");
    assert_eq!(encryption.as_deref(), Some("AES256"));

    // Just under the limit stays inline.
    let small = big_payload(900 * 1024, "inline");
    let r = app.handle(&Send::github("push", small.as_bytes(), DEV, REPO).request()).await;
    assert_eq!(r.status, 202);
    let messages = stack.messages().await;
    assert_eq!(embedded_payload(&messages[0].body), small);
}

#[tokio::test(flavor = "multi_thread")]
async fn characters_sqs_refuses_are_offloaded_not_lost() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::GitLab).await;
    let text = "{\"object_kind\":\"push\",\"project\":{\"path_with_namespace\":\"g/p\u{FFFF}\"},\"note\":\"\u{FFFE}\"}";
    let r = app.handle(&Send::gitlab("Push Hook", text.as_bytes(), "dev-gitlab-token").request()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let messages = stack.messages().await;
    let envelope = json(&messages[0].body);
    assert_eq!(envelope["repository"], "g/p\u{FFFD}", "envelope fields are made SQS-safe");
    let key = envelope["payload_ref"]["key"].as_str().unwrap();
    assert_eq!(stack.aws.get_object(&stack.bucket, key).await.unwrap().0, text.as_bytes(), "the payload is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_payload_bucket_oversized_payloads_are_refused_not_truncated() {
    let stack = Stack::new(false).await;
    let mut config = stack.config(Provider::GitHub);
    config.payload_bucket = None;
    let app = App::connect(config).await;
    let payload = big_payload(1100 * 1024, "nobucket");
    let r = app.handle(&Send::github("push", payload.as_bytes(), DEV, REPO).request()).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(stack.messages().await.is_empty());
}
