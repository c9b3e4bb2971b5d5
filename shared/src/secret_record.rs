//! The secret record stored at `{prefix}/{provider}/{routing key}` in Secrets Manager.

use serde::Deserialize;

/// Who a routing key belongs to and the secrets its deliveries may be signed with.
///
/// Several secrets are valid at once: add the new one, switch the source host, then remove
/// the old one, and no delivery is refused on the way.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRecord {
    pub team_id: Option<String>,
    pub connection_id: Option<String>,
    secrets: Vec<String>,
    /// GitLab signing tokens (`whsec_…`), kept as given and as decoded keys. When present, a
    /// delivery must also carry a valid Standard Webhooks signature for one of them.
    signing_secrets: Vec<String>,
    signing_keys: Vec<Vec<u8>>,
}

/// Why a stored value is not a usable record (an operator error, never the sender's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    NotAnObject(String),
    NoSecrets,
    EmptySecret,
    BadSigningSecret,
    BadId,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::NotAnObject(e) => write!(f, "record is JSON but not a valid record object: {e}"),
            RecordError::NoSecrets => f.write_str("record has an empty \"secrets\" list"),
            RecordError::EmptySecret => f.write_str("record contains an empty secret"),
            RecordError::BadSigningSecret => f.write_str("a signing secret is not whsec_<base64> of at least 16 bytes"),
            RecordError::BadId => f.write_str(
                "team_id or connection_id is over 256 bytes or holds a character SQS refuses or a control character",
            ),
        }
    }
}

impl std::error::Error for RecordError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    connection_id: Option<String>,
    secrets: Vec<String>,
    #[serde(default)]
    signing_secrets: Vec<String>,
}

impl SecretRecord {
    pub fn new(
        team_id: Option<String>,
        connection_id: Option<String>,
        secrets: Vec<String>,
    ) -> Result<Self, RecordError> {
        if secrets.is_empty() {
            return Err(RecordError::NoSecrets);
        }
        // An empty HMAC key or token is one anybody can reproduce.
        if secrets.iter().any(|s| s.is_empty()) {
            return Err(RecordError::EmptySecret);
        }
        // The ids travel as SQS message attributes and log fields: a character SQS refuses
        // would fail every send for this tenant with 503, a control character forge a log line.
        let bad_id = |id: &Option<String>| {
            id.as_deref().is_some_and(|id| {
                id.len() > 256 || id.chars().any(|c| c.is_control() || ('\u{FFFE}'..='\u{FFFF}').contains(&c))
            })
        };
        if bad_id(&team_id) || bad_id(&connection_id) {
            return Err(RecordError::BadId);
        }
        Ok(SecretRecord { team_id, connection_id, secrets, signing_secrets: Vec::new(), signing_keys: Vec::new() })
    }

    /// The same record, also requiring a Standard Webhooks signature by one of `signing`.
    pub fn with_signing_secrets(mut self, signing: Vec<String>) -> Result<Self, RecordError> {
        let keys = signing
            .iter()
            .map(|s| match crate::verification::signing_key(s) {
                Ok(key) if s.starts_with("whsec_") && key.len() >= 16 => Ok(key),
                _ => Err(RecordError::BadSigningSecret),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.signing_secrets = signing;
        self.signing_keys = keys;
        Ok(self)
    }

    /// Decoded signing keys; empty when the record does not require signatures.
    pub fn signing_keys(&self) -> &[Vec<u8>] {
        &self.signing_keys
    }

    /// Reads a stored value: a JSON object as documented, or else the whole string is one
    /// secret (so a plain secret that merely starts with `{` still works).
    pub fn parse(value: &str) -> Result<Self, RecordError> {
        if !matches!(serde_json::from_str::<serde_json::Value>(value), Ok(serde_json::Value::Object(_))) {
            return SecretRecord::new(None, None, vec![value.to_owned()]);
        }
        // serde's messages quote the offending value, which may be a secret: keep only where.
        let stored: Stored = serde_json::from_str(value).map_err(|e| {
            RecordError::NotAnObject(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()))
        })?;
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        SecretRecord::new(nonempty(stored.team_id), nonempty(stored.connection_id), stored.secrets)?
            .with_signing_secrets(stored.signing_secrets)
    }

    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The signing secrets as stored (what an update must carry over).
    pub fn signing_secrets(&self) -> &[String] {
        &self.signing_secrets
    }

    /// The JSON stored in Secrets Manager for this record.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({
            "team_id": self.team_id,
            "connection_id": self.connection_id,
            "secrets": self.secrets,
        });
        if !self.signing_secrets.is_empty() {
            value["signing_secrets"] = serde_json::json!(self.signing_secrets);
        }
        value.to_string()
    }
}

