//! Deliveries as the source hosts send them, and the API Gateway events that carry them.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use webhook_intake::verification::sign_github;
use webhook_intake::Provider;

/// Which signature headers a GitHub delivery carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Signatures {
    /// `X-Hub-Signature-256` and the legacy SHA-1 `X-Hub-Signature`, as GitHub sends.
    #[default]
    Both,
    /// Only the SHA-256 header.
    Sha256,
    /// Only the legacy SHA-1 header (must be refused).
    Sha1Only,
    /// No signature at all.
    None,
}

/// The API Gateway integration an event imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// HTTP API, payload format 2.0 (what template.yaml deploys).
    #[default]
    HttpApi,
    /// REST API, payload format 1.0.
    RestApi,
    /// Lambda Function URL.
    FunctionUrl,
}

/// One delivery, before it is wrapped in an event.
#[derive(Clone, Debug)]
pub struct Delivery<'a> {
    pub provider: Provider,
    pub event: &'a str,
    pub body: &'a [u8],
    /// GitHub secret or GitLab token.
    pub secret: &'a str,
    pub delivery_id: &'a str,
    /// GitHub: `type/id` of the hook's installation target; GHES: the enterprise host.
    pub target: &'a str,
    pub signatures: Signatures,
    /// GitLab signing token (`whsec_…`) and the Unix time to sign at (Standard Webhooks).
    pub signing: Option<(&'a str, u64)>,
}

impl<'a> Delivery<'a> {
    /// A GitHub.com delivery with a fixed sample delivery id and only the SHA-256 signature.
    pub fn github(event: &'a str, body: &'a [u8], secret: &'a str, target: &'a str) -> Delivery<'a> {
        Delivery {
            provider: Provider::GitHub,
            event,
            body,
            secret,
            delivery_id: "11111111-2222-3333-4444-555555555555",
            target,
            signatures: Signatures::Sha256,
            signing: None,
        }
    }

    /// A GitLab delivery with a fixed sample delivery id, unsigned (token only).
    pub fn gitlab(event: &'a str, body: &'a [u8], token: &'a str) -> Delivery<'a> {
        Delivery {
            provider: Provider::GitLab,
            event,
            body,
            secret: token,
            delivery_id: "gl-delivery-1",
            target: "",
            signatures: Signatures::Sha256,
            signing: None,
        }
    }
}

impl Delivery<'_> {
    /// The headers the provider sends, in its own capitalisation.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h: Vec<(&str, String)> = vec![("Content-Type", "application/json".into())];
        match self.provider {
            Provider::GitHub | Provider::GitHubEnterprise => {
                h.push(("User-Agent", "GitHub-Hookshot/044aadd".into()));
                h.push(("X-GitHub-Event", self.event.into()));
                h.push(("X-GitHub-Delivery", self.delivery_id.into()));
                h.push(("X-GitHub-Hook-ID", "292430182".into()));
                if self.provider == Provider::GitHub {
                    let (kind, id) = self.target.split_once('/').unwrap_or(("repository", self.target));
                    h.push(("X-GitHub-Hook-Installation-Target-Type", kind.into()));
                    h.push(("X-GitHub-Hook-Installation-Target-ID", id.into()));
                } else {
                    h.push(("X-GitHub-Enterprise-Host", self.target.into()));
                    h.push(("X-GitHub-Enterprise-Version", "3.5.0".into()));
                    h.push(("X-GitHub-Hook-Installation-Target-Type", "repository".into()));
                    h.push(("X-GitHub-Hook-Installation-Target-ID", "118".into()));
                }
                if matches!(self.signatures, Signatures::Both | Signatures::Sha1Only) {
                    h.push(("X-Hub-Signature", sign_sha1(self.secret.as_bytes(), self.body)));
                }
                if matches!(self.signatures, Signatures::Both | Signatures::Sha256) {
                    h.push(("X-Hub-Signature-256", sign_github(self.secret.as_bytes(), self.body)));
                }
            }
            Provider::GitLab => {
                h.push(("User-Agent", "GitLab/17.5.0".into()));
                h.push(("X-Gitlab-Event", self.event.into()));
                h.push(("X-Gitlab-Instance", "https://gitlab.example.com".into()));
                h.push(("X-Gitlab-Webhook-UUID", uuid_from(&[self.delivery_id.as_bytes(), b"webhook"].concat())));
                h.push(("X-Gitlab-Event-UUID", self.delivery_id.into()));
                h.push(("Idempotency-Key", self.delivery_id.into()));
                if self.signatures != Signatures::None {
                    h.push(("X-Gitlab-Token", self.secret.into()));
                }
                if let Some((secret, timestamp)) = self.signing {
                    let key = webhook_intake::verification::signing_key(secret).unwrap_or_default();
                    let signature = webhook_intake::verification::sign_standard_webhook(
                        &key,
                        self.delivery_id,
                        timestamp,
                        self.body,
                    );
                    h.push(("webhook-id", self.delivery_id.into()));
                    h.push(("webhook-timestamp", timestamp.to_string()));
                    h.push(("webhook-signature", signature));
                }
            }
        }
        h.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// The legacy `X-Hub-Signature` value (HMAC-SHA1), sent by GitHub beside the SHA-256 one.
