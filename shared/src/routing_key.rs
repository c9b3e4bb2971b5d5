//! The routing key: which secret record a delivery asks to be checked against.
//!
//! It comes from headers an attacker controls, so it only *selects* a record and is never
//! trusted; anything outside a narrow alphabet is refused before a lookup is made.

use crate::provider::{Routing, ENTERPRISE_HOST, GITLAB_TOKEN, TARGET_ID, TARGET_TYPE};
use crate::verification::token_digest;

/// Longest accepted routing key segment (Secrets Manager names stop at 512 characters).
pub const MAX_SEGMENT_LEN: usize = 200;

/// Why no routing key could be read (answered with 401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingError {
    Missing(&'static str),
    Malformed(&'static str),
}

impl RoutingError {
    pub fn message(self) -> &'static str {
        match self {
            RoutingError::Missing(TARGET_TYPE) => "missing X-GitHub-Hook-Installation-Target-Type header",
            RoutingError::Missing(TARGET_ID) => "missing X-GitHub-Hook-Installation-Target-ID header",
            RoutingError::Missing(ENTERPRISE_HOST) => "missing X-GitHub-Enterprise-Host header",
            RoutingError::Missing(_) => "missing X-Gitlab-Token header",
            RoutingError::Malformed(TARGET_TYPE) => "malformed X-GitHub-Hook-Installation-Target-Type header",
            RoutingError::Malformed(TARGET_ID) => "malformed X-GitHub-Hook-Installation-Target-ID header",
            RoutingError::Malformed(ENTERPRISE_HOST) => "malformed X-GitHub-Enterprise-Host header",
            RoutingError::Malformed(_) => "malformed X-Gitlab-Token header",
        }
    }
}

/// A validated routing key, e.g. `organization/123`, `ghe.example.com`, `token/<hex>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoutingKey(String);

impl RoutingKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Derives the key from header values looked up by lowercase name.
    ///
    /// For GitLab the token itself is needed; its SHA-256 digest is returned beside the key
    /// so verification does not hash it twice.
    pub fn derive<'a>(
        routing: Routing,
        header: impl Fn(&'static str) -> Option<&'a [u8]>,
    ) -> Result<(RoutingKey, Option<[u8; 32]>), RoutingError> {
        let get = |name| header(name).ok_or(RoutingError::Missing(name));
        match routing {
            Routing::InstallationTarget => {
                let kind = segment(get(TARGET_TYPE)?, TARGET_TYPE)?;
                let id = segment(get(TARGET_ID)?, TARGET_ID)?;
                Ok((RoutingKey(format!("{kind}/{id}")), None))
            }
            Routing::EnterpriseHost => {
                let host = segment(get(ENTERPRISE_HOST)?, ENTERPRISE_HOST)?;
                Ok((RoutingKey(host.to_ascii_lowercase()), None))
            }
            Routing::TokenDigest => {
                let token = get(GITLAB_TOKEN)?;
                if token.is_empty() {
                    return Err(RoutingError::Missing(GITLAB_TOKEN));
                }
                // The token's raw bytes: any byte a header may carry is a valid token byte.
                let digest = token_digest(token);
                Ok((RoutingKey(format!("token/{}", hex::encode(digest))), Some(digest)))
            }
        }
    }

    /// The key as it may appear in logs: a GitLab token digest is cut short, so a log line
    /// cannot be used to guess a weak token offline.
    pub fn loggable(&self) -> String {
        match self.0.strip_prefix("token/") {
            Some(digest) => format!("token/{}…", &digest[..8.min(digest.len())]),
            None => self.0.clone(),
        }
    }

    /// The key for a GitLab token, as an operator provisions it.
    pub fn for_gitlab_token(token: &str) -> RoutingKey {
        RoutingKey(format!("token/{}", hex::encode(token_digest(token.as_bytes()))))
    }

    /// Validates a key typed by an operator or test (`kind/id`, a host, or `token/<hex>`).
    pub fn parse(key: &str) -> Option<RoutingKey> {
        let mut parts = key.splitn(2, '/');
        let first = parts.next()?;
        segment(first.as_bytes(), TARGET_TYPE).ok()?;
        if let Some(rest) = parts.next() {
            segment(rest.as_bytes(), TARGET_ID).ok()?;
        }
        Some(RoutingKey(key.to_owned()))
    }
}

