//! The one request pipeline: method and size, credentials, routing key, secret record,
//! verification, then (only once authentic) event, payload, envelope and queue.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::config::Config;
use crate::envelope::{
    digest_delivery_id, fallback_delivery_id, usable_delivery_id, Envelope, OutgoingMessage, PayloadRef, SCHEMA,
};
use crate::http::{HeaderError, HttpRequest, HttpResponse};
use crate::payload;
use crate::payload_store::{object_key, PayloadStore};
use crate::provider::{
    Auth, FormBodies, Routing, Rules, ENTERPRISE_HOST, GITLAB_TOKEN, HUB_SIGNATURE_256, HUB_SIGNATURE_SHA1, TARGET_ID,
    TARGET_TYPE,
};
use crate::queue::Queue;
use crate::response::Outcome;
use crate::routing_key::RoutingKey;
use crate::secret_cache::{Freshness, Lookup, LookupError, SecretCache, SecretStore, Stored};
use crate::secret_record::SecretRecord;
use crate::verification::{verify_github, verify_token, HubSignature, SignatureError};

/// The top-level payload members the envelope reads (public for the benchmarks).
pub const MEMBERS: [&str; 5] = ["action", "repository", "installation", "project", "object_attributes"];

/// Verified against when no record exists, so "unknown key" costs what "wrong secret" does.
const DECOY_SECRET: &str = "decoy secret: no record exists for this routing key";

/// Every response leaves within this, whatever AWS does (source hosts give up at 10 s).
pub const REQUEST_BUDGET: Duration = Duration::from_millis(7500);

/// Where records come from and where accepted deliveries go.
pub struct Backends {
    pub secrets: Arc<dyn SecretStore>,
    pub queue: Arc<dyn Queue>,
    /// For payloads too big for one queue message; without it those get 413.
    pub payloads: Option<Arc<dyn PayloadStore>>,
}

/// Per-process state: configuration, the secret cache, queue and payload store, built once.
pub struct App {
    config: Config,
    secrets: SecretCache,
    queue: Arc<dyn Queue>,
    payloads: Option<Arc<dyn PayloadStore>>,
}

/// The proof a delivery presents.
enum Credential {
    Hub(HubSignature),
    /// SHA-256 of the presented GitLab token.
    Token([u8; 32]),
}

/// What one delivery's log line reports (never secret material or payload content).
#[derive(Default)]
struct Facts {
    event: Option<String>,
    action: Option<String>,
    delivery_id: Option<String>,
    team_id: Option<String>,
    cache: Option<Freshness>,
    forward_latency: Option<std::time::Duration>,
}

impl App {
    pub fn new(config: Config, backends: Backends) -> App {
        let secrets = SecretCache::new(backends.secrets, config.cache);
        App { config, secrets, queue: backends.queue, payloads: backends.payloads }
    }

    /// Builds the AWS clients from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, …).
    #[cfg(feature = "aws")]
    pub async fn connect(config: Config) -> App {
        let sdk = crate::aws::sdk_config().await;
        let backends = crate::aws::backends(&config, &sdk);
        App::new(config, backends)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Secrets Manager calls made by this process so far.
    pub fn secret_store_calls(&self) -> u64 {
        self.secrets.store_calls()
    }

    pub async fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let started = Instant::now();
        let calls_before = self.secrets.store_calls();
        let mut facts = Facts::default();
        let outcome = self.process(request, &mut facts).await;
        let response = outcome.response();
        if self.config.metrics {
            let m = crate::metrics::DeliveryMetrics {
                provider: self.config.provider.name(),
                outcome: outcome.label(),
                verification_failed: matches!(outcome, Outcome::Unauthorized(_) | Outcome::Forbidden),
                secrets_manager_calls: self.secrets.store_calls().saturating_sub(calls_before),
                forward_latency_ms: facts.forward_latency.map(|d| d.as_secs_f64() * 1e3),
            };
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis();
            crate::metrics::emit(&crate::metrics::emf_line(&m, now));
        }
        tracing::info!(
            provider = self.config.provider.name(),
            event = facts.event.as_deref(),
            action = facts.action.as_deref(),
            delivery_id = facts.delivery_id.as_deref(),
            team_id = facts.team_id.as_deref(),
            outcome = outcome.label(),
            status = response.status,
            body_bytes = request.body.len(),
            secret_cache = facts.cache.map(Freshness::as_str),
            latency_us = started.elapsed().as_micros() as u64,
            "delivery"
        );
        response
    }

