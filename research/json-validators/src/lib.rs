//! Each candidate validator as one function: does it take `body` as one JSON document?
//! The bench times them beside the HMAC; the test shows which invalid documents each lets
//! through. Together they are why `shared/src/payload.rs` stays on serde_json.

use serde::de::{DeserializeSeed, IgnoredAny};
use webhook_intake::payload::Strict;

pub type Validator = fn(&[u8]) -> bool;

/// What the pipeline runs: UTF-8, then one strict pass that keeps the envelope's members.
pub fn ours(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .is_ok_and(|text| webhook_intake::payload::top_level(text, webhook_intake::pipeline::MEMBERS).is_ok())
}

pub fn serde_json_skip(body: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

pub fn sonic_rs_skip(body: &[u8]) -> bool {
    sonic_rs::from_slice::<IgnoredAny>(body).is_ok()
}

/// Strict, but builds the whole document as a tree.
pub fn sonic_rs_value(body: &[u8]) -> bool {
    sonic_rs::from_slice::<sonic_rs::Value>(body).is_ok()
}

/// Needs its own mutable copy of the body (it unescapes in place).
pub fn simd_json_tape(body: &[u8]) -> bool {
    let mut copy = body.to_vec();
    simd_json::to_tape(&mut copy).is_ok()
}

pub fn jiter_skip(body: &[u8]) -> bool {
    let mut jiter = jiter::Jiter::new(body);
    jiter.next_skip().is_ok() && jiter.finish().is_ok()
}

/// Our strict visitor (every string decoded, every number parsed) over sonic-rs's parser.
pub fn sonic_rs_strict(body: &[u8]) -> bool {
    let mut de = sonic_rs::Deserializer::from_slice(body);
    Strict.deserialize(&mut de).is_ok() && de.end().is_ok()
}

pub const ALL: [(&str, Validator); 7] = [
    ("ours (serde_json, strict)", ours),
    ("serde_json IgnoredAny", serde_json_skip),
    ("sonic-rs IgnoredAny", sonic_rs_skip),
    ("sonic-rs Value", sonic_rs_value),
    ("sonic-rs strict visitor", sonic_rs_strict),
    ("simd-json to_tape", simd_json_tape),
    ("jiter next_skip", jiter_skip),
];
