//! Each candidate validator as one function: does it take `body` as one JSON document?
//! The bench times them beside the HMAC; the test shows which invalid documents each lets
//! through. Together they are why `shared/src/payload.rs` stays on serde_json.

use serde::de::IgnoredAny;

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
    serde::de::DeserializeSeed::deserialize(Strict, &mut de).is_ok() && de.end().is_ok()
}

struct Strict;

impl<'de> serde::de::DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Strict)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Strict)?.is_some() {
            map.next_value_seed(Strict)?;
        }
        Ok(())
    }
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
