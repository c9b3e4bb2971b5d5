//! Hostile input: malformed and adversarial requests through the Lambda entry point, for
//! each provider. Every one gets the right 4xx with a JSON error, nothing panics, and
//! nothing reaches the queue.

use base64::Engine;
use integration_tests::*;
use serde_json::{json, Value};
use webhook_dev::event::{api_gateway_event, Format};
use webhook_intake::verification::sign_github;
use webhook_intake::{App, Provider};

const DEV: &str = "dev-webhook-secret";
const TOKEN: &str = "dev-gitlab-token";
const MAX_BODY: usize = 64 * 1024;

struct Case {
    name: String,
    event: Value,
    status: u16,
}

fn case(name: impl Into<String>, event: Value, status: u16) -> Case {
    Case { name: name.into(), event, status }
}

fn secret_for(provider: Provider) -> &'static str {
    if provider == Provider::GitLab {
        TOKEN
    } else {
        DEV
    }
}

fn event_name(provider: Provider) -> &'static str {
    if provider == Provider::GitLab {
        "Push Hook"
    } else {
        "push"
    }
}

/// A valid, correctly signed delivery for `provider`, as an HTTP API event.
fn good(provider: Provider, body: &[u8]) -> Value {
    signed_event(provider, event_name(provider), body, secret_for(provider))
}

fn with_header(mut event: Value, name: &str, value: Value) -> Value {
    event["headers"][name] = value;
    event
}

fn without_header(mut event: Value, name: &str) -> Value {
    event["headers"].as_object_mut().unwrap().remove(name);
    event
}

/// The credential header and its signed value for a body.
fn credential(provider: Provider, body: &[u8], secret: &str) -> (&'static str, String) {
    match provider {
        Provider::GitLab => ("x-gitlab-token", secret.to_owned()),
        _ => ("x-hub-signature-256", sign_github(secret.as_bytes(), body)),
    }
}

/// Replaces the body, re-signing it so only the body is wrong.
fn signed_body(provider: Provider, body: &[u8]) -> Value {
    good(provider, body)
}

