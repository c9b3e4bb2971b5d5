//! Delivery authentication: pure functions over bytes, no I/O, no AWS types.
//!
//! Kept tiny on purpose (after the svix verifier and @octokit/webhooks-methods) so it is
//! easy to read, fuzz and audit. Every comparison of secret material is constant time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The prefix GitHub puts before the hex digest in `X-Hub-Signature-256`.
pub const SHA256_PREFIX: &str = "sha256=";

/// A parsed `X-Hub-Signature-256` value: the 32 raw digest bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HubSignature([u8; 32]);

impl std::fmt::Debug for HubSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubSignature(..)")
    }
}

/// Why a signature header could not even be parsed (answered with 401, never 403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No `sha256=` prefix (this is also what a legacy `sha1=` value hits).
    MissingPrefix,
    /// Not exactly 64 hex digits after the prefix.
    BadHex,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::MissingPrefix => "signature must start with sha256=",
            SignatureError::BadHex => "signature must be 64 hex digits after sha256=",
        })
    }
}

impl std::error::Error for SignatureError {}

impl HubSignature {
    /// Parses `sha256=<64 hex>`; surrounding ASCII whitespace is tolerated, nothing else.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let hex_digest = header
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .strip_prefix(SHA256_PREFIX)
            .ok_or(SignatureError::MissingPrefix)?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| SignatureError::BadHex)?;
        Ok(HubSignature(digest))
    }
}

/// HMAC-SHA256 of `body` under `secret`.
pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The `X-Hub-Signature-256` header value GitHub would send for `body` signed with `secret`.
pub fn sign_github(secret: &[u8], body: &[u8]) -> String {
    format!("{SHA256_PREFIX}{}", hex::encode(hmac_sha256(secret, body)))
}

/// Index of the first secret under which `signature` is the HMAC of `body`, if any.
///
/// Several secrets are valid at once so a secret can rotate without downtime. The body is
/// hashed once per secret at most; comparison is constant time.
pub fn verify_github<S: AsRef<[u8]>>(signature: &HubSignature, body: &[u8], secrets: &[S]) -> Option<usize> {
    secrets.iter().position(|secret| bool::from(hmac_sha256(secret.as_ref(), body).ct_eq(&signature.0)))
}

/// SHA-256 of a shared token: what tokens are compared by, so the comparison is constant
/// time and leaks neither content nor length.
pub fn token_digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Index of the first secret equal to the token whose digest is `presented`, if any.
pub fn verify_token<S: AsRef<[u8]>>(presented: &[u8; 32], secrets: &[S]) -> Option<usize> {
    secrets.iter().position(|secret| bool::from(token_digest(secret.as_ref()).ct_eq(presented)))
}

/// Standard Webhooks (GitLab signing tokens): how far a `webhook-timestamp` may be from now.
pub const TIMESTAMP_TOLERANCE_SECONDS: u64 = 5 * 60;

/// Why a Standard Webhooks signature did not verify (all answered with 403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandardWebhookError {
    /// A `whsec_` secret that is not base64.
    BadSecret,
    /// `webhook-timestamp` is not Unix seconds.
    BadTimestamp,
    /// Older than the tolerance: possibly a replay.
    Expired,
    /// Newer than the tolerance: a clock far off, or a prepared replay.
    FromTheFuture,
    /// No `v1,` signature in the header matches any secret.
    NoMatch,
}

/// The key of a `whsec_<base64>` signing secret.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, StandardWebhookError> {
    use base64::Engine;
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| StandardWebhookError::BadSecret)
}

/// The `v1,<base64>` signature of `{id}.{timestamp}.{body}` under `key`.
pub fn sign_standard_webhook(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    use base64::Engine;
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(standard_mac(key, id, &timestamp.to_string(), body))
    )
}

