//! Payloads too big for one queue message are stored whole in S3 and referenced from the
//! envelope, so nothing accepted is dropped or truncated.

use crate::BoxFuture;

#[derive(Clone, Debug)]
pub struct PayloadStoreError(pub String);

impl std::fmt::Display for PayloadStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PayloadStoreError {}

pub trait PayloadStore: Send + Sync {
    /// The bucket named in `payload_ref`.
    fn bucket(&self) -> &str;

    /// Stores `bytes` (a JSON document) under `key`; resolves once it is durable.
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), PayloadStoreError>>;
}

/// `{provider}/{YYYY-MM-DD}/{delivery id}.{sha256 of the payload}.json`: content-addressed
/// under the delivery id, so a sender reusing someone else's delivery id can never replace
/// the bytes another envelope refers to. A delivery id that is not a plain file name is
/// replaced by its digest so keys stay predictable.
pub fn object_key(provider: &str, received_at: &str, delivery_id: &str, payload_sha256: &str) -> String {
    use sha2::Digest;
    let date = received_at.get(..10).unwrap_or("unknown-date");
    let plain = delivery_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !delivery_id.starts_with('.');
    let name = if plain {
        delivery_id.to_owned()
    } else {
        format!("sha256-{}", hex::encode(sha2::Sha256::digest(delivery_id)))
    };
    format!("{provider}/{date}/{name}.{payload_sha256}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let key = object_key("github", "2026-12-03T12:00:00.000Z", "abc-1", "ff00");
        assert_eq!(key, "github/2026-12-03/abc-1.ff00.json");
        let odd = object_key("gitlab", "2026-12-03T12:00:00Z", "../x", "ff00");
        assert!(odd.starts_with("gitlab/2026-12-03/sha256-") && !odd.contains(".."), "{odd}");
    }
}