fn cases(provider: Provider) -> Vec<Case> {
    let body = fixture(match provider {
        Provider::GitHub => "github/push.json",
        Provider::GitHubEnterprise => "github-enterprise/push.json",
        Provider::GitLab => "gitlab/push-event.json",
    });
    let base = good(provider, &body);
    let (cred_name, cred_value) = credential(provider, &body, secret_for(provider));
    let mut out = vec![
        case("GET", json!({"httpMethod": "GET", "headers": base["headers"], "body": base["body"]}), 405),
        case(
            "PUT",
            {
                let mut e = base.clone();
                e["requestContext"]["http"]["method"] = json!("PUT");
                e
            },
            405,
        ),
        case(
            "DELETE",
            {
                let mut e = base.clone();
                e["requestContext"]["http"]["method"] = json!("DELETE");
                e
            },
            405,
        ),
        case(
            "no method",
            {
                let mut e = base.clone();
                e["requestContext"]["http"] = json!({});
                e
            },
            400,
        ),
        case("not an object", json!(["POST"]), 400),
        case("string event", json!("POST /"), 400),
        case(
            "headers of the wrong type",
            {
                let mut e = base.clone();
                e["headers"] = json!([1, 2]);
                e
            },
            400,
        ),
        case(
            "body of the wrong type",
            {
                let mut e = base.clone();
                e["body"] = json!({"a": 1});
                e
            },
            400,
        ),
        case(
            "invalid base64",
            {
                let mut e = base.clone();
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("%%% not base64");
                e
            },
            400,
        ),
        case(
            "unpadded base64",
            {
                let mut e = base.clone();
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("e30");
                e
            },
            400,
        ),
        case("header name with a space", with_header(base.clone(), "bad name", json!("v")), 400),
        case("NUL in a header value", with_header(base.clone(), "x-note", json!("a\u{0}b")), 400),
        case("newline in a header value", with_header(base.clone(), "x-note", json!("a\r\nx-injected: 1")), 400),
        case("oversized body", good(provider, &vec![b' '; MAX_BODY + 1]), 413),
        case(
            "no headers at all",
            {
                let mut e = base.clone();
                e["headers"] = Value::Null;
                e
            },
            401,
        ),
        case("no credential", without_header(base.clone(), cred_name), 401),
        case("empty credential", with_header(base.clone(), cred_name, json!("")), 401),
        case(
            "credential twice (comma-joined)",
            with_header(base.clone(), cred_name, json!(format!("{cred_value},{cred_value}"))),
            // GitHub: not a signature (401). GitLab: one token value naming no record (403).
            if provider == Provider::GitLab { 403 } else { 401 },
        ),
        case(
            "credential twice (REST API multi-value)",
            {
                let mut headers: Vec<(String, String)> = base["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                headers.push((cred_name.to_owned(), cred_value.clone()));
                api_gateway_event(Format::RestApi, provider.rules().route, &headers, &body, false)
            },
            401,
        ),
        case(
            "huge credential",
            with_header(base.clone(), cred_name, json!("a".repeat(256 * 1024))),
            if provider == Provider::GitLab { 403 } else { 401 },
        ),
        case("wrong secret", with_header(base.clone(), cred_name, json!(credential(provider, &body, "guess").1)), 403),
        case("signed: not JSON", signed_body(provider, b"hello"), 400),
        case("signed: empty body", signed_body(provider, b""), 400),
        case("signed: JSON array", signed_body(provider, b"[1,2,3]"), 400),
        case("signed: JSON string", signed_body(provider, b"\"push\""), 400),
        case("signed: truncated JSON", signed_body(provider, &body[..body.len() - 3]), 400),
        case("signed: trailing garbage", signed_body(provider, &[&body[..], b"}"].concat()), 400),
        case("signed: two documents", signed_body(provider, b"{}{}"), 400),
        case("signed: NUL inside a string", signed_body(provider, b"{\"ref\":\"a\x00b\"}"), 400),
        case("signed: NUL between tokens", signed_body(provider, b"{\"ref\":1}\x00"), 400),
        case("signed: trailing comma", signed_body(provider, b"{\"ref\":1,}"), 400),
        case("signed: single quotes", signed_body(provider, b"{'ref':1}"), 400),
        case(
            "signed: deep nesting",
            signed_body(provider, format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)).as_bytes()),
            400,
        ),
        case(
            "signed: invalid UTF-8 (base64 body)",
            {
                let raw = b"{\"ref\":\"\xff\xfe\"}";
                let mut e = good(provider, raw);
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!(base64::engine::general_purpose::STANDARD.encode(raw));
                e
            },
            400,
        ),
        case("signed: no event header", without_header(base.clone(), provider.rules().event_header), 400),
        case("signed: empty event header", with_header(base.clone(), provider.rules().event_header, json!("")), 400),
        case(
            "huge unrelated header, forged",
            with_header(
                with_header(base.clone(), "x-padding", json!("p".repeat(1 << 20))),
                cred_name,
                json!(credential(provider, &body, "guess").1),
            ),
            403,
        ),
    ];
    match provider {
        Provider::GitLab => {
            out.push(case(
                "token with a comma",
                with_header(base.clone(), cred_name, json!("dev-gitlab-token,x")),
                403,
            ));
            out.push(case("token with NUL", with_header(base.clone(), cred_name, json!("dev\u{0}token")), 400));
            out.push(case(
                "GitHub signature instead of token",
                without_header(
                    with_header(base.clone(), "x-hub-signature-256", json!(sign_github(DEV.as_bytes(), &body))),
                    cred_name,
                ),
                401,
            ));
            for token in
                ["dev-gitlab-token ", " dev-gitlab-token", "DEV-GITLAB-TOKEN", "dev-gitlab-toke", "dev-gitlab-token\t"]
            {
                out.push(case(
                    format!("near-miss token {token:?}"),
                    with_header(base.clone(), cred_name, json!(token)),
                    403,
                ));
            }
        }
        _ => {
            let hex = &cred_value[7..];
            let bad_sigs = [
                ("sha1= only", format!("sha1={}", &hex[..40])),
                ("no prefix", hex.to_owned()),
                ("upper-case prefix", format!("SHA256={hex}")),
                ("sha512 prefix", format!("sha512={hex}")),
                ("empty digest", "sha256=".to_owned()),
                ("63 hex digits", format!("sha256={}", &hex[..63])),
                ("65 hex digits", format!("sha256={hex}0")),
                ("non-hex digits", format!("sha256={}", "z".repeat(64))),
                ("space after prefix", format!("sha256= {hex}")),
                ("base64 digest", format!("sha256={}", base64::engine::general_purpose::STANDARD.encode([0u8; 32]))),
                ("two digests with a space", format!("sha256={hex} sha256={hex}")),
                ("unicode in digest", format!("sha256={}é", &hex[..62])),
            ];
            for (name, value) in bad_sigs {
                out.push(case(format!("signature: {name}"), with_header(base.clone(), cred_name, json!(value)), 401));
            }
            out.push(case(
                "SHA-1 header only",
                with_header(
                    without_header(base.clone(), cred_name),
                    "x-hub-signature",
                    json!(format!("sha1={}", &hex[..40])),
                ),
                401,
            ));
            out.push(case(
                "tampered body (one byte)",
                {
                    let mut e = base.clone();
                    e["body"] = json!(String::from_utf8_lossy(&body).replacen('a', "b", 1));
                    e
                },
                403,
            ));
            out.push(case(
                "truncated body",
                {
                    let mut e = base.clone();
                    e["body"] = json!(String::from_utf8_lossy(&body[..body.len() / 2]));
                    e
                },
                403,
            ));
            out.push(case(
                "body appended to",
                {
                    let mut e = base.clone();
                    e["body"] = json!(format!("{}\n", String::from_utf8_lossy(&body)));
                    e
                },
                403,
            ));
            out.push(case(
                "signature of another body",
                with_header(base.clone(), cred_name, json!(sign_github(DEV.as_bytes(), b"{}"))),
                403,
            ));
            out.push(case(
                "all-zero signature",
                with_header(base.clone(), cred_name, json!(format!("sha256={}", "0".repeat(64)))),
                403,
            ));
            let routing: &[&str] = if provider == Provider::GitHub {
                &["x-github-hook-installation-target-type", "x-github-hook-installation-target-id"]
            } else {
                &["x-github-enterprise-host"]
            };
            for header in routing {
                out.push(case(format!("no {header}"), without_header(base.clone(), header), 401));
                for bad in ["", "..", ".", "a/b", "%2e%2e", "host:443", "ünïcode", "a b", "x\u{7f}"] {
                    let status = if bad == "x\u{7f}" { 400 } else { 401 };
                    out.push(case(
                        format!("{header} = {bad:?}"),
                        with_header(base.clone(), header, json!(bad)),
                        status,
                    ));
                }
                out.push(case(
                    format!("{header} too long"),
                    with_header(base.clone(), header, json!("1".repeat(201))),
                    401,
                ));
                out.push(case(format!("{header} twice"), with_header(base.clone(), header, json!("1,2")), 401));
            }
            let unknown = if provider == Provider::GitHub {
                ("x-github-hook-installation-target-id", "404404")
            } else {
                ("x-github-enterprise-host", "unknown.example.com")
            };
            out.push(case("routing key with no record", with_header(base.clone(), unknown.0, json!(unknown.1)), 403));
            out.push(case(
                "ping with a forged signature",
                with_header(
                    with_header(base.clone(), provider.rules().event_header, json!("ping")),
                    cred_name,
                    json!(credential(provider, &body, "guess").1),
                ),
                403,
            ));
            let form = format!("payload={}", "%7B%7D");
            let mut form_event = good(provider, form.as_bytes());
            form_event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
            if provider == Provider::GitHubEnterprise {
                out.push(case("form-encoded (GHES answers 415)", form_event.clone(), 415));
            }
            let no_field = b"other=1".to_vec();
            let mut e = good(provider, &no_field);
            e["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
            out.push(case(
                "form body without payload",
                e,
                if provider == Provider::GitHubEnterprise { 415 } else { 400 },
            ));
            let twice = b"payload=%7B%7D&payload=%7B%7D".to_vec();
            let mut e = good(provider, &twice);
            e["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
            out.push(case(
                "form body with two payloads",
                e,
                if provider == Provider::GitHubEnterprise { 415 } else { 400 },
            ));
        }
    }
    out
}

async fn run(provider: Provider) {
    let stack = Stack::new(false).await;
    let app = App::connect(stack.config_with(provider, &[("MAX_BODY_BYTES", &MAX_BODY.to_string())])).await;
    let cases = cases(provider);
    assert!(cases.len() >= 40, "{} cases for {provider}", cases.len());
    for c in &cases {
        let r = invoke_raw(&app, c.event.clone()).await;
        assert_eq!(r.status_code, c.status, "{provider} / {}: {}", c.name, r.body);
        let body = json(&r.body);
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{provider} / {}: {}", c.name, r.body);
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(!r.body.contains(DEV) && !r.body.contains(TOKEN), "{provider} / {}: echoes a secret", c.name);
    }
    assert!(stack.messages().await.is_empty(), "{provider}: a hostile request reached the queue");
    // The same app still serves a good delivery afterwards.
    let body = fixture(match provider {
        Provider::GitHub => "github/push.json",
        Provider::GitHubEnterprise => "github-enterprise/push.json",
        Provider::GitLab => "gitlab/push-event.json",
    });
    assert_eq!(invoke_raw(&app, good(provider, &body)).await.status_code, 202);
    println!("{provider}: {} hostile requests, each refused correctly", cases.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn github_hostile_requests() {
    run(Provider::GitHub).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn github_enterprise_hostile_requests() {
    run(Provider::GitHubEnterprise).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_hostile_requests() {
    run(Provider::GitLab).await;
}