fn standard_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Index of the first key that signed this delivery, checking the timestamp against `now`
/// (Unix seconds). `signatures` is the `webhook-signature` header: space-separated entries,
/// any of which may match; entries of other versions are skipped. Each key hashes the body
/// once, however many entries there are.
pub fn verify_standard_webhook<K: AsRef<[u8]>>(
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    keys: &[K],
    now: u64,
) -> Result<usize, StandardWebhookError> {
    use base64::Engine;
    if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StandardWebhookError::BadTimestamp);
    }
    let sent: u64 = timestamp.parse().map_err(|_| StandardWebhookError::BadTimestamp)?;
    if now > sent && now - sent > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(StandardWebhookError::Expired);
    }
    if sent > now && sent - now > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(StandardWebhookError::FromTheFuture);
    }
    let presented: Vec<[u8; 32]> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter_map(|raw| <[u8; 32]>::try_from(raw.as_slice()).ok())
        .take(16)
        .collect();
    keys.iter()
        .position(|key| {
            let expected = standard_mac(key.as_ref(), id, timestamp, body);
            presented.iter().fold(false, |found, sig| found | bool::from(expected.ct_eq(sig)))
        })
        .ok_or(StandardWebhookError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answer from GitHub's "Validating webhook deliveries" documentation.
    const DOC_SECRET: &[u8] = b"It's a Secret to Everybody";
    const DOC_BODY: &[u8] = b"Hello, World!";
    const DOC_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_documented_vector() {
        assert_eq!(sign_github(DOC_SECRET, DOC_BODY), DOC_SIGNATURE);
        let sig = HubSignature::parse(DOC_SIGNATURE).unwrap();
        assert_eq!(verify_github(&sig, DOC_BODY, &[DOC_SECRET]), Some(0));
    }

    // RFC 4231 test case 2 (HMAC-SHA256), a second independent known answer.
    #[test]
    fn rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn any_of_several_secrets_verifies() {
        let sig = HubSignature::parse(DOC_SIGNATURE).unwrap();
        let secrets: [&[u8]; 3] = [b"new", DOC_SECRET, b"older"];
        assert_eq!(verify_github(&sig, DOC_BODY, &secrets), Some(1));
        assert_eq!(verify_github(&sig, DOC_BODY, &["new", "older"]), None);
        assert_eq!(verify_github::<&[u8]>(&sig, DOC_BODY, &[]), None);
    }

    #[test]
    fn one_changed_byte_fails() {
        let sig = HubSignature::parse(DOC_SIGNATURE).unwrap();
        assert_eq!(verify_github(&sig, b"Hello, World?", &[DOC_SECRET]), None);
        let mut other = DOC_SIGNATURE.to_string();
        other.replace_range(70..71, "6");
        let sig = HubSignature::parse(&other).unwrap();
        assert_eq!(verify_github(&sig, DOC_BODY, &[DOC_SECRET]), None);
    }

    #[test]
    fn parse_rejects_malformed() {
        use SignatureError::*;
        let hex64 = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(HubSignature::parse(&format!("sha1={}", &hex64[..40])), Err(MissingPrefix));
        assert_eq!(HubSignature::parse(hex64), Err(MissingPrefix));
        assert_eq!(HubSignature::parse(&format!("SHA256={hex64}")), Err(MissingPrefix));
        assert_eq!(HubSignature::parse("sha256="), Err(BadHex));
        assert_eq!(HubSignature::parse(&format!("sha256={}", &hex64[..62])), Err(BadHex));
        assert_eq!(HubSignature::parse(&format!("sha256={hex64}00")), Err(BadHex));
        assert_eq!(HubSignature::parse(&format!("sha256={}zz", &hex64[..62])), Err(BadHex));
        assert_eq!(HubSignature::parse(&format!("sha256={hex64},sha256={hex64}")), Err(BadHex));
        assert!(HubSignature::parse(&format!(" sha256={} ", hex64.to_uppercase())).is_ok());
    }

    // The Standard Webhooks specification's test vector.
    const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SW_TIMESTAMP: u64 = 1614265330;
    const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SW_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn standard_webhooks_vector() {
        let key = signing_key(SW_SECRET).unwrap();
        assert_eq!(sign_standard_webhook(&key, SW_ID, SW_TIMESTAMP, SW_BODY), SW_SIGNATURE);
        let ts = SW_TIMESTAMP.to_string();
        assert_eq!(verify_standard_webhook(SW_ID, &ts, SW_BODY, SW_SIGNATURE, &[&key], SW_TIMESTAMP), Ok(0));
    }

    #[test]
    fn standard_webhooks_multiple_signatures_and_keys() {
        use StandardWebhookError::*;
        let key = signing_key(SW_SECRET).unwrap();
        let other = signing_key("whsec_dGhlLW5ldy1zaWduaW5nLXNlY3JldC0zMmJ5dGVzIQ==").unwrap();
        let ts = SW_TIMESTAMP.to_string();
        let header = format!("v2,abc v1,AAAA v1,{} {SW_SIGNATURE}", "A".repeat(43) + "=");
        assert_eq!(verify_standard_webhook(SW_ID, &ts, SW_BODY, &header, &[&other, &key], SW_TIMESTAMP), Ok(1));
        let fresh = sign_standard_webhook(&other, SW_ID, SW_TIMESTAMP, SW_BODY);
        assert_eq!(verify_standard_webhook(SW_ID, &ts, SW_BODY, &fresh, &[&key, &other], SW_TIMESTAMP), Ok(1));
        assert_eq!(verify_standard_webhook(SW_ID, &ts, SW_BODY, "v1,AAAA", &[&key], SW_TIMESTAMP), Err(NoMatch));
        assert_eq!(verify_standard_webhook(SW_ID, &ts, SW_BODY, "", &[&key], SW_TIMESTAMP), Err(NoMatch));
        // Tampered body, id or timestamp.
        assert_eq!(
            verify_standard_webhook(SW_ID, &ts, br#"{"test": 2432232315}"#, SW_SIGNATURE, &[&key], SW_TIMESTAMP),
            Err(NoMatch)
        );
        assert_eq!(
            verify_standard_webhook("msg_other", &ts, SW_BODY, SW_SIGNATURE, &[&key], SW_TIMESTAMP),
            Err(NoMatch)
        );
        let later = (SW_TIMESTAMP + 1).to_string();
        assert_eq!(verify_standard_webhook(SW_ID, &later, SW_BODY, SW_SIGNATURE, &[&key], SW_TIMESTAMP), Err(NoMatch));
    }

    #[test]
    fn standard_webhooks_timestamps() {
        use StandardWebhookError::*;
        let key = signing_key(SW_SECRET).unwrap();
        let ts = SW_TIMESTAMP.to_string();
        let check = |now| verify_standard_webhook(SW_ID, &ts, SW_BODY, SW_SIGNATURE, &[&key], now);
        assert_eq!(check(SW_TIMESTAMP + 300), Ok(0));
        assert_eq!(check(SW_TIMESTAMP + 301), Err(Expired));
        assert_eq!(check(SW_TIMESTAMP - 300), Ok(0));
        assert_eq!(check(SW_TIMESTAMP - 301), Err(FromTheFuture));
        for bad in ["", "-1", "16142653.30", "1e9", "99999999999999999999"] {
            assert_eq!(
                verify_standard_webhook(SW_ID, bad, SW_BODY, SW_SIGNATURE, &[&key], SW_TIMESTAMP),
                Err(BadTimestamp)
            );
        }
        assert_eq!(signing_key("whsec_%%%"), Err(BadSecret));
    }

    #[test]
    fn tokens_compare_by_digest() {
        let presented = token_digest(b"dev-gitlab-token");
        assert_eq!(verify_token(&presented, &["other", "dev-gitlab-token"]), Some(1));
        assert_eq!(verify_token(&presented, &["dev-gitlab-token-longer", "dev-gitlab-toke"]), None);
        // Known answer: SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            hex::encode(token_digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
