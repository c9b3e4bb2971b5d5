//! The one generator of large push payloads, std only: the benches include it, and so does
//! `webhook-dev measure` (by path, since the benches cannot depend on the tool).

/// A GitHub push payload of about `bytes` bytes: real field names, many commits.
pub fn push_payload(bytes: usize) -> Vec<u8> {
    let commit = r#"{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,"message":"Update README.md ™ 🚀","timestamp":"2019-05-15T15:20:41Z","url":"https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","author":{"name":"Codertocat","email":"21031067+Codertocat@users.noreply.github.com","username":"Codertocat"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},"added":[],"removed":[],"modified":["README.md","src/lib.rs","docs/guide.md"]}"#;
    let head = r#"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"id":186853002,"full_name":"Codertocat/Hello-World","private":false,"owner":{"login":"Codertocat","id":21031067}},"installation":{"id":1},"commits":["#;
    let mut out = String::with_capacity(bytes + commit.len());
    out.push_str(head);
    while out.len() + commit.len() + 2 < bytes {
        if !out.ends_with('[') {
            out.push(',');
        }
        out.push_str(commit);
    }
    out.push_str("]}");
    out.into_bytes()
}
