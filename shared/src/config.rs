//! Configuration: the environment, read once at start-up.

use std::time::Duration;

use crate::provider::Provider;
use crate::secret_cache::CachePolicy;

/// SQS's largest message (1 MiB), also the default the template gives the queue.
pub const SQS_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Config {
    pub provider: Provider,
    pub queue_url: String,
    pub secret_prefix: String,
    pub cache: CachePolicy,
    /// Event names forwarded to the queue (the provider's defaults unless `FORWARD_EVENTS`).
    pub forward_events: Vec<String>,
    pub max_body_bytes: usize,
    /// Largest message the queue takes.
    pub max_message_bytes: usize,
    /// S3 bucket for payloads too big for one queue message (`PAYLOAD_BUCKET`).
    pub payload_bucket: Option<String>,
    /// Emit EMF metric lines (`METRICS=emf|off`; on by default inside Lambda only, so tests
    /// and benchmarks stay quiet).
    pub metrics: bool,
}

/// A missing or invalid setting, named so the one start-up log line says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env(provider: Provider) -> Result<Config, ConfigError> {
        Config::from_lookup(provider, |name| std::env::var(name).ok())
    }

    /// Reads settings through `var` (the environment, or a map in tests).
    pub fn from_lookup(provider: Provider, var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let queue_url = get("QUEUE_URL").ok_or_else(|| ConfigError("QUEUE_URL is required".into()))?;
        if !(queue_url.starts_with("https://") || queue_url.starts_with("http://")) {
            return Err(ConfigError(format!("QUEUE_URL must be an http(s) URL, got {queue_url:?}")));
        }
        let secret_prefix = get("SECRET_PREFIX").unwrap_or_else(|| "webhooks".into());
        if secret_prefix.starts_with('/')
            || secret_prefix.ends_with('/')
            || !secret_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
        {
            return Err(ConfigError(format!(
                "SECRET_PREFIX must use Secrets Manager name characters without a leading or trailing '/', got {secret_prefix:?}"
            )));
        }
        let seconds = |name: &str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(number(name, get(name), default)?))
        };
        let defaults = CachePolicy::default();
        let cache = CachePolicy {
            ttl: seconds("SECRET_CACHE_TTL_SECONDS", defaults.ttl.as_secs())?,
            negative_ttl: seconds("SECRET_NEGATIVE_TTL_SECONDS", defaults.negative_ttl.as_secs())?,
            max_stale: seconds("SECRET_MAX_STALE_SECONDS", defaults.max_stale.as_secs())?,
            miss_rate: number("SECRET_LOOKUPS_PER_SECOND", get("SECRET_LOOKUPS_PER_SECOND"), defaults.miss_rate as u64)?
                as f64,
            miss_burst: number("SECRET_LOOKUP_BURST", get("SECRET_LOOKUP_BURST"), defaults.miss_burst as u64)? as f64,
            ..defaults
        };
        // A zero TTL would make every delivery a Secrets Manager call.
        if cache.ttl.is_zero() || cache.negative_ttl.is_zero() {
            return Err(ConfigError(
                "SECRET_CACHE_TTL_SECONDS and SECRET_NEGATIVE_TTL_SECONDS must be at least 1".into(),
            ));
        }
        if cache.miss_burst < 1.0 {
            return Err(ConfigError("SECRET_LOOKUP_BURST must be at least 1".into()));
        }
        let forward_events = match get("FORWARD_EVENTS") {
            None => provider.rules().default_events.iter().map(|e| e.to_string()).collect(),
            Some(list) => {
                let events: Vec<String> =
                    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
                if events.is_empty() {
                    return Err(ConfigError("FORWARD_EVENTS lists no event".into()));
                }
                events
            }
        };
        let max_body_bytes = number("MAX_BODY_BYTES", get("MAX_BODY_BYTES"), 25 * 1024 * 1024)? as usize;
        if max_body_bytes == 0 {
            return Err(ConfigError("MAX_BODY_BYTES must be positive".into()));
        }
        Ok(Config {
            provider,
            queue_url,
            secret_prefix,
            cache,
            forward_events,
            max_body_bytes,
            max_message_bytes: SQS_MAX_MESSAGE_BYTES,
            payload_bucket: get("PAYLOAD_BUCKET"),
            metrics: match get("METRICS").as_deref() {
                None => get("AWS_LAMBDA_FUNCTION_NAME").is_some(),
                Some("emf") => true,
                Some("off") => false,
                Some(other) => return Err(ConfigError(format!("METRICS must be emf or off, got {other:?}"))),
            },
        })
    }

    /// Secrets Manager id of the record for `routing_key`.
    pub fn secret_id(&self, routing_key: &str) -> String {
        format!("{}/{}/{}", self.secret_prefix, self.provider.name(), routing_key)
    }

    pub fn forwards(&self, event: &str) -> bool {
        self.forward_events.iter().any(|e| e == event)
    }

    pub fn is_fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }
}