    async fn process(&self, req: &HttpRequest, facts: &mut Facts) -> Outcome {
        let deadline = Instant::now() + REQUEST_BUDGET;
        let rules = self.config.provider.rules();
        if !req.method.eq_ignore_ascii_case("POST") {
            return Outcome::MethodNotAllowed;
        }
        if req.body.len() > self.config.max_body_bytes {
            return Outcome::TooLarge;
        }

        // 1. Credentials and routing key: shape only, nothing is believed yet.
        if let Some(problem) = repeated_credential_header(req, rules) {
            return Outcome::Unauthorized(problem);
        }
        let credential = match rules.auth {
            Auth::HubSignature256 => match req.header_once(HUB_SIGNATURE_256) {
                Ok(Some(value)) => match HubSignature::parse(value) {
                    Ok(sig) => Some(Credential::Hub(sig)),
                    Err(SignatureError::MissingPrefix) => {
                        return Outcome::Unauthorized("X-Hub-Signature-256 must be sha256=<hex>");
                    }
                    Err(SignatureError::BadHex) => {
                        return Outcome::Unauthorized("X-Hub-Signature-256 must be sha256= and 64 hex digits");
                    }
                },
                Ok(None) if req.headers.contains_key(HUB_SIGNATURE_SHA1) => {
                    return Outcome::Unauthorized(
                        "X-Hub-Signature-256 is required; the SHA-1 X-Hub-Signature is not accepted",
                    );
                }
                Ok(None) => return Outcome::Unauthorized("missing X-Hub-Signature-256 header"),
                Err(_) => return Outcome::Unauthorized("malformed X-Hub-Signature-256 header"),
            },
            Auth::GitlabToken => None,
        };
        let derived = RoutingKey::derive(rules.routing, |name| req.header_bytes_once(name).ok().flatten());
        let (routing_key, token_digest) = match derived {
            Ok(pair) => pair,
            Err(e) => return Outcome::Unauthorized(e.message()),
        };
        let credential = match (credential, token_digest) {
            (Some(c), _) => c,
            (None, Some(digest)) => Credential::Token(digest),
            (None, None) => return Outcome::Unauthorized("missing credentials"),
        };

        // 2. The record the routing key names, and verification against any of its secrets.
        let secret_id = self.config.secret_id(routing_key.as_str());
        let lookup = match within(deadline, self.secrets.get(&secret_id)).await {
            Some(Ok(l)) => l,
            Some(Err(e)) => return lookup_failed(&routing_key, &e),
            None => return lookup_failed(&routing_key, &LookupError::Store(timed_out())),
        };
        facts.cache = Some(lookup.freshness);
        let verified =
            within(deadline, self.verified_record(&secret_id, &routing_key, lookup, &credential, req, facts)).await;
        let record = match verified {
            Some(Ok(record)) => record,
            Some(Err(outcome)) => return outcome,
            None => return Outcome::Forbidden,
        };
        facts.team_id = record.team_id.clone();

        // 3. Authentic from here on: what is it, and is it forwarded?
        let event = match req.header_once(rules.event_header) {
            Ok(Some(e)) if !e.is_empty() => e,
            Ok(_) => return Outcome::BadRequest(missing_event_message(rules)),
            Err(_) => return Outcome::BadRequest("event header must appear once, as text"),
        };
        facts.event = Some(event.to_owned());
        let delivery_id = delivery_id(req, rules, &record);
        facts.delivery_id = Some(delivery_id.clone());
        // The content type is not signed, so it cannot turn a signed JSON body into a form:
        // a body that opens a JSON object is read as JSON whatever the header says.
        let form = is_form(req) && !opens_json_object(&req.body);
        if let (true, FormBodies::Refuse(message)) = (form, rules.form_bodies) {
            return Outcome::UnsupportedMediaType(message);
        }
        if rules.ping_event == Some(event) {
            return Outcome::Pong;
        }
        if !self.config.forwards(event) {
            return Outcome::Ignored { event: event.to_owned() };
        }
        let body = match json_text(&req.body, form && rules.form_bodies == FormBodies::Decode) {
            Ok(text) => text,
            Err(outcome) => return outcome,
        };
        let body: &str = &body;
        let Ok(found) = payload::top_level(body, MEMBERS) else {
            return Outcome::BadRequest("body is not a JSON object");
        };
        let members: Vec<_> = MEMBERS.into_iter().zip(found).collect();
        if let Some(cond) = rules.condition(event) {
            if payload::as_string(payload::pointer(&members, cond.pointer)).as_deref() != Some(cond.equals) {
                return Outcome::Ignored { event: event.to_owned() };
            }
        }

        // 4. Envelope and queue: 202 only once SQS has the message.
        let enterprise_host = if rules.records_enterprise_host { Some(routing_key.as_str()) } else { None };
        let envelope = Envelope {
            schema: SCHEMA,
            provider: rules.name,
            event,
            action: payload::as_string(payload::pointer(&members, rules.action_pointer)).map(sqs_clean),
            delivery_id: &delivery_id,
            team_id: record.team_id.as_deref(),
            connection_id: record.connection_id.as_deref(),
            routing_key: routing_key.as_str(),
            received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            repository: payload::as_string(payload::pointer(&members, rules.repository_pointer)).map(sqs_clean),
            // Only an App's own webhook secret vouches for the installation a payload names;
            // any other hook's owner could claim someone else's installation.
            installation_id: rules
                .installation_pointer
                .filter(|_| routing_key.as_str().starts_with("integration/"))
                .and_then(|p| payload::as_u64(payload::pointer(&members, p))),
            enterprise_host,
        };
        facts.action = envelope.action.clone();
        let forward_started = Instant::now();
        let fifo = self.config.is_fifo();
        let mut message = envelope.message(String::new(), fifo);
        let header = envelope.header();
        if message_size(&message) + Envelope::inline_len(&header, body) <= self.config.max_message_bytes
            && sqs_safe(body)
        {
            message.body = Envelope::with_payload(header, body);
        } else {
            // Too big for one message (or holding characters SQS refuses): store it whole.
            let Some(store) = &self.payloads else {
                return Outcome::TooLarge;
            };
            let sha256 = hex::encode(Sha256::digest(body));
            let payload_ref = PayloadRef {
                bucket: store.bucket().to_owned(),
                key: object_key(rules.name, &envelope.received_at, &delivery_id, &sha256),
                bytes: body.len(),
                sha256,
            };
            match within(deadline, store.put(&payload_ref.key, body.as_bytes().to_vec())).await {
                Some(Ok(())) => {}
                failed => {
                    let error = failed.map_or_else(|| "timed out".to_owned(), |r| r.unwrap_err().to_string());
                    tracing::warn!(error, "payload store failed");
                    return Outcome::Unavailable("payload store unavailable, retry later");
                }
            }
            message.body = Envelope::with_ref(header, &payload_ref);
        }
        let outcome = self.send(message, deadline, delivery_id).await;
        facts.forward_latency = Some(forward_started.elapsed());
        outcome
    }

