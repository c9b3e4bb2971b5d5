//! Invalid documents each candidate takes anyway. The pipeline must refuse all of them: a
//! queued payload that the scanner's parser refuses is a message nobody can read.

/// `(what it is, the bytes)`: each is refused by `serde_json::Value`, the reference consumer.
fn invalid() -> Vec<(&'static str, Vec<u8>)> {
    let text = [
        ("lone high surrogate", r#"{"b":"\ud800"}"#),
        ("lone low surrogate", r#"{"a":"\udc00x"}"#),
        ("two high surrogates", r#"{"a":"\ud800\ud800"}"#),
        ("surrogate in a key", r#"{"\udc00":1}"#),
        ("number out of range", r#"{"b":1e999999}"#),
        ("negative out of range", r#"{"a":{"x":-1e400}}"#),
        ("bad escape", r#"{"b":"\x"}"#),
        ("bad unicode escape", r#"{"b":[1,{"c":"\uZZZZ"}]}"#),
        ("raw control character", "{\"a\":\"\u{1}\"}"),
        ("trailing comma", r#"{"a":1,}"#),
        ("leading zero", r#"{"a":01}"#),
        ("bare dot", r#"{"a":1.}"#),
        ("trailing text", r#"{"a":1}x"#),
        ("missing comma", r#"{"a":1 "b":2}"#),
    ];
    let mut all: Vec<_> = text.into_iter().map(|(what, t)| (what, t.as_bytes().to_vec())).collect();
    all.push(("invalid UTF-8", b"{\"a\":\"\xff\"}".to_vec()));
    all.push(("UTF-8 surrogate", b"{\"a\":\"\xed\xa0\x80\"}".to_vec()));
    all.push((
        "nested 200 deep (serde_json stops at 128)",
        format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200)).into_bytes(),
    ));
    all
}

#[test]
fn which_candidates_take_invalid_documents() {
    let cases = invalid();
    for (what, bytes) in &cases {
        assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_err(), "reference takes {what}");
    }
    let mut lenient = Vec::new();
    for (name, validate) in json_validators::ALL {
        let taken: Vec<_> = cases.iter().filter(|(_, b)| validate(b)).map(|(what, _)| *what).collect();
        println!("{name:28} takes {taken:?}");
        if !taken.is_empty() {
            lenient.push(name);
        }
    }
    // Only ours refuses everything (sonic-rs's tree comes closest: it has no depth limit).
    assert_eq!(
        json_validators::ALL.iter().map(|(n, _)| *n).filter(|n| !lenient.contains(n)).collect::<Vec<_>>(),
        ["ours (serde_json, strict)"]
    );
}
