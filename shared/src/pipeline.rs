//! The one request pipeline: method and size, credentials, routing key, secret record,
//! verification, then (only once authentic) event, payload, envelope and queue.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use crate::config::Config;
use crate::envelope::{fallback_delivery_id, usable_delivery_id, Envelope, SCHEMA};
use crate::http::{HeaderError, HttpRequest, HttpResponse};
use crate::payload;
use crate::provider::{
    Auth, Routing, Rules, ENTERPRISE_HOST, GITLAB_TOKEN, HUB_SIGNATURE_256, HUB_SIGNATURE_SHA1, TARGET_ID, TARGET_TYPE,
};
use crate::queue::Queue;
use crate::response::Outcome;
use crate::routing_key::RoutingKey;
use crate::secret_cache::{Freshness, Lookup, SecretCache, SecretStore, Stored};
use crate::secret_record::SecretRecord;
use crate::verification::{verify_github, verify_token, HubSignature, SignatureError};

/// Top-level payload members the envelope reads from.
const MEMBERS: [&str; 5] = ["action", "repository", "installation", "project", "object_attributes"];

/// Verified against when no record exists, so "unknown key" costs what "wrong secret" does.
const DECOY_SECRET: &str = "decoy secret: no record exists for this routing key";

/// Per-process state: configuration, the secret cache and the queue, built once.
pub struct App {
    config: Config,
    secrets: SecretCache,
    queue: Arc<dyn Queue>,
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
}

impl App {
    pub fn new(config: Config, store: Arc<dyn SecretStore>, queue: Arc<dyn Queue>) -> App {
        let secrets = SecretCache::new(store, config.cache);
        App { config, secrets, queue }
    }

    /// Builds the AWS clients from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, …).
    pub async fn connect(config: Config) -> App {
        let sdk = crate::aws::sdk_config().await;
        let store = Arc::new(crate::aws::SecretsManagerStore::new(crate::aws::secrets_manager(&sdk)));
        let queue = Arc::new(crate::queue::SqsQueue::new(crate::aws::sqs(&sdk), config.queue_url.clone()));
        App::new(config, store, queue)
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
        let mut facts = Facts::default();
        let outcome = self.process(request, &mut facts).await;
        let response = outcome.response();
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
        let derived = RoutingKey::derive(rules.routing, |name| req.header_once(name).ok().flatten());
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
        let lookup = match self.secrets.get(&secret_id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(secret_id, error = %e, "secret lookup failed");
                return Outcome::Unavailable("secret store unavailable, retry later");
            }
        };
        facts.cache = Some(lookup.freshness);
        let record = match self.verified_record(&secret_id, lookup, &credential, &req.body, facts).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        facts.team_id = record.team_id.clone();