    /// 202 only once the queue has the message.
    async fn send(&self, message: OutgoingMessage, deadline: Instant, delivery_id: String) -> Outcome {
        match within(deadline, self.queue.send(message)).await {
            Some(Ok(())) => Outcome::Accepted { delivery_id },
            failed => {
                let error = failed.map_or_else(|| "timed out".to_owned(), |r| r.unwrap_err().to_string());
                tracing::warn!(error, "queue send failed");
                Outcome::Unavailable("queue unavailable, retry later")
            }
        }
    }

    /// The record whose secrets verify the delivery; re-read once when a cached record
    /// refuses it (the secret may just have rotated).
    async fn verified_record(
        &self,
        secret_id: &str,
        routing_key: &RoutingKey,
        mut lookup: Lookup,
        credential: &Credential,
        req: &HttpRequest,
        facts: &mut Facts,
    ) -> Result<Arc<SecretRecord>, Outcome> {
        let body = &req.body[..];
        let mut revalidated = false;
        loop {
            match &lookup.stored {
                Stored::Found(record) if verify(credential, body, record.secrets()) && signed(req, record) => {
                    return Ok(record.clone());
                }
                Stored::Found(_) => {}
                Stored::NotFound => {
                    verify(credential, body, &[DECOY_SECRET]);
                    return Err(Outcome::Forbidden);
                }
                Stored::Malformed(e) => {
                    // Answered like a wrong secret: nothing can verify against it, and a
                    // different status would tell a prober that the key exists.
                    verify(credential, body, &[DECOY_SECRET]);
                    tracing::error!(
                        routing_key = routing_key.loggable(),
                        error = %e,
                        "secret record is malformed; fix it in Secrets Manager"
                    );
                    return Err(Outcome::Forbidden);
                }
            }
            if revalidated {
                return Err(Outcome::Forbidden);
            }
            revalidated = true;
            match self.secrets.revalidate(secret_id, &lookup).await {
                Ok(Some(newer)) => {
                    facts.cache = Some(newer.freshness);
                    lookup = newer;
                }
                Ok(None) => return Err(Outcome::Forbidden),
                // The held record refused it, but the store cannot be read to say whether a
                // newer secret would pass: retryable, not a verdict.
                Err(e) => return Err(lookup_failed(routing_key, &e)),
            }
        }
    }
}