fn number(name: &str, value: Option<String>, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError(format!("{name} must be a whole number, got {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(Provider::GitLab, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = load(&[("QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/q")]).unwrap();
        assert_eq!(c.secret_prefix, "webhooks");
        assert_eq!(c.cache.ttl, Duration::from_secs(300));
        assert_eq!(c.cache.negative_ttl, Duration::from_secs(60));
        assert_eq!(c.max_body_bytes, 25 * 1024 * 1024);
        assert_eq!(c.forward_events, ["Merge Request Hook", "Push Hook", "Note Hook", "Vulnerability Hook"]);
        assert_eq!(c.secret_id("token/ab"), "webhooks/gitlab/token/ab");
        assert!(!c.is_fifo());
        assert_eq!((c.cache.miss_rate, c.cache.miss_burst), (20.0, 100.0));
        assert_eq!(c.payload_bucket, None);
    }

    #[test]
    fn overrides() {
        let c = load(&[
            ("QUEUE_URL", "http://localhost:5000/1/q.fifo"),
            ("SECRET_PREFIX", "prod/hooks"),
            ("SECRET_CACHE_TTL_SECONDS", "5"),
            ("FORWARD_EVENTS", "Push Hook, Tag Push Hook,"),
            ("MAX_BODY_BYTES", "1024"),
            ("PAYLOAD_BUCKET", "payloads"),
            ("SECRET_LOOKUPS_PER_SECOND", "3"),
        ])
        .unwrap();
        assert_eq!(c.secret_id("x"), "prod/hooks/gitlab/x");
        assert_eq!(c.cache.ttl, Duration::from_secs(5));
        assert_eq!(c.forward_events, ["Push Hook", "Tag Push Hook"]);
        assert!(c.forwards("Tag Push Hook") && !c.forwards("Merge Request Hook"));
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.payload_bucket.as_deref(), Some("payloads"));
        assert_eq!(c.cache.miss_rate, 3.0);
        assert!(c.is_fifo());
    }

    #[test]
    fn errors_name_the_setting() {
        assert!(load(&[]).unwrap_err().0.contains("QUEUE_URL"));
        let q = ("QUEUE_URL", "https://q");
        assert!(load(&[q, ("SECRET_CACHE_TTL_SECONDS", "5m")]).unwrap_err().0.contains("SECRET_CACHE_TTL_SECONDS"));
        assert!(load(&[q, ("MAX_BODY_BYTES", "-1")]).unwrap_err().0.contains("MAX_BODY_BYTES"));
        assert!(load(&[q, ("MAX_BODY_BYTES", "0")]).unwrap_err().0.contains("MAX_BODY_BYTES"));
        assert!(load(&[q, ("SECRET_PREFIX", "/x/")]).unwrap_err().0.contains("SECRET_PREFIX"));
        assert!(load(&[q, ("FORWARD_EVENTS", " , ")]).unwrap_err().0.contains("FORWARD_EVENTS"));
        assert!(load(&[q, ("SECRET_LOOKUP_BURST", "0")]).unwrap_err().0.contains("SECRET_LOOKUP_BURST"));
        assert!(load(&[q, ("SECRET_CACHE_TTL_SECONDS", "0")]).unwrap_err().0.contains("SECRET_CACHE_TTL_SECONDS"));
        assert!(load(&[("QUEUE_URL", "q")]).unwrap_err().0.contains("QUEUE_URL"));
    }
}
