//! The message a verified delivery becomes on the queue.

use serde::Serialize;
use sha2::{Digest, Sha256};

pub const SCHEMA: &str = "webhook-envelope/v1";

const PAYLOAD_FIELD: &str = ",\"payload\":";

/// Where an offloaded payload was stored instead of being embedded.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PayloadRef {
    pub bucket: String,
    pub key: String,
    pub bytes: usize,
    pub sha256: String,
}

/// Everything the scanner needs besides the payload itself.
#[derive(Clone, Debug, Serialize)]
pub struct Envelope<'a> {
    pub schema: &'static str,
    pub provider: &'static str,
    pub event: &'a str,
    pub action: Option<String>,
    pub delivery_id: &'a str,
    pub team_id: Option<&'a str>,
    pub connection_id: Option<&'a str>,
    pub routing_key: &'a str,
    pub received_at: String,
    pub repository: Option<String>,
    pub installation_id: Option<u64>,
    pub enterprise_host: Option<&'a str>,
}

/// An SQS message ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    pub attributes: Vec<(&'static str, String)>,
    /// Set for FIFO queues only.
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Envelope<'_> {
    /// The message body with `payload` embedded byte for byte (it was validated as one JSON
    /// object already, so it is spliced in rather than re-encoded).
    pub fn to_json(&self, payload: &str) -> String {
        Envelope::with_payload(self.header(), payload)
    }

    /// The message body for a payload stored elsewhere.
    pub fn to_json_with_ref(&self, payload_ref: &PayloadRef) -> String {
        Envelope::with_ref(self.header(), payload_ref)
    }

    /// The envelope fields as a JSON object without its closing brace: serialized once, then
    /// measured with `inline_len` and finished with `with_payload` or `with_ref`.
    pub fn header(&self) -> String {
        let mut header = serde_json::to_string(self).expect("plain struct serializes");
        header.pop();
        header
    }

    /// The length `with_payload(header, payload)` will have, without building it.
    pub fn inline_len(header: &str, payload: &str) -> usize {
        header.len() + PAYLOAD_FIELD.len() + trim(payload).len() + 1
    }

    pub fn with_payload(mut header: String, payload: &str) -> String {
        let payload = trim(payload);
        header.reserve_exact(PAYLOAD_FIELD.len() + payload.len() + 1);
        header.push_str(PAYLOAD_FIELD);
        header.push_str(payload);
        header.push('}');
        header
    }

    pub fn with_ref(mut header: String, payload_ref: &PayloadRef) -> String {
        header.push_str(",\"payload\":null,\"payload_ref\":");
        header.push_str(&serde_json::to_string(payload_ref).expect("plain struct serializes"));
        header.push('}');
        header
    }

    /// Wraps a body in its SQS message: attributes for filtering, and for FIFO queues a group
    /// per tenant and repository (ordered per repository) and a deduplication id from the
    /// tenant and delivery id (a redelivered GUID is enqueued once).
    pub fn message(&self, body: String, fifo: bool) -> OutgoingMessage {
        let mut attributes = vec![
            ("provider", self.provider.to_owned()),
            ("event", self.event.to_owned()),
            ("delivery_id", self.delivery_id.to_owned()),
        ];
        if let Some(team) = self.team_id {
            attributes.push(("team_id", team.to_owned()));
        }
        let (group_id, deduplication_id) = if fifo {
            let tenant = self.team_id.unwrap_or(self.routing_key);
            let group = format!("{}:{}:{}", self.provider, tenant, self.repository.as_deref().unwrap_or(""));
            // Scoped to the tenant's routing key: delivery ids are chosen by senders, and one
            // tenant's id must never swallow another tenant's delivery.
            let dedup = format!("{}\n{}\n{}", self.provider, self.routing_key, self.delivery_id);
            (Some(fifo_id(&group)), Some(hex::encode(Sha256::digest(dedup))))
        } else {
            (None, None)
        };
        OutgoingMessage { body, attributes, group_id, deduplication_id }
    }
}

