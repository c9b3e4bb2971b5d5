//! Signature parsing and verification: never panics, and only the true signature of the
//! body under one of the secrets verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_intake::verification::{sign_github, token_digest, verify_github, verify_token, HubSignature};

const SECRETS: [&str; 2] = ["dev-webhook-secret", "rotated-new-secret"];

fuzz_target!(|data: &[u8]| {
    // First line: a header value as a host would send it; the rest: the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let header = String::from_utf8_lossy(header);
    if let Ok(signature) = HubSignature::parse(&header) {
        let verified = verify_github(&signature, body, &SECRETS);
        let genuine = SECRETS.iter().position(|s| HubSignature::parse(&sign_github(s.as_bytes(), body)).ok() == Some(signature));
        assert_eq!(verified, genuine, "verification disagrees with signing");
    }
    // Signing then verifying always succeeds, for any body.
    let signed = sign_github(SECRETS[1].as_bytes(), body);
    assert_eq!(verify_github(&HubSignature::parse(&signed).unwrap(), body, &SECRETS), Some(1));
    // Tokens: only an exact secret matches.
    let presented = token_digest(header.as_bytes());
    assert_eq!(verify_token(&presented, &SECRETS), SECRETS.iter().position(|s| *s == header));
});