impl std::fmt::Display for RoutingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One path segment: `[A-Za-z0-9._-]{1,200}`, not `.` or `..`.
fn segment<'a>(value: &'a [u8], header: &'static str) -> Result<&'a str, RoutingError> {
    let value = std::str::from_utf8(value).map_err(|_| RoutingError::Malformed(header))?;
    let ok = !value.is_empty()
        && value.len() <= MAX_SEGMENT_LEN
        && value != "."
        && value != ".."
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(value)
    } else {
        Err(RoutingError::Malformed(header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn derive(routing: Routing, headers: &[(&'static str, &'static str)]) -> Result<String, RoutingError> {
        let map: HashMap<_, _> = headers.iter().copied().collect();
        RoutingKey::derive(routing, |name| map.get(name).map(|v| v.as_bytes())).map(|(k, _)| k.0)
    }

    #[test]
    fn github_installation_target() {
        let key = derive(Routing::InstallationTarget, &[(TARGET_TYPE, "organization"), (TARGET_ID, "123")]);
        assert_eq!(key.unwrap(), "organization/123");
        assert_eq!(
            derive(Routing::InstallationTarget, &[(TARGET_TYPE, "repository")]),
            Err(RoutingError::Missing(TARGET_ID))
        );
        for bad in ["", "..", "a/b", "a b", "x%2f", "ä", "a\0b"] {
            assert_eq!(
                derive(Routing::InstallationTarget, &[(TARGET_TYPE, "repository"), (TARGET_ID, bad)]),
                Err(RoutingError::Malformed(TARGET_ID)),
                "{bad:?}"
            );
        }
        let long = Box::leak("1".repeat(MAX_SEGMENT_LEN + 1).into_boxed_str());
        assert!(derive(Routing::InstallationTarget, &[(TARGET_TYPE, "repository"), (TARGET_ID, long)]).is_err());
    }

    #[test]
    fn enterprise_host_is_lowercased() {
        let key = derive(Routing::EnterpriseHost, &[(ENTERPRISE_HOST, "GHE.Example.COM")]);
        assert_eq!(key.unwrap(), "ghe.example.com");
        assert_eq!(
            derive(Routing::EnterpriseHost, &[(ENTERPRISE_HOST, "ghe.example.com:8443")]),
            Err(RoutingError::Malformed(ENTERPRISE_HOST))
        );
    }

    #[test]
    fn gitlab_token_digest() {
        // SHA-256("abc"), FIPS 180-2 known answer.
        let key = derive(Routing::TokenDigest, &[(GITLAB_TOKEN, "abc")]).unwrap();
        assert_eq!(key, "token/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(RoutingKey::for_gitlab_token("abc").as_str(), key);
        assert_eq!(derive(Routing::TokenDigest, &[(GITLAB_TOKEN, "")]), Err(RoutingError::Missing(GITLAB_TOKEN)));
        assert_eq!(derive(Routing::TokenDigest, &[]), Err(RoutingError::Missing(GITLAB_TOKEN)));
        // Commas and non-ASCII bytes are part of the token, not a reason to refuse it.
        assert!(derive(Routing::TokenDigest, &[(GITLAB_TOKEN, "s3cr3t,with,commas")]).is_ok());
        assert_eq!(
            derive(Routing::TokenDigest, &[(GITLAB_TOKEN, "pässwörd")]).unwrap(),
            RoutingKey::for_gitlab_token("pässwörd").to_string()
        );
    }

    #[test]
    fn parse_operator_keys() {
        assert!(RoutingKey::parse("repository/186853002").is_some());
        assert!(RoutingKey::parse("ghe.example.com").is_some());
        assert!(RoutingKey::parse("a/b/c").is_none());
        assert!(RoutingKey::parse("../x").is_none());
    }
}
