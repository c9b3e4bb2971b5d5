//! `events/manifest.json`: the sample deliveries, the dev secret records they are signed
//! for, and what the intake must answer. The events/ files, the demo and the tests all
//! read this one list.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use webhook_intake::Provider;

use crate::event::{api_gateway_event, uuid_from, Delivery, Format, Signatures};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Secret records to create (dev secrets only).
    pub records: Vec<RecordSpec>,
    pub events: Vec<EventSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    pub provider: String,
    pub routing_key: String,
    pub team_id: Option<String>,
    pub connection_id: Option<String>,
    pub secrets: Vec<String>,
    #[serde(default)]
    pub signing_secrets: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// Output path under `events/`.
    pub file: String,
    pub provider: String,
    /// Payload path under `fixtures/payloads/`.
    pub payload: String,
    pub event: String,
    /// GitHub secret or GitLab token the delivery is signed with.
    pub secret: String,
    /// GitHub installation target (`type/id`) or GHES host.
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub signatures: Signatures,
    /// GitLab signing token (`whsec_…`) and the fixed Unix time it was signed at.
    #[serde(default)]
    pub signing_secret: Option<String>,
    #[serde(default)]
    pub signed_at: Option<u64>,
    /// The status the intake must answer.
    pub expect: u16,
    /// Why this sample exists.
    pub about: String,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for spec in &manifest.events {
            spec.provider()?;
        }
        Ok(manifest)
    }
}

impl RecordSpec {
    pub fn provider(&self) -> Result<Provider, String> {
        Provider::from_name(&self.provider).ok_or_else(|| format!("unknown provider {:?}", self.provider))
    }

    pub fn value(&self) -> String {
        let mut v =
            serde_json::json!({"team_id": self.team_id, "connection_id": self.connection_id, "secrets": self.secrets});
        if !self.signing_secrets.is_empty() {
            v["signing_secrets"] = serde_json::json!(self.signing_secrets);
        }
        v.to_string()
    }
}

impl EventSpec {
    pub fn provider(&self) -> Result<Provider, String> {
        Provider::from_name(&self.provider)
            .ok_or_else(|| format!("{}: unknown provider {:?}", self.file, self.provider))
    }

    /// The delivery id: stable per sample so regenerating events changes nothing.
    pub fn delivery_id(&self) -> String {
        uuid_from(self.file.as_bytes())
    }

    /// Builds the API Gateway event for this sample from the payload under `root`.
    pub fn build(&self, root: &Path) -> Result<serde_json::Value, String> {
        let provider = self.provider()?;
        let payload_path = root.join("fixtures/payloads").join(&self.payload);
        let body = std::fs::read(&payload_path).map_err(|e| format!("{}: {e}", payload_path.display()))?;
        let delivery_id = self.delivery_id();
        let delivery = Delivery {
            provider,
            event: &self.event,
            body: &body,
            secret: &self.secret,
            delivery_id: &delivery_id,
            target: &self.target,
            signatures: self.signatures,
            signing: self.signing_secret.as_deref().map(|s| (s, self.signed_at.unwrap_or(0))),
        };
        Ok(api_gateway_event(self.format, provider.rules().route, &delivery.headers(), &body, false))
    }

    pub fn path(&self, root: &Path) -> PathBuf {
        root.join("events").join(&self.file)
    }
}

/// Writes every event of the manifest under `root/events/`; returns the files written.
pub fn write_all(root: &Path, manifest: &Manifest) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for spec in &manifest.events {
        let event = spec.build(root)?;
        let path = spec.path(root);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut text = serde_json::to_string_pretty(&event).expect("JSON value serializes");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
