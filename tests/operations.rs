//! Operations: what the logs and metrics of a full run contain (and never contain), and the
//! operator CLI against moto server.

use std::collections::BTreeSet;
use std::process::Stdio;

use integration_tests::*;
use webhook_dev::runtime_api::{FunctionProcess, Reply};
use webhook_intake::lambda::ProxyResponse;
use webhook_intake::routing_key::RoutingKey;
use webhook_intake::Provider;

fn cli() -> std::process::Command {
    let mut c = std::process::Command::new(binary("webhook-dev"));
    c.current_dir(root()).stdin(Stdio::null());
    c
}

fn run(c: &mut std::process::Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_logs_one_line_per_delivery_and_no_secret_material() {
    let stack = Stack::new(false).await;
    let manifest = manifest();
    let mut env = stack.env();
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    // The most verbose level an operator can choose.
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "trace".into()));
    let mut forbidden: BTreeSet<String> = BTreeSet::new();
    let mut lines = Vec::new();
    for provider in Provider::ALL {
        let mut function =
            FunctionProcess::spawn(&binary(&format!("{}-webhook", provider.name())), &env, false).await.unwrap();
        let specs: Vec<_> = manifest.events.iter().filter(|s| s.provider().unwrap() == provider).collect();
        for spec in &specs {
            forbidden.insert(spec.secret.clone());
            let event: serde_json::Value = serde_json::from_slice(&std::fs::read(spec.path(&root())).unwrap()).unwrap();
            for (name, value) in event["headers"].as_object().unwrap() {
                if name.contains("signature") || name.contains("token") {
                    let value = value.as_str().unwrap();
                    forbidden.insert(value.to_owned());
                    forbidden.insert(value.trim_start_matches("sha256=").trim_start_matches("sha1=").to_owned());
                }
            }
            let Reply::Response(bytes) = function.invoke(serde_json::to_vec(&event).unwrap()).await.unwrap() else {
                panic!()
            };
            let r: ProxyResponse = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(r.status_code, spec.expect, "{}", spec.file);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let logs = function.logs();
        let deliveries: Vec<serde_json::Value> = logs
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == "delivery")
            .collect();
        assert_eq!(deliveries.len(), specs.len(), "{provider}: one log line per delivery");
        for (line, spec) in deliveries.iter().zip(&specs) {
            assert_eq!(line["provider"], provider.name());
            assert_eq!(line["status"], spec.expect, "{}", spec.file);
            for field in ["outcome", "body_bytes", "latency_us"] {
                assert!(!line[field].is_null(), "{}: no {field}", spec.file);
            }
            if spec.expect == 202 {
                assert_eq!(line["delivery_id"], spec.delivery_id());
                assert_eq!(line["team_id"], "t_dev");
                assert!(["hit", "miss", "stale"].contains(&line["secret_cache"].as_str().unwrap()));
            }
        }
        let metrics: Vec<serde_json::Value> = logs
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("_aws").is_some())
            .collect();
        assert_eq!(metrics.len(), specs.len(), "{provider}: one EMF document per delivery");
        assert_eq!(
            metrics.iter().filter(|m| m["Outcome"] == "accepted").count(),
            specs.iter().filter(|s| s.expect == 202).count()
        );
        assert!(metrics.iter().any(|m| m["VerificationFailures"] == 1));
        assert!(metrics.iter().any(|m| m["ForwardLatency"].is_number()));
        lines.extend(logs);
    }
    // Dev secrets, tokens and every signature sent must appear nowhere, nor payload content.
    forbidden.insert("dev-webhook-secret".into());
    forbidden.insert("dev-gitlab-token".into());
    forbidden.insert("ca69a32d2ef372108d1fe0d1c497c1fadc5b539b0f8d31559d87766ff6eefe4a".into()); // full token digest
    let payload_markers =
        ["Codertocat/Hello-World", "21031067+Codertocat@users.noreply.github.com", "gitlabhq/gitlab-test"];
    for line in &lines {
        for secret in forbidden.iter().filter(|s| s.len() >= 8) {
            assert!(!line.contains(secret.as_str()), "a log line holds secret material {secret:?}: {line}");
        }
        for marker in payload_markers {
            assert!(!line.contains(marker), "a log line holds payload content: {line}");
        }
    }
    assert!(lines.len() > 50, "the run logged: {} lines", lines.len());
}