        // 3. Authentic from here on: what is it, and is it forwarded?
        let event = match req.header_once(rules.event_header) {
            Ok(Some(e)) if !e.is_empty() => e,
            Ok(_) => return Outcome::BadRequest(missing_event_message(rules)),
            Err(_) => return Outcome::BadRequest("event header must appear once, as text"),
        };
        facts.event = Some(event.to_owned());
        let delivery_id = delivery_id(req, rules);
        facts.delivery_id = Some(delivery_id.clone());
        if rules.ping_event == Some(event) {
            return Outcome::Pong;
        }
        if !self.config.forwards(event) {
            return Outcome::Ignored { event: event.to_owned() };
        }
        let Ok(body) = std::str::from_utf8(&req.body) else {
            return Outcome::BadRequest("body is not UTF-8 JSON");
        };
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
            action: payload::as_string(payload::pointer(&members, rules.action_pointer)),
            delivery_id: &delivery_id,
            team_id: record.team_id.as_deref(),
            connection_id: record.connection_id.as_deref(),
            routing_key: routing_key.as_str(),
            received_at: DateTime::from(SystemTime::now()).fmt(Format::DateTime).unwrap_or_default(),
            repository: payload::as_string(payload::pointer(&members, rules.repository_pointer)),
            installation_id: rules.installation_pointer.and_then(|p| payload::as_u64(payload::pointer(&members, p))),
            enterprise_host,
        };
        facts.action = envelope.action.clone();
        let message = envelope.message(envelope.to_json(body), self.config.is_fifo());
        if message_size(&message) > self.config.max_message_bytes {
            return Outcome::TooLarge;
        }
        match self.queue.send(message).await {
            Ok(()) => Outcome::Accepted { delivery_id },
            Err(e) => {
                tracing::warn!(error = %e, "queue send failed");
                Outcome::Unavailable("queue unavailable, retry later")
            }
        }
    }

    /// The record whose secrets verify the delivery; re-read once when a cached record
    /// refuses it (the secret may just have rotated).
    async fn verified_record(
        &self,
        secret_id: &str,
        mut lookup: Lookup,
        credential: &Credential,
        body: &[u8],
        facts: &mut Facts,
    ) -> Result<Arc<SecretRecord>, Outcome> {
        let mut revalidated = false;
        loop {
            match &lookup.stored {
                Stored::Found(record) if verify(credential, body, record.secrets()) => return Ok(record.clone()),
                Stored::Found(_) => {}
                Stored::NotFound => {
                    verify(credential, body, &[DECOY_SECRET]);
                    return Err(Outcome::Forbidden);
                }
                Stored::Malformed(e) => {
                    tracing::error!(secret_id, error = %e, "secret record is malformed; fix it in Secrets Manager");
                    return Err(Outcome::Unavailable("secret record unusable, retry later"));
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
                // The held record refused it and the store cannot say otherwise now.
                Err(_) => return Err(Outcome::Forbidden),
            }
        }
    }
}

fn verify<S: AsRef<[u8]>>(credential: &Credential, body: &[u8], secrets: &[S]) -> bool {
    match credential {
        Credential::Hub(sig) => verify_github(sig, body, secrets).is_some(),
        Credential::Token(digest) => verify_token(digest, secrets).is_some(),
    }
}

/// Two values for a header that proves or routes a delivery make it ambiguous: refused.
fn repeated_credential_header(req: &HttpRequest, rules: &Rules) -> Option<&'static str> {
    let names: &[&str] = match (rules.auth, rules.routing) {
        (Auth::HubSignature256, Routing::InstallationTarget) => &[HUB_SIGNATURE_256, TARGET_TYPE, TARGET_ID],
        (Auth::HubSignature256, _) => &[HUB_SIGNATURE_256, ENTERPRISE_HOST],
        (Auth::GitlabToken, _) => &[GITLAB_TOKEN],
    };
    names.iter().find_map(|name| match req.header_once(name) {
        Err(HeaderError::Repeated) => Some("a signature, token or routing header appears more than once"),
        Err(HeaderError::NotText) => Some("a signature, token or routing header is not text"),
        Ok(_) => None,
    })
}

fn missing_event_message(rules: &Rules) -> &'static str {
    match rules.auth {
        Auth::HubSignature256 => "missing X-GitHub-Event header",
        Auth::GitlabToken => "missing X-Gitlab-Event header",
    }
}

/// The provider's delivery id, else a digest of the body (stable across redeliveries).
fn delivery_id(req: &HttpRequest, rules: &Rules) -> String {
    rules
        .delivery_id_headers
        .iter()
        .find_map(|name| req.header_once(name).ok().flatten().filter(|v| usable_delivery_id(v)))
        .map(str::to_owned)
        .unwrap_or_else(|| fallback_delivery_id(&req.body))
}

/// Bytes SQS counts against its limit: body plus attribute names, types and values.
fn message_size(message: &crate::envelope::OutgoingMessage) -> usize {
    message.body.len() + message.attributes.iter().map(|(n, v)| n.len() + "String".len() + v.len()).sum::<usize>()
}
