//! Reading the few payload fields the envelope needs, in one pass over the body.
//!
//! The payload is never turned into a tree: one streaming pass validates the whole document
//! and keeps borrowed slices of the top-level members asked for; nested fields are then
//! read from those (small) slices. Fields of an unexpected type read as absent.
//!
//! Validation is strict, as strict as the scanner's own parser will be: every string is
//! decoded (a lone surrogate escape is refused) and every number parsed (`1e999999` is
//! refused), so nothing is queued that a consumer cannot read.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Why a body is not a JSON object.
#[derive(Debug)]
pub struct NotJsonObject;

/// Validates `body` as one JSON object and returns its members named in `keys`, in order.
pub fn top_level<'a, const N: usize>(
    body: &'a str,
    keys: [&str; N],
) -> Result<[Option<&'a RawValue>; N], NotJsonObject> {
    let mut de = serde_json::Deserializer::from_str(body);
    let found = Members { keys }.deserialize(&mut de).map_err(|_| NotJsonObject)?;
    de.end().map_err(|_| NotJsonObject)?;
    Ok(found)
}

/// Follows a JSON pointer (`/a/b`) whose first token is one of the members already read.
pub fn pointer<'a>(members: &[(&str, Option<&'a RawValue>)], pointer: &str) -> Option<&'a RawValue> {
    let mut tokens = pointer.strip_prefix('/')?.split('/');
    let first = tokens.next()?;
    let mut current = members.iter().find(|(k, _)| *k == first)?.1?;
    for token in tokens {
        let mut de = serde_json::Deserializer::from_str(current.get());
        current = Members { keys: [token] }.deserialize(&mut de).ok()?[0]?;
    }
    Some(current)
}

/// A JSON string value, unescaped.
pub fn as_string(raw: Option<&RawValue>) -> Option<String> {
    serde_json::from_str(raw?.get()).ok()
}

/// A JSON unsigned integer value.
pub fn as_u64(raw: Option<&RawValue>) -> Option<u64> {
    serde_json::from_str(raw?.get()).ok()
}

struct Members<'k, const N: usize> {
    keys: [&'k str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for Members<'_, N> {
    type Value = [Option<&'de RawValue>; N];

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Members<'_, N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(index) = map.next_key_seed(KeyIndex { keys: &self.keys })? {
            match index {
                Some(i) => {
                    let raw = map.next_value::<&RawValue>()?;
                    let mut de = serde_json::Deserializer::from_str(raw.get());
                    Strict.deserialize(&mut de).map_err(serde::de::Error::custom)?;
                    found[i] = Some(raw);
                }
                None => map.next_value_seed(Strict)?,
            }
        }
        Ok(found)
    }
}

/// Skips a value while checking it completely (strings decoded, numbers parsed). Public so
/// the validator comparison in `research/` runs this same check over other parsers.
pub struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Strict)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Strict)?.is_some() {
            map.next_value_seed(Strict)?;
        }
        Ok(())
    }
}

/// Matches an object key against the wanted names without allocating.
struct KeyIndex<'a, 'k> {
    keys: &'a [&'k str],
}

impl<'de> DeserializeSeed<'de> for KeyIndex<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIndex<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.keys.iter().position(|k| *k == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_nested_fields() {
        let body = r#" {"action":"opened","repository":{"id":1,"full_name":"o\/r™"},"big":[1,{"x":"y"}],"installation":{"id":42}} "#;
        let [action, repo, inst] = top_level(body, ["action", "repository", "installation"]).unwrap();
        let members = [("action", action), ("repository", repo), ("installation", inst)];
        assert_eq!(as_string(pointer(&members, "/action")).as_deref(), Some("opened"));
        assert_eq!(as_string(pointer(&members, "/repository/full_name")).as_deref(), Some("o/r™"));
        assert_eq!(as_u64(pointer(&members, "/installation/id")), Some(42));
        assert_eq!(pointer(&members, "/repository/missing").map(|r| r.get()), None);
        assert_eq!(as_u64(pointer(&members, "/action")), None, "wrong type reads as absent");
        assert_eq!(pointer(&members, "/project/x").map(|r| r.get()), None);
    }

    #[test]
    fn rejects_what_is_not_one_object() {
        for bad in
            ["", "[]", "\"s\"", "{", r#"{"a":1}{"#, r#"{"a":1} x"#, r#"{"a":}"#, "{\"a\":\"\u{0}\"}", r#"{"a":1,}"#]
        {
            assert!(top_level(bad, ["a"]).is_err(), "{bad:?}");
        }
        assert!(top_level("{}", ["a"]).unwrap()[0].is_none());
    }

    #[test]
    fn refuses_what_a_strict_consumer_cannot_read() {
        for bad in [
            r#"{"b":"\ud800"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"b":1e999999}"#,
            r#"{"a":{"x":-1e400}}"#,
            r#"{"\udc00":1}"#,
            r#"{"b":"\x"}"#,
            r#"{"b":[1,{"c":"\uZZZZ"}]}"#,
        ] {
            assert!(top_level(bad, ["a"]).is_err(), "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err(), "the consumer refuses {bad} too");
        }
        let fine = r#"{"a":"\ud83d\ude80","b":[1e308,-0.0,18446744073709551616,null,true]}"#;
        assert!(top_level(fine, ["a"]).is_ok());
    }

    #[test]
    fn duplicate_keys_keep_the_last() {
        let [a] = top_level(r#"{"a":1,"a":2}"#, ["a"]).unwrap();
        assert_eq!(a.unwrap().get(), "2");
    }
}