#[test]
fn sign_prints_githubs_known_answer() {
    let (ok, out, _) = run(cli().args([
        "sign",
        "--provider",
        "github",
        "--secret",
        "It's a Secret to Everybody",
        "--body",
        "Hello, World!",
    ]));
    assert!(ok);
    assert_eq!(
        out.trim(),
        "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    let (ok, out, _) = run(cli().args(["sign", "--provider", "gitlab", "--secret", "tok", "--body", "{}"]));
    assert!(ok);
    assert_eq!(out.trim(), "X-Gitlab-Token: tok");
}

#[test]
fn cli_errors_exit_non_zero_with_one_line() {
    for args in [
        vec!["sign", "--provider", "bitbucket", "--secret", "s", "--body", "x"],
        vec!["sign", "--provider", "github", "--secret", "s"],
        vec![
            "event",
            "--provider",
            "github",
            "--event",
            "push",
            "--payload",
            "nope.json",
            "--secret",
            "s",
            "--target",
            "repository/1",
        ],
        vec!["provision", "--provider", "github"],
    ] {
        let (ok, out, err) = run(cli().args(&args));
        assert!(!ok, "{args:?}");
        let err_lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(err_lines.len(), 1, "{args:?}: {err}");
        assert!(err_lines[0].starts_with("webhook-dev: "), "{args:?}: {err}");
        assert!(out.is_empty());
    }
    let (ok, out, _) = run(cli().arg("--help"));
    assert!(ok);
    for command in ["sign", "send", "serve", "event", "provision", "demo", "measure"] {
        assert!(out.contains(command), "--help lists {command}");
    }
}

fn read_until(child: &mut std::process::Child, needle: &str) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.as_mut().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut seen = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
        line.clear();
    }
    panic!("never saw {needle:?}: {seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_rotate_serve_and_send_end_to_end() {
    let stack = Stack::new(false).await;
    let prefix = stack.prefix.clone();
    let key = "organization/9000";
    // A new record with a generated secret, and the URL to hand out.
    let (ok, out, err) = provision(
        &prefix,
        &[
            "--provider",
            "github",
            "--routing-key",
            key,
            "--team-id",
            "t_cli",
            "--api-url",
            "https://api.example.com/",
            "--add-secret",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("URL      https://api.example.com/api/github/webhook"), "{out}");
    let first = out.lines().find_map(|l| l.strip_prefix("secret   ")).unwrap().to_owned();
    assert_eq!(first.len(), 64);

    // Rotation: add a chosen secret, both verify, remove the first.
    let (ok, _, err) =
        provision(&prefix, &["--provider", "github", "--routing-key", key, "--add-secret", "second-secret-value"]);
    assert!(ok, "{err}");
    let record = stack.aws.get_secret(&stack.secret_id(Provider::GitHub, key)).await.unwrap().unwrap();
    let record = webhook_intake::secret_record::SecretRecord::parse(&record).unwrap();
    assert_eq!(record.secrets(), ["second-secret-value", first.as_str()]);
    assert_eq!(record.team_id.as_deref(), Some("t_cli"), "team kept across rotation");

    // serve: the real handlers on a local port, from the functions' environment.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = cli()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .envs(stack.env())
        .env("SECRET_CACHE_TTL_SECONDS", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    read_until(&mut server, "POST /api/gitlab/webhook");
    let url = format!("http://127.0.0.1:{port}/api/github/webhook");
    let send = |secret: &str| {
        run(cli().args([
            "send",
            "--url",
            &url,
            "--provider",
            "github",
            "--event",
            "push",
            "--payload",
            "fixtures/payloads/github/push.json",
            "--secret",
            secret,
            "--target",
            key,
        ]))
    };
    for secret in [first.as_str(), "second-secret-value"] {
        let (ok, out, err) = send(secret);
        assert!(ok, "{out}{err}");
        assert!(out.contains(": 202 {"), "{out}");
    }
    let (ok, _, err) = provision(&prefix, &["--provider", "github", "--routing-key", key, "--remove-secret", &first]);
    assert!(ok, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let (ok, out, err) = send(&first);
    assert!(!ok && out.contains(": 403 "), "{out}{err}");
    let (ok, _, err) =
        provision(&prefix, &["--provider", "github", "--routing-key", key, "--remove-secret", "second-secret-value"]);
    assert!(!ok && err.contains("refusing to remove the last secret"), "{err}");

    // GitLab: a generated token is its own record.
    let (ok, out, err) = provision(&prefix, &["--provider", "gitlab", "--team-id", "t_gl", "--add-secret"]);
    assert!(ok, "{err}");
    let token = out.lines().find_map(|l| l.strip_prefix("token    ")).unwrap().to_owned();
    assert!(out.contains(&format!("{prefix}/gitlab/{}", RoutingKey::for_gitlab_token(&token))));
    let (ok, out, err) = run(cli().args([
        "send",
        "--url",
        &format!("http://127.0.0.1:{port}/api/gitlab/webhook"),
        "--provider",
        "gitlab",
        "--event",
        "Push Hook",
        "--payload",
        "fixtures/payloads/gitlab/push-event.json",
        "--secret",
        &token,
    ]));
    assert!(ok && out.contains(": 202 {"), "{out}{err}");
    let _ = server.kill();
    let _ = server.wait();
    let teams: Vec<String> = stack.messages().await.iter().map(|m| m.attributes["team_id"].clone()).collect();
    assert_eq!(teams, ["t_cli", "t_cli", "t_gl"]);
}

/// `webhook-dev provision ARGS --secret-prefix PREFIX`.
fn provision(prefix: &str, args: &[&str]) -> (bool, String, String) {
    run(cli().arg("provision").args(args).args(["--secret-prefix", prefix]))
}

/// Updating a record with the CLI keeps what it was not asked to change: above all the GitLab
/// signing secrets, whose loss would quietly stop signatures from being required.
#[tokio::test(flavor = "multi_thread")]
async fn provision_keeps_signing_secrets_and_unchanged_fields() {
    let stack = Stack::new(false).await;
    let token = "tok-keep-signing-1";
    let id = stack.secret_id(Provider::GitLab, RoutingKey::for_gitlab_token(token).as_str());
    let signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let record =
        serde_json::json!({"team_id": "t1", "connection_id": "c1", "secrets": [token], "signing_secrets": [signing]});
    stack.aws.put_secret(&id, &record.to_string()).await.unwrap();
    let (ok, out, err) =
        provision(&stack.prefix, &["--provider", "gitlab", "--connection-id", "c2", "--add-secret", token]);
    assert!(ok, "{err}");
    assert!(out.contains("1 signing secret(s) kept"), "{out}");
    let stored = json(&stack.aws.get_secret(&id).await.unwrap().unwrap());
    assert_eq!(
        stored,
        serde_json::json!({"team_id": "t1", "connection_id": "c2", "secrets": [token], "signing_secrets": [signing]})
    );

    // GitHub: a rotation keeps the team and connection, and any signing secrets, as they were.
    let key = "organization/9001";
    let github = stack.secret_id(Provider::GitHub, key);
    stack.aws.put_secret(&github, &record.to_string().replace(token, "old-secret")).await.unwrap();
    let (ok, _, err) =
        provision(&stack.prefix, &["--provider", "github", "--routing-key", key, "--add-secret", "new-secret"]);
    assert!(ok, "{err}");
    let stored = json(&stack.aws.get_secret(&github).await.unwrap().unwrap());
    assert_eq!(stored["secrets"], serde_json::json!(["new-secret", "old-secret"]));
    assert_eq!((&stored["team_id"], &stored["connection_id"]), (&serde_json::json!("t1"), &serde_json::json!("c1")));
    assert_eq!(stored["signing_secrets"], serde_json::json!([signing]));

    // Rotating to a new token: its record starts from the old one, in two steps (the old
    // token keeps working until the hook is switched) or in one.
    let new_id = |t: &str| stack.secret_id(Provider::GitLab, RoutingKey::for_gitlab_token(t).as_str());
    let expected = |t: &str| serde_json::json!({"team_id": "t1", "connection_id": "c2", "secrets": [t], "signing_secrets": [signing]});
    let (ok, _, err) = provision(
        &stack.prefix,
        &["--provider", "gitlab", "--add-secret", "tok-keep-signing-2", "--copy-from-token", token],
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&stack.aws.get_secret(&new_id("tok-keep-signing-2")).await.unwrap().unwrap()),
        expected("tok-keep-signing-2")
    );
    assert!(stack.aws.get_secret(&id).await.unwrap().is_some(), "the old token keeps working until removed");
    let (ok, _, err) = provision(
        &stack.prefix,
        &["--provider", "gitlab", "--add-secret", "tok-keep-signing-3", "--remove-secret", "tok-keep-signing-2"],
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&stack.aws.get_secret(&new_id("tok-keep-signing-3")).await.unwrap().unwrap()),
        expected("tok-keep-signing-3")
    );
    assert!(stack.aws.get_secret(&new_id("tok-keep-signing-2")).await.unwrap().is_none(), "removed after the add");

    // A GitLab update without the token cannot name a record: refused, not ignored.
    let (ok, _, err) = provision(&stack.prefix, &["--provider", "gitlab", "--team-id", "t9"]);
    assert!(!ok && err.contains("--add-secret TOKEN"), "{err}");
}
