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