pub fn sign_sha1(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A stable UUID-shaped id derived from `seed`, so regenerated events do not change.
pub fn uuid_from(seed: &[u8]) -> String {
    let h = hex::encode(&Sha256::digest(seed)[..16]);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Wraps a request in the event API Gateway (or a Function URL) would hand the function.
pub fn api_gateway_event(
    format: Format,
    route: &str,
    headers: &[(String, String)],
    body: &[u8],
    base64: bool,
) -> Value {
    let body_text = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let user_agent = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("user-agent")).map(|(_, v)| v.clone());
    match format {
        Format::HttpApi | Format::FunctionUrl => {
            // HTTP APIs and Function URLs lowercase header names and join repeats with commas.
            let mut map = Map::new();
            for (k, v) in headers {
                let k = k.to_ascii_lowercase();
                let joined = match map.get(&k) {
                    Some(Value::String(prev)) => format!("{prev},{v}"),
                    _ => v.clone(),
                };
                map.insert(k, Value::String(joined));
            }
            let (route_key, domain) = match format {
                Format::HttpApi => (format!("POST {route}"), "abcdef1234.execute-api.us-east-1.amazonaws.com"),
                _ => ("$default".to_owned(), "abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws"),
            };
            json!({
                "version": "2.0",
                "routeKey": route_key,
                "rawPath": route,
                "rawQueryString": "",
                "headers": map,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "abcdef1234",
                    "domainName": domain,
                    "domainPrefix": domain.split('.').next(),
                    "http": {"method": "POST", "path": route, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": user_agent},
                    "requestId": "local-request",
                    "routeKey": route_key,
                    "stage": "$default",
                    "time": "03/Dec/2026:12:00:00 +0000",
                    "timeEpoch": 1796212800000u64
                },
                "body": body_text,
                "isBase64Encoded": base64
            })
        }
        Format::RestApi => {
            let mut single = Map::new();
            let mut multi: Map<String, Value> = Map::new();
            for (k, v) in headers {
                single.insert(k.clone(), Value::String(v.clone()));
                match multi.get_mut(k) {
                    Some(Value::Array(vs)) => vs.push(Value::String(v.clone())),
                    _ => {
                        multi.insert(k.clone(), json!([v]));
                    }
                }
            }
            json!({
                "resource": route,
                "path": route,
                "httpMethod": "POST",
                "headers": single,
                "multiValueHeaders": multi,
                "queryStringParameters": null,
                "multiValueQueryStringParameters": null,
                "pathParameters": null,
                "stageVariables": null,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "abcdef1234",
                    "resourcePath": route,
                    "httpMethod": "POST",
                    "path": format!("/prod{route}"),
                    "stage": "prod",
                    "requestId": "local-request",
                    "identity": {"sourceIp": "192.0.2.10", "userAgent": user_agent}
                },
                "body": body_text,
                "isBase64Encoded": base64
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_headers_carry_known_answer_signature() {
        let d = Delivery {
            provider: Provider::GitHub,
            event: "push",
            body: b"Hello, World!",
            secret: "It's a Secret to Everybody",
            delivery_id: "d",
            target: "organization/9",
            signatures: Signatures::Sha256,
            signing: None,
        };
        let h = d.headers();
        let sig = h.iter().find(|(k, _)| k == "X-Hub-Signature-256").unwrap();
        assert_eq!(sig.1, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        assert!(h.contains(&("X-GitHub-Hook-Installation-Target-ID".into(), "9".into())));
        assert!(!h.iter().any(|(k, _)| k == "X-Hub-Signature"));
    }

    #[test]
    fn gitlab_signing_headers_carry_the_standard_webhooks_vector() {
        let d = Delivery {
            provider: Provider::GitLab,
            event: "Push Hook",
            body: br#"{"test": 2432232314}"#,
            secret: "tok",
            delivery_id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            target: "",
            signatures: Signatures::Both,
            signing: Some(("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1614265330)),
        };
        let h = d.headers();
        assert!(h.contains(&("webhook-signature".into(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into())));
        assert!(h.contains(&("webhook-timestamp".into(), "1614265330".into())));
    }

    #[test]
    fn sha1_known_answer() {
        // RFC 2202 test case 2 (HMAC-SHA1).
        assert_eq!(
            sign_sha1(b"Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn http_api_joins_repeats() {
        let h = vec![("X-A".to_string(), "1".to_string()), ("x-a".to_string(), "2".to_string())];
        let e = api_gateway_event(Format::HttpApi, "/p", &h, b"{}", true);
        assert_eq!(e["headers"]["x-a"], "1,2");
        assert_eq!(e["body"], "e30=");
        let e = api_gateway_event(Format::RestApi, "/p", &h, b"{}", false);
        assert_eq!(e["httpMethod"], "POST");
    }
}