/// Runs `future` unless the request's budget runs out first.
async fn within<T>(deadline: Instant, future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline, future).await.ok()
}

fn timed_out() -> crate::secret_cache::StoreError {
    crate::secret_cache::StoreError("timed out".into())
}

fn lookup_failed(routing_key: &RoutingKey, error: &LookupError) -> Outcome {
    tracing::warn!(routing_key = routing_key.loggable(), error = %error, "secret lookup failed");
    match error {
        LookupError::Throttled => Outcome::Unavailable("too many lookups for unknown webhooks, retry later"),
        LookupError::Store(_) => Outcome::Unavailable("secret store unavailable, retry later"),
    }
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers.get_all(http::header::CONTENT_TYPE).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    })
}

fn opens_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The delivery's JSON text: the body itself, or the `payload` field of a form body (whose
/// signature was checked over the raw form bytes).
fn json_text(body: &[u8], form: bool) -> Result<Cow<'_, str>, Outcome> {
    if !form {
        return std::str::from_utf8(body).map(Cow::Borrowed).map_err(|_| Outcome::BadRequest("body is not UTF-8 JSON"));
    }
    let mut payloads = body.split(|&b| b == b'&').filter_map(|pair| {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let name = halves.next().unwrap_or_default();
        (form_decode(name).as_deref() == Some("payload")).then(|| halves.next().unwrap_or_default())
    });
    match (payloads.next(), payloads.next()) {
        (Some(p), None) => form_decode(p).map(Cow::Owned).ok_or(Outcome::BadRequest("form payload is not UTF-8")),
        (None, _) => Err(Outcome::BadRequest("form body has no payload field")),
        (Some(_), Some(_)) => Err(Outcome::BadRequest("form body has more than one payload field")),
    }
}

/// One `application/x-www-form-urlencoded` name or value, decoded strictly: form_urlencoded
/// would replace invalid UTF-8 with U+FFFD, and a payload is forwarded as signed or not at all.
fn form_decode(encoded: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = encoded.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    percent_encoding::percent_decode(&spaced).decode_utf8().ok().map(Cow::into_owned)
}

/// SQS refuses U+FFFE and U+FFFF (valid in JSON text); such payloads are offloaded whole.
/// Both are EF BF BE/BF in UTF-8; a byte search keeps this check off the profile.
fn sqs_safe(text: &str) -> bool {
    let bytes = text.as_bytes();
    !memchr::memmem::find_iter(bytes, b"\xEF\xBF").any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
}

/// An envelope field read from the payload, with what SQS refuses replaced (the payload
/// itself is never altered).
fn sqs_clean(field: String) -> String {
    if sqs_safe(&field) {
        field
    } else {
        field.replace(['\u{FFFE}', '\u{FFFF}'], "\u{FFFD}")
    }
}

fn verify<S: AsRef<[u8]>>(credential: &Credential, body: &[u8], secrets: &[S]) -> bool {
    match credential {
        Credential::Hub(sig) => verify_github(sig, body, secrets).is_some(),
        Credential::Token(digest) => verify_token(digest, secrets).is_some(),
    }
}

/// When the record holds GitLab signing tokens, the Standard Webhooks signature must verify
/// against one of them, with a timestamp within five minutes of now.
fn signed(req: &HttpRequest, record: &SecretRecord) -> bool {
    let keys = record.signing_keys();
    if keys.is_empty() {
        return true;
    }
    let header = |name| req.header_once(name).ok().flatten();
    let (Some(id), Some(timestamp), Some(signatures)) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"))
    else {
        return false;
    };
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    crate::verification::verify_standard_webhook(id, timestamp, &req.body, signatures, keys, now).is_ok()
}

/// Two values for a header that proves or routes a delivery make it ambiguous: refused.
fn repeated_credential_header(req: &HttpRequest, rules: &Rules) -> Option<&'static str> {
    let names: &[&str] = match (rules.auth, rules.routing) {
        (Auth::HubSignature256, Routing::InstallationTarget) => &[HUB_SIGNATURE_256, TARGET_TYPE, TARGET_ID],
        (Auth::HubSignature256, _) => &[HUB_SIGNATURE_256, ENTERPRISE_HOST],
        (Auth::GitlabToken, _) => &[GITLAB_TOKEN],
    };
    names.iter().find_map(|name| match req.header_bytes_once(name) {
        Err(HeaderError::Repeated) => Some("a signature, token or routing header appears more than once"),
        _ => None,
    })
}