/// JSON text without the insignificant whitespace around it.
fn trim(payload: &str) -> &str {
    payload.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// SQS group ids are at most 128 characters of ASCII punctuation and alphanumerics; longer
/// or unusual values are replaced by a digest that keeps them apart.
fn fifo_id(value: &str) -> String {
    if value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic()) {
        value.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(value)))
    }
}

/// A stable delivery id for deliveries that carry none: the body's digest, so a redelivery
/// of the same bytes is still recognised.
pub fn fallback_delivery_id(body: &[u8]) -> String {
    digest_delivery_id("body", body)
}

/// A delivery id standing for `bytes` (which cannot be carried as they are): `<what>-sha256-…`.
pub fn digest_delivery_id(what: &str, bytes: &[u8]) -> String {
    format!("{what}-sha256-{}", hex::encode(&Sha256::digest(bytes)[..16]))
}

/// A delivery id usable as an SQS attribute and log field: visible ASCII, at most 128 bytes.
pub fn usable_delivery_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope<'static> {
        Envelope {
            schema: SCHEMA,
            provider: "github",
            event: "push",
            action: None,
            delivery_id: "d-1",
            team_id: Some("t_1"),
            connection_id: None,
            routing_key: "repository/1",
            received_at: "2026-12-03T12:00:00Z".into(),
            repository: Some("o/r".into()),
            installation_id: Some(7),
            enterprise_host: None,
        }
    }

    #[test]
    fn payload_is_embedded_byte_for_byte() {
        let payload = "{\"a\": \"caf\u{e9} \u{2028} \\u00e9\" ,\"n\":1.50}";
        let json = sample().to_json(&format!("\n{payload}\n"));
        assert!(json.ends_with(&format!(",\"payload\":{payload}}}")), "{json}");
        assert_eq!(Envelope::inline_len(&sample().header(), &format!("\n{payload}\n")), json.len());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["installation_id"], 7);
        assert_eq!(v["action"], serde_json::Value::Null);
        assert_eq!(v["payload"]["n"], 1.5);
    }

    #[test]
    fn payload_ref_replaces_payload() {
        let r = PayloadRef { bucket: "b".into(), key: "k".into(), bytes: 3, sha256: "00".into() };
        let v: serde_json::Value = serde_json::from_str(&sample().to_json_with_ref(&r)).unwrap();
        assert!(v["payload"].is_null());
        assert_eq!(v["payload_ref"]["bytes"], 3);
    }

    #[test]
    fn fifo_ids() {
        let e = sample();
        let m = e.message(String::new(), true);
        assert_eq!(m.group_id.as_deref(), Some("github:t_1:o/r"));
        // Deduplication depends on provider, tenant (routing key) and delivery id only.
        let mut other = sample();
        other.repository = None;
        assert_eq!(other.message(String::new(), true).deduplication_id, m.deduplication_id);
        other.routing_key = "repository/2";
        assert_ne!(other.message(String::new(), true).deduplication_id, m.deduplication_id, "another tenant");
        let mut other = sample();
        other.provider = "gitlab";
        assert_ne!(other.message(String::new(), true).deduplication_id, m.deduplication_id);
        assert_eq!(m.deduplication_id.as_ref().unwrap().len(), 64);
        assert!(e.message(String::new(), false).group_id.is_none());
        let mut long = sample();
        long.repository = Some("x".repeat(200));
        let g = long.message(String::new(), true).group_id.unwrap();
        assert!(g.starts_with("sha256:") && g.len() <= 128);
    }

    #[test]
    fn delivery_ids() {
        assert!(usable_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!usable_delivery_id("has space"));
        assert!(!usable_delivery_id(&"a".repeat(129)));
        assert_eq!(fallback_delivery_id(b"x"), fallback_delivery_id(b"x"));
        assert_ne!(fallback_delivery_id(b"x"), fallback_delivery_id(b"y"));
    }
}