// Secrets never reach a log line through `{:?}`.
impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("team_id", &self.team_id)
            .field("connection_id", &self.connection_id)
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .field("signing_secrets", &format_args!("[{} redacted]", self.signing_secrets.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_record() {
        let r = SecretRecord::parse(r#"{"team_id":"t_123","connection_id":"c_9","secrets":["new","old"]}"#).unwrap();
        assert_eq!(r.team_id.as_deref(), Some("t_123"));
        assert_eq!(r.connection_id.as_deref(), Some("c_9"));
        assert_eq!(r.secrets(), ["new", "old"]);
        let r = SecretRecord::parse(r#"{"secrets":["only"]}"#).unwrap();
        assert_eq!((r.team_id, r.connection_id), (None, None));
    }

    #[test]
    fn plain_string_is_one_secret() {
        let r = SecretRecord::parse("s3cr3t value").unwrap();
        assert_eq!(r.secrets(), ["s3cr3t value"]);
        assert_eq!(SecretRecord::parse("12345").unwrap().secrets(), ["12345"]);
    }

    #[test]
    fn rejects_unusable_records() {
        assert_eq!(SecretRecord::parse(r#"{"secrets":[]}"#), Err(RecordError::NoSecrets));
        assert_eq!(SecretRecord::parse(r#"{"secrets":["a",""]}"#), Err(RecordError::EmptySecret));
        assert_eq!(SecretRecord::parse(""), Err(RecordError::EmptySecret));
        assert!(matches!(SecretRecord::parse(r#"{"team_id":"t"}"#), Err(RecordError::NotAnObject(_))));
        assert!(matches!(SecretRecord::parse(r#"{"secret":["typo"]}"#), Err(RecordError::NotAnObject(_))));
        assert!(matches!(SecretRecord::parse(r#"{"secrets":"one"}"#), Err(RecordError::NotAnObject(_))));
    }

    #[test]
    fn ids_must_be_carriable_by_sqs_and_logs() {
        for bad in [r#""t\u0001""#, r#""t\uffff""#, r#""t\ufffe""#, r#""t\n""#, &format!(r#""{}""#, "x".repeat(257))] {
            for field in ["team_id", "connection_id"] {
                let value = format!(r#"{{"{field}":{bad},"secrets":["s"]}}"#);
                assert_eq!(SecretRecord::parse(&value), Err(RecordError::BadId), "{value}");
            }
        }
        let fine =
            SecretRecord::parse(r#"{"team_id":"équipe \ufffd 🚀","connection_id":"c-1","secrets":["s"]}"#).unwrap();
        assert_eq!(fine.team_id.as_deref(), Some("équipe \u{FFFD} 🚀"));
    }

    #[test]
    fn errors_never_quote_the_stored_value() {
        for bad in [
            r#"{"secrets":"hunter2-TOP-SECRET"}"#,
            r#"{"secrets":["ok"],"hunter2-TOP-SECRET":1}"#,
            r#"{"secrets":[7]}"#,
        ] {
            let e = SecretRecord::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn plain_secrets_that_look_like_json_are_still_secrets() {
        assert_eq!(SecretRecord::parse("{not-json-secret").unwrap().secrets(), ["{not-json-secret"]);
        assert_eq!(SecretRecord::parse("[1,2]").unwrap().secrets(), ["[1,2]"]);
        let r = SecretRecord::parse(r#"{"team_id":"","secrets":["s"]}"#).unwrap();
        assert_eq!(r.team_id, None, "an empty team id is no team id (SQS refuses empty attributes)");
    }

    #[test]
    fn signing_secrets() {
        let r =
            SecretRecord::parse(r#"{"secrets":["tok"],"signing_secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}"#)
                .unwrap();
        assert_eq!(r.signing_keys().len(), 1);
        assert_eq!(SecretRecord::parse(&r.to_json()).unwrap(), r, "round trip");
        assert!(SecretRecord::parse(r#"{"secrets":["t"]}"#).unwrap().signing_keys().is_empty());
        for bad in [r#"["nope"]"#, r#"["whsec_%%%"]"#, r#"["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]"#, r#"["whsec_YWJj"]"#] {
            let v = format!(r#"{{"secrets":["t"],"signing_secrets":{bad}}}"#);
            assert_eq!(SecretRecord::parse(&v), Err(RecordError::BadSigningSecret), "{bad}");
        }
    }

    #[test]
    fn debug_redacts() {
        let r = SecretRecord::parse(r#"{"team_id":"t","secrets":["hunter2"]}"#).unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("1 redacted"));
    }
}