fn missing_event_message(rules: &Rules) -> &'static str {
    match rules.auth {
        Auth::HubSignature256 => "missing X-GitHub-Event header",
        Auth::GitlabToken => "missing X-Gitlab-Event header",
    }
}

/// The provider's delivery id, else a digest of the body (stable across redeliveries).
/// The delivery's id. A record that requires signatures has had `webhook-id` verified, so that
/// is the id (as a digest when it cannot be carried as it is), never an unsigned header that
/// whoever relays the delivery could choose.
fn delivery_id(req: &HttpRequest, rules: &Rules, record: &SecretRecord) -> String {
    if !record.signing_keys().is_empty() {
        if let Ok(Some(id)) = req.header_once("webhook-id") {
            return if usable_delivery_id(id) {
                id.to_owned()
            } else {
                digest_delivery_id("webhook-id", id.as_bytes())
            };
        }
    }
    rules
        .delivery_id_headers
        .iter()
        .find_map(|name| req.header_once(name).ok().flatten().filter(|v| usable_delivery_id(v)))
        .map(str::to_owned)
        .unwrap_or_else(|| fallback_delivery_id(&req.body))
}

/// Bytes SQS counts against its limit: body plus attribute names, types and values.
fn message_size(message: &OutgoingMessage) -> usize {
    message.body.len() + message.attributes.iter().map(|(n, v)| n.len() + "String".len() + v.len()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::{App, Backends};
    use crate::http::HttpRequest;
    use crate::queue::RecordingQueue;
    use crate::secret_cache::{SecretStore, StoreError};
    use crate::verification::sign_github;
    use crate::{BoxFuture, Config, Provider};

    /// One record whose value can change and a switch that makes every read fail; the
    /// Secrets Manager versions of these cases are in tests/faults.rs (moto server).
    struct Flaky {
        value: Mutex<String>,
        down: AtomicBool,
    }

    impl SecretStore for Flaky {
        fn fetch<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
            Box::pin(async move {
                if self.down.load(Ordering::SeqCst) {
                    return Err(StoreError("down".into()));
                }
                Ok(Some(self.value.lock().unwrap().clone()))
            })
        }
    }

    fn push(secret: &str) -> HttpRequest {
        let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}"#.to_vec();
        let mut headers = http::HeaderMap::new();
        for (k, v) in [
            ("x-github-event", "push".to_owned()),
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned()),
            ("x-github-hook-installation-target-type", "repository".to_owned()),
            ("x-github-hook-installation-target-id", "1".to_owned()),
            ("x-hub-signature-256", sign_github(secret.as_bytes(), &body)),
        ] {
            headers.insert(k, http::HeaderValue::from_str(&v).unwrap());
        }
        HttpRequest { method: "POST".into(), headers, body }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_secret_during_an_outage_is_retryable_not_forbidden() {
        let store = Arc::new(Flaky { value: Mutex::new(r#"{"secrets":["old"]}"#.into()), down: false.into() });
        let queue = Arc::new(RecordingQueue::default());
        let config =
            Config::from_lookup(Provider::GitHub, |k| (k == "QUEUE_URL").then(|| "https://sqs.local/q".to_owned()))
                .unwrap();
        let app = App::new(config, Backends { secrets: store.clone(), queue: queue.clone(), payloads: None });
        assert_eq!(app.handle(&push("old")).await.status, 202);

        // The customer rotates to "new" while Secrets Manager cannot be read.
        *store.value.lock().unwrap() = r#"{"secrets":["new","old"]}"#.into();
        store.down.store(true, Ordering::SeqCst);
        assert_eq!(app.handle(&push("new")).await.status, 403, "the held record is too young to re-read");
        tokio::time::advance(Duration::from_secs(31)).await;
        let r = app.handle(&push("new")).await;
        assert_eq!(r.status, 503, "the store could not say: {}", r.body);
        assert_eq!(app.handle(&push("old")).await.status, 202, "the held record still verifies");

        store.down.store(false, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(app.handle(&push("forged")).await.status, 403, "a verdict again once the store is back");
        assert_eq!(app.handle(&push("new")).await.status, 202, "and the re-read record verifies");
        assert_eq!(queue.sent(), 3);
    }

    #[test]
    fn sqs_safe_finds_only_the_two_refused_characters() {
        assert!(super::sqs_safe("plain ascii"));
        assert!(super::sqs_safe("\u{FFFD} \u{FFEF} \u{EFBF} 🚀 ™"));
        assert!(!super::sqs_safe("x\u{FFFE}"));
        assert!(!super::sqs_safe("\u{FFFF}y"));
    }
}
